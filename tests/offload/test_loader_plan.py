"""engine.runtime.loader.load_model plans by itself (issue #4 wiring): a budget on the CPU is simulated, one too
small is refused with the plan's words, and the model says where its weights are."""

from __future__ import annotations

import pytest
import torch

from engine.errors import EngineError, OutOfMemoryError
from engine.io.checkpoint import read_config
from engine.offload.build import placed_device_bytes
from engine.placement.memory import format_size
from engine.placement.plan import PlanOptions, make_plan
from engine.runtime.loader import load_model

CTX = 64
CPU = PlanOptions(device="cpu")


def test_no_budget_on_the_cpu_places_everything_in_memory(offload_model_dir):
    """Without a budget the plan puts everything on the (CPU) device: nothing offloaded, no pool, and
    describe() does not talk about budgets."""
    model = load_model(offload_model_dir, "cpu", context_length=CTX)
    assert model.plan is not None and model.plan.budget_bytes is None and not model.plan.offloads
    assert model.offload_pool is None and model.context_length == CTX
    sizes = model.weight_bytes()
    assert sizes["host"] == sizes["expert_slots"] == 0
    assert sizes["total"] == sizes["experts"] + sizes["dense"]
    assert "GPU" not in model.describe() and model.checkpoint is not None


def test_a_budget_that_offloads_some_layers(offload_model_dir):
    """A budget between the minimum and everything: some layers' experts in host memory, the model's own
    count of device bytes stays within the budget, and describe() ends with the plan's summary."""
    cfg = read_config(offload_model_dir)
    low = make_plan(cfg, make_plan(cfg, None, CTX, options=CPU).min_budget_bytes, CTX, options=CPU)
    budget = low.total_device_bytes + 2 * cfg.num_experts * cfg.expert_bytes()
    model = load_model(offload_model_dir, "cpu", vram_budget=str(budget), context_length=CTX)
    plan = model.plan
    assert 0 < len(plan.offloaded_layers) < cfg.num_hidden_layers and plan.budget_source == "user"
    sizes = model.weight_bytes()
    assert sizes["expert_slots"] == plan.num_slots * cfg.expert_bytes() and sizes["host"] > 0
    assert sizes["total"] + model.new_cache(CTX).nbytes() <= budget
    assert placed_device_bytes(model)["total"] <= budget
    assert model.describe().endswith(plan.summary()) and "layers in RAM" in plan.summary()


@pytest.mark.parametrize("budgeted", [False, True], ids=["no budget", "a budget that offloads"])
def test_facts_are_what_describe_says(offload_model_dir, budgeted):
    """facts() gives describe()'s numbers as a plain dict (for the app to word in the user's language): the
    device, sizes, shape and context, and the placement's facts only when placed for a budget."""
    cfg = read_config(offload_model_dir)
    low = make_plan(cfg, make_plan(cfg, None, CTX, options=CPU).min_budget_bytes, CTX, options=CPU)
    budget = low.total_device_bytes + 2 * cfg.num_experts * cfg.expert_bytes() if budgeted else None
    model = load_model(offload_model_dir, "cpu", vram_budget=budget, context_length=CTX)
    facts, sizes, text = model.facts(), model.weight_bytes(), model.describe()
    assert facts["device_type"] == facts["device"] == "cpu" and text.startswith("CPU (cpu)")
    assert (facts["weight_bytes"], facts["expert_bytes"], facts["host_bytes"]) == (
        sizes["total"],
        sizes["experts"],
        sizes["host"],
    )
    assert (facts["num_layers"], facts["num_experts"], facts["experts_per_token"]) == (4, 8, 2)
    assert "4 layers, 8 experts (top 2), context 64" in text and facts["context_length"] == CTX
    assert facts["dense_cache_bytes"] == model.dense_cache.max_bytes > 0 and facts["int8"] is False
    assert f"dequantized-expert cache {facts['dense_cache_bytes'] / 2**30:.2f} GiB" in text
    if not budgeted:
        assert facts["plan"] is None and "GPU" not in text
        return
    plan = model.plan
    assert facts["plan"] == {
        "device": "cpu",
        "budget_bytes": budget,
        "device_bytes": plan.total_device_bytes,
        "num_layers": 4,
        "num_offloaded_layers": len(plan.offloaded_layers),
        "num_slots": plan.num_slots,
        "embedding_in_ram": True,
    }
    assert 0 < facts["plan"]["num_offloaded_layers"] < 4
    assert text.endswith(
        f"GPU (simulated) {format_size(plan.total_device_bytes)} · experts of "
        f"{facts['plan']['num_offloaded_layers']} of 4 layers in RAM ({plan.num_slots} cache slots)"
    )


def test_a_budget_too_small_is_refused_with_what_would_fit(offload_model_dir):
    """Below the smallest working plan: OutOfMemoryError with the plan's own explanation, which names the
    longest context this budget holds."""
    cfg = read_config(offload_model_dir)
    big = 4096
    needed = make_plan(cfg, None, big, options=CPU).min_budget_bytes
    budget = make_plan(cfg, None, CTX, options=CPU).min_budget_bytes
    assert budget < needed
    with pytest.raises(OutOfMemoryError) as caught:
        load_model(offload_model_dir, "cpu", vram_budget=budget, context_length=big)
    plan = make_plan(cfg, budget, big, options=CPU)
    assert str(caught.value) == plan.problem
    assert f"at most {plan.max_context} tokens" in str(caught.value) and plan.max_context >= CTX


@pytest.mark.parametrize("budget", ["12 apples", "-3GiB"])
def test_a_budget_that_is_no_size_is_a_clear_error(offload_model_dir, budget):
    """A budget string that is not a size says so (and how to write one)."""
    with pytest.raises(EngineError, match="GPU memory budget"):
        load_model(offload_model_dir, "cpu", vram_budget=budget)


def test_auto_on_the_cpu_means_no_budget(offload_model_dir):
    """ "auto" measures a GPU's free memory; on the CPU there is none to measure, so nothing is offloaded."""
    model = load_model(offload_model_dir, "cpu", vram_budget="auto", context_length=CTX)
    assert model.plan.budget_bytes is None and not model.plan.offloads


def test_plan_options_reach_the_planner(offload_model_dir):
    """plan_options (here: logits of every position) shape the plan; the device comes from the load."""
    model = load_model(
        offload_model_dir, "cpu", context_length=CTX, plan_options=PlanOptions(device="cuda", all_logits=True)
    )
    assert model.plan.options.all_logits and model.plan.device == "cpu"
    assert torch.equal(model.embedding, model.checkpoint.get("embedding"))
