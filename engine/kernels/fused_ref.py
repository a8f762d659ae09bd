"""Torch references of the fused decode kernels (engine/kernels/layer_triton.py, attention_triton.py): the
same arguments and results, computed the way the model's torch path computes them (RMSNorm and the router
as engine/model.py and engine/layers/moe.py do, the rotation as engine/layers/rotary.py, attention as engine/layers/attention.py).

They are what a kernel falls back to when Triton fails, and what the interpreter tests compare with. Like the
kernels, none of them reads a value on the host: the position is a device tensor, and decode attention
masks the cache's slots by the positions they hold instead of slicing the live ones.
"""

from __future__ import annotations

import torch

from engine.quant.mxfp4 import linear


def rms_norm(x: torch.Tensor, scale: torch.Tensor, eps: float) -> torch.Tensor:
    # x: [T, H] bf16, scale: [H] float32 -> [T, H] bf16, computed in float32 like both references
    t = x.float()
    t = t * torch.rsqrt(t.pow(2).mean(dim=-1, keepdim=True) + eps)
    return (t * scale).to(x.dtype)


def add_rms_norm(
    x: torch.Tensor,
    delta: torch.Tensor | None,
    scale: torch.Tensor,
    eps: float,
    delta_bias: torch.Tensor | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """The residual stream x [T, H] plus delta (None: nothing to add) and its RMSNorm: (x + delta, normed).
    delta_bias [H]: the bias of the projection that made delta, added to it first."""
    if delta is not None:
        x = x + (delta if delta_bias is None else delta + delta_bias)
    return x, rms_norm(x, scale, eps)


def rotate(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    # x: [T, heads, head_dim]; the two halves rotate as (x1, x2) -> (x1 cos - x2 sin, x2 cos + x1 sin)
    x1, x2 = x.chunk(2, dim=-1)
    return torch.cat((x1 * cos - x2 * sin, x2 * cos + x1 * sin), dim=-1)


def rope_kv_write(
    qkv: torch.Tensor,
    cos: torch.Tensor,
    sin: torch.Tensor,
    position: torch.Tensor,
    k_cache: torch.Tensor,
    v_cache: torch.Tensor,
    ring: int,
    num_heads: int,
    num_kv_heads: int,
    bias: torch.Tensor | None = None,
) -> torch.Tensor:
    """One token's projections qkv [1, (heads + 2 kv_heads) * d] (plus their bias, when the projection left it
    out) -> rotated queries [heads, d]; the rotated key and the value go into the caches [kv_heads, slots, d] at
    slot position % ring (position: [1] int64)."""
    if bias is not None:
        qkv = qkv + bias
    d = k_cache.shape[-1]
    half = d // 2
    cos, sin = cos.reshape(1, 1, half), sin.reshape(1, 1, half)
    q = rotate(qkv[:, : num_heads * d].view(1, num_heads, d), cos, sin)
    k = rotate(qkv[:, num_heads * d : (num_heads + num_kv_heads) * d].view(1, num_kv_heads, d), cos, sin)
    v = qkv[:, (num_heads + num_kv_heads) * d :].view(1, num_kv_heads, d)
    slot = position % ring
    k_cache.index_copy_(1, slot, k.transpose(0, 1).to(k_cache.dtype))
    v_cache.index_copy_(1, slot, v.transpose(0, 1).to(v_cache.dtype))
    return q[0]


def decode_attention(
    q: torch.Tensor,
    k_cache: torch.Tensor,
    v_cache: torch.Tensor,
    position: torch.Tensor,
    ring: int,
    window: int,
    sinks: torch.Tensor,
    scale: float,
) -> torch.Tensor:
    """One query token q [heads, d] at ``position`` ([1] int64 on the device) over the caches [kv_heads, slots,
    d]; slot s holds the latest position p <= position with p % ring == s; keys before 0, and with window > 0
    those at or before position - window, are hidden. sinks: [heads] float32. -> [1, heads * d] in q's dtype."""
    heads, d = q.shape
    num_kv, slots, _ = k_cache.shape
    group = heads // num_kv
    act = q.dtype
    mm = torch.float32 if q.device.type == "cpu" else act
    key_pos = position - (position - torch.arange(slots, device=q.device)) % ring  # [slots]
    hidden = key_pos < 0
    if window:
        hidden |= key_pos <= position - window
    qh = q.view(num_kv, group, d).to(mm)
    scores = (torch.bmm(qh, k_cache.to(mm).transpose(1, 2)).to(act) * scale).float()  # [kv, group, slots]
    scores.masked_fill_(hidden, float("-inf"))
    sinks = sinks.float().view(num_kv, group, 1)
    top = torch.maximum(scores.amax(dim=-1, keepdim=True), sinks)
    probs = (scores - top).exp_()
    probs /= probs.sum(dim=-1, keepdim=True) + (sinks - top).exp()
    out = torch.bmm(probs.to(act).to(mm), v_cache.to(mm))  # [kv, group, d]
    return out.reshape(1, heads * d).to(act)


def route(
    x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor, k: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """x [T, H] -> expert ids [T, k] int64 in increasing id and their weights [T, k] in x's dtype: the softmax
    of the k largest router logits (engine.layers.moe.MoE.route, then engine.layers.moe.by_expert)."""
    top = torch.topk(linear(x, weight, bias), k, dim=-1, sorted=True)
    weights = torch.softmax(top.values.float(), dim=-1).to(x.dtype)
    ids, order = top.indices.sort(dim=-1)
    return ids, weights.gather(-1, order)
