"""The test oracle: OpenAI-shaped conversations turned into openai-harmony objects, written apart from
engine.text.harmony so that comparing the two checks something; plus checks of the oracle's own behaviour
that our renderer relies on."""

from __future__ import annotations

import functools

import pytest

openai_harmony = pytest.importorskip("openai_harmony")

from openai_harmony import (
    Author,
    Conversation,
    DeveloperContent,
    HarmonyEncodingName,
    Message,
    ReasoningEffort,
    RenderConversationConfig,
    Role,
    StreamableParser,
    SystemContent,
    ToolDescription,
    load_harmony_encoding,
)

EFFORTS = {"low": ReasoningEffort.LOW, "medium": ReasoningEffort.MEDIUM, "high": ReasoningEffort.HIGH}


@functools.cache
def encoding():
    return load_harmony_encoding(HarmonyEncodingName.HARMONY_GPT_OSS)


def oracle_messages(messages, effort="medium", date="2025-06-28", tools=None, drop="harmony"):
    """openai-harmony Messages equivalent to OpenAI-shaped ``messages`` (see engine/text/harmony/messages.py)."""
    system = SystemContent.new().with_reasoning_effort(EFFORTS[effort]).with_conversation_start_date(date)
    out = [Message.from_role_and_content(Role.SYSTEM, system)]
    instructions = [m["content"] for m in messages if m["role"] in ("system", "developer") and m["content"]]
    if instructions or tools:
        developer = DeveloperContent.new()
        if instructions:
            developer = developer.with_instructions("\n\n".join(instructions))
        if tools:
            developer = developer.with_function_tools(
                [
                    ToolDescription.new(
                        t["function"]["name"],
                        t["function"].get("description") or "",
                        t["function"].get("parameters"),
                    )
                    for t in tools
                ]
            )
        out.append(Message.from_role_and_content(Role.DEVELOPER, developer))
    names = {}
    turns = []
    for m in messages:
        if isinstance(m.get("content"), list):  # OpenAI text parts: one text (harmony would tokenize each)
            m = {**m, "content": "".join(part["text"] for part in m["content"])}
        if m["role"] == "user":
            turns.append(Message.from_role_and_content(Role.USER, m["content"]))
        elif m["role"] == "assistant":
            if m.get("reasoning"):
                turns.append(
                    Message.from_role_and_content(Role.ASSISTANT, m["reasoning"]).with_channel("analysis")
                )
            calls = m.get("tool_calls") or []
            if calls:
                if m.get("content"):
                    turns.append(
                        Message.from_role_and_content(Role.ASSISTANT, m["content"]).with_channel("commentary")
                    )
                for call in calls:
                    names[call["id"]] = call["function"]["name"]
                    turns.append(
                        Message.from_role_and_content(Role.ASSISTANT, call["function"]["arguments"])
                        .with_channel("commentary")
                        .with_recipient("functions." + call["function"]["name"])
                        .with_content_type("<|constrain|>json")
                    )
            elif m.get("content") is not None:
                turns.append(
                    Message.from_role_and_content(Role.ASSISTANT, m["content"]).with_channel("final")
                )
        elif m["role"] == "tool":
            name = m.get("name") or names[m["tool_call_id"]]
            author = Author.new(Role.TOOL, "functions." + name)
            turns.append(
                Message.from_author_and_content(author, m["content"])
                .with_channel("commentary")
                .with_recipient("assistant")
            )
    if drop == "answered":  # every analysis message that a final answer follows
        finals = [i for i, t in enumerate(turns) if t.channel == "final"]
        if finals:
            turns = [t for i, t in enumerate(turns) if not (i < finals[-1] and t.channel == "analysis")]
    return out + turns


def oracle_render(messages, effort="medium", date="2025-06-28", tools=None, drop="harmony"):
    """openai-harmony's completion prompt for the equivalent conversation."""
    conversation = Conversation.from_messages(oracle_messages(messages, effort, date, tools, drop))
    config = None if drop == "harmony" else RenderConversationConfig(auto_drop_analysis=False)
    return encoding().render_conversation_for_completion(conversation, Role.ASSISTANT, config)


def oracle_parse(tokens, strict=True):
    """openai-harmony's StreamableParser over completion tokens: [(role, channel, recipient, content_type, text)]."""
    parser = StreamableParser(encoding(), Role.ASSISTANT, strict=strict)
    for token in tokens:
        parser.process(token)
    parser.process_eos()
    return [
        (m.author.role.value, m.channel, m.recipient, m.content_type, "".join(c.text for c in m.content))
        for m in parser.messages
    ]


def test_oracle_runs_offline():
    """The oracle loads its ranks from resources/ (TIKTOKEN_ENCODINGS_BASE) without the network."""
    assert set(encoding().stop_tokens_for_assistant_actions()) == {200002, 200012}
    assert set(encoding().stop_tokens()) == {200002, 200007, 200012}


def test_oracle_drops_analysis_only_before_the_first_final():
    """openai-harmony 0.0.8 keeps the analysis of a second answered turn (openai/harmony PR #96)."""
    messages = [
        {"role": "user", "content": "one"},
        {"role": "assistant", "reasoning": "think one", "content": "answer one"},
        {"role": "user", "content": "two"},
        {"role": "assistant", "reasoning": "think two", "content": "answer two"},
        {"role": "user", "content": "three"},
    ]
    text = encoding().decode(oracle_render(messages))
    assert "think one" not in text and "think two" in text
    assert "think two" not in encoding().decode(oracle_render(messages, drop="answered"))


def test_oracle_keeps_analysis_in_an_open_tool_chain():
    """While the last assistant message is a tool call, no analysis is dropped, not even answered turns'."""
    messages = [
        {"role": "user", "content": "one"},
        {"role": "assistant", "reasoning": "think one", "content": "answer one"},
        {"role": "user", "content": "two"},
        {
            "role": "assistant",
            "reasoning": "need a tool",
            "tool_calls": [{"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{}"}}],
        },
        {"role": "tool", "tool_call_id": "c1", "content": "42"},
    ]
    text = encoding().decode(oracle_render(messages, tools=[{"type": "function", "function": {"name": "f"}}]))
    assert "think one" in text and "need a tool" in text
