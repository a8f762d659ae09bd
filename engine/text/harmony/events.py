"""What a turn of generation produces, as the StreamParser and the session emit it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class MessageStart:
    role: str  # "assistant" (a header may name another role when the model misbehaves)
    channel: str  # "analysis" | "commentary" | "final"
    recipient: str | None  # e.g. "functions.get_weather" for a tool call
    content_type: str | None = None  # e.g. "<|constrain|>json"
    header: str = ""  # the header as the model wrote it (special tokens by name), for debugging


@dataclass(frozen=True)
class TextDelta:
    channel: str  # "analysis" | "commentary" | "final"
    text: str  # never empty; complete UTF-8 characters


@dataclass(frozen=True)
class ToolCall:
    name: str  # the recipient without its "functions." prefix
    arguments: str  # the JSON text the model wrote, unparsed
    call_id: str  # made up by the parser (harmony has no call ids); tool results refer to it


@dataclass(frozen=True)
class MessageEnd:
    channel: str


@dataclass(frozen=True)
class TurnEnd:
    reason: str  # "return" | "call" from the parser; "length" | "cancelled" | "error" from the session
    usage: Any = None  # engine.runtime.session.Usage, filled in by the session


Event = MessageStart | TextDelta | ToolCall | MessageEnd | TurnEnd
