"""The app and a model's bytes: changed files hashed again (with progress) before a load, a corrupt one
refused in words, an outside folder called unverified once, and Verify offered after invalid logits."""

from __future__ import annotations

import os

import pytest
from PySide6.QtWidgets import QPushButton

from app.engine_errors import ErrorReport
from engine.hub import DownloadProgress, ModelStore
from tests.app.conftest import wait_loaded

LOAD_MS = 120_000


@pytest.fixture
def library_model(app_dirs, tiny_model_dir):
    """The tiny model imported (copied) into this test's models folder: (store, LocalModel)."""
    store = ModelStore(app_dirs / "data" / "models")
    return store, store.import_folder(tiny_model_dir, "tiny")


def shard_of(model):
    return max(model.path.glob("model-*.safetensors"))


def test_a_touched_model_is_hashed_again_with_progress_then_loads(make_window, qtbot, library_model):
    store, model = library_model
    shard = shard_of(model)
    info = shard.stat()
    os.utime(shard, ns=(info.st_atime_ns, info.st_mtime_ns + 3_000_000_000))
    window = make_window(None)
    seen = []
    window.engine.worker.model_checking.connect(seen.append)
    window.load_model(str(model.path))
    wait_loaded(qtbot, window)
    assert seen and seen[-1].file == shard.name and seen[-1].bytes_done == seen[-1].bytes_total
    assert store.get("tiny").status == "verified"
    assert not window.notice.isVisible()  # a library model: no "unverified" note


def test_the_status_line_shows_the_rehash(make_window):
    window = make_window(None)
    checks = window.model_checks
    checks.progress = DownloadProgress("tiny", "verify", "model-00001.safetensors", 25, 100, 0.0, None, 0, 1)
    assert checks.status_text("tiny") == "Checking tiny's changed files… 25%"
    checks.progress = None
    assert checks.status_text("tiny") is None


def test_a_changed_byte_refuses_the_load_and_says_what_to_do(make_window, qtbot, library_model):
    store, model = library_model
    shard = shard_of(model)
    with open(shard, "r+b") as f:
        f.seek(-1, os.SEEK_END)
        byte = f.read(1)[0]
        f.seek(-1, os.SEEK_END)
        f.write(bytes([byte ^ 0xFF]))
    window = make_window(model.path)
    qtbot.waitUntil(lambda: window.notice.isVisible() and window.notice.kind == "error", timeout=LOAD_MS)
    assert window.notice.text().startswith("Could not load tiny. Some of the model's files are not what")
    detail = window.notice.engine_text.text()
    assert "tiny is corrupt" in detail and shard.name in detail and "Import it again" in detail
    assert window.engine.model is None and store.get("tiny").status == "corrupt"


def test_an_outside_folder_is_called_unverified_once(make_window, qtbot, tiny_model_dir):
    window = make_window(tiny_model_dir)
    wait_loaded(qtbot, window)
    qtbot.waitUntil(lambda: window.notice.isVisible(), timeout=5000)
    assert "not in the models folder" in window.notice.text() and window.notice.kind == "info"
    window.notice.dismiss()
    window.load_model(str(tiny_model_dir))
    wait_loaded(qtbot, window)
    qtbot.wait(200)
    assert not window.notice.isVisible()


def test_invalid_logits_offer_to_verify_the_loaded_model(make_window, qtbot, library_model):
    """A turn that ends in NonFiniteLogitsError is worded, with Verify, which hashes the loaded model."""
    store, model = library_model
    window = make_window(model.path)
    wait_loaded(qtbot, window)
    qtbot.waitUntil(lambda: window.models.listing is not None, timeout=30_000)
    text = "The model produced NaN or infinite logits at position 12."
    window.controller.turn_error.emit(ErrorReport("NonFiniteLogitsError", text))
    assert window.notice.text().startswith("The model produced invalid numbers, so the answer stopped.")
    assert window.notice.engine_text.text() == text
    button = window.notice.findChild(QPushButton, "NoticeAction")
    assert button.text() == "Verify the model"
    finished = []
    window.models.worker.task_finished.connect(lambda kind, name, _result: finished.append((kind, name)))
    button.click()
    qtbot.waitUntil(lambda: finished == [("verify", "tiny")], timeout=60_000)
    assert store.get("tiny").status == "verified"
