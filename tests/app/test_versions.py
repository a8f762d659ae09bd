"""Versions in the window, on the real engine (tiny random checkpoint): an edit or a regenerate adds a version
and keeps the old one with what followed it, "< 2 / 3 >" moves between them, the choice survives a restart,
exports write the version shown (JSON: all), and the message editor behaves as the composer does."""

from __future__ import annotations

import json
from pathlib import Path

from PySide6.QtCore import QPoint, QRect, Qt

from app import settings as keys
from app.store import Store
from engine.text.tokenizer import load_tokenizer
from tests.app.conftest import read_only, send, wait_idle


def turn(qtbot, window, text: str) -> None:
    send(qtbot, window, text)
    wait_idle(qtbot, window)


def shown(window) -> list[str]:
    return [m.content for m in window.controller.chat_model.messages() if m.role == "user"]


def started(qtbot, window) -> None:
    """A window opened without a model has looked for models (a close while its worker still imports torch,
    slow on a busy machine, would outlast the worker's shutdown wait)."""
    qtbot.waitUntil(lambda: window.models.listing is not None, timeout=120_000)


def switcher(window, row: int):
    return window.chat_view.message_widgets()[row].versions


def edit(qtbot, window, row: int, text: str) -> None:
    """Open the editor of the message at ``row``, type ``text`` over it and press Enter."""
    widget = window.chat_view.message_widgets()[row]
    qtbot.mouseClick(widget.edit_button, Qt.MouseButton.LeftButton)
    assert widget.editing
    widget.editor.selectAll()
    qtbot.keyClicks(widget.editor, text)
    qtbot.keyClick(widget.editor, Qt.Key.Key_Return)


def test_an_edit_adds_a_version_and_keeps_the_turns_after_the_old_one(loaded_window, qtbot):
    """Editing the first of two turns answers the new text from a prompt without the old turns; "< >" on the
    message goes back to the old version with both of its turns, and forward again, by mouse and keyboard."""
    window = loaded_window
    turn(qtbot, window, "First question")
    turn(qtbot, window, "Second question")
    chat_id = window.controller.conversation.id
    with qtbot.waitSignal(window.controller.prompt_rendered, timeout=60_000) as rendered:
        edit(qtbot, window, 0, "First question, edited")
    wait_idle(qtbot, window)
    prompt = load_tokenizer().decode(rendered.args[0])
    assert "First question, edited" in prompt and "Second question" not in prompt
    assert shown(window) == ["First question, edited"] and window.controller.chat_model.rowCount() == 2
    versions = switcher(window, 0)
    assert versions.isVisibleTo(window) and versions.label.text() == "2 / 2"
    assert not switcher(window, 1).isVisibleTo(window)  # the new answer has no other version
    assert versions.previous_button.accessibleName() == "Previous version"
    assert versions.next_button.toolTip() == "Next version" and not versions.next_button.isEnabled()
    assert versions.previous_button.focusPolicy() & Qt.FocusPolicy.TabFocus

    qtbot.mouseClick(versions.previous_button, Qt.MouseButton.LeftButton)
    assert shown(window) == ["First question", "Second question"]
    assert switcher(window, 0).label.text() == "1 / 2" and switcher(window, 0).label.accessibleName() == (
        "Version 1 of 2"
    )
    assert [m.role for m in window.controller.chat_model.messages()] == ["user", "assistant"] * 2
    assert all(m.complete for m in window.controller.chat_model.messages())

    next_button = switcher(window, 0).next_button
    next_button.setFocus()
    qtbot.keyClick(next_button, Qt.Key.Key_Space)
    assert shown(window) == ["First question, edited"]
    assert len(window.store.all_messages(chat_id)) == 6


def test_regenerate_adds_a_version_of_the_answer(loaded_window, qtbot):
    """Regenerate keeps the first answer as version 1 of 2; "<" shows it again, unchanged."""
    window = loaded_window
    turn(qtbot, window, "Name a colour.")
    first = window.controller.chat_model.message(1)
    qtbot.mouseClick(window.chat_view.message_widgets()[1].regenerate_button, Qt.MouseButton.LeftButton)
    wait_idle(qtbot, window)
    assert window.controller.chat_model.message(1).id != first.id
    assert switcher(window, 1).label.text() == "2 / 2"
    qtbot.mouseClick(switcher(window, 1).previous_button, Qt.MouseButton.LeftButton)
    again = window.controller.chat_model.message(1)
    assert (again.id, again.content, again.usage) == (first.id, first.content, first.usage)
    assert window.chat_view.message_widgets()[1].answer.text() == first.content


def test_versions_and_the_choice_survive_a_restart_and_export(loaded_window, make_window, qtbot, tmp_path):
    """The version chosen is the one shown after a restart; Markdown exports it (marked as a version), JSON
    every version with the ones shown flagged."""
    window = loaded_window
    turn(qtbot, window, "Original question")
    edit(qtbot, window, 0, "Rewritten question")
    wait_idle(qtbot, window)
    qtbot.mouseClick(switcher(window, 0).previous_button, Qt.MouseButton.LeftButton)
    chat_id = window.controller.conversation.id
    window.close()

    again = make_window()
    started(qtbot, again)
    assert again.controller.conversation.id == chat_id
    assert shown(again) == ["Original question"] and switcher(again, 0).label.text() == "1 / 2"
    markdown = again.export_conversation(chat_id, "markdown", str(tmp_path / "chat.md"))
    text = Path(markdown).read_text(encoding="utf-8")
    title, body = text.split("\n", 1)
    assert title == "# Rewritten question"  # the chat's title, from the edit
    assert "## You (version 1 of 2)\n\nOriginal question" in body and "Rewritten" not in body
    exported = again.export_conversation(chat_id, "json", str(tmp_path / "chat.json"))
    document = json.loads(Path(exported).read_text(encoding="utf-8"))
    messages = document["messages"]
    assert document["version"] == 2 and len(messages) == 4
    assert [(m["content"], m["shown"]) for m in messages if m["role"] == "user"] == [
        ("Original question", True),
        ("Rewritten question", False),
    ]
    by_id = {m["id"]: m for m in messages}
    assert all(by_id[m["parent"]]["role"] == "user" for m in messages if m["role"] == "assistant")


def test_the_title_follows_an_edit_of_the_first_message(loaded_window, qtbot, settings):
    """An automatic title follows an edit of the first message (not of a later one); one the user chose stays."""
    window = loaded_window
    settings.set(keys.MAX_TOKENS, 2)
    turn(qtbot, window, "Tomato soup recipe")
    turn(qtbot, window, "With basil?")
    chat_id = window.controller.conversation.id
    assert window.title_label.text() == "Tomato soup recipe"
    edit(qtbot, window, 2, "With cream?")
    wait_idle(qtbot, window)
    assert window.title_label.text() == "Tomato soup recipe"
    edit(qtbot, window, 0, "Pumpkin soup recipe")
    wait_idle(qtbot, window)
    assert window.title_label.text() == "Pumpkin soup recipe"
    assert window.store.conversation(chat_id).title == "Pumpkin soup recipe"
    assert window.sidebar.model.conversation(0).title == "Pumpkin soup recipe"

    window.controller.rename(chat_id, "Soups")
    edit(qtbot, window, 0, "Leek soup recipe")
    wait_idle(qtbot, window)
    assert window.title_label.text() == "Soups" and window.store.conversation(chat_id).title == "Soups"


def story_with_two_answers(app_dirs) -> tuple[int, int, int]:
    """A chat whose answer was regenerated, its first version cut short and chosen again: -> (chat id, the
    cut answer's id, the other's)."""
    store = Store(app_dirs / "data" / "chats.sqlite")
    chat = store.create_conversation("Stories")
    question = store.add_message(chat.id, "user", "Tell me a story")
    cut = store.add_message(chat.id, "assistant", "Once upon a", complete=False)
    other = store.add_message(chat.id, "assistant", "The end.", parent_id=question.id)
    store.finish_message(other.id, finish_reason="return", content="The end.")
    store.choose(cut.id)
    store.close()
    return chat.id, cut.id, other.id


def test_continue_works_on_an_older_version(make_window, qtbot, app_dirs, tiny_model_dir):
    """An interrupted first version, shown again, is continued in place; the other version is untouched."""
    chat_id, cut_id, other_id = story_with_two_answers(app_dirs)
    window = make_window(tiny_model_dir)
    window.controller.open_conversation(chat_id)
    widget = window.chat_view.message_widgets()[1]
    assert widget.versions.label.text() == "1 / 2" and widget.continue_button.isVisibleTo(widget)
    qtbot.waitUntil(lambda: window.engine.model is not None, timeout=120_000)
    qtbot.mouseClick(widget.continue_button, Qt.MouseButton.LeftButton)
    wait_idle(qtbot, window)
    continued = window.store.message(cut_id)
    assert continued.complete and continued.content.startswith("Once upon a")
    assert window.store.message(other_id).content == "The end."
    assert [m.id for m in window.store.messages(chat_id)] == [continued.parent_id, cut_id]


def test_a_switch_the_store_refuses_keeps_the_version_shown(make_window, qtbot, app_dirs):
    """On a read-only file the other version is not shown, and the notice says what failed."""
    chat_id, cut_id, _other_id = story_with_two_answers(app_dirs)
    window = make_window()
    started(qtbot, window)
    window.controller.open_conversation(chat_id)
    with read_only(window.store):
        qtbot.mouseClick(switcher(window, 1).next_button, Qt.MouseButton.LeftButton)
    assert (
        window.controller.chat_model.message(1).id == cut_id and switcher(window, 1).label.text() == "1 / 2"
    )
    assert window.notice.isVisible() and "could not switch to that version" in window.notice.text()
    qtbot.mouseClick(switcher(window, 1).next_button, Qt.MouseButton.LeftButton)  # writable again: it works
    assert switcher(window, 1).label.text() == "2 / 2"


def test_the_editor_sends_with_enter_and_opens_fully_in_view(make_window, qtbot, app_dirs):
    """In a long chat scrolled to its end, the editor of the last question opens with its buttons fully in
    view, says how to send; Shift+Enter adds a line, and Enter sends (as in the composer: with no model
    loaded the text stays in the editor, to send later)."""
    store = Store(app_dirs / "data" / "chats.sqlite")
    chat = store.create_conversation("Long")
    for number in range(3):
        store.add_message(chat.id, "user", f"Question {number}")
        store.add_message(
            chat.id, "assistant", "\n\n".join(f"Paragraph {n} of a long answer." for n in range(40))
        )
    store.close()
    window = make_window(size=(720, 480))
    started(qtbot, window)
    window.show_chat()  # from the welcome screen, as picking the chat in the sidebar does
    window.controller.open_conversation(chat.id)
    view = window.chat_view
    qtbot.waitUntil(lambda: view.verticalScrollBar().value() == view.verticalScrollBar().maximum() > 0)
    qtbot.wait(100)  # the chat opened scrolled to its end, as a user sees it before clicking Edit
    widget = view.message_widgets()[4]
    widget.start_edit()
    bubble = widget.bubble

    def in_view() -> bool:
        top_left = bubble.mapTo(view.viewport(), QPoint(0, 0))
        return view.viewport().rect().contains(QRect(top_left, bubble.size()))

    qtbot.waitUntil(in_view, timeout=5000)
    assert widget.edit_hint.isVisible() and "Shift+Enter" in widget.edit_hint.text()
    widget.editor.moveCursor(widget.editor.textCursor().MoveOperation.End)
    qtbot.keyClick(widget.editor, Qt.Key.Key_Return, Qt.KeyboardModifier.ShiftModifier)
    qtbot.keyClicks(widget.editor, "More detail, please.")
    assert widget.editing and widget.editor.toPlainText() == "Question 2\nMore detail, please."
    with qtbot.waitSignal(widget.edit_submitted) as submitted:
        qtbot.keyClick(widget.editor, Qt.Key.Key_Return)
    assert submitted.args == ["Question 2\nMore detail, please."]
    assert widget.editing and widget.editor.toPlainText() == "Question 2\nMore detail, please."


def test_the_switcher_and_editor_hint_speak_korean(qtbot):
    """With Korean installed, the version buttons, the "1 / 2" label's spoken name and the editor's hint
    are Korean."""
    from app import i18n
    from app.widgets.message_widget import MessageWidget
    from app.widgets.version_switcher import VersionSwitcher

    i18n.install("ko")
    try:
        versions = VersionSwitcher()
        qtbot.addWidget(versions)
        versions.set_versions(1, 2)
        assert versions.previous_button.accessibleName() == "이전 버전"
        assert versions.next_button.toolTip() == "다음 버전"
        assert versions.label.text() == "1 / 2" and versions.label.accessibleName() == "2개 버전 중 1번째"
        widget = MessageWidget("user")
        qtbot.addWidget(widget)
        assert widget.edit_hint.text() == "Enter로 전송, Shift+Enter로 줄바꿈"
    finally:
        i18n.install("en")
