"""The torch attention path: query pieces scored only against the keys they can see (causal band, window)
give the one-piece result, so a long prompt never holds [heads, T, T] scores and loses nothing."""

from __future__ import annotations

import pytest
import torch

from engine.layers import attention


@pytest.mark.parametrize("window,q_start,key_start", [(0, 0, 0), (0, 30, 0), (16, 0, 0), (16, 50, 35)])
def test_pieces_against_their_band_match_one_piece(monkeypatch, window, q_start, key_start):
    """With a score budget of a few queries per piece (each against its band of keys), attend_torch equals
    the same call with one piece over every key, to the bit on the CPU's float32 matmuls or to bf16 rounding."""
    g = torch.Generator().manual_seed(0)
    t, heads, kv, d = 70, 4, 2, 16
    s = q_start + t - key_start
    q = torch.randn(t, heads, d, generator=g).to(torch.bfloat16)
    keys = torch.randn(kv, s, d, generator=g).to(torch.bfloat16).float()
    values = torch.randn(kv, s, d, generator=g).to(torch.bfloat16).float()
    sinks = torch.randn(kv, heads // kv, 1, 1, generator=g)
    args = (q, keys, values, sinks, d**-0.5, q_start, key_start, window)
    whole = attention.attend_torch(*args)
    monkeypatch.setattr(attention, "SCORE_BUDGET_BYTES", 4 * heads * s * 7)  # 7 queries a piece
    pieces = attention.attend_torch(*args)
    assert (pieces.float() - whole.float()).abs().max() <= 2 ** -7 * whole.float().abs().max()
    assert torch.equal(attention.attend(*args), pieces)  # the CPU takes the torch path
