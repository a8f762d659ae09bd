"""Errors are shown in plain words with what to do: bad model folders, full context, no model, bugs."""

from __future__ import annotations

import logging
import shutil

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QPushButton

from app import logs
from app import settings as keys
from app.widgets.notice_bar import NoticeBar
from app.worker import _explain
from engine.errors import ContextFullError, ModelFilesError
from tests.app.conftest import send, wait_idle


def test_corrupt_model_folder_shows_its_error(make_window, qtbot, tiny_model_dir, tmp_path):
    """A truncated shard is refused at load with the engine's message, and the app stays usable."""
    broken = tmp_path / "broken-model"
    shutil.copytree(tiny_model_dir, broken)
    shard = sorted(broken.glob("model-*.safetensors"))[-1]
    shard.write_bytes(shard.read_bytes()[: shard.stat().st_size // 2])
    window = make_window(broken)
    qtbot.waitUntil(lambda: window.notice.isVisible() and window.notice.kind == "error", timeout=120_000)
    text = window.notice.text()
    assert text.startswith("Could not load broken-model.")
    assert shard.name in text and "truncated or corrupt" in text and "re-download" in text
    assert not window.notice.details_button.isVisible()  # an EngineError needs no traceback
    assert window.engine.model is None
    assert window.status.state_label.text() == "No model loaded"
    assert "No model" in window.model_button.text()
    assert window.settings.get(keys.MODEL_PATH) == ""  # a broken folder is not remembered
    # The notice offers the way out: choose another model.
    button = window.notice.findChild(QPushButton, "NoticeAction")
    assert button is not None and button.text() == "Choose a model…"


def test_not_a_model_folder(make_window, qtbot, tmp_path):
    """A folder without a checkpoint says what was expected."""
    empty = tmp_path / "photos"
    empty.mkdir()
    window = make_window(empty)
    qtbot.waitUntil(lambda: window.notice.isVisible(), timeout=120_000)
    assert "config.json" in window.notice.text()


def test_context_full_is_shown_in_the_answer(loaded_window, qtbot, settings):
    """A message longer than the context ends the turn with the engine's advice, kept with the message."""
    window = loaded_window
    send(qtbot, window, "word " * 5000)
    wait_idle(qtbot, window)
    answer = window.controller.chat_model.message(1)
    saved = window.store.message(answer.id)
    assert saved.finish_reason == "error" and saved.complete
    assert "context" in saved.error and "Settings" in saved.error
    widget = window.chat_view.message_widgets()[1]
    assert widget.status_label.isVisible() and widget.status_label.text() == saved.error
    assert widget.status_label.property("kind") == "error"
    assert widget.regenerate_button.isVisible()


def test_sending_without_a_model_keeps_the_text(make_window, qtbot, tmp_path):
    """With no model loaded or loading, Send says so, offers Models, and keeps what was typed."""
    window = make_window()
    qtbot.waitUntil(lambda: window._started and not window.engine.loading, timeout=60_000)
    qtbot.waitUntil(lambda: window.stack.currentWidget() is window.welcome, timeout=60_000)
    window.show_chat()
    send(qtbot, window, "Hello?")
    assert window.notice.isVisible() and "No model is loaded" in window.notice.text()
    assert window.composer.text() == "Hello?"
    assert window.store.conversations() == []


def test_engine_errors_speak_for_themselves():
    """An EngineError's message is shown as is, with no details to expand."""
    error = ContextFullError("The conversation is too long. Start a new conversation.")
    assert _explain(error, "generic") == ("The conversation is too long. Start a new conversation.", "")


def test_unexpected_errors_get_a_plain_message_details_and_the_log(tmp_path):
    """Anything else: a generic sentence, the traceback as details, and where the log file is."""
    try:
        raise KeyError("rope_theta")
    except KeyError as error:
        message, details = _explain(error, "The model could not be loaded.")
    assert message.startswith("The model could not be loaded. This looks like a bug in Gossamer.")
    assert "Traceback" in details and "KeyError: 'rope_theta'" in details
    assert str(logs.log_file()) in details


def test_notice_bar_details_expander(qtbot):
    """Details stay folded until asked for; actions report their key."""
    bar = NoticeBar()
    qtbot.addWidget(bar)
    bar.show()
    bar.show_notice("It broke.", kind="error", details="Traceback ...", actions=[("retry", "Try again")])
    assert bar.details_button.isVisible() and not bar.details.isVisible()
    qtbot.mouseClick(bar.details_button, Qt.MouseButton.LeftButton)
    assert bar.details.isVisible() and bar.details.toPlainText() == "Traceback ..."
    with qtbot.waitSignal(bar.action_triggered) as triggered:
        qtbot.mouseClick(bar.findChild(QPushButton, "NoticeAction"), Qt.MouseButton.LeftButton)
    assert triggered.args == ["retry"]


def test_log_file_is_under_user_data_dir(app_dirs, monkeypatch):
    """Errors are written to user_data_dir()/logs/gossamer.log, tracebacks included."""
    monkeypatch.setattr(logs, "_configured", False)
    monkeypatch.setattr("sys.excepthook", __import__("sys").excepthook)
    root = logging.getLogger()
    before = list(root.handlers)
    try:
        path = logs.setup()
        assert path == app_dirs / "data" / "logs" / "gossamer.log"
        try:
            raise ModelFilesError("shard gone")
        except ModelFilesError:
            logging.getLogger("test").exception("load failed")
        for handler in root.handlers:
            handler.flush()
        text = path.read_text(encoding="utf-8")
        assert "load failed" in text and "ModelFilesError: shard gone" in text
    finally:
        for handler in root.handlers[:]:
            if handler not in before:
                root.removeHandler(handler)
                handler.close()
