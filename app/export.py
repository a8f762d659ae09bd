"""A conversation as a Markdown document (to read and share) or JSON (to keep and re-import elsewhere)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from app import context_store
from app.store import Conversation, Message

JSON_FORMAT = "gossamer.conversation"
JSON_VERSION = 1

_HEADINGS = {
    "user": "You",
    "assistant": "Assistant",
    "system": "System",
    "developer": "Instructions",
    "tool": "Tool",
}


def _iso(timestamp: float | None) -> str | None:
    if timestamp is None:
        return None
    return datetime.fromtimestamp(timestamp, tz=UTC).isoformat(timespec="seconds")


def to_markdown(conversation: Conversation, messages: list[Message]) -> str:
    lines = [f"# {conversation.title or 'Conversation'}", ""]
    lines += [
        f"*Exported from Gossamer on {_iso(conversation.updated_at)} · "
        f"reasoning effort: {conversation.effort}*",
        "",
    ]
    for message in messages:
        heading = _HEADINGS.get(message.role, message.role.title())
        if message.role == "tool" and message.name:
            heading += f" ({message.name})"
        note = context_store.note_kind(message)  # where the prompt started once the chat outgrew the context
        heading = {"summary": "Summary of the earlier messages", "dropped": "Context"}.get(note, heading)
        lines += [f"## {heading}", ""]
        if note == "dropped":
            lines += [
                "*From here on the model no longer read the messages above: the chat outgrew its context.*",
                "",
            ]
        if message.reasoning:
            summary = "Thinking"
            if message.thinking_s:
                summary += f" ({message.thinking_s:.0f} s)"
            lines += [
                "<details>",
                f"<summary>{summary}</summary>",
                "",
                _quote(message.reasoning),
                "",
                "</details>",
                "",
            ]
        if message.content:
            lines += [message.content.rstrip(), ""]
        for call in message.tool_calls or []:
            function = call.get("function", {})
            lines += [
                f"Tool call `{function.get('name', '?')}`:",
                "",
                "```json",
                str(function.get("arguments", "")),
                "```",
                "",
            ]
        if not message.complete:
            lines += ["*(interrupted)*", ""]
        elif message.finish_reason in ("cancelled", "length", "error"):
            note = {"cancelled": "stopped", "length": "cut off at the token limit", "error": "failed"}
            lines += [f"*({note[message.finish_reason]})*", ""]
    return "\n".join(lines).rstrip() + "\n"


def _quote(text: str) -> str:
    return "\n".join("> " + line if line else ">" for line in text.rstrip().splitlines())


def to_json(conversation: Conversation, messages: list[Message]) -> str:
    document = {
        "format": JSON_FORMAT,
        "version": JSON_VERSION,
        "title": conversation.title,
        "created_at": _iso(conversation.created_at),
        "updated_at": _iso(conversation.updated_at),
        "settings": conversation.settings,
        "messages": [_message_json(message) for message in messages],
    }
    return json.dumps(document, ensure_ascii=False, indent=2) + "\n"


def _message_json(message: Message) -> dict:
    entry = message.to_chat()
    entry = {key: value for key, value in entry.items() if value is not None}
    entry["created_at"] = _iso(message.created_at)
    if context_store.note_kind(message) is not None:  # not instructions the user wrote: the prompt's start
        entry["context_note"] = dict(message.settings)
    if message.role == "assistant":
        entry["complete"] = message.complete
        if message.finish_reason:
            entry["finish_reason"] = message.finish_reason
        if message.usage:
            entry["usage"] = message.usage
        if message.thinking_s is not None:
            entry["thinking_s"] = round(message.thinking_s, 2)
        if message.error:
            entry["error"] = message.error
    return entry


SUFFIXES = {"markdown": ".md", "json": ".json"}


def file_name(conversation: Conversation, kind: str) -> str:
    """A file name for the conversation's title with only portable characters."""
    safe = "".join(c if c.isalnum() or c in " -_" else "_" for c in conversation.title or "conversation")
    return (safe.strip() or "conversation") + SUFFIXES[kind]


def write(path: str, kind: str, conversation: Conversation, messages: list[Message]) -> None:
    """Write the export of ``kind`` ("markdown" or "json") to ``path``; raises OSError."""
    text = to_markdown(conversation, messages) if kind == "markdown" else to_json(conversation, messages)
    with open(path, "w", encoding="utf-8") as file:
        file.write(text)
