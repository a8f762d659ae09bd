"""Notices: what the engine tells the user about how it now runs, apart from the answer's text.

Plain data, so every layer may make one (the loader, the re-planner, the session) and the app can word it.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Notice:
    """Something for the user about how the engine runs. Not part of the answer.

    text: the English sentence (the CLI prints it), e.g. "The GPU ran out of memory, so Gossamer now uses
    at most 10.6 GiB of it: ... Generation may be slower."; the other fields are its facts, for callers
    that word it themselves (the app, in the user's language). kind "replanned": out of memory, the model
    was placed again for ``budget_bytes`` of GPU memory, and for a shorter ``context_length`` when that
    is not None. kind "reasoning_cut": the reasoning was cut (``reason`` "loop" or "budget", after ``tokens``
    of it) and the model answers now (engine/runtime/reasoning_guard.py). kind "summarizing": the conversation
    no longer fits, and the model is summarising its oldest turns first (engine/runtime/overflow.py). kind
    "torch_fallback": the Triton GPU kernels failed, the slower PyTorch path runs now. kind
    "cpu_kernels_fallback": a set of the CPU's expert kernels failed (engine/runtime/cpu_kernels.py):
    ``reason`` "vector" (the portable kernels run now) or "numba" (the slower PyTorch path runs now).
    """

    text: str
    kind: str = ""
    budget_bytes: int | None = None
    context_length: int | None = None
    reason: str | None = None
    tokens: int | None = None

    @classmethod
    def replanned(cls, before, after, text: str) -> Notice:
        """The notice for a re-plan from plan ``before`` to plan ``after`` (engine.placement.plan.replan_after_oom;
        plans are only read here, so this module needs no import of the placement layer above it)."""
        shorter = after.context_length < before.context_length
        return cls(text, "replanned", after.budget_bytes, after.context_length if shorter else None)
