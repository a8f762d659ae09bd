"""The store's versions: edits and regenerates as siblings, the path shown, the choice kept across a restart,
and the upgrade of a schema-2 file (linear chats) to single-version trees."""

from __future__ import annotations

import sqlite3

import pytest

from app.store import SCHEMA_VERSION, Store
from app.store_schema import MIGRATIONS


@pytest.fixture
def path(tmp_path):
    return tmp_path / "chats.sqlite"


def branched(store: Store):
    """A chat "Q1 A1 Q2 A2" whose first question was edited to "Q1b" (answered "A1b"), and whose answer A1b
    was regenerated as "A1c": -> (conversation id, {text: message})."""
    chat = store.create_conversation("Branches")
    made = {}
    for role, text in (("user", "Q1"), ("assistant", "A1"), ("user", "Q2"), ("assistant", "A2")):
        made[text] = store.add_message(chat.id, role, text)
    made["Q1b"] = store.add_message(chat.id, "user", "Q1b", parent_id=None)
    made["A1b"] = store.add_message(chat.id, "assistant", "A1b", parent_id=made["Q1b"].id)
    made["A1c"] = store.add_message(chat.id, "assistant", "A1c", parent_id=made["Q1b"].id)
    return chat.id, made


def texts(messages) -> list[str]:
    return [m.content for m in messages]


def test_versions_are_siblings_and_the_newest_is_shown(path):
    """An edit and a regenerate add siblings at the same position; the path shown takes the newest, and every
    message knows its versions."""
    store = Store(path)
    chat_id, made = branched(store)
    shown = store.messages(chat_id)
    assert texts(shown) == ["Q1b", "A1c"]
    assert [(m.version, m.num_versions) for m in shown] == [(2, 2), (2, 2)]
    assert shown[0].versions == (made["Q1"].id, made["Q1b"].id) and shown[0].position == 0
    assert shown[1].parent_id == made["Q1b"].id and shown[1].position == 1
    assert texts(store.all_messages(chat_id)) == ["Q1", "Q1b", "A1", "A1b", "A1c", "Q2", "A2"]
    assert store.message(made["A1b"].id).versions == (made["A1b"].id, made["A1c"].id)
    assert texts(store.path_to(made["A2"].id)) == ["Q1", "A1", "Q2", "A2"]
    store.close()


def test_choosing_a_version_shows_its_turns_and_survives_a_restart(path):
    """Choosing the first question shows the turns that followed it; below a fork the version chosen last
    is shown; the choices hold after the file is opened again, and a new message follows the path shown."""
    store = Store(path)
    chat_id, made = branched(store)
    store.choose(made["Q1"].id)
    assert texts(store.messages(chat_id)) == ["Q1", "A1", "Q2", "A2"]
    store.choose(made["Q1b"].id)
    store.choose(made["A1b"].id)
    store.close()

    store = Store(path)
    assert texts(store.messages(chat_id)) == ["Q1b", "A1b"]
    assert store.messages(chat_id)[1].version == 1
    follow_up = store.add_message(chat_id, "user", "Q2b")  # the default parent: the last message shown
    assert follow_up.parent_id == made["A1b"].id and follow_up.position == 2
    assert texts(store.messages(chat_id)) == ["Q1b", "A1b", "Q2b"]
    store.choose(made["A1c"].id)
    assert texts(store.messages(chat_id)) == ["Q1b", "A1c"]
    store.choose(made["A1b"].id)  # back: the turn that followed it is still there
    assert texts(store.messages(chat_id)) == ["Q1b", "A1b", "Q2b"]
    store.close()


def test_deleting_a_chat_takes_every_version(path):
    """Purging a deleted chat removes all its versions; other chats keep theirs."""
    store = Store(path)
    chat_id, _made = branched(store)
    other, _ = branched(store)
    store.delete_conversation(chat_id)
    store.purge_deleted()
    assert store.all_messages(chat_id) == [] and len(store.all_messages(other)) == 7
    store.close()


def schema_2_file(path) -> None:
    """A file as Gossamer wrote it before versions: two linear chats, one with a gap in its positions (a
    regenerate of old deleted the tail), and deleted messages whose ids the sequence remembers."""
    with sqlite3.connect(path) as old:
        old.executescript(";".join(MIGRATIONS[:2]) + "; PRAGMA user_version = 2;")
        for chat in (1, 2):
            old.execute(
                "INSERT INTO conversations (title, created_at, updated_at) VALUES (?, 0, 0)",
                (f"Chat {chat}",),
            )
        rows = [
            (1, 1, 0, "user", "Hello", 1, None, None),
            (2, 1, 1, "assistant", "Hi there", 1, "return", None),
            (5, 1, 4, "user", "And again?", 1, None, None),
            (6, 1, 5, "assistant", "Cut sh", 0, None, None),
            (7, 2, 0, "user", "Solo", 1, None, None),
            (8, 2, 1, "assistant", "", 1, "error", "ContextFullError"),
        ]
        old.executemany(
            "INSERT INTO messages (id, conversation_id, position, role, content, complete, finish_reason,"
            " error_kind, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 0, 0)",
            rows,
        )
        old.execute("UPDATE sqlite_sequence SET seq = 12 WHERE name = 'messages'")


def test_a_schema_2_file_becomes_single_version_trees(path):
    """Each old message follows the one before it in its chat, positions count from 0 without gaps, nothing
    is lost (ids, text, state, errors), ids are not reused, and the old pages are given back."""
    schema_2_file(path)
    before = stored(path)
    store = Store(path)
    assert store.schema_version == SCHEMA_VERSION == 4  # versions (3), then a full context (4)
    first = store.messages(1)
    assert [(m.id, m.parent_id, m.position) for m in first] == [(1, None, 0), (2, 1, 1), (5, 2, 2), (6, 5, 3)]
    assert texts(first) == ["Hello", "Hi there", "And again?", "Cut sh"]
    assert first[3].unfinished and not first[3].complete
    assert all(m.num_versions == 1 for m in first) and store.all_messages(1) == first
    (solo, failed) = store.messages(2)
    assert (solo.parent_id, failed.parent_id, failed.error_kind) == (None, solo.id, "ContextFullError")
    assert store.add_message(2, "user", "Next").id == 13  # after the deleted ids, following the path
    assert store.messages(2)[-1].parent_id == failed.id
    assert store.db.execute("PRAGMA freelist_count").fetchone()[0] == 0
    assert store.db.execute("PRAGMA foreign_key_check").fetchall() == []
    store.close()
    assert stored(path)[: len(before)] == before


KEPT = ("id", "conversation_id", "role", "content", "complete", "finish_reason", "error_kind", "created_at")


def stored(path) -> list[dict]:
    """Every message's columns that the upgrade keeps as they were, by id."""
    db = sqlite3.connect(path)
    db.row_factory = sqlite3.Row
    rows = [
        {column: row[column] for column in KEPT} for row in db.execute("SELECT * FROM messages ORDER BY id")
    ]
    db.close()
    return rows


def test_an_empty_schema_2_file_upgrades(path):
    """A file with no messages yet upgrades too, and its first message is a first message."""
    with sqlite3.connect(path) as old:
        old.executescript(";".join(MIGRATIONS[:2]) + "; PRAGMA user_version = 2;")
    store = Store(path)
    chat = store.create_conversation()
    message = store.add_message(chat.id, "user", "Hi")
    assert (message.parent_id, message.position, message.versions) == (None, 0, (message.id,))
    store.close()
