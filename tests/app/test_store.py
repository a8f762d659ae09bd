"""The conversation store: schema and migrations, WAL, search, streaming saves and crash safety."""

from __future__ import annotations

import contextlib
import sqlite3

import pytest

from app import store as store_module
from app.recorder import AnswerRecorder
from app.store import SCHEMA_VERSION, Store, StoreError, StoreWriteError, chat_messages
from tests.app.conftest import disk_full, read_only


@pytest.fixture
def store(tmp_path):
    db = Store(tmp_path / "chats.sqlite")
    yield db
    db.close()


def test_new_file_is_wal_at_current_schema(store):
    """A new file uses WAL journaling and records the schema version."""
    assert store.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert store.schema_version == SCHEMA_VERSION


def test_default_location_is_user_data_dir(monkeypatch, tmp_path):
    """Without a path the store lives at user_data_dir()/chats.sqlite."""
    monkeypatch.setenv("GOSSAMER_DATA_DIR", str(tmp_path / "data"))
    db = Store()
    assert db.path == tmp_path / "data" / "chats.sqlite"
    db.close()


def test_migrations_run_in_order_and_once(monkeypatch, tmp_path):
    """Opening an old file applies the missing steps; reopening applies nothing."""
    path = tmp_path / "chats.sqlite"
    Store(path).close()
    extra = "ALTER TABLE conversations ADD COLUMN pinned INTEGER NOT NULL DEFAULT 0"
    monkeypatch.setattr(store_module, "MIGRATIONS", [*store_module.MIGRATIONS, extra])
    monkeypatch.setattr(store_module, "SCHEMA_VERSION", len(store_module.MIGRATIONS))
    db = Store(path)
    assert db.schema_version == SCHEMA_VERSION + 1
    columns = [row[1] for row in db.db.execute("PRAGMA table_info(conversations)")]
    assert "pinned" in columns
    db.close()
    Store(path).close()  # a second open must not re-run the ALTER (it would fail)


def test_newer_schema_is_refused_with_advice(tmp_path):
    """A file from a newer app version is not touched, and the message says to update."""
    path = tmp_path / "chats.sqlite"
    with sqlite3.connect(path) as db:
        db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 5}")
    with pytest.raises(StoreError, match="newer version"):
        Store(path)


def test_not_a_database_is_refused_with_advice(tmp_path):
    """A garbage file gives a StoreError that says what to do, not a raw sqlite error."""
    path = tmp_path / "chats.sqlite"
    path.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(StoreError, match="Move it aside"):
        Store(path)


def test_messages_keep_channels_apart(store):
    """Final text, analysis and tool calls are stored in their own fields and read back as chat dicts."""
    conversation = store.create_conversation(settings={"effort": "high"})
    store.add_message(conversation.id, "user", "What is 2+2?")
    calls = [{"id": "c1", "type": "function", "function": {"name": "calc", "arguments": '{"x": 1}'}}]
    answer = store.add_message(conversation.id, "assistant", "4", reasoning="Add them.", tool_calls=calls)
    loaded = store.messages(conversation.id)
    assert [m.position for m in loaded] == [0, 1]
    assert loaded[1].reasoning == "Add them." and loaded[1].content == "4"
    assert loaded[1].tool_calls == calls and loaded[1].id == answer.id
    assert chat_messages(loaded) == [
        {"role": "user", "content": "What is 2+2?"},
        {"role": "assistant", "content": "4", "reasoning": "Add them.", "tool_calls": calls},
    ]
    assert store.conversation(conversation.id).effort == "high"


def test_streaming_message_is_incomplete_until_finished(store):
    """An answer saved while streaming reads back incomplete; finishing records reason and usage."""
    conversation = store.create_conversation()
    answer = store.add_message(conversation.id, "assistant", complete=False)
    store.update_message(answer.id, content="Hel", reasoning="thinking")
    partial = store.message(answer.id)
    assert (partial.content, partial.complete, partial.finish_reason) == ("Hel", False, None)
    assert store.incomplete_messages()[0].id == answer.id
    store.finish_message(answer.id, finish_reason="return", content="Hello", usage={"completion_tokens": 3})
    done = store.message(answer.id)
    assert (done.content, done.reasoning, done.complete) == ("Hello", "thinking", True)
    assert done.usage == {"completion_tokens": 3}
    assert store.incomplete_messages() == []


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("", {"Pasta", "Rust", "빈 대화"}),
        ("pasta", {"Pasta"}),
        ("borrow", {"Rust"}),
        ("50%", {"Rust"}),
        ("김치", {"빈 대화"}),
        ("nothing-like-this", set()),
    ],
)
def test_search_matches_titles_and_message_text(store, query, expected):
    """Search finds conversations by title or by any user/assistant text, Korean included."""
    pasta = store.create_conversation("Pasta")
    store.add_message(pasta.id, "user", "How long to boil?")
    rust = store.create_conversation("Rust")
    store.add_message(rust.id, "assistant", "The borrow checker is 50% of the fun.")
    korean = store.create_conversation("빈 대화")
    store.add_message(korean.id, "user", "김치찌개 만드는 법")
    assert {c.title for c in store.conversations(query)} == expected


def test_delete_hides_restore_returns_purge_removes(store):
    """Deleting is undoable until purged; purging removes the messages too."""
    conversation = store.create_conversation("Keep me")
    store.add_message(conversation.id, "user", "hi")
    store.delete_conversation(conversation.id)
    assert store.conversations() == []
    store.restore_conversation(conversation.id)
    assert [c.title for c in store.conversations()] == ["Keep me"]
    store.delete_conversation(conversation.id)
    assert store.purge_deleted() == 1
    assert store.db.execute("SELECT COUNT(*) FROM messages").fetchone()[0] == 0


def test_newest_conversation_first(tmp_path):
    """Conversations list by last activity, newest first."""
    ticks = iter(range(100))
    db = Store(tmp_path / "chats.sqlite", clock=lambda: float(next(ticks)))
    first = db.create_conversation("first")
    db.create_conversation("second")
    db.add_message(first.id, "user", "bump")
    assert [c.title for c in db.conversations()] == ["first", "second"]
    db.close()


def test_rename_and_truncate(store):
    """Rename marks the title as the user's; delete_messages_from cuts the tail for regenerate/edit."""
    conversation = store.create_conversation("auto")
    for text in ("a", "b", "c"):
        store.add_message(conversation.id, "user", text)
    store.rename_conversation(conversation.id, "  Mine  ")
    renamed = store.conversation(conversation.id)
    assert (renamed.title, renamed.title_is_auto) == ("Mine", False)
    assert store.delete_messages_from(conversation.id, 1) == 2
    assert [m.content for m in store.messages(conversation.id)] == ["a"]
    assert store.add_message(conversation.id, "user", "d").position == 1


@contextlib.contextmanager
def locked(store):
    """Another program holds the file's write lock, and the store does not wait for it: SQLITE_BUSY."""
    store.db.execute("PRAGMA busy_timeout = 0")
    other = sqlite3.connect(store.path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    try:
        yield
    finally:
        other.execute("ROLLBACK")
        other.close()
        store.db.execute("PRAGMA busy_timeout = 5000")


@pytest.mark.parametrize(
    ("refusing", "kind", "reason"),
    [
        (disk_full, "full", "database or disk is full"),
        (read_only, "read_only", "attempt to write a readonly database"),
        (locked, "other", "database is locked"),
    ],
    ids=["full", "read_only", "other"],
)
def test_a_refused_write_leaves_nothing_half_written(store, refusing, kind, reason):
    """A write SQLite refuses raises StoreWriteError with its kind, the file's path and SQLite's sentence; the
    transaction is rolled back whole (no chat without its message), and the store writes again afterwards."""
    long_text = "A pasted draft. " * 400  # needs pages of its own: the full disk refuses it
    with refusing(store), pytest.raises(StoreWriteError) as refused:
        with store.transaction():
            conversation = store.create_conversation("Draft")
            store.add_message(conversation.id, "user", long_text)
    assert (refused.value.kind, refused.value.reason, refused.value.path) == (kind, reason, store.path)
    assert isinstance(refused.value.__cause__, sqlite3.OperationalError)
    assert store.conversations() == [] and not store.db.in_transaction
    assert store.db.execute("SELECT COUNT(*) FROM messages").fetchone()[0] == 0
    conversation = store.create_conversation("Draft")
    assert store.add_message(conversation.id, "user", long_text).content == long_text


def test_a_bug_is_not_taken_for_a_disk_error(store):
    """A broken constraint is Gossamer's bug, not the disk's: it stays a raw sqlite error, rolled back."""
    conversation = store.create_conversation()
    with pytest.raises(sqlite3.IntegrityError), store.transaction():
        store.add_message(conversation.id, "user", "first")
        store.db.execute(
            "INSERT INTO messages (conversation_id, parent_id, position, role, created_at, updated_at)"
            " VALUES (?, 12345, 1, 'user', 0, 0)",
            (conversation.id,),
        )
    assert store.messages(conversation.id) == [] and not store.db.in_transaction


def test_a_refused_save_keeps_the_answer_for_the_next_one(store):
    """A recorder whose save the store refuses keeps everything; it tries again only after the interval, and
    the next save writes the whole answer, its ending too."""
    now = [0.0]
    conversation = store.create_conversation()
    answer = store.add_message(conversation.id, "assistant", complete=False)
    recorder = AnswerRecorder(store, answer.id, interval=0.5, clock=lambda: now[0])
    with read_only(store):
        recorder.add("final", "Once upon")
        now[0] = 1.0
        with pytest.raises(StoreWriteError):
            recorder.flush_if_due()
        recorder.add("final", " a time")
        assert not recorder.saved and not recorder.flush_if_due()  # not at every token
        now[0] = 1.5
        with pytest.raises(StoreWriteError):
            recorder.flush_if_due()
        recorder.end("return", usage={"completion_tokens": 4})
        shown = recorder.applied(store.message(answer.id))
        assert (shown.content, shown.complete, shown.finish_reason) == ("Once upon a time", True, "return")
        assert store.message(answer.id).content == ""
    now[0] = 2.0
    assert recorder.flush_if_due() and recorder.saved
    done = store.message(answer.id)
    assert (done.content, done.complete, done.usage) == ("Once upon a time", True, {"completion_tokens": 4})


def test_recorder_saves_at_most_every_interval(store):
    """The recorder writes streamed text when the interval has passed, and everything on finish."""
    now = [0.0]
    conversation = store.create_conversation()
    answer = store.add_message(conversation.id, "assistant", complete=False)
    recorder = AnswerRecorder(store, answer.id, interval=0.5, clock=lambda: now[0])
    recorder.add("analysis", "Let me think.")
    now[0] = 1.0
    recorder.add("final", "Hi")
    assert recorder.flush_if_due()
    assert store.message(answer.id).content == "Hi"
    assert store.message(answer.id).reasoning == "Let me think."
    now[0] = 1.2
    recorder.add("final", " there")
    assert not recorder.flush_if_due()
    assert store.message(answer.id).content == "Hi"
    now[0] = 1.6
    assert recorder.flush_if_due()
    assert store.message(answer.id).content == "Hi there"
    recorder.finish("return", usage={"completion_tokens": 5})
    done = store.message(answer.id)
    assert done.complete and done.thinking_s == pytest.approx(1.0) and done.finish_reason == "return"


@pytest.mark.parametrize(
    ("complete", "reason", "content", "reasoning", "tool_calls", "unfinished", "can_continue"),
    [
        (False, None, "Once", "", None, True, True),  # interrupted by a crash
        (True, "cancelled", "", "Hmm", None, True, True),  # stopped while thinking
        (True, "length", "Once", "", None, True, True),
        (True, "error", "Once", "", None, True, True),
        (True, "cancelled", "", "", None, True, False),  # stopped before the first word
        (True, "return", "Done.", "", None, False, False),
        (True, "call", "", "", [{"id": "c", "function": {"name": "f"}}], False, False),
        (False, None, "", "", [{"id": "c", "function": {"name": "f"}}], True, False),
    ],
)
def test_which_answers_can_be_continued(
    store, complete, reason, content, reasoning, tool_calls, unfinished, can_continue
):
    """An answer the model did not end is unfinished; it can be continued if it has text and no tool call."""
    conversation = store.create_conversation()
    answer = store.add_message(
        conversation.id, "assistant", content, reasoning=reasoning, tool_calls=tool_calls, complete=complete
    )
    if reason is not None:
        store.finish_message(answer.id, finish_reason=reason)
    answer = store.message(answer.id)
    assert (answer.unfinished, answer.can_continue) == (unfinished, can_continue)
    assert not store.add_message(conversation.id, "user", "Hi").unfinished


@pytest.mark.parametrize(
    ("content", "thinking_before", "thinking_after"),
    [
        ("", 4.0, 4.0 + 3.0),  # stopped while thinking: the seconds go on from where they were
        ("Once", 4.0, 4.0),  # stopped in the answer: thinking was over
    ],
)
def test_a_continued_answer_is_reopened_and_added_to(store, content, thinking_before, thinking_after):
    """Continue marks the answer incomplete again (a crash leaves it interrupted) and the recorder adds the
    new text to what it held, with its thinking time."""
    now = [0.0]
    conversation = store.create_conversation()
    answer = store.add_message(conversation.id, "assistant", content, reasoning="Let me", complete=False)
    store.finish_message(answer.id, finish_reason="cancelled", thinking_s=thinking_before)
    store.reopen_message(answer.id)
    reopened = store.message(answer.id)
    assert not reopened.complete and reopened.finish_reason is None and reopened.error is None
    recorder = AnswerRecorder(
        store,
        answer.id,
        clock=lambda: now[0],
        content=content,
        reasoning="Let me",
        thinking_s=thinking_before,
    )
    if not content:
        recorder.add("analysis", " think.")
        now[0] = 3.0
    recorder.add("final", " upon a time")
    recorder.finish("length")
    done = store.message(answer.id)
    assert done.complete and done.finish_reason == "length"
    assert done.reasoning == ("Let me think." if not content else "Let me")
    assert done.content == content + " upon a time"
    assert done.thinking_s == pytest.approx(thinking_after)


def test_a_file_from_before_error_kinds_opens_and_keeps_its_errors(tmp_path):
    """Schema 1 had no error_kind: its error messages read back with none (shown as written), new ones
    keep the engine error's class."""
    path = tmp_path / "chats.sqlite"
    with sqlite3.connect(path) as old:
        old.executescript(store_module.MIGRATIONS[0] + "; PRAGMA user_version = 1;")
        old.execute("INSERT INTO conversations (created_at, updated_at) VALUES (0, 0)")
        old.execute(
            "INSERT INTO messages (conversation_id, position, role, finish_reason, error, created_at, updated_at)"
            " VALUES (1, 0, 'assistant', 'error', 'Too long.', 0, 0)"
        )
    store = Store(path)
    assert store.schema_version == SCHEMA_VERSION
    (kept,) = store.messages(1)
    assert (kept.error, kept.error_kind) == ("Too long.", None)
    again = store.add_message(1, "assistant", complete=False)
    store.finish_message(again.id, finish_reason="error", error="Too long.", error_kind="ContextFullError")
    assert store.message(again.id).error_kind == "ContextFullError"
    store.close()
