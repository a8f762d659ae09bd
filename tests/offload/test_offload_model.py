"""A whole model with none, some or all experts offloaded gives the same logits, bit for bit, on the CPU
with a simulated budget; what it places in the device pool stays within the budget."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from engine.config import ModelConfig
from engine.io.checkpoint import read_config
from engine.offload.build import (
    apply_plan,
    host_layers_of,
    load_planned,
    placed_device_bytes,
    replan_model,
)
from engine.offload.moe import OffloadMoE
from engine.offload.pool import OffloadedExperts
from engine.placement.plan import LayerPlacement, PlanOptions, make_plan
from engine.runtime.loader import load_model, load_with_replan

CTX, PROMPT, DECODE = 64, 30, 6
CPU = PlanOptions(device="cpu")


def logits_of(model) -> torch.Tensor:
    """Prefill PROMPT tokens (every position's logits), then decode DECODE more one at a time."""
    ids = torch.randint(0, 199998, (PROMPT + DECODE,), generator=torch.Generator().manual_seed(1))
    cache = model.new_cache(CTX)
    out = [model.forward(ids[:PROMPT], cache)]
    out += [model.forward(ids[i : i + 1], cache) for i in range(PROMPT, PROMPT + DECODE)]
    return torch.cat(out)


def plans(cfg: ModelConfig) -> dict[str, object]:
    full = make_plan(cfg, None, CTX, options=CPU)
    low = make_plan(cfg, full.min_budget_bytes, CTX, options=CPU)
    two_layers = 2 * cfg.num_experts * cfg.expert_bytes()
    mid = make_plan(cfg, low.total_device_bytes + two_layers, CTX, options=CPU)
    e = cfg.num_experts
    partial = tuple(LayerPlacement(n, (0, 3, 5) if n == 1 else tuple(range(e)), e) for n in range(4))
    return {
        "none": full,
        "some": mid,
        "all, fewest slots": low,
        "all, streaming through 2 slots": dataclasses.replace(low, num_slots=2),
        "all, a slot per expert": dataclasses.replace(low, num_slots=4 * e),
        "some, last layers": make_plan(
            cfg, mid.budget_bytes, CTX, options=dataclasses.replace(CPU, offload_order="last")
        ),
        "a layer partly resident": dataclasses.replace(low, layers=partial, num_slots=3),
    }


@pytest.fixture(scope="module")
def reference(offload_model_dir):
    return logits_of(load_model(offload_model_dir, device="cpu"))


def test_the_plans_offload_what_their_names_say(offload_model_dir):
    """none: 0 layers; some: between; all: 4 (the fixture's plans are what the other tests rely on)."""
    cfg = read_config(offload_model_dir)
    counts = {name: len(p.offloaded_layers) for name, p in plans(cfg).items()}
    assert counts["none"] == 0 and 0 < counts["some"] < 4 and counts["all, fewest slots"] == 4
    assert plans(cfg)["all, fewest slots"].num_slots == 2 * cfg.experts_per_token


@pytest.mark.parametrize(
    "name",
    [
        "none",
        "some",
        "all, fewest slots",
        "all, streaming through 2 slots",
        "all, a slot per expert",
        "some, last layers",
        "a layer partly resident",
    ],
)
def test_logits_identical_whatever_is_offloaded(offload_model_dir, reference, name):
    """Prefill and decode logits equal the all-resident model's exactly, and counters add up."""
    cfg = read_config(offload_model_dir)
    plan = plans(cfg)[name]
    model = load_planned(offload_model_dir, "cpu", plan)
    model.prefill_chunk = 512  # as the reference (chunking is the model's business, not offloading's)
    assert torch.equal(logits_of(model), reference)
    pool = model.offload_pool
    if not plan.offloads:
        assert pool is None and not any(isinstance(b.mlp, OffloadMoE) for b in model.blocks)
        return
    s = pool.stats
    assert s.tokens == PROMPT + DECODE
    assert s.h2d_bytes == (s.misses + s.prefetched) * pool.expert_bytes
    assert s.prefetch_hits <= min(s.prefetched, s.hits)
    if name == "all, streaming through 2 slots":
        assert s.groups >= 4  # every layer's prefill chunk came in groups


@pytest.mark.parametrize("slots", [4, 8])
def test_top4_routing_identical_too(offload_model_dir_k4, slots):
    """With four routes per token: a token's expert outputs are summed in expert order whatever slots hold
    them (engine.layers.moe.by_expert), so the float32 sums see the same terms in the same order."""
    reference = logits_of(load_model(offload_model_dir_k4, device="cpu"))
    cfg = read_config(offload_model_dir_k4)
    plan = dataclasses.replace(make_plan(cfg, 0, CTX, options=CPU), num_slots=slots, fits=True)
    plan = dataclasses.replace(plan, layers=tuple(LayerPlacement(n, (), 8) for n in range(4)))
    model = load_planned(offload_model_dir_k4, "cpu", plan)
    model.prefill_chunk = 512
    assert torch.equal(logits_of(model), reference)


def test_device_pool_stays_within_the_simulated_budget(offload_model_dir):
    """Weights, resident experts, slots and the KV cache placed in the device pool fit the budget the plan had."""
    cfg = read_config(offload_model_dir)
    for name, plan in plans(cfg).items():
        if name not in ("some", "all, fewest slots", "some, last layers"):  # the others are edited by hand
            continue
        model = load_planned(offload_model_dir, "cpu", plan)
        placed = placed_device_bytes(model)
        d = plan.device_bytes
        assert placed["weights"] <= d["attention"] + d["norms_routers"] + d["unembedding"] + d["embedding"], (
            name
        )
        assert placed["experts"] == d["experts"] and placed["expert_slots"] == d["expert_slots"], name
        kv = model.new_cache(CTX).nbytes()
        assert kv <= d["kv_cache"], name
        assert placed["total"] + kv + d["workspace"] <= plan.budget_bytes, name


def test_apply_plan_on_a_loaded_model(offload_model_dir, reference):
    """The same model re-placed by several plans in turn (what a re-plan after an OOM does) keeps its logits."""
    model = load_model(offload_model_dir, device="cpu")
    host = host_layers_of(model.checkpoint)
    cfg = model.config
    for name in ("all, fewest slots", "some", "none", "all, streaming through 2 slots"):
        plan = plans(cfg)[name]
        apply_plan(model, plan, host)
        model.prefill_chunk = 512
        assert torch.equal(logits_of(model), reference), name
        stores = [b.mlp.base.store if isinstance(b.mlp, OffloadMoE) else b.mlp.store for b in model.blocks]
        assert [isinstance(s, OffloadedExperts) for s in stores] == [
            n in plan.offloaded_layers for n in range(4)
        ]


def test_load_with_replan_passes_through_without_oom(offload_model_dir):
    """No out-of-memory: the plan is used as given and nobody is told anything."""
    cfg = read_config(offload_model_dir)
    plan = plans(cfg)["some"]
    said = []
    model = load_with_replan(offload_model_dir, "cpu", plan, notify=said.append)
    assert model.plan == plan and said == []


def test_load_with_replan_after_oom(offload_model_dir, monkeypatch):
    """An out-of-memory while loading re-plans with a lower budget, says so, and loads."""
    import engine.runtime.loader as loader

    cfg = read_config(offload_model_dir)
    plan = make_plan(cfg, 10 * 2**30, CTX, options=CPU)
    real, calls = loader.load_planned, []

    def flaky(path, device, plan, **kw):
        calls.append(plan)
        if len(calls) == 1:
            raise torch.OutOfMemoryError("CUDA out of memory (simulated)")
        return real(path, device, plan, **kw)

    monkeypatch.setattr(loader, "load_planned", flaky)
    monkeypatch.setattr(torch.cuda, "empty_cache", lambda: None)
    said = []
    model = loader.load_with_replan(offload_model_dir, "cpu", plan, notify=said.append)
    assert len(calls) == 2 and calls[1].budget_bytes < plan.budget_bytes
    assert model.plan.budget_source == "after out-of-memory" and "ran out of memory" in said[0].text
    assert said[0].kind == "replanned" and said[0].budget_bytes == model.plan.budget_bytes
    assert said[0].context_length is None  # the budget was enough at this context


def test_model_level_wiring(offload_model_dir, reference):
    """Once engine.runtime.loader takes a budget on the CPU (issue #4 wiring), load_model offloads by itself."""
    cfg = read_config(offload_model_dir)
    budget = plans(cfg)["some"].budget_bytes
    model = load_model(offload_model_dir, device="cpu", vram_budget=budget, context_length=CTX)
    if getattr(model, "plan", None) is None:
        pytest.skip("engine.runtime.loader does not plan yet (the issue #4 wiring has not landed)")
    assert model.plan.offloads and model.plan.budget_bytes == budget
    model.prefill_chunk = 512
    assert torch.equal(logits_of(model), reference)
    assert placed_device_bytes(model)["total"] <= budget


def test_replan_model_after_oom_in_generation(offload_model_dir, reference):
    """An out-of-memory while generating: the model is re-placed with more offload, says so, same logits."""
    cfg = read_config(offload_model_dir)
    before = plans(cfg)["some"]
    model = load_planned(offload_model_dir, "cpu", before)
    notice = replan_model(model, shortfall=2 * cfg.num_experts * cfg.expert_bytes())
    assert "ran out of memory" in notice.text and notice.kind == "replanned"
    assert notice.budget_bytes == model.plan.budget_bytes and notice.context_length is None
    assert model.plan.budget_bytes < before.budget_bytes
    assert len(model.plan.offloaded_layers) > len(before.offloaded_layers)
    model.prefill_chunk = 512
    assert torch.equal(logits_of(model), reference)
