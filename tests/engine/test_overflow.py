"""A full context: each overflow policy on a tiny context, keeping the right messages, and the CLI."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from engine.errors import ContextFullError
from engine.notices import Notice
from engine.runtime.overflow import (
    SUMMARY_HEADING,
    ContextFitted,
    answer_room,
    choose_dropped,
    is_summary,
    turns,
)
from engine.runtime.session import ChatSession, GenerationSettings
from engine.text.harmony import TurnEnd
from engine.text.tokenizer import load_tokenizer

CONTEXT = 256
ROOT = Path(__file__).resolve().parents[2]


def conversation(num_turns: int = 8) -> list[dict]:
    """Instructions, then ``num_turns`` short exchanges, the last a question waiting for its answer."""
    messages = [{"role": "system", "content": "Be brief."}]
    for n in range(num_turns - 1):
        messages.append({"role": "user", "content": f"Question {n}: what is {n} plus {n}, and why?"})
        messages.append(
            {"role": "assistant", "content": f"It is {2 * n}, because adding {n} twice doubles it."}
        )
    messages.append({"role": "user", "content": "And the last question: what is seven times six?"})
    return messages


def run(session: ChatSession, messages: list[dict], policy: str, **settings) -> list:
    options = {"temperature": 1.0, "seed": 0, "max_tokens": 16, "overflow": policy} | settings
    return list(session.generate(messages, GenerationSettings(**options)))


def test_turns_group_each_user_message_with_what_follows():
    """System and developer messages stand apart; a turn runs from a user message to the next one."""
    messages = [
        {"role": "system", "content": "a"},
        {"role": "user", "content": "b"},
        {"role": "assistant", "content": "c"},
        {"role": "developer", "content": "d"},
        {"role": "user", "content": "e"},
        {"role": "assistant", "content": None, "tool_calls": [{"id": "1", "function": {"name": "f"}}]},
        {"role": "tool", "tool_call_id": "1", "name": "f", "content": "g"},
    ]
    assert turns(messages) == ([0, 3], [[1, 2], [4, 5, 6]])
    summary = {"role": "developer", "content": f"{SUMMARY_HEADING}:\nearlier"}
    assert is_summary(summary) and turns([summary, *messages[1:3]]) == ([], [[0], [1, 2]])


def test_choose_dropped_leaves_out_the_fewest_oldest_turns():
    """With a count of one token a message, the oldest turns go until the rest reaches the target."""
    messages = conversation(5)  # 1 + 4 * 2 + 1 = 10 messages
    count = len
    assert choose_dropped(messages, count, limit=10, target=6) == [1, 2, 3, 4]
    assert choose_dropped(messages, count, limit=10, target=10) == []
    assert choose_dropped(messages, count, limit=3, target=2) == [1, 2, 3, 4, 5, 6, 7, 8]
    assert choose_dropped(messages, count, limit=1, target=1) is None  # the last turn alone does not fit


@pytest.mark.parametrize(("max_tokens", "expected"), [(4096, 64), (16, 16)])
def test_answer_room_is_the_token_limit_at_most_a_quarter_of_the_context(max_tokens, expected):
    """The room kept for an answer: max_tokens, but never more than a quarter of the context."""
    assert answer_room(CONTEXT, max_tokens) == expected


def test_drop_keeps_instructions_and_the_last_turns_and_fits(tiny_model):
    """drop: the oldest turns are left out of the prompt; system message and last turn stay; it fits."""
    session = ChatSession(tiny_model, context_length=CONTEXT)
    messages = conversation()
    assert len(session.render(messages, GenerationSettings())) > CONTEXT
    events = run(session, messages, "drop")
    fitted = next(e for e in events if isinstance(e, ContextFitted))
    assert fitted.policy == "drop" and fitted.summary is None and fitted.summarized == ()
    dropped = list(fitted.dropped)
    assert dropped == list(range(1, 1 + len(dropped))) and len(dropped) % 2 == 0  # whole turns, oldest first
    assert 0 not in dropped and len(messages) - 1 not in dropped
    prompt = session.last_turn.prompt_ids
    assert len(prompt) == fitted.prompt_tokens and len(prompt) + answer_room(CONTEXT, 16) <= CONTEXT
    text = load_tokenizer().decode(prompt)
    assert "Be brief." in text and "seven times six" in text and "Question 0:" not in text
    assert isinstance(events[-1], TurnEnd) and events[-1].usage.prompt_tokens == len(prompt)
    assert messages == conversation()  # the caller's history is untouched


def test_drop_frees_more_than_it_must_so_the_next_turns_fit(tiny_model):
    """The prompt after a drop leaves an eighth of the context spare: the next turn need not drop again."""
    session = ChatSession(tiny_model, context_length=CONTEXT)
    fitted = next(e for e in run(session, conversation(), "drop") if isinstance(e, ContextFitted))
    assert fitted.prompt_tokens <= CONTEXT - answer_room(CONTEXT, 16) - CONTEXT // 8


def test_a_conversation_that_fits_is_left_alone(tiny_model):
    """No policy acts on a conversation with room for its answer: no ContextFitted, the whole prompt."""
    session = ChatSession(tiny_model, context_length=CONTEXT)
    messages = conversation(1)
    events = run(session, messages, "drop")
    assert not [e for e in events if isinstance(e, ContextFitted)]
    assert session.last_turn.prompt_ids == session.render(messages, GenerationSettings())


def test_summarize_replaces_the_oldest_turns_with_the_models_summary(tiny_model):
    """summarize: the model writes a summary, a developer message in the prompt in their place; it fits."""
    session = ChatSession(tiny_model, context_length=CONTEXT)
    events = run(session, conversation(), "summarize")
    notices = [e for e in events if isinstance(e, Notice)]
    assert notices and notices[0].kind == "summarizing"
    fitted = next(e for e in events if isinstance(e, ContextFitted))
    assert fitted.policy == "summarize" and fitted.summary.startswith(SUMMARY_HEADING + ":\n")
    assert fitted.summarized == fitted.dropped and 0 not in fitted.dropped
    prompt = session.last_turn.prompt_ids
    assert len(prompt) == fitted.prompt_tokens and len(prompt) + answer_room(CONTEXT, 16) <= CONTEXT
    text = load_tokenizer().decode(prompt)
    assert SUMMARY_HEADING in text and "seven times six" in text
    assert isinstance(events[-1], TurnEnd)


def test_stop_refuses_the_turn_saying_what_to_do(tiny_model):
    """stop: ContextFullError before any compute, naming the ways on."""
    session = ChatSession(tiny_model, context_length=CONTEXT)
    with pytest.raises(ContextFullError, match="drop or summarise"):
        run(session, conversation(), "stop")


@pytest.mark.parametrize("policy", ["drop", "summarize", "stop"])
def test_a_last_message_too_long_for_the_context_is_the_context_error(tiny_model, policy):
    """When even the last turn alone does not fit, no policy helps: the turns before it go, and the
    session's own ContextFullError says what to do."""
    session = ChatSession(tiny_model, context_length=CONTEXT)
    messages = conversation(2)
    messages[-1]["content"] = "word " * 400
    with pytest.raises(ContextFullError, match="the context holds 256"):
        run(session, messages, policy)


@pytest.mark.parametrize("policy", ["drop", "summarize", "stop"])
def test_a_single_turn_is_left_to_the_session(tiny_model, policy):
    """One turn that leaves less room than asked is not refused: the answer gets the room there is."""
    session = ChatSession(tiny_model, context_length=CONTEXT)
    messages = [{"role": "user", "content": "word " * 150}]
    events = run(session, messages, policy, max_tokens=200)
    assert not [e for e in events if isinstance(e, ContextFitted)]
    assert isinstance(events[-1], TurnEnd) and events[-1].usage.prompt_tokens > CONTEXT * 3 // 4


def test_generate_takes_a_conversation_and_reports_what_the_policy_dropped(tiny_model_dir, tmp_path):
    """`generate --messages FILE --overflow drop --json`: usage.prompt_tokens and the dropped indexes."""
    path = tmp_path / "chat.json"
    path.write_text(json.dumps(conversation()), encoding="utf-8")
    command = [
        sys.executable,
        "-m",
        "engine",
        "generate",
        "--model",
        str(tiny_model_dir),
        "--device",
        "cpu",
        "--messages",
        str(path),
        "--context",
        str(CONTEXT),
        "--max-tokens",
        "8",
        "--seed",
        "1",
        "--overflow",
        "drop",
        "--reasoning-budget",
        "4",
        "--json",
    ]
    result = subprocess.run(command, check=False, capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert result.returncode == 0, result.stderr
    output = json.loads(result.stdout)
    assert output["usage"]["prompt_tokens"] + answer_room(CONTEXT, 8) <= CONTEXT
    assert output["overflow"]["policy"] == "drop" and output["overflow"]["dropped"][0] == 1
    assert output["overflow"]["prompt_tokens"] == output["usage"]["prompt_tokens"]
    assert "left out the oldest" in result.stderr
    refused = subprocess.run(
        [*command[:-5], "--json"], check=False, capture_output=True, text=True, cwd=ROOT, timeout=300
    )
    assert refused.returncode == 1 and "does not fit the context" in refused.stderr  # --overflow stop


def test_stop_while_summarising_keeps_no_summary(tiny_model):
    """Stop pressed while the summary is written: the turn ends cancelled, and no cut-short summary is kept."""
    import threading

    session = ChatSession(tiny_model, context_length=CONTEXT)
    cancel = threading.Event()
    cancel.set()
    settings = GenerationSettings(temperature=1.0, seed=0, max_tokens=16, overflow="summarize")
    events = list(session.generate(conversation(), settings, cancel=cancel))
    assert not [e for e in events if isinstance(e, ContextFitted)]
    assert isinstance(events[-1], TurnEnd) and events[-1].reason == "cancelled"
