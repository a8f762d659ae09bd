"""The Responses API through the official openai client: create, stream, previous_response_id, tools."""

from __future__ import annotations

import json

import openai
import pytest

from tests.server.test_chat_api import WEATHER

TOOLS = [{"type": "function", "name": "get_weather", "description": "Weather now.", "parameters": WEATHER}]


def test_create_answers_with_a_message_and_usage(live):
    """responses.create: the output text, a status, and usage in the Responses API's words."""
    response = live.client().responses.create(
        model=live.model_id, input="Hello there.", temperature=0, max_output_tokens=8
    )
    assert response.output_text
    assert response.status == "incomplete" and response.incomplete_details.reason == "max_output_tokens"
    assert response.usage.output_tokens == 8
    assert response.usage.input_tokens > 0


def test_stream_sends_the_events_and_the_same_final_response(live):
    """responses.stream: created, text deltas, completed; the final text is the unstreamed one."""
    client = live.client()
    whole = client.responses.create(
        model=live.model_id, input="Stream me.", temperature=0, max_output_tokens=8
    )
    with client.responses.stream(
        model=live.model_id, input="Stream me.", temperature=0, max_output_tokens=8
    ) as stream:
        kinds = [event.type for event in stream]
        final = stream.get_final_response()
    assert kinds[0] == "response.created" and kinds[-1] == "response.completed"
    assert "response.output_text.delta" in kinds
    assert final.output_text == whole.output_text


def test_previous_response_id_continues_the_conversation_from_the_cache(live):
    """previous_response_id: the earlier turn is part of the prompt, and its tokens are reused (instructions
    are not carried over, as OpenAI does: a client sends them again)."""
    client = live.client()
    first = client.responses.create(
        model=live.model_id,
        input="My name is Ada.",
        temperature=0,
        max_output_tokens=6,
        instructions="Be brief.",
    )
    second = client.responses.create(
        model=live.model_id,
        input="What is my name?",
        temperature=0,
        max_output_tokens=4,
        previous_response_id=first.id,
        instructions="Be brief.",
    )
    assert second.previous_response_id == first.id
    assert second.usage.input_tokens > first.usage.input_tokens + 4
    assert second.usage.input_tokens_details.cached_tokens >= first.usage.input_tokens - 1
    assert client.responses.retrieve(second.id).output_text == second.output_text
    with pytest.raises(openai.NotFoundError):
        client.responses.create(model=live.model_id, input="?", previous_response_id="resp_unknown")


def test_a_required_function_call_and_its_output_round_trip(live):
    """A forced function call comes back as a function_call item; its output is taken in the next input,
    streamed with the function-call events."""
    client = live.client()
    with client.responses.stream(
        model=live.model_id,
        input="Weather?",
        tools=TOOLS,
        tool_choice="required",
        temperature=0,
        max_output_tokens=200,
        reasoning={"effort": "low"},
    ) as stream:
        kinds = [event.type for event in stream]
        response = stream.get_final_response()
    assert "response.function_call_arguments.delta" in kinds
    calls = [item for item in response.output if item.type == "function_call"]
    assert calls and calls[0].name == "get_weather"
    assert set(json.loads(calls[0].arguments)) == {"unit", "exact"}
    for item in response.output:  # the tiny model may or may not reason first
        if item.type == "reasoning":
            assert item.content[0].text and "response.reasoning_text.delta" in kinds
    follow = client.responses.create(
        model=live.model_id,
        previous_response_id=response.id,
        tools=TOOLS,
        temperature=0,
        max_output_tokens=3,
        reasoning={"effort": "low"},
        input=[{"type": "function_call_output", "call_id": calls[0].call_id, "output": '{"temp": 21}'}],
    )
    assert follow.usage.input_tokens_details.cached_tokens >= response.usage.input_tokens - 1


def test_input_items_render_like_the_chat_messages_they_stand_for(live):
    """Items (messages with parts, reasoning, a call and its output) give the prompt of the same chat."""
    from engine.server.response_items import function_tools, input_messages
    from engine.text.harmony import render_prompt

    items = [
        {"role": "developer", "content": "Use tools."},
        {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "Weather?"}]},
        {"type": "reasoning", "summary": [], "content": [{"type": "reasoning_text", "text": "Call it."}]},
        {
            "type": "function_call",
            "call_id": "call_1",
            "name": "get_weather",
            "arguments": '{"unit":"celsius"}',
        },
        {"type": "function_call_output", "call_id": "call_1", "output": "21"},
    ]
    chat = [
        {"role": "developer", "content": "Use tools."},
        {"role": "user", "content": "Weather?"},
        {
            "role": "assistant",
            "reasoning": "Call it.",
            "tool_calls": [
                {
                    "id": "call_1",
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": '{"unit":"celsius"}'},
                }
            ],
        },
        {"role": "tool", "tool_call_id": "call_1", "content": "21"},
    ]
    tools = function_tools(TOOLS)
    assert render_prompt(input_messages(items), tools=tools, date="2026-01-01") == render_prompt(
        chat,
        tools=[
            {"type": "function", "function": {k: TOOLS[0][k] for k in ("name", "description", "parameters")}}
        ],
        date="2026-01-01",
    )


def test_json_schema_text_format_is_followed(live):
    """text.format json_schema: the output text parses and matches the schema."""
    response = live.client().responses.create(
        model=live.model_id,
        input="JSON.",
        temperature=0,
        max_output_tokens=300,
        text={"format": {"type": "json_schema", "name": "weather", "schema": WEATHER}},
    )
    value = json.loads(response.output_text)
    assert value["unit"] in ("celsius", "fahrenheit") and isinstance(value["exact"], bool)
