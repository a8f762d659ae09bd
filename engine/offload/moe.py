"""The MoE layer over offloaded experts: stream a prefill chunk's experts in groups, prefetch the next
layer's experts from a prediction of its routing.

``OffloadMoE`` wraps an ``engine.layers.moe.MoE`` (same router, same ``expert_mlp``) and is what
``engine.offload.build.attach`` puts in a block's place. Its forward is ``MoE.forward`` over the pool:
- every routed expert fits in the pool at once (decode, short prompts): one ``fetch``, then
  ``expert_mlp`` exactly as for resident experts;
- more distinct experts than free slots (a long prefill chunk): the pool yields groups; each group's
  routes fill their rows of the expert outputs, summed once at the end in expert order like ``expert_mlp``
  sums them (the same numbers, the same order: the same bits as resident experts);
- for a step of at most PREDICT_MAX_TOKENS tokens, the next layer's router applied to this layer's
  input predicts the next layer's experts (the residual stream changes little from one layer to the
  next; the MoE input x = rms_norm(h) * s_n is rescaled to rms_norm(h) * s_{n+1}). The prediction goes
  to the host with this layer's own routing (one synchronization), and its copies start right after
  this layer's, overlapping this layer's expert compute and the next layer's attention;
- hybrid placement (engine/offload/hybrid.py): for a decode-sized step, missing experts the cost model
  gives to the CPU are computed there from their host copy on a worker thread while the device computes the
  rest (its routes through the streaming path's masks); their outputs fill their rows before the sum.
"""

from __future__ import annotations

import torch
from torch import nn

from engine.layers.experts import ExpertStore
from engine.layers.moe import MoE, expert_mlp, expert_terms, weighted_sum
from engine.offload.hybrid import HostExperts, HostStep
from engine.offload.pool import ExpertPool, OffloadedExperts
from engine.quant.mxfp4 import linear

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
        host_experts: HostExperts | None = None,
    ):
        super().__init__()
        self.base = moe  # kept for its router weights and settings, and to undo the wrapping
        self.store, self.pool, self.next_router = store, pool, next_router
        self.host_experts = host_experts  # None: every missing expert is copied in
        moe.store = store

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # x: [T, H] (normed) -> [T, H]; routed exactly as engine.layers.moe.MoE.forward routes
        expert_ids, weights = self.base.routes(x)
        hint = None
        if self.next_router is not None and self.pool is not None and x.shape[0] <= PREDICT_MAX_TOKENS:
            hint = (self.next_router.layer, self.next_router(x))
        return self.experts(x, expert_ids, weights, hint)

    def experts(
        self,
        x: torch.Tensor,
        expert_ids: torch.Tensor,
        weights: torch.Tensor,
        hint: tuple[int, torch.Tensor] | None = None,
    ) -> torch.Tensor:
        """The expert half of ``forward``: x [T, H] normed, its routes (``by_expert`` order) -> [T, H].
        hint: (next layer, its predicted experts [T, k]) to prefetch. Decode graphs call this between their
        segments (engine/runtime/decode_segments.py), with the routes a graph computed."""
        base = self.base
        if (
            hint is not None
            and self.host_experts is not None
            and not self.host_experts.prefetches(x.shape[0])
        ):
            hint = None
        if not isinstance(self.store, OffloadedExperts):  # resident layer; maybe prefetch for the next one
            staged = self.pool.stage(*hint) if hint is not None else None
            packed, rows = self.store.fetch(expert_ids)
            out = expert_mlp(x, rows, weights, packed, base.limit, base.alpha, base.dense_cache)
            if staged is not None:
                self.pool.prefetch_staged(staged)  # after this layer's compute was enqueued
            return out
        step = None
        if self.host_experts is not None:
            host = self.pool.host[self.store.layer]
            step = self.host_experts.step(self.store.layer, host, x, base.limit, base.alpha)
        groups = self.store.fetch_groups(expert_ids, prefetch=hint, elsewhere=step and step.elsewhere)
        packed, rows, mask = next(groups)
        if step is not None and step.job is not None:  # the CPU computes some of the routes
            return self._streamed(x, rows, weights, packed, mask, groups, step)
        if mask is None:  # every routed expert is on the device at once
            groups.close()
            return expert_mlp(x, rows, weights, packed, base.limit, base.alpha, base.dense_cache)
        return self._streamed(x, rows, weights, packed, mask, groups)

    def _streamed(self, x, rows, weights, packed, mask, groups, step: HostStep | None = None) -> torch.Tensor:
        """Each group's routes fill their rows of the expert outputs, and the CPU's routes theirs (``step``);
        the weighted sum runs once at the end, in expert order, so the numbers equal one call's over resident
        experts."""
        base = self.base
        t, k = rows.shape
        terms = torch.empty(t * k, x.shape[1], dtype=x.dtype, device=x.device)  # [T*k, H]
        served = routes = None  # the routes the device computes, when the CPU takes some
        if step is not None and mask is None:  # one group: listed from the host (no sync to find them)
            routes = step.device_routes(x.device)
        elif step is not None:
            served = step.device_mask(x.device)
        while True:
            if served is not None:
                mask = mask & served
            expert_terms(
                terms, x, rows, packed, base.limit, base.alpha, base.dense_cache, mask, routes=routes
            )
            try:
                packed, rows, mask = next(groups)
            except StopIteration:
                break
        if step is not None:
            step.fill(terms)
        return weighted_sum(terms.view(t, k, -1), weights)
