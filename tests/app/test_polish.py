"""The rough edges a new user met: the status line while a message waits for the model, the meters, what is
drawn (dropdowns, arrows, icons, the rename box, Thinking, the composer at the minimum size), the keyboard,
and numbers in the user's regional format."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from PySide6.QtCore import QLocale, Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QApplication, QComboBox, QDialogButtonBox, QLineEdit

from app import formatting, i18n
from app import settings as keys
from app.widgets.message_widget import MessageWidget
from tests.app.conftest import send, wait_idle, wait_loaded
from tests.app.test_conversations import seed

ROOT = Path(__file__).resolve().parents[2]


def context_used(text: str) -> int:
    return int(re.sub(r"\D", "", text.split("/")[0]))


def test_a_message_sent_while_loading_is_said_to_be_queued(make_window, qtbot, tiny_model_dir, settings):
    """A message sent while the model loads: the status line says it is loading and the message queued,
    with the busy bar, and the answer then comes."""
    window = make_window()
    window.load_model(str(tiny_model_dir))
    assert window.engine.loading
    send(qtbot, window, "Hello there")
    state = window.status.state_label.text()
    assert state.startswith("Loading gpt-oss-tiny…") and "queued" in state
    assert window.status.busy.isVisibleTo(window.status)
    wait_loaded(qtbot, window)
    wait_idle(qtbot, window)
    assert window.status.state_label.text() == "Ready" and not window.status.busy.isVisibleTo(window.status)
    answer = window.store.messages(window.controller.conversation.id)[1]
    assert answer.complete and answer.finish_reason in ("return", "length")


def test_the_context_meter_moves_while_the_answer_streams(loaded_window, qtbot, settings):
    """The context meter counts the prompt and each batch of tokens as they arrive, not only at the end."""
    window = loaded_window
    settings.set(keys.MAX_TOKENS, 48)
    seen: list[str] = []
    # Read on the GUI thread as the answer's text grows (a lambda on the worker's signal would run on its thread).
    model = window.controller.chat_model

    def record(*_args) -> None:
        answer = model.message(model.rowCount() - 1)
        if answer.role == "assistant" and (answer.content or answer.reasoning):
            seen.append(window.status.context_label.text())

    model.dataChanged.connect(record)
    send(qtbot, window, "Count to twenty.")
    wait_idle(qtbot, window)
    assert seen, "no text arrived"
    used = [context_used(text) for text in seen]
    assert used[0] > 0 and used == sorted(used), seen
    final = window.store.messages(window.controller.conversation.id)[1].usage["context_used"]
    assert used[-1] <= final
    assert window.status.context_label.text().endswith(" / 4,096")


def test_a_new_chat_shows_no_speed_of_the_last(loaded_window, qtbot):
    """After an answer the speed shows; a new, empty chat shows none; the old chat shows its own again."""
    window = loaded_window
    send(qtbot, window, "Hi")
    wait_idle(qtbot, window)
    assert "tok/s" in window.status.speed_label.text()
    first = window.controller.conversation.id
    window.new_chat()
    assert window.status.speed_label.text() == ""
    window.controller.open_conversation(first)
    assert "tok/s" in window.status.speed_label.text()


def test_reasoning_dropdown_shows_every_item(make_window, qtbot):
    """The Reasoning list shows Low, Medium and High without scrolling."""
    window = make_window()
    box = window.composer.effort
    box.showPopup()
    view = box.view()
    qtbot.waitUntil(view.isVisible, timeout=5000)
    viewport = view.viewport().rect()
    for row in range(box.count()):
        assert viewport.contains(view.visualRect(box.model().index(row, 0))), box.itemText(row)
    assert view.verticalScrollBar().maximum() == 0
    box.hidePopup()


def _arrow_pixels(box: QComboBox) -> int:
    """Pixels in the drop-down button's area that differ clearly from the box's background."""
    image = box.grab().toImage()
    background = QColor(image.pixel(image.width() // 2, 3))
    count = 0
    for x in range(image.width() - 22, image.width() - 4):
        for y in range(4, image.height() - 4):
            color = QColor(image.pixel(x, y))
            if abs(color.lightness() - background.lightness()) > 40:
                count += 1
    return count


def test_every_dropdown_draws_an_arrow(make_window, qtbot):
    """Every combo box (Reasoning, and Settings' Device, Context length, Theme, Language) draws its arrow."""
    window = make_window()
    window.show_chat()
    dialog = window.open_settings()
    boxes = [window.composer.effort, dialog.device, dialog.context, dialog.theme, dialog.language]
    for box in boxes:
        box.resize(box.sizeHint())  # the ones on tabs not shown have no size of their own yet
        assert _arrow_pixels(box) > 6, box.objectName() or box.currentText()
    dialog.reject()


def test_settings_without_a_gpu(make_window, qtbot):
    """On a computer without a CUDA GPU the VRAM budget cannot be changed and its tooltip says why; OK and
    Cancel carry no stock icons, and the Models window's Close neither."""
    import torch

    window = make_window()
    qtbot.waitUntil(
        lambda: window.models.listing is not None and window.models.listing.gpu is not None, timeout=60_000
    )
    dialog = window.open_settings()
    if torch.cuda.is_available():
        assert dialog.vram.isEnabled()
    else:
        assert not dialog.vram.isEnabled() and "No CUDA GPU" in dialog.vram.toolTip()
    for button in dialog.findChild(QDialogButtonBox).buttons():
        assert button.icon().isNull(), button.text()
    dialog.reject()
    manager = window.open_model_manager()
    for box in manager.findChildren(QDialogButtonBox):
        assert all(button.icon().isNull() for button in box.buttons())


def test_switching_chats_never_draws_two(make_window, qtbot, app_dirs):
    """Opening another chat takes the old messages off the page at once (a right-click's menu runs its own
    event loop, where deferred deletes wait)."""
    first, second = seed(app_dirs / "data" / "chats.sqlite", [("One", "a"), ("Two", "b")])
    window = make_window()
    window.show_chat()
    window.controller.open_conversation(first)
    QApplication.processEvents()
    old = window.chat_view.message_widgets()
    assert len(old) == 2 and all(w.isVisibleTo(window) for w in old)
    window.controller.open_conversation(second)
    shown = [w for w in window.chat_view.column.findChildren(MessageWidget) if w.isVisibleTo(window)]
    assert not [w for w in shown if w not in window.chat_view.message_widgets()]


def test_rename_box_is_not_clipped(make_window, qtbot, app_dirs):
    """The sidebar's rename box is tall enough for its text, and a name typed into it when the window
    closes is kept."""
    (first,) = seed(app_dirs / "data" / "chats.sqlite", [("A title to rename", "a")])
    window = make_window()
    window.sidebar.rename(first)
    editor = window.sidebar.list.findChild(QLineEdit)
    qtbot.waitUntil(lambda: editor is not None and editor.isVisible(), timeout=5000)
    assert editor.contentsRect().height() >= editor.fontMetrics().height()
    editor.setText("Renamed as the window closed")
    window.close()  # what was typed is kept
    from app.store import Store

    store = Store(app_dirs / "data" / "chats.sqlite")
    assert store.conversation(first).title == "Renamed as the window closed"
    store.close()


def test_opening_thinking_keeps_it_under_the_mouse(make_window, qtbot, app_dirs):
    """Opening Thinking does not scroll the view: its header stays where it was clicked."""
    (first,) = seed(app_dirs / "data" / "chats.sqlite", [("Thoughts", "a")])
    window = make_window()
    window.controller.open_conversation(first)
    window.show_chat()
    answer = window.chat_view.message_widgets()[1]
    header = answer.thinking.header
    qtbot.waitUntil(header.isVisible, timeout=5000)
    answer.thinking.set_text("A long line of reasoning. " * 120)
    QApplication.processEvents()
    window.chat_view.scroll_to_bottom()
    QApplication.processEvents()
    before = header.mapTo(window, header.rect().topLeft()).y()
    qtbot.mouseClick(header, Qt.MouseButton.LeftButton)
    for _ in range(5):
        QApplication.processEvents()
    assert answer.thinking.expanded
    assert header.mapTo(window, header.rect().topLeft()).y() == before


def test_composer_placeholder_fits_at_the_minimum_size(make_window, qtbot):
    """At 720x480 the composer's placeholder fits on its line instead of wrapping out of sight."""
    window = make_window(size=(720, 480))
    window.show_chat()
    edit = window.composer.edit
    qtbot.waitUntil(lambda: window.width() <= 760, timeout=5000)
    QApplication.processEvents()
    assert edit.fontMetrics().horizontalAdvance(edit.placeholderText()) <= edit.viewport().width()
    window.resize(1400, 800)
    qtbot.waitUntil(lambda: "Shift+Enter" in edit.placeholderText(), timeout=5000)


def test_tab_goes_from_reasoning_to_send(make_window, qtbot):
    """Tab goes from the text box to Reasoning and on to Send, and from the sidebar's Settings to the
    model picker; each shows a focus ring."""
    window = make_window()
    window.show_chat()
    composer = window.composer
    composer.edit.setFocus()
    composer.set_text("hello")
    qtbot.keyClick(composer.edit, Qt.Key.Key_Tab)
    assert composer.effort.hasFocus()
    qtbot.keyClick(composer.effort, Qt.Key.Key_Tab)
    assert composer.send_button.hasFocus()
    window.sidebar.settings_button.setFocus()
    qtbot.keyClick(window.sidebar.settings_button, Qt.Key.Key_Tab)
    assert window.model_button.hasFocus()
    ring = window.model_button.grab().toImage()
    accent = QColor("#5046e5")
    assert any(QColor(ring.pixel(x, ring.height() // 2)) == accent for x in range(3))


def test_escape_clears_the_search(make_window, qtbot, app_dirs):
    """Esc in the search box clears it and lists every chat again."""
    seed(app_dirs / "data" / "chats.sqlite", [("Apples", "a"), ("Pears", "b")])
    window = make_window()
    search = window.sidebar.search
    search.setFocus()
    qtbot.keyClicks(search, "Apples")
    qtbot.waitUntil(lambda: window.sidebar.model.rowCount() == 1, timeout=5000)
    qtbot.keyClick(search, Qt.Key.Key_Escape)
    assert search.text() == ""
    assert window.sidebar.model.rowCount() == 2


def test_undo_puts_focus_in_the_composer(make_window, qtbot, app_dirs):
    """After Undo of a deletion the chat is back and the cursor is in the composer."""
    (first,) = seed(app_dirs / "data" / "chats.sqlite", [("Keep me", "a")])
    window = make_window()
    window.delete_conversation(first)
    undo = next(
        b for b in window.notice.findChildren(type(window.composer.send_button)) if b.text() == "Undo"
    )
    qtbot.mouseClick(undo, Qt.MouseButton.LeftButton)
    assert window.store.conversation(first).deleted_at is None
    assert window.composer.edit.hasFocus()


def test_numbers_use_the_locale_grouping(qapp):
    """Counts are grouped the locale's way in English and Korean, in plural forms too."""
    from PySide6.QtCore import QCoreApplication

    for language, tokens in (("en", "16,384 tokens"), ("ko", "16,384토큰")):
        i18n.install(language)
        QLocale.setDefault(QLocale(QLocale.Language.English if language == "en" else QLocale.Language.Korean))
        assert formatting.count(16384) == "16,384"
        assert QCoreApplication.translate("ThinkingSection", "%n tokens", "", 16384) == tokens
    i18n.install("en")


def test_a_c_locale_still_groups_numbers(tmp_path):
    """With LANG=C (no regional formats) numbers read as in English, 16,384, not 16384."""
    code = (
        "from PySide6.QtCore import QCoreApplication; app = QCoreApplication([]);"
        "from app import i18n, formatting; i18n.install('en'); print(formatting.count(16384))"
    )
    env = {**os.environ, "LANG": "C", "LC_ALL": "C", "PYTHONPATH": str(ROOT), "QT_QPA_PLATFORM": "offscreen"}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env)
    assert result.stdout.strip() == "16,384"


def test_qt_dialogs_are_korean(qapp):
    """With Korean chosen, Qt's own file dialog words are Korean, the ones qtbase_ko lacks included."""
    from PySide6.QtCore import QCoreApplication

    i18n.install("ko")
    try:
        assert QCoreApplication.translate("QFileDialog", "Detail View") == "자세히 보기"
        assert QCoreApplication.translate("QFileDialog", "&Look in:") == "다음에서 찾기(&L):"
        assert QCoreApplication.translate("QPlatformTheme", "Cancel") == "취소"
    finally:
        i18n.install("en")
