"""A conversation as a Markdown document (to read and share) or JSON (to keep and re-import elsewhere).

Markdown has the conversation as shown (at each fork the version chosen last), each message that has other
versions marked "version 2 of 3"; JSON has every version, each message naming the one it follows and
whether it is shown.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

from app import context_store
from app.store import Conversation, Message
from app.store_records import shown_path

JSON_FORMAT = "gossamer.conversation"
JSON_VERSION = 2  # 2: every version of every message ("id", "parent", "shown"); 1 had the shown ones only

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


def local_time(moment: datetime) -> str:
    """A moment as the reader's clock shows it, with its zone: "2026-12-03 20:05 KST" (or "UTC+09:00")."""
    moment = moment.astimezone()
    zone = moment.tzname() or ""
    if not zone.isalpha():  # some systems name zones by their offset ("+09"): write it out in full
        minutes = int(moment.utcoffset().total_seconds() // 60)
        zone = f"UTC{'+' if minutes >= 0 else '-'}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"
    return f"{moment:%Y-%m-%d %H:%M} {zone}"


def to_markdown(conversation: Conversation, messages: list[Message], *, now: datetime | None = None) -> str:
    """``messages``: the conversation as shown (``Store.messages``); ``now``: the export's time (default: now)."""
    exported = local_time(now or datetime.now().astimezone())
    lines = [f"# {conversation.title or 'Conversation'}", ""]
    lines += [f"*Exported from Gossamer on {exported} · reasoning effort: {conversation.effort}*", ""]
    for message in messages:
        heading = _HEADINGS.get(message.role, message.role.title())
        if message.role == "tool" and message.name:
            heading += f" ({message.name})"
        if message.num_versions > 1:
            heading += f" (version {message.version} of {message.num_versions})"
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
    """``messages``: every version (``Store.all_messages``). Each is written with an "id" (its number in this
    file), the "parent" it follows (None: a first message) and whether it is "shown"; the shown ones, in
    order, are the conversation as Gossamer shows it. A parent comes before the messages that follow it."""
    shown = {message.id for message in shown_path(messages)}
    ordered = sorted(messages, key=lambda m: (m.position, m.id))
    numbers = {message.id: number for number, message in enumerate(ordered, start=1)}
    document = {
        "format": JSON_FORMAT,
        "version": JSON_VERSION,
        "title": conversation.title,
        "created_at": _iso(conversation.created_at),
        "updated_at": _iso(conversation.updated_at),
        "settings": conversation.settings,
        "messages": [
            {
                "id": numbers[message.id],
                "parent": numbers.get(message.parent_id),
                "shown": message.id in shown,
                **_message_json(message),
            }
            for message in ordered
        ],
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
    """Write the export of ``kind`` ("markdown": the versions shown, or "json": all) of ``messages``, every
    version (``Store.all_messages``), to ``path``; raises OSError."""
    if kind == "markdown":
        text = to_markdown(conversation, shown_path(messages))
    else:
        text = to_json(conversation, messages)
    with open(path, "w", encoding="utf-8") as file:
        file.write(text)
