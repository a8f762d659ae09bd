"""ChatSession.generate's logits_processor hook: it sees each step's logits before sampling."""

from __future__ import annotations

import torch

from engine.runtime.session import ChatSession, GenerationSettings


def test_the_processor_sees_the_tokens_so_far_and_decides_the_next(tiny_model):
    """Each step the processor gets the completion so far; the token sampled is one it allowed."""
    session = ChatSession(tiny_model, context_length=512)
    forced = [1008, 2009, 3010, 4011]  # ordinary tokens, in this order
    seen: list[list[int]] = []

    def processor(completion_ids: list[int], logits: torch.Tensor) -> torch.Tensor:
        seen.append(list(completion_ids))
        mask = torch.full_like(logits, float("-inf"))
        mask[forced[len(completion_ids)]] = 0.0
        return logits + mask

    settings = GenerationSettings(temperature=1.0, seed=5, max_tokens=4)
    list(session.generate([{"role": "user", "content": "Hi"}], settings, logits_processor=processor))
    assert session.last_turn.completion_ids == forced
    assert seen == [forced[:n] for n in range(4)]


def test_a_processors_masks_are_not_taken_for_broken_logits(tiny_model):
    """-inf written by the processor (a constraint's mask) is no NaN from the model: the turn goes on, and
    greedy decoding picks the one token the mask leaves."""
    session = ChatSession(tiny_model, context_length=512)

    def only(completion_ids: list[int], logits: torch.Tensor) -> torch.Tensor:
        mask = torch.full_like(logits, float("-inf"))
        mask[1008] = 0.0
        return logits + mask

    settings = GenerationSettings(temperature=0.0, max_tokens=3)
    list(session.generate([{"role": "user", "content": "Hi"}], settings, logits_processor=only))
    assert session.last_turn.completion_ids == [1008, 1008, 1008]


def test_the_models_own_nan_still_stops_the_turn_under_a_processor(tiny_model, monkeypatch):
    """The check reads the model's logits, not the processor's: a NaN from the model is an error still."""
    import pytest

    from engine.errors import NonFiniteLogitsError

    session = ChatSession(tiny_model, context_length=512)
    real = session._forward_once
    monkeypatch.setattr(session, "_forward_once", lambda ids: real(ids) * float("nan"))
    with pytest.raises(NonFiniteLogitsError):
        list(session.generate([{"role": "user", "content": "Hi"}], GenerationSettings(max_tokens=2),
                              logits_processor=lambda ids, logits: logits.nan_to_num()))
