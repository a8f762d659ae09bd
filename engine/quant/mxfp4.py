"""MXFP4 expert weights and the matmuls over the model's weights.

MXFP4 (OCP microscaling): 32 consecutive weights along the input dimension share one E8M0 scale;
each weight is an FP4 (e2m1) code, two codes per byte, the low nibble first. Dequantizing is exact in
bf16 (a 3-bit-mantissa value times a power of two), so the references and we see the same numbers.

``linear`` is the one bf16 matmul of the model: on CPUs without bf16 instructions (AVX2) torch's bf16
GEMM is very slow for more than a few rows, so there we multiply in float32 blocks; the products of bf16
numbers are exact in float32 and both paths accumulate in float32, so the results are the same numbers.
Triton kernels (engine/kernels/, later) replace ``dequantize`` and the expert matmuls in engine/layers/moe.py.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

FP4_VALUES = (+0.0, +0.5, +1.0, +1.5, +2.0, +3.0, +4.0, +6.0, -0.0, -0.5, -1.0, -1.5, -2.0, -3.0, -4.0, -6.0)
SCALE_BIAS = 127  # E8M0: value = 2 ** (scale - 127)
GROUP = 32  # weights per scale
BYTES_PER_BLOCK = 16

CPU_NATIVE_MAX_ROWS = 15  # below this many rows torch's bf16 GEMV is fine on CPU (measured, AVX2)
CPU_BLOCK_ELEMENTS = 1 << 18  # weight elements upcast at a time: 1 MiB of float32 stays in L2

_tables: dict[tuple[torch.dtype, torch.device], tuple[torch.Tensor, torch.Tensor]] = {}


def _lookup_tables(dtype: torch.dtype, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    """byte -> its two FP4 values [256, 2]; scale byte -> 2**(s-127) [256]; built once per device."""
    key = (dtype, device)
    if key not in _tables:
        fp4 = torch.tensor(FP4_VALUES, dtype=torch.float32)
        codes = torch.arange(256)
        pairs = torch.stack((fp4[codes & 0x0F], fp4[codes >> 4]), dim=-1)  # low nibble = even element
        powers = torch.ldexp(torch.ones(256), torch.arange(256) - SCALE_BIAS)  # exact, 2**-127 is subnormal
        _tables[key] = (pairs.to(device=device, dtype=dtype), powers.to(device=device, dtype=dtype))
    return _tables[key]


def dequantize(
    blocks: torch.Tensor, scales: torch.Tensor, dtype: torch.dtype = torch.bfloat16
) -> torch.Tensor:
    """blocks [..., G, 16] uint8, scales [..., G] uint8 -> weights [..., G*32] (rows = output features)."""
    assert blocks.shape[:-1] == scales.shape and blocks.shape[-1] == BYTES_PER_BLOCK, (
        blocks.shape,
        scales.shape,
    )
    pairs, powers = _lookup_tables(dtype, blocks.device)
    *lead, groups, _ = blocks.shape
    values = pairs.index_select(0, blocks.reshape(-1).to(torch.int32))  # [N*16, 2]
    values = values.view(*lead, groups, GROUP)
    scale = powers.index_select(0, scales.reshape(-1).to(torch.int32)).view(*lead, groups, 1)
    return (values * scale).view(*lead, groups * GROUP)


def linear(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None = None) -> torch.Tensor:
    """x [T, in] @ weight[out, in]^T + bias, in x's dtype with float32 accumulation."""
    if x.device.type != "cpu" or x.dtype != torch.bfloat16 or x.shape[0] <= CPU_NATIVE_MAX_ROWS:
        return F.linear(x, weight, bias)
    x32 = x.float()
    out = torch.empty(x.shape[0], weight.shape[0], dtype=x.dtype)
    step = max(1, CPU_BLOCK_ELEMENTS // weight.shape[1])
    for r0 in range(0, weight.shape[0], step):
        b = None if bias is None else bias[r0 : r0 + step].float()
        out[:, r0 : r0 + step] = F.linear(x32, weight[r0 : r0 + step].float(), b)
    return out
