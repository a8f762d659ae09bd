"""Sampling functions: greedy, temperature, top-k, the top-p nucleus, seeds, and the draw on the device
against the plain reference sampler."""

from __future__ import annotations

import math

import pytest
import torch

from engine.errors import NonFiniteLogitsError
from engine.runtime.sampling import NON_FINITE, SamplingParams, draw, logits_to_probs, make_generator, sample


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
    drawn = lambda seed: [sample(logits, SamplingParams(), make_generator(seed)) for _ in range(5)]
    assert drawn(1) == drawn(1) != drawn(2)


@pytest.mark.parametrize(
    "kwargs", [{"temperature": -1.0}, {"top_p": 0.0}, {"top_p": 1.5}, {"top_k": -1}, {"top_k": 2.5}]
)
def test_invalid_settings_are_refused(kwargs):
    """Out-of-range settings raise ValueError naming the setting."""
    with pytest.raises(ValueError, match=next(iter(kwargs))):
        SamplingParams(**kwargs)


def test_top_k_keeps_only_the_k_most_likely():
    """top_k 2 leaves the two largest logits, renormalised; top-p then cuts inside what is left."""
    logits = torch.tensor([1.0, 3.0, 2.0, 0.5])
    kept = logits_to_probs(logits, SamplingParams(top_k=2))
    assert kept[0] == 0 and kept[3] == 0
    assert torch.allclose(kept[1:3], torch.softmax(torch.tensor([3.0, 2.0]), -1))
    both = logits_to_probs(logits, SamplingParams(top_k=3, top_p=0.5))
    assert both.tolist() == [0.0, 1.0, 0.0, 0.0]


def chi_square_limit(df: int, z: float = 3.29) -> float:
    """The chi-square statistic that df degrees of freedom exceed with probability about 0.0005
    (Wilson-Hilferty), so a correct sampler fails one such test in two thousand."""
    return df * (1 - 2 / (9 * df) + z * math.sqrt(2 / (9 * df))) ** 3


def chi_square(logits, params: SamplingParams, reference: SamplingParams, draws: int, seed=0, device="cpu"):
    """(statistic, degrees of freedom) of ``draws`` draws on ``device`` under ``params`` against the reference
    sampler's distribution under ``reference``; cells expecting fewer than 5 draws are pooled."""
    generator, on_device = make_generator(seed, device), logits.to(device)
    counts = torch.zeros(logits.shape[0])
    for _ in range(draws):
        counts[int(draw(on_device, params, generator))] += 1
    expected = logits_to_probs(logits, reference).double() * draws
    assert counts[expected == 0].sum() == 0, "drew a token the reference never draws"
    big = expected >= 5
    observed = torch.cat([counts[big].double(), counts[~big].sum().view(1).double()])
    expected = torch.cat([expected[big], expected[~big].sum().view(1)])
    keep = expected > 0
    observed, expected = observed[keep], expected[keep]
    return float(((observed - expected) ** 2 / expected).sum()), int(keep.sum()) - 1


SETTINGS = [
    SamplingParams(temperature=1.0),
    SamplingParams(temperature=0.7),
    SamplingParams(temperature=1.3, top_p=0.8),
    SamplingParams(temperature=1.0, top_k=12),
    SamplingParams(temperature=0.9, top_p=0.7, top_k=20),
]


@pytest.mark.parametrize("params", SETTINGS, ids=lambda p: f"t{p.temperature}-p{p.top_p}-k{p.top_k}")
def test_the_device_draw_samples_the_reference_distribution(params):
    """4,000 draws (seeded, so the outcome is fixed) pass a chi-square test against the plain
    reference sampler's probabilities, for temperature, top-p and top-k."""
    logits = torch.randn(60, generator=torch.Generator().manual_seed(7)) * 2
    statistic, df = chi_square(logits, params, params, draws=4000)
    assert statistic < chi_square_limit(df), (statistic, df)


def test_the_chi_square_test_tells_distributions_apart():
    """The same test rejects a draw at another temperature, so the test above has the power to fail."""
    logits = torch.randn(60, generator=torch.Generator().manual_seed(7)) * 2
    statistic, df = chi_square(
        logits, SamplingParams(temperature=1.0), SamplingParams(temperature=1.15), 4000
    )
    assert statistic > chi_square_limit(df)


def test_the_draw_over_the_full_vocabulary_stays_on_its_device():
    """A draw over gpt-oss's 201,088 logits returns one 0-dim int64 tensor (read once on the host), and a
    nucleus of a few tokens is drawn only from them."""
    logits = torch.full((201088,), -30.0)
    logits[[5, 77, 200000]] = torch.tensor([4.0, 3.0, 2.0])
    token = draw(logits, SamplingParams(top_p=0.9), make_generator(3))
    assert token.shape == () and token.dtype == torch.long
    assert int(token) in (5, 77, 200000)


def test_seeded_draws_repeat_and_greedy_ignores_the_seed():
    """The same seed gives the same sequence with top-k and top-p on; temperature 0 is the argmax."""
    logits = torch.randn(500, generator=torch.Generator().manual_seed(1))
    params = SamplingParams(temperature=1.2, top_p=0.95, top_k=40)
    runs = [
        [sample(logits, params, gen) for _ in range(20)] for gen in (make_generator(9), make_generator(9))
    ]
    assert runs[0] == runs[1] and len(set(runs[0])) > 1
    assert sample(logits, SamplingParams(temperature=0.0), make_generator(4)) == int(logits.argmax())


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), float("-inf")])
@pytest.mark.parametrize("params", [SamplingParams(temperature=0.0), SamplingParams(top_p=0.9, top_k=5)])
def test_non_finite_logits_are_an_error_never_a_token(bad, params):
    """One NaN or infinity among the logits makes the draw NON_FINITE and reading it raises."""
    logits = torch.randn(100)
    logits[42] = bad
    assert int(draw(logits, params, make_generator(0))) == NON_FINITE
    with pytest.raises(NonFiniteLogitsError, match="verify"):
        sample(logits, params, make_generator(0))


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_the_draw_on_a_gpu_samples_the_reference_distribution_reproducibly():
    """On CUDA the draw uses a generator on the GPU: seeded draws repeat, and they pass the same chi-square
    test against the reference sampler (run on the CPU)."""
    logits = torch.randn(60, generator=torch.Generator().manual_seed(7)) * 2
    params = SamplingParams(temperature=0.9, top_p=0.9, top_k=30)
    seeded = [
        [int(draw(logits.cuda(), params, g)) for _ in range(20)] for g in (make_generator(5, "cuda"),) * 2
    ]
    assert seeded[0] != seeded[1]  # one generator goes on
    again = [[sample(logits.cuda(), params, make_generator(5, "cuda")) for _ in range(3)] for _ in range(2)]
    assert again[0] == again[1]
    statistic, df = chi_square(logits, params, params, draws=4000, device="cuda")
    assert statistic < chi_square_limit(df), (statistic, df)
