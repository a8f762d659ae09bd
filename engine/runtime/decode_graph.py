"""One-token decode steps replayed as CUDA graphs: a whole step (embedding, every layer, unembedding) is
one launch from Python instead of about 60 per layer, each costing microseconds of host time (the eager
path measured 22-27 tok/s on an H200 for gpt-oss-20b, against ~800 that its bandwidth allows).

A graph replays fixed kernels on fixed addresses, so the step it holds takes its token and position from
two device buffers filled before each replay, writes the KV cache at that position with an index kernel,
and attends over a fixed number of keys with the ones past the position masked. That number, the "span",
is the position rounded up to a power of two (at least MIN_SPAN): one set of graphs per span, captured when
first needed, so a token reads at most twice the keys it needs. With the Triton kernels (engine/kernels/
fused.py) the attention reads the position from the device and only the live keys: one set per cache.

A model with offloaded experts decides on the host which experts to copy, layer by layer: its step is cut
at each offloaded layer's experts into segments, one graph each, with the host's part (read the routes,
copy, run those experts) between them (engine/runtime/decode_segments.py). A resident model's step is one segment.
The embedding may stay in host memory: its row is copied in before the first segment.

Each set of graphs checks itself once: its first replay at a position other than the one it was captured at
is compared with the same step called directly (the same kernels, not graphed). A graph that kept a value
of its capture disagrees; graphs then go off for the model, logged, and the direct step's logits stand.

On by default on CUDA (issue 13: eager decode spent most of each token launching kernels), guarded by that
self-check; off with ``load_model(cuda_graphs=False)``, GOSSAMER_CUDA_GRAPHS=0, or the app's setting (which
passes cuda_graphs); bench compares ``--cuda-graphs off,on``.
Careful fallback: a model with a dequantized-expert cache (its contents are managed on the host) decodes
eagerly; any exception while capturing turns graphs off for the model, logged, and the step is redone
eagerly from its start (its keys and values written again, the same ones).
"""

from __future__ import annotations

import dataclasses
import logging
import os
import weakref
from collections.abc import Callable
from dataclasses import dataclass

import torch

from engine import kernels
from engine.runtime.decode_segments import Segments

ENV = "GOSSAMER_CUDA_GRAPHS"
MIN_SPAN = 256  # keys of the smallest graph: below this, reading a few masked keys costs nothing
MIN_AGREEMENT = (
    0.99999  # cosine of replayed and called logits of one step (the same kernels: equal or nearly)
)
WARMUP_RUNS = 2  # eager runs before a capture: Triton compiles, cuBLAS picks its kernels and workspace

log = logging.getLogger(__name__)


class _CaptureFailed(Exception):
    """A segment could not be captured: graphs are off, and this step runs eagerly from its start."""


@dataclass
class _Graph:
    replay: Callable[[], None]
    logits: torch.Tensor | None  # [1, V] float32, rewritten by every replay (the last segment's; else None)


@dataclass
class _Step:
    graphs: list[_Graph]  # one per segment, captured in turn during the first step that needs them
    cache: weakref.ref  # the KVCache whose buffers the graphs read and write
    checked: bool = False  # a replay at a later position was compared with the step called directly


def requested(cuda_graphs: bool | None) -> bool:
    """load_model's ``cuda_graphs``: as given, or when None on unless the environment's GOSSAMER_CUDA_GRAPHS
    says off (0, off, false, no): a way to turn them off for any program without a setting of its own."""
    if cuda_graphs is not None:
        return cuda_graphs
    return os.environ.get(ENV, "").strip().lower() not in ("0", "off", "false", "no")


def span_for(position: int, max_tokens: int) -> int:
    """Keys a step at ``position`` reads in full-attention layers: a power of two > position, capped."""
    return min(max_tokens, max(MIN_SPAN, 1 << position.bit_length()))


def unsupported(model, need_cuda: bool = True) -> str | None:
    """Why the model's decode steps cannot be CUDA graphs now, or None."""
    if need_cuda and model.device.type != "cuda":
        return "CUDA graphs need a CUDA device"
    if model.dense_cache is not None and model.dense_cache.max_bytes:
        return "a dequantized-expert cache is on (its contents are managed on the host)"
    return None


def cuda_capture(fn: Callable[[], torch.Tensor], device: torch.device, pool):
    """Run ``fn`` eagerly WARMUP_RUNS times on a side stream, then capture it as a CUDA graph.
    -> (replay, the output tensor that every replay rewrites, the graph's memory pool)."""
    stream = torch.cuda.Stream(device)
    stream.wait_stream(torch.cuda.current_stream(device))
    with torch.cuda.stream(stream):
        for _ in range(WARMUP_RUNS):
            fn()
    torch.cuda.current_stream(device).wait_stream(stream)
    graph = torch.cuda.CUDAGraph()
    # thread_local: another thread's CUDA call (the app's GPU memory probe) cannot spoil the capture
    with torch.cuda.graph(graph, pool=pool, capture_error_mode="thread_local"):
        out = fn()
    return graph.replay, out, graph.pool()


class DecodeGraphs:
    """The CUDA graphs of one model's decode step, by KV cache and span (see the module docstring).

    capture: ``cuda_capture``, or a stand-in with its signature (tests run the bookkeeping on the CPU)."""

    def __init__(self, model, capture: Callable = cuda_capture):
        self.model, self.capture = model, capture
        self.token = torch.zeros(1, dtype=torch.long, device=model.device)  # inputs of every graph
        self.position = torch.zeros(1, dtype=torch.long, device=model.device)
        self.graphs: dict[tuple, _Step] = {}
        self.segments: Segments | None = None  # the step's pieces for the current placement
        self.pool = None  # one memory pool for all graphs: they never run at the same time
        self.disabled: str | None = None  # why graphs were turned off after a failure

    def reset(self) -> None:
        """Forget every graph (the weights moved: engine.offload.build.attach calls this)."""
        self.graphs.clear()
        self.segments = None
        self.pool = None

    def captured(self) -> int:
        """Graphs held now (segments of every cache and span)."""
        return sum(len(entry.graphs) for entry in self.graphs.values())

    def step(self, tokens: torch.Tensor, cache, host: torch.Tensor | None = None) -> torch.Tensor | None:
        """Logits [1, V] (a copy) of one token [1] on the device at cache.num_tokens, advancing the cache;
        None when this step must run eagerly (nothing was done then). host: the same id in host memory."""
        need_cuda = self.capture is cuda_capture
        if self.disabled is not None or cache.stale or unsupported(self.model, need_cuda) is not None:
            return None
        if self.segments is None:
            self.segments = Segments(self.model, self.token, self.position)
        segments = self.segments
        position = cache.num_tokens
        # the Triton attention reads the live keys of any position: one set of graphs per cache
        fixed = kernels.use_fused(self.model.device) and self.model.blocks[0].attn.fusable
        span = cache.max_tokens if fixed else span_for(position, cache.max_tokens)
        key = (id(cache), span, kernels.mode(), kernels._disabled)  # a graph bakes in the kernels it ran
        entry = self.graphs.get(key)
        if entry is None or entry.cache() is not cache:  # never captured, or another cache now has that id
            self.graphs = {k: g for k, g in self.graphs.items() if g.cache() is not None}  # caches gone: free
            entry = self.graphs[key] = _Step([], weakref.ref(cache))
        self.token.copy_(tokens.view(1))
        self.position.fill_(position)  # a kernel with the position as its argument: no copy, no sync
        replaying = len(entry.graphs) == len(segments)  # every segment captured by an earlier step
        try:
            segments.embed(host)
            for i in range(len(segments)):
                logits = self._run(i, entry, cache, span)
                if i < len(segments) - 1:
                    segments.experts(i)
            if replaying and not entry.checked:
                entry.checked = True
                logits = self._check(logits, cache, span, host)
        except _CaptureFailed:
            cache.note_written(position + 1)  # segments and warm-ups may have written this position's slots
            return None  # the eager step redoes the whole position: the same keys and values again
        except BaseException:
            cache.note_written(position + 1)
            raise
        cache.advance(1)
        return logits.clone()  # the next replay overwrites the graph's own output

    def _check(self, replayed: torch.Tensor, cache, span: int, host) -> torch.Tensor:
        """The first replay of a set of graphs at a position other than the one they were captured at, against
        the same step called directly (the same kernels, not graphed: it writes the same keys and values
        again). A graph that kept something of its capture (a position, a shape, a pointer) disagrees: then
        graphs go off, logged, and the direct step's logits stand. Once per cache and span."""
        segments, pool = self.segments, self.model.offload_pool
        stats = dataclasses.replace(pool.stats) if pool is not None else None
        segments.embed(host)
        for i in range(len(segments)):
            called = segments.function(i, cache, span)()
            if i < len(segments) - 1:
                segments.experts(i)  # the experts the replay just fetched: hits, nothing copied
        if pool is not None:
            pool.stats = stats  # the check is not a token: the counters stay the decode's own
        why = disagreement(replayed, called)
        if why is None:
            return replayed
        self.disabled = f"a replayed step disagreed with the same step called directly ({why})"
        self.reset()
        log.warning("CUDA graphs turned off: %s", self.disabled)
        return called

    def _run(self, i: int, entry: _Step, cache, span: int) -> torch.Tensor | None:
        """Segment ``i`` of a step: replayed, or captured first if it never was."""
        if i < len(entry.graphs):
            graph = entry.graphs[i]
            graph.replay()
            return graph.logits
        fn = self.segments.function(i, cache, span)
        try:
            replay, logits, self.pool = self.capture(fn, self.model.device, self.pool)
        except Exception as error:  # noqa: BLE001 - whatever failed, the eager step is always right
            self.disabled = f"{type(error).__name__}: {error}"
            self.reset()
            log.warning("CUDA graph capture failed; decoding without graphs from now on: %s", self.disabled)
            raise _CaptureFailed from error
        graph = _Graph(replay, logits)
        entry.graphs.append(graph)
        replay()
        return graph.logits


def disagreement(replayed: torch.Tensor, called: torch.Tensor) -> str | None:
    """Why two logits [1, V] of the same step differ more than kernels run twice may (None: they agree)."""
    if not bool(torch.isfinite(replayed).all()):
        return "non-finite logits"
    a, b = replayed.double().flatten(), called.double().flatten()  # float32 norms of 200k values lose 1e-5
    cos = float(torch.nn.functional.cosine_similarity(a, b, dim=0))
    if cos < MIN_AGREEMENT or int(a.argmax()) != int(b.argmax()):
        return f"cosine {cos:.6f}, top token {int(a.argmax())} against {int(b.argmax())}"
    return None


def enable(model) -> bool:
    """Give ``model`` decode graphs if its placement allows (True), else say why in the log (False)."""
    why = unsupported(model)
    if why is not None:
        log.info("CUDA graphs not used: %s", why)
        model.decode_graphs = None
        return False
    model.decode_graphs = DecodeGraphs(model)
    return True
