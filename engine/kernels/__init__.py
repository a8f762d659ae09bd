"""Fused GPU kernels (Triton) for the engine's memory-bound matmuls, with a torch fallback.

Importing this package never imports Triton: ``available()`` does, once, on first use. The Triton
modules (``moe_mxfp4``, ``int8_gemv``) are imported only when it says yes.

    from engine import kernels
    if kernels.available(x.device):
        y = kernels.expert_mlp(x, rows, weights, packed, limit, alpha)   # Triton
    y = kernels.expert_mlp(x, rows, weights, packed, limit, alpha, backend="torch")  # reference

``backend``: None (Triton when available, else torch), "triton" or "torch". The environment variable
GOSSAMER_KERNELS chooses for the whole engine (``mode()``): "auto" (the default: Triton where it runs, torch
if it fails), "torch" (never Triton: a user's escape hatch), "triton" (Triton where it runs, and a failure
is raised instead of falling back: for benchmarks). ``python -m engine bench --kernels`` sets it.
"""

from __future__ import annotations

import functools
import logging
import os

import torch
from torch.utils._python_dispatch import _get_current_dispatch_mode

from .launch import simulated

MIN_CAPABILITY = (8, 0)  # bf16 tensor cores and conversions: Ampere (RTX 30) and newer

log = logging.getLogger(__name__)
_disabled: str | None = None  # why Triton was turned off after a failure in this process


@functools.cache
def _triton_importable() -> bool:
    try:
        import triton  # noqa: F401  (triton-windows installs under the same name)
        import triton.language  # noqa: F401
    except Exception:  # a broken install raises more than ImportError; the torch path still works
        return False
    return True


MODES = ("auto", "torch", "triton")
ENV = "GOSSAMER_KERNELS"


def mode() -> str:
    """GOSSAMER_KERNELS: "auto" (default), "torch" or "triton"; anything else counts as "auto"."""
    value = os.environ.get(ENV, "").strip().lower()
    return value if value in MODES else "auto"


def backend() -> str | None:
    """The ``backend`` argument for the mode: "triton" raises on a failure, None falls back to torch."""
    return {"torch": "torch", "triton": "triton"}.get(mode())


def available(device: torch.device | str | None = None) -> bool:
    """True if the Triton kernels can run on ``device`` (default: the current CUDA device)."""
    if mode() == "torch" or _disabled:
        return False
    device = torch.device("cuda") if device is None else torch.device(device)
    if simulated(device):  # counting a step on meta (engine/runtime/op_count.py): the CUDA + Triton path
        return _triton_importable()
    return device.type == "cuda" and _hardware_ok(device)


def use_fused(device: torch.device) -> bool:
    """Whether the engine's MoE layers run the Triton kernels on ``device`` now (asked per layer per step:
    the checks are cached, and a CPU answers at once)."""
    return (device.type == "cuda" or simulated(device)) and available(device)


def why_unavailable(device: torch.device | str | None = None) -> str | None:
    """None if ``available(device)``, else the reason in words (for a benchmark that asked for Triton)."""
    device = torch.device("cuda") if device is None else torch.device(device)
    if mode() == "torch":
        return f"{ENV}=torch turns them off"
    if _disabled:
        return f"they failed in this process ({_disabled})"
    if device.type != "cuda" or not torch.cuda.is_available():
        return f"they need a CUDA GPU, and {device} is not one"
    if torch.cuda.get_device_capability(device) < MIN_CAPABILITY:
        return f"they need compute capability 8.0 or newer; {torch.cuda.get_device_name(device)} has less"
    if not _triton_importable():
        return "Triton is not installed (or does not import)"
    return None


@functools.cache
def _hardware_ok(device: torch.device) -> bool:
    if not torch.cuda.is_available() or torch.cuda.get_device_capability(device) < MIN_CAPABILITY:
        return False
    return _triton_importable()


def _use_triton(backend: str | None, device: torch.device) -> bool:
    assert backend in (None, "triton", "torch"), backend
    if backend is None:
        return available(device)
    return backend == "triton"


def run_with_fallback(backend: str | None, device: torch.device, triton_fn, torch_fn):
    """Triton if chosen; if it fails to compile or launch (an old driver, an untested GPU), say so once,
    turn Triton off for the process and answer with the torch path. Asserts (wrong inputs) propagate."""
    global _disabled
    if not _use_triton(backend, device):
        return torch_fn()
    try:
        return triton_fn()
    except AssertionError:
        raise
    except Exception as e:
        if backend == "triton":
            raise
        _disabled = f"{type(e).__name__}: {e}"
        log.warning("Triton kernels failed, using the PyTorch path from now on: %s", _disabled)
        return torch_fn()


def moe_mlp1(x, expert_ids, blocks, scales, bias, *, limit=7.0, alpha=1.702, expert_to_slot=None, backend=None):
    """x [T, H] bf16, expert_ids [T, k] -> [T, k, I] = swiglu(x @ W1[row]^T + b1[row]) (see moe_mxfp4)."""
    from . import torch_ref
    args = (x, expert_ids, blocks, scales, bias)
    kw = dict(limit=limit, alpha=alpha, expert_to_slot=expert_to_slot)
    return run_with_fallback(backend, x.device, lambda: _moe().moe_mlp1(*args, **kw), lambda: torch_ref.moe_mlp1_torch(*args, **kw))


def moe_mlp2(h, expert_ids, weights, blocks, scales, bias, *, expert_to_slot=None, backend=None):
    """h [T, k, I] bf16, routing weights [T, k] -> [T, H] = sum_j weights[:, j] * (h[:, j] @ W2^T + b2)."""
    from . import torch_ref
    args = (h, expert_ids, weights, blocks, scales, bias)
    kw = dict(expert_to_slot=expert_to_slot)
    return run_with_fallback(backend, h.device, lambda: _moe().moe_mlp2(*args, **kw), lambda: torch_ref.moe_mlp2_torch(*args, **kw))


def moe_experts(x, expert_ids, weights, mlp1_blocks, mlp1_scales, mlp1_bias, mlp2_blocks, mlp2_scales,
                mlp2_bias, *, limit=7.0, alpha=1.702, expert_to_slot=None, backend=None):
    """Both expert matmuls of one MoE layer: x [T, H] bf16 -> [T, H] bf16."""
    from . import torch_ref
    args = (x, expert_ids, weights, mlp1_blocks, mlp1_scales, mlp1_bias, mlp2_blocks, mlp2_scales, mlp2_bias)
    kw = dict(limit=limit, alpha=alpha, expert_to_slot=expert_to_slot)
    return run_with_fallback(backend, x.device, lambda: _moe().moe_experts(*args, **kw),
                lambda: torch_ref.moe_experts_torch(*args, **kw))


def cpu_available() -> bool:
    """The numba MXFP4 expert kernels for the CPU (engine/kernels/cpu_mxfp4.py) can run: numba imports and
    GOSSAMER_KERNELS is not "torch". Importing numba is deferred to the first CPU forward pass."""
    if mode() == "torch":
        return False
    module = _cpu_mxfp4()
    return module is not None and module.available()


@functools.cache
def _cpu_mxfp4():
    # engine.kernels.cpu_mxfp4, or None without numpy (it comes with numba; without either, the torch path).
    # Looked up once: cpu_available runs ~30 times a CPU decode step
    try:
        from . import cpu_mxfp4
    except ImportError:
        return None
    return cpu_mxfp4


def cpu_runs_now() -> bool:
    """cpu_available, and no dispatch mode records torch operations now (a tracer, or the tests' CUDA-graph
    stand-in): a numba call is invisible to one, so the kernels that replace torch operations outright (the
    CPU's norm and one-token attention) give way to torch's while one records."""
    return _get_current_dispatch_mode() is None and cpu_available()


def cpu_kind() -> str:
    """Which expert kernels the CPU runs: "avx2" (numba with cpu_mxfp4_simd's vector code: x86-64 with
    AVX2), "portable" (numba's float kernels: any other CPU) or "torch" (numba missing or turned off)."""
    if not cpu_available():
        return "torch"
    from . import cpu_mxfp4

    return "avx2" if cpu_mxfp4.vector_kernels() else "portable"


def cpu_failures() -> dict[str, str] | None:
    """Why the CPU's expert kernels failed in this process, by set ("vector", "numba"), or None."""
    try:
        from . import cpu_mxfp4
    except ImportError:
        return None
    return dict(cpu_mxfp4.FAILED) or None


def _moe():
    from . import moe_mxfp4
    return moe_mxfp4


def expert_mlp(x, rows, weights, packed, limit=7.0, alpha=1.702, *, backend=None):
    """The seam of engine/layers/moe.py: ``packed`` has mlp1_/mlp2_ blocks, scales, bias; rows [T, k] index them."""
    return moe_experts(x, rows, weights, packed.mlp1_blocks, packed.mlp1_scales, packed.mlp1_bias,
                       packed.mlp2_blocks, packed.mlp2_scales, packed.mlp2_bias, limit=limit, alpha=alpha,
                       backend=backend)
