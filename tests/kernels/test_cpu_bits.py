"""The CPU kernels take bf16 tensors as their bits (engine/kernels/cpu_bits.py): the same numbers as the
float32 copies they took before, and a rounding to bf16 that is torch's, bit for bit."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest
import torch

numba = pytest.importorskip("numba")

from engine.kernels import (
    cpu_attend_jit,
    cpu_bf16,
    cpu_bf16_jit,
    cpu_bits,
    cpu_mxfp4,
    cpu_mxfp4_jit,
    cpu_norm_jit,
    fused,
    fused_ref,
)

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


@pytest.mark.parametrize("module", [cpu_bf16_jit, cpu_mxfp4_jit, cpu_norm_jit, cpu_attend_jit])
def test_the_compiled_kernels_name_the_bits_helpers_they_inline(module):
    """numba's disk cache keys each kernel on its own file: cpu_bits.py, which both call, is pinned there by
    hash, so editing it without updating the hashes (which recompiles) fails here, not with stale code."""
    digest = hashlib.sha256(Path(cpu_bits.__file__).read_bytes()).hexdigest()[:16]
    assert digest == module.BITS_SOURCE, f"update BITS_SOURCE in {module.__name__} to {digest}"


@pytest.mark.parametrize("tokens, width", [(1, 2880), (3, 77), (cpu_norm_jit.PARALLEL_ROWS + 1, 96)])
@pytest.mark.parametrize("delta, bias", [(True, True), (True, False), (False, False)])
def test_cpu_add_rms_norm_equals_torchs(tokens, width, delta, bias):
    """fused.add_rms_norm on the CPU (numba, one call) gives torch's residual bit for bit, and its norm but
    for the order of the mean's sum: at most one bf16 step apart, in a few elements. No delta: the residual
    is x itself."""
    g = torch.Generator().manual_seed(tokens * width)
    x = (torch.randn(tokens, width, generator=g) * 4).bfloat16()
    d = torch.randn(tokens, width, generator=g).bfloat16() if delta else None
    b = torch.randn(width, generator=g).bfloat16() if bias else None
    scale = torch.rand(width, generator=g) + 0.5
    assert fused._cpu_norm_applies(x, d, scale, b)
    residual, normed = fused.add_rms_norm(x, d, scale, 1e-5, b)
    want_residual, want = fused_ref.add_rms_norm(x, d, scale, 1e-5, b)
    assert torch.equal(residual, want_residual) and (delta or residual is x)
    assert normed.dtype == torch.bfloat16 and normed.shape == want.shape
    steps = (normed.view(torch.int16).int() - want.view(torch.int16).int()).abs()
    assert steps.max() <= 1 and (steps > 0).float().mean() < 0.01


def test_cpu_add_rms_norm_keeps_inf_and_nan_where_torch_does():
    x = torch.randn(3, 64).bfloat16()
    x[0, 5], x[1, 9] = float("nan"), float("inf")
    scale = torch.ones(64)
    _, normed = fused.add_rms_norm(x, None, scale, 1e-5)
    _, want = fused_ref.add_rms_norm(x, None, scale, 1e-5)
    assert torch.equal(torch.isnan(normed), torch.isnan(want)) and torch.equal(
        torch.isinf(normed), torch.isinf(want)
    )
    assert torch.equal(normed[2], want[2]) or (normed[2] != want[2]).sum() <= 1


@pytest.mark.parametrize(
    "heads, kv_heads, d, keys",
    [(64, 8, 64, 1), (64, 8, 64, 150), (64, 8, 64, 700), (4, 2, 16, 9), (6, 3, 32, 40)],
)
def test_one_token_attention_equals_torchs(heads, kv_heads, d, keys):
    """engine.layers.attention's numba path for one token (cpu_attend_jit) gives attend_torch's bits: sums in
    BMM's order, every rounding where torch rounds; past ~150 keys BLAS blocks its sums, so there at most a
    bf16 step in a few elements."""
    from engine.layers import attention

    g = torch.Generator().manual_seed(heads * keys + d)
    q = (torch.randn(1, heads, d, generator=g) * 2).bfloat16()
    k = (torch.randn(kv_heads, keys, d, generator=g) * 2).bfloat16().float()
    v = torch.randn(kv_heads, keys, d, generator=g).bfloat16().float()
    sinks = torch.randn(kv_heads, heads // kv_heads, 1, 1, generator=g)
    assert attention._cpu_attends(q, k, v, sinks)
    got = attention.attend(q, k, v, sinks, d**-0.5, keys - 1, 0, 0)
    want = attention.attend_torch(q, k, v, sinks, d**-0.5, keys - 1, 0, 0)
    assert got.shape == want.shape == (1, heads * d) and got.dtype == torch.bfloat16
    steps = (got.view(torch.int16).int() - want.view(torch.int16).int()).abs()
    if keys <= 150:
        assert torch.equal(got, want)
    assert steps.max() <= 1 and (steps > 0).float().mean() < 0.001


def test_one_token_attention_on_strided_cache_views_and_nan():
    """Keys and values as the full cache returns them (views of a longer buffer), and a NaN query: the NaN
    stays in its head's outputs, as in torch's."""
    from engine.layers import attention

    buffer = torch.randn(2, 50, 16).bfloat16().float()
    keys, values = buffer[:, :20], (buffer * 0.5)[:, :20]
    q = torch.randn(1, 4, 16).bfloat16()
    q[0, 1, 3] = float("nan")
    sinks = torch.randn(2, 2, 1, 1)
    got = attention.attend(q, keys, values, sinks, 0.25, 19, 0, 0)
    want = attention.attend_torch(q, keys, values, sinks, 0.25, 19, 0, 0)
    assert torch.equal(torch.isnan(got), torch.isnan(want)) and torch.isnan(got[0, 16:32]).all()
    finite = ~torch.isnan(want)
    assert torch.equal(got[finite], want[finite])
