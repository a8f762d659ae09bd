"""A turn's events read into what the APIs answer with: reasoning, text, tool calls and why it ended.

Both endpoints stream from ``TurnReader.read`` (pieces, in order) and answer from its totals. A tool call
that the model wrote badly (a name that is not one of the tools, arguments that are not a JSON object)
is not a tool call: its text comes back as answer text, and the turn ends with ``malformed_tool_call``.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

from engine.text.harmony.events import TextDelta, ToolCall, TurnEnd

MALFORMED = "malformed_tool_call"
_NAME = re.compile(r"[A-Za-z0-9_.:-]{1,128}")


@dataclass(frozen=True)
class Piece:
    kind: str  # "reasoning" | "content" | "tool_call"
    text: str = ""
    call: dict | None = None  # {"id", "name", "arguments"} for a tool call


@dataclass
class TurnReader:
    tool_names: set[str] = field(default_factory=set)
    stop: list[str] = field(default_factory=list)
    reasoning: str = ""
    content: str = ""
    tool_calls: list[dict] = field(default_factory=list)
    finish_reason: str | None = None
    usage: object = None  # engine.runtime.session.Usage
    stopped: bool = False  # a stop string was written: the caller cancels the turn
    _held: str = ""  # answer text that may be the start of a stop string

    def read(self, event) -> list[Piece]:
        if isinstance(event, TextDelta):
            if event.channel == "analysis":
                self.reasoning += event.text
                return [Piece("reasoning", event.text)]
            return self._content(event.text)
        if isinstance(event, ToolCall):
            return self._call(event)
        if isinstance(event, TurnEnd):
            self.usage = event.usage
            pieces = self._release()
            if self.finish_reason is None:
                self.finish_reason = _reason(event.reason, self.stopped)
            return pieces
        return []  # message boundaries and engine notices are not part of the answer

    def _content(self, text: str) -> list[Piece]:
        if self.stopped:
            return []
        if not self.stop:
            self.content += text
            return [Piece("content", text)]
        buffered = self._held + text
        cut = min((index for index in (buffered.find(stop) for stop in self.stop) if index >= 0), default=-1)
        if cut >= 0:
            self.stopped = True
            self.finish_reason = "stop"
            self._held = ""
            return self._emit(buffered[:cut])
        keep = max((_partial(buffered, stop) for stop in self.stop), default=0)
        self._held = buffered[len(buffered) - keep :] if keep else ""
        return self._emit(buffered[: len(buffered) - keep])

    def _emit(self, text: str) -> list[Piece]:
        if not text:
            return []
        self.content += text
        return [Piece("content", text)]

    def _release(self) -> list[Piece]:
        held, self._held = self._held, ""
        return self._emit(held) if not self.stopped else []

    def _call(self, event: ToolCall) -> list[Piece]:
        arguments = event.arguments.strip()
        try:
            parsed = json.loads(arguments) if arguments else {}
        except ValueError:
            parsed = None
        if event.name in self.tool_names and _NAME.fullmatch(event.name) and isinstance(parsed, dict):
            call = {"id": event.call_id, "name": event.name, "arguments": arguments or "{}"}
            self.tool_calls.append(call)
            self.finish_reason = "tool_calls"
            return self._release() + [Piece("tool_call", call=call)]
        self.finish_reason = MALFORMED
        return self._release() + self._emit(f"functions.{event.name} {event.arguments}")


def _reason(engine_reason: str, stopped: bool) -> str:
    if stopped:
        return "stop"
    return {"return": "stop", "call": MALFORMED, "length": "length", "cancelled": "stop"}.get(
        engine_reason, engine_reason
    )


def _partial(text: str, stop: str) -> int:
    """How many characters at the end of ``text`` begin ``stop`` (kept back until the next text)."""
    for size in range(min(len(stop) - 1, len(text)), 0, -1):
        if text.endswith(stop[:size]):
            return size
    return 0
