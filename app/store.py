"""Conversations in SQLite (WAL): what the user wrote and what the model answered, channels kept apart.

A conversation is a tree: an edit or a regenerate adds a new version of a message beside the old one (a
sibling with the same parent), and each version keeps the messages that followed it. What is shown (and
sent to the engine) is one path from the first message down, at each fork the version chosen last
(``messages``); ``all_messages`` has every version.

No Qt here: the store is plain Python so a crash test (and future tools) can use it headless.
The user's message is committed before generation starts; the answer is written while it streams
(``update_message``) and marked complete only when the turn ends, so a crash or kill leaves at most
the last unsaved second of text, and the message reads back as interrupted (``complete`` false).
"""

from __future__ import annotations

import contextlib
import json
import logging
import sqlite3
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from app.store_records import (
    Conversation,
    Message,
    chat_messages,
    conversation_from_row,
    message_from_row,
    shown_path,
    with_versions,
)
from app.store_schema import MIGRATIONS, SCHEMA_VERSION
from engine.paths import user_data_dir

log = logging.getLogger(__name__)
FILE_NAME = "chats.sqlite"
ROLES = ("system", "developer", "user", "assistant", "tool")
LAST = -1  # add_message's parent: the last message shown (no message has a negative id)
__all__ = [
    "MIGRATIONS",
    "SCHEMA_VERSION",
    "Conversation",
    "Message",
    "Store",
    "StoreError",
    "StoreWriteError",
    "chat_messages",
]


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
        # A step that rebuilds a table (schema 3) leaves the old one's pages free in the file: give them back.
        if version < SCHEMA_VERSION and self.db.execute("PRAGMA freelist_count").fetchone()[0]:
            try:
                self.db.execute("VACUUM")
            except sqlite3.DatabaseError as error:  # no room for its copy: the file works, only larger
                log.warning("the conversation file was not compacted after its upgrade: %s", error)

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
        return conversation_from_row(row) if row is not None else None

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
        return [conversation_from_row(row) for row in rows]

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
        """The conversation as shown: from the first message down, at each fork the version chosen last."""
        return shown_path(self.all_messages(conversation_id))

    def all_messages(self, conversation_id: int) -> list[Message]:
        """Every version of every message, by position (depth in the tree), then age."""
        rows = self.db.execute(
            "SELECT * FROM messages WHERE conversation_id = ? ORDER BY position, id", (conversation_id,)
        )
        return with_versions([message_from_row(row) for row in rows])

    def message(self, message_id: int) -> Message | None:
        row = self.db.execute("SELECT * FROM messages WHERE id = ?", (message_id,)).fetchone()
        if row is None:
            return None
        siblings = self.db.execute(
            "SELECT id FROM messages WHERE conversation_id = ? AND parent_id IS ? ORDER BY id",
            (row["conversation_id"], row["parent_id"]),
        )
        return message_from_row(row, versions=tuple(r[0] for r in siblings))

    def path_to(self, message_id: int) -> list[Message]:
        """The message and those it follows, from the first: what led to it, whatever is shown now."""
        path = []
        message = self.message(message_id)
        while message is not None:
            path.append(message)
            message = self.message(message.parent_id) if message.parent_id is not None else None
        return path[::-1]

    def choose(self, message_id: int) -> None:
        """Show this version at its fork (and, below it, the versions chosen last there), also after a restart."""
        with self.transaction():
            self.db.execute(
                "UPDATE messages SET chosen = (SELECT MAX(chosen) + 1 FROM messages m"
                " WHERE m.conversation_id = messages.conversation_id) WHERE id = ?",
                (message_id,),
            )

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
        parent_id: int | None = LAST,
    ) -> Message:
        """A message following ``parent_id`` (``LAST``: the last one shown; None: a first message), shown from
        now on: a second child of a parent is a new version beside the first (edit, regenerate)."""
        assert role in ROLES, role
        now = self._clock()
        with self.transaction():
            if not self.db.execute("SELECT 1 FROM conversations WHERE id = ?", (conversation_id,)).fetchone():
                raise RowGoneError(f"chat {conversation_id}", self.path)  # not sqlite's IntegrityError
            if parent_id == LAST:
                shown = self.messages(conversation_id)
                parent_id = shown[-1].id if shown else None
            position = 0
            if parent_id is not None:
                parent = self.db.execute(
                    "SELECT position FROM messages WHERE id = ? AND conversation_id = ?",
                    (parent_id, conversation_id),
                ).fetchone()
                assert parent is not None, f"message {parent_id} is not in conversation {conversation_id}"
                position = parent[0] + 1
            cursor = self.db.execute(
                "INSERT INTO messages (conversation_id, parent_id, position, chosen, role, content, reasoning,"
                " tool_calls, tool_call_id, name, complete, settings, created_at, updated_at)"
                " VALUES (?, ?, ?, (SELECT COALESCE(MAX(chosen), 0) + 1 FROM messages WHERE conversation_id = ?),"
                " ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    conversation_id,
                    parent_id,
                    position,
                    conversation_id,
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
        """Replace a message's text in place (the app's edits add a version instead: ``add_message``)."""
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
        """Delete the messages at ``position`` and deeper, in every version (the app's edits and regenerates
        keep them: they add versions)."""
        where = "FROM messages WHERE conversation_id = ? AND position >= ?"
        with self.transaction():
            # Counted first: the rows below a deleted one go with it (ON DELETE CASCADE), uncounted.
            (count,) = self.db.execute(f"SELECT COUNT(*) {where}", (conversation_id, position)).fetchone()
            self.db.execute(f"DELETE {where}", (conversation_id, position))
            self._touch(conversation_id, self._clock())
        return count

    def incomplete_messages(self) -> list[Message]:
        rows = self.db.execute("SELECT * FROM messages WHERE complete = 0 ORDER BY conversation_id, position")
        return [message_from_row(row) for row in rows]

    def _update(self, sql: str, values: tuple, what: str) -> None:
        """An update that changes no row raises, rather than returning as if saved (its row is gone)."""
        if self.db.execute(sql, values).rowcount == 0:
            raise RowGoneError(what, self.path)

    def _touch(self, conversation_id: int, now: float) -> None:
        self.db.execute("UPDATE conversations SET updated_at = ? WHERE id = ?", (now, conversation_id))


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
