"""The store's part of a full context: a chat's overflow choice, where its prompt starts, a note in its turns.

A chat that outgrew the context keeps every message (the history and the export are whole); its prompt starts
at ``Conversation.prompt_start``, where a note says what happened: a summary of the turns before it (a
developer message the model reads, which the user may edit) or a marker that they were left out. Plain
Python like app/store.py (these are its writes, kept apart to keep that module short).
"""

from __future__ import annotations

import json

from app.store import ROLES, Message, Store

POLICIES = ("drop", "summarize", "stop")
NOTE_KEY = "context"  # in a note's Message.settings: "summary" | "dropped"; "covers": how many messages


def set_overflow(store: Store, conversation_id: int, policy: str | None) -> None:
    """What this chat does when it outgrows the context (None: ask, or the Settings default)."""
    assert policy is None or policy in POLICIES, policy
    with store.transaction():
        store.db.execute("UPDATE conversations SET overflow = ? WHERE id = ?", (policy, conversation_id))


def set_prompt_start(store: Store, conversation_id: int, position: int) -> None:
    with store.transaction():
        store.db.execute(
            "UPDATE conversations SET prompt_start = ? WHERE id = ?", (position, conversation_id)
        )


def insert_message(
    store: Store,
    conversation_id: int,
    position: int,
    role: str,
    content: str = "",
    *,
    settings: dict | None = None,
) -> Message:
    """A message at ``position`` of the path shown: it follows the message before that position, and the
    message shown there (with every version below it) now follows it, one position further down. Other
    versions at that fork keep their place: the note belongs to the path it was made for."""
    assert role in ROLES, role
    now = store._clock()
    with store.transaction():
        path = store.messages(conversation_id)
        parent_id = path[position - 1].id if position > 0 else None
        moved = path[position] if position < len(path) else None
        cursor = store.db.execute(
            "INSERT INTO messages (conversation_id, parent_id, position, chosen, role, content, settings,"
            " created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                conversation_id,
                parent_id,
                position,
                moved.chosen if moved is not None else _next_choice(store, conversation_id),
                role,
                content,
                json.dumps(settings) if settings else None,
                now,
                now,
            ),
        )
        note_id = cursor.lastrowid
        if moved is not None:  # the message shown there and everything below it move one down, under the note
            store.db.execute(
                "WITH RECURSIVE below(id) AS (SELECT ? UNION ALL"
                " SELECT m.id FROM messages m JOIN below ON m.parent_id = below.id)"
                " UPDATE messages SET position = position + 1 WHERE id IN (SELECT id FROM below)",
                (moved.id,),
            )
            store.db.execute("UPDATE messages SET parent_id = ? WHERE id = ?", (note_id, moved.id))
        store.db.execute("UPDATE conversations SET updated_at = ? WHERE id = ?", (now, conversation_id))
    return store.message(note_id)


def _next_choice(store: Store, conversation_id: int) -> int:
    row = store.db.execute(
        "SELECT COALESCE(MAX(chosen), 0) + 1 FROM messages WHERE conversation_id = ?", (conversation_id,)
    ).fetchone()
    return row[0]


def add_note(
    store: Store, conversation_id: int, position: int, kind: str, covers: int, text: str = ""
) -> Message:
    """The note at the start of the prompt, and the prompt's new start, in one write."""
    with store.transaction():
        note = insert_message(
            store, conversation_id, position, "developer", text, settings={NOTE_KEY: kind, "covers": covers}
        )
        set_prompt_start(store, conversation_id, position)
    return note


def note_kind(message: Message) -> str | None:
    """ "summary" or "dropped" for a note at the start of a prompt; None for any other message."""
    return (message.settings or {}).get(NOTE_KEY) if message.role == "developer" else None
