"""Experts in host memory, copied on demand into a pool of device cache slots shared by all layers.

``ExpertPool`` owns the host copies (packed MXFP4 in pinned memory), one device tensor per expert
field whose rows are the slots (the ``PackedExperts`` layout, so kernels index them through the
expert->row map), the eviction policy and the counters. ``OffloadedExperts`` is one layer's view of it
with the ``ExpertStore`` interface: ``fetch(expert_ids [T, k]) -> (rows, ids mapped to rows)``.

One pool for all layers rather than slots per layer: decode visits layers in turn, so a shared pool
behaves like per-layer pools of equal shares while letting layers whose routing repeats keep more; and
a prefill chunk (which routes to nearly every expert of a layer) can stream a layer through all the
slots at once instead of a per-layer handful, which means fewer, larger groups.

Eviction is a segmented LRU: an expert enters on probation and is promoted to the protected segment
when it is needed again while cached; probation is evicted first. So a prefill that streams every
expert through the pool once does not flush the experts that decode keeps reusing (plain LRU would).

Ordering on CUDA (copies run on a side stream from pinned memory, non_blocking):
- before a copy overwrites a slot, the copy stream waits for an event recorded on the compute stream
  at that moment: every kernel that read the slot's old expert was enqueued before it;
- a slot is locked while the compute that needs it has not been enqueued yet: the rows of the current
  fetch (``epoch``) and the rows prefetched for the next one (``epoch + 1``);
- the compute stream waits for the copy's event before the fetch returns rows to read.
On the CPU (the simulated budget) copies are plain synchronous copies and the rest is the same.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, fields

import torch

from engine.layers.experts import PackedExperts

FIELDS = ("mlp1_blocks", "mlp1_scales", "mlp1_bias", "mlp2_blocks", "mlp2_scales", "mlp2_bias")
PROTECTED_FRACTION = 0.75  # of the slots, at most this many hold experts that were needed twice


class NoFreeSlot(RuntimeError):
    """Every slot is locked by the current fetch or a prefetch (more distinct experts than slots)."""


@dataclass
class OffloadStats:
    hits: int = 0  # distinct experts a fetch needed that were already in a slot
    misses: int = 0  # ... that had to be copied then
    prefetched: int = 0  # copies issued ahead by prefetch
    prefetch_hits: int = 0  # hits on experts that a prefetch brought in
    h2d_bytes: int = 0  # host -> device bytes copied (misses and prefetches)
    tokens: int = 0  # tokens through the first offloaded layer
    fetches: int = 0
    groups: int = 0  # fetches that streamed in several groups (prefill with more experts than slots)
    cpu_experts: int = 0  # ... that were neither: computed on the CPU (engine/offload/hybrid.py)

    @property
    def expert_hit_rate(self) -> float:
        """Share of the experts needed by offloaded layers that were in a slot already (1.0 when none were needed)."""
        asked = self.hits + self.misses + self.cpu_experts
        return self.hits / asked if asked else 1.0

    @property
    def cpu_expert_fraction(self) -> float:
        """Share of the experts needed by offloaded layers that the CPU computed (0.0 when none were needed)."""
        asked = self.hits + self.misses + self.cpu_experts
        return self.cpu_experts / asked if asked else 0.0

    @property
    def h2d_bytes_per_token(self) -> float:
        return self.h2d_bytes / self.tokens if self.tokens else 0.0

    def as_dict(self) -> dict:
        out = {f.name: getattr(self, f.name) for f in fields(self)}
        out["expert_hit_rate"] = round(self.expert_hit_rate, 4)
        out["cpu_expert_fraction"] = round(self.cpu_expert_fraction, 4)
        out["h2d_bytes_per_token"] = round(self.h2d_bytes_per_token, 1)
        return out


class SegmentedLRU:
    """Slot order for eviction: probation (new) before protected (needed again), oldest first in each."""

    def __init__(self, num_slots: int, protected_fraction: float = PROTECTED_FRACTION):
        self.probation: OrderedDict[int, None] = OrderedDict()
        self.protected: OrderedDict[int, None] = OrderedDict()
        self.max_protected = int(num_slots * protected_fraction)

    def inserted(self, row: int) -> None:
        self.probation[row] = None

    def used(self, row: int) -> None:
        if row in self.protected:
            self.protected.move_to_end(row)
            return
        self.probation.pop(row, None)
        self.protected[row] = None
        if len(self.protected) > self.max_protected:  # demote the oldest protected to the newest probation
            old, _ = self.protected.popitem(last=False)
            self.probation[old] = None

    def removed(self, row: int) -> None:
        self.probation.pop(row, None)
        self.protected.pop(row, None)

    def candidates(self) -> Iterator[int]:
        yield from list(self.probation)
        yield from list(self.protected)


class LRU(SegmentedLRU):
    """Plain least recently used (for comparison and tests)."""

    def used(self, row: int) -> None:
        self.probation.move_to_end(row)


POLICIES = {"slru": SegmentedLRU, "lru": LRU}


class ExpertPool:
    """Host experts of offloaded layers and the device slots they are copied into (see the module docstring).

    host: layer -> PackedExperts [E, ...] on the CPU (pinned for asynchronous copies; any CPU tensor works).
    resident: layer -> experts of that layer kept on the device for good (rows before the slots).
    """

    def __init__(
        self,
        host: dict[int, PackedExperts],
        num_slots: int,
        device: torch.device | str,
        resident: dict[int, Iterable[int]] | None = None,
        policy: str = "slru",
    ):
        self.device = torch.device(device)
        self.host = host
        assert host, "an expert pool needs at least one offloaded layer"
        sample = next(iter(host.values()))
        self.num_experts = sample.num_rows
        self.expert_bytes = sum(getattr(sample, f)[0].nbytes for f in FIELDS)
        permanent = [
            (layer, e) for layer, experts in sorted((resident or {}).items()) for e in sorted(experts)
        ]
        self.num_permanent, self.num_slots = len(permanent), num_slots
        rows = self.num_permanent + num_slots
        self.arena = PackedExperts(
            **{
                f: torch.empty(
                    (rows, *getattr(sample, f).shape[1:]), dtype=getattr(sample, f).dtype, device=self.device
                )
                for f in FIELDS
            }
        )
        self.keys: list = [None] * rows  # what each row holds, (layer, expert); the DenseCache keys
        self.arena.keys = self.keys
        self.where: dict[tuple[int, int], int] = {}
        self.lut = {layer: [-1] * self.num_experts for layer in host}  # layer -> expert -> row (-1: none)
        self.policy = POLICIES[policy](num_slots)
        self.locked: dict[int, int] = {}  # row -> last epoch it stays locked through
        self.epoch = 0
        self.prefetched_rows: set[int] = set()
        self.stats = OffloadStats()
        self.first_layer = min(host)
        cuda = self.device.type == "cuda"
        self.copy_stream = torch.cuda.Stream(self.device) if cuda else None
        self.ready: dict[int, torch.cuda.Event] = {}  # row -> copy event the compute stream has not waited on
        # Views made once: a copy is then one call per field (a decode step's copies are host-bound)
        self._row_views = [tuple(getattr(self.arena, f)[row] for f in FIELDS) for row in range(rows)]
        # Host experts packed a row each (engine.offload.build.pack_rows, as pinned ones are): one copy moves
        # an expert over the bus into a device row laid out the same, then the fields go to their slots on
        # the device (the kernels read each field as one contiguous [rows, ...] tensor)
        self.staging, self._staging_views = None, ()
        layouts = {(p.rows.shape[1], p.row_fields) if hasattr(p, "rows") else None for p in host.values()}
        if len(layouts) == 1 and None not in layouts:
            row_bytes, places = layouts.pop()
            self.staging = torch.empty(row_bytes, dtype=torch.uint8, device=self.device)
            self._staging_views = tuple(
                self.staging[offset : offset + size]
                .view(getattr(sample, f).dtype)
                .view(getattr(sample, f).shape[1:])
                for f, (offset, size) in zip(FIELDS, places)
            )
        self._host_views: dict[tuple[int, int], tuple[torch.Tensor, ...]] = {}
        for row, (layer, e) in enumerate(permanent):
            self._place(row, layer, e)
            for dst, src in zip(self._row_views[row], self._host_view(layer, e)):
                dst.copy_(src)
        self.free_rows = list(range(self.num_permanent, rows))  # never used yet

    # ---- bookkeeping --------------------------------------------------------------------------------------
    def nbytes(self) -> int:
        """Device bytes: the permanent rows and the slots (the staging row, one expert, is within the plan's
        working memory)."""
        return self.arena.nbytes()

    def host_nbytes(self) -> int:
        return sum(p.nbytes() for p in self.host.values())

    def cached(self, layer: int) -> list[int]:
        """Experts of ``layer`` on the device now (permanent or in a slot), in order."""
        return sorted(e for (n, e) in self.where if n == layer)

    def _host_view(self, layer: int, e: int) -> tuple[torch.Tensor, ...]:
        view = self._host_views.get((layer, e))
        if view is None:
            view = self._host_views[(layer, e)] = tuple(getattr(self.host[layer], f)[e] for f in FIELDS)
        return view

    def _place(self, row: int, layer: int, e: int) -> None:
        old = self.keys[row]
        if old is not None:
            del self.where[old]
            self.lut[old[0]][old[1]] = -1
        self.keys[row] = (layer, e)
        self.where[(layer, e)] = row
        self.lut[layer][e] = row

    def begin(self) -> int:
        """A new fetch: what earlier fetches locked has had its compute enqueued by now."""
        self.epoch += 1
        self.locked = {row: until for row, until in self.locked.items() if until >= self.epoch}
        return self.epoch

    def _victim(self) -> int:
        if self.free_rows:
            return self.free_rows.pop(0)
        for row in self.policy.candidates():
            if self.locked.get(row, -1) < self.epoch:
                return row
        raise NoFreeSlot(f"all {self.num_slots} expert cache slots are in use by this step")

    def num_free(self) -> int:
        """Slots a fetch may still fill now (not locked by this epoch or a prefetch for the next)."""
        held = sum(1 for r, until in self.locked.items() if until >= self.epoch and r >= self.num_permanent)
        return self.num_slots - held

    # ---- acquiring rows -----------------------------------------------------------------------------------
    def acquire(self, layer: int, experts: Iterable[int], until: int, prefetch: bool = False) -> list[int]:
        """Rows holding ``experts`` of ``layer`` (copying the missing ones), locked through epoch ``until``."""
        rows, copies = [], []
        try:
            for e in experts:
                row = self.where.get((layer, e))
                if row is not None:
                    if row >= self.num_permanent and not prefetch:  # a slot hit (permanent rows do not count)
                        self.stats.hits += 1
                        if row in self.prefetched_rows:
                            self.stats.prefetch_hits += 1
                            self.prefetched_rows.discard(row)
                        self.policy.used(row)
                else:
                    row = self._victim()
                    self.policy.removed(row)
                    self.prefetched_rows.discard(row)
                    self._place(row, layer, e)
                    self.policy.inserted(row)
                    copies.append((row, layer, e))
                    if prefetch:
                        self.stats.prefetched += 1
                        self.prefetched_rows.add(row)
                    else:
                        self.stats.misses += 1
                self.locked[row] = max(self.locked.get(row, -1), until)
                rows.append(row)
        finally:
            self._copy(copies)  # what was placed before a NoFreeSlot must still arrive
        return rows

    def _copy(self, copies: list[tuple[int, int, int]]) -> None:
        if not copies:
            return
        self.stats.h2d_bytes += len(copies) * self.expert_bytes
        if self.copy_stream is None:
            for row, layer, e in copies:
                self._copy_one(row, layer, e, non_blocking=False)
            return
        fence = torch.cuda.current_stream(self.device).record_event()  # readers of the old contents
        with torch.cuda.stream(self.copy_stream):
            self.copy_stream.wait_event(fence)
            for row, layer, e in copies:  # in stream order: the staging row is free again for the next
                self._copy_one(row, layer, e, non_blocking=True)
            done = self.copy_stream.record_event()
        for row, _, _ in copies:
            self.ready[row] = done

    def _copy_one(self, row: int, layer: int, e: int, non_blocking: bool) -> None:
        """Expert ``e`` of ``layer`` into ``row``: one host-to-device copy of its packed row, then one copy
        per field on the device; or, from host experts not packed by rows, one host copy per field."""
        if self.staging is not None:
            self.staging.copy_(self.host[layer].rows[e], non_blocking=non_blocking)
            sources = self._staging_views
        else:
            sources = self._host_view(layer, e)
        for dst, src in zip(self._row_views[row], sources):
            dst.copy_(src, non_blocking=non_blocking)

    def wait_ready(self, rows: Iterable[int]) -> None:
        """The compute stream waits for the copies into ``rows`` (no host synchronization)."""
        if not self.ready:
            return
        events = {id(ev): ev for ev in (self.ready.pop(r, None) for r in rows) if ev is not None}
        stream = torch.cuda.current_stream(self.device)
        for ev in events.values():
            stream.wait_event(ev)

    # ---- the store-facing operations ----------------------------------------------------------------------
    def prefetch(self, layer: int, experts: Iterable[int]) -> int:
        """Start copying ``experts`` of ``layer`` ahead of its fetch; best effort. Returns the copies issued."""
        if layer not in self.host:
            return 0
        before = self.stats.prefetched
        try:
            for e in sorted({int(e) for e in experts}):
                self.acquire(layer, [e], self.epoch + 1, prefetch=True)
        except NoFreeSlot:
            pass  # the current fetch holds every slot: the next fetch copies what it needs itself
        return self.stats.prefetched - before

    def stage(self, layer: int, expert_ids: torch.Tensor):
        """Start moving predicted ids to the host without waiting (a pinned buffer and an event), so the
        caller can enqueue its compute first; ``prefetch_staged`` then waits for the ids alone."""
        if layer not in self.host:
            return None
        flat = expert_ids.reshape(-1)
        if self.copy_stream is None:
            return layer, flat, None
        buffer = torch.empty(flat.shape, dtype=flat.dtype, pin_memory=True)
        buffer.copy_(flat, non_blocking=True)
        return layer, buffer, torch.cuda.current_stream(self.device).record_event()

    def prefetch_staged(self, staged) -> int:
        if staged is None:
            return 0
        layer, ids, event = staged
        if event is not None:
            event.synchronize()
        return self.prefetch(layer, ids.tolist())

    def groups(
        self,
        layer: int,
        expert_ids: torch.Tensor,
        prefetch: tuple[int, torch.Tensor] | None = None,
        elsewhere: Callable[[torch.Tensor, list[int], list[int]], Iterable[int]] | None = None,
    ) -> Iterator[tuple[PackedExperts, torch.Tensor, torch.Tensor | None]]:
        """Rows for the routes of ``expert_ids`` [T, k] of ``layer``, in as few groups as the slots allow.

        Yields (arena, rows [T, k] on the device, mask [T, k] bool of the routes this group serves, or None
        for all of them). The consumer must enqueue each group's compute before asking for the next one.
        ``prefetch`` (layer, predicted ids): copied to the host together with ``expert_ids`` (one
        synchronization) and prefetched after this layer's own copies.
        ``elsewhere(ids [T, k] on the host, present, missing) -> experts``: called once the routes are on the
        host; the missing experts it returns are computed by the caller on the CPU (engine/offload/hybrid.py),
        neither copied nor served: their routes get some valid row, outside every group's mask (with a single
        group, the mask is None all the same: the caller knows which routes it took).
        """
        flat = expert_ids.reshape(-1)
        if prefetch is not None:
            flat = torch.cat((flat, prefetch[1].reshape(-1).to(flat.device, flat.dtype)))
        both = flat.cpu().long()  # the one host synchronization of an offloaded layer
        ids_cpu = both[: expert_ids.numel()].view(expert_ids.shape)
        values = both.tolist()
        predicted = values[expert_ids.numel() :]
        needed = sorted(set(values[: expert_ids.numel()]))
        if layer == self.first_layer:
            self.stats.tokens += expert_ids.shape[0]
        self.stats.fetches += 1
        epoch = self.begin()
        present = [e for e in needed if (layer, e) in self.where]
        missing = [e for e in needed if (layer, e) not in self.where]
        served = None  # routes the device serves, when the CPU takes some
        if elsewhere is not None and missing:
            taken = {int(e) for e in elsewhere(ids_cpu, present, missing)} & set(missing)
            if taken:
                self.stats.cpu_experts += len(taken)
                missing = [e for e in missing if e not in taken]
                needed = [e for e in needed if e not in taken]
                served = ~torch.isin(ids_cpu, torch.tensor(sorted(taken), dtype=torch.long))
        free = self._free_for(layer, present)
        if len(missing) > free:  # prefetched guesses for other layers are only hints: let them go
            self.locked = {
                r: u
                for r, u in self.locked.items()
                if r not in self.prefetched_rows or self.keys[r][0] == layer
            }
            free = self._free_for(layer, present)
        if len(missing) <= free:
            rows = self.acquire(layer, needed, epoch)
            if prefetch is not None:
                self.prefetch(prefetch[0], predicted)
            self.wait_ready(rows)
            yield self.arena, self._rows(layer, ids_cpu, served), None
            return
        # Stream: the cached experts' routes go first with as many missing ones as half the free slots take;
        # then the rest in groups of half the slots, so one group's copy overlaps the compute of the one
        # before (the policy evicts the older group's slots first).
        self.stats.groups += 1
        group, rest = present + missing[: free // 2], missing[free // 2 :]
        while True:
            rows = self.acquire(layer, group, epoch)
            self.wait_ready(rows)
            mask = torch.isin(ids_cpu, torch.tensor(group, dtype=torch.long))
            yield self.arena, self._rows(layer, ids_cpu, mask), mask.to(self.device)
            if not rest:
                break
            epoch = self.begin()  # the previous group's compute is enqueued: its slots may go
            size = max(1, self.num_free() // 2)
            group, rest = rest[:size], rest[size:]
        if prefetch is not None:
            self.prefetch(prefetch[0], predicted)

    def _free_for(self, layer: int, present: list[int]) -> int:
        """Slots free for the missing experts once the present ones of ``layer`` are locked."""
        rows = (self.where[(layer, e)] for e in present)
        return self.num_free() - sum(
            1 for r in rows if r >= self.num_permanent and self.locked.get(r, -1) < self.epoch
        )

    def _rows(self, layer: int, ids_cpu: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        lut = self.lut[layer]
        found = [lut[e] for e in ids_cpu.view(-1).tolist()]  # Python lists: a decode step is a few ids
        rows = torch.tensor(found, dtype=torch.long).view(ids_cpu.shape)
        if mask is not None:  # routes outside the group: any valid row (their mask is False)
            rows = torch.where(mask, rows, rows[mask][0] if mask.any() else 0)
            assert bool((rows >= 0).all()), "a routed expert has no row"
        else:
            assert min(found) >= 0, "a routed expert has no row"
        return rows.to(self.device, non_blocking=True)


class OffloadedExperts:
    """One layer's experts through an ``ExpertPool``, with the ``ExpertStore`` interface."""

    def __init__(self, layer: int, pool: ExpertPool):
        self.layer, self.pool = layer, pool
        self.num_experts = pool.num_experts

    def fetch(self, expert_ids: torch.Tensor) -> tuple[PackedExperts, torch.Tensor]:
        """expert_ids [T, k] -> (the pool's rows, ids as row numbers). The routes' distinct experts must fit
        in the pool (always true for decode); a prefill chunk goes through ``fetch_groups``."""
        groups = self.fetch_groups(expert_ids)
        packed, rows, mask = next(groups)
        if mask is not None:
            groups.close()
            raise NoFreeSlot(
                f"layer {self.layer}: the routed experts do not fit in the {self.pool.num_slots} "
                "cache slots at once; use fetch_groups (OffloadMoE does)"
            )
        groups.close()
        return packed, rows

    def fetch_groups(
        self, expert_ids: torch.Tensor, prefetch: tuple[int, torch.Tensor] | None = None, elsewhere=None
    ):
        return self.pool.groups(self.layer, expert_ids, prefetch=prefetch, elsewhere=elsewhere)

    def prefetch(self, expert_ids: torch.Tensor | Iterable[int]) -> int:
        ids = expert_ids.reshape(-1).tolist() if isinstance(expert_ids, torch.Tensor) else expert_ids
        return self.pool.prefetch(self.layer, ids)

    def nbytes(self) -> int:
        """Device bytes of this layer's experts kept on the device for good (the pool's slots are the pool's)."""
        permanent = self.pool.keys[: self.pool.num_permanent]
        return sum(self.pool.expert_bytes for (n, _) in permanent if n == self.layer)

    def devices(self) -> set[torch.device]:
        return {self.pool.device}
