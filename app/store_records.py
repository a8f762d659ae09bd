"""The store's rows as Python: a conversation and its messages, read from SQLite (app/store.py) and shown,
sent to the engine and exported as they are."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass, field


@dataclass
class Conversation:
    id: int
    title: str
    title_is_auto: bool
    settings: dict
    created_at: float
    updated_at: float
    deleted_at: float | None = None
    overflow: str | None = None  # "drop" | "summarize" | "stop"; None: not chosen (the Settings default)
    prompt_start: int = 0  # the first message position the prompt holds (app/long_context.py)

    @property
    def effort(self) -> str:
        return self.settings.get("effort", "medium")


@dataclass
class Message:
    id: int
    conversation_id: int
    position: int
    role: str
    content: str = ""
    reasoning: str = ""
    tool_calls: list | None = None
    tool_call_id: str | None = None
    name: str | None = None
    complete: bool = True
    finish_reason: str | None = None  # "return" | "length" | "cancelled" | "error" | "call" | None
    error: str | None = None
    error_kind: str | None = None  # the EngineError class of ``error``; None when it was not the engine's
    usage: dict = field(default_factory=dict)
    created_at: float = 0.0
    updated_at: float = 0.0
    thinking_s: float | None = None
    settings: dict = field(default_factory=dict)  # the generation settings an answer was made with
    parent_id: int | None = None  # the message this one follows; None for a first message
    chosen: int = 0  # when this version was last picked at its fork (a count): the latest is shown
    versions: tuple[int, ...] = ()  # ids of this message's versions (itself and its siblings), oldest first

    @property
    def version(self) -> int:
        """Which version this is, from 1 (of ``num_versions``)."""
        return self.versions.index(self.id) + 1 if self.id in self.versions else 1

    @property
    def num_versions(self) -> int:
        return max(1, len(self.versions))

    @property
    def unfinished(self) -> bool:
        """An answer the model did not end: stopped, cut at the token limit, failed, or cut by a crash."""
        return self.role == "assistant" and (
            not self.complete or self.finish_reason in ("cancelled", "length", "error")
        )

    @property
    def can_continue(self) -> bool:
        """An unfinished answer with text the model can go on from (a tool call is not continued)."""
        return self.unfinished and not self.tool_calls and bool(self.content or self.reasoning)

    def to_chat(self) -> dict:
        """This message as the engine wants it (OpenAI chat shape, analysis under "reasoning")."""
        message: dict = {"role": self.role, "content": self.content}
        if self.role == "assistant":
            message["reasoning"] = self.reasoning or None
            message["tool_calls"] = self.tool_calls or None
        if self.role == "tool":
            message["name"] = self.name
            message["tool_call_id"] = self.tool_call_id
        return message


def _loads(text: str | None, default):
    if not text:
        return default
    try:
        return json.loads(text)
    except ValueError:
        return default


def conversation_from_row(row: sqlite3.Row) -> Conversation:
    return Conversation(
        id=row["id"],
        title=row["title"],
        title_is_auto=bool(row["title_is_auto"]),
        settings=_loads(row["settings"], {}),
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        deleted_at=row["deleted_at"],
        overflow=row["overflow"],
        prompt_start=row["prompt_start"] or 0,
    )


def with_versions(messages: list[Message]) -> list[Message]:
    """``messages`` (every message of a conversation) with each one's ``versions`` filled in: its siblings'
    ids and its own, oldest first."""
    siblings: dict[int | None, list[int]] = {}
    for message in sorted(messages, key=lambda m: m.id):
        siblings.setdefault(message.parent_id, []).append(message.id)
    for message in messages:
        message.versions = tuple(siblings[message.parent_id])
    return messages


def shown_path(messages: list[Message]) -> list[Message]:
    """The conversation as shown, from every version of its messages: from the first message down, at each
    fork the version chosen last."""
    children: dict[int | None, list[Message]] = {}
    for message in messages:
        children.setdefault(message.parent_id, []).append(message)
    path: list[Message] = []
    parent = None
    while children.get(parent):
        chosen = max(children[parent], key=lambda m: (m.chosen, m.id))
        path.append(chosen)
        parent = chosen.id
    return path


def message_from_row(row: sqlite3.Row, versions: tuple[int, ...] = ()) -> Message:
    return Message(
        id=row["id"],
        conversation_id=row["conversation_id"],
        position=row["position"],
        role=row["role"],
        content=row["content"],
        reasoning=row["reasoning"],
        tool_calls=_loads(row["tool_calls"], None),
        tool_call_id=row["tool_call_id"],
        name=row["name"],
        complete=bool(row["complete"]),
        finish_reason=row["finish_reason"],
        error=row["error"],
        error_kind=row["error_kind"],
        usage=_loads(row["usage"], {}),
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        thinking_s=row["thinking_s"],
        settings=_loads(row["settings"], {}),
        parent_id=row["parent_id"],
        chosen=row["chosen"],
        versions=versions,
    )


def chat_messages(messages: Iterable[Message]) -> list[dict]:
    """The engine's view of a conversation: roles and channels, nothing of ours."""
    return [message.to_chat() for message in messages]
