"""The context the card can hold: the default a first load takes, for several simulated budgets."""

from __future__ import annotations

import pytest

from engine.config import ModelConfig
from engine.placement.context_choice import CHOICES, UNBUDGETED_CONTEXT, context_choices, default_context
from engine.placement.plan import GiB, PlanOptions, make_plan
from engine.runtime.auto_context import automatic_context, choices_for
from engine.runtime.loader import load_model

GPT_OSS_20B = ModelConfig()


@pytest.mark.parametrize(
    ("budget_gib", "expected"),
    [(8, 8192), (12, 8192), (14, 32768), (15, 65536), (16, 131072), (24, 131072)],
)
def test_the_default_is_the_largest_context_that_keeps_every_expert_on_the_gpu(budget_gib, expected):
    """gpt-oss-20b: 16 GiB holds 128k with every expert resident; 14 GiB 32k; 12 GiB none (the smallest)."""
    assert default_context(GPT_OSS_20B, budget_gib * GiB) == expected


@pytest.mark.parametrize("budget_gib", [13.0, 13.5, 14.2, 14.7, 15.3, 20.0])
def test_the_default_does_not_offload_and_the_next_choice_would(budget_gib):
    """Whatever the budget: the chosen context's plan keeps all experts on the GPU, the next larger does not."""
    budget = int(budget_gib * GiB)
    chosen = default_context(GPT_OSS_20B, budget)
    plan = make_plan(GPT_OSS_20B, budget, chosen)
    if plan.offloads:  # nothing fits without offloading: the smallest choice
        assert chosen == CHOICES[0]
        return
    larger = [n for n in CHOICES if n > chosen]
    assert not larger or make_plan(GPT_OSS_20B, budget, larger[0]).offloads


def test_without_a_budget_the_default_is_the_unbudgeted_context():
    """On the CPU (no card) the default is 16k, whatever RAM there is."""
    assert default_context(GPT_OSS_20B, None) == UNBUDGETED_CONTEXT


def test_each_choice_says_its_memory_and_whether_it_offloads():
    """Settings shows each choice: more context costs more KV cache; a small card offloads the long ones."""
    choices = context_choices(GPT_OSS_20B, 14 * GiB)
    assert [c.context_length for c in choices] == list(CHOICES)
    assert [c.kv_cache_bytes for c in choices] == sorted(c.kv_cache_bytes for c in choices)
    assert [c.offloads for c in choices] == [False, False, False, True, True]
    assert all(c.fits and c.plan["num_layers"] == 24 for c in choices)
    assert choices[0].as_dict()["plan"]["device_bytes"] == choices[0].device_bytes


def test_a_model_with_a_short_context_offers_only_what_it_supports():
    """A model made for 16k tokens offers 8k and 16k, and never more than its own longest."""
    short = ModelConfig(max_position_embeddings=16384)
    assert [c.context_length for c in context_choices(short, 80 * GiB)] == [8192, 16384]
    assert default_context(short, None) == 16384


def test_automatic_context_plans_the_tiny_model_for_a_simulated_budget(tiny_model_dir):
    """The tiny model on the CPU: a simulated card picks by the plan; no budget picks the CPU's default."""
    assert automatic_context(tiny_model_dir, "cpu", None) == UNBUDGETED_CONTEXT
    assert automatic_context(tiny_model_dir, "cpu", "1GiB") == CHOICES[-1]
    assert automatic_context(tiny_model_dir, "cpu", 30_000_000) == CHOICES[0]


def test_choices_for_a_loaded_model_use_its_budget(tiny_model_dir):
    """A model loaded for a budget lists its choices at that budget, with the planner's options."""
    model = load_model(tiny_model_dir, device="cpu", vram_budget="1GiB", context_length=8192)
    choices = choices_for(model)
    assert [c.context_length for c in choices] == list(CHOICES)
    assert all(c.plan["budget_bytes"] == 1 * GiB for c in choices)
    assert choices == context_choices(model.config, GiB, PlanOptions(**vars(model.plan.options)))
