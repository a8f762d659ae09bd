"""Which expert kernels a CPU model runs, and telling the user when a set of them fails.

On the CPU the MXFP4 experts run numba kernels (engine/kernels/cpu_mxfp4.py): the AVX2 vector code where
the CPU has it, else the portable code. When a set fails to compile or run on a user's machine the engine
goes on with the next one (vector -> portable -> the slower PyTorch path) and records why in
``cpu_mxfp4.FAILED``. The load's facts carry what runs (``facts``: the status bar shows it), and a session
turns a failure during a turn into a Notice (``FailureWatch``), as it does for a Triton failure on a GPU.
"""

from __future__ import annotations

import torch

from engine import kernels
from engine.notices import Notice

NOTICE_KIND = "cpu_kernels_fallback"
SETS = ("vector", "numba")  # in the order they fail: the vector set first, then every numba kernel


def facts(model) -> dict:
    """For the app's status bar: ``cpu_kernels``, the experts' kernels on a CPU model ("avx2", "portable" or
    "torch", engine.kernels.cpu_kind) and ``cpu_fallback``, why a slower set runs than this CPU could run
    (a failure's reason, or why numba does not run), or None. Both None for a model on another device."""
    device = getattr(model, "device", None)  # (a remote model has none)
    if not isinstance(device, torch.device) or device.type != "cpu":
        return {"cpu_kernels": None, "cpu_fallback": None}
    return {"cpu_kernels": kernels.cpu_kind(), "cpu_fallback": fallback_reason()}


def fallback_reason() -> str | None:
    """Why the CPU's experts run a slower set of kernels than this machine could, in English (the log's words
    and the tooltip's), or None: the AVX2 kernels run, or the portable ones on a CPU without AVX2."""
    kind, failed = kernels.cpu_kind(), kernels.cpu_failures() or {}
    if kind == "torch":
        if "numba" in failed:
            return f"the numba kernels failed ({failed['numba']})"
        if kernels.mode() == "torch":
            return f"{kernels.ENV}=torch turns the numba kernels off"
        return "the CPU kernels need numba, which is not installed"
    if kind == "portable" and "vector" in failed:
        return f"the AVX2 vector kernels failed ({failed['vector']})"
    return None


def notice(failed_set: str, why: str) -> Notice:
    """The Notice for one set's failure: ``reason`` is the set ("vector" or "numba"), the text says what now
    runs and why."""
    if failed_set == "vector":
        text = (
            "The CPU's fast vector kernels failed on this processor, so Gossamer now uses its portable kernels "
            f"({why}). Answers may be slower."
        )
    else:
        text = (
            "The CPU's numba kernels failed on this processor, so Gossamer now uses the slower PyTorch path "
            f"({why}). Answers may be slower."
        )
    return Notice(text, NOTICE_KIND, reason=failed_set)


class FailureWatch:
    """The kernel sets whose failure a session has told: each new one becomes one Notice, once.

    Failures known when the session starts are not told again: they happened while loading (the load's facts
    say so in the status bar) or in an earlier session, which told them."""

    def __init__(self) -> None:
        self.told = set(kernels.cpu_failures() or {})

    def new_notices(self) -> list[Notice]:
        """A Notice for each set that failed since the last call (both, in order, when a step saw both)."""
        failed = kernels.cpu_failures()
        if not failed or self.told.issuperset(failed):  # the usual case, every step: nothing new
            return []
        # both in one step when the portable kernels fail too, right after the vector ones (_after_failure)
        fresh = [name for name in SETS if name in failed and name not in self.told]
        self.told.update(fresh)
        return [notice(name, failed[name]) for name in fresh]
