"""The CPU's bf16 GEMV and GEMM (numba) give torch's numbers to bf16 tolerance, on odd shapes, at 1 and n threads."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from engine.kernels import cpu_bf16
from engine.quant import mxfp4

numba = pytest.importorskip("numba")


def close(ours: torch.Tensor, ref: torch.Tensor) -> None:
    """Equal to bf16 tolerance: sums in another order, rounded to bf16 once."""
    assert ours.dtype == ref.dtype == torch.bfloat16 and ours.shape == ref.shape
    diff = (ours.float() - ref.float()).abs()
    assert (diff <= 2**-7 * ref.float().abs() + 2**-6 * ref.float().abs().max()).all()


@pytest.mark.parametrize(
    "tokens, width, rows, bias",
    [
        (1, 64, 10, True),  # decode
        (1, 37, 300, False),  # widths and row counts no multiple of the vector or a chunk
        (3, 2880 // 32, 129, True),
        (cpu_bf16.GEMV_MAX_ROWS, 200, 65, True),  # the most rows the GEMV takes
        (cpu_bf16.GEMV_MAX_ROWS + 1, 200, 65, True),  # the fewest the GEMM takes: two blocks of four, a tail
        (cpu_bf16.GEMM_MAX_ROWS, 96, 16, False),  # whole blocks of tokens and one whole tile of weight rows
        (cpu_bf16.GEMM_MAX_ROWS - 1, 45, 531, True),  # prefill-like: tails of tokens, width and tiles
    ],
)
def test_kernels_equal_torch(tokens, width, rows, bias):
    """linear on bf16 rows (the numba GEMV or GEMM) and torch's F.linear agree, with and without a bias."""
    x = torch.randn(tokens, width).bfloat16()
    w = torch.randn(rows, width).bfloat16()
    b = torch.randn(rows).bfloat16() if bias else None
    close(cpu_bf16.linear(x, w, b), F.linear(x.float(), w.float(), None if b is None else b.float()).bfloat16())


@pytest.mark.parametrize("tokens", [2, 11])
def test_one_thread_and_all_threads_give_the_same_bits(tokens):
    """Each output is one thread's sum in a fixed order, so the thread count changes no bit."""
    x, w, b = torch.randn(tokens, 96).bfloat16(), torch.randn(333, 96).bfloat16(), torch.randn(333).bfloat16()
    threads = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        one = cpu_bf16.linear(x, w, b)
    finally:
        numba.set_num_threads(threads)
    assert torch.equal(cpu_bf16.linear(x, w, b), one)


def test_other_inputs_take_the_torch_path(monkeypatch):
    """More rows than the GEMM takes, float32, a transposed weight or GOSSAMER_KERNELS=torch: the numbers of
    engine.quant.mxfp4.linear exactly; a non-contiguous input is fine."""
    w, b = torch.randn(40, 48).bfloat16(), torch.randn(40).bfloat16()
    many = torch.randn(cpu_bf16.GEMM_MAX_ROWS + 1, 48).bfloat16()
    assert torch.equal(cpu_bf16.linear(many, w, b), mxfp4.linear(many, w, b))
    strided = torch.randn(12, 96).bfloat16()[:, ::2]
    close(cpu_bf16.linear(strided, w, b), mxfp4.linear(strided, w, b))
    x = torch.randn(1, 48)
    assert torch.equal(cpu_bf16.linear(x, w.float(), b.float()), mxfp4.linear(x, w.float(), b.float()))
    wt = torch.randn(48, 40).bfloat16().t()
    assert torch.equal(cpu_bf16.linear(x.bfloat16(), wt), mxfp4.linear(x.bfloat16(), wt))
    monkeypatch.setenv("GOSSAMER_KERNELS", "torch")
    assert torch.equal(cpu_bf16.linear(x.bfloat16(), w, b), mxfp4.linear(x.bfloat16(), w, b))


@pytest.mark.parametrize("tokens", [1, 10])
def test_non_finite_inputs_stay_non_finite(tokens):
    """An inf or NaN in the input or the weights reaches the output as torch's does (no fast-math folding)."""
    x, w = torch.randn(tokens, 64).bfloat16(), torch.randn(8, 64).bfloat16()
    x[0, 3], w[5, 7] = float("inf"), float("nan")
    ours, ref = cpu_bf16.linear(x, w), F.linear(x.float(), w.float()).bfloat16()
    assert torch.equal(torch.isnan(ours), torch.isnan(ref)) and torch.equal(torch.isinf(ours), torch.isinf(ref))


@pytest.mark.parametrize("tokens", [1, cpu_bf16.GEMV_MAX_ROWS])
def test_three_projections_in_one_call_equal_three_calls(tokens):
    """linear3 (the attention's q, k and v in one parallel loop over all of their rows) gives each
    projection's linear bit for bit, for row counts that are no multiple of a chunk; past the GEMV's rows,
    or for inputs the kernels do not take, it declines (None) and the caller projects one at a time."""
    x = torch.randn(tokens, 96).bfloat16()
    projections = [(torch.randn(rows, 96).bfloat16(), bias) for rows, bias in ((200, torch.randn(200).bfloat16()), (33, None), (64, torch.randn(64).bfloat16()))]  # fmt: skip
    three = cpu_bf16.linear3(x, *projections)
    assert three is not None and len(three) == 3
    for got, (w, b) in zip(three, projections):
        assert torch.equal(got, cpu_bf16.linear(x, w, b))
    assert cpu_bf16.linear3(torch.randn(cpu_bf16.GEMV_MAX_ROWS + 1, 96).bfloat16(), *projections) is None
    assert cpu_bf16.linear3(x.float(), *projections) is None


@pytest.mark.parametrize("tokens", [1, 3])
def test_three_projections_rotated_in_the_call_equal_torchs_rotation(tokens):
    """linear3 with rotary gives apply_rotary's q and k, bit for bit (each product and sum rounded to bf16 as
    torch rounds them), and v untouched; cos and sin that do not fit (a head that does not divide q) decline."""
    from engine.layers.rotary import apply_rotary

    g = torch.Generator().manual_seed(tokens)
    x = torch.randn(tokens, 96, generator=g).bfloat16()
    d, heads, kv_heads = 16, 6, 2
    shapes = ((heads * d, True), (kv_heads * d, False), (kv_heads * d, True))
    projections = [
        (torch.randn(r, 96, generator=g).bfloat16(), torch.randn(r, generator=g).bfloat16() if b else None)
        for r, b in shapes
    ]
    angles = torch.rand(tokens, 1, d // 2, generator=g) * 40
    cos, sin = (angles.cos() * 1.3).bfloat16(), (angles.sin() * 1.3).bfloat16()
    q, k, v = cpu_bf16.linear3(x, *projections, rotary=(cos, sin))
    want_q, want_k, want_v = cpu_bf16.linear3(x, *projections)
    assert torch.equal(v, want_v)
    for got, want, n in ((q, want_q, heads), (k, want_k, kv_heads)):
        rotated = apply_rotary(want.view(tokens, n, d), cos, sin).reshape(tokens, -1)
        assert torch.equal(got, rotated)
    odd = (cos[..., :5].contiguous(), sin[..., :5].contiguous())  # heads of 10 columns do not divide 16
    assert cpu_bf16.linear3(x, *projections, rotary=odd) is None
