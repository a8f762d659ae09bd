"""8-bit weights: quantization error bound, Int8Linear against nn.Linear, the int8 GEMV kernel."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from engine.layers.int8_linear import Int8Linear, int8_linear
from engine.quant.int8 import dequantize_linear, quantize_linear

from .synth import rel_err


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 40), st.integers(1, 70), st.floats(1e-6, 1e4), st.integers(0, 2**31 - 1))
def test_quantize_error_at_most_half_a_step(rows, cols, magnitude, seed):
    """|w - q * scale| <= scale / 2 for every weight, q in -127..127, scale >= max|w| / 127."""
    g = torch.Generator().manual_seed(seed)
    w = torch.randn(rows, cols, generator=g) * magnitude
    w[0, 0] = 0.0
    q, scale = quantize_linear(w)
    assert q.dtype == torch.int8 and scale.dtype == torch.bfloat16 and scale.shape == (rows,)
    assert int(q.abs().max()) <= 127
    s = scale.float()[:, None]
    assert ((w - q.float() * s).abs() <= s / 2 * (1 + 1e-6)).all()
    assert (s[:, 0] >= w.abs().amax(1) / 127).all()


def test_quantize_zero_rows_and_bf16_input():
    """A zero row gets scale 1 and zeros; bf16 weights quantize like their float32 values."""
    w = torch.randn(4, 64).to(torch.bfloat16)
    w[2] = 0
    q, scale = quantize_linear(w)
    assert float(scale[2]) == 1.0 and (q[2] == 0).all()
    assert torch.equal(q, quantize_linear(w.float())[0])
    assert rel_err(dequantize_linear(q, scale, torch.float32), w.float()) < 1e-2  # ~ step / sqrt(12)


@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_int8_linear_close_to_linear(bias, dtype):
    """Int8Linear is a drop-in for nn.Linear: same shapes, error of weight rounding only."""
    torch.manual_seed(0)
    lin = nn.Linear(96, 80, bias=bias).to(dtype)
    q8 = Int8Linear.from_linear(lin)
    x = torch.randn(3, 5, 96).to(dtype)
    y = q8(x)
    assert y.shape == (3, 5, 80) and y.dtype == dtype
    assert rel_err(y, lin(x)) < 1.5e-2
    exact = x.double() @ dequantize_linear(q8.weight_q, q8.weight_scale, torch.float64).t()
    if bias:
        exact += lin.bias.double()
    assert rel_err(y, exact) < (1e-6 if dtype == torch.float32 else 8e-3)


def test_int8_linear_chunks(monkeypatch):
    """The torch path dequantizes a block of rows at a time and still covers every row."""
    from engine.layers import int8_linear as quant8

    monkeypatch.setattr(quant8, "CHUNK_ELEMENTS", 64 * 7)  # 7 rows per block, 50 rows
    w, b = torch.randn(50, 64), torch.randn(50)
    q, s = quantize_linear(w)
    x = torch.randn(4, 64)
    exact = x.double() @ dequantize_linear(q, s, torch.float64).t() + b.double()
    assert rel_err(int8_linear(x, q, s, b), exact) < 1e-6


def test_int8_linear_state_dict_roundtrip():
    """Buffers are weight_q, weight_scale, bias; a module built empty loads them back."""
    src = Int8Linear.from_weight(torch.randn(16, 32), torch.randn(16).to(torch.bfloat16))
    dst = Int8Linear(32, 16)
    dst.load_state_dict(src.state_dict())
    assert set(src.state_dict()) == {"weight_q", "weight_scale", "bias"}
    x = torch.randn(2, 32)
    assert torch.equal(dst(x), src(x))


@pytest.mark.parametrize("M,N,K", [(1, 40, 96), (2, 72, 160), (1, 24, 2048)])
def test_int8_gemv_kernel(interp, M, N, K):
    """The Triton GEMV (interpreted) equals x @ (q * scale)^T + bias to float32 rounding."""
    G = interp.int8_gemv
    torch.manual_seed(M + N)
    q, s = quantize_linear(torch.randn(N, K))
    b = torch.randn(N).to(torch.bfloat16)
    x = torch.randn(M, K)
    exact = x.double() @ dequantize_linear(q, s, torch.float64).t() + b.double()
    for cfg in (None, G.Int8Config(bn=16, bw=8, num_warps=2)):
        assert rel_err(G.int8_gemv(x, q, s, b, cfg), exact) < 1e-6
    assert rel_err(G.int8_gemv(x, q, s, None), exact - b.double()) < 1e-6
    y16 = G.int8_gemv(x.to(torch.bfloat16), q, s, b)
    assert y16.dtype == torch.bfloat16 and rel_err(y16, exact) < 1.5e-2


def test_int8_gemv_rejects_what_it_cannot_do(interp):
    """supported() sends many rows or K not a multiple of 16 to the torch path."""
    G = interp.int8_gemv
    q = torch.zeros(8, 48, dtype=torch.int8)
    assert G.supported(torch.zeros(1, 48), q)
    assert not G.supported(torch.zeros(G.MAX_ROWS + 1, 48), q)
    assert not G.supported(torch.zeros(1, 40), torch.zeros(8, 40, dtype=torch.int8))


def test_int8_model_logits_close_to_bf16(tiny_model_dir):
    """load_model(int8_weights=True): 8-bit attention and unembedding, fewer bytes, logits close to bf16's.

    Random models are chaotic (a router near-tie flips an expert, nearly flat logits over 201088 tokens flip
    an argmax), so the tight bounds hold with the bf16 model's routing imposed; docs/benchmarks.md has the
    numbers of a larger model."""
    from engine.runtime.loader import load_model
    from tests.engine.routing_check import ForcedRouting

    n = 96
    ids = torch.randint(0, 199998, (n,), generator=torch.Generator().manual_seed(0))
    ref_model = load_model(tiny_model_dir, "cpu", context_length=n)
    seen = [[] for _ in ref_model.blocks]
    for layer, block in enumerate(ref_model.blocks):
        real = block.mlp.router_logits
        block.mlp.router_logits = lambda x, real=real, layer=layer: (
            seen[layer].append(real(x)) or seen[layer][-1]
        )
    ref = ref_model.forward(ids, ref_model.new_cache(n)).double()
    choices = [torch.cat(s).topk(ref_model.config.experts_per_token, -1).indices for s in seen]

    model = load_model(tiny_model_dir, "cpu", context_length=n, int8_weights=True)
    assert model.weight_bytes()["dense"] < ref_model.weight_bytes()["dense"] * 0.8
    assert "8-bit" in model.describe() and model.unembedding is None and model.blocks[0].attn.q_weight is None
    with ForcedRouting(model, choices):
        forced = model.forward(ids, model.new_cache(n)).double()
    free = model.forward(ids, model.new_cache(n)).double()
    cos_forced = torch.nn.functional.cosine_similarity(forced, ref, dim=-1)
    cos_free = torch.nn.functional.cosine_similarity(free, ref, dim=-1)
    assert cos_forced.min() > 0.995 and cos_forced.mean() > 0.9995, cos_forced
    assert cos_free.mean() > 0.99, cos_free
    assert (forced.argmax(-1) == ref.argmax(-1)).double().mean() > 0.85
