"""The fused decode and prefill kernels (engine/kernels/fused.py), run by Triton's interpreter on the CPU,
against their torch references and the model's own torch path (engine/layers/attention.py attend).

The interpreter converts float32 to bf16 by truncation where a GPU rounds to nearest, so bf16 results may
differ by an ulp or two of bf16 (1/128 relative): the bounds below allow that and nothing more.
"""

from __future__ import annotations

import pytest
import torch

from engine import kernels
from engine.kernels import fused_ref
from engine.layers.attention import attend_torch as attend

from .synth import rel_err

BF16_TOL = 2e-2  # a couple of bf16 ulps, relative to the largest value
G = torch.Generator


@pytest.fixture(autouse=True)
def triton_on(monkeypatch):
    """The fused launchers take the Triton path on CPU tensors (interpreted), and raise instead of falling
    back to torch."""
    monkeypatch.setenv(kernels.ENV, "triton")
    monkeypatch.setattr(kernels, "use_fused", lambda device: True)


def _bf16(*shape: int, seed: int, scale: float = 1.0) -> torch.Tensor:
    return (torch.randn(*shape, generator=G().manual_seed(seed)) * scale).to(torch.bfloat16)


def _max_err(a: torch.Tensor, b: torch.Tensor) -> float:
    return float((a.float() - b.float()).abs().max() / b.float().abs().max().clamp(min=1e-6))


@pytest.mark.parametrize(
    "t,h,delta,bias", [(1, 96, True, False), (3, 96, False, False), (1, 2880, True, True)]
)
def test_add_rms_norm(interp, t, h, delta, bias):
    """Residual add (with the bias of the projection that made the delta, left to this kernel) + RMSNorm:
    the new residual and the normed rows match torch's (model.rms_norm)."""
    x, d = _bf16(t, h, seed=1, scale=3), _bf16(t, h, seed=2) if delta else None
    b = _bf16(h, seed=4) if bias else None
    scale = torch.rand(h, generator=G().manual_seed(3)) + 0.5
    res, normed = interp.fused.add_rms_norm(x, d, scale, 1e-5, b)
    want_res, want = fused_ref.add_rms_norm(x, d, scale, 1e-5, b)
    assert res.dtype == normed.dtype == torch.bfloat16
    assert _max_err(res, want_res) < BF16_TOL and _max_err(normed, want) < BF16_TOL
    if not delta:
        assert res is x  # nothing added: the residual is the input itself, no copy


@pytest.mark.parametrize("t,e,k,h", [(1, 32, 4, 2880), (3, 10, 4, 96), (2, 4, 2, 64)])
def test_router_top_k_softmax(interp, t, e, k, h):
    """Router logits, top-k, softmax over the k, ids in increasing expert id: as MoE.route + by_expert."""
    x = _bf16(t, h, seed=4)
    weight, bias = _bf16(e, h, seed=5, scale=h**-0.5), _bf16(e, seed=6)
    ids, weights = interp.fused.route(x, weight, bias, k)
    want_ids, want = fused_ref.route(x, weight, bias, k)
    assert ids.dtype == torch.long and torch.equal(ids, want_ids)
    assert bool((ids[:, 1:] > ids[:, :-1]).all())
    assert weights.dtype == torch.bfloat16 and _max_err(weights, want) < BF16_TOL


def _caches(kv: int, slots: int, d: int, seed: int, dtype=torch.bfloat16):
    k = _bf16(kv, slots, d, seed=seed).to(dtype)
    return k, _bf16(kv, slots, d, seed=seed + 1).to(dtype)


ROPE_CASES = [(4, 2, 16, 10, 13, False), (64, 8, 64, 131, 300, True), (64, 8, 64, 4096, 1000, False)]


@pytest.mark.parametrize("heads,kv,d,ring,position,bias", ROPE_CASES)
def test_rope_fused_with_the_cache_write(interp, heads, kv, d, ring, position, bias):
    """RoPE of q and k (after the projection's bias, when it was left out) and the cache write at slot
    position % ring, against apply_rotary + index_copy_."""
    qkv = _bf16(1, (heads + 2 * kv) * d, seed=7)
    b = _bf16((heads + 2 * kv) * d, seed=23) if bias else None
    cos, sin = _bf16(d // 2, seed=8), _bf16(d // 2, seed=9)
    pos = torch.tensor([position])
    k1, v1 = _caches(kv, ring, d, seed=10, dtype=torch.float32)
    k2, v2 = k1.clone(), v1.clone()
    q = interp.fused.rope_kv_write(qkv, cos, sin, pos, k1, v1, ring, heads, kv, bias=b)
    want = fused_ref.rope_kv_write(qkv, cos, sin, pos, k2, v2, ring, heads, kv, bias=b)
    assert q.shape == (heads, d) and _max_err(q, want) < BF16_TOL
    assert _max_err(k1, k2) < BF16_TOL and _max_err(v1, v2) < BF16_TOL


def _model_path(q, k_cache, v_cache, position, ring, window, sinks, scale):
    """The model's torch decode: the live keys in position order, attend() over them."""
    lo = max(0, position - window + 1) if window else 0
    slots = torch.arange(lo, position + 1) % ring
    heads, d = q.shape
    kv = k_cache.shape[0]
    return attend(
        q.view(1, heads, d),
        k_cache[:, slots],
        v_cache[:, slots],
        sinks.view(kv, heads // kv, 1, 1),
        scale,
        position,
        lo,
        window,
    )


DECODE_CASES = [  # heads, kv, d, slots (ring or cache length), window, position, splits
    (4, 2, 16, 40, 0, 3, 1),
    (4, 2, 16, 40, 0, 39, 3),
    (8, 2, 32, 12, 8, 30, 1),
    # gpt-oss geometry: 64 query / 8 KV heads, head_dim 64, window 128 with sinks, positions past the window
    (64, 8, 64, 131, 128, 129, 1),
    (64, 8, 64, 131, 128, 700, 1),
    (64, 8, 64, 1200, 0, 1000, 5),
]


@pytest.mark.parametrize("heads,kv,d,slots,window,position,splits", DECODE_CASES)
def test_flash_decode_attention(interp, heads, kv, d, slots, window, position, splits):
    """Flash-decode (pieces along the sequence, merged with the sinks) reads only the live keys and agrees
    with the masked torch reference and with the model's attend() over the same keys."""
    q = _bf16(heads, d, seed=11)
    k_cache, v_cache = _caches(kv, slots, d, seed=12)
    sinks = torch.randn(heads, generator=G().manual_seed(13))
    ring, scale, pos = slots, d**-0.5, torch.tensor([position])
    out = interp.fused.decode_attention(q, k_cache, v_cache, pos, ring, window, sinks, scale, splits)
    want = fused_ref.decode_attention(q, k_cache, v_cache, pos, ring, window, sinks, scale)
    model = _model_path(q, k_cache, v_cache, position, ring, window, sinks, scale)
    assert out.shape == (1, heads * d) and out.dtype == torch.bfloat16
    assert rel_err(out, want) < BF16_TOL and rel_err(out, model) < BF16_TOL


def test_flash_decode_ignores_stale_and_unwritten_slots(interp):
    """Slots past the position (NaN: never written) and ring slots of positions before the window are never
    read: poisoning them changes nothing."""
    heads, kv, d, ring, window, position = 8, 2, 16, 20, 8, 45
    q = _bf16(heads, d, seed=14)
    k_cache, v_cache = _caches(kv, ring, d, seed=15)
    sinks = torch.randn(heads, generator=G().manual_seed(16))
    live = torch.arange(position - window + 1, position + 1) % ring
    stale = torch.ones(ring, dtype=torch.bool)
    stale[live] = False
    clean = interp.fused.decode_attention(
        q, k_cache, v_cache, torch.tensor([position]), ring, window, sinks, d**-0.5, 2
    )
    k_cache[:, stale], v_cache[:, stale] = float("nan"), float("nan")
    poisoned = interp.fused.decode_attention(
        q, k_cache, v_cache, torch.tensor([position]), ring, window, sinks, d**-0.5, 2
    )
    assert torch.equal(clean, poisoned)


PREFILL_CASES = [  # T, heads, kv, d, S, q_start, key_start, window
    (70, 4, 2, 16, 70, 0, 0, 0),  # T not a multiple of the 64-query block
    (37, 4, 2, 16, 50, 13, 0, 0),  # a chunk after 13 cached positions
    (70, 4, 2, 16, 90, 40, 20, 24),  # sliding: keys from key_start, window 24
    # gpt-oss geometry, window 128 with sinks: a first chunk past the window, and a later chunk
    (130, 8, 1, 64, 130, 0, 0, 128),  # (8 query heads per KV head and head_dim 64, fewer heads: seconds)
    (66, 64, 8, 64, 193, 200, 73, 128),
]


@pytest.mark.parametrize("t,heads,kv,d,s,q_start,key_start,window", PREFILL_CASES)
def test_flash_prefill_attention(interp, t, heads, kv, d, s, q_start, key_start, window):
    """Prefill flash attention (causal, window, sinks; no [T, T] scores) against the model's attend()."""
    q = _bf16(t, heads, d, seed=17)
    keys, values = _caches(kv, s, d, seed=18, dtype=torch.float32)
    sinks = torch.randn(heads, generator=G().manual_seed(19))
    out = interp.fused.prefill_attention(q, keys, values, sinks, d**-0.5, q_start, key_start, window)
    want = attend(q, keys, values, sinks.view(kv, heads // kv, 1, 1), d**-0.5, q_start, key_start, window)
    assert out.shape == (t, heads * d) and rel_err(out, want) < BF16_TOL


def test_prefill_reads_strided_cache_views(interp):
    """Keys as the full-layer cache returns them (a slice of a longer buffer: strided heads) work as is."""
    t, heads, kv, d = 20, 4, 2, 16
    q = _bf16(t, heads, d, seed=20)
    k_buf, v_buf = _caches(kv, 64, d, seed=21, dtype=torch.float32)
    keys, values = k_buf[:, :t], v_buf[:, :t]
    sinks = torch.randn(heads, generator=G().manual_seed(22))
    out = interp.fused.prefill_attention(q, keys, values, sinks, d**-0.5, 0, 0, 0)
    want = attend(q, keys.contiguous(), values.contiguous(), sinks.view(kv, 2, 1, 1), d**-0.5, 0, 0, 0)
    assert rel_err(out, want) < BF16_TOL
