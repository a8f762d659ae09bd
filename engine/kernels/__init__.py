"""Fused GPU kernels (Triton) for the engine's memory-bound matmuls, with a torch fallback.

Importing this package never imports Triton: ``available()`` does, once, on first use. The Triton
modules (``moe_mxfp4``, ``int8_gemv``) are imported only when it says yes.

    from engine import kernels
    if kernels.available(x.device):
        y = kernels.expert_mlp(x, rows, weights, packed, limit, alpha)   # Triton
    y = kernels.expert_mlp(x, rows, weights, packed, limit, alpha, backend="torch")  # reference

``backend``: None (Triton when available, else torch), "triton" or "torch". The environment variable
GOSSAMER_KERNELS=torch turns the Triton path off everywhere (a user's escape hatch).
"""

from __future__ import annotations

import functools
import os

import torch

MIN_CAPABILITY = (8, 0)  # bf16 tensor cores and conversions: Ampere (RTX 30) and newer


@functools.cache
def _triton_importable() -> bool:
    try:
        import triton  # noqa: F401  (triton-windows installs under the same name)
        import triton.language  # noqa: F401
    except Exception:  # a broken install raises more than ImportError; the torch path still works
        return False
    return True


def available(device: torch.device | str | None = None) -> bool:
    """True if the Triton kernels can run on ``device`` (default: the current CUDA device)."""
    if os.environ.get("GOSSAMER_KERNELS", "").lower() == "torch":
        return False
    device = torch.device("cuda") if device is None else torch.device(device)
    if device.type != "cuda" or not torch.cuda.is_available():
        return False
    if torch.cuda.get_device_capability(device) < MIN_CAPABILITY:
        return False
    return _triton_importable()


def _use_triton(backend: str | None, device: torch.device) -> bool:
    assert backend in (None, "triton", "torch"), backend
    if backend is None:
        return available(device)
    return backend == "triton"


def moe_mlp1(x, expert_ids, blocks, scales, bias, *, limit=7.0, alpha=1.702, expert_to_slot=None, backend=None):
    """x [T, H] bf16, expert_ids [T, k] -> [T, k, I] = swiglu(x @ W1[row]^T + b1[row]) (see moe_mxfp4)."""
    if _use_triton(backend, x.device):
        from . import moe_mxfp4
        return moe_mxfp4.moe_mlp1(x, expert_ids, blocks, scales, bias, limit=limit, alpha=alpha,
                                  expert_to_slot=expert_to_slot)
    from .torch_ref import moe_mlp1_torch
    return moe_mlp1_torch(x, expert_ids, blocks, scales, bias, limit=limit, alpha=alpha,
                          expert_to_slot=expert_to_slot)


def moe_mlp2(h, expert_ids, weights, blocks, scales, bias, *, expert_to_slot=None, backend=None):
    """h [T, k, I] bf16, routing weights [T, k] -> [T, H] = sum_j weights[:, j] * (h[:, j] @ W2^T + b2)."""
    if _use_triton(backend, h.device):
        from . import moe_mxfp4
        return moe_mxfp4.moe_mlp2(h, expert_ids, weights, blocks, scales, bias, expert_to_slot=expert_to_slot)
    from .torch_ref import moe_mlp2_torch
    return moe_mlp2_torch(h, expert_ids, weights, blocks, scales, bias, expert_to_slot=expert_to_slot)


def moe_experts(x, expert_ids, weights, mlp1_blocks, mlp1_scales, mlp1_bias, mlp2_blocks, mlp2_scales,
                mlp2_bias, *, limit=7.0, alpha=1.702, expert_to_slot=None, backend=None):
    """Both expert matmuls of one MoE layer: x [T, H] bf16 -> [T, H] bf16."""
    if _use_triton(backend, x.device):
        from . import moe_mxfp4
        return moe_mxfp4.moe_experts(x, expert_ids, weights, mlp1_blocks, mlp1_scales, mlp1_bias, mlp2_blocks,
                                     mlp2_scales, mlp2_bias, limit=limit, alpha=alpha,
                                     expert_to_slot=expert_to_slot)
    from .torch_ref import moe_experts_torch
    return moe_experts_torch(x, expert_ids, weights, mlp1_blocks, mlp1_scales, mlp1_bias, mlp2_blocks,
                             mlp2_scales, mlp2_bias, limit=limit, alpha=alpha, expert_to_slot=expert_to_slot)


def expert_mlp(x, rows, weights, packed, limit=7.0, alpha=1.702, *, backend=None):
    """The seam of engine/moe.py: ``packed`` has mlp1_/mlp2_ blocks, scales, bias; rows [T, k] index them."""
    return moe_experts(x, rows, weights, packed.mlp1_blocks, packed.mlp1_scales, packed.mlp1_bias,
                       packed.mlp2_blocks, packed.mlp2_scales, packed.mlp2_bias, limit=limit, alpha=alpha,
                       backend=backend)
