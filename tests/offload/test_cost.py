"""The cost model of hybrid placement on given numbers: which missing experts a step computes on the CPU."""

from __future__ import annotations

import pytest

from engine.offload.cost import (
    BATCH_COPY_TOKENS,
    CostModel,
    assumed,
    choice,
    cpu_count,
    describe_choice,
    expert_flops,
    step_seconds,
)

MS = 1e-3
SLOW_BUS = CostModel(copy_s=0.9 * MS, cpu_s=0.3 * MS, cpu_token_s=0.25 * MS, device_s=0.02 * MS)
FAST_BUS = CostModel(copy_s=0.2 * MS, cpu_s=1.0 * MS, cpu_token_s=0.25 * MS, device_s=0.02 * MS)


def test_a_slow_bus_sends_most_of_a_decode_steps_misses_to_the_cpu():
    """Four cold experts of one token over PCIe x8: three on the CPU, one copied, both sides busy alike."""
    n = cpu_count("auto", SLOW_BUS, [1, 1, 1, 1], hits=0, tokens=1)
    assert n == 3
    assert step_seconds(SLOW_BUS, [1] * 4, 0, n) < step_seconds(SLOW_BUS, [1] * 4, 0, 0) / 3


def test_a_fast_bus_copies():
    """When the CPU takes longer for one expert than the bus for all of them, everything is copied."""
    assert cpu_count("auto", FAST_BUS, [1, 1, 1, 1], hits=0, tokens=1) == 0


def test_hits_stay_on_the_device_and_weigh_on_its_side():
    """Hits are never offered to the CPU; the device's work on them makes the CPU take a larger share."""
    assert cpu_count("auto", SLOW_BUS, [], hits=4, tokens=1) == 0
    busy = CostModel(copy_s=0.9 * MS, cpu_s=0.3 * MS, cpu_token_s=0.25 * MS, device_s=0.5 * MS)
    assert cpu_count("auto", busy, [1, 1], hits=3, tokens=1) >= cpu_count("auto", busy, [1, 1], 0, 1)


@pytest.mark.parametrize("mode", ["auto", "cpu"])
def test_a_prefill_chunk_copies(mode):
    """A step of BATCH_COPY_TOKENS or more tokens copies in every mode, even on the slowest bus."""
    slowest = CostModel(copy_s=1.0, cpu_s=1e-6, cpu_token_s=1e-6, device_s=1e-6)
    assert cpu_count(mode, slowest, [8] * 16, hits=0, tokens=BATCH_COPY_TOKENS) == 0
    assert cpu_count(mode, slowest, [8] * 16, hits=0, tokens=BATCH_COPY_TOKENS - 1) == 16


def test_many_tokens_an_expert_favour_copying():
    """The CPU's time grows with the tokens routed to an expert; a copy's does not."""
    assert cpu_count("auto", SLOW_BUS, [1, 1], 0, 2) > 0
    assert cpu_count("auto", SLOW_BUS, [12, 12], 0, 24) == 0


def test_the_misses_with_fewest_tokens_go_first():
    """Given misses ordered fewest tokens first, the count chosen takes the cheap ones for the CPU."""
    n = cpu_count("auto", SLOW_BUS, [1, 1, 9, 9], 0, 10)
    assert 0 < n <= 2


def test_modes_and_missing_numbers():
    """copy: never the CPU; cpu: every miss of a decode step; auto without numbers: copy."""
    assert cpu_count("copy", SLOW_BUS, [1, 1], 0, 1) == 0
    assert cpu_count("cpu", FAST_BUS, [1, 1], 0, 1) == 2
    assert cpu_count("auto", None, [1, 1], 0, 1) == 0
    assert cpu_count("auto", SLOW_BUS, [], 0, 1) == 0


def test_a_tie_copies():
    """Equal modelled times: copying wins (a copied expert stays cached for later steps)."""
    even = CostModel(copy_s=1 * MS, cpu_s=1 * MS - 60e-6, cpu_token_s=0.0, device_s=0.0)
    assert step_seconds(even, [1], 0, 0) == pytest.approx(step_seconds(even, [1], 0, 1))
    assert cpu_count("auto", even, [1], 0, 1) == 0


def test_assumed_numbers_and_words():
    """A gpt-oss-20b expert over PCIe 4 x8 takes about a millisecond; the plan's line says what auto does."""
    costs = assumed(13_200_000, expert_flops(2880, 2880))
    assert 0.8 * MS < costs.copy_s < 1.1 * MS and costs.source == "assumed"
    facts = choice("auto", costs, 4)
    assert facts["cpu_of_all_missing"] == 3 and facts["costs"]["copy_us"] == round(costs.copy_s * 1e6, 1)
    assert "computes 3 on the CPU and copies 1" in describe_choice(facts)
    assert "copied in" in describe_choice(choice("copy", costs, 4))
    assert "computed on the CPU" in describe_choice(choice("cpu", None, 4))
