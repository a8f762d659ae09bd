"""A CPU model's streamed weights moved from the file's mapping into huge pages (engine/io/huge_pages.py).

Loading maps the weights and reads nothing (a model is ready at once, and memory grows only as pages are
used). On the CPU every token then streams the experts it routes to, the attention projections and the
unembedding through 4 KiB page-cache pages; the same bytes in 2 MiB pages make a decode token about 8%
faster on the development VM (docs/benchmarks.md). ``settle(model)`` copies them once, each tensor in chunks
whose file pages are dropped from the process as they are copied, so resident memory stays about the
weights' size throughout. The embedding stays mapped: a token reads one row of it.

It runs only where it can help and cannot hurt: a model computing on the CPU with every expert resident (no
offload pool), Linux with transparent huge pages on, and room: the copies must fit both the RAM a plan may
use (engine.placement.host_memory) and 80% of what the system has available now, since anonymous memory,
unlike a file's pages, cannot simply be dropped when memory runs short. Else the model keeps its mappings.

The loader arranges for it to run before the model's first step (``Transformer.before_first_step``); the app
calls it while its loading screen shows, so that the first answer does not wait for it.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

import torch

from engine.io import huge_pages
from engine.layers.experts import PackedExperts
from engine.placement.host_memory import auto_host_memory

log = logging.getLogger(__name__)

AVAILABLE_FRACTION = 0.8  # of MemAvailable the copies may take
ATTENTION = ("q_weight", "k_weight", "v_weight", "out_weight")


@dataclass(frozen=True)
class Settled:
    """What ``settle`` did: bytes copied, seconds taken, or why nothing was copied."""

    bytes: int = 0
    seconds: float = 0.0
    why_not: str | None = None


def settle(model) -> Settled:
    """Copy a CPU model's streamed weights into huge pages, where that helps (see the module's docstring).
    Idempotent: a second call finds nothing left to copy."""
    model.before_first_step = None
    why = _why_not(model)
    if why is not None:
        return Settled(why_not=why)
    jobs = _jobs(model)
    total = sum(t.numel() * t.element_size() for _, _, t in jobs)
    if not total:
        return Settled()
    room = _room()
    if room is not None and total > room:
        why = f"the copies ({total / 2**30:.1f} GiB) would not leave enough memory free ({room / 2**30:.1f} GiB)"
        return Settled(why_not=why)
    start = time.perf_counter()
    checkpoint, copied = model.checkpoint, 0
    for put, name, tensor in jobs:

        def dropped(lo, hi, name=name):
            checkpoint.release_bytes(name, lo, hi)

        try:
            copy = huge_pages.copy_of(tensor, after_chunk=dropped)
        except (OSError, MemoryError) as error:  # no memory for a mapping after all: the rest stays mapped
            log.warning("weights left in the file's pages after %.2f GiB: %s", copied / 2**30, error)
            return Settled(
                bytes=copied, seconds=time.perf_counter() - start, why_not=f"out of memory ({error})"
            )
        put(copy)
        copied += tensor.numel() * tensor.element_size()
    done = Settled(bytes=total, seconds=time.perf_counter() - start)
    log.info("moved %.2f GiB of weights into huge pages in %.1f s", total / 2**30, done.seconds)
    return done


def _why_not(model) -> str | None:
    if getattr(model, "device", None) is None or model.device.type != "cpu":
        return "the model does not compute on the CPU"
    if model.offload_pool is not None:
        return "experts are offloaded (they stay in the pool's memory)"
    if getattr(model, "checkpoint", None) is None:
        return "the weights are not a checkpoint's mappings"
    if not huge_pages.supported():
        return "this system has no transparent huge pages"
    return None


def _jobs(model) -> list:
    """(put(copy), checkpoint name, tensor) for each streamed weight still a view of the checkpoint's files."""
    checkpoint, jobs = model.checkpoint, []
    mapped = _mapped_names(checkpoint)

    def add(tensor, put):
        name = mapped.get((tensor.data_ptr(), tuple(tensor.shape)))
        if name is not None:
            jobs.append((put, name, tensor))

    for block in model.blocks:
        for field in ATTENTION if block.attn.int8 is None else ():  # (8-bit weights: those are streamed)
            tensor = getattr(block.attn, field, None)
            if tensor is not None:
                add(tensor, lambda copy, module=block.attn, field=field: setattr(module, field, copy))
        store = block.mlp.store
        packed = getattr(store, "packed", None)
        if isinstance(packed, PackedExperts):
            copies: dict = {}
            fields = [  # the fields still mapped (others, copied before or made in memory, stay as they are)
                f
                for f, t in vars(packed).items()
                if isinstance(t, torch.Tensor) and (t.data_ptr(), tuple(t.shape)) in mapped
            ]
            for field in fields:

                def put(copy, store=store, field=field, copies=copies, fields=fields):
                    copies[field] = copy
                    if len(copies) == len(fields):  # the whole layer at once: no store mixes old and new
                        store.packed = PackedExperts(**{**vars(store.packed), **copies})

                add(getattr(packed, field), put)
    if model.unembedding_int8 is None:
        add(model.unembedding, lambda copy: setattr(model, "unembedding", copy))
    return jobs


def _mapped_names(checkpoint) -> dict:
    """(address, shape) -> name for every tensor the checkpoint maps (get() returns views: no copy)."""
    out = {}
    for name in checkpoint.names():
        tensor = checkpoint.get(name)
        out[(tensor.data_ptr(), tuple(tensor.shape))] = name
    return out


def _room() -> int | None:
    """Bytes the copies may take: the lesser of the RAM a plan may use and AVAILABLE_FRACTION of MemAvailable
    (None where neither can be read)."""
    limits = [auto_host_memory(), _available()]
    limits = [x for x in limits if x is not None]
    return min(limits) if limits else None


def _available() -> int | None:
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(int(line.split()[1]) * 1024 * AVAILABLE_FRACTION)
    except (OSError, ValueError, IndexError):
        return None
    return None
