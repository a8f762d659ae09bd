"""The Responses API's items, both ways: input items into chat messages, and a turn into output items.

Input items: messages (``input_text``/``output_text`` parts), ``reasoning`` (its ``content`` text, else
its summary), ``function_call`` and ``function_call_output``. Output: a ``reasoning`` item, a
``message`` with ``output_text``, ``function_call`` items, in the order the model wrote them;
``OutputBuilder`` also gives the stream events that build them (``response.output_item.added``, the
deltas, ``...done``), each with its ``sequence_number``.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from engine.server import params
from engine.server.errors import invalid
from engine.server.turn import Piece

_TEXT_PARTS = ("input_text", "output_text", "text", "summary_text", "reasoning_text")


def input_messages(value: Any) -> list[dict]:
    """``input`` (a string or a list of items) as chat messages."""
    if isinstance(value, str):
        return [{"role": "user", "content": value}]
    if not isinstance(value, list):
        raise invalid("input must be a string or a list of items.", "input")
    messages: list[dict] = []
    reasoning: list[str] = []  # reasoning items wait for the assistant message they belong to
    for index, item in enumerate(value):
        where = f"input[{index}]"
        if not isinstance(item, dict):
            raise invalid(f"{where} must be an object.", "input")
        kind = item.get("type", "message")
        if kind == "message":
            role = item.get("role")
            if role not in ("user", "system", "developer", "assistant"):
                raise invalid(
                    f"{where}.role must be user, system, developer or assistant, not {role!r}.", "input"
                )
            text = _text(item.get("content"), where)
            if role == "assistant":
                messages.append(_assistant(messages, reasoning, content=text))
            else:
                messages.append({"role": role, "content": text})
        elif kind == "reasoning":
            parts = item.get("content") or item.get("summary") or []
            reasoning.append(_text(parts, where) if parts else "")
        elif kind == "function_call":
            name, arguments = item.get("name"), item.get("arguments", "{}")
            if not isinstance(name, str) or not isinstance(arguments, str):
                raise invalid(
                    f"{where}: a function_call needs a name and arguments as a JSON string.", "input"
                )
            call = {
                "id": str(item.get("call_id") or item.get("id") or ""),
                "type": "function",
                "function": {"name": name, "arguments": arguments},
            }
            last = messages[-1] if messages else None
            if (
                last is not None
                and last.get("role") == "assistant"
                and last.get("tool_calls")
                and not reasoning
            ):
                last["tool_calls"].append(call)  # parallel calls of one turn
            else:
                messages.append(_assistant(messages, reasoning, tool_calls=[call]))
        elif kind == "function_call_output":
            output = item.get("output")
            text = output if isinstance(output, str) else _text(output, where)
            messages.append({"role": "tool", "tool_call_id": str(item.get("call_id") or ""), "content": text})
        else:
            raise invalid(f"{where}: items of type {kind!r} are not supported by this server.", "input")
    return messages


def _assistant(messages: list[dict], reasoning: list[str], **fields) -> dict:
    message = {"role": "assistant", **fields}
    if any(reasoning):
        message["reasoning"] = "\n\n".join(text for text in reasoning if text)
    reasoning.clear()
    return message


def _text(content: Any, where: str) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        texts = []
        for part in content:
            if isinstance(part, str):
                texts.append(part)
            elif (
                isinstance(part, dict)
                and part.get("type") in _TEXT_PARTS
                and isinstance(part.get("text"), str)
            ):
                texts.append(part["text"])
            else:
                kind = part.get("type") if isinstance(part, dict) else type(part).__name__
                raise invalid(f"{where}: only text content is supported, not {kind!r}.", "input")
        return "".join(texts)
    raise invalid(f"{where}.content must be a string or a list of text parts.", "input")


def function_tools(tools: Any) -> list[dict] | None:
    """The Responses API's flat function tools as chat-shaped ones; a tool of another kind (web search,
    file search, custom) is a 400 naming it (engine.server.params.function_tools)."""
    return params.function_tools(tools, flat=True)


class OutputBuilder:
    """Builds the output items from a turn's pieces, and the stream events that tell about them."""

    def __init__(self) -> None:
        self.output: list[dict] = []
        self.sequence = 0
        self._open: dict | None = None  # the item being written

    def event(self, kind: str, **fields) -> dict:
        event = {"type": kind, "sequence_number": self.sequence, **fields}
        self.sequence += 1
        return event

    def add(self, piece: Piece) -> list[dict]:
        events: list[dict] = []
        if piece.kind == "tool_call":
            events += self.close()
            call = piece.call
            item = {
                "type": "function_call",
                "id": f"fc_{uuid.uuid4().hex}",
                "call_id": call["id"],
                "name": call["name"],
                "arguments": "",
                "status": "in_progress",
            }
            index = len(self.output)
            self.output.append(item)
            events.append(self.event("response.output_item.added", output_index=index, item=dict(item)))
            item["arguments"] = call["arguments"]
            events.append(
                self.event(
                    "response.function_call_arguments.delta",
                    item_id=item["id"],
                    output_index=index,
                    delta=call["arguments"],
                )
            )
            events.append(
                self.event(
                    "response.function_call_arguments.done",
                    item_id=item["id"],
                    output_index=index,
                    name=call["name"],
                    arguments=call["arguments"],
                )
            )
            item["status"] = "completed"
            events.append(self.event("response.output_item.done", output_index=index, item=item))
            return events
        kind = "reasoning" if piece.kind == "reasoning" else "message"
        if self._open is None or self._open["type"] != kind:
            events += self.close()
            events += self._start(kind)
        item, index = self._open, len(self.output) - 1
        part = item["content"][0]
        part["text"] += piece.text
        delta = "response.reasoning_text.delta" if kind == "reasoning" else "response.output_text.delta"
        extra = {} if kind == "reasoning" else {"logprobs": []}
        events.append(
            self.event(
                delta, item_id=item["id"], output_index=index, content_index=0, delta=piece.text, **extra
            )
        )
        return events

    def _start(self, kind: str) -> list[dict]:
        if kind == "reasoning":
            item = {
                "type": "reasoning",
                "id": f"rs_{uuid.uuid4().hex}",
                "summary": [],
                "content": [],
                "status": "in_progress",
            }
            part = {"type": "reasoning_text", "text": ""}
        else:
            item = {
                "type": "message",
                "id": f"msg_{uuid.uuid4().hex}",
                "role": "assistant",
                "content": [],
                "status": "in_progress",
            }
            part = {"type": "output_text", "text": "", "annotations": [], "logprobs": []}
        index = len(self.output)
        self.output.append(item)
        events = [
            self.event("response.output_item.added", output_index=index, item=json.loads(json.dumps(item)))
        ]
        item["content"].append(part)
        events.append(
            self.event(
                "response.content_part.added",
                item_id=item["id"],
                output_index=index,
                content_index=0,
                part=dict(part),
            )
        )
        self._open = item
        return events

    def close(self) -> list[dict]:
        """Finish the item being written (at a change of kind, and at the end of the turn)."""
        item, self._open = self._open, None
        if item is None:
            return []
        index = self.output.index(item)
        part = item["content"][0]
        done = "response.reasoning_text.done" if item["type"] == "reasoning" else "response.output_text.done"
        extra = {} if item["type"] == "reasoning" else {"logprobs": []}
        item["status"] = "completed"
        return [
            self.event(
                done, item_id=item["id"], output_index=index, content_index=0, text=part["text"], **extra
            ),
            self.event(
                "response.content_part.done",
                item_id=item["id"],
                output_index=index,
                content_index=0,
                part=part,
            ),
            self.event("response.output_item.done", output_index=index, item=item),
        ]


def as_messages(output: list[dict]) -> list[dict]:
    """A response's output items as the assistant message(s) a following turn renders."""
    return input_messages(output) if output else []
