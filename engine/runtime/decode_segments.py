"""A one-token decode step cut into pieces that CUDA graphs can hold, for models whose experts are offloaded.

Which experts of an offloaded layer to copy is decided on the host once its router has run
(engine/offload/pool.py), so such a step cannot be one graph. It is cut at each offloaded layer's experts:

- segment 0 runs from the embedding through the first offloaded layer's attention and router;
- the host reads that layer's routes (the one synchronization an offloaded layer costs in the eager step
  too), copies the experts that are missing and runs them eagerly (``OffloadMoE.experts``: two launches
  with the fused kernels), adding them to the residual stream;
- segment 1 carries on from there to the next offloaded layer's router, and so on; the last segment ends
  with the logits.

Segments pass the residual stream, the normed MoE input and the routes through fixed device buffers, so
each segment is a graph (engine/runtime/decode_graph.py captures them): a step with m offloaded layers costs m + 1
replays, m synchronizations and the offloaded experts' own launches, where the eager step launches about
155 kernels per layer. Each segment is also a plain function: calling it instead of replaying it gives the
same numbers (what happens on the CPU, and after a capture failed).

Inside segments, a layer is ``Block.step`` for one token at a device-held position (attention through
``Attention.run_at``: fixed shapes, keys past the position masked), except that a resident layer
followed by an offloaded one does not predict and prefetch the next layer's experts (that needs the host
mid-segment); an offloaded layer followed by another still does, with its own routes. A resident model's
step is one segment: ``step(model, token, position, cache, span)``.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F

from engine.kernels import fused
from engine.offload.moe import OffloadMoE
from engine.offload.pool import OffloadedExperts


def offloaded_layers(model) -> list[int]:
    """Layers whose experts live in the offload pool, in order."""
    return [
        n
        for n, block in enumerate(model.blocks)
        if isinstance(block.mlp, OffloadMoE) and isinstance(block.mlp.store, OffloadedExperts)
    ]


class Segments:
    """The pieces of a one-token step of ``model`` (see the module docstring), for its current placement.

    Inputs: ``token`` and ``position`` [1] int64 device buffers, filled before a step (DecodeGraphs does).
    """

    def __init__(self, model, token: torch.Tensor, position: torch.Tensor):
        self.model, self.token, self.position = model, token, position
        self.cuts = offloaded_layers(model)
        plan = model.plan  # may keep the embedding in host memory (on a CPU, both "memories" are one)
        in_host = plan is not None and not plan.embedding_on_device
        self.embed_on_device = model.embedding.device == model.device and not in_host
        cfg, device, dtype = model.config, model.device, model.embedding.dtype
        hidden, k = cfg.hidden_size, cfg.experts_per_token

        def buffer(shape, dtype_=dtype) -> torch.Tensor:
            return torch.zeros(shape, dtype=dtype_, device=device)

        self.x = buffer((1, hidden))  # residual stream entering a segment
        self.h = buffer((1, hidden))  # residual stream after the cut layer's attention
        self.xn = buffer((1, hidden))  # the cut layer's normed MoE input
        self.ids = buffer((1, k), torch.long)  # its routes, by_expert order
        self.weights = buffer((1, k))
        self.predicted = buffer((1, k), torch.long)  # the next layer's experts, predicted (if offloaded)

    def __len__(self) -> int:
        return len(self.cuts) + 1

    def layers(self, i: int) -> range:
        """Layers segment ``i`` runs (the last of them only up to its router, unless i is the last segment)."""
        first = self.cuts[i - 1] + 1 if i else 0
        last = self.cuts[i] if i < len(self.cuts) else len(self.model.blocks) - 1
        return range(first, last + 1)

    def function(self, i: int, cache, span: int) -> Callable[[], torch.Tensor | None]:
        """Segment ``i`` over ``cache`` with ``span`` full-attention keys: -> logits [1, V] float32 from the
        last segment, None from the others (they write the buffers)."""
        model, layers = self.model, self.layers(i)
        cut = self.cuts[i] if i < len(self.cuts) else None

        def run() -> torch.Tensor | None:
            position = self.position
            if i == 0:
                cache.tokens.index_copy_(0, position, self.token)
                x = F.embedding(self.token, model.embedding) if self.embed_on_device else self.x
            else:
                x = self.x
            delta = (
                None  # the previous layer's MoE output, added inside the next norm (engine.model.Block.step)
            )
            cos, sin = model.rotary.cos_sin(position, model.embedding.dtype)
            for n in layers:
                block = model.blocks[n]
                x, attn_in = fused.add_rms_norm(x, delta, block.attn_norm, block.eps)
                attn, bias = block.attn.run_at(attn_in, cos, sin, cache.layers[n], position, span)
                h, xn = fused.add_rms_norm(x, attn, block.mlp_norm, block.eps, bias)
                if n == cut:
                    moe: OffloadMoE = block.mlp
                    ids, weights = moe.base.routes(xn)
                    self.h.copy_(h)
                    self.xn.copy_(xn)
                    self.ids.copy_(ids)
                    self.weights.copy_(weights)
                    if moe.next_router is not None:
                        self.predicted.copy_(moe.next_router(xn))
                    return None
                mlp = block.mlp.base if isinstance(block.mlp, OffloadMoE) else block.mlp
                x, delta = h, mlp(xn)
            return model.unembed(fused.add_rms_norm(x, delta, model.norm, model.config.rms_norm_eps)[1])

        return run

    def embed(self, host: torch.Tensor | None) -> None:
        """Before segment 0 of a model whose embedding stays in host memory: look the token's row up there
        (from ``host``, the id in host memory, when the caller has it) and move it into the input buffer."""
        if not self.embed_on_device:
            self.x.copy_(self.model._embed(self.token, host))

    def experts(self, i: int) -> None:
        """Between segments i and i + 1: the cut layer's experts (copied in as needed) on the routes segment i
        wrote, added to the residual stream for segment i + 1."""
        moe: OffloadMoE = self.model.blocks[self.cuts[i]].mlp
        hint = None
        if moe.next_router is not None and moe.pool is not None:
            hint = (moe.next_router.layer, self.predicted)
        out = moe.experts(self.xn, self.ids, self.weights, hint)
        torch.add(self.h, out, out=self.x)


def step(model, token: torch.Tensor, position: torch.Tensor, cache, span: int) -> torch.Tensor:
    """One whole decode step of a model with no offloaded experts, as a CUDA graph holds it: token [1] and
    position [1] int64 on the device (position == cache.num_tokens, which the caller advances afterwards),
    span: full-attention keys read (> position; the rest masked) -> float32 logits [1, V]. No host sync."""
    segments = Segments(model, token, position)
    assert len(segments) == 1, "offloaded experts: the step is several segments with the host between"
    segments.embed(None)
    return segments.function(0, cache, span)()
