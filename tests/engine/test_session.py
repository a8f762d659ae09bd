"""Chat sessions on a tiny random model: streaming, cancel, continue, prefix reuse, usage, limits, seeds."""

from __future__ import annotations

import json
import subprocess
import sys
import threading

import pytest

from engine.errors import ContextFullError
from engine.runtime.session import ChatSession, GenerationSettings
from engine.text.harmony import MessageEnd, MessageStart, TextDelta, TurnEnd

GREEDY = GenerationSettings(temperature=0.0, max_tokens=12)


def user(text: str) -> dict:
    return {"role": "user", "content": text}


def run_turn(session, messages, settings=GREEDY, **kwargs):
    events = list(session.generate(messages, settings, **kwargs))
    assert isinstance(events[-1], TurnEnd), "a turn always ends with TurnEnd"
    return events


def test_a_turn_streams_events_and_ends_with_usage(tiny_model):
    """Every generated token is counted, text arrives as deltas, and the turn ends with its usage."""
    session = ChatSession(tiny_model, context_length=512)
    events = run_turn(session, [user("Hello there")])
    end = events[-1]
    usage = end.usage
    assert end.reason in {"length", "return", "call"}
    assert usage.prompt_tokens == len(session.last_turn.prompt_ids)
    assert usage.completion_tokens == len(session.last_turn.completion_ids) >= 1
    assert usage.completion_tokens <= GREEDY.max_tokens
    assert 0 <= usage.reasoning_tokens <= usage.completion_tokens
    assert usage.ttft_s > 0 and usage.context_max == 512
    assert usage.context_used == session.cache.num_tokens
    assert any(isinstance(e, (TextDelta, MessageStart)) for e in events[:-1])


def test_cancel_mid_turn_keeps_the_partial_answer_usable(tiny_model):
    """A cancel set between tokens ends the turn before the next token, and the next turn runs normally."""
    session = ChatSession(tiny_model, context_length=512)
    cancel = threading.Event()
    settings = GenerationSettings(temperature=0.0, max_tokens=50)
    end, seen_at_cancel = None, None
    for event in session.generate([user("Tell me a story")], settings, cancel=cancel):
        if isinstance(event, TurnEnd):
            end = event
        elif seen_at_cancel is None:
            seen_at_cancel = len(session.last_turn.completion_ids)
            cancel.set()
    assert end is not None and end.reason == "cancelled"
    assert end.usage.completion_tokens == seen_at_cancel < 50
    follow_up = run_turn(
        session, [user("Tell me a story"), {"role": "assistant", "content": "Once"}, user("More")]
    )
    assert follow_up[-1].usage.completion_tokens >= 1


def test_second_turn_prefills_only_its_new_tokens(tiny_model):
    """The KV cache of the shared prefix is reused: turn two prefills only what turn one did not see."""
    session = ChatSession(tiny_model, context_length=1024)
    first = [user("What is the capital of France?")]
    run_turn(session, first)
    seen = session.last_turn.prompt_ids + session.last_turn.completion_ids
    second = first + [{"role": "assistant", "content": "Paris."}, user("And of Korea?")]
    end = run_turn(session, second)[-1]
    prompt = session.last_turn.prompt_ids
    shared = next(i for i, (a, b) in enumerate(zip(seen + [-1], prompt)) if a != b)
    assert end.usage.cached_tokens == shared
    assert shared >= len(session.last_turn.prompt_ids) - 40  # only the new messages were prefilled
    assert end.usage.prompt_tokens - end.usage.cached_tokens == len(prompt) - shared


def test_reused_prefix_gives_the_same_answer_as_a_fresh_session(tiny_model):
    """Greedy generation after prefix reuse equals a fresh session on the same conversation."""
    warm = ChatSession(tiny_model, context_length=1024)
    first = [user("Count to three")]
    run_turn(warm, first)
    second = first + [{"role": "assistant", "content": "1 2 3"}, user("Again, slower")]
    run_turn(warm, second)
    fresh = ChatSession(tiny_model, context_length=1024)
    run_turn(fresh, second)
    assert warm.last_usage.cached_tokens > 0 and fresh.last_usage.cached_tokens == 0
    assert warm.last_turn.completion_ids == fresh.last_turn.completion_ids


def stop_after(session, messages, tokens: int, max_tokens: int = 60) -> dict:
    """Generate greedily, press Stop once ``tokens`` tokens have shown text; the answer as an app saves it."""
    cancel = threading.Event()
    answer = {"role": "assistant", "reasoning": "", "content": ""}
    settings = GenerationSettings(temperature=0.0, max_tokens=max_tokens)
    for event in session.generate(messages, settings, cancel=cancel):
        if isinstance(event, TextDelta):
            answer["reasoning" if event.channel == "analysis" else "content"] += event.text
            if len(session.last_turn.completion_ids) >= tokens:
                cancel.set()
        elif isinstance(event, TurnEnd):
            assert event.reason == "cancelled"
    return answer


@pytest.mark.parametrize("cut", ["stop", "token limit"])
def test_continue_right_after_prefills_almost_nothing(tiny_model, cut):
    """Right after a Stop or the token limit, continuing prompts with the answer's own tokens (not its text
    encoded again) and prefills one token, not the conversation nor the answer again."""
    session = ChatSession(tiny_model, context_length=1024)
    question = [user("Tell me a story")]
    if cut == "stop":
        answer = stop_after(session, question, tokens=30)
    else:
        events = run_turn(session, question, GenerationSettings(temperature=0.0, max_tokens=45))
        assert events[-1].reason == "length"
        answer = {"role": "assistant", "content": "".join(e.text for e in events if isinstance(e, TextDelta))}
    seen = session.last_turn.prompt_ids + session.last_turn.completion_ids
    settings = GenerationSettings(temperature=0.0, max_tokens=8)
    end = run_turn(session, question, settings, continue_from=answer)[-1]
    assert session.last_turn.prompt_ids == seen
    assert end.usage.prompt_tokens == len(seen)
    assert end.usage.prompt_tokens - end.usage.cached_tokens == 1
    assert 1 <= end.usage.completion_tokens <= 8


def test_stop_then_continue_writes_what_one_uninterrupted_turn_writes(tiny_model):
    """Greedy decoding stopped and continued gives the same tokens as never stopping."""
    question = [user("Count to a hundred")]
    whole = ChatSession(tiny_model, context_length=1024)
    run_turn(whole, question, GenerationSettings(temperature=0.0, max_tokens=50))
    session = ChatSession(tiny_model, context_length=1024)
    answer = stop_after(session, question, tokens=20, max_tokens=50)
    first = list(session.last_turn.completion_ids)
    rest = GenerationSettings(temperature=0.0, max_tokens=50 - len(first))
    run_turn(session, question, rest, continue_from=answer)
    assert first + session.last_turn.completion_ids == whole.last_turn.completion_ids


@pytest.mark.parametrize(
    ("answer", "channel", "prompt_end"),
    [
        (
            {"role": "assistant", "reasoning": "The user wants a story. A fox"},
            "analysis",
            "<|start|>assistant<|channel|>analysis<|message|>The user wants a story. A fox",
        ),
        (
            {"role": "assistant", "reasoning": "A short one.", "content": "Once upon a"},
            "final",
            (
                "<|channel|>analysis<|message|>A short one.<|end|>"
                "<|start|>assistant<|channel|>final<|message|>Once upon a"
            ),
        ),
    ],
)
def test_continue_in_a_new_session_goes_on_in_the_channel_it_stopped_in(
    tiny_model, answer, channel, prompt_end
):
    """After a restart (an empty cache) the answer so far is rendered from its text with its last message
    open; the new text continues that channel, with no new MessageStart for it."""
    session = ChatSession(tiny_model, context_length=1024)
    question = [user("Tell me a story")]
    events = run_turn(
        session, question, GenerationSettings(temperature=0.0, max_tokens=8), continue_from=answer
    )
    assert session.tokenizer.decode(session.last_turn.prompt_ids).endswith(prompt_end)
    assert events[-1].usage.cached_tokens == 0
    first = next(e for e in events if isinstance(e, (MessageStart, TextDelta, MessageEnd)))
    assert not isinstance(first, MessageStart) and first.channel == channel
    if channel == "analysis" and isinstance(first, TextDelta):
        assert events[-1].usage.reasoning_tokens >= 1


def test_continue_with_nothing_written_is_a_new_answer(tiny_model):
    """An answer stopped before its first token has nothing to continue: the turn is an ordinary one."""
    session = ChatSession(tiny_model, context_length=512)
    question = [user("hi")]
    run_turn(session, question, continue_from={"role": "assistant", "reasoning": "", "content": ""})
    assert session.last_turn.prompt_ids == session.render(question, GREEDY)


def test_continue_when_the_context_is_full_is_the_context_error(tiny_model):
    """An answer that filled the context cannot go on: the same ContextFullError as a long conversation."""
    session = ChatSession(tiny_model, context_length=128)
    answer = {"role": "assistant", "content": "word " * 200}
    with pytest.raises(ContextFullError, match="Start a new conversation"):
        list(session.generate([user("hi")], GREEDY, continue_from=answer))
    run_turn(session, [user("hi")], GenerationSettings(temperature=0.0, max_tokens=4))  # still usable


def test_a_conversation_longer_than_the_context_is_a_clear_error(tiny_model):
    """A prompt that does not fit raises ContextFullError, saying what to do, before any compute."""
    session = ChatSession(tiny_model, context_length=96)
    with pytest.raises(ContextFullError, match="context"):
        list(session.generate([user("word " * 200)], GREEDY))
    # The session stays usable with a shorter conversation.
    run_turn(session, [user("hi")], GenerationSettings(temperature=0.0, max_tokens=4))


def test_generation_stops_at_the_end_of_the_context(tiny_model):
    """max_tokens is capped by the room left in the context: the turn ends with reason 'length'."""
    session = ChatSession(tiny_model, context_length=80)
    prompt_len = len(session.render([user("hi")], GREEDY))
    end = run_turn(session, [user("hi")], GenerationSettings(temperature=0.0, max_tokens=1000))[-1]
    assert end.usage.completion_tokens <= 80 - prompt_len
    if end.reason == "length":  # a random model may also stop by itself first
        assert end.usage.completion_tokens == 80 - prompt_len
    assert session.cache.num_tokens <= 80


@pytest.mark.parametrize("temperature, top_p", [(1.0, 1.0), (0.7, 0.9)])
def test_sampling_is_reproducible_with_a_seed(tiny_model, temperature, top_p):
    """The same seed gives the same tokens; the sampled run differs from another seed's."""

    def tokens(seed):
        session = ChatSession(tiny_model, context_length=512)
        settings = GenerationSettings(temperature=temperature, top_p=top_p, max_tokens=16, seed=seed)
        run_turn(session, [user("Pick a number")], settings)
        return session.last_turn.completion_ids

    assert tokens(7) == tokens(7)
    assert tokens(7) != tokens(8) or tokens(7) != tokens(9)


def test_effort_reaches_the_system_message(tiny_model):
    """The rendered prompt carries the chosen reasoning effort."""
    session = ChatSession(tiny_model, context_length=512)
    for effort in ("low", "medium", "high"):
        run_turn(session, [user("hi")], GenerationSettings(effort=effort, temperature=0.0, max_tokens=1))
        text = session.tokenizer.decode(session.last_turn.prompt_ids)
        assert f"Reasoning: {effort}" in text


def test_generate_command_prints_one_json_object(tiny_model_dir):
    """`python -m engine generate --json` prints tokens, analysis, final and usage."""
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "engine",
            "generate",
            "--model",
            str(tiny_model_dir),
            "--prompt",
            "Hi",
            "--max-tokens",
            "6",
            "--temperature",
            "0",
            "--device",
            "cpu",
            "--context",
            "256",
            "--json",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    result = json.loads(out.stdout)
    assert {"tokens", "analysis", "final", "usage"} <= result.keys()
    assert 1 <= len(result["tokens"]) <= 6
    assert {"prompt_tokens", "completion_tokens", "reasoning_tokens", "ttft_s", "decode_tok_s"} <= result[
        "usage"
    ].keys()
    assert result["usage"]["completion_tokens"] == len(result["tokens"])
