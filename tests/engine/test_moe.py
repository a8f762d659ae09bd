"""The mixture of experts: routing, the clamped SwiGLU, both compute strategies, the dequantized cache."""

from __future__ import annotations

import pytest
import torch

from engine.layers.experts import DenseCache, ExpertStore, PackedExperts
from engine.layers.moe import by_expert, expert_mlp, expert_terms, swiglu, weighted_sum
from engine.quant.mxfp4 import dequantize

H, I, E = 64, 96, 5


def packed_layer(seed: int = 0) -> PackedExperts:
    g = torch.Generator().manual_seed(seed)
    return PackedExperts(
        mlp1_blocks=torch.randint(0, 256, (E, 2 * I, H // 32, 16), generator=g, dtype=torch.uint8),
        mlp1_scales=torch.randint(121, 124, (E, 2 * I, H // 32), generator=g, dtype=torch.uint8),
        mlp1_bias=(torch.randn(E, 2 * I, generator=g) * 0.5).bfloat16(),
        mlp2_blocks=torch.randint(0, 256, (E, H, I // 32, 16), generator=g, dtype=torch.uint8),
        mlp2_scales=torch.randint(121, 124, (E, H, I // 32), generator=g, dtype=torch.uint8),
        mlp2_bias=(torch.randn(E, H, generator=g) * 0.5).bfloat16(),
    )


def routes(t: int, k: int, seed: int = 1) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(t, H, generator=g).bfloat16()
    ids = torch.stack([torch.randperm(E, generator=g)[:k] for _ in range(t)])
    weights = torch.softmax(torch.randn(t, k, generator=g), -1).bfloat16()
    return x, ids, weights


def naive(x, ids, weights, packed, limit=7.0, alpha=1.702) -> torch.Tensor:
    """Token by token, expert by expert, in float64 from the dequantized weights."""
    out = torch.zeros(x.shape[0], H, dtype=torch.float64)
    for t in range(x.shape[0]):
        for j in range(ids.shape[1]):
            e = int(ids[t, j])
            w1 = dequantize(packed.mlp1_blocks[e], packed.mlp1_scales[e]).double()
            w2 = dequantize(packed.mlp2_blocks[e], packed.mlp2_scales[e]).double()
            h = w1 @ x[t].double() + packed.mlp1_bias[e].double()
            gate, up = h[0::2].clamp(max=limit), h[1::2].clamp(-limit, limit)
            y = w2 @ (gate * torch.sigmoid(alpha * gate) * (up + 1)) + packed.mlp2_bias[e].double()
            out[t] += float(weights[t, j]) * y
    return out


def test_swiglu_clamps_and_interleaves():
    h = torch.tensor([[10.0, 10.0, -20.0, -20.0, 1.0, -1.0]])
    out = swiglu(h, limit=7.0, alpha=1.702)
    gate = torch.tensor([7.0, -20.0, 1.0])
    up = torch.tensor([7.0, -7.0, -1.0])
    assert torch.allclose(out[0], gate * torch.sigmoid(1.702 * gate) * (up + 1))


def test_swiglu_matches_reference():
    reference = pytest.importorskip("gpt_oss.torch.model", reason="the gpt-oss reference is not installed")
    h = (torch.randn(8, 64) * 6).bfloat16()
    assert torch.equal(swiglu(h, 7.0, 1.702), reference.swiglu(h, limit=7.0))


@pytest.mark.parametrize("t, k", [(1, 2), (3, 4), (17, 3), (6, 1)])
def test_strategies_match_naive(t, k):
    """Grouped (per expert) and gathered (per route) computation both give the naive result."""
    packed = packed_layer()
    x, ids, weights = routes(t, k)
    expected = naive(x, ids, weights, packed)
    for strategy in ("grouped", "gathered"):
        got = expert_mlp(x, ids, weights, packed, 7.0, 1.702, strategy=strategy)
        assert got.dtype == torch.bfloat16 and got.shape == (t, H)
        cos = torch.nn.functional.cosine_similarity(got.double(), expected, dim=-1)
        assert cos.min() > 0.9995, (strategy, cos.min())


def test_dense_cache_is_bounded_and_reused():
    """The torch path's cache of dequantized experts stays in its bytes and is reused (the CPU's numba
    kernels need none: they read the packed bytes)."""
    packed = packed_layer()
    store = ExpertStore(3, packed)
    one_expert = 2 * I * H * 2 + H * I * 2  # bf16 bytes of mlp1 + mlp2
    cache = DenseCache(max_bytes=2 * one_expert)
    x, ids, weights = routes(4, 2)
    fetched, rows = store.fetch(ids)
    assert fetched is packed and rows is ids and packed.keys[0] == (3, 0)
    first = expert_mlp(x, rows, weights, fetched, 7.0, 1.702, dense_cache=cache, strategy="grouped")
    assert cache.nbytes <= cache.max_bytes and cache.misses > 0
    big = DenseCache(max_bytes=E * one_expert)
    assert torch.equal(expert_mlp(x, rows, weights, fetched, 7.0, 1.702, dense_cache=big, strategy="grouped"), first)
    again = expert_mlp(x[:1], rows[:1], weights[:1], fetched, 7.0, 1.702, dense_cache=big, strategy="grouped")
    assert torch.equal(again, first[:1]) and big.hits == 4 and big.nbytes <= big.max_bytes
    cache.clear()
    assert cache.nbytes == 0
    off = DenseCache(0)
    assert torch.equal(expert_mlp(x, rows, weights, fetched, 7.0, 1.702, dense_cache=off, strategy="grouped"), first)
    assert off.nbytes == 0


def test_router_softmax_over_selected_only(tiny_model):
    """Routing weights are the softmax of the k selected logits (they sum to 1), experts by rank."""
    moe = tiny_model.blocks[0].mlp
    x = torch.randn(5, tiny_model.config.hidden_size).bfloat16()
    ids, weights = moe.route(x)
    logits = moe.router_logits(x).float()
    assert ids.shape == weights.shape == (5, tiny_model.config.experts_per_token)
    assert torch.equal(ids, logits.topk(ids.shape[1], -1).indices)
    assert torch.allclose(weights.float().sum(-1), torch.ones(5), atol=1e-2)
    assert torch.allclose(weights.float(), torch.softmax(logits.gather(1, ids), -1), atol=4e-3)


def permuted(packed: PackedExperts, order: torch.Tensor) -> PackedExperts:
    """The same experts in other rows (as cache slots hold them): row r holds expert order[r]."""
    fields = ("mlp1_blocks", "mlp1_scales", "mlp1_bias", "mlp2_blocks", "mlp2_scales", "mlp2_bias")
    return PackedExperts(**{f: getattr(packed, f)[order].clone() for f in fields})


@pytest.mark.parametrize("t, k", [(1, 4), (6, 3), (9, 4)])
@pytest.mark.parametrize("strategy", ["grouped", "gathered"])
def test_sum_is_in_expert_order_whatever_rows_hold_them(t, k, strategy):
    """Routes sorted by expert (by_expert) give the same bits from experts in any rows: the float32 sum
    runs in expert order, not row order, so offloaded experts in cache slots change nothing."""
    packed = packed_layer(seed=3)
    x, ids, weights = routes(t, k, seed=t + k)
    ids, weights = by_expert(ids, weights)
    assert (ids.diff(dim=-1) > 0).all()
    order = torch.tensor([3, 0, 4, 2, 1])  # row r holds expert order[r]
    row_of = torch.argsort(order)
    want = expert_mlp(x, ids, weights, packed, 7.0, 1.702, strategy=strategy)
    got = expert_mlp(x, row_of[ids], weights, permuted(packed, order), 7.0, 1.702, strategy=strategy)
    assert torch.equal(got, want)


@pytest.mark.parametrize("fused, strategy", [(None, None), (False, "grouped")])
def test_terms_streamed_in_groups_equal_one_call(fused, strategy):
    """expert_terms over masked groups of routes fills the same rows as one call; the weighted sum of
    the streamed terms equals expert_mlp's result bit for bit (what OffloadMoE does in prefill): by default
    both through the numba kernels on the CPU (where numba runs), with fused=False both through torch's."""
    packed = packed_layer(seed=4)
    x, ids, weights = routes(7, 3, seed=9)
    ids, weights = by_expert(ids, weights)
    want = expert_mlp(x, ids, weights, packed, 7.0, 1.702, strategy=strategy)
    terms = torch.full((7 * 3, H), float("nan"), dtype=torch.bfloat16)
    for group in ([0, 4], [1], [2, 3]):
        mask = torch.isin(ids, torch.tensor(group))
        expert_terms(terms, x, ids, packed, 7.0, 1.702, None, mask=mask, fused=fused)
    assert not terms.isnan().any()
    assert torch.equal(weighted_sum(terms.view(7, 3, H), weights), want)
