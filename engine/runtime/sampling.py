"""Choosing the next token from logits: pure functions on tensors.

gpt-oss's recommended defaults are temperature 1.0 and top_p 1.0; temperature 0 means greedy.

The draw happens where the logits are (``draw``): the 201,088 probabilities never leave the device, and the
result is one device integer that also says whether the logits were finite, so a decode step has exactly
one host sync (``read``: the id the session needs). Drawing is exact: ``argmax(p / E)`` with E ~ Exp(1)
i.i.d. picks token i with probability p_i (the exponential race; gpt-fast's no-sync multinomial), and top-k
and top-p cut the distribution on the device first. ``logits_to_probs`` is the plain reference the draw
is tested against (tests/engine/test_sampling.py).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from engine.errors import NonFiniteLogitsError

NON_FINITE = -1  # what ``draw`` returns instead of an id when the logits hold a NaN or an infinity


@dataclass(frozen=True)
class SamplingParams:
    temperature: float = 1.0
    top_p: float = 1.0
    top_k: int = 0  # keep only the k most likely tokens; 0: all

    def __post_init__(self) -> None:
        if not (self.temperature >= 0.0):
            raise ValueError(f"temperature must be >= 0, got {self.temperature}")
        if not (0.0 < self.top_p <= 1.0):
            raise ValueError(f"top_p must be in (0, 1], got {self.top_p}")
        if isinstance(self.top_k, bool) or not isinstance(self.top_k, int) or self.top_k < 0:
            raise ValueError(f"top_k must be a whole number >= 0 (0: off), got {self.top_k!r}")

    @property
    def greedy(self) -> bool:
        return self.temperature == 0.0 or self.top_k == 1


def logits_to_probs(logits: torch.Tensor, params: SamplingParams) -> torch.Tensor:
    """The reference distribution. logits: [V] -> probs: [V] float32, zero outside the top-k and the
    top-p nucleus (top-k first, then top-p over what is left, as Hugging Face's warpers apply them)."""
    probs = torch.softmax(logits.float() / params.temperature, dim=-1)
    if 0 < params.top_k < probs.shape[-1]:
        kept = torch.zeros_like(probs).scatter_(-1, torch.topk(probs, params.top_k).indices, 1.0)
        probs = probs * kept
        probs = probs / probs.sum()
    if params.top_p < 1.0:
        sorted_probs, order = torch.sort(probs, descending=True)
        # Keep the smallest prefix whose mass reaches top_p; the first token always stays.
        outside = torch.cumsum(sorted_probs, dim=-1) - sorted_probs >= params.top_p
        sorted_probs = sorted_probs.masked_fill(outside, 0.0)
        probs = torch.zeros_like(probs).scatter_(-1, order, sorted_probs)
        probs = probs / probs.sum()
    return probs


def draw(
    logits: torch.Tensor,
    params: SamplingParams,
    generator: torch.Generator | None = None,
    checked: torch.Tensor | None = None,
) -> torch.Tensor:
    """The next token as a 0-dim int64 tensor on the logits' device, or NON_FINITE when any of the
    logits is NaN or infinite. logits: [V] (or [1, V]). ``checked``: the logits to check instead, when
    ``logits`` were masked on purpose (a constraint's -inf), so only the model's own are judged. Nothing is
    read on the host here."""
    logits = logits.reshape(-1)
    finite = torch.isfinite(logits if checked is None else checked).all()
    if params.greedy:
        token = torch.argmax(logits)
    else:
        token = _draw_sampled(logits.float() / params.temperature, params, generator)
    return torch.where(finite, token, NON_FINITE)


def _draw_sampled(scaled: torch.Tensor, params: SamplingParams, generator) -> torch.Tensor:
    # scaled: [V] float32 logits / temperature
    vocab = scaled.shape[0]
    if 0 < params.top_k < vocab:
        values, ids = torch.topk(scaled, params.top_k)  # sorted, largest first
    elif params.top_p < 1.0:
        values, ids = torch.sort(scaled, descending=True)
    else:
        return _race(torch.softmax(scaled, dim=-1), generator)
    probs = torch.softmax(values, dim=-1)  # the top-k renormalised (all of them without top-k)
    if params.top_p < 1.0:
        # the same nucleus as logits_to_probs: a sorted token stays while the mass before it is < top_p
        probs = probs.masked_fill(torch.cumsum(probs, dim=-1) - probs >= params.top_p, 0.0)
    return ids.gather(0, _race(probs, generator).view(1)).view(())  # ids[t] would read t on the host


def _race(probs: torch.Tensor, generator) -> torch.Tensor:
    """argmax(p_i / E_i), E_i ~ Exp(1): index i wins with probability p_i / sum(p) (no host sync, no
    normalisation needed). Zero-probability entries never win (0 / E = 0 < a positive one)."""
    race = torch.empty_like(probs).exponential_(1.0, generator=generator)
    return torch.argmax(probs / race)


def read(token: torch.Tensor) -> int:
    """The drawn id on the host: the one sync of a decode step. Raises NonFiniteLogitsError for NON_FINITE."""
    value = int(token.item())
    if value == NON_FINITE:
        raise NonFiniteLogitsError(NON_FINITE_MESSAGE.format(name="NAME"))
    return value


NON_FINITE_MESSAGE = (
    "The model produced invalid numbers (NaN or infinite logits), so the answer stopped here. Its files may "
    "be damaged: run Verify on it in the model manager (python -m engine models verify {name}) and download "
    "again what it finds broken."
)


def sample(logits: torch.Tensor, params: SamplingParams, generator: torch.Generator | None = None) -> int:
    """``draw`` and ``read`` in one: the next id (logits: [V])."""
    return read(draw(logits, params, generator))


def make_generator(seed: int | None, device: torch.device | str = "cpu") -> torch.Generator | None:
    """A generator on ``device`` (draws stay on the device), seeded with ``seed`` or randomly. The same seed
    gives the same tokens on the same device and kernels; devices may differ from each other. None on
    the meta device (no generators there; tests count operations on it)."""
    device = torch.device(device)
    if device.type == "meta":
        return None
    generator = torch.Generator(device=device)
    if seed is None:
        generator.seed()
    else:
        generator.manual_seed(seed)
    return generator
