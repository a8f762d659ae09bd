"""Runaway reasoning: the guard on scripted harmony streams, and the session forcing the answer."""

from __future__ import annotations

import itertools
import threading
import time

import pytest

from engine.notices import Notice
from engine.runtime.reasoning_guard import FORCE_FINAL, ReasoningGuard, default_budget, turn_budget
from engine.runtime.session import ChatSession, GenerationSettings
from engine.text.harmony import MessageEnd, MessageStart, StreamParser, TextDelta, TurnEnd
from engine.text.tokenizer import Special, load_tokenizer

ANALYSIS = [Special.CHANNEL, *load_tokenizer().encode("analysis"), Special.MESSAGE]


def watch(tokens: list[int], guard: ReasoningGuard) -> tuple[int | None, object]:
    """Feed a scripted stream through the session's parser and the guard; (index of the cut, the cut)."""
    parser = StreamParser()
    for index, token in enumerate(tokens):
        parser.feed(token)
        cut = guard.feed(token, parser.current_channel)
        if cut is not None:
            return index, cut
    return None, None


def text(words: str) -> list[int]:
    return load_tokenizer().encode(words)


PASSAGE = text(
    "Wait, maybe we need to reconsider the constraint on x. If x is even then y must be odd, but the sum "
    "must be even, so let's recheck the parity of both terms once more before answering. "
)


def test_a_passage_repeated_in_the_analysis_channel_is_a_loop():
    """The same long passage written over and over is cut as a loop, at its fourth time."""
    assert len(PASSAGE) >= 32
    stream = ANALYSIS + PASSAGE * 10
    index, cut = watch(stream, ReasoningGuard(None))
    assert cut.reason == "loop"
    assert len(ANALYSIS) + 3 * len(PASSAGE) + 31 <= index < len(ANALYSIS) + 4 * len(PASSAGE)


def test_reasoning_that_does_not_repeat_is_not_a_loop():
    """Varied reasoning, even with recurring short phrases, runs on without a cut (no budget)."""
    words = " ".join(f"Let's check case {n}: {n} squared is {n * n}, so it holds." for n in range(400))
    _, cut = watch(ANALYSIS + text(words), ReasoningGuard(None))
    assert cut is None


def test_one_token_repeated_needs_several_ngram_lengths():
    """A run of one token counts as repeats only once each occurrence is past the last: 4 x 32 tokens."""
    dot = text(" .")[0]
    index, cut = watch(ANALYSIS + [dot] * 200, ReasoningGuard(None))
    assert cut.reason == "loop" and index - len(ANALYSIS) + 1 == 4 * 32


def test_a_loop_in_the_final_channel_is_not_watched():
    """Only reasoning is cut: an answer that repeats itself (a poem's refrain) is the user's to judge."""
    final = [Special.CHANNEL, *text("final"), Special.MESSAGE]
    _, cut = watch(final + PASSAGE * 10, ReasoningGuard(10))
    assert cut is None


def test_the_budget_counts_only_analysis_tokens_across_messages():
    """Two analysis messages add up; their headers and the commentary between them do not count."""
    first = ANALYSIS + text(" one two three four five") + [Special.END, Special.START, *text("assistant")]
    _, cut = watch(first + ANALYSIS + text(" six seven eight nine ten eleven"), ReasoningGuard(8))
    assert cut.reason == "budget" and cut.reasoning_tokens == 8


@pytest.mark.parametrize(
    ("budget", "max_new", "expected"),
    [(8192, 4096, 3072), (100, 4096, 100), (None, 400, 300), (0, 4096, 3072), (50, 4, None)],
)
def test_the_turn_budget_leaves_room_for_an_answer(budget, max_new, expected):
    """A budget near the token limit is lowered so the answer gets a quarter of the turn (at most 1024)."""
    assert turn_budget(budget, max_new) == expected


def test_default_budgets_grow_with_effort():
    """More effort is allowed more reasoning; an unknown effort gets medium's."""
    assert default_budget("low") < default_budget("medium") < default_budget("high")
    assert default_budget("other") == default_budget("medium")


def in_analysis():
    """An answer cut short while reasoning: a turn that continues it starts inside the analysis channel."""
    return {"role": "assistant", "reasoning": "Let me think about this step by step.", "content": ""}


def test_the_session_forces_the_final_channel_when_the_budget_is_spent(tiny_model):
    """With a budget of a few tokens, the tiny model's reasoning is cut and its answer starts in final."""
    session = ChatSession(tiny_model, context_length=512)
    settings = GenerationSettings(temperature=0.0, max_tokens=40, reasoning_budget=3)
    events = list(
        session.generate([{"role": "user", "content": "Hi"}], settings, continue_from=in_analysis())
    )
    notices = [e for e in events if isinstance(e, Notice)]
    assert [n.kind for n in notices] == ["reasoning_cut"] and notices[0].reason == "budget"
    at = events.index(notices[0])
    assert isinstance(events[at + 1], MessageEnd) and events[at + 1].channel == "analysis"
    assert isinstance(events[at + 2], MessageStart) and events[at + 2].channel == "final"
    analysis = [e for e in events[:at] if isinstance(e, TextDelta)]
    assert analysis and all(e.channel == "analysis" for e in analysis)
    assert all(e.channel == "final" for e in events[at + 2 :] if isinstance(e, TextDelta))
    end = events[-1]
    assert isinstance(end, TurnEnd) and end.usage.reasoning_cut == "budget"
    assert end.usage.as_dict()["reasoning_cut"] == "budget"
    completion = session.last_turn.completion_ids
    assert completion[3 : 3 + len(FORCE_FINAL)] == list(
        FORCE_FINAL
    )  # three reasoning tokens, then the switch
    assert session.cache.num_tokens == len(session.last_turn.prompt_ids) + len(completion) - 1


def test_the_answer_after_a_cut_can_be_continued_exactly(tiny_model):
    """The forced tokens are part of the answer the cache holds: continuing it prefills almost nothing."""
    session = ChatSession(tiny_model, context_length=512)
    messages = [{"role": "user", "content": "Hi"}]
    settings = GenerationSettings(temperature=0.0, max_tokens=12, reasoning_budget=3)
    events = list(session.generate(messages, settings, continue_from=in_analysis()))
    written = "".join(e.text for e in events if isinstance(e, TextDelta) and e.channel == "final")
    answer = {
        "role": "assistant",
        "reasoning": in_analysis()["reasoning"]
        + "".join(e.text for e in events if isinstance(e, TextDelta) and e.channel == "analysis"),
        "content": written,
    }
    if not written:
        pytest.skip("the tiny model wrote no final text to continue from")
    more = list(session.generate(messages, settings, continue_from=answer))
    assert more[-1].usage.prompt_tokens - more[-1].usage.cached_tokens <= 2


def test_without_a_cut_nothing_is_forced(tiny_model):
    """A budget turned off (0) and no loop: no notice, no forced tokens, the reasoning runs on."""
    session = ChatSession(tiny_model, context_length=512)
    settings = GenerationSettings(temperature=0.0, max_tokens=8, reasoning_budget=0)
    events = list(
        session.generate([{"role": "user", "content": "Hi"}], settings, continue_from=in_analysis())
    )
    assert not [e for e in events if isinstance(e, Notice)] and events[-1].usage.reasoning_cut is None
    completion = session.last_turn.completion_ids
    forced = list(FORCE_FINAL)
    assert all(completion[i : i + len(forced)] != forced for i in range(len(completion)))


def test_stop_takes_effect_before_the_next_token(tiny_model):
    """Stop ends the turn before the next token: at most the token being computed comes after it, and the
    turn ends within 100 ms plus one token (the slowest seen: a shared CPU stalls some)."""
    session = ChatSession(tiny_model, context_length=2048)
    settings = GenerationSettings(temperature=1.0, max_tokens=1500, seed=3, reasoning_budget=0)
    cancel = threading.Event()
    clicked: list[tuple[float, int]] = []
    stamps: list[tuple[float, int]] = []  # (time, tokens so far) at each event

    def click() -> None:
        while len(stamps) < 10:  # once text streams, a token an event
            time.sleep(0.001)
        clicked.append((time.perf_counter(), len(session.last_turn.completion_ids)))
        cancel.set()

    clicker = threading.Thread(target=click)
    clicker.start()
    for event in session.generate([{"role": "user", "content": "Count."}], settings, cancel=cancel):
        stamps.append((time.perf_counter(), len(session.last_turn.completion_ids)))
        if isinstance(event, TurnEnd):
            end = event
    clicker.join()
    assert end.reason == "cancelled", "the turn ended on its own before Stop"
    (at, tokens_at), (ended, tokens) = clicked[0], stamps[-1]
    one_token = max((t1 - t0 for (t0, n0), (t1, n1) in itertools.pairwise(stamps) if n1 == n0 + 1), default=0.0)
    assert one_token > 0
    latency = ended - at
    print(f"stop latency {latency * 1000:.1f} ms, {tokens - tokens_at} token(s) after Stop, slowest token "
          f"{one_token * 1000:.1f} ms")
    assert tokens - tokens_at <= 1
    assert latency < 0.100 + one_token, (latency, one_token)
