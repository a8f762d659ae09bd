"""Reading a turn's events into the API's answer: tool calls, malformed ones, stop strings."""

from __future__ import annotations

from engine.server.chat import _delta
from engine.server.turn import MALFORMED, TurnReader
from engine.text.harmony.events import TextDelta, ToolCall, TurnEnd


def read(reader: TurnReader, events) -> list:
    return [piece for event in events for piece in reader.read(event)]


def test_a_good_call_is_a_tool_call_with_its_arguments_as_json_text():
    """A call to a declared tool with a JSON object is a tool call; the turn ends with tool_calls."""
    reader = TurnReader({"get_weather"})
    pieces = read(reader, [ToolCall("get_weather", ' {"city": "Paris"}\n', "call_1"), TurnEnd("call")])
    assert [piece.kind for piece in pieces] == ["tool_call"]
    assert reader.tool_calls == [{"id": "call_1", "name": "get_weather", "arguments": '{"city": "Paris"}'}]
    assert reader.finish_reason == "tool_calls"


def test_multi_line_arguments_are_kept_whole():
    """Arguments over several lines (the ones other servers answer with a 500) come back as written."""
    reader = TurnReader({"write"})
    read(reader, [ToolCall("write", '{\n  "text": "a\\nb",\n  "n": 2\n}', "c"), TurnEnd("call")])
    assert reader.tool_calls[0]["arguments"] == '{\n  "text": "a\\nb",\n  "n": 2\n}'


def test_a_malformed_call_comes_back_as_text_with_a_finish_reason_that_says_so():
    """A broken name or arguments that are not a JSON object: the text, and finish_reason
    malformed_tool_call; never an error."""
    for name, arguments in [
        ("assistant<|channel|>analysis", "{}"),
        ("get_weather", '{"city": '),
        ("get_weather", "[1]"),
        ("unknown_tool", "{}"),
    ]:
        reader = TurnReader({"get_weather"})
        pieces = read(reader, [TextDelta("analysis", "hmm"), ToolCall(name, arguments, "c"), TurnEnd("call")])
        assert reader.tool_calls == [] and reader.finish_reason == MALFORMED
        assert arguments in reader.content and pieces[-1].kind == "content"


def test_reasoning_deltas_carry_both_field_names():
    """A chat delta of reasoning fills reasoning_content and reasoning alike."""
    reader = TurnReader()
    piece = read(reader, [TextDelta("analysis", "think")])[0]
    assert _delta(piece, 0) == {"reasoning_content": "think", "reasoning": "think"}


def test_a_stop_string_split_across_deltas_is_caught_and_not_sent():
    """A stop string written across two deltas ends the answer before it; nothing of it is sent."""
    reader = TurnReader(stop=["END"])
    pieces = read(
        reader, [TextDelta("final", "one two E"), TextDelta("final", "ND three"), TurnEnd("cancelled")]
    )
    assert "".join(piece.text for piece in pieces) == "one two " == reader.content
    assert reader.stopped and reader.finish_reason == "stop"


def test_text_held_back_for_a_possible_stop_string_is_sent_at_the_end():
    """Text that only looked like the start of a stop string is sent when the turn ends."""
    reader = TurnReader(stop=["END"])
    pieces = read(reader, [TextDelta("final", "the E"), TurnEnd("return")])
    assert "".join(piece.text for piece in pieces) == "the E" and reader.finish_reason == "stop"
