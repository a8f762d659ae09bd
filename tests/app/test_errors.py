"""Errors are shown in plain words with what to do: bad model folders, full context, no model, bugs.

Engine errors are worded by the app in the user's language (app/engine_errors.py), the engine's English
sentence beneath; the Korean ones are checked in test_korean.py.
"""

from __future__ import annotations

import logging

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QPushButton

from app import engine_errors, logs
from app import settings as keys
from app.engine_errors import ErrorReport, report
from app.widgets.notice_bar import NoticeBar
from engine import errors
from engine.errors import ModelFilesError
from tests.app.conftest import send, wait_idle


def test_corrupt_model_folder_shows_its_error(broken_model_window):
    """A truncated shard is refused at load: what failed and what to do, the engine's message naming the shard
    beneath, and the app stays usable."""
    window, shard = broken_model_window
    assert window.notice.text() == (
        "Could not load broken-model. The model's files are missing or damaged. "
        "Verify the model in Models or download it again, or choose another folder."
    )
    detail = window.notice.engine_text
    assert detail.isVisible() and shard.name in detail.text() and "truncated or corrupt" in detail.text()
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
    assert "config.json" in window.notice.engine_text.text()


def test_context_full_is_shown_in_the_answer(loaded_window, qtbot, settings):
    """A message longer than the context ends the turn with what to do, kept with the message, the engine's
    numbers beneath."""
    window = loaded_window
    send(qtbot, window, "word " * 5000)
    wait_idle(qtbot, window)
    answer = window.controller.chat_model.message(1)
    saved = window.store.message(answer.id)
    assert saved.finish_reason == "error" and saved.complete
    assert saved.error_kind == "ContextFullError" and "tokens long but the context holds 4,096" in saved.error
    widget = window.chat_view.message_widgets()[1]
    assert widget.status_label.isVisible() and widget.status_label.text() == (
        "The conversation is longer than the model's context. "
        "Start a new conversation, or choose a longer context length in Settings."
    )
    assert widget.status_label.property("kind") == "error"
    assert widget.status_detail.isVisible() and widget.status_detail.text() == saved.error
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


def test_every_engine_error_class_is_worded():
    """The app words every kind of error the engine raises, beyond EngineError itself."""
    kinds = {
        name
        for name, value in vars(errors).items()
        if isinstance(value, type) and issubclass(value, errors.EngineError)
    }
    assert set(engine_errors.KINDS) == kinds - {"EngineError"}


@pytest.mark.parametrize("kind", engine_errors.KINDS)
def test_every_engine_error_has_a_headline_and_what_to_do(kind):
    """Each kind of engine error is worded by the app (two sentences: what went wrong, what to do), and the
    engine's English sentence is kept as the detail, with no traceback."""
    error = report(getattr(errors, kind)("engine.safetensors is 12 bytes short."), "generic")
    assert error == ErrorReport(kind, "engine.safetensors is 12 bytes short.")
    text, detail = engine_errors.shown(error)
    assert text.count(". ") >= 1 and text.endswith(".") and "generic" not in text
    assert detail == "engine.safetensors is 12 bytes short."


def test_an_engine_error_without_its_own_words_keeps_the_lead_and_the_engine_sentence():
    """A plain EngineError (or a kind added later) says what failed, its sentence what to do."""
    error = report(errors.EngineError("'tpu' is not a device name; use cpu, cuda or cuda:N."), "generic")
    assert engine_errors.shown(error, "Could not load m.") == ("Could not load m.", error.message)
    assert engine_errors.shown(error) == ("Gossamer could not do that.", error.message)


def test_unexpected_errors_get_a_plain_message_details_and_the_log(tmp_path):
    """Anything else: a generic sentence, the traceback as details, and where the log file is."""
    try:
        raise KeyError("rope_theta")
    except KeyError as error:
        failure = report(error, "The model could not be loaded.")
    assert failure.kind == ""
    assert failure.message.startswith("The model could not be loaded. This looks like a bug in Gossamer.")
    assert "Traceback" in failure.traceback and "KeyError: 'rope_theta'" in failure.traceback
    assert str(logs.log_file()) in failure.traceback
    assert engine_errors.shown(failure, "Could not load m.") == ("Could not load m. " + failure.message, "")


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


@pytest.mark.parametrize(
    ("screen", "task", "error", "expected"),
    [
        (
            "welcome",
            "download",
            errors.DownloadError("The disk is full: writing model.safetensors failed. Free some space."),
            (
                "Could not download gpt-oss-20b. The model's files could not be downloaded or copied. "
                "Check the internet connection and the free disk space, then try again: a download goes on "
                "where it stopped."
            ),
        ),
        (
            "manager",
            "verify",
            errors.VerificationError("gpt-oss-20b: model.safetensors does not match the recorded sha256."),
            (
                "Could not verify gpt-oss-20b. Some of the model's files are not what was published. "
                "Download the model again to replace them, or import it again from a good copy."
            ),
        ),
    ],
)
def test_model_manager_errors_say_what_failed_and_what_to_do(
    make_window, qtbot, screen, task, error, expected
):
    """A failed download or verify names the task and the model, says what to do, and keeps the engine's
    sentence beneath."""
    window = make_window()
    notice = window.welcome.notice if screen == "welcome" else window.open_model_manager().notice
    if screen == "welcome":
        window.show_welcome()
    window.models.worker.task_failed.emit(task, "gpt-oss-20b", report(error, "generic"))
    qtbot.waitUntil(notice.isVisible, timeout=5000)
    assert notice.kind == "error" and notice.text() == expected
    assert notice.engine_text.text() == str(error) and not notice.details_button.isVisible()
