"""bf16 matrix products on the CPU (numba): the attention projections, the router and the unembedding.

On CPUs without bf16 instructions (AVX2) torch's bf16 GEMV reads the weights at 2-7 GB/s (measured on the
development machine's Zen 3, 2 threads: 6.6 GB/s for the 201088 x 2880 unembedding, 1.8-3 GB/s for the
attention projections), far below what memory gives. Here each weight is widened to float32 by a shift (bf16
is float32's high half) and multiplied in vector registers, every core streaming its own rows. Sums are in
float32 and rounded to bf16 once, bias included, as torch's float32-block path (engine/quant/mxfp4.py); only
the order of a row's additions differs from torch's bf16 GEMV.

Up to ``GEMV_MAX_ROWS`` input rows (decode) a GEMV streams the weights. Up to ``GEMM_MAX_ROWS`` a GEMM widens
a tile of weight rows into L2 once and multiplies every input row against it: 1.3-2.3x torch at 9-16 rows,
where engine.quant.mxfp4.linear's float32 blocks pay for widening each block in torch (an allocation and a
copy) over too few rows. From about 32 rows torch's float32 GEMM is faster on a quiet machine (1.2-1.4x at
64-128 rows, benchmarks/cpu_dense.py), so longer prefills go to it.
"""

from __future__ import annotations

import numpy as np
import torch

from engine import kernels
from engine.kernels import cpu_mxfp4
from engine.kernels.cpu_mxfp4 import tensor_bits
from engine.quant import mxfp4

GEMV_MAX_ROWS = 8  # each weight row is read once from memory and then from L1 once per input row
GEMM_MAX_ROWS = 32  # above: torch's float32 GEMM (measured crossover on Zen 3, 2 threads)


def linear(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None = None) -> torch.Tensor:
    """x [T, in] @ weight[out, in]^T + bias in x's dtype: the numba kernels for bf16 on the CPU where numba
    runs (GOSSAMER_KERNELS=torch turns them off), else engine.quant.mxfp4.linear."""
    if not applies(x, weight, bias) or not kernels.cpu_available():
        return mxfp4.linear(x, weight, bias)
    from engine.kernels import cpu_bf16_jit  # numba compiles on first use (cached on disk)

    rows = x.shape[0]
    out = np.empty((rows, weight.shape[0]), dtype=np.int16)
    args = (tensor_bits(x), weight_bits(weight), bias_bits(bias), out)
    with cpu_mxfp4.NUMBA_LOCK:
        if rows <= GEMV_MAX_ROWS:
            cpu_bf16_jit.gemv(*args)
        else:
            cpu_bf16_jit.gemm(*args, cpu_mxfp4.threads())
    return torch.from_numpy(out).view(torch.bfloat16)


def linear3(
    x: torch.Tensor,
    *projections: tuple[torch.Tensor, torch.Tensor | None],
    rotary: tuple[torch.Tensor, torch.Tensor] | None = None,
) -> list | None:
    """[linear(x, w, b) for (w, b) in three projections], through one numba call (cpu_bf16_jit.gemv3) where
    the GEMV applies to all three; None where it does not (the caller projects one at a time).

    rotary: (cos, sin) [T, 1, half] bf16: the first two outputs come back rotated in heads of 2 * half
    columns, as engine/layers/rotary.py apply_rotary rotates them, bit for bit (the attention's q and k: no
    torch operations between the projections and the attention)."""
    rows = x.shape[0]
    if len(projections) != 3 or rows > GEMV_MAX_ROWS or not kernels.cpu_available():
        return None
    if not all(applies(x, w, b) for w, b in projections):
        return None
    if rotary is not None and not _rotates(rows, projections, *rotary):
        return None
    from engine.kernels import cpu_bf16_jit

    outs = [np.empty((rows, w.shape[0]), dtype=np.int16) for w, _ in projections]
    arrays = [a for (w, b), out in zip(projections, outs) for a in (weight_bits(w), bias_bits(b), out)]
    with cpu_mxfp4.NUMBA_LOCK:
        if rotary is None:
            cpu_bf16_jit.gemv3(tensor_bits(x), *arrays)
        else:
            cos, sin = (tensor_bits(t.reshape(rows, -1)) for t in rotary)
            cpu_bf16_jit.gemv3_rotated(tensor_bits(x), *arrays, cos, sin)
    return [torch.from_numpy(out).view(torch.bfloat16) for out in outs]


def _rotates(rows: int, projections, cos: torch.Tensor, sin: torch.Tensor) -> bool:
    """cos and sin fit the rotation: bf16 on the CPU, [rows, 1, half] or [rows, half]; q and k whole heads."""
    ok = all(t.dtype == torch.bfloat16 and t.device.type == "cpu" and t.dim() in (2, 3) for t in (cos, sin))
    if not ok or cos.shape != sin.shape or cos.shape[0] != rows or cos.numel() != rows * cos.shape[-1]:
        return False
    head = 2 * cos.shape[-1]
    return head > 0 and all(w.shape[0] % head == 0 for w, _ in projections[:2])


_NO_BIAS = np.zeros(0, dtype=np.int16)  # the kernels' "no bias"


def weight_bits(weight: torch.Tensor) -> np.ndarray:
    return weight.view(torch.int16).numpy().view(np.uint16)  # a view of the mmap'd file: no copy


def bias_bits(bias: torch.Tensor | None) -> np.ndarray:
    return _NO_BIAS if bias is None else tensor_bits(bias)


def applies(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None) -> bool:
    """The numba kernels take these: bf16 on the CPU, 2-D, up to GEMM_MAX_ROWS rows, a contiguous weight (a
    view of the mmap'd file: no copy), no autograd. (Tests that stand the CPU in for a GPU while emulating
    CUDA graph capture patch this to False, as they route the experts as on a GPU.)"""
    return (
        x.device.type == "cpu"
        and weight.device.type == "cpu"
        and x.dtype == weight.dtype == torch.bfloat16
        and x.dim() == weight.dim() == 2
        and 0 < x.shape[0] <= GEMM_MAX_ROWS
        and x.shape[1] == weight.shape[1]
        and weight.is_contiguous()
        and (bias is None or bias.shape == weight.shape[:1])
        and not (x.requires_grad or weight.requires_grad)
    )
