"""The CPU kernels take bf16 tensors as their bits (engine/kernels/cpu_bits.py): the same numbers as the
float32 copies they took before, and a rounding to bf16 that is torch's, bit for bit."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest
import torch

numba = pytest.importorskip("numba")

from engine.kernels import cpu_bf16, cpu_bf16_jit, cpu_bits, cpu_mxfp4, cpu_mxfp4_jit

SPECIAL = [
    0.0, -0.0, 1.0, -1.5, 3.0e38, -3.0e38, 3.3895314e38,  # the largest bf16, and past it
    float("inf"), float("-inf"), 1e-40, -1e-42, 2.0**-133, 2.0**-126,  # subnormals, the smallest normal
]  # fmt: skip


@numba.njit(cache=False)
def _round_all(values, out):
    for i in range(values.shape[0]):
        out[i] = cpu_bits.bf16_bits(values[i])


def test_rounding_is_torchs_bit_for_bit():
    """Ties (to even), the values either side of them, overflow to inf, subnormals and signed zeros round as
    torch's .to(torch.bfloat16); every NaN stays a NaN."""
    g = torch.Generator().manual_seed(0)
    halves = torch.randint(0, 2**16, (4096,), generator=g, dtype=torch.int32) << 16
    ties = halves | 0x8000  # exactly half-way between two bf16 numbers
    near = torch.cat([ties - 1, ties + 1, halves | 0x7FFF, halves | 0x0001])
    bits = torch.cat([halves, ties, near]).to(torch.int32)
    values = torch.cat([bits.view(torch.float32), torch.tensor(SPECIAL)])
    finite_or_inf = ~torch.isnan(values)
    values = values[finite_or_inf]
    out = np.empty(values.shape[0], np.int16)
    _round_all(values.numpy(), out)
    assert torch.equal(torch.from_numpy(out), values.to(torch.bfloat16).view(torch.int16))
    nans = np.array([float("nan"), -float("nan"), np.uint32(0x7F800001).view(np.float32)], np.float32)
    got = np.empty(3, np.int16)
    _round_all(nans, got)
    assert torch.isnan(torch.from_numpy(got).view(torch.bfloat16)).all()


@pytest.mark.parametrize("tokens, bias", [(1, True), (3, False), (cpu_bf16.GEMV_MAX_ROWS + 2, True)])
def test_bf16_products_from_bits_equal_the_float_form(tokens, bias):
    """The GEMV and GEMM on bits give the bits the float32 form gives once torch rounds it: only where the
    conversions happen moved."""
    x, w = torch.randn(tokens, 160).bfloat16(), torch.randn(77, 160).bfloat16()
    b = torch.randn(77).bfloat16() if bias else None
    w_bits = w.view(torch.int16).numpy().view(np.uint16)
    b_float = np.zeros(77, np.float32) if b is None else b.float().numpy()
    out = np.empty((tokens, 77), np.float32)
    if tokens <= cpu_bf16.GEMV_MAX_ROWS:
        cpu_bf16_jit.gemv(x.float().numpy(), w_bits, b_float, out)
    else:
        cpu_bf16_jit.gemm(x.float().numpy(), w_bits, b_float, out, cpu_mxfp4.threads())
    assert torch.equal(cpu_bf16.linear(x, w, b), torch.from_numpy(out).to(torch.bfloat16))


@pytest.mark.parametrize("module", [cpu_bf16_jit, cpu_mxfp4_jit])
def test_the_compiled_kernels_name_the_bits_helpers_they_inline(module):
    """numba's disk cache keys each kernel on its own file: cpu_bits.py, which both call, is pinned there by
    hash, so editing it without updating the hashes (which recompiles) fails here, not with stale code."""
    digest = hashlib.sha256(Path(cpu_bits.__file__).read_bytes()).hexdigest()[:16]
    assert digest == module.BITS_SOURCE, f"update BITS_SOURCE in {module.__name__} to {digest}"
