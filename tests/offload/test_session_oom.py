"""A GPU out-of-memory while generating (raised here by a test double of one attention layer, on the CPU
with a simulated budget: torch raises the real torch.OutOfMemoryError only on a GPU): the session places
the model again with less on the device, says so with a Notice, repeats the step, and the answer is the
one an uninterrupted run gives."""

from __future__ import annotations

import pytest
import torch

from engine.errors import EngineError, OutOfMemoryError
from engine.io.checkpoint import read_config
from engine.notices import Notice
from engine.placement.plan import PRESETS, GiB, PlanOptions, make_plan
from engine.runtime.loader import load_model
from engine.runtime.session import ChatSession, GenerationSettings
from engine.text.harmony import TurnEnd

CPU = PlanOptions(device="cpu")
GREEDY = GenerationSettings(temperature=0.0, max_tokens=10)
MESSAGES = [{"role": "user", "content": "Tell me about memory."}]


def some_budget(model_dir, context: int) -> int:
    """A budget that keeps the experts of some layers on the (simulated) GPU at this context."""
    cfg = read_config(model_dir)
    layer = cfg.num_experts * cfg.expert_bytes()
    budget = make_plan(cfg, None, context, options=CPU).min_budget_bytes + 2 * layer
    assert 0 < len(make_plan(cfg, budget, context, options=CPU).offloaded_layers) < cfg.num_hidden_layers
    return budget


def replan_by(monkeypatch, shortfall: int) -> None:
    """replan_model gives up ``shortfall`` bytes (its default, a tenth of the plan, is sized for real models:
    in these tiny ones the experts are a few hundred KB of 40 MB)."""
    import engine.offload.build as ob
    import engine.runtime.session as session

    real = ob.replan_model
    monkeypatch.setattr(session, "replan_model", lambda model, _=None: real(model, shortfall))


def fail_once(monkeypatch, module, at_call: int) -> list[int]:
    """An attention module's run (what a block calls: engine.model.Block.step) raises torch.OutOfMemoryError
    on its at_call-th call; returns the call counter."""
    real, calls = module.run, [0]

    def forward(*args, **kwargs):
        calls[0] += 1
        if calls[0] == at_call:
            raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 MiB (test double)")
        return real(*args, **kwargs)

    monkeypatch.setattr(module, "run", forward)
    return calls


def turn(session) -> tuple[list, TurnEnd]:
    events = list(session.generate(MESSAGES, GREEDY))
    assert isinstance(events[-1], TurnEnd)
    return events, events[-1]


@pytest.mark.parametrize("at_call", [1, 4], ids=["in prefill", "in decode"])
def test_out_of_memory_re_plans_and_repeats_the_step(offload_model_dir, monkeypatch, at_call):
    """The turn goes on after the re-plan: a Notice, a smaller budget, the same greedy answer."""
    budget = some_budget(offload_model_dir, 512)
    reference = ChatSession(load_model(offload_model_dir, "cpu", vram_budget=budget, context_length=512))
    _, want = turn(reference)
    model = load_model(offload_model_dir, "cpu", vram_budget=budget, context_length=512)
    before = model.plan
    replan_by(monkeypatch, model.config.num_experts * model.config.expert_bytes())
    session = ChatSession(model)
    calls = fail_once(monkeypatch, model.blocks[1].attn, at_call)
    events, end = turn(session)
    notices = [e for e in events if isinstance(e, Notice)]
    assert calls[0] > at_call and len(notices) == 1 and "ran out of memory" in notices[0].text
    assert model.plan.budget_bytes < before.budget_bytes and model.plan.budget_source == "after out-of-memory"
    assert notices[0].kind == "replanned" and notices[0].budget_bytes == model.plan.budget_bytes
    assert notices[0].context_length is None  # the context was kept
    assert len(model.plan.offloaded_layers) > len(before.offloaded_layers)
    assert session.last_turn.completion_ids == reference.last_turn.completion_ids
    assert end.reason == want.reason
    assert end.usage.context_used == session.cache.num_tokens == len(session._cached_ids)
    turn(session)  # the next turn reuses the cache as usual
    assert session.last_usage.cached_tokens > 0


def test_out_of_memory_that_shortens_the_context(offload_model_dir, monkeypatch):
    """When only a shorter context fits, the session makes a new cache of that length, prefills the
    conversation again and finishes the answer; the usage reports the new context."""
    cfg = read_config(offload_model_dir)
    context = 2048
    lo, hi = 0, make_plan(cfg, None, context, options=CPU).full_budget_bytes  # the least budget that fits
    while lo < hi:
        mid = (lo + hi) // 2
        lo, hi = (lo, mid) if make_plan(cfg, mid, context, options=CPU).fits else (mid + 1, hi)
    reference = ChatSession(load_model(offload_model_dir, "cpu", vram_budget=hi, context_length=context))
    turn(reference)
    model = load_model(offload_model_dir, "cpu", vram_budget=hi, context_length=context)
    replan_by(monkeypatch, min(hi, model.plan.total_device_bytes) - (hi - 1))  # one byte too few for 2048
    session = ChatSession(model)
    fail_once(monkeypatch, model.blocks[2].attn, 3)
    events, end = turn(session)
    (notice,) = [e for e in events if isinstance(e, Notice)]
    assert "context is shortened" in notice.text and notice.kind == "replanned"
    assert notice.context_length == model.context_length and notice.budget_bytes == model.plan.budget_bytes
    assert f"shortened to {notice.context_length} tokens" in notice.text
    assert 1024 <= model.context_length < context and session.cache.max_tokens == model.context_length
    assert end.usage.context_max == session.context_length == model.context_length
    assert session.last_turn.completion_ids == reference.last_turn.completion_ids


def test_when_nothing_fits_the_error_says_so(offload_model_dir, monkeypatch):
    """No placement left: the user-facing OutOfMemoryError, and the session starts the next turn clean."""
    budget = some_budget(offload_model_dir, 512)
    model = load_model(offload_model_dir, "cpu", vram_budget=budget, context_length=512)
    replan_by(monkeypatch, 10**12)
    session = ChatSession(model)
    fail_once(monkeypatch, model.blocks[0].attn, 2)
    with pytest.raises(OutOfMemoryError, match="close other programs"):
        turn(session)
    assert session.cache.num_tokens == 0


def test_without_a_budget_there_is_nothing_to_re_plan(offload_model_dir, monkeypatch):
    """A model loaded without a budget (nothing to offload) reports the out-of-memory as before."""
    model = load_model(offload_model_dir, "cpu", context_length=512)
    session = ChatSession(model)
    fail_once(monkeypatch, model.blocks[0].attn, 2)
    with pytest.raises(EngineError, match="ran out of memory while generating"):
        turn(session)


def test_a_replanned_notice_carries_the_new_budget_and_a_shorter_context():
    """Notice.replanned has the new plan's budget, and its context only when that is shorter than before."""
    cfg = PRESETS["gpt-oss-20b"]
    before = make_plan(cfg, 16 * GiB, 32768)
    same_context = make_plan(cfg, 12 * GiB, 32768)
    shorter = make_plan(cfg, 12 * GiB, 8192)
    assert Notice.replanned(before, same_context, "t") == Notice("t", "replanned", 12 * GiB, None)
    assert Notice.replanned(before, shorter, "t") == Notice("t", "replanned", 12 * GiB, 8192)
