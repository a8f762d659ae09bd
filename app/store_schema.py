"""The conversation file's schema: the SQL that takes a file from each version to the next (app/store.py runs
them in order when it opens a file, each step in one transaction)."""

from __future__ import annotations

_SCHEMA_V1 = """
CREATE TABLE conversations (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    title TEXT NOT NULL DEFAULT '',
    title_is_auto INTEGER NOT NULL DEFAULT 1,
    settings TEXT NOT NULL DEFAULT '{}',
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL,
    deleted_at REAL
);
CREATE TABLE messages (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    conversation_id INTEGER NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    role TEXT NOT NULL,
    content TEXT NOT NULL DEFAULT '',
    reasoning TEXT NOT NULL DEFAULT '',
    tool_calls TEXT,
    tool_call_id TEXT,
    name TEXT,
    complete INTEGER NOT NULL DEFAULT 1,
    finish_reason TEXT,
    error TEXT,
    usage TEXT,
    thinking_s REAL,
    settings TEXT,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL,
    UNIQUE (conversation_id, position)
);
CREATE INDEX messages_by_conversation ON messages (conversation_id, position);
CREATE INDEX conversations_by_update ON conversations (updated_at);
"""

# An engine error's class name beside its English text, so the app can word it in the user's language
# whenever the message is shown (app/engine_errors.py).
_V2_ERROR_KIND = "ALTER TABLE messages ADD COLUMN error_kind TEXT"

# Versions (issue 18): an edit or a regenerate adds a sibling instead of replacing, so messages form a tree.
# ``parent_id`` is the message a message follows (None: the first of the chat); ``position`` its depth, which
# siblings share, so the table is rebuilt without UNIQUE (conversation_id, position); ``chosen`` orders the
# times a version was picked at its fork: the one shown is the sibling chosen last. The linear chats of
# schema 2 become single-version trees: each message follows the one before it, positions renumbered from 0,
# ids (and the id sequence) kept.
_V3_VERSIONS = """
CREATE TABLE messages_v3 (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    conversation_id INTEGER NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
    parent_id INTEGER REFERENCES messages_v3(id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    chosen INTEGER NOT NULL DEFAULT 0,
    role TEXT NOT NULL,
    content TEXT NOT NULL DEFAULT '',
    reasoning TEXT NOT NULL DEFAULT '',
    tool_calls TEXT,
    tool_call_id TEXT,
    name TEXT,
    complete INTEGER NOT NULL DEFAULT 1,
    finish_reason TEXT,
    error TEXT,
    error_kind TEXT,
    usage TEXT,
    thinking_s REAL,
    settings TEXT,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL
);
INSERT INTO messages_v3 (id, conversation_id, parent_id, position, chosen, role, content, reasoning, tool_calls,
    tool_call_id, name, complete, finish_reason, error, error_kind, usage, thinking_s, settings, created_at,
    updated_at)
SELECT id, conversation_id,
    LAG(id) OVER (PARTITION BY conversation_id ORDER BY position),
    ROW_NUMBER() OVER (PARTITION BY conversation_id ORDER BY position) - 1,
    0, role, content, reasoning, tool_calls, tool_call_id, name, complete, finish_reason, error, error_kind,
    usage, thinking_s, settings, created_at, updated_at
FROM messages;
INSERT INTO sqlite_sequence (name, seq) SELECT 'messages_v3', 0
    WHERE NOT EXISTS (SELECT 1 FROM sqlite_sequence WHERE name = 'messages_v3');
UPDATE sqlite_sequence SET seq = MAX(seq, COALESCE((SELECT seq FROM sqlite_sequence WHERE name = 'messages'), 0))
    WHERE name = 'messages_v3';
DROP TABLE messages;
ALTER TABLE messages_v3 RENAME TO messages;
CREATE INDEX messages_by_conversation ON messages (conversation_id, position);
CREATE INDEX messages_by_parent ON messages (parent_id)
"""

# A full context (app/context_store.py): what a chat does once it outgrows the context; its prompt's start
_V4_CONTEXT_OVERFLOW = (
    "ALTER TABLE conversations ADD COLUMN overflow TEXT;"
    "ALTER TABLE conversations ADD COLUMN prompt_start INTEGER NOT NULL DEFAULT 0"
)

# MIGRATIONS[n] takes a database at version n to version n + 1. Append; never edit a released step.
MIGRATIONS: list[str] = [_SCHEMA_V1, _V2_ERROR_KIND, _V3_VERSIONS, _V4_CONTEXT_OVERFLOW]
SCHEMA_VERSION = len(MIGRATIONS)
