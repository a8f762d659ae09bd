"""The sidebar and conversation actions: new chat, search, rename, delete with undo, export, shortcuts."""

from __future__ import annotations

import json

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QPushButton

from app import settings as keys
from app.chat_controller import make_title
from app.store import Store
from tests.app.conftest import cut_short_chat


def seed(path, titles_and_text):
    store = Store(path)
    ids = []
    for title, text in titles_and_text:
        conversation = store.create_conversation(title, settings={"effort": "medium"})
        store.add_message(conversation.id, "user", text)
        answer = store.add_message(conversation.id, "assistant", complete=False)
        store.finish_message(
            answer.id,
            finish_reason="return",
            content=f"About {text}: here is some `code`.",
            reasoning="Think first.",
            usage={"completion_tokens": 9, "reasoning_tokens": 2},
        )
        ids.append(conversation.id)
    store.close()
    return ids


def test_sidebar_lists_opens_and_searches(make_window, qtbot, app_dirs):
    """Conversations are listed newest first; clicking one opens it; search matches titles and text."""
    seed(
        app_dirs / "data" / "chats.sqlite",
        [("Pasta", "how long to boil"), ("Rust", "borrow checker"), ("여행", "제주도 일정")],
    )
    window = make_window()
    sidebar = window.sidebar
    assert [sidebar.model.conversation(r).title for r in range(sidebar.model.rowCount())] == [
        "여행",
        "Rust",
        "Pasta",
    ]
    index = sidebar.model.index(2, 0)
    rect = sidebar.list.visualRect(index)
    qtbot.mouseClick(sidebar.list.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert window.controller.conversation.title == "Pasta"
    assert window.title_label.text() == "Pasta"
    widgets = window.chat_view.message_widgets()
    assert widgets[0].text.toPlainText() == "how long to boil"
    assert "code" in widgets[1].answer.text() and widgets[1].thinking.isVisibleTo(widgets[1])

    qtbot.keyClick(window, Qt.Key.Key_F, Qt.KeyboardModifier.ControlModifier)
    assert sidebar.search.hasFocus()
    qtbot.keyClicks(sidebar.search, "borrow")
    qtbot.waitUntil(lambda: sidebar.model.rowCount() == 1, timeout=3000)
    assert sidebar.model.conversation(0).title == "Rust"
    sidebar.search.setText("제주")
    qtbot.waitUntil(
        lambda: sidebar.model.rowCount() == 1 and sidebar.model.conversation(0).title == "여행", timeout=3000
    )
    sidebar.search.setText("nothing like this")
    qtbot.waitUntil(lambda: sidebar.model.rowCount() == 0, timeout=3000)
    assert sidebar.no_results.isVisibleTo(sidebar)
    sidebar.search.clear()
    qtbot.waitUntil(lambda: sidebar.model.rowCount() == 3, timeout=3000)


def test_new_chat_shortcut(make_window, qtbot, app_dirs):
    """Ctrl+N empties the view; nothing is saved until a message is sent."""
    seed(app_dirs / "data" / "chats.sqlite", [("Old", "old text")])
    window = make_window()
    window.controller.open_conversation(window.sidebar.model.conversation(0).id)
    qtbot.keyClick(window, Qt.Key.Key_N, Qt.KeyboardModifier.ControlModifier)
    assert window.controller.conversation is None
    assert window.controller.chat_model.rowCount() == 0
    assert window.title_label.text() == "New chat"
    assert window.chat_view.empty_label.isVisibleTo(window.chat_view)
    assert len(window.store.conversations()) == 1


def test_rename_in_place(make_window, qtbot, app_dirs):
    """Renaming edits the title in the list; it is saved and shown in the header."""
    (conversation_id,) = seed(app_dirs / "data" / "chats.sqlite", [("Draft", "text")])
    window = make_window()
    window.controller.open_conversation(conversation_id)
    index = window.sidebar.model.index(0, 0)
    assert window.sidebar.model.setData(index, "Final title")
    assert window.store.conversation(conversation_id).title == "Final title"
    assert window.title_label.text() == "Final title"
    assert not window.store.conversation(conversation_id).title_is_auto


def test_delete_then_undo(make_window, qtbot, app_dirs):
    """Delete hides the conversation at once and offers Undo; Undo brings it back; closing purges the rest."""
    first, second = seed(app_dirs / "data" / "chats.sqlite", [("Keep", "a"), ("Bin", "b")])
    window = make_window()
    window.controller.open_conversation(second)
    window.delete_conversation(second)
    assert [c.title for c in window.store.conversations()] == ["Keep"]
    assert window.controller.conversation is None
    assert window.notice.isVisible() and window.notice.text() == "Deleted “Bin”."
    undo = window.notice.findChild(QPushButton, "NoticeAction")
    assert undo.text() == "Undo"
    qtbot.mouseClick(undo, Qt.MouseButton.LeftButton)
    assert {c.title for c in window.store.conversations()} == {"Keep", "Bin"}
    assert window.controller.conversation.id == second

    window.delete_conversation(first)
    path = window.store.path
    window.close()
    store = Store(path)
    assert store.conversation(first) is None  # purged on close
    assert store.conversation(second) is not None
    store.close()


def test_export_markdown_and_json(make_window, qtbot, app_dirs, tmp_path):
    """Export writes the conversation as Markdown and as JSON."""
    (conversation_id,) = seed(app_dirs / "data" / "chats.sqlite", [("Exported", "질문")])
    window = make_window()
    markdown = window.export_conversation(conversation_id, "markdown", str(tmp_path / "chat.md"))
    text = (tmp_path / "chat.md").read_text(encoding="utf-8")
    assert markdown and text.startswith("# Exported\n") and "## You\n\n질문" in text
    window.export_conversation(conversation_id, "json", str(tmp_path / "chat.json"))
    document = json.loads((tmp_path / "chat.json").read_text(encoding="utf-8"))
    assert [m["role"] for m in document["messages"]] == ["user", "assistant"]
    assert document["messages"][1]["reasoning"] == "Think first."
    assert "Exported to" in window.notice.text()


def test_copy_message_and_code(make_window, qtbot, app_dirs):
    """Copy puts a message's text, or a code block's code, on the clipboard."""
    store = Store(app_dirs / "data" / "chats.sqlite")
    conversation = store.create_conversation("Code")
    store.add_message(conversation.id, "user", "Show code")
    store.add_message(conversation.id, "assistant", "Here:\n\n```python\nprint('hi')\n```\n\nDone.")
    store.close()
    window = make_window()
    window.controller.open_conversation(conversation.id)
    answer = window.chat_view.message_widgets()[1]
    qtbot.mouseClick(answer.copy_button, Qt.MouseButton.LeftButton)
    assert QApplication.clipboard().text() == "Here:\n\n```python\nprint('hi')\n```\n\nDone."
    assert answer.copy_button.text() == "Copied"
    code = answer.answer.blocks()[1]
    assert code.language_label.text() == "python"
    qtbot.mouseClick(code.copy_button, Qt.MouseButton.LeftButton)
    assert QApplication.clipboard().text() == "print('hi')"


def test_interrupted_answer_offers_regenerate(make_window, qtbot, app_dirs, tiny_model_dir):
    """An answer left incomplete (the app was killed) shows as interrupted, and Regenerate answers anew."""
    conversation_id, cut_id = cut_short_chat(app_dirs)
    window = make_window(tiny_model_dir)
    window.controller.open_conversation(conversation_id)
    widget = window.chat_view.message_widgets()[1]
    assert widget.status_label.text().startswith("Interrupted")
    assert widget.answer.text() == "Once upon a"
    assert widget.regenerate_button.isVisibleTo(widget)
    qtbot.waitUntil(lambda: window.engine.model is not None, timeout=120_000)
    window.settings.set(keys.MAX_TOKENS, 4)
    qtbot.mouseClick(widget.regenerate_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not window.controller.busy, timeout=120_000)
    messages = window.store.messages(conversation_id)
    assert len(messages) == 2 and messages[1].complete and messages[1].id != cut_id


def test_auto_title():
    """Titles come from the first line of the first message, cut at a word."""
    assert make_title("  # Hello there\nmore") == "Hello there"
    long = "Please explain how the attention sinks in gpt-oss change the softmax denominator"
    title = make_title(long)
    assert title.endswith("…") and len(title) <= 49 and long.startswith(title[:-1])


def test_keyboard(make_window, qtbot):
    """Shift+Enter adds a line; Ctrl+, opens Settings; every control a screen reader meets has a name."""
    from app.widgets.settings_dialog import SettingsDialog

    window = make_window()
    edit = window.composer.edit
    edit.setFocus()
    qtbot.keyClicks(edit, "first line")
    qtbot.keyClick(edit, Qt.Key.Key_Return, Qt.KeyboardModifier.ShiftModifier)
    qtbot.keyClicks(edit, "second line")
    assert window.composer.text() == "first line\nsecond line"
    assert window.composer.send_button.isEnabled()
    qtbot.keyClick(window, Qt.Key.Key_Comma, Qt.KeyboardModifier.ControlModifier)
    dialogs = [w for w in QApplication.topLevelWidgets() if isinstance(w, SettingsDialog) and w.isVisible()]
    assert len(dialogs) == 1
    dialogs[0].reject()
    for widget in (
        edit,
        window.composer.effort,
        window.composer.send_button,
        window.sidebar.search,
        window.sidebar.list,
        window.sidebar.new_button,
        window.model_button,
        window.chat_view,
    ):
        assert widget.accessibleName(), widget.objectName()


def test_past_chats_are_readable_without_a_model(make_window, qtbot, app_dirs):
    """With no model the welcome screen shows; picking a past chat in the sidebar shows that chat, and a
    deletion's Undo is on screen."""
    first, second = seed(app_dirs / "data" / "chats.sqlite", [("Old talk", "hello"), ("Other", "b")])
    window = make_window()
    qtbot.waitUntil(lambda: window.stack.currentWidget() is window.welcome, timeout=10000)
    window.sidebar.conversation_selected.emit(first)
    assert window.stack.currentWidget() is window.chat_page
    assert window.controller.conversation.id == first
    window.show_welcome()
    window.delete_conversation(second)
    assert window.stack.currentWidget() is window.chat_page and window.notice.isVisible()
