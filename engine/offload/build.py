"""From a ``Plan`` to a model: expert stores for each layer, the wrapping of MoE layers, loading a checkpoint.

- ``build_stores(plan, host_layers, device)``: resident layers get an ``engine.layers.experts.ExpertStore`` on the
  device, offloaded ones an ``OffloadedExperts`` over one shared ``ExpertPool`` (host copies pinned).
- ``attach(model, plan, stores, pool)``: puts them into a built ``Transformer`` (``OffloadMoE`` where a
  layer is offloaded or precedes one) and sets its prefill chunk; ``apply_plan`` does both, and again
  after a re-plan, freeing the previous placement first.
- ``load_planned(path, device, plan)``: builds the model with every weight placed as a plan says (what
  ``engine.runtime.loader.load_model`` runs after planning; its ``load_with_replan`` retries with
  ``replan_after_oom``).
- ``model.host_experts`` (engine/offload/hybrid.py): whether missing experts are copied in or computed on
  the CPU; ``load_planned(host_experts=...)`` sets its mode.
- ``placed_device_bytes(model)``: what the model holds in the device pool, by category (tests check it
  against the budget; on the CPU the same count is the simulated budget).
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Callable
from pathlib import Path

import torch

from engine.io.checkpoint import LAYER_TENSORS, Checkpoint
from engine.layers.experts import DenseCache, ExpertStore, PackedExperts
from engine.model import Transformer
from engine.notices import Notice
from engine.offload.hybrid import HostExperts, resolve_mode
from engine.offload.moe import NextRouter, OffloadMoE
from engine.offload.pool import FIELDS, ExpertPool, OffloadedExperts
from engine.placement.device import DEFAULT_DENSE_CACHE_BYTES, resolve_device
from engine.placement.plan import Plan, replan_after_oom


class _Registered:
    """A host buffer page-locked with cudaHostRegister; unlocked when the last PackedExperts using it goes.

    Not ``Tensor.pin_memory()``: PyTorch's pinned allocator rounds every block up to a power of two, which
    would lock up to twice the 10 GB of experts.
    """

    def __init__(self, buffer: torch.Tensor):
        self.buffer, self.ptr = buffer, buffer.data_ptr()

    def __del__(self):
        with contextlib.suppress(Exception):  # at interpreter shutdown CUDA may be gone with the process
            torch.cuda.cudart().cudaHostUnregister(self.ptr)


FIELD_ALIGN = 16  # bytes: every field of an expert's row starts on a vector-load boundary (bf16 views too)
ROW_ALIGN = 256  # bytes: every expert's row starts where a DMA engine likes it


def row_layout(packed: PackedExperts) -> tuple[tuple[tuple[int, int], ...], int]:
    """Where each field of one expert lies in its host row: ((offset, bytes) per FIELDS, row bytes)."""
    places, offset = [], 0
    for f in FIELDS:
        size = getattr(packed, f)[0].nbytes
        places.append((offset, size))
        offset += -(-size // FIELD_ALIGN) * FIELD_ALIGN
    return tuple(places), -(-offset // ROW_ALIGN) * ROW_ALIGN


def pack_rows(packed: PackedExperts, buffer: torch.Tensor | None = None) -> PackedExperts:
    """A copy with each expert's six fields side by side in one row of ``buffer`` (uint8, [E * row bytes];
    a new one when None), so that one copy moves an expert (engine.offload.pool.ExpertPool). The fields are
    views into the rows ([E, ...], strided by the row, each expert's part contiguous); ``rows`` is the
    [E, row bytes] uint8 view and ``row_fields`` the layout (``row_layout``)."""
    places, row_bytes = row_layout(packed)
    experts = packed.num_rows
    if buffer is None:
        buffer = torch.empty(experts * row_bytes, dtype=torch.uint8)
    rows = buffer[: experts * row_bytes].view(experts, row_bytes)
    out = {}
    for f, (offset, size) in zip(FIELDS, places):
        src = getattr(packed, f)
        view = rows[:, offset : offset + size].view(src.dtype).view(src.shape)
        view.copy_(src)
        out[f] = view
    result = PackedExperts(**out, keys=packed.keys)
    result.rows, result.row_fields = rows, places
    return result


def pinned(packed: PackedExperts) -> PackedExperts:
    """``pack_rows`` into one page-locked host buffer, which asynchronous copies need; the same tensors when
    pinning is impossible (no CUDA, or the OS refuses): copies are then synchronous, slower, still right."""
    experts, (_, row_bytes) = packed.num_rows, row_layout(packed)
    try:
        buffer = torch.empty(experts * row_bytes, dtype=torch.uint8)
        error = torch.cuda.cudart().cudaHostRegister(buffer.data_ptr(), buffer.nbytes, 0)
        if int(getattr(error, "value", error)) != 0:
            return packed
    except (AssertionError, RuntimeError, AttributeError):  # a CPU-only torch, or CUDA not usable
        return packed
    owner = _Registered(buffer)
    result = pack_rows(packed, buffer)
    result.pinned_owner = owner  # keeps the registration as long as these tensors are used through it
    return result


def host_layers_of(checkpoint) -> list[PackedExperts]:
    """Every layer's experts as CPU views of a checkpoint's memory maps (nothing read yet)."""
    return [
        PackedExperts(**{f: checkpoint.get(f"{n}.{f}") for f in FIELDS})
        for n in range(checkpoint.config.num_hidden_layers)
    ]


def build_stores(
    plan: Plan,
    host_layers: list[PackedExperts],
    device: torch.device | str,
    *,
    pin: bool | None = None,
    policy: str = "slru",
    release: Callable[[int], None] | None = None,
) -> tuple[list, ExpertPool | None]:
    """Stores per layer for ``plan``; ``host_layers`` are CPU tensors ([E, ...] per field), left unchanged.

    release(layer): called once a layer's experts were copied (the loader drops their mapped pages).
    """
    device = torch.device(device)
    pin = device.type == "cuda" if pin is None else pin
    stores: list = [None] * len(plan.layers)
    host, partial = {}, {}
    for placement in plan.layers:
        n, src = placement.layer, host_layers[placement.layer]
        if placement.fully_resident:
            # contiguous: host experts packed by rows are strided views, and the kernels read whole fields
            stores[n] = ExpertStore(
                n, PackedExperts(**{f: getattr(src, f).to(device).contiguous() for f in FIELDS})
            )
        else:
            host[n] = pinned(src) if pin and not src.mlp1_blocks.is_pinned() else src
            if placement.resident:
                partial[n] = placement.resident
        if release is not None and (
            device.type != "cpu" and (placement.fully_resident or host[n] is not src)
        ):
            release(n)
    pool = ExpertPool(host, plan.num_slots, device, partial, policy) if host else None
    for n in host:
        stores[n] = OffloadedExperts(n, pool)
    return stores, pool


def _unwrap(mlp):
    return mlp.base if isinstance(mlp, OffloadMoE) else mlp


def attach(model, plan: Plan, stores: list, pool: ExpertPool | None) -> None:
    """Give ``model`` (an engine.model.Transformer) these stores; offloaded layers and the layers before them
    get an ``OffloadMoE`` (group streaming, prediction and prefetch), the others stay plain ``MoE``. The
    model's ``host_experts`` (engine/offload/hybrid.py; made in "auto" mode when it has none) is kept across
    placements and measures this machine once there is a pool."""
    blocks = model.blocks
    host_experts = getattr(model, "host_experts", None)
    if host_experts is None:
        host_experts = model.host_experts = HostExperts(resolve_mode(None))
    for n, block in enumerate(blocks):
        base = _unwrap(block.mlp)
        base.store = stores[n]
        following = stores[n + 1] if n + 1 < len(blocks) else None
        next_router = None
        if isinstance(following, OffloadedExperts):
            nxt = blocks[n + 1]
            nbase = _unwrap(nxt.mlp)
            next_router = NextRouter(
                n + 1, nbase.gate_weight, nbase.gate_bias, block.mlp_norm, nxt.mlp_norm, base.top_k
            )
        if pool is not None and (isinstance(stores[n], OffloadedExperts) or next_router is not None):
            block.mlp = OffloadMoE(base, stores[n], pool, next_router, host_experts)
        else:
            block.mlp = base
    model.stores = stores
    model.offload_pool = pool
    model.plan = plan
    if getattr(model, "decode_graphs", None) is not None:
        model.decode_graphs.reset()  # the graphs read the old placement's tensors
    model.prefill_chunk = plan.prefill_chunk
    model.context_length = min(plan.context_length, model.config.max_position_embeddings)
    if pool is not None:
        base = _unwrap(blocks[0].mlp)
        host_experts.prepare(pool, base.limit, base.alpha)


def detach(model) -> None:
    """Drop the model's expert stores and pool (to free device memory before another placement)."""
    for block in model.blocks:
        block.mlp = _unwrap(block.mlp)
        block.mlp.store = None
    model.stores = []
    model.offload_pool = None
    if getattr(model, "decode_graphs", None) is not None:
        model.decode_graphs.reset()
    gc.collect()
    if model.device.type == "cuda":
        torch.cuda.empty_cache()


def apply_plan(
    model, plan: Plan, host_layers: list[PackedExperts], *, pin: bool | None = None, policy: str = "slru"
) -> ExpertPool | None:
    """Place ``model``'s experts as ``plan`` says (replacing any earlier placement); returns the pool."""
    detach(model)
    stores, pool = build_stores(plan, host_layers, model.device, pin=pin, policy=policy)
    attach(model, plan, stores, pool)
    return pool


def replan_model(model, shortfall: int | None = None) -> Notice:
    """After a CUDA out-of-memory during generation: place the experts again with more of them in host memory
    (or a shorter context, then ``model.context_length`` shrinks and the caller starts a new KV cache) and
    return the notice for the user. Experts already pinned stay where they are; the others come from the
    checkpoint's mappings, which ``load_planned`` keeps open. Raises OutOfMemoryError when nothing fits."""
    before = model.plan
    plan, message = replan_after_oom(before, shortfall)
    host = host_layers_of(model.checkpoint)
    old = getattr(model, "offload_pool", None)
    if old is not None:
        host = [old.host.get(n, packed) for n, packed in enumerate(host)]
    apply_plan(model, plan, host)
    return Notice.replanned(before, plan, message)


def supports_host_embedding(model_class=None) -> bool:
    """Whether the model looks tokens up in a host-memory embedding (engine.model wiring of issue #4)."""
    return bool(getattr(model_class or Transformer, "supports_host_embedding", False))


def load_planned(
    path: str | Path,
    device: str | torch.device | None,
    plan: Plan,
    *,
    dense_cache_bytes: int | None = None,
    pin: bool | None = None,
    policy: str = "slru",
    checkpoint=None,
    host_layers: list[PackedExperts] | None = None,
    host_experts: str | None = None,
):
    """The model built with every weight placed as ``plan`` says. model.plan is the plan used: the
    same, or on CUDA, re-planned with the embedding on the device while the model cannot look it up in host
    memory (engine.model wiring of issue #4). ``host_layers``: experts already in host memory (pinned once,
    for several plans in turn) instead of the checkpoint's mappings. ``host_experts``: "auto", "copy" or
    "cpu" (engine/offload/hybrid.py; None: GOSSAMER_HOST_EXPERTS, else auto)."""
    device = resolve_device(device)
    if device.type == "cuda" and not plan.embedding_on_device and not supports_host_embedding(Transformer):
        plan = plan.with_changes(host_embedding=False)  # (on the CPU, host memory is where it is anyway)
    checkpoint = checkpoint or Checkpoint.open(path)
    cfg = checkpoint.config

    def take(name: str) -> torch.Tensor:
        tensor = checkpoint.get(name)
        if device.type != "cpu":
            tensor = tensor.to(device)
            checkpoint.release(name)
        return tensor

    globals_ = {name: take(name) for name in ("norm", "unembedding")}
    globals_["embedding"] = take("embedding") if plan.embedding_on_device else checkpoint.get("embedding")
    layers = [
        {name: take(f"{n}.{name}") for name in LAYER_TENSORS if name not in FIELDS}
        for n in range(cfg.num_hidden_layers)
    ]

    def release(n: int) -> None:
        for f in FIELDS:
            checkpoint.release(f"{n}.{f}")

    if host_layers is None:
        host_layers = host_layers_of(checkpoint)
    stores, pool = build_stores(plan, host_layers, device, pin=pin, policy=policy, release=release)
    if dense_cache_bytes is None:
        dense_cache_bytes = DEFAULT_DENSE_CACHE_BYTES.get(device.type, 0)
    source = f"{checkpoint.layout.directory} ({checkpoint.layout.kind} layout)"
    model = Transformer(
        cfg, device, globals_, layers, stores, DenseCache(dense_cache_bytes), plan.context_length, source
    )
    model.host_experts = HostExperts(resolve_mode(host_experts))
    attach(model, plan, stores, pool)
    model.checkpoint = checkpoint  # CPU views (and unpinned host experts) need the mappings alive
    return model


def placed_device_bytes(model) -> dict[str, int]:
    """Bytes the model keeps in the device pool: weights (buffers; the embedding when the plan puts it there),
    experts (resident stores and permanent rows), slots. Shared tensors count once."""
    plan = getattr(model, "plan", None)
    seen: set[tuple[int, int]] = set()

    def count(tensor: torch.Tensor) -> int:
        key = (tensor.data_ptr(), tensor.nbytes)
        if key in seen or tensor.device.type != model.device.type:
            return 0
        seen.add(key)
        return tensor.nbytes

    weights = sum(
        count(b)
        for name, b in model.named_buffers()
        if not (name == "embedding" and plan is not None and not plan.embedding_on_device)
    )
    experts = slots = 0
    for store in model.stores:
        if isinstance(store, ExpertStore):
            experts += sum(count(getattr(store.packed, f)) for f in FIELDS)
        else:
            experts += store.nbytes()
    pool = getattr(model, "offload_pool", None)
    if pool is not None:
        slots = pool.nbytes() - pool.num_permanent * pool.expert_bytes
    return {"weights": weights, "experts": experts, "expert_slots": slots, "total": weights + experts + slots}
