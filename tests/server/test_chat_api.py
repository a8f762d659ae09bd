"""Chat completions through the official openai client over loopback HTTP, on the tiny random model."""

from __future__ import annotations

import json
import threading

import openai
import pytest

from engine.__main__ import main as engine_main
from tests.server.conftest import user

WEATHER = {
    "type": "object",
    "properties": {"unit": {"enum": ["celsius", "fahrenheit"]}, "exact": {"type": "boolean"}},
    "required": ["unit", "exact"],
}
TOOLS = [
    {
        "type": "function",
        "function": {"name": "get_weather", "description": "Weather now.", "parameters": WEATHER},
    }
]


def engine_render(tmp_path, conversation: dict, effort: str = "medium") -> list[int]:
    path = tmp_path / "conversation.json"
    path.write_text(json.dumps(conversation))
    return _run_cli(["render", "--messages", str(path), "--effort", effort])


def _run_cli(argv: list[str]):
    import contextlib
    import io

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert engine_main(argv) == 0
    return json.loads(out.getvalue().strip().splitlines()[-1])


def test_models_lists_the_loaded_model_with_its_context(live):
    """/v1/models names the loaded model, who serves it, and its context length."""
    models = live.client().models.list().data
    assert [model.id for model in models] == [live.model_id]
    assert models[0].owned_by == "gossamer"
    assert models[0].model_extra["context_length"] == 2048


@pytest.mark.parametrize(("temperature", "seed"), [(0.0, 1), (0.8, 7)])
def test_the_answer_is_the_tokens_engine_generate_writes(live, tiny_model_dir, temperature, seed):
    """Greedy, or sampled with a seed, the server writes the same tokens as `engine generate` for the same
    message, effort and seed."""
    answer = live.client().chat.completions.create(
        model=live.model_id,
        messages=user("Name a colour."),
        temperature=temperature,
        max_tokens=12,
        seed=seed,
        reasoning_effort="high",
        extra_body={"return_token_ids": True},
    )
    cli = _run_cli(
        ["generate", "--model", str(tiny_model_dir), "--device", "cpu", "--prompt", "Name a colour."]
        + ["--temperature", str(temperature), "--max-tokens", "12", "--seed", str(seed), "--effort", "high"]
        + ["--json", "--context", "2048"]
    )
    assert answer.model_extra["token_ids"] == cli["tokens"]
    assert answer.choices[0].message.content == cli["final"] + cli["commentary"]
    assert answer.choices[0].finish_reason == "length"
    assert answer.usage.completion_tokens == 12


def test_streaming_gives_the_same_answer_in_pieces_with_usage_at_the_end(live):
    """A streamed answer adds up to the unstreamed one; include_usage sends the usage last."""
    client = live.client()
    whole = client.chat.completions.create(
        model=live.model_id, messages=user("Stream this."), temperature=0, max_tokens=10
    )
    chunks = list(
        client.chat.completions.create(
            model=live.model_id,
            messages=user("Stream this."),
            temperature=0,
            max_tokens=10,
            stream=True,
            stream_options={"include_usage": True},
        )
    )
    text = "".join(chunk.choices[0].delta.content or "" for chunk in chunks if chunk.choices)
    assert text == whole.choices[0].message.content
    assert [chunk.choices[0].finish_reason for chunk in chunks if chunk.choices][-1] == "length"
    assert chunks[-1].choices == [] and chunks[-1].usage.completion_tokens == 10


def test_a_resent_conversation_reuses_the_cached_prefix(live):
    """A client resending the whole conversation does not prefill what the engine already holds."""
    client = live.client()
    first = client.chat.completions.create(
        model=live.model_id, messages=user("Remember me."), temperature=0, max_tokens=6
    )
    conversation = (
        user("Remember me.")
        + [{"role": "assistant", "content": first.choices[0].message.content}]
        + user("And now?")
    )
    second = client.chat.completions.create(
        model=live.model_id, messages=conversation, temperature=0, max_tokens=4
    )
    assert second.usage.prompt_tokens_details.cached_tokens >= first.usage.prompt_tokens - 1


def test_a_forced_tool_call_round_trips_with_the_prompt_engine_render_gives(live, tmp_path):
    """tool_choice names a function: the call comes back clean; sent back with its result, the prompt the
    server renders is exactly `engine render`'s for the same conversation and tools."""
    client = live.client()
    messages = user("Weather in Paris?")
    answer = client.chat.completions.create(
        model=live.model_id,
        messages=messages,
        tools=TOOLS,
        temperature=0,
        max_tokens=200,
        tool_choice={"type": "function", "function": {"name": "get_weather"}},
        extra_body={"return_token_ids": True},
    )
    choice = answer.choices[0]
    assert choice.finish_reason == "tool_calls"
    call = choice.message.tool_calls[0]
    assert call.function.name == "get_weather"
    arguments = json.loads(call.function.arguments)
    assert arguments["unit"] in ("celsius", "fahrenheit") and isinstance(arguments["exact"], bool)
    assert answer.model_extra["prompt_token_ids"] == engine_render(
        tmp_path, {"messages": messages, "tools": TOOLS}
    )

    reasoning = choice.message.model_extra.get("reasoning_content")
    assert reasoning == choice.message.model_extra.get("reasoning")
    turn = {
        "role": "assistant",
        "content": choice.message.content,
        "reasoning_content": reasoning,
        "tool_calls": [
            {
                "id": call.id,
                "type": "function",
                "function": {"name": call.function.name, "arguments": call.function.arguments},
            }
        ],
    }
    follow = messages + [turn, {"role": "tool", "tool_call_id": call.id, "content": '{"temp": 21}'}]
    again = client.chat.completions.create(
        model=live.model_id,
        messages=follow,
        tools=TOOLS,
        temperature=0,
        max_tokens=3,
        reasoning_effort="high",
        extra_body={"return_token_ids": True},
    )
    rendered = engine_render(tmp_path, {"messages": follow, "tools": TOOLS}, effort="high")
    assert again.model_extra["prompt_token_ids"] == rendered


def test_tool_choice_none_keeps_the_tools_in_the_prompt_and_makes_no_call(live, tmp_path):
    """tool_choice none: the prompt is `engine render`'s with the tools (the cache still holds it), and the
    answer calls nothing."""
    client = live.client()
    messages = user("Weather in Seoul?")
    answer = client.chat.completions.create(
        model=live.model_id,
        messages=messages,
        tools=TOOLS,
        tool_choice="none",
        temperature=0,
        max_tokens=60,
        extra_body={"return_token_ids": True},
    )
    assert answer.model_extra["prompt_token_ids"] == engine_render(
        tmp_path, {"messages": messages, "tools": TOOLS}
    )
    assert answer.choices[0].finish_reason in ("stop", "length") and not answer.choices[0].message.tool_calls
    assert 200012 not in answer.model_extra["token_ids"]  # no <|call|>


def test_reasoning_comes_under_both_names_streamed_and_not(live):
    """The analysis channel is sent as reasoning_content and as reasoning, in the answer and in deltas."""
    client = live.client()
    request = dict(
        model=live.model_id,
        messages=user("Think first."),
        tools=TOOLS,
        tool_choice="required",
        temperature=0,
        max_tokens=40,
    )
    message = client.chat.completions.create(**request).choices[0].message
    assert message.model_extra["reasoning_content"]
    assert message.model_extra["reasoning_content"] == message.model_extra["reasoning"]
    deltas = [
        chunk.choices[0].delta
        for chunk in client.chat.completions.create(stream=True, **request)
        if chunk.choices
    ]
    thinking = [
        delta.model_extra["reasoning_content"] for delta in deltas if delta.model_extra.get("reasoning")
    ]
    assert thinking and thinking == [
        delta.model_extra["reasoning"] for delta in deltas if delta.model_extra.get("reasoning")
    ]
    assert "".join(thinking) == message.model_extra["reasoning"]
    assert client.chat.completions.create(**request).usage.completion_tokens_details.reasoning_tokens > 0


def test_json_schema_output_parses_and_matches_the_schema(live):
    """response_format json_schema: the answer is JSON with the schema's keys and allowed values."""
    answer = live.client().chat.completions.create(
        model=live.model_id,
        messages=user("Report as JSON."),
        temperature=0,
        max_tokens=300,
        response_format={"type": "json_schema", "json_schema": {"name": "report", "schema": WEATHER}},
    )
    assert answer.choices[0].finish_reason == "stop"
    value = json.loads(answer.choices[0].message.content)
    assert set(value) == {"unit", "exact"}
    assert value["unit"] in ("celsius", "fahrenheit") and isinstance(value["exact"], bool)


def test_json_object_output_is_an_object(live):
    """response_format json_object: whatever the model writes in the final channel is a JSON object (or
    its start, when the tokens run out)."""
    answer = live.client().chat.completions.create(
        model=live.model_id,
        messages=user("JSON please."),
        temperature=0.8,
        seed=3,
        max_tokens=24,
        response_format={"type": "json_object"},
    )
    content = answer.choices[0].message.content.lstrip()
    assert content == "" or content.startswith("{")
    if answer.choices[0].finish_reason == "stop":
        assert isinstance(json.loads(content), dict)


def test_a_stop_string_ends_the_answer_before_it(live):
    """stop: the answer ends right before the first stop string, with finish_reason stop."""
    client = live.client()
    whole = (
        client.chat.completions.create(
            model=live.model_id, messages=user("Stop somewhere."), temperature=0, max_tokens=12
        )
        .choices[0]
        .message.content
    )
    stop = whole[len(whole) // 2 : len(whole) // 2 + 3]
    cut = client.chat.completions.create(
        model=live.model_id, messages=user("Stop somewhere."), temperature=0, max_tokens=12, stop=[stop]
    )
    assert cut.choices[0].message.content == whole[: whole.index(stop)]
    assert cut.choices[0].finish_reason == "stop"


def test_concurrent_requests_each_get_the_answer_they_get_alone(live):
    """Requests sent at once queue for the one engine and each answer is what it would be alone."""
    client = live.client()
    prompts = ["One.", "Two, longer.", "Three is the longest of them."]
    alone = [
        client.chat.completions.create(model=live.model_id, messages=user(p), temperature=0, max_tokens=6)
        .choices[0]
        .message.content
        for p in prompts
    ]
    together: dict[int, str] = {}

    def ask(index: int) -> None:
        together[index] = (
            client.chat.completions.create(
                model=live.model_id, messages=user(prompts[index]), temperature=0, max_tokens=6
            )
            .choices[0]
            .message.content
        )

    threads = [threading.Thread(target=ask, args=(index,)) for index in (2, 0, 1)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert [together[index] for index in range(3)] == alone


@pytest.mark.parametrize("effort_field", [{"reasoning_effort": "low"}, {"reasoning": {"effort": "low"}}])
def test_reasoning_effort_reaches_the_system_message(live, tmp_path, effort_field):
    """reasoning_effort and reasoning.effort both set the effort the prompt is rendered with."""
    answer = live.client().chat.completions.create(
        model=live.model_id,
        messages=user("Low effort."),
        max_tokens=1,
        extra_body={"return_token_ids": True, **effort_field},
    )
    assert answer.model_extra["prompt_token_ids"] == engine_render(
        tmp_path, {"messages": user("Low effort.")}, effort="low"
    )


def test_top_k_is_applied_and_checked(live):
    """top_k=1 samples the greedy answer at any temperature; -1 and 0 mean off; a fraction is a 400."""
    client = live.client()
    ask = dict(
        model=live.model_id,
        messages=user("Pick a word."),
        max_tokens=8,
        extra_body={"return_token_ids": True},
    )
    greedy = client.chat.completions.create(temperature=0, **ask)
    ask["extra_body"] = {"return_token_ids": True, "top_k": 1}
    one = client.chat.completions.create(temperature=1.5, seed=3, **ask)
    assert one.model_extra["token_ids"] == greedy.model_extra["token_ids"]
    for off in (0, -1):
        ask["extra_body"] = {"top_k": off}
        client.chat.completions.create(temperature=1.0, seed=3, **ask)
    ask["extra_body"] = {"top_k": 2.5}
    with pytest.raises(openai.BadRequestError, match="top_k"):
        client.chat.completions.create(**ask)
