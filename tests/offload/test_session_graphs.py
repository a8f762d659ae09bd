"""Chat turns through decode graphs on a model with offloaded experts, as the app runs them: several turns
with prefix reuse (the cache truncated and refilled under the graphs), a Stop and a Continue, on the CPU
with the recording stand-in for CUDA graphs (tests/engine/graph_standin.py). The greedy tokens must be the
eager model's."""

from __future__ import annotations

import functools
import threading

import pytest

from engine.io.checkpoint import read_config
from engine.layers import moe
from engine.offload.build import load_planned
from engine.placement.plan import PlanOptions, make_plan
from engine.runtime.decode_graph import DecodeGraphs
from engine.runtime.session import ChatSession, GenerationSettings
from engine.text.harmony import TextDelta, TurnEnd
from tests.engine.graph_standin import recorded_capture

GREEDY = GenerationSettings(temperature=0.0, max_tokens=10)
CONTEXT = 512


@pytest.fixture(autouse=True)
def gathered(monkeypatch):
    monkeypatch.setattr(moe, "default_strategy", lambda device, routes, cache: "gathered")
    monkeypatch.setattr("engine.kernels.cpu_bf16.applies", lambda *args: False)  # nor the CPU GEMV


def session(model_dir, graphs: bool) -> ChatSession:
    cfg, options = read_config(model_dir), PlanOptions(device="cpu")
    low = make_plan(
        cfg, make_plan(cfg, None, CONTEXT, options=options).min_budget_bytes, CONTEXT, options=options
    )
    plan = make_plan(
        cfg, low.total_device_bytes + 2 * cfg.num_experts * cfg.expert_bytes(), CONTEXT, options=options
    )
    assert 0 < len(plan.offloaded_layers) < cfg.num_hidden_layers
    model = load_planned(model_dir, "cpu", plan, dense_cache_bytes=0)
    model.prefill_chunk = 512
    # zeroed as on a GPU: a graph's fixed-shape step reads (masked) positions not written yet
    model.new_cache = functools.partial(type(model).new_cache, model, zeroed=True)
    if graphs:
        model.decode_graphs = DecodeGraphs(model, capture=recorded_capture)
    return ChatSession(model, context_length=CONTEXT)


def conversation(chat: ChatSession) -> list[list[int]]:
    """Two turns, the second reusing the first's prefix, then the second again stopped after a few tokens,
    and its Continue; -> the completion ids of each."""
    out = []
    first = [{"role": "user", "content": "Hello"}]
    list(chat.generate(first, GREEDY))
    out.append(list(chat.last_turn.completion_ids))
    second = [*first, {"role": "assistant", "content": "Hi!"}, {"role": "user", "content": "More"}]
    list(chat.generate(second, GREEDY))
    out.append(list(chat.last_turn.completion_ids))
    cancel, written = threading.Event(), {"reasoning": "", "content": ""}
    longer = GenerationSettings(temperature=0.0, max_tokens=60)  # room to be stopped before its end
    for event in chat.generate(second, longer, cancel=cancel):
        if isinstance(event, TextDelta):
            written["reasoning" if event.channel == "analysis" else "content"] += event.text
        if len(chat.last_turn.completion_ids) >= 2:
            cancel.set()
        if isinstance(event, TurnEnd):
            assert event.reason == "cancelled"
    out.append(list(chat.last_turn.completion_ids))
    assert written["reasoning"] or written["content"]
    list(chat.generate(second, GREEDY, continue_from=written))
    out.append(list(chat.last_turn.completion_ids))
    return out


def test_turns_through_offloaded_graphs_write_the_eager_tokens(offload_model_dir):
    eager = conversation(session(offload_model_dir, graphs=False))
    chat = session(offload_model_dir, graphs=True)
    got = conversation(chat)
    graphs = chat.model.decode_graphs
    assert graphs.disabled is None, graphs.disabled
    assert graphs.captured() >= 2  # one span, at least two segments ("some" offloads at least one layer)
    assert got == eager and all(got)
