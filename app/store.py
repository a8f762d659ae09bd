"""Conversations in SQLite (WAL): what the user wrote and what the model answered, channels kept apart.

No Qt here: the store is plain Python so a crash test (and future tools) can use it headless.
The user's message is committed before generation starts; the answer is written while it streams
(``update_message``) and marked complete only when the turn ends, so a crash or kill leaves at most
the last unsaved second of text, and the message reads back as interrupted (``complete`` false).
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from engine.paths import user_data_dir

FILE_NAME = "chats.sqlite"
ROLES = ("system", "developer", "user", "assistant", "tool")


class StoreError(Exception):
    """The conversation file cannot be used; ``str(error)`` says what to do."""


class StoreWriteError(Exception):
    """SQLite refused a write, and nothing of it was saved (its transaction was rolled back). ``kind``: "full"
    (no space left), "read_only" (the file or its folder cannot be written, or the disk failed) or "other";
    app/store_errors.py words it for the user."""

    def __init__(self, error: sqlite3.DatabaseError, path: Path) -> None:
        super().__init__(f"Could not write to {path}: {error}")
        self.kind = write_error_kind(error)
        self.path = path
        self.reason = str(error)  # SQLite's English sentence, e.g. "database or disk is full"


class RowGoneError(StoreWriteError):
    """A write to a chat or message that is gone (deleted in another window): nothing saved; kind "gone"."""

    def __init__(self, what: str, path: Path) -> None:
        Exception.__init__(self, f"Could not write to {path}: {what} is no longer there")
        self.kind, self.path, self.reason = "gone", path, f"{what} is no longer there"


# Primary result codes (https://sqlite.org/rescode.html): the file cannot be written (read-only, no
# permission, a journal it cannot create) or the disk failed under it; ENOSPC itself is SQLITE_FULL.
_UNWRITABLE = (sqlite3.SQLITE_READONLY, sqlite3.SQLITE_PERM, sqlite3.SQLITE_CANTOPEN, sqlite3.SQLITE_IOERR)
# A broken constraint or a misused API is a bug in Gossamer, not a disk the user can fix: it stays raw.
_BUGS = (sqlite3.IntegrityError, sqlite3.ProgrammingError)


def write_error_kind(error: sqlite3.DatabaseError) -> str:
    """What kind of write SQLite refused ("full", "read_only", "other"), from its result code; an extended
    code (SQLITE_IOERR_WRITE) keeps its primary one in the low byte."""
    primary = getattr(error, "sqlite_errorcode", 0) & 0xFF
    if primary == sqlite3.SQLITE_FULL:
        return "full"
    return "read_only" if primary in _UNWRITABLE else "other"


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

# MIGRATIONS[n] takes a database at version n to version n + 1. Append; never edit a released step.
MIGRATIONS: list[str] = [_SCHEMA_V1, _V2_ERROR_KIND]
SCHEMA_VERSION = len(MIGRATIONS)


@dataclass
class Conversation:
    id: int
    title: str
    title_is_auto: bool
    settings: dict
    created_at: float
    updated_at: float
    deleted_at: float | None = None

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


def default_path() -> Path:
    return user_data_dir() / FILE_NAME


class Store:
    """One connection, used from one thread (the GUI thread in the app)."""

    def __init__(self, path: Path | str | None = None, *, clock: Callable[[], float] = time.time) -> None:
        self.path = Path(path) if path is not None else default_path()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._clock = clock
        try:
            self.db = sqlite3.connect(self.path, isolation_level=None)  # autocommit; explicit transactions
            self.db.row_factory = sqlite3.Row
            self.db.execute("PRAGMA journal_mode=WAL")
            # NORMAL keeps every commit across a crash or kill of the app (only power loss can drop the
            # last commits), at a fraction of FULL's cost while an answer streams in.
            self.db.execute("PRAGMA synchronous=NORMAL")
            self.db.execute("PRAGMA foreign_keys=ON")
            self.db.execute("PRAGMA busy_timeout=5000")
            self._migrate()
        except (sqlite3.DatabaseError, StoreWriteError) as error:
            raise StoreError(
                f"The conversation file {self.path} cannot be opened ({error}). "
                "Move it aside to start with an empty history, or restore it from a backup."
            ) from error

    def close(self) -> None:
        self.db.close()

    @property
    def schema_version(self) -> int:
        return self.db.execute("PRAGMA user_version").fetchone()[0]

    def _migrate(self) -> None:
        version = self.schema_version
        if version > SCHEMA_VERSION:
            raise StoreError(
                f"The conversation file {self.path} was written by a newer version of Gossamer "
                f"(schema {version}, this version reads up to {SCHEMA_VERSION}). Update Gossamer to open it."
            )
        for step in range(version, SCHEMA_VERSION):
            with self.transaction():
                for statement in MIGRATIONS[step].split(";"):
                    if statement.strip():
                        self.db.execute(statement)
                self.db.execute(f"PRAGMA user_version = {step + 1}")

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        """Writes as one, all saved or none (BEGIN IMMEDIATE ... COMMIT); a nested use joins the outer one.
        A write SQLite refuses (a full disk, a read-only file) raises ``StoreWriteError`` once the outer one
        is rolled back, so nothing half-written stays."""
        if self.db.in_transaction:
            yield
            return
        try:
            self.db.execute("BEGIN IMMEDIATE")
            yield
            self.db.execute("COMMIT")
        except BaseException as error:
            if self.db.in_transaction:  # SQLite rolls back by itself after some errors (a full disk)
                with contextlib.suppress(sqlite3.DatabaseError):  # the error below says what went wrong
                    self.db.execute("ROLLBACK")
            if isinstance(error, sqlite3.DatabaseError) and not isinstance(error, _BUGS):
                raise StoreWriteError(error, self.path) from error
            raise

    # Conversations
    def create_conversation(self, title: str = "", settings: dict | None = None) -> Conversation:
        now = self._clock()
        with self.transaction():
            cursor = self.db.execute(
                "INSERT INTO conversations (title, title_is_auto, settings, created_at, updated_at) "
                "VALUES (?, 1, ?, ?, ?)",
                (title, json.dumps(settings or {}), now, now),
            )
        return self.conversation(cursor.lastrowid)

    def conversation(self, conversation_id: int) -> Conversation | None:
        row = self.db.execute("SELECT * FROM conversations WHERE id = ?", (conversation_id,)).fetchone()
        return _conversation(row) if row is not None else None

    def conversations(self, query: str = "") -> list[Conversation]:
        """Conversations not deleted, newest first; ``query`` matches titles and message text."""
        if not query.strip():
            rows = self.db.execute(
                "SELECT * FROM conversations WHERE deleted_at IS NULL ORDER BY updated_at DESC, id DESC"
            )
        else:
            pattern = "%" + _escape_like(query.strip()) + "%"
            rows = self.db.execute(
                "SELECT * FROM conversations c WHERE deleted_at IS NULL AND ("
                " c.title LIKE ?1 ESCAPE '\\' OR EXISTS (SELECT 1 FROM messages m WHERE"
                " m.conversation_id = c.id AND m.role IN ('user', 'assistant')"
                " AND (m.content LIKE ?1 ESCAPE '\\' OR m.reasoning LIKE ?1 ESCAPE '\\')))"
                " ORDER BY updated_at DESC, id DESC",
                (pattern,),
            )
        return [_conversation(row) for row in rows]

    def rename_conversation(self, conversation_id: int, title: str, *, auto: bool = False) -> None:
        with self.transaction():
            self._update(
                "UPDATE conversations SET title = ?, title_is_auto = ? WHERE id = ?",
                (title.strip(), int(auto), conversation_id),
                f"chat {conversation_id}",
            )

    def update_settings(self, conversation_id: int, settings: dict) -> None:
        with self.transaction():
            self._update(
                "UPDATE conversations SET settings = ? WHERE id = ?",
                (json.dumps(settings), conversation_id),
                f"chat {conversation_id}",
            )

    def delete_conversation(self, conversation_id: int) -> None:
        """Move to the bin: hidden from lists, restorable until ``purge_deleted``."""
        with self.transaction():
            self._update(
                "UPDATE conversations SET deleted_at = ? WHERE id = ?",
                (self._clock(), conversation_id),
                f"chat {conversation_id}",
            )

    def restore_conversation(self, conversation_id: int) -> None:
        with self.transaction():
            sql = "UPDATE conversations SET deleted_at = NULL WHERE id = ?"
            self._update(sql, (conversation_id,), f"chat {conversation_id}")

    def purge_deleted(self) -> int:
        with self.transaction():
            cursor = self.db.execute("DELETE FROM conversations WHERE deleted_at IS NOT NULL")
        return cursor.rowcount

    # Messages
    def messages(self, conversation_id: int) -> list[Message]:
        rows = self.db.execute(
            "SELECT * FROM messages WHERE conversation_id = ? ORDER BY position", (conversation_id,)
        )
        return [_message(row) for row in rows]

    def message(self, message_id: int) -> Message | None:
        row = self.db.execute("SELECT * FROM messages WHERE id = ?", (message_id,)).fetchone()
        return _message(row) if row is not None else None

    def add_message(
        self,
        conversation_id: int,
        role: str,
        content: str = "",
        *,
        reasoning: str = "",
        tool_calls: list | None = None,
        tool_call_id: str | None = None,
        name: str | None = None,
        complete: bool = True,
        settings: dict | None = None,
    ) -> Message:
        assert role in ROLES, role
        now = self._clock()
        with self.transaction():
            if not self.db.execute("SELECT 1 FROM conversations WHERE id = ?", (conversation_id,)).fetchone():
                raise RowGoneError(f"chat {conversation_id}", self.path)  # not sqlite's IntegrityError
            (position,) = self.db.execute(
                "SELECT COALESCE(MAX(position), -1) + 1 FROM messages WHERE conversation_id = ?",
                (conversation_id,),
            ).fetchone()
            cursor = self.db.execute(
                "INSERT INTO messages (conversation_id, position, role, content, reasoning, tool_calls,"
                " tool_call_id, name, complete, settings, created_at, updated_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    conversation_id,
                    position,
                    role,
                    content,
                    reasoning,
                    json.dumps(tool_calls) if tool_calls else None,
                    tool_call_id,
                    name,
                    int(complete),
                    json.dumps(settings) if settings else None,
                    now,
                    now,
                ),
            )
            self._touch(conversation_id, now)
        return self.message(cursor.lastrowid)

    def update_message(
        self,
        message_id: int,
        *,
        content: str | None = None,
        reasoning: str | None = None,
        tool_calls: list | None = None,
        thinking_s: float | None = None,
    ) -> None:
        """Save streamed text so far (the message stays incomplete)."""
        assignments, values = [], []
        for column, value in (("content", content), ("reasoning", reasoning), ("thinking_s", thinking_s)):
            if value is not None:
                assignments.append(f"{column} = ?")
                values.append(value)
        if tool_calls is not None:
            assignments.append("tool_calls = ?")
            values.append(json.dumps(tool_calls) if tool_calls else None)
        if not assignments:
            return
        now = self._clock()
        with self.transaction():
            self._update(
                f"UPDATE messages SET {', '.join(assignments)}, updated_at = ? WHERE id = ?",
                (*values, now, message_id),
                f"message {message_id}",
            )

    def edit_message(self, message_id: int, content: str) -> None:
        """Replace a message's text (edit-and-resend of a user message)."""
        with self.transaction():
            self._update(
                "UPDATE messages SET content = ?, updated_at = ? WHERE id = ?",
                (content, self._clock(), message_id),
                f"message {message_id}",
            )

    def finish_message(
        self,
        message_id: int,
        *,
        finish_reason: str,
        usage: dict | None = None,
        error: str | None = None,
        error_kind: str | None = None,
        content: str | None = None,
        reasoning: str | None = None,
        tool_calls: list | None = None,
        thinking_s: float | None = None,
    ) -> None:
        """Write the last text and mark the message complete, with why it ended and what it cost."""
        now = self._clock()
        with self.transaction():
            self.update_message(
                message_id, content=content, reasoning=reasoning, tool_calls=tool_calls, thinking_s=thinking_s
            )
            self._update(
                "UPDATE messages SET complete = 1, finish_reason = ?, usage = ?, error = ?, error_kind = ?,"
                " updated_at = ? WHERE id = ?",
                (finish_reason, json.dumps(usage or {}), error, error_kind or None, now, message_id),
                f"message {message_id}",
            )
            row = self.db.execute(
                "SELECT conversation_id FROM messages WHERE id = ?", (message_id,)
            ).fetchone()
            if row is not None:
                self._touch(row[0], now)

    def reopen_message(self, message_id: int) -> None:
        """Mark an answer incomplete again while it is continued, so a crash leaves it interrupted."""
        now = self._clock()
        with self.transaction():
            self._update(
                "UPDATE messages SET complete = 0, finish_reason = NULL, error = NULL, error_kind = NULL,"
                " updated_at = ? WHERE id = ?",
                (now, message_id),
                f"message {message_id}",
            )

    def delete_messages_from(self, conversation_id: int, position: int) -> int:
        """Delete the messages at ``position`` and after it (regenerate, edit-and-resend)."""
        with self.transaction():
            cursor = self.db.execute(
                "DELETE FROM messages WHERE conversation_id = ? AND position >= ?",
                (conversation_id, position),
            )
            self._touch(conversation_id, self._clock())
        return cursor.rowcount

    def incomplete_messages(self) -> list[Message]:
        rows = self.db.execute("SELECT * FROM messages WHERE complete = 0 ORDER BY conversation_id, position")
        return [_message(row) for row in rows]

    def _update(self, sql: str, values: tuple, what: str) -> None:
        """An update that changes no row raises, rather than returning as if saved (its row is gone)."""
        if self.db.execute(sql, values).rowcount == 0:
            raise RowGoneError(what, self.path)

    def _touch(self, conversation_id: int, now: float) -> None:
        self.db.execute("UPDATE conversations SET updated_at = ? WHERE id = ?", (now, conversation_id))


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _loads(text: str | None, default):
    if not text:
        return default
    try:
        return json.loads(text)
    except ValueError:
        return default


def _conversation(row: sqlite3.Row) -> Conversation:
    return Conversation(
        id=row["id"],
        title=row["title"],
        title_is_auto=bool(row["title_is_auto"]),
        settings=_loads(row["settings"], {}),
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        deleted_at=row["deleted_at"],
    )


def _message(row: sqlite3.Row) -> Message:
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
    )


def chat_messages(messages: Iterable[Message]) -> list[dict]:
    """The engine's view of a conversation: roles and channels, nothing of ours."""
    return [message.to_chat() for message in messages]
