"""Every Triton launch of the engine goes through ``launch``, so that launches can be counted without a GPU.

Triton cannot run on PyTorch's ``meta`` device (shapes, no data), where the engine counts the kernels of a
decode step (engine/runtime/op_count.py). Inside ``counting(hook)``:
- a ``meta`` device counts as a CUDA device on which the Triton kernels run (``simulated``), so the model
  takes the path it takes on a GPU with Triton;
- each ``launch`` calls ``hook(kernel name)`` and, when its tensors are on ``meta``, launches nothing: the
  launcher's own torch operations (allocations, views) still run and are counted by the caller's dispatch
  mode, the kernel is counted here.
Outside ``counting`` a launch is just ``kernel[grid](*args, **kwargs)``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator

import torch

_hook: Callable[[str], None] | None = None


@contextlib.contextmanager
def counting(hook: Callable[[str], None]) -> Iterator[None]:
    """Count launches with ``hook(name)``, and let ``meta`` stand for a CUDA device with Triton."""
    global _hook
    previous, _hook = _hook, hook
    try:
        yield
    finally:
        _hook = previous


def simulated(device: torch.device) -> bool:
    """True while counting on the ``meta`` device: the engine takes its CUDA + Triton path there."""
    return _hook is not None and device.type == "meta"


def launch(kernel, grid: tuple, *args, **kwargs) -> None:
    """``kernel[grid](*args, **kwargs)``, counted while ``counting``; nothing runs on ``meta`` tensors."""
    if _hook is not None:
        _hook(getattr(getattr(kernel, "fn", kernel), "__name__", str(kernel)))
    devices = {a.device.type for a in args if isinstance(a, torch.Tensor)}
    if "meta" in devices:
        return
    if "cpu" in devices:  # only Triton's interpreter runs kernels on CPU tensors (tests, BENCH_SMOKE)
        patch_interpreter_index()
    kernel[grid](*args, **kwargs)


def patch_interpreter_index() -> None:
    """Triton 3.6's interpreter holds scalars as 1-element arrays and NumPy 2 refuses int() of those, so a
    loop whose bounds are read at run time (``range(start, end, BLOCK)`` in the attention kernels) fails
    there, though it compiles on a GPU: give its tensors an ``__index__`` that reads the one element."""
    from triton.runtime import interpreter

    original = interpreter._patch_lang_tensor
    if getattr(original, "gossamer_patched", False):
        return

    def patched(tensor, scope):
        original(tensor, scope)
        scope.set_attr(tensor, "__index__", lambda self: int(self.handle.data.reshape(-1)[0]))

    patched.gossamer_patched = True
    interpreter._patch_lang_tensor = patched
