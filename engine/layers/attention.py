"""gpt-oss attention: grouped-query attention with biases, YaRN rotary embeddings, a learned "sink"
logit per head, and a sliding window on some layers.

The sink joins each row's softmax denominator and is dropped from the output, so a head can attend to
"nothing" (gpt-oss reference ``sdpa``). Values are rounded to bf16 where the reference rounds them
(scores, probabilities, outputs), so the two agree to the bit in most places; the softmax itself runs
in float32, as torch's bf16 softmax does internally. Queries are processed in pieces so the score matrix stays under ``SCORE_BUDGET_BYTES``
however long the context.
"""

from __future__ import annotations

import torch
from torch import nn

from engine.config import ModelConfig
from engine.layers.kv_cache import FullLayerCache, SlidingLayerCache
from engine.layers.rotary import apply_rotary
from engine.quant.mxfp4 import linear

SCORE_BUDGET_BYTES = 256 * 1024 * 1024


class Attention(nn.Module):
    def __init__(self, cfg: ModelConfig, layer: int, weights: dict[str, torch.Tensor]):
        super().__init__()
        self.num_heads, self.num_kv_heads, self.head_dim = (
            cfg.num_attention_heads,
            cfg.num_key_value_heads,
            cfg.head_dim,
        )
        self.window = cfg.sliding_window if cfg.is_sliding(layer) else 0
        self.scale = cfg.head_dim**-0.5
        for name in (
            "q_weight",
            "q_bias",
            "k_weight",
            "k_bias",
            "v_weight",
            "v_bias",
            "out_weight",
            "out_bias",
        ):
            self.register_buffer(name, weights[name], persistent=False)
        # sinks: [heads] -> [kv_heads, group, 1, 1], float32 for the softmax
        sinks = weights["sinks"].float().view(self.num_kv_heads, cfg.num_query_groups, 1, 1)
        self.register_buffer("sinks", sinks, persistent=False)
        self.int8: nn.ModuleDict | None = None  # engine.layers.int8_linear.quantize_model: q, k, v, out as Int8Linear

    def project(self, name: str, x: torch.Tensor) -> torch.Tensor:
        """x [T, in] through the projection ``name`` (q, k, v or out): bf16 weights, or 8-bit ones."""
        if self.int8 is not None:
            return self.int8[name](x)
        return linear(x, getattr(self, f"{name}_weight"), getattr(self, f"{name}_bias"))

    def forward(
        self,
        x: torch.Tensor,
        cos: torch.Tensor,
        sin: torch.Tensor,
        cache: FullLayerCache | SlidingLayerCache,
        start: int,
    ) -> torch.Tensor:
        # x: [T, hidden] (normed) -> [T, hidden]
        t = x.shape[0]
        q = self.project("q", x).view(t, self.num_heads, self.head_dim)
        k = self.project("k", x).view(t, self.num_kv_heads, self.head_dim)
        v = self.project("v", x).view(t, self.num_kv_heads, self.head_dim)
        q, k = apply_rotary(q, cos, sin), apply_rotary(k, cos, sin)
        keys, values, key_start = cache.update(k, v, start)
        out = attend(q, keys, values, self.sinks, self.scale, start, key_start, self.window)
        return self.project("out", out)

    def forward_at(
        self,
        x: torch.Tensor,
        cos: torch.Tensor,
        sin: torch.Tensor,
        cache: FullLayerCache | SlidingLayerCache,
        position: torch.Tensor,
        span: int,
    ) -> torch.Tensor:
        """``forward`` for one token whose position is a device tensor [1], with shapes fixed by ``span``
        (see engine/runtime/decode_graph.py): keys past the position, or before 0, are masked instead of sliced off."""
        q = self.project("q", x).view(1, self.num_heads, self.head_dim)
        k = self.project("k", x).view(1, self.num_kv_heads, self.head_dim)
        v = self.project("v", x).view(1, self.num_kv_heads, self.head_dim)
        q, k = apply_rotary(q, cos, sin), apply_rotary(k, cos, sin)
        keys, values, key_pos = cache.update_at(k, v, position, span)
        masked = (key_pos > position) | (key_pos < 0)  # [S]: not written yet, or before the first token
        out = attend(q, keys, values, self.sinks, self.scale, 0, 0, 0, masked=masked)
        return self.project("out", out)


def matmul_dtype(device: torch.device, dtype: torch.dtype) -> torch.dtype:
    """float32 on CPU (bf16 matmuls are slow there; same products, float32 sums either way), else bf16."""
    return torch.float32 if device.type == "cpu" else dtype


def attend(
    q: torch.Tensor,
    keys: torch.Tensor,
    values: torch.Tensor,
    sinks: torch.Tensor,
    scale: float,
    q_start: int,
    key_start: int,
    window: int,
    masked: torch.Tensor | None = None,
) -> torch.Tensor:
    """Causal (and, with window > 0, sliding-window) attention with sinks.

    q: [T, heads, d] at positions q_start..; keys, values: [kv_heads, S, d] at positions key_start..;
    sinks: [kv_heads, group, 1, 1] float32. Returns [T, heads*d] in q's dtype. masked: [S] bool, keys no
    query sees (one token with a fixed number of keys: decode_graph), besides the causal mask.
    """
    t, num_heads, d = q.shape
    num_kv, s, _ = keys.shape
    group = num_heads // num_kv
    act_dtype = q.dtype
    mm_dtype = matmul_dtype(q.device, act_dtype)
    keys_t = keys.to(mm_dtype).transpose(1, 2)  # [kv, d, S]
    values = values.to(mm_dtype)
    q = q.view(t, num_kv, group, d).permute(1, 2, 0, 3).to(mm_dtype)  # [kv, group, T, d]
    out = torch.empty(t, num_heads * d, dtype=act_dtype, device=q.device)
    piece = max(1, SCORE_BUDGET_BYTES // (4 * num_heads * s))
    key_pos = torch.arange(key_start, key_start + s, device=q.device) if t > 1 else None
    for t0 in range(0, t, piece):
        tq = min(piece, t - t0)
        qp = q[:, :, t0 : t0 + tq].reshape(num_kv, group * tq, d)
        # scores are rounded to bf16 and scaled there, as the reference computes them
        scores = (torch.bmm(qp, keys_t).to(act_dtype) * scale).float().view(num_kv, group, tq, s)
        if key_pos is not None:  # one new position sees every key the cache returned: no mask needed
            q_pos = torch.arange(q_start + t0, q_start + t0 + tq, device=q.device)[:, None]
            hidden = key_pos[None, :] > q_pos
            if window:
                hidden |= key_pos[None, :] <= q_pos - window
            scores.masked_fill_(hidden, float("-inf"))
        if masked is not None:
            scores.masked_fill_(masked, float("-inf"))
        top = torch.maximum(scores.amax(dim=-1, keepdim=True), sinks)
        probs = (scores - top).exp_()
        probs /= probs.sum(dim=-1, keepdim=True) + (sinks - top).exp()
        probs = probs.to(act_dtype).to(mm_dtype)  # bf16 probabilities, as the reference's bf16 softmax gives
        o = torch.bmm(probs.view(num_kv, group * tq, s), values)  # [kv, group*tq, d]
        out[t0 : t0 + tq] = o.view(num_kv, group, tq, d).permute(2, 0, 1, 3).reshape(tq, num_heads * d)
    return out
