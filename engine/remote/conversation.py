"""The app's conversation as the messages an OpenAI-compatible server takes, earlier reasoning left out.

A gpt-oss server renders these with harmony itself, so what it is sent must be what our engine would render:
reasoning is dropped by the same rule (engine.text.harmony's default ``drop_analysis="harmony"``,
openai-harmony's ``auto_drop_analysis``): when the conversation ends in a final answer, the reasoning up
to and including the first final answer goes. Reasoning that is kept (a tool-call chain, later answered
turns) is sent under both names servers read: ``reasoning`` (vLLM, Ollama, LM Studio) and
``reasoning_content`` (llama.cpp).
"""

from __future__ import annotations

from typing import Any

from engine.text.harmony import ConversationError

_KEPT = ("role", "content", "name", "tool_call_id", "tool_calls")


def openai_messages(messages: list[dict[str, Any]], continue_from: dict | None = None) -> list[dict]:
    """``messages`` (OpenAI shape, assistant ``reasoning`` as the app stores it) ready to send; with
    ``continue_from`` (an answer cut short) appended as the assistant message the server goes on with."""
    if not isinstance(messages, list) or not all(isinstance(m, dict) and "role" in m for m in messages):
        raise ConversationError('messages must be a list of {"role": ..., "content": ...} objects.')
    cut = _last_dropped(messages)
    out = []
    for index, message in enumerate(messages):
        sent = {key: message[key] for key in _KEPT if message.get(key) is not None}
        if message["role"] == "assistant":
            sent["content"] = message.get("content")  # null is valid for an assistant; "" would be an answer
            reasoning = _reasoning(message)
            if reasoning and index > cut:
                sent["reasoning"] = sent["reasoning_content"] = reasoning
        out.append(sent)
    if continue_from is not None and (continue_from.get("content") or _reasoning(continue_from)):
        partial = {"role": "assistant", "content": continue_from.get("content") or ""}
        if _reasoning(continue_from):
            partial["reasoning"] = partial["reasoning_content"] = _reasoning(continue_from)
        out.append(partial)
    return out


def _last_dropped(messages: list[dict]) -> int:
    """The index of the last message whose reasoning is dropped (-1: none): harmony's rule, OpenAI shape."""
    finals = [i for i, m in enumerate(messages) if _is_final(m)]
    if not finals:
        return -1
    last = next((m for m in reversed(messages) if m["role"] == "assistant" and _has_harmony(m)), None)
    if last is None or not _is_final(last):
        return -1
    return finals[0]  # its own reasoning comes before its answer, so it goes too


def _is_final(message: dict) -> bool:
    """An assistant message that renders to a final answer: no tool calls, a content (even an empty one)."""
    return (
        message["role"] == "assistant"
        and not message.get("tool_calls")
        and message.get("content") is not None
    )


def _has_harmony(message: dict) -> bool:
    """Whether an assistant message renders to anything at all (an empty one renders to nothing)."""
    return bool(_reasoning(message) or message.get("tool_calls") or message.get("content") is not None)


def _reasoning(message: dict) -> str:
    reasoning = message.get("reasoning")
    if reasoning is None:
        reasoning = message.get("reasoning_content")
    if isinstance(reasoning, list):  # text parts
        reasoning = "".join(part.get("text", "") for part in reasoning if isinstance(part, dict))
    return reasoning or ""
