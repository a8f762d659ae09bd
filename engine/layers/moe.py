"""gpt-oss mixture of experts: a linear router with bias picks the top-k experts per token, their
weights are the softmax of the k selected logits, and each expert is a clamped SwiGLU MLP with biases.

``expert_mlp`` is the single place where expert weights meet activations: it takes packed MXFP4
rows (``PackedExperts``) and runs the fused Triton kernels (engine/kernels/) where they work, else torch.

A token's expert outputs are summed in float32 in increasing expert id (``by_expert`` sorts the routes
before the store maps them to rows), never in the order of the rows that hold them: so a model whose
experts sit in cache slots (engine/offload/pool.py) adds the same numbers in the same order as one with every
expert resident, and gives the same bits.
"""

from __future__ import annotations

import torch
from torch import nn

from engine import kernels
from engine.config import ModelConfig
from engine.kernels import cpu_bf16, fused
from engine.layers.experts import DenseCache, ExpertStore, PackedExperts
from engine.quant.mxfp4 import dequantize, linear

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

    def forward(
        self,
        x: torch.Tensor,
        logits: torch.Tensor | None = None,
        routes: tuple[torch.Tensor, torch.Tensor] | None = None,
    ) -> torch.Tensor:
        """x: [T, H] (normed) -> [T, H]. Where the caller has them (a CPU decode step's attention half computes
        them: engine/kernels/cpu_block.py): logits, the router's for x [T, E]; routes, what ``routes`` would
        give for them."""
        if routes is not None:
            expert_ids, weights = routes
        elif logits is not None:
            expert_ids, weights = by_expert(*self.top(logits, x.dtype))
        else:
            expert_ids, weights = self.routes(x)
        packed, rows = self.store.fetch(expert_ids)
        return expert_mlp(x, rows, weights, packed, self.limit, self.alpha, self.dense_cache)

    def routes(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``route`` in ``by_expert`` order: each token's expert ids [T, k] increasing, and their weights. With
        the Triton kernels one launch (engine/kernels/layer_triton.py router_kernel) instead of five."""
        if kernels.use_fused(x.device):
            return fused.route(x, self.gate_weight, self.gate_bias, self.top_k)
        return by_expert(*self.route(x))

    def router_logits(self, x: torch.Tensor) -> torch.Tensor:
        # [T, E] bf16; decode's one row through the numba GEMV (torch's bf16 GEMV took 11 ms for 32 x 2880)
        return cpu_bf16.linear(x, self.gate_weight, self.gate_bias)

    def route(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Expert ids [T, k] (int64, best first) and their weights [T, k]: softmax over the k selected
        logits only, rounded to bf16 like the reference's."""
        return self.top(self.router_logits(x), x.dtype)

    def top(self, logits: torch.Tensor, dtype: torch.dtype) -> tuple[torch.Tensor, torch.Tensor]:
        """``route`` from the router's logits [T, E]."""
        top = torch.topk(logits, self.top_k, dim=-1, sorted=True)
        return top.indices, torch.softmax(top.values.float(), dim=-1).to(dtype)


def by_expert(expert_ids: torch.Tensor, weights: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Each token's routes in increasing expert id: the order its expert outputs are summed in."""
    expert_ids, order = expert_ids.sort(dim=-1)  # [T, k]: a sort of k values per token, no sync
    return expert_ids, weights.gather(-1, order)


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
    """sum_j weights[t, j] * expert_{rows[t, j]}(x[t]) for every token t, j in order.

    x: [T, H] bf16; rows: [T, k] int64 rows of ``packed``; weights: [T, k]. Returns [T, H] bf16.
    strategy: "fused" (the Triton kernels: packed weights dequantized in registers, no sync), "cpu" (the
    numba kernels of engine/kernels/cpu_mxfp4.py: the same from the packed bytes on every core), "grouped"
    (one matmul per expert, token lists known on the host: one sync per call) or "gathered" (each route's
    expert dequantized and run batched: no sync, for a few tokens on a GPU without the kernels).
    """
    if strategy is None:
        strategy = default_strategy(x.device, rows.numel(), dense_cache)
    if strategy == "fused":
        return kernels.expert_mlp(x, rows, weights, packed, limit, alpha, backend=kernels.backend())
    if strategy == "gathered":
        return _gathered(x, rows, weights, packed, limit, alpha)
    if strategy == "cpu":
        out = _numba(x, rows, weights, packed, limit, alpha)
        if out is not None:
            return out
    return _grouped(x, rows, weights, packed, limit, alpha, dense_cache)


def _numba(*args) -> torch.Tensor | None:
    """engine/kernels/cpu_mxfp4.py's expert_mlp_cpu(*args), or None where its kernels failed on this machine
    (they said so in the log and turned off: the caller runs torch's path). Other errors propagate."""
    from engine.kernels import cpu_mxfp4  # numba compiles on first use

    try:
        return cpu_mxfp4.expert_mlp_cpu(*args)
    except Exception:
        if cpu_mxfp4.available():
            raise
        return None


def default_strategy(device: torch.device, routes: int, dense_cache: DenseCache | None) -> str:
    """The Triton kernels where they run; on the CPU the numba kernels where numba imports; else gathered for
    a few routes on an accelerator without a dense cache (decode: no sync), else grouped."""
    if kernels.use_fused(device):
        return "fused"
    if device.type == "cpu" and kernels.cpu_available():
        return "cpu"
    cached = dense_cache is not None and dense_cache.max_bytes > 0
    return "gathered" if device.type != "cpu" and routes <= GATHER_MAX_ROUTES and not cached else "grouped"


def weighted_sum(terms: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """terms [T, k, H] bf16 (expert outputs), weights [T, k] -> [T, H] bf16: sum_j weights[:, j] * terms[:, j]
    in float32, j = 0, 1, .. in turn (a fixed order), rounded once (the reference's float32 einsum). Each
    product of two bf16 numbers is exact in float32, so only the order of the additions could differ."""
    w = weights.float()
    out = terms[:, 0].float() * w[:, 0:1]
    for j in range(1, terms.shape[1]):
        out += terms[:, j].float() * w[:, j : j + 1]
    return out.to(terms.dtype)


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
        return _one_token(x, rows[0].tolist(), weights, packed, limit, alpha, dense_cache)
    terms = torch.empty(t * k, x.shape[1], dtype=x.dtype, device=x.device)
    expert_terms(terms, x, rows, packed, limit, alpha, dense_cache, fused=False)
    return weighted_sum(terms.view(t, k, -1), weights)


def expert_terms(
    terms: torch.Tensor,
    x: torch.Tensor,
    rows: torch.Tensor,
    packed: PackedExperts,
    limit: float,
    alpha: float,
    dense_cache: DenseCache | None,
    mask: torch.Tensor | None = None,
    fused: bool | None = None,
    routes: torch.Tensor | None = None,
) -> None:
    """terms[t * k + j] = expert_{rows[t, j]}(x[t]) ([T*k, H] bf16) for every route, or those where mask [T, k],
    or those listed in ``routes`` (int64 t * k + j on the device: known on the host, so no sync to find them).

    torch: one matmul per weight row for all of its routes (the host needs the group sizes: one sync); biases
    are added after each bf16 matmul, a second rounding, as in both references. fused (None: where the Triton
    kernels run): every route as a token of its own with weight 1, in one launch pair; None on the CPU where
    numba runs: the same through engine/kernels/cpu_mxfp4.py. fused=False: torch's.
    """
    k = rows.shape[1]
    flat = rows.reshape(-1)
    if mask is None and routes is None:
        routes = torch.argsort(flat, stable=True)  # grouped by row, tokens in order within each
        flat = flat[routes]
    else:
        if routes is None:
            routes = mask.reshape(-1).nonzero().squeeze(1)
        flat = flat[routes]
        order = torch.argsort(flat, stable=True)
        routes, flat = routes[order], flat[order]
    if routes.numel() == 0:
        return
    numba = fused is None and default_strategy(x.device, routes.numel(), dense_cache) == "cpu"
    if numba or (kernels.use_fused(x.device) if fused is None else fused):
        # every route as a token of its own with weight 1: its expert's output as it is (bf16 * 1 is exact).
        # On the CPU the numba kernels, as expert_mlp's, so that routes computed apart (an offloaded layer's
        # groups) give the resident model's numbers
        ones = torch.ones(routes.shape[0], 1, dtype=x.dtype, device=x.device)
        args = (x.index_select(0, routes // k), flat[:, None], ones, packed, limit, alpha)
        y = _numba(*args) if numba else kernels.expert_mlp(*args, backend=kernels.backend())
        if y is not None:  # None: the numba kernels failed, torch's path below
            terms.index_copy_(0, routes, y)
            return
    counts = torch.bincount(flat, minlength=packed.num_rows).tolist()
    pos = 0
    for row, count in enumerate(counts):
        if not count:
            continue
        ids = routes[pos : pos + count]
        h = linear(x.index_select(0, ids // k), _dense(packed, row, 1, dense_cache)) + packed.mlp1_bias[row]
        y = linear(swiglu(h, limit, alpha), _dense(packed, row, 2, dense_cache)) + packed.mlp2_bias[row]
        terms.index_copy_(0, ids, y)
        pos += count


def _one_token(x, rows: list[int], weights, packed, limit, alpha, dense_cache) -> torch.Tensor:
    # x: [1, H], weights: [1, k]; the routes in order j, as weighted_sum adds them
    w = weights.float()
    out = None
    for j, row in enumerate(rows):
        h = linear(x, _dense(packed, row, 1, dense_cache)) + packed.mlp1_bias[row]
        y = linear(swiglu(h, limit, alpha), _dense(packed, row, 2, dense_cache)) + packed.mlp2_bias[row]
        y = y.float() * w[:, j : j + 1]
        out = y if out is None else out.add_(y)
    return out.to(x.dtype)


def _gathered(x, rows, weights, packed, limit, alpha) -> torch.Tensor:
    t, k = rows.shape
    sel = rows.reshape(-1)  # [T*k]
    xs = x[:, None, :].expand(t, k, x.shape[1]).reshape(t * k, -1, 1)  # [T*k, H, 1]: token of each route
    w1 = dequantize(packed.mlp1_blocks[sel], packed.mlp1_scales[sel])  # [T*k, 2I, H]
    h = torch.bmm(w1, xs).squeeze(-1) + packed.mlp1_bias[sel]  # [T*k, 2I]
    del w1
    w2 = dequantize(packed.mlp2_blocks[sel], packed.mlp2_scales[sel])  # [T*k, H, I]
    y = torch.bmm(w2, swiglu(h, limit, alpha)[:, :, None]).squeeze(-1) + packed.mlp2_bias[sel]  # [T*k, H]
    return weighted_sum(y.view(t, k, -1), weights)
