"""Continuing an answer: the answer so far is rendered as openai-harmony renders it whole, less its end."""

from __future__ import annotations

import pytest

from engine.text.harmony import (
    ConversationError,
    StreamParser,
    continuation,
    render_continuation,
    render_prompt,
)
from engine.text.tokenizer import Special, load_tokenizer
from tests.engine.test_harmony_oracle import oracle_render

DATE = "2025-06-28"
QUESTION = [
    {"role": "system", "content": "Answer briefly."},
    {"role": "user", "content": "Write a haiku about autumn."},
]
PARTIALS = {
    "analysis": ({"role": "assistant", "reasoning": "The user wants a haiku. Autumn: leaves"}, "analysis"),
    "final": ({"role": "assistant", "content": "Leaves fall on the"}, "final"),
    "analysis then final": (
        {"role": "assistant", "reasoning": "Five, seven, five.", "content": "Crimson leaves drift\n"},
        "final",
    ),
    "korean cut mid-word": (
        {"role": "assistant", "reasoning": "사용자가 가을 하이쿠를", "content": "붉은 잎이 떨어"},
        "final",
    ),
    "empty content is no message": ({"role": "assistant", "reasoning": "Hmm,", "content": ""}, "analysis"),
}


def _tail() -> list[int]:
    return [Special.END, Special.START, *load_tokenizer().encode("assistant")]


@pytest.mark.parametrize("name", PARTIALS)
def test_the_answer_so_far_is_harmonys_whole_answer_left_open(name):
    """The prompt to continue is openai-harmony's prompt for the conversation with the answer whole, less the
    answer's <|end|> and the <|start|>assistant after it: the model sees what it wrote, and goes on."""
    partial, _channel = PARTIALS[name]
    ours = render_prompt(QUESTION, date=DATE, continue_from=partial)
    whole = oracle_render(
        [*QUESTION, {**partial, "content": partial.get("content") or None}], date=DATE, drop="none"
    )
    tail = _tail()
    assert whole[-len(tail) :] == tail
    assert ours == whole[: -len(tail)]


@pytest.mark.parametrize("name", PARTIALS)
def test_a_parser_fed_the_answer_so_far_is_inside_its_open_message(name):
    """Fed the rendered answer so far, the parser stands in the channel the answer stopped in, as the
    session's parser does before it reads the new tokens."""
    partial, channel = PARTIALS[name]
    parser = StreamParser()
    for token in render_continuation(continuation(partial)):
        parser.feed(token)
    assert parser.current_channel == channel


def test_the_conversation_before_the_answer_is_rendered_as_for_a_new_answer():
    """Continuing keeps the new-answer prompt as its prefix (earlier reasoning dropped the same way), so the
    KV cache of the conversation is reused."""
    messages = [
        {"role": "user", "content": "one"},
        {"role": "assistant", "reasoning": "think one", "content": "answer one"},
        {"role": "user", "content": "two"},
    ]
    base = render_prompt(messages, date=DATE)
    ours = render_prompt(messages, date=DATE, continue_from={"role": "assistant", "reasoning": "think two"})
    assert ours[: len(base)] == base and len(ours) > len(base)
    assert "think one" not in load_tokenizer().decode(ours)


@pytest.mark.parametrize(
    "partial", [None, {"role": "assistant"}, {"role": "assistant", "content": "", "reasoning": ""}]
)
def test_nothing_written_renders_nothing(partial):
    """An answer with no text has nothing to continue: the prompt is the new-answer prompt."""
    assert continuation(partial) == []
    assert render_prompt(QUESTION, date=DATE, continue_from=partial) == render_prompt(QUESTION, date=DATE)


@pytest.mark.parametrize(
    ("partial", "match"),
    [
        ({"role": "user", "content": "hi"}, "assistant message"),
        ("text", "assistant message"),
        (
            {
                "role": "assistant",
                "tool_calls": [{"id": "c", "type": "function", "function": {"name": "f", "arguments": "{}"}}],
            },
            "tool",
        ),
        ({"role": "assistant", "content": 3}, "continue_from content"),
    ],
)
def test_what_cannot_be_continued_is_a_clear_error(partial, match):
    """Only an assistant message's text can be continued; anything else says why."""
    with pytest.raises(ConversationError, match=match):
        render_prompt(QUESTION, date=DATE, continue_from=partial)
