"""Crash safety: killed mid-answer, the app keeps the message and all but the last second of the answer."""

from __future__ import annotations

import os
import queue
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

from app.store import Store

ROOT = Path(__file__).resolve().parents[2]

# The app's real chat path without widgets: store, engine thread, controller; it prints what has streamed.
CHILD = """
import sys, time
from PySide6.QtCore import QCoreApplication, QTimer
app = QCoreApplication(sys.argv[:1])
from app import settings as keys
keys.configure()
settings = keys.Settings()
settings.set(keys.MAX_TOKENS, 100000)
from app.chat_controller import ChatController
from app.engine_client import EngineClient
from app.store import Store
store = Store()
engine = EngineClient()
controller = ChatController(store, engine, settings)
engine.load(sys.argv[1], "cpu", None, 4096)
def streamed(top, bottom, roles):
    message = controller.chat_model.message(top.row())
    print("streamed", time.monotonic(), len(message.content) + len(message.reasoning), flush=True)
controller.chat_model.dataChanged.connect(streamed)
def poll():
    if engine.model is not None and controller.conversation is None:
        controller.send("Tell me everything you know.")
        print("sent", time.monotonic(), flush=True)
timer = QTimer(interval=20)
timer.timeout.connect(poll)
timer.start()
app.exec()
"""


def test_kill_mid_answer_keeps_the_message_and_the_partial_answer(
    app_dirs, tiny_model_dir, make_window, qtbot
):
    """SIGKILL during an answer: the user's message is there, the answer up to its last save (at most about
    a second behind) is there, marked incomplete, and the next window shows it as interrupted."""
    env = {
        **os.environ,
        "GOSSAMER_DATA_DIR": str(app_dirs / "data"),
        "GOSSAMER_CONFIG_DIR": str(app_dirs / "config"),
        "PYTHONPATH": str(ROOT),
        "QT_QPA_PLATFORM": "offscreen",
    }
    errors = (app_dirs / "child.err").open("w")
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(tiny_model_dir)],
        env=env,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=errors,
        text=True,
    )
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in child.stdout], daemon=True).start()
    database = app_dirs / "data" / "chats.sqlite"
    streamed: list[tuple[float, int]] = []
    first_text_at = None
    try:
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline:
            try:
                line = lines.get(timeout=1)
            except queue.Empty:
                if child.poll() is not None:
                    raise AssertionError(
                        "the child ended early: " + (app_dirs / "child.err").read_text()
                    ) from None
                continue
            if line.startswith("streamed"):
                _, at, length = line.split()
                streamed.append((float(at), int(length)))
                if int(length) > 0 and first_text_at is None:
                    first_text_at = float(at)
                if first_text_at is not None and float(at) - first_text_at > 2.5:
                    break  # several saves have happened; now kill it between two of them
        else:
            raise AssertionError("no answer streamed in time: " + (app_dirs / "child.err").read_text())
        killed_at = time.monotonic()
        os.kill(child.pid, signal.SIGKILL)
        child.wait(30)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait(30)
        errors.close()
    assert child.returncode == -signal.SIGKILL

    with sqlite3.connect(database) as raw:  # the WAL is replayed by the next reader
        assert raw.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    store = Store(database)
    (conversation,) = store.conversations()
    user, answer = store.messages(conversation.id)
    assert (user.role, user.content, user.complete) == ("user", "Tell me everything you know.", True)
    assert answer.role == "assistant" and not answer.complete and answer.finish_reason is None
    saved = len(answer.content) + len(answer.reasoning)
    assert saved > 0
    # Everything that had streamed a second before the kill was on disk.
    streamed_before = max((length for at, length in streamed if at <= killed_at - 1.0), default=0)
    assert saved >= streamed_before, (saved, streamed_before)
    store.close()

    window = make_window()
    window.controller.open_conversation(conversation.id)
    widget = window.chat_view.message_widgets()[1]
    assert widget.status_label.text().startswith("Interrupted")
    assert widget.answer.text() == answer.content
    assert widget.regenerate_button.isVisibleTo(widget)
