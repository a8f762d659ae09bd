"""Another writer on the chats file (a second app before single-instance, or a script): a chat deleted there
while this window writes into it is reported, never saved into nothing or raised as a raw sqlite3 error."""

from __future__ import annotations

import pytest

from app import settings as keys
from app.store import RowGoneError, Store
from tests.app.conftest import send, wait_idle


@pytest.fixture
def pair(tmp_path):
    """Two connections to one chats file: (A, B)."""
    a, b = Store(tmp_path / "chats.sqlite"), Store(tmp_path / "chats.sqlite")
    yield a, b
    a.close()
    b.close()


def test_every_write_to_a_chat_deleted_elsewhere_raises(pair):
    """B deletes (and purges) the chat A writes into: each of A's writes raises RowGoneError, not silence."""
    a, b = pair
    chat = a.create_conversation("notes")
    user = a.add_message(chat.id, "user", "hello")
    answer = a.add_message(chat.id, "assistant", "", complete=False)
    b.delete_conversation(chat.id)
    b.purge_deleted()
    writes = [
        lambda: a.update_message(answer.id, content="partial"),
        lambda: a.finish_message(answer.id, finish_reason="stop", content="done"),
        lambda: a.edit_message(user.id, "hello again"),
        lambda: a.reopen_message(answer.id),
        lambda: a.add_message(chat.id, "user", "more"),
        lambda: a.rename_conversation(chat.id, "renamed"),
        lambda: a.update_settings(chat.id, {"effort": "high"}),
        lambda: a.delete_conversation(chat.id),
        lambda: a.restore_conversation(chat.id),
    ]
    for write in writes:
        with pytest.raises(RowGoneError) as error:
            write()
        assert error.value.kind == "gone" and "no longer there" in str(error.value)
    assert a.conversations() == [] and a.db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_an_answer_streaming_into_a_chat_deleted_elsewhere_is_told_once(loaded_window, qtbot, settings):
    """The window says once that the chat is gone (no retry loop); its next send is refused in words."""
    window = loaded_window
    settings.set(keys.MAX_TOKENS, 4000)
    failures = []
    window.controller.answer_save_failed.connect(failures.append)
    send(qtbot, window, "Write a long story about a lighthouse.")
    model = window.controller.chat_model
    qtbot.waitUntil(lambda: model.rowCount() == 2 and model.message(1).content != "", timeout=120_000)
    other = Store(window.store.path)
    (chat,) = other.conversations()
    other.delete_conversation(chat.id)
    other.purge_deleted()
    other.close()
    qtbot.waitUntil(lambda: len(failures) > 0, timeout=60_000)
    assert failures[0].kind == "gone"
    assert "no longer there" in window.notice.text() and "Start a new chat" in window.notice.text()
    window.controller.stop()
    wait_idle(qtbot, window)
    assert len(failures) == 1
    stored = []
    window.controller.store_failed.connect(lambda error, task, _id: stored.append((error.kind, task)))
    window.composer.edit.setPlainText("Are you still there?")
    window.composer.send_button.click()
    qtbot.waitUntil(lambda: stored != [], timeout=10_000)
    assert stored[0] == ("gone", "send") and "no longer there" in window.notice.text()
