"""The MoE layer over offloaded experts: stream a prefill chunk's experts in groups, prefetch the next
layer's experts from a prediction of its routing.

``OffloadMoE`` wraps an ``engine.moe.MoE`` (same router, same ``expert_mlp``) and is what
``engine.offload_build.attach`` puts in a block's place. Its forward is what ``MoE.forward`` becomes once
the wiring lands (see docs in the issue #4 report):
- every routed expert fits in the pool at once (decode, short prompts): one ``fetch``, then
  ``expert_mlp`` exactly as for resident experts;
- more distinct experts than free slots (a long prefill chunk): the pool yields groups; each group's
  routes are computed and summed in float32, rounded once at the end, like ``expert_mlp`` does;
- for a step of at most PREDICT_MAX_TOKENS tokens, the next layer's router applied to this layer's
  input predicts the next layer's experts (the residual stream changes little from one layer to the
  next; the MoE input x = rms_norm(h) * s_n is rescaled to rms_norm(h) * s_{n+1}). The prediction goes
  to the host with this layer's own routing (one synchronization), and its copies start right after
  this layer's, overlapping this layer's expert compute and the next layer's attention.
"""

from __future__ import annotations

import torch
from torch import nn

from engine.experts import DenseCache, ExpertStore, PackedExperts
from engine.moe import MoE, expert_mlp, swiglu
from engine.mxfp4 import dequantize, linear
from engine.offload import ExpertPool, OffloadedExperts

# predict and prefetch for decode-sized steps; a prefill chunk needs every expert anyway
PREDICT_MAX_TOKENS = 4


class NextRouter(nn.Module):
    """The following layer's router, to predict its experts from this layer's MoE input."""

    def __init__(
        self,
        layer: int,
        gate_weight: torch.Tensor,
        gate_bias: torch.Tensor,
        this_norm: torch.Tensor,
        next_norm: torch.Tensor,
        top_k: int,
    ):
        super().__init__()
        self.layer, self.top_k = layer, top_k
        self.register_buffer("gate_weight", gate_weight, persistent=False)
        self.register_buffer("gate_bias", gate_bias, persistent=False)
        this = this_norm.float()
        ratio = torch.where(this.abs() > 1e-6, next_norm.float() / this, torch.zeros_like(this))
        self.register_buffer("ratio", ratio, persistent=False)  # [H] float32

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # x: [T, H] this layer's normed MoE input -> [T, k] predicted experts of the next layer
        guess = (x.float() * self.ratio).to(x.dtype)
        return torch.topk(linear(guess, self.gate_weight, self.gate_bias), self.top_k, dim=-1).indices


class OffloadMoE(nn.Module):
    def __init__(
        self,
        moe: MoE,
        store: ExpertStore | OffloadedExperts,
        pool: ExpertPool | None,
        next_router: NextRouter | None = None,
    ):
        super().__init__()
        self.base = moe  # kept for its router weights and settings, and to undo the wrapping
        self.store, self.pool, self.next_router = store, pool, next_router
        moe.store = store

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # x: [T, H] (normed) -> [T, H]; the router exactly as engine.moe.MoE.forward
        base = self.base
        logits = linear(x, base.gate_weight, base.gate_bias)  # [T, E]
        top = torch.topk(logits, base.top_k, dim=-1, sorted=True)
        weights = torch.softmax(top.values.float(), dim=-1).to(x.dtype)
        hint = None
        if self.next_router is not None and self.pool is not None and x.shape[0] <= PREDICT_MAX_TOKENS:
            hint = (self.next_router.layer, self.next_router(x))
        if not isinstance(self.store, OffloadedExperts):  # resident layer; maybe prefetch for the next one
            staged = self.pool.stage(*hint) if hint is not None else None
            packed, rows = self.store.fetch(top.indices)
            out = expert_mlp(x, rows, weights, packed, base.limit, base.alpha, base.dense_cache)
            if staged is not None:
                self.pool.prefetch_staged(staged)  # after this layer's compute was enqueued
            return out
        groups = self.store.fetch_groups(top.indices, prefetch=hint)
        packed, rows, mask = next(groups)
        if mask is None:  # every routed expert is on the device at once
            groups.close()
            return expert_mlp(x, rows, weights, packed, base.limit, base.alpha, base.dense_cache)
        out = torch.zeros(x.shape, dtype=torch.float32, device=x.device)
        while True:
            accumulate_routes(out, x, rows, weights, mask, packed, base.limit, base.alpha, base.dense_cache)
            try:
                packed, rows, mask = next(groups)
            except StopIteration:
                break
        return out.to(x.dtype)


def accumulate_routes(
    out: torch.Tensor,
    x: torch.Tensor,
    rows: torch.Tensor,
    weights: torch.Tensor,
    mask: torch.Tensor,
    packed: PackedExperts,
    limit: float,
    alpha: float,
    dense_cache: DenseCache | None,
) -> None:
    """out [T, H] float32 += sum over routes (t, j) with mask[t, j] of weights[t, j] * expert_{rows[t, j]}(x[t]).

    The computation of engine.moe's grouped path (bf16 matmuls, biases after, float32 weighted sum) over a
    subset of the routes, so a chunk streamed in groups gives the numbers one call would.
    """
    k = rows.shape[1]
    routes = mask.reshape(-1).nonzero().squeeze(1)  # flat route ids p = t * k + j
    flat = rows.reshape(-1)[routes]
    order = torch.argsort(flat, stable=True)
    routes, flat = routes[order], flat[order]
    counts = torch.bincount(flat, minlength=packed.num_rows).tolist()
    token_of = routes // k
    route_weight = weights.reshape(-1)[routes]
    pos = 0
    for row, count in enumerate(counts):
        if not count:
            continue
        tokens = token_of[pos : pos + count]
        h = linear(x.index_select(0, tokens), _weight(packed, row, 1, dense_cache)) + packed.mlp1_bias[row]
        y = linear(swiglu(h, limit, alpha), _weight(packed, row, 2, dense_cache)) + packed.mlp2_bias[row]
        out.index_add_(0, tokens, y.float() * route_weight[pos : pos + count, None].float())
        pos += count


def _weight(packed: PackedExperts, row: int, which: int, cache: DenseCache | None) -> torch.Tensor:
    blocks, scales = (
        (packed.mlp1_blocks, packed.mlp1_scales) if which == 1 else (packed.mlp2_blocks, packed.mlp2_scales)
    )

    def make() -> torch.Tensor:
        return dequantize(blocks[row], scales[row])

    if cache is None or not cache.max_bytes or packed.keys is None:
        return make()
    return cache.get((packed.keys[row], which), make)
