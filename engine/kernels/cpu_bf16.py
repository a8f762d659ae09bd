"""bf16 matrix-vector products on the CPU (numba): the attention projections and the unembedding of decode.

On CPUs without bf16 instructions (AVX2) torch's bf16 GEMV reads the weights at 2-7 GB/s (measured on the
development machine's Zen 3, 2 threads: 6.6 GB/s for the 201088 x 2880 unembedding, 1.8-3 GB/s for the
attention projections), far below what memory gives. Here each weight is widened to float32 by a shift (bf16
is float32's high half) and multiplied in vector registers, every core streaming its own rows. Sums are in
float32 and rounded to bf16 once, bias included, as torch's float32-block path (engine/quant/mxfp4.py); only
the order of a row's additions differs from torch's bf16 GEMV.

Up to ``MAX_ROWS`` input rows (decode, a few speculative tokens); more rows (prefill) go to
engine.quant.mxfp4.linear, whose float32 blocks run torch's GEMM.
"""

from __future__ import annotations

import numpy as np
import torch

from engine import kernels
from engine.kernels import cpu_mxfp4
from engine.quant import mxfp4

MAX_ROWS = 8  # each weight row is read once from memory and then from L1 once per input row


def linear(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None = None) -> torch.Tensor:
    """x [T, in] @ weight[out, in]^T + bias in x's dtype: engine.quant.mxfp4.linear, with the numba GEMV for
    a few bf16 rows on the CPU where numba runs (GOSSAMER_KERNELS=torch turns it off)."""
    if not _fits(x, weight, bias) or not kernels.cpu_available():
        return mxfp4.linear(x, weight, bias)
    from engine.kernels import cpu_bf16_jit  # numba compiles on first use (cached on disk)

    rows = x.shape[0]
    out = np.empty((rows, weight.shape[0]), dtype=np.float32)
    b = np.zeros(weight.shape[0], dtype=np.float32) if bias is None else bias.float().numpy()
    with cpu_mxfp4.NUMBA_LOCK:
        cpu_bf16_jit.gemv(x.float().numpy(), weight.view(torch.int16).numpy().view(np.uint16), b, out)
    return torch.from_numpy(out).to(torch.bfloat16)


def _fits(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None) -> bool:
    """bf16 on the CPU, 2-D, a few rows, a contiguous weight (a view of the mmap'd file: no copy)."""
    return (
        x.device.type == "cpu"
        and weight.device.type == "cpu"
        and x.dtype == weight.dtype == torch.bfloat16
        and x.dim() == weight.dim() == 2
        and 0 < x.shape[0] <= MAX_ROWS
        and weight.is_contiguous()
        and (bias is None or bias.dim() == 1)
        and not (x.requires_grad or weight.requires_grad)
    )
