"""The expert pool on the CPU: rows hold the right experts, counters follow hand-computed routings,
eviction (segmented LRU vs LRU), locks, prefetch, and prefill streaming in groups."""

from __future__ import annotations

import pytest
import torch

from engine.layers.experts import PackedExperts
from engine.offload.pool import FIELDS, ExpertPool, NoFreeSlot, OffloadedExperts

E = 8


def host_layer(layer: int, num_experts: int = E) -> PackedExperts:
    """Tiny experts whose every byte says which (layer, expert) they are: value layer * 16 + expert."""
    tag = torch.tensor([layer * 16 + e for e in range(num_experts)], dtype=torch.uint8)
    return PackedExperts(
        mlp1_blocks=tag.view(-1, 1, 1, 1).expand(-1, 4, 2, 16).contiguous(),
        mlp1_scales=tag.view(-1, 1, 1).expand(-1, 4, 2).contiguous(),
        mlp1_bias=tag.view(-1, 1).expand(-1, 4).to(torch.bfloat16).contiguous(),
        mlp2_blocks=tag.view(-1, 1, 1, 1).expand(-1, 2, 2, 16).contiguous(),
        mlp2_scales=tag.view(-1, 1, 1).expand(-1, 2, 2).contiguous(),
        mlp2_bias=tag.view(-1, 1).expand(-1, 2).to(torch.bfloat16).contiguous(),
    )


def make_pool(layers=(0,), slots=4, policy="lru", resident=None) -> ExpertPool:
    return ExpertPool({n: host_layer(n) for n in layers}, slots, "cpu", resident=resident, policy=policy)


def ids(*experts) -> torch.Tensor:
    return torch.tensor([list(experts)])  # one token routed to these experts: [1, k]


def check_rows(
    packed: PackedExperts,
    layer: int,
    expert_ids: torch.Tensor,
    rows: torch.Tensor,
    mask: torch.Tensor | None = None,
) -> None:
    """Each served route's row holds that expert, in every field."""
    for (t, j), e in zip(
        torch.cartesian_prod(torch.arange(rows.shape[0]), torch.arange(rows.shape[1])).tolist(),
        expert_ids.reshape(-1).tolist(),
    ):
        if mask is not None and not mask[t, j]:
            continue
        for f in FIELDS:
            assert (getattr(packed, f)[rows[t, j]].float() == layer * 16 + e).all(), (f, layer, e)


def fetch(pool: ExpertPool, layer: int, *experts):
    store = OffloadedExperts(layer, pool)
    packed, rows = store.fetch(ids(*experts))
    check_rows(packed, layer, ids(*experts), rows)
    return rows


def test_hits_and_misses_of_a_hand_computed_routing_lru():
    """4 slots, plain LRU: [0,1] [0,2] [3,4] [1,0] -> 2 hits, 6 misses; expert 1 and then 2 are evicted."""
    pool = make_pool(policy="lru")
    for step in ([0, 1], [0, 2], [3, 4], [1, 0]):
        fetch(pool, 0, *step)
    s = pool.stats
    assert (s.hits, s.misses, s.h2d_bytes) == (2, 6, 6 * pool.expert_bytes)
    assert pool.cached(0) == [0, 1, 3, 4]
    assert s.expert_hit_rate == pytest.approx(2 / 8)
    assert s.tokens == 4 and s.h2d_bytes_per_token == pytest.approx(6 * pool.expert_bytes / 4)


@pytest.mark.parametrize("policy, hits, misses", [("lru", 2, 8), ("slru", 4, 6)])
def test_segmented_lru_survives_a_scan(policy, hits, misses):
    """[0,1] twice, then a scan [2,3] [4,5], then [0,1]: LRU lost 0 and 1, segmented LRU kept them."""
    pool = make_pool(policy=policy)
    for step in ([0, 1], [0, 1], [2, 3], [4, 5], [0, 1]):
        fetch(pool, 0, *step)
    assert (pool.stats.hits, pool.stats.misses) == (hits, misses)


def test_one_pool_serves_several_layers():
    """Layers share slots; a layer's expert never answers for another layer's."""
    pool = make_pool(layers=(1, 3), slots=4)
    fetch(pool, 1, 0, 1)
    fetch(pool, 3, 0, 1)  # same expert numbers, other layer: misses
    fetch(pool, 1, 1, 0)
    assert (pool.stats.hits, pool.stats.misses) == (2, 4)
    assert pool.cached(1) == [0, 1] and pool.cached(3) == [0, 1]
    assert pool.stats.tokens == 2  # counted at the first offloaded layer


def test_permanent_rows_serve_without_counting():
    """Experts the plan keeps on the device for an offloaded layer live before the slots, never evicted."""
    pool = make_pool(slots=2, resident={0: [5, 6]})
    assert pool.num_permanent == 2 and pool.nbytes() == 4 * pool.expert_bytes
    for step in ([5, 1], [2, 3], [6, 4], [5, 6]):
        rows = fetch(pool, 0, *step)
    assert rows.tolist() == [[0, 1]]
    assert (pool.stats.hits, pool.stats.misses) == (0, 4)
    assert OffloadedExperts(0, pool).nbytes() == 2 * pool.expert_bytes


def test_more_experts_than_slots_is_an_error_for_fetch():
    """fetch() serves a step at once or says so; fetch_groups streams instead."""
    pool = make_pool(slots=2)
    with pytest.raises(NoFreeSlot, match="fetch_groups"):
        OffloadedExperts(0, pool).fetch(ids(0, 1, 2))


def test_prefetch_then_fetch_hits():
    """A prefetch copies ahead; the next fetch of those experts hits and is counted as a prefetch hit."""
    pool = make_pool(layers=(0, 1), slots=4)
    store0, store1 = OffloadedExperts(0, pool), OffloadedExperts(1, pool)
    groups = store0.fetch_groups(ids(0, 1), prefetch=(1, torch.tensor([[2, 3]])))
    packed, rows, mask = next(groups)
    assert mask is None
    assert pool.stats.prefetched == 2 and pool.cached(1) == [2, 3]
    groups.close()
    packed, rows = store1.fetch(ids(3, 2))
    check_rows(packed, 1, ids(3, 2), rows)
    s = pool.stats
    assert (s.hits, s.misses, s.prefetched, s.prefetch_hits) == (2, 2, 2, 2)
    assert s.h2d_bytes == 4 * pool.expert_bytes
    assert store1.prefetch([2, 3, 4]) == 1  # 2 and 3 are there already


def test_locks_protect_the_current_step_and_the_prefetch():
    """While a step's rows and the next layer's prefetch hold every slot, a further prefetch copies nothing."""
    pool = make_pool(layers=(0, 1), slots=4)
    groups = OffloadedExperts(0, pool).fetch_groups(ids(0, 1), prefetch=(1, torch.tensor([[2, 3]])))
    next(groups)
    assert pool.prefetch(1, [5]) == 0 and pool.num_free() == 0
    groups.close()
    rows = fetch(pool, 1, 2, 3)  # the next step: layer 0's rows are free again, the prefetched ones hit
    assert pool.num_free() == 2 and pool.prefetch(0, [6, 7]) == 2
    assert sorted(rows.reshape(-1).tolist()) == sorted(pool.where[(1, e)] for e in (2, 3))


def test_prefetch_guesses_give_way_when_a_step_needs_the_slots():
    """A prefetch for another layer is only a hint: a step that needs every slot takes them."""
    pool = make_pool(layers=(0, 1), slots=4)
    pool.prefetch(1, [0, 1, 2, 3])
    fetch(pool, 0, 4, 5, 6, 7)
    assert pool.cached(1) == [] and pool.cached(0) == [4, 5, 6, 7]


@pytest.mark.parametrize("slots", [1, 2, 3, 4, 5, 8])
def test_prefill_streams_groups_that_cover_every_route_once(slots):
    """A chunk routed to all 8 experts streams through few slots: the groups' masks split the routes exactly,
    every row holds its expert, and each missing expert is copied once."""
    pool = make_pool(slots=slots, policy="slru")
    fetch(pool, 0, 6) if slots > 1 else None  # something cached already
    before = pool.stats.misses
    gen = torch.Generator().manual_seed(0)
    expert_ids = torch.stack([torch.randperm(E, generator=gen)[:2] for _ in range(40)])  # [40, 2]
    seen = torch.zeros(expert_ids.shape, dtype=torch.int64)
    count = 0
    for packed, rows, mask in OffloadedExperts(0, pool).fetch_groups(expert_ids):
        mask = torch.ones_like(seen, dtype=torch.bool) if mask is None else mask
        check_rows(packed, 0, expert_ids, rows, mask)
        seen += mask.long()
        count += 1
    assert (seen == 1).all()
    needed = len(torch.unique(expert_ids))
    assert pool.stats.misses - before == needed - (1 if slots > 1 and 6 in expert_ids else 0)
    assert (count == 1) == (slots >= needed)
    assert pool.stats.groups == (0 if slots >= needed else 1)
