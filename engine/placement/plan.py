"""Where the weights go for a VRAM budget and a context length: a plain, printable ``Plan``.

Decided once at load (and again after an out-of-memory, ``replan_after_oom``): attention, norms, routers
and the unembedding, the KV cache for the chosen context and the working memory of a prefill chunk
first; then a pool of expert cache slots (so any token's routed experts fit, with room to prefetch the
next layer's); then whole layers of experts while the budget lasts; what is left becomes more slots.
Experts of the other layers stay packed (MXFP4) in pinned host memory and are copied into slots on
demand (engine/offload/pool.py). The embedding is a row lookup per token, so it stays in host memory unless
everything else fits.

Nothing here imports torch (``auto_budget`` does, lazily): ``python -m engine plan --preset`` is instant.
Sizes of the model's parts come from engine/placement/memory.py.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace

from engine.config import ModelConfig
from engine.errors import OutOfMemoryError
from engine.placement.memory import (  # noqa: F401 - the mirrored constants are part of this module's interface too
    DEFAULT_PREFILL_CHUNK,
    DEFAULT_SLIDING_HISTORY,
    GATHER_MAX_ROUTES,
    SCORE_BUDGET_BYTES,
    GiB,
    MiB,
    format_size,
    kv_cache_bytes,
    weight_bytes,
    workspace_bytes,
)
from engine.placement.refusals import gpu_problem, ram_problem

OFFLOAD_PREFILL_CHUNK = 2048  # with offloaded experts, larger chunks copy each expert fewer times
SLOTS_PER_ROUTE_MIN = 2  # slots >= 2 x experts_per_token: one layer's experts + the next one's prefetch
SLOTS_PER_ROUTE_WANTED = 4  # and 4x when the budget allows: prefill streams in double-buffered groups
AUTO_RESERVE_MIN = GiB // 2  # left to the desktop and other programs when the budget is automatic
AUTO_RESERVE_FRACTION = 0.05
SLACK_MIN = 256 * MiB  # allocator rounding and fragmentation (measured: see benchmarks/gpu_bench.py)
SLACK_FRACTION = 0.03

PRESETS = {
    "gpt-oss-20b": ModelConfig(),
    "gpt-oss-120b": ModelConfig(num_hidden_layers=36, num_experts=128),
}


@dataclass(frozen=True)
class PlanOptions:
    # "cuda", or "cpu": on the CPU the budget is simulated (the same code, counted bytes)
    device: str = "cuda"
    # None: DEFAULT_PREFILL_CHUNK, or OFFLOAD_PREFILL_CHUNK when offloading
    prefill_chunk: int | None = None
    # the embedding may stay in host memory (needs the model's host lookup)
    host_embedding: bool = True
    # prefill returns logits for every position (python -m engine logits), not only the last
    all_logits: bool = False
    # the Triton kernels run (engine.kernels.use_fused on the device: CUDA 8.0+ with Triton): no
    # dequantized-expert scratch, and flash attention for prompts (no score matrix); the loader sets it
    fused_kernels: bool = False
    # None: 2 x experts_per_token
    min_slots: int | None = None
    # "spread": offloaded layers evenly apart (each prefetch overlaps a resident layer's compute); "last"
    offload_order: str = "spread"
    sliding_history: int = DEFAULT_SLIDING_HISTORY
    # bytes of RAM the host side may take (experts in pinned memory, the embedding); None: not checked
    host_memory: int | None = None


@dataclass(frozen=True)
class LayerPlacement:
    layer: int
    resident: tuple[int, ...]  # experts kept on the device; the others live in host memory
    num_experts: int

    @property
    def offloaded(self) -> tuple[int, ...]:
        kept = set(self.resident)
        return tuple(e for e in range(self.num_experts) if e not in kept)

    @property
    def fully_resident(self) -> bool:
        return len(self.resident) == self.num_experts


@dataclass(frozen=True)
class Plan:
    model: str
    config: ModelConfig = field(repr=False, compare=False)
    budget_bytes: int | None  # None: no budget (everything on the device)
    budget_source: str  # "user" | "auto" | "none"
    context_length: int
    prefill_chunk: int
    device_bytes: dict[str, int]  # attention, norms_routers, unembedding, embedding, experts, expert_slots,
    #                               kv_cache, workspace
    host_bytes: dict[str, int]  # embedding, experts (pinned)
    layers: tuple[LayerPlacement, ...]
    num_slots: int  # device cache slots for host experts, shared by all layers
    expert_bytes: int  # one expert, packed
    fits: bool
    problem: str  # why it does not fit ("" when it does)
    max_context: int  # the longest context a working plan has at this budget (0: none)
    min_budget_bytes: int  # the smallest budget that works at this context
    full_budget_bytes: int  # the budget that puts everything on the device
    options: PlanOptions = field(default_factory=PlanOptions)

    # Derived views.
    @property
    def device(self) -> str:
        return self.options.device

    @property
    def total_device_bytes(self) -> int:
        return sum(self.device_bytes.values())

    @property
    def total_host_bytes(self) -> int:
        return sum(self.host_bytes.values())

    @property
    def ram_short(self) -> bool:
        """What the plan keeps in host memory is more than the RAM it may take (options.host_memory)."""
        limit = self.options.host_memory
        return limit is not None and self.total_host_bytes > limit

    @property
    def embedding_on_device(self) -> bool:
        return self.device_bytes["embedding"] > 0

    @property
    def offloaded_layers(self) -> tuple[int, ...]:
        return tuple(p.layer for p in self.layers if not p.fully_resident)

    @property
    def num_resident_experts(self) -> int:
        return sum(len(p.resident) for p in self.layers)

    @property
    def offloads(self) -> bool:
        return bool(self.offloaded_layers)

    def resident(self, layer: int) -> tuple[int, ...]:
        return self.layers[layer].resident

    # Words.
    def facts(self) -> dict:
        """What ``summary`` says, as plain numbers, for callers that word it themselves (the app, in the
        user's language). device: "cuda" or "cpu" (with a budget: a simulated GPU); budget_bytes: None
        without a budget; device_bytes: what the plan puts in device memory."""
        return {
            "device": self.device,
            "budget_bytes": self.budget_bytes,
            "device_bytes": self.total_device_bytes,
            "num_layers": len(self.layers),
            "num_offloaded_layers": len(self.offloaded_layers),
            "num_slots": self.num_slots,
            "embedding_in_ram": not self.embedding_on_device,
        }

    def summary(self) -> str:
        """One line for a status bar: "GPU 11.6 GiB · experts of 5 of 24 layers in RAM (32 cache slots)"."""
        if self.ram_short:
            return (
                f"Does not fit: {format_size(self.total_host_bytes)} of RAM needed for what stays in host "
                f"memory, {format_size(self.options.host_memory or 0)} available"
            )
        if not self.fits:
            return (
                f"Does not fit: {format_size(self.min_budget_bytes)} of GPU memory needed for "
                f"{self.context_length} tokens of context, {format_size(self.budget_bytes or 0)} available"
            )
        facts = self.facts()
        where = (
            "GPU"
            if facts["device"] == "cuda"
            else "GPU (simulated)"
            if facts["budget_bytes"] is not None
            else "CPU"
        )
        text = f"{where} {format_size(facts['device_bytes'])}"
        off = facts["num_offloaded_layers"]
        if where == "CPU":
            return text
        if not off:
            return text + (
                " · all experts on the GPU, the embedding in RAM"
                if facts["embedding_in_ram"]
                else " · everything on the GPU"
            )
        text += (
            f" · experts of {off} of {facts['num_layers']} layers in RAM ({facts['num_slots']} cache slots)"
        )
        return text

    def describe(self) -> str:
        """Several lines: the budget, every category's bytes, which layers live where."""
        cfg, d = self.config, self.device_bytes
        budget = (
            "none" if self.budget_bytes is None else f"{_size2(self.budget_bytes)} ({self.budget_source})"
        )
        lines = [
            (
                f"{self.model} on {self.device}: budget {budget}, context {self.context_length} tokens, "
                f"prefill chunk {self.prefill_chunk}"
            )
        ]
        if not self.fits:
            lines.append(self.problem)
        res_layers = [p.layer for p in self.layers if p.fully_resident]
        lines += [
            f"device memory {_size2(self.total_device_bytes)}"
            + (f" of {_size2(self.budget_bytes)}" if self.budget_bytes is not None else ""),
            f"  attention          {_size2(d['attention'])}",
            f"  norms, routers     {_size2(d['norms_routers'])}",
            f"  unembedding        {_size2(d['unembedding'])}",
            f"  embedding          {_size2(d['embedding'])}"
            + ("" if d["embedding"] else "  (in host memory)"),
            (
                f"  experts            {_size2(d['experts'])}  ({self.num_resident_experts} experts: "
                f"{len(res_layers)} of {cfg.num_hidden_layers} layers whole)"
            ),
            (
                f"  expert cache       {_size2(d['expert_slots'])}  ({self.num_slots} slots of "
                f"{_size2(self.expert_bytes)})"
            ),
            f"  KV cache           {_size2(d['kv_cache'])}  ({self.context_length} tokens)",
            f"  working memory     {_size2(d['workspace'])}",
            f"host memory {_size2(self.total_host_bytes)}",
            f"  embedding          {_size2(self.host_bytes['embedding'])}",
            f"  experts (pinned)   {_size2(self.host_bytes['experts'])}",
            f"layers with experts on the device: {_ranges(res_layers) or 'none'}",
            f"layers with experts in host memory: {_ranges(self.offloaded_layers) or 'none'}",
            (
                f"at this budget: context up to {self.max_context} tokens; this context needs at least "
                f"{_size2(self.min_budget_bytes)}, everything on the device {_size2(self.full_budget_bytes)}"
            ),
        ]
        return "\n".join(lines)

    def to_dict(self) -> dict:
        data = asdict(self)
        data.pop("config")
        data["layers"] = [{"layer": p.layer, "resident": list(p.resident)} for p in self.layers]
        data["summary"] = self.summary()
        data["total_device_bytes"], data["total_host_bytes"] = self.total_device_bytes, self.total_host_bytes
        return data

    def with_changes(self, **changes) -> Plan:
        """The plan again with other inputs: budget_bytes, context_length, or PlanOptions fields."""
        inputs = {
            "budget": self.budget_bytes,
            "context_length": self.context_length,
            "budget_source": self.budget_source,
            "model": self.model,
        }
        option_changes = {k: v for k, v in changes.items() if k in PlanOptions.__dataclass_fields__}
        inputs.update(
            {
                ("budget" if k == "budget_bytes" else k): v
                for k, v in changes.items()
                if k not in option_changes
            }
        )
        return make_plan(self.config, options=replace(self.options, **option_changes), **inputs)


def _size2(nbytes: int) -> str:
    return format_size(nbytes, digits=2)


def _ranges(layers) -> str:
    """[0, 1, 2, 5] -> "0-2, 5"."""
    out, layers = [], list(layers)
    i = 0
    while i < len(layers):
        j = i
        while j + 1 < len(layers) and layers[j + 1] == layers[j] + 1:
            j += 1
        out.append(str(layers[i]) if i == j else f"{layers[i]}-{layers[j]}")
        i = j + 1
    return ", ".join(out)


# ---- The plan ------------------------------------------------------------------------------------------------


def make_plan(
    cfg: ModelConfig,
    budget: int | None,
    context_length: int | None = None,
    *,
    options: PlanOptions | None = None,
    budget_source: str | None = None,
    model: str = "gpt-oss",
) -> Plan:
    """Place ``cfg``'s weights for ``budget`` bytes of device memory (None: no limit) and a context."""
    opts = options or PlanOptions()
    context = min(context_length or cfg.max_position_embeddings, cfg.max_position_embeddings)
    if context < 1:
        raise ValueError(f"context_length must be positive, not {context_length}")
    if budget is not None and budget < 0:
        raise ValueError(f"the budget cannot be negative ({budget})")
    source = budget_source or ("none" if budget is None else "user")
    eb, num_e, num_l, k = cfg.expert_bytes(), cfg.num_experts, cfg.num_hidden_layers, cfg.experts_per_token
    min_slots = max(opts.min_slots or SLOTS_PER_ROUTE_MIN * k, k)
    weights = weight_bytes(cfg, opts.device)

    def base(ctx: int, chunk: int, embedding_on_device: bool) -> dict[str, int]:
        fixed = {key: weights[key] for key in ("attention", "norms_routers", "unembedding")}
        fixed["embedding"] = weights["embedding"] if embedding_on_device else 0
        fixed["kv_cache"] = kv_cache_bytes(cfg, ctx, opts.device, opts.sliding_history)
        fixed["workspace"] = workspace_bytes(
            cfg, ctx, min(chunk, ctx), opts.device, opts.all_logits, opts.fused_kernels
        )
        return fixed

    def slack(nbytes: int) -> int:
        return max(SLACK_MIN, int(SLACK_FRACTION * nbytes)) if opts.device == "cuda" else 0

    def total(parts: dict[str, int]) -> int:
        return sum(parts.values()) + slack(sum(parts.values()))

    resident_chunk = opts.prefill_chunk or DEFAULT_PREFILL_CHUNK
    offload_chunk = opts.prefill_chunk or OFFLOAD_PREFILL_CHUNK
    full = base(context, resident_chunk, True) | {"experts": num_l * num_e * eb, "expert_slots": 0}
    full_budget = total(full)

    def cheapest(ctx: int) -> dict[str, int]:
        # the least of the placements below: every expert in host memory (fewest slots), or every expert on
        # the device with the embedding in host memory or not (in a tiny model, experts can be smaller
        # than the larger working memory of an offloading prefill chunk); its parts, the reserve included
        every_expert = {"experts": num_l * num_e * eb, "expert_slots": 0}
        candidates = [
            base(ctx, offload_chunk, not opts.host_embedding)
            | {"experts": 0, "expert_slots": min_slots * eb},
            base(ctx, resident_chunk, True) | every_expert,
        ]
        if opts.host_embedding:
            candidates.append(base(ctx, resident_chunk, False) | every_expert)
        parts = min(candidates, key=total)
        return parts | {"reserve": slack(sum(parts.values()))}

    def smallest(ctx: int) -> int:
        return sum(cheapest(ctx).values())

    min_budget = smallest(context)
    if budget is None:
        max_context = cfg.max_position_embeddings
    else:
        lo, hi = 0, cfg.max_position_embeddings  # the largest context whose smallest plan fits
        while lo < hi:
            mid = (lo + hi + 1) // 2
            if smallest(mid) <= budget:
                lo = mid
            else:
                hi = mid - 1
        max_context = lo

    common = {
        "model": model,
        "config": cfg,
        "budget_bytes": budget,
        "budget_source": source,
        "context_length": context,
        "expert_bytes": eb,
        "max_context": max_context,
        "min_budget_bytes": min_budget,
        "full_budget_bytes": full_budget,
        "options": opts,
    }
    host = {"embedding": 0, "experts": 0}
    if budget is None or full_budget <= budget:  # everything on the device
        layers = tuple(LayerPlacement(n, tuple(range(num_e)), num_e) for n in range(num_l))
        return Plan(
            prefill_chunk=resident_chunk,
            device_bytes=full,
            host_bytes=host,
            layers=layers,
            num_slots=0,
            fits=True,
            problem="",
            **common,
        )

    # All experts on the device with the embedding in host memory?
    parts = base(context, resident_chunk, False) | {"experts": num_l * num_e * eb, "expert_slots": 0}
    if opts.host_embedding and total(parts) <= budget:
        layers = tuple(LayerPlacement(n, tuple(range(num_e)), num_e) for n in range(num_l))
        return Plan(
            prefill_chunk=resident_chunk,
            device_bytes=parts,
            host_bytes=host | {"embedding": weights["embedding"]},
            layers=layers,
            num_slots=0,
            fits=True,
            problem="",
            **common,
        )

    parts = base(context, offload_chunk, not opts.host_embedding)
    host["embedding"] = 0 if not opts.host_embedding else weights["embedding"]
    free = budget - total(parts | {"expert_slots": 0})  # bytes for experts and slots
    fits = free >= min_slots * eb
    if not fits:
        layers = tuple(LayerPlacement(n, (), num_e) for n in range(num_l))
        host["experts"] = num_l * num_e * eb
        return Plan(
            prefill_chunk=offload_chunk,
            device_bytes=parts | {"experts": 0, "expert_slots": 0},
            host_bytes=host,
            layers=layers,
            num_slots=0,
            fits=False,
            problem=gpu_problem(budget, context, cheapest(context), min_slots, max_context),
            **common,
        )
    wanted = max(min_slots, SLOTS_PER_ROUTE_WANTED * k)
    pool = wanted if free >= wanted * eb else min_slots
    whole = min(num_l - 1, (free - pool * eb) // (num_e * eb))  # all layers would have fit above
    num_off = num_l - whole
    slots = min(num_off * num_e, (free - whole * num_e * eb) // eb)  # what is left becomes slots
    off = _offloaded_layers(num_l, num_off, opts.offload_order)
    layers = tuple(LayerPlacement(n, () if n in off else tuple(range(num_e)), num_e) for n in range(num_l))
    host["experts"] = num_off * num_e * eb
    parts |= {"experts": whole * num_e * eb, "expert_slots": slots * eb}
    ram_needed = sum(host.values())
    ram_ok = opts.host_memory is None or ram_needed <= opts.host_memory
    return Plan(
        prefill_chunk=offload_chunk,
        device_bytes=parts,
        host_bytes=host,
        layers=layers,
        num_slots=slots,
        fits=ram_ok,
        problem="" if ram_ok else ram_problem(ram_needed, opts.host_memory, num_off, num_l, budget),
        **common,
    )


def _offloaded_layers(num_layers: int, count: int, order: str) -> set[int]:
    if order == "last":
        return set(range(num_layers - count, num_layers))
    if order != "spread":
        raise ValueError(f"offload_order must be 'spread' or 'last', not {order!r}")
    # evenly apart, centred: 5 of 24 -> 2, 7, 12, 16, 21
    return {min(num_layers - 1, int((i + 0.5) * num_layers / count)) for i in range(count)}


# ---- Budgets -------------------------------------------------------------------------------------------------


def auto_budget(device=None) -> tuple[int, int]:
    """(budget, total) for a CUDA device: its free memory less a reserve for the desktop and other programs.

    ``torch.cuda.mem_get_info`` counts our own CUDA context as used already; memory our allocator caches
    but does not use counts as used too, so callers empty the cache first (``torch.cuda.empty_cache``).
    """
    import torch

    free, total = torch.cuda.mem_get_info(device)
    reserve = max(AUTO_RESERVE_MIN, int(AUTO_RESERVE_FRACTION * total))
    return max(0, free - reserve), total


def replan_after_oom(plan: Plan, shortfall: int | None = None) -> tuple[Plan, str]:
    """After a CUDA out-of-memory: a plan with more experts in host memory (or, when that is not enough,
    a shorter context), and the sentence to show the user. Raises OutOfMemoryError when nothing fits.

    shortfall: bytes to give up; default a tenth of what the plan used (1.2 GiB of a 12 GiB plan).
    """
    used = (
        plan.total_device_bytes
        if plan.budget_bytes is None
        else min(plan.budget_bytes, plan.total_device_bytes)
    )
    step = max(1, int(0.1 * used) if shortfall is None else shortfall)
    budget = max(0, used - step)
    new = plan.with_changes(budget_bytes=budget, budget_source="after out-of-memory")
    if new.fits:
        return new, (
            f"The GPU ran out of memory, so Gossamer now uses at most {format_size(budget)} of it: "
            f"{new.summary()}. Generation may be slower."
        )
    if new.max_context >= min(plan.context_length, 1024):
        shorter = new.with_changes(context_length=new.max_context)
        return shorter, (
            f"The GPU ran out of memory, so Gossamer now uses at most {format_size(budget)} of it "
            f"and the context is shortened to {shorter.context_length} tokens: {shorter.summary()}."
        )
    raise OutOfMemoryError(
        f"The GPU ran out of memory and even {format_size(budget)} is not available for the "
        "model: close other programs that use the GPU, or run on the CPU."
    )
