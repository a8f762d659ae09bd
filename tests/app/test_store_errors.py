"""Writes the chat store refuses (a full disk, a read-only file): nothing is lost, and the user is told why.

The disk is filled for real with SQLite's own cap on the file's size, and the file made read-only by opening
it so (tests/app/conftest.py); the window, the store and the engine are the real ones.
"""

from __future__ import annotations

import logging
import sqlite3

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLineEdit, QMessageBox, QPushButton

from app import settings as keys
from app import store_errors
from app.store import Store, StoreWriteError
from tests.app.conftest import cut_short_chat, disk_full, read_only, send, wait_idle, wait_loaded
from tests.app.test_conversations import seed

# A pasted draft: more than a page of the file, so a full disk refuses it.
DRAFT = (
    "Here is my draft, please tighten it:\n\n"
    + "The committee met on Tuesday and agreed on the budget. " * 120
)
# Notes that fill most of the page the answer to them is saved on, so a full disk refuses the answer's
# saves a few hundred characters in.
NOTES = "Summarize these notes:\n" + "\n".join(f"Note {i}: the meeting moved to room {i}." for i in range(90))


def kept_in(window) -> str:
    return f"Chats are kept in {window.store.path.parent}."


def message_count(store: Store) -> int:
    return store.db.execute("SELECT COUNT(*) FROM messages").fetchone()[0]


def test_sending_on_a_full_disk_keeps_the_text_and_starts_nothing(loaded_window, qtbot, settings):
    """A message the full disk refuses stays in the box; the notice says why, what to do and where the chats
    are; no answer starts and nothing of it is in the file. Once there is room, Enter sends it."""
    window = loaded_window
    settings.set(keys.MAX_TOKENS, 4)
    with disk_full(window.store):
        send(qtbot, window, DRAFT)
        assert window.composer.text() == DRAFT
        assert window.notice.isVisible() and window.notice.kind == "error"
        assert window.notice.text() == (
            "Gossamer could not save your message. The disk is full. Free some space, then send again. "
            + kept_in(window)
        )
        assert not window.notice.engine_text.isVisible()
        assert not window.controller.busy and window.status.state_label.text() == "Ready"
        assert window.controller.conversation is None and window.controller.chat_model.rowCount() == 0
        assert window.title_label.text() == "New chat" and window.sidebar.model.rowCount() == 0
    assert window.store.conversations() == [] and message_count(window.store) == 0
    qtbot.keyClick(window.composer.edit, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: window.controller.chat_model.rowCount() == 2, timeout=5000)
    wait_idle(qtbot, window)
    (conversation,) = window.store.conversations()
    user, answer = window.store.messages(conversation.id)
    assert user.content == DRAFT.strip() and answer.complete and window.composer.text() == ""


def test_a_full_disk_mid_answer_keeps_streaming_and_saves_the_whole_answer_once_there_is_room(
    loaded_window, qtbot, settings
):
    """The disk fills while an answer streams: the answer goes on on screen, one notice says so (not one per
    refused save), and once there is room the next save writes all of it, before the turn ends."""
    window = loaded_window
    settings.set(keys.MAX_TOKENS, 4000)
    failures = []
    window.controller.answer_save_failed.connect(failures.append)
    send(qtbot, window, NOTES)
    model, store = window.controller.chat_model, window.store
    qtbot.waitUntil(
        lambda: model.rowCount() == 2 and store.message(model.message(1).id).content != "", timeout=120_000
    )
    answer_id = model.message(1).id
    with disk_full(store):
        qtbot.waitUntil(lambda: len(failures) > 0, timeout=60_000)
        assert failures[0].kind == "full" and window.notice.kind == "error"
        assert window.notice.text() == (
            "Gossamer could not save the answer. The disk is full. "
            "The answer stays on screen and is saved as soon as there is room. " + kept_in(window)
        )
        refused_at = len(model.message(1).content)
        qtbot.waitUntil(lambda: len(model.message(1).content) > refused_at + 300, timeout=60_000)
        assert len(store.message(answer_id).content) < refused_at  # every save since was refused
        assert len(failures) == 1 and window.controller.busy
        room_at = len(model.message(1).content)
    qtbot.waitUntil(lambda: window.notice.text() == "The answer is saved now.", timeout=5000)
    saved = store.message(answer_id)
    assert window.controller.busy and not saved.complete  # saved while the turn goes on
    assert len(saved.content) >= room_at and model.message(1).content.startswith(saved.content)
    qtbot.keyClick(window.composer.edit, Qt.Key.Key_Escape)
    wait_idle(qtbot, window)
    final = store.message(answer_id)
    assert final.complete and final.finish_reason == "cancelled" and final.content == model.message(1).content
    assert len(failures) == 1


def test_renaming_on_a_full_disk_keeps_the_saved_title(make_window, qtbot, app_dirs):
    """A title the full disk refuses is not shown: the list and the header keep the saved one, and the notice
    says why; renaming works once there is room."""
    (conversation_id,) = seed(app_dirs / "data" / "chats.sqlite", [("Draft", "text")])
    window = make_window()
    window.controller.open_conversation(conversation_id)
    title = "Minutes: " + "budget, rooms and dates; " * 200  # more than a page: the full disk refuses it

    def rename(text: str) -> None:
        window.sidebar.rename(conversation_id)
        (editor,) = [e for e in window.sidebar.list.findChildren(QLineEdit) if e.isVisible()]
        editor.setText(text)
        with qtbot.waitSignal(window.sidebar.model.rename_requested, timeout=5000):  # the view commits queued
            qtbot.keyClick(editor, Qt.Key.Key_Return)

    with disk_full(window.store):
        rename(title)
        assert window.notice.text() == (
            "Gossamer could not rename the chat. The disk is full. Free some space, then try again. "
            + kept_in(window)
        )
        assert window.sidebar.model.index(0, 0).data() == "Draft" and window.title_label.text() == "Draft"
        assert window.controller.conversation.title == "Draft"
        assert window.store.conversation(conversation_id).title == "Draft"
    rename(title)
    assert window.store.conversation(conversation_id).title == title.strip()
    assert (
        window.sidebar.model.index(0, 0).data() == title.strip()
        and window.title_label.text() == title.strip()
    )


def test_delete_and_undo_on_a_read_only_file(make_window, qtbot, app_dirs):
    """A delete the read-only file refuses leaves the chat listed and open; an Undo it refuses leaves the chat
    in the bin and offers Undo again, which brings it back once the file can be written."""
    keep, binned = seed(app_dirs / "data" / "chats.sqlite", [("Keep", "a"), ("Bin", "b")])
    window = make_window()
    window.controller.open_conversation(binned)
    with read_only(window.store):
        window.delete_conversation(binned)
        assert window.notice.text() == (
            "Gossamer could not delete the chat. The chats file is read-only or cannot be written. "
            "Check that the chats folder can be written, then try again. " + kept_in(window)
        )
        assert window.sidebar.model.rowCount() == 2 and window.controller.conversation.id == binned
    window.delete_conversation(binned)
    assert window.notice.text() == "Deleted “Bin”."
    with read_only(window.store):
        qtbot.mouseClick(window.notice.findChild(QPushButton, "NoticeAction"), Qt.MouseButton.LeftButton)
        assert window.notice.isVisible() and window.notice.text().startswith(
            "Gossamer could not bring the chat back. The chats file is read-only or cannot be written."
        )
        assert [c.id for c in window.store.conversations()] == [keep] and window.sidebar.model.rowCount() == 1
        assert window.controller.conversation is None
    undo = [
        b for b in window.notice.findChildren(QPushButton, "NoticeAction") if b.isVisibleTo(window.notice)
    ]
    assert [b.text() for b in undo] == ["Undo"]
    qtbot.mouseClick(undo[0], Qt.MouseButton.LeftButton)
    assert {c.id for c in window.store.conversations()} == {keep, binned}
    assert window.controller.conversation.id == binned and window.sidebar.model.rowCount() == 2


def test_a_reasoning_effort_the_file_refuses_is_not_shown(make_window, qtbot, app_dirs):
    """The chat keeps the effort the file has, and the composer shows it, when the new one cannot be saved."""
    (conversation_id,) = seed(app_dirs / "data" / "chats.sqlite", [("Effort", "text")])
    window = make_window()
    window.controller.open_conversation(conversation_id)
    effort = window.composer.effort
    with read_only(window.store):
        effort.setCurrentIndex(effort.findData("high"))
        assert window.notice.text().startswith("Gossamer could not save the reasoning effort for this chat.")
        assert window.composer.current_effort() == "medium" and window.controller.effort == "medium"
    effort.setCurrentIndex(effort.findData("high"))
    assert window.store.conversation(conversation_id).effort == "high" and window.controller.effort == "high"


def test_an_edit_the_full_disk_refuses_stays_in_the_editor(make_window, qtbot, app_dirs, tiny_model_dir):
    """Edit-and-resend on a full disk: the edited text stays in the editor, the conversation as it was; sent
    again once there is room, it replaces the message and is answered."""
    (conversation_id,) = seed(app_dirs / "data" / "chats.sqlite", [("Edited", "first try")])
    window = make_window(tiny_model_dir)
    wait_loaded(qtbot, window)
    window.settings.set(keys.MAX_TOKENS, 4)
    window.controller.open_conversation(conversation_id)
    before = window.store.messages(conversation_id)
    widget = window.chat_view.message_widgets()[0]
    with disk_full(window.store):
        widget.start_edit()
        widget.editor.setPlainText(DRAFT)
        qtbot.mouseClick(widget.send_edit_button, Qt.MouseButton.LeftButton)
        assert window.notice.text() == (
            "Gossamer could not save your edited message. The disk is full. "
            "Free some space, then send again. " + kept_in(window)
        )
        assert widget.editor.isVisibleTo(widget) and widget.editor.toPlainText() == DRAFT.strip()
        assert window.store.messages(conversation_id) == before and not window.controller.busy
        assert [m.content for m in window.controller.chat_model.messages()] == [m.content for m in before]
    qtbot.mouseClick(widget.send_edit_button, Qt.MouseButton.LeftButton)
    wait_idle(qtbot, window)
    user, answer = window.store.messages(conversation_id)
    assert user.content == DRAFT.strip() and answer.id != before[1].id and answer.complete


@pytest.mark.parametrize("button", ["regenerate_button", "continue_button"])
def test_regenerate_and_continue_on_a_read_only_file_keep_the_answer(
    make_window, qtbot, app_dirs, tiny_model_dir, button
):
    """Regenerate or Continue when the file cannot be written: nothing starts, the interrupted answer stays as
    it was, and the notice says why; the same button works once the file can be written."""
    conversation_id, cut_id = cut_short_chat(app_dirs)
    window = make_window(tiny_model_dir)
    wait_loaded(qtbot, window)
    window.settings.set(keys.MAX_TOKENS, 4)
    window.controller.open_conversation(conversation_id)
    cut = window.store.message(cut_id)
    widget = window.chat_view.message_widgets()[1]
    lead = {"regenerate_button": "start a new answer", "continue_button": "continue the answer"}[button]
    with read_only(window.store):
        qtbot.mouseClick(getattr(widget, button), Qt.MouseButton.LeftButton)
        assert window.notice.text().startswith(f"Gossamer could not {lead}. The chats file is read-only")
        assert not window.controller.busy and window.store.messages(conversation_id)[1] == cut
        assert widget.status_label.text().startswith("Interrupted") and widget.answer.text() == "Once upon a"
    qtbot.mouseClick(getattr(widget, button), Qt.MouseButton.LeftButton)
    assert window.controller.busy
    wait_idle(qtbot, window)
    assert window.store.messages(conversation_id)[1].complete


@pytest.mark.parametrize("choice", ["Try again", "Close anyway"])
def test_closing_while_an_answer_cannot_be_saved_asks_first(loaded_window, qtbot, settings, caplog, choice):
    """An answer stopped while the file is read-only stays on screen, unsaved; closing then tries once more
    and asks: Try again closes once the answer is saved, Close anyway closes with the loss logged and the
    answer as last saved (interrupted)."""
    window = loaded_window
    settings.set(keys.MAX_TOKENS, 4000)
    send(qtbot, window, "Count to a thousand.")
    model, store = window.controller.chat_model, window.store
    qtbot.waitUntil(lambda: model.rowCount() == 2 and len(model.message(1).content) > 0, timeout=120_000)
    answer_id = model.message(1).id
    writable = store.db
    with read_only(store):
        qtbot.keyClick(window.composer.edit, Qt.Key.Key_Escape)
        wait_idle(qtbot, window)
        shown = model.message(1)
        assert shown.finish_reason == "cancelled" and not store.message(answer_id).complete
        assert window.notice.text().startswith("Gossamer could not save the answer.")
        window.close()
        question = window.findChild(QMessageBox, "UnsavedAnswerQuestion")
        assert question is not None and question.isVisible() and window.isVisible()
        assert question.text() == (
            "Gossamer could not save the answer. The chats file is read-only or cannot be written. "
            "Check that the chats folder can be written, then try again. "
            "If you close now, the part of the answer not yet saved is lost."
        )
        buttons = {button.text(): button for button in question.buttons()}
        with caplog.at_level(logging.ERROR, logger="app.chat_controller"):
            qtbot.mouseClick(buttons[choice], Qt.MouseButton.LeftButton)
            if choice == "Close anyway":
                qtbot.waitUntil(lambda: not window.isVisible(), timeout=10_000)
                assert "closing with 1 answer(s) not saved in full" in caplog.text
                assert not window.controller._save_timer.isActive()  # no retries once the store closes
            else:  # still read-only: asked again
                qtbot.waitUntil(
                    lambda: (
                        (again := window.findChild(QMessageBox, "UnsavedAnswerQuestion")) is not None
                        and again is not question
                        and again.isVisible()
                    ),
                    timeout=10_000,
                )
                assert window.isVisible()
    if choice == "Try again":  # the file can be written again
        (again,) = [box for box in window.findChildren(QMessageBox) if box.isVisible()]
        retry = next(button for button in again.buttons() if button.text() == "Try again")
        qtbot.mouseClick(retry, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: not window.isVisible(), timeout=10_000)
    else:
        writable.close()  # the window closed the read-only connection it was given
    reopened = Store(window.store.path)
    saved = reopened.message(answer_id)
    reopened.close()
    if choice == "Try again":
        assert saved.complete and saved.content == shown.content and saved.finish_reason == "cancelled"
    else:
        assert not saved.complete and shown.content.startswith(saved.content)


@pytest.mark.parametrize("task", store_errors.TASKS)
@pytest.mark.parametrize("kind", store_errors.KINDS)
def test_every_refused_write_is_worded(tmp_path, task, kind):
    """Every task and kind has its words: what was not saved, why, what to do, and where the chats are;
    SQLite's own sentence is the detail only when it is neither a full disk nor an unwritable file."""
    error = StoreWriteError(sqlite3.OperationalError("database is locked"), tmp_path / "chats.sqlite")
    error.kind = kind
    text, detail = store_errors.shown(error, task)
    assert text.startswith("Gossamer could not ") and text.endswith(f"Chats are kept in {tmp_path}.")
    assert len(text.split(". ")) >= 4
    assert detail == ("database is locked" if kind == "other" else "")
