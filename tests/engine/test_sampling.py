"""Sampling functions: greedy, temperature, the top-p nucleus, seeds."""

from __future__ import annotations

import pytest
import torch

from engine.runtime.sampling import SamplingParams, logits_to_probs, make_generator, sample


def test_greedy_takes_the_argmax():
    """Temperature 0 always picks the largest logit."""
    logits = torch.tensor([0.1, 3.0, 2.9, -1.0])
    assert sample(logits, SamplingParams(temperature=0.0)) == 1


def test_top_p_keeps_the_smallest_nucleus_reaching_the_mass():
    """With top_p 0.6 only the tokens needed to reach 60% of the mass can be drawn."""
    probs = torch.tensor([0.5, 0.3, 0.15, 0.05])
    kept = logits_to_probs(probs.log(), SamplingParams(temperature=1.0, top_p=0.6))
    assert kept[2] == 0 and kept[3] == 0
    assert torch.allclose(kept[:2], torch.tensor([0.5, 0.3]) / 0.8)


def test_top_p_always_keeps_the_most_likely_token():
    """A tiny top_p still leaves one token to draw."""
    kept = logits_to_probs(torch.tensor([2.0, 1.0, 0.0]), SamplingParams(top_p=1e-6))
    assert kept.tolist() == [1.0, 0.0, 0.0]


def test_temperature_sharpens_and_flattens():
    """Lower temperature puts more mass on the top token."""
    logits = torch.tensor([1.0, 0.0])
    cold = logits_to_probs(logits, SamplingParams(temperature=0.5))[0]
    hot = logits_to_probs(logits, SamplingParams(temperature=2.0))[0]
    assert cold > torch.softmax(logits, -1)[0] > hot


def test_a_seed_fixes_the_draws():
    """The same seed draws the same tokens."""
    logits = torch.zeros(1000)
    draw = lambda seed: [sample(logits, SamplingParams(), make_generator(seed)) for _ in range(5)]  # noqa: E731
    assert draw(1) == draw(1) != draw(2)


@pytest.mark.parametrize("kwargs", [{"temperature": -1.0}, {"top_p": 0.0}, {"top_p": 1.5}])
def test_invalid_settings_are_refused(kwargs):
    """Out-of-range settings raise ValueError naming the setting."""
    with pytest.raises(ValueError, match=next(iter(kwargs))):
        SamplingParams(**kwargs)
