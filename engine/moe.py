"""gpt-oss mixture of experts: a linear router with bias picks the top-k experts per token, their
weights are the softmax of the k selected logits, and each expert is a clamped SwiGLU MLP with biases.

``expert_mlp`` is the single place where expert weights meet activations: it takes packed MXFP4
rows (``PackedExperts``), so fused kernels (issue #8) replace it and nothing else.
"""

from __future__ import annotations

import torch
from torch import nn

from engine.config import ModelConfig
from engine.experts import DenseCache, ExpertStore, PackedExperts
from engine.mxfp4 import dequantize, linear

GATHER_MAX_ROUTES = 16  # on accelerators, up to this many (token, expert) pairs run batched, without a sync


class MoE(nn.Module):
    def __init__(
        self,
        cfg: ModelConfig,
        weights: dict[str, torch.Tensor],
        store: ExpertStore,
        dense_cache: DenseCache | None,
    ):
        super().__init__()
        self.register_buffer("gate_weight", weights["gate_weight"], persistent=False)  # [E, H]
        self.register_buffer("gate_bias", weights["gate_bias"], persistent=False)  # [E]
        self.top_k, self.limit, self.alpha = cfg.experts_per_token, cfg.swiglu_limit, cfg.swiglu_alpha
        self.store, self.dense_cache = store, dense_cache

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # x: [T, H] (normed) -> [T, H]
        expert_ids, weights = self.route(x)
        packed, rows = self.store.fetch(expert_ids)
        return expert_mlp(x, rows, weights, packed, self.limit, self.alpha, self.dense_cache)

    def router_logits(self, x: torch.Tensor) -> torch.Tensor:
        return linear(x, self.gate_weight, self.gate_bias)  # [T, E] bf16

    def route(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Expert ids [T, k] (int64) and their weights [T, k]: softmax over the k selected logits only,
        rounded to bf16 like the reference's."""
        top = torch.topk(self.router_logits(x), self.top_k, dim=-1, sorted=True)
        return top.indices, torch.softmax(top.values.float(), dim=-1).to(x.dtype)


def swiglu(h: torch.Tensor, limit: float, alpha: float) -> torch.Tensor:
    # h: [n, 2I], gate and up interleaved (gate = even columns) -> [n, I]
    gate = h[..., 0::2].clamp(max=limit)  # only from above: the gate may be very negative
    up = h[..., 1::2].clamp(min=-limit, max=limit)
    return gate * torch.sigmoid(alpha * gate) * (up + 1)  # "+ 1": the reference's extra bias on up


def expert_mlp(
    x: torch.Tensor,
    rows: torch.Tensor,
    weights: torch.Tensor,
    packed: PackedExperts,
    limit: float,
    alpha: float,
    dense_cache: DenseCache | None = None,
    strategy: str | None = None,
) -> torch.Tensor:
    """sum_j weights[t, j] * expert_{rows[t, j]}(x[t]) for every token t.

    x: [T, H] bf16; rows: [T, k] int64 rows of ``packed``; weights: [T, k]. Returns [T, H] bf16.
    strategy: "grouped" (one matmul per expert, token lists known on the host: one sync per call) or
    "gathered" (each route's expert gathered and run batched: no sync, for a few tokens on a GPU).
    """
    if strategy is None:
        strategy = default_strategy(x.device, rows.numel(), dense_cache)
    if strategy == "gathered":
        return _gathered(x, rows, weights, packed, limit, alpha)
    return _grouped(x, rows, weights, packed, limit, alpha, dense_cache)


def default_strategy(device: torch.device, routes: int, dense_cache: DenseCache | None) -> str:
    """Gathered for a few routes on an accelerator without a dense cache (decode: no sync), else grouped."""
    cached = dense_cache is not None and dense_cache.max_bytes > 0
    return "gathered" if device.type != "cpu" and routes <= GATHER_MAX_ROUTES and not cached else "grouped"


def _dense(packed: PackedExperts, row: int, which: int, cache: DenseCache | None) -> torch.Tensor:
    blocks, scales = (
        (packed.mlp1_blocks, packed.mlp1_scales) if which == 1 else (packed.mlp2_blocks, packed.mlp2_scales)
    )

    def make() -> torch.Tensor:
        return dequantize(blocks[row], scales[row])

    if cache is None or not cache.max_bytes or packed.keys is None:
        return make()
    return cache.get((packed.keys[row], which), make)


def _grouped(x, rows, weights, packed, limit, alpha, dense_cache) -> torch.Tensor:
    t, k = rows.shape
    if t == 1:  # decoding: no grouping to do, and every op saved counts at this size
        return _one_token(x, rows[0].tolist(), weights[0], packed, limit, alpha, dense_cache)
    flat = rows.reshape(-1)
    order = torch.argsort(flat, stable=True)  # routes grouped by expert, tokens in order within each
    counts = torch.bincount(flat, minlength=packed.num_rows).tolist()  # the host needs the group sizes
    token_of = order // k
    route_weight = weights.reshape(-1)[order]
    out = torch.zeros(t, x.shape[1], dtype=torch.float32, device=x.device)
    pos = 0
    for row, count in enumerate(counts):
        if not count:
            continue
        tokens = token_of[pos : pos + count]
        # biases are added after the bf16 matmul, a second rounding, as in both references
        h = linear(x.index_select(0, tokens), _dense(packed, row, 1, dense_cache)) + packed.mlp1_bias[row]
        y = linear(swiglu(h, limit, alpha), _dense(packed, row, 2, dense_cache)) + packed.mlp2_bias[row]
        # the weighted sum is accumulated in float32 and rounded once (the reference's einsum)
        out.index_add_(0, tokens, y.float() * route_weight[pos : pos + count, None].float())
        pos += count
    return out.to(x.dtype)


def _one_token(x, rows: list[int], weights, packed, limit, alpha, dense_cache) -> torch.Tensor:
    out = None
    for row, j in sorted(zip(rows, range(len(rows)))):  # by expert, the order prefill sums in
        h = linear(x, _dense(packed, row, 1, dense_cache)) + packed.mlp1_bias[row]
        y = linear(swiglu(h, limit, alpha), _dense(packed, row, 2, dense_cache)) + packed.mlp2_bias[row]
        y = y.float() * weights[j].float()
        out = y if out is None else out + y
    return out.to(x.dtype)


def _gathered(x, rows, weights, packed, limit, alpha) -> torch.Tensor:
    t, k = rows.shape
    sel = rows.reshape(-1)  # [T*k]
    xs = x.repeat_interleave(k, dim=0)[:, :, None]  # [T*k, H, 1]
    w1 = dequantize(packed.mlp1_blocks[sel], packed.mlp1_scales[sel])  # [T*k, 2I, H]
    h = torch.bmm(w1, xs).squeeze(-1) + packed.mlp1_bias[sel]  # [T*k, 2I]
    del w1
    w2 = dequantize(packed.mlp2_blocks[sel], packed.mlp2_scales[sel])  # [T*k, H, I]
    y = torch.bmm(w2, swiglu(h, limit, alpha)[:, :, None]).squeeze(-1) + packed.mlp2_bias[sel]  # [T*k, H]
    y = y.float().view(t, k, -1) * weights[:, :, None].float()
    return y.sum(dim=1).to(x.dtype)
