"""StreamParser: agrees with openai-harmony on well-formed output, shows malformed output, never raises."""

from __future__ import annotations

import functools
import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.text.harmony import MessageEnd, MessageStart, StreamParser, TextDelta, ToolCall, TurnEnd
from engine.text.harmony.parser import MAX_HEADER_TOKENS
from engine.text.tokenizer import NUM_ORDINARY_TOKENS, VOCAB_SIZE, Special, load_tokenizer
from tests.engine.test_harmony_oracle import oracle_parse

S = Special


def tokens(*parts):
    """Token ids for a mix of text (encoded as ordinary text) and Special members."""
    tok = load_tokenizer()
    out = []
    for part in parts:
        out += tok.encode(part) if isinstance(part, str) else [int(part)]
    return out


def run(ids, finish=True, **kwargs):
    parser = StreamParser(**kwargs)
    events = []
    for token in ids:
        events += parser.feed(token)
    if finish:
        events += parser.finish()
    return events


def fold(events):
    """Events -> [(role, channel, recipient, content_type, text)] and the turn-end reasons."""
    messages, reasons, current = [], [], None
    for event in events:
        if isinstance(event, MessageStart):
            assert current is None, "MessageStart inside a message"
            current = [event.role, event.channel, event.recipient, event.content_type, ""]
        elif isinstance(event, TextDelta):
            assert current is not None and event.channel == current[1] and event.text
            current[4] += event.text
        elif isinstance(event, ToolCall):
            assert current is not None and current[2] is not None
            assert event.name == current[2].removeprefix("functions.")
            current[4] += event.arguments
        elif isinstance(event, MessageEnd):
            assert current is not None and event.channel == current[1]
            messages.append(tuple(current))
            current = None
        elif isinstance(event, TurnEnd):
            assert current is None
            reasons.append(event.reason)
    assert current is None, "message left open"
    return messages, reasons


# -- well-formed output: same messages as openai-harmony ----------------------------------------------

WELL_FORMED = {
    "analysis_then_final": (
        S.CHANNEL,
        "analysis",
        S.MESSAGE,
        "User asks 2+2. Simple.",
        S.END,
        S.START,
        "assistant",
        S.CHANNEL,
        "final",
        S.MESSAGE,
        "2 + 2 = 4.",
        S.RETURN,
    ),
    "final_only": (S.CHANNEL, "final", S.MESSAGE, "Hello there!", S.RETURN),
    "tool_call_recipient_after_channel": (
        S.CHANNEL,
        "analysis",
        S.MESSAGE,
        "Need weather.",
        S.END,
        S.START,
        "assistant",
        S.CHANNEL,
        "commentary to=functions.get_weather ",
        S.CONSTRAIN,
        "json",
        S.MESSAGE,
        '{"location":"Seoul"}',
        S.CALL,
    ),
    "tool_call_recipient_before_channel": (
        " to=functions.get_weather",
        S.CHANNEL,
        "commentary",
        " ",
        S.CONSTRAIN,
        "json",
        S.MESSAGE,
        '{"location": "SF"}',
        S.CALL,
    ),
    "constrain_adjacent": (
        S.CHANNEL,
        "commentary to=functions.lookup",
        S.CONSTRAIN,
        "json",
        S.MESSAGE,
        "{}",
        S.CALL,
    ),
    "plain_content_type": (S.CHANNEL, "commentary to=functions.run json", S.MESSAGE, '{"a": [1, 2]}', S.CALL),
    "preamble_then_call": (
        S.CHANNEL,
        "analysis",
        S.MESSAGE,
        "Plan.",
        S.END,
        S.START,
        "assistant",
        S.CHANNEL,
        "commentary",
        S.MESSAGE,
        "**Plan**: 1. look up\n2. answer",
        S.END,
        S.START,
        "assistant",
        S.CHANNEL,
        "commentary to=functions.f ",
        S.CONSTRAIN,
        "json",
        S.MESSAGE,
        "{}",
        S.CALL,
    ),
    "korean_emoji_code": (
        S.CHANNEL,
        "analysis",
        S.MESSAGE,
        "사용자가 인사합니다 👋🏽",
        S.END,
        S.START,
        "assistant",
        S.CHANNEL,
        "final",
        S.MESSAGE,
        "```py\n\tprint('안녕')\n```\n  🇰🇷  ",
        S.RETURN,
    ),
    "several_analysis_messages": (
        S.CHANNEL,
        "analysis",
        S.MESSAGE,
        "one",
        S.END,
        S.START,
        "assistant",
        S.CHANNEL,
        "analysis",
        S.MESSAGE,
        "two",
        S.END,
        S.START,
        "assistant",
        S.CHANNEL,
        "final",
        S.MESSAGE,
        "three",
        S.RETURN,
    ),
    "lookalike_specials_in_text": (
        S.CHANNEL,
        "final",
        S.MESSAGE,
        "type <|end|> or <|call|> literally",
        S.RETURN,
    ),
    "empty_content": (S.CHANNEL, "final", S.MESSAGE, S.RETURN),
}


@pytest.mark.parametrize("content_type", [["json"], [S.CONSTRAIN, "json"]])
def test_content_type_without_recipient_differs_from_harmony(content_type):
    """Known difference: for ``final <|constrain|>json`` openai-harmony reads the lone word as the
    recipient (so a structured final answer would look like a tool call); we read a content type."""
    ids = tokens(S.CHANNEL, "final ", *content_type, S.MESSAGE, '{"ok":true}', S.RETURN)
    messages, reasons = fold(run(ids))
    word = "".join(p if isinstance(p, str) else "<|constrain|>" for p in content_type)
    assert messages == [("assistant", "final", None, word, '{"ok":true}')] and reasons == ["return"]
    assert oracle_parse(ids) == [("assistant", "final", word, None, '{"ok":true}')]


@pytest.mark.parametrize("name", sorted(WELL_FORMED))
def test_well_formed_matches_harmony(name):
    """Messages, channels, recipients, content types and text equal openai-harmony's StreamableParser's."""
    ids = tokens(*WELL_FORMED[name])
    messages, reasons = fold(run(ids))
    assert messages == oracle_parse(ids)
    assert reasons == ["call" if ids[-1] == S.CALL else "return"]


def test_tool_call_event():
    """A message to functions.NAME ended by <|call|> yields one ToolCall and TurnEnd("call")."""
    ids = tokens(*WELL_FORMED["tool_call_recipient_after_channel"])
    events = run(ids, new_call_id=lambda: "call_test")
    calls = [e for e in events if isinstance(e, ToolCall)]
    assert calls == [ToolCall("get_weather", '{"location":"Seoul"}', "call_test")]
    assert events[-1] == TurnEnd("call")
    assert not any(isinstance(e, TextDelta) and e.channel == "commentary" for e in events)
    starts = [e for e in events if isinstance(e, MessageStart)]
    assert starts[-1] == MessageStart(
        "assistant",
        "commentary",
        "functions.get_weather",
        "<|constrain|>json",
        "assistant<|channel|>commentary to=functions.get_weather <|constrain|>json",
    )


def test_call_ids_are_unique():
    """Default call ids differ from call to call."""
    ids = tokens(*WELL_FORMED["constrain_adjacent"])
    first = next(e for e in run(ids) if isinstance(e, ToolCall))
    second = next(e for e in run(ids) if isinstance(e, ToolCall))
    assert first.call_id != second.call_id and first.call_id.startswith("call_")


def test_event_sequence_and_current_channel():
    """The exact events of a short turn, and current_channel as tokens arrive."""
    ids = tokens(*WELL_FORMED["analysis_then_final"])
    parser = StreamParser()
    channels, events = [], []
    for token in ids:
        events += parser.feed(token)
        channels.append(parser.current_channel)
    assert channels[0] is None and "analysis" in channels and channels[-2] == "final" and channels[-1] is None
    kinds = [type(e).__name__ for e in events if not isinstance(e, TextDelta)]
    assert kinds == ["MessageStart", "MessageEnd", "MessageStart", "MessageEnd", "TurnEnd"]
    assert events[0] == MessageStart("assistant", "analysis", None, None, "<|channel|>analysis")
    assert parser.finish() == []


def test_utf8_split_across_tokens():
    """Characters split over several tokens come out whole, never as replacement characters."""
    tok = load_tokenizer()
    text = "🇰🇷👩‍👩‍👧‍👦 漢字 ğ"
    # Byte-level tokens: one token per byte forces every multi-byte character to be split.
    byte_ids = [token for b in text.encode() for token in _byte_token(tok, b)]
    ids = tokens(S.CHANNEL, "final", S.MESSAGE) + byte_ids + [int(S.RETURN)]
    deltas = [e.text for e in run(ids) if isinstance(e, TextDelta)]
    assert "".join(deltas) == text and "\ufffd" not in "".join(deltas)
    assert fold(run(ids))[0] == oracle_parse(ids)


def _byte_token(tok, byte):
    """[the ordinary token whose bytes are exactly this one byte]."""
    return [_single_byte_tokens()[byte]]


@functools.cache
def _single_byte_tokens():
    tok = load_tokenizer()
    found = {}
    for token in range(NUM_ORDINARY_TOKENS):
        raw = tok.token_bytes(token)
        if len(raw) == 1:
            found[raw[0]] = token
            if len(found) == 256:
                return found
    raise AssertionError("o200k has a token for every byte")


def test_invalid_utf8_becomes_replacement_characters():
    """Bytes that never form UTF-8 come out as U+FFFD, as a lossy decode of the same bytes would."""
    tok = load_tokenizer()
    raw = b"ok \xf0\x9f then \xff end \xe2\x82"
    ids = tokens(S.CHANNEL, "final", S.MESSAGE) + [t for b in raw for t in _byte_token(tok, b)]
    cut = run(ids)  # cut mid-character: finish() flushes
    assert "".join(e.text for e in cut if isinstance(e, TextDelta)) == raw.decode("utf-8", errors="replace")
    ended = run(ids + [int(S.RETURN)])
    assert fold(ended)[0][0][4] == raw.decode("utf-8", errors="replace")


# -- malformed output: shown, not lost --------------------------------------------------------------

MALFORMED = {
    "missing_channel": (
        (S.MESSAGE, "Hi!", S.RETURN),
        [("assistant", "final", None, None, "Hi!")],
        ["return"],
    ),
    "unknown_channel": (
        (
            S.CHANNEL,
            "thoughts",
            S.MESSAGE,
            "hmm",
            S.END,
            S.START,
            "assistant",
            S.CHANNEL,
            "final",
            S.MESSAGE,
            "ok",
            S.RETURN,
        ),
        [("assistant", "final", None, None, "hmm"), ("assistant", "final", None, None, "ok")],
        ["return"],
    ),
    "text_instead_of_header": (
        ("The answer is 4.", S.RETURN),
        [("assistant", "final", None, None, "The answer is 4.")],
        ["return"],
    ),
    "header_without_message_token": (
        (S.CHANNEL, "analysis", " We need to add the numbers", S.END),
        [("assistant", "analysis", None, None, "We need to add the numbers")],
        [],
    ),
    "long_text_where_header_belongs": (
        (S.CHANNEL, "analysis ", "word " * (MAX_HEADER_TOKENS + 5), S.END),
        [("assistant", "analysis", None, None, "word " * (MAX_HEADER_TOKENS + 5))],
        [],
    ),
    "line_break_in_header": (
        (S.CHANNEL, "final", " first line\nsecond line", S.RETURN),
        [("assistant", "final", None, None, "first line\nsecond line")],
        ["return"],
    ),
    "stray_specials_in_content": (
        (S.CHANNEL, "final", S.MESSAGE, "a", S.CONSTRAIN, "b", S.MESSAGE, "c", 200123, S.ENDOFTEXT, S.RETURN),
        [("assistant", "final", None, None, "a<|constrain|>b<|message|>c<|reserved_200123|><|endoftext|>")],
        ["return"],
    ),
    "channel_inside_content": (
        (S.CHANNEL, "analysis", S.MESSAGE, "think", S.CHANNEL, "final", S.MESSAGE, "answer", S.RETURN),
        [("assistant", "analysis", None, None, "think"), ("assistant", "final", None, None, "answer")],
        ["return"],
    ),
    "start_without_end": (
        (
            S.CHANNEL,
            "analysis",
            S.MESSAGE,
            "think",
            S.START,
            "assistant",
            S.CHANNEL,
            "final",
            S.MESSAGE,
            "x",
            S.RETURN,
        ),
        [("assistant", "analysis", None, None, "think"), ("assistant", "final", None, None, "x")],
        ["return"],
    ),
    "missing_start_after_end": (
        (S.CHANNEL, "analysis", S.MESSAGE, "t", S.END, S.CHANNEL, "final", S.MESSAGE, "f", S.RETURN),
        [("assistant", "analysis", None, None, "t"), ("assistant", "final", None, None, "f")],
        ["return"],
    ),
    "text_after_end": (
        (S.CHANNEL, "analysis", S.MESSAGE, "t", S.END, "Final words.", S.RETURN),
        [("assistant", "analysis", None, None, "t"), ("assistant", "final", None, None, "Final words.")],
        ["return"],
    ),
    "call_without_recipient": (
        (S.CHANNEL, "commentary", S.MESSAGE, "about to", S.CALL),
        [("assistant", "commentary", None, None, "about to")],
        ["return"],
    ),
    "tool_call_ended_by_end": (
        (S.CHANNEL, "commentary to=functions.f json", S.MESSAGE, '{"a":1}', S.END),
        [("assistant", "commentary", "functions.f", "json", '{"a":1}')],
        [],
    ),
    "tool_call_without_message_token": (
        (S.CHANNEL, "commentary to=functions.f ", '{"a": 1}', S.CALL),
        [("assistant", "commentary", "functions.f", None, '{"a": 1}')],
        ["call"],
    ),
    "recipient_without_channel": (
        (" to=functions.f", S.MESSAGE, "{}", S.CALL),
        [("assistant", "commentary", "functions.f", None, "{}")],
        ["call"],
    ),
    "other_role": (
        (S.CHANNEL, "final", S.MESSAGE, "a", S.END, S.START, "user", S.MESSAGE, "fake user turn", S.END),
        [("assistant", "final", None, None, "a"), ("user", "final", None, None, "fake user turn")],
        [],
    ),
    "too_many_header_words": (
        (S.CHANNEL, "final", " Here is my answer", S.MESSAGE, " and more", S.RETURN),
        [("assistant", "final", None, None, "Here is my answer and more")],
        ["return"],
    ),
    "stray_terminators": (
        (S.END, S.END, S.CHANNEL, "final", S.MESSAGE, "x", S.END, S.END, S.RETURN),
        [("assistant", "final", None, None, "x")],
        ["return"],
    ),
    "cut_in_content": (
        (S.CHANNEL, "analysis", S.MESSAGE, "thinking about"),
        [("assistant", "analysis", None, None, "thinking about")],
        [],
    ),
    "cut_in_header": (
        (S.CHANNEL, "fin"),
        [("assistant", "final", None, None, "")],
        [],
    ),
    "cut_in_tool_call": (
        (S.CHANNEL, "commentary to=functions.f ", S.CONSTRAIN, "json", S.MESSAGE, '{"a":'),
        [("assistant", "commentary", "functions.f", "<|constrain|>json", '{"a":')],
        [],
    ),
}


@pytest.mark.parametrize("name", sorted(MALFORMED))
def test_malformed(name):
    """Malformed or cut output comes out as text in a sensible channel, without raising."""
    parts, expected_messages, expected_reasons = MALFORMED[name]
    messages, reasons = fold(run(tokens(*parts)))
    assert messages == expected_messages
    assert reasons == expected_reasons


def test_unknown_channel_is_kept_in_the_header():
    """An unknown channel name is not lost: MessageStart.header holds what the model wrote."""
    events = run(tokens(S.CHANNEL, "thoughts", S.MESSAGE, "x", S.END))
    assert events[0] == MessageStart("assistant", "final", None, None, "<|channel|>thoughts")


def test_tool_call_cut_short_is_shown_not_called():
    """A tool call cut off by the token limit is shown as commentary text, not called."""
    events = run(tokens(*MALFORMED["cut_in_tool_call"][0]))
    assert not any(isinstance(e, ToolCall) for e in events)
    assert TextDelta("commentary", '{"a":') in events


def test_parser_from_expect_start():
    """role=None parses from before a <|start|>, e.g. a whole rendered conversation."""
    ids = tokens(
        S.START,
        "user",
        S.MESSAGE,
        "hi",
        S.END,
        S.START,
        "assistant",
        S.CHANNEL,
        "final",
        S.MESSAGE,
        "yo",
        S.END,
    )
    messages, _ = fold(run(ids, role=None))
    assert messages == [("user", "final", None, None, "hi"), ("assistant", "final", None, None, "yo")]


def test_out_of_range_ids_do_not_raise():
    """Ids outside the vocabulary (a caller's bug) come out as text instead of raising."""
    messages, _ = fold(run(tokens(S.CHANNEL, "final", S.MESSAGE) + [VOCAB_SIZE + 5, -1] + tokens(S.RETURN)))
    assert messages == [("assistant", "final", None, None, f"<|invalid_{VOCAB_SIZE + 5}|><|invalid_-1|>")]


# -- properties ----------------------------------------------------------------------------------------

SPECIALS = [int(s) for s in Special] + [200000, 200013, 201087]


@functools.cache
def ordinary_ids():
    """Ordinary tokens whose bytes have no '<', so special names in the output are unambiguous."""
    tok = load_tokenizer()
    return [t for t in range(0, NUM_ORDINARY_TOKENS, 7) if b"<" not in tok.token_bytes(t)]


def texty_ids(draw):
    tok = load_tokenizer()
    choice = draw(st.integers(0, 2))
    if choice == 0:
        return [draw(st.sampled_from(ordinary_ids()))]
    if choice == 1:
        return tok.encode(
            draw(
                st.sampled_from(
                    [
                        "analysis",
                        "final",
                        "commentary",
                        "assistant",
                        " to=functions.f",
                        " json",
                        " ",
                        "\n",
                        "한국",
                        "🙂",
                        '{"a": 1}',
                        "x y z",
                    ]
                )
            )
        )
    return [t for b in draw(st.binary(min_size=1, max_size=3)) for t in _byte_token(tok, b)]


@st.composite
def streams(draw):
    ids = []
    for _ in range(draw(st.integers(0, 40))):
        if draw(st.integers(0, 2)) == 0:
            ids.append(draw(st.sampled_from(SPECIALS)))
        else:
            ids += texty_ids(draw)
    return ids


def expected_text(ids):
    """The stream's ordinary text: each run between special tokens decoded on its own (lossy)."""
    tok = load_tokenizer()
    runs, current = [], []
    for token in ids + [int(S.END)]:
        if token >= NUM_ORDINARY_TOKENS:
            runs.append(tok.decode_bytes(current).decode("utf-8", errors="replace"))
            current = []
        else:
            current.append(token)
    return "".join(runs)


SPECIAL_NAME = re.compile(r"<\|[a-z_0-9]+\|>")


@pytest.mark.slow
@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(streams(), st.booleans())
def test_random_streams_never_raise_and_lose_no_text(ids, finish):
    """Random mixes of specials and text never raise; every ordinary byte comes out once, in order.

    Recovered text is MessageStart.header + TextDelta.text + ToolCall.arguments in event order; with
    special-token names (which the parser shows for stray specials) removed it equals the stream's
    ordinary text, decoded run by run (U+FFFD for bytes that are not UTF-8). With finish() the
    events also fold into whole messages.
    """
    events = run(ids, finish=finish)
    recovered = ""
    for event in events:
        if isinstance(event, MessageStart):
            recovered += event.header
            assert event.channel in ("analysis", "commentary", "final")
        elif isinstance(event, TextDelta):
            recovered += event.text
        elif isinstance(event, ToolCall):
            recovered += event.arguments
        elif isinstance(event, TurnEnd):
            assert event.reason in ("return", "call")
    if finish:
        fold(events)
        assert SPECIAL_NAME.sub("", recovered) == expected_text(ids)
    else:
        assert expected_text(ids).startswith(SPECIAL_NAME.sub("", recovered).rstrip("\ufffd"))
    reasons = [e.reason for e in events if isinstance(e, TurnEnd)]
    assert len(reasons) <= sum(1 for t in ids if t in (S.RETURN, S.CALL))
    assert reasons.count("call") == sum(1 for e in events if isinstance(e, ToolCall))


channel_names = st.sampled_from(["analysis", "commentary", "final"])
content_texts = st.lists(
    st.text(st.characters(codec="utf-8"), max_size=5)
    | st.sampled_from(
        ["<|end|>", " ", "\n\n", "\t", "한국어 ", "🙂", '{"k": [1, 2]}', "to=x", "<|channel|>"]
    ),
    max_size=6,
).map("".join)


@st.composite
def well_formed_turns(draw):
    parts = []
    count = draw(st.integers(1, 4))
    for index in range(count):
        last = index == count - 1
        channel = draw(channel_names)
        recipient = (
            draw(st.from_regex(r"functions\.[a-z_]{1,8}", fullmatch=True))
            if (last and channel != "final" and draw(st.booleans()))
            else None
        )
        if index > 0:
            parts += [S.START, "assistant"]
        if recipient and draw(st.booleans()):
            parts += [f" to={recipient}", S.CHANNEL, channel]
        else:
            parts += [S.CHANNEL, channel + (f" to={recipient}" if recipient else "")]
        if recipient:
            parts += [" ", S.CONSTRAIN, "json"] if draw(st.booleans()) else [" json"]
        parts += [S.MESSAGE, draw(content_texts)]
        parts.append(S.CALL if recipient else (S.RETURN if last else S.END))
    return parts


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(well_formed_turns())
def test_random_well_formed_turns_match_harmony(parts):
    """Generated well-formed turns parse into the same messages as openai-harmony's parser gives."""
    ids = tokens(*parts)
    messages, reasons = fold(run(ids))
    assert messages == oracle_parse(ids)
    assert reasons == ["call" if ids[-1] == S.CALL else "return"]
