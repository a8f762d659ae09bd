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
