"""OpenAI-shaped chat messages and tools, checked and turned into harmony messages.

Mapping (see docs/architecture.md):
- system and developer contents, in order, joined by a blank line: the developer ``# Instructions``;
- user: a user message;
- assistant: ``reasoning`` -> an analysis message; with ``tool_calls``: ``content`` -> a commentary
  preamble, then one commentary message per call to ``functions.NAME`` (``<|constrain|>json``);
  without: ``content`` -> the final answer;
- tool: a message from ``functions.NAME`` to the assistant on the commentary channel.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any

from engine.errors import EngineError
from engine.text.harmony.tools import NAMESPACE, FunctionTool

CONSTRAINED_JSON = "<|constrain|>json"
DROP_ANALYSIS_MODES = ("harmony", "answered", "none")


class ConversationError(EngineError, ValueError):
    """The messages or tools passed in do not have the expected shape; the text says where."""


@dataclass(frozen=True)
class HarmonyMessage:
    role: str  # user | assistant | tool (system and developer messages are built by render.py)
    content: str
    channel: str | None = None
    recipient: str | None = None
    content_type: str | None = None
    name: str | None = None  # the tool's name (``functions.NAME``) for role "tool"


def instructions(messages: list[dict[str, Any]]) -> str | None:
    """The developer instructions: every system and developer content, in order."""
    parts = []
    for index, message in enumerate(_check_list(messages)):
        if _role(message, index) in ("system", "developer"):
            text = _text(message.get("content"), f"message {index} ({message['role']}) content")
            if text:
                parts.append(text)
    return "\n\n".join(parts) if parts else None


def conversation(messages: list[dict[str, Any]]) -> list[HarmonyMessage]:
    """The user, assistant and tool turns as harmony messages, in order."""
    out: list[HarmonyMessage] = []
    call_names: dict[str, str] = {}  # tool_call_id -> function name, for tool messages without a name
    for index, message in enumerate(_check_list(messages)):
        role = _role(message, index)
        where = f"message {index} ({role})"
        if role == "user":
            out.append(
                HarmonyMessage("user", _text(message.get("content"), f"{where} content", required=True))
            )
        elif role == "assistant":
            out += _assistant(message, where, call_names)
        elif role == "tool":
            out.append(_tool_result(message, where, call_names))
    return out


def _assistant(message: dict[str, Any], where: str, call_names: dict[str, str]) -> list[HarmonyMessage]:
    out = []
    reasoning = message.get("reasoning")
    if reasoning is None:
        reasoning = message.get("reasoning_content")  # the name some OpenAI-compatible servers use
    reasoning = _text(reasoning, f"{where} reasoning")
    if reasoning:
        out.append(HarmonyMessage("assistant", reasoning, channel="analysis"))
    content = _text(message.get("content"), f"{where} content")
    calls = message.get("tool_calls")
    if calls is None or calls == []:
        if content is not None:
            out.append(HarmonyMessage("assistant", content, channel="final"))
        return out
    if not isinstance(calls, list):
        raise ConversationError(f"{where}: tool_calls must be a list of function calls.")
    if content:
        out.append(HarmonyMessage("assistant", content, channel="commentary"))  # a preamble
    for number, call in enumerate(calls):
        name, arguments, call_id = _tool_call(call, f"{where} tool_calls[{number}]")
        if call_id is not None:
            call_names[call_id] = name
        out.append(
            HarmonyMessage(
                "assistant",
                arguments,
                channel="commentary",
                recipient=recipient(name),
                content_type=CONSTRAINED_JSON,
            )
        )
    return out


def continuation(message: dict[str, Any] | None) -> list[HarmonyMessage]:
    """The assistant answer to go on with, cut short (Stop, the token limit, a crash), as harmony messages.

    Its ``reasoning`` becomes an analysis message and its ``content`` a final one; the last of them is the
    message left open for the model to continue (render.py leaves off its ``<|end|>``). [] when it has no
    text: there is nothing to continue, and the turn is an ordinary new answer.
    """
    if message is None:
        return []
    where = "continue_from"
    if not isinstance(message, dict) or message.get("role", "assistant") != "assistant":
        raise ConversationError(f"{where} must be an assistant message, as the model wrote it so far.")
    if message.get("tool_calls"):
        raise ConversationError(f"{where}: an answer that called a tool is complete; it cannot be continued.")
    return [part for part in _assistant(message, where, {}) if part.content]


def _tool_call(call: Any, where: str) -> tuple[str, str, str | None]:
    if not isinstance(call, dict) or not isinstance(call.get("function"), dict):
        raise ConversationError(
            f'{where} must look like {{"id": ..., "type": "function", "function": {{"name": ..., "arguments": ...}}}}.'
        )
    if call.get("type", "function") != "function":
        raise ConversationError(f"{where}: only function calls are supported, not {call.get('type')!r}.")
    function = call["function"]
    name = function.get("name")
    if not isinstance(name, str) or not name:
        raise ConversationError(f"{where}: function.name must be a non-empty string.")
    arguments = function.get("arguments", "")
    if isinstance(arguments, (dict, list)):
        arguments = json.dumps(arguments, ensure_ascii=False, separators=(",", ":"))
    if not isinstance(arguments, str):
        raise ConversationError(f"{where}: function.arguments must be a JSON string.")
    call_id = call.get("id")
    if call_id is not None and not isinstance(call_id, str):
        raise ConversationError(f"{where}: id must be a string.")
    return name, arguments, call_id


def _tool_result(message: dict[str, Any], where: str, call_names: dict[str, str]) -> HarmonyMessage:
    name = message.get("name")
    if name is None:
        call_id = message.get("tool_call_id")
        name = call_names.get(call_id) if isinstance(call_id, str) else None
        if name is None:
            raise ConversationError(
                f"{where}: give the tool's name, or a tool_call_id of an earlier assistant tool call "
                f"(got {call_id!r})."
            )
    if not isinstance(name, str) or not name:
        raise ConversationError(f"{where}: name must be a non-empty string.")
    content = _text(message.get("content"), f"{where} content", required=True)
    return HarmonyMessage("tool", content, channel="commentary", recipient="assistant", name=recipient(name))


def recipient(name: str) -> str:
    """``functions.NAME`` for a function name (a name that already has the prefix keeps it)."""
    return name if name.startswith(NAMESPACE + ".") else f"{NAMESPACE}.{name}"


def drop_old_analysis(messages: list[HarmonyMessage], mode: str) -> list[HarmonyMessage]:
    """Leave out reasoning that the model should no longer see.

    "harmony": what openai-harmony 0.0.8 does by default (``auto_drop_analysis``): when the last
    assistant message is a final answer, drop the analysis messages before the *first* final answer
    (analysis of later answered turns stays; see openai/harmony PR #96).
    "answered": drop every analysis message that a final answer follows (the rule its format guide
    states); analysis of an open tool-call chain stays.
    "none": keep everything.
    """
    if mode == "none":
        return list(messages)
    finals = [index for index, message in enumerate(messages) if message.channel == "final"]
    if not finals:
        return list(messages)
    if mode == "harmony":
        last_assistant = next((m for m in reversed(messages) if m.role == "assistant"), None)
        if last_assistant is None or last_assistant.channel != "final":
            return list(messages)
        cut = finals[0]
    elif mode == "answered":
        cut = finals[-1]
    else:
        raise ConversationError(
            f"drop_analysis must be one of {', '.join(DROP_ANALYSIS_MODES)}, not {mode!r}."
        )
    return [m for index, m in enumerate(messages) if not (index < cut and m.channel == "analysis")]


def function_tools(tools: list[dict[str, Any]] | None) -> list[FunctionTool]:
    """Check OpenAI-shaped tools ``[{"type": "function", "function": {...}}]``."""
    if tools is None:
        return []
    if not isinstance(tools, list):
        raise ConversationError('tools must be a list of {"type": "function", "function": {...}} objects.')
    out: list[FunctionTool] = []
    for index, tool in enumerate(tools):
        where = f"tools[{index}]"
        if not isinstance(tool, dict) or not isinstance(tool.get("function"), dict):
            raise ConversationError(
                f'{where} must look like {{"type": "function", "function": {{"name": ...}}}}.'
            )
        if tool.get("type", "function") != "function":
            raise ConversationError(f"{where}: only function tools are supported, not {tool.get('type')!r}.")
        function = tool["function"]
        name = function.get("name")
        if not isinstance(name, str) or not name or any(ch.isspace() for ch in name):
            raise ConversationError(f"{where}: function.name must be a non-empty string without spaces.")
        if any(existing.name == name for existing in out):
            raise ConversationError(f"{where}: there is already a tool named {name!r}.")
        description = function.get("description")
        if description is None:
            description = ""
        if not isinstance(description, str):
            raise ConversationError(f"{where}: function.description must be a string.")
        parameters = function.get("parameters")
        if parameters is not None:
            if not isinstance(parameters, dict):
                raise ConversationError(f"{where}: function.parameters must be a JSON schema object.")
            _check_json(parameters, f"{where} function.parameters")
        out.append(FunctionTool(name, description, parameters))
    return out


def _check_json(value: Any, where: str) -> None:
    if value is None or isinstance(value, (bool, int, str)):
        return
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ConversationError(f"{where}: {value} is not a JSON number.")
        return
    if isinstance(value, list):
        for item in value:
            _check_json(item, where)
        return
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise ConversationError(f"{where}: object keys must be strings, not {key!r}.")
            _check_json(item, where)
        return
    raise ConversationError(f"{where}: {type(value).__name__} is not a JSON value.")


def _check_list(messages: Any) -> list[dict[str, Any]]:
    if not isinstance(messages, list):
        raise ConversationError('messages must be a list of {"role": ..., "content": ...} objects.')
    return messages


def _role(message: Any, index: int) -> str:
    if not isinstance(message, dict):
        raise ConversationError(
            f"message {index} must be an object with a role, not {type(message).__name__}."
        )
    role = message.get("role")
    if role not in ("system", "developer", "user", "assistant", "tool"):
        raise ConversationError(
            f"message {index}: role must be system, developer, user, assistant or tool, not {role!r}."
        )
    return role


def _text(content: Any, where: str, required: bool = False) -> str | None:
    # A string, or OpenAI content parts [{"type": "text", "text": ...}] (joined without separator).
    if content is None:
        if required:
            raise ConversationError(f"{where} is missing.")
        return None
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        texts = []
        for part in content:
            if not (
                isinstance(part, dict) and part.get("type") == "text" and isinstance(part.get("text"), str)
            ):
                raise ConversationError(f"{where}: only text parts are supported, not {part!r:.60}.")
            texts.append(part["text"])
        return "".join(texts)
    raise ConversationError(f"{where} must be a string, not {type(content).__name__}.")
