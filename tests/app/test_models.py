"""Models: the welcome screen, downloads with progress, cancel and resume, and the model manager.

Downloads come from tests.hub.fakehub (a Hub on 127.0.0.1) serving a real tiny checkpoint as
openai/gpt-oss-20b at its pinned commit, so the downloaded model then loads and chats for real.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFileDialog

from engine.hub.catalog import BUILTIN
from tests.hub.fakehub import FakeHub

REPO, COMMIT = BUILTIN[0].repo, BUILTIN[0].revision


@pytest.fixture
def fake_hub(monkeypatch, tmp_path, tiny_model_dir):
    """The tiny checkpoint served as openai/gpt-oss-20b; HF_ENDPOINT points at it."""
    files = {
        p.relative_to(tiny_model_dir).as_posix(): p.read_bytes()
        for p in tiny_model_dir.rglob("*")
        if p.is_file()
    }
    server = FakeHub().start()
    server.add_repo(REPO, files, commit=COMMIT)
    monkeypatch.setenv("HF_ENDPOINT", server.endpoint)
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf-home"))
    monkeypatch.delenv("HF_TOKEN", raising=False)
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    yield server
    server.stop()


def biggest_file(folder: Path) -> str:
    return max((p for p in folder.glob("*.safetensors")), key=lambda p: p.stat().st_size).name


def test_first_run_shows_the_welcome_screen(make_window, qtbot):
    """No model anywhere: the welcome screen offers gpt-oss-20b with its size, or a folder."""
    window = make_window()
    qtbot.waitUntil(lambda: window.stack.currentWidget() is window.welcome, timeout=60_000)
    welcome = window.welcome
    qtbot.waitUntil(lambda: "13.8 GB" in welcome.download_button.text(), timeout=60_000)
    assert welcome.download_button.text() == "Download gpt-oss-20b (13.8 GB)"
    assert welcome.fit_label.text()  # where it would run on this machine
    assert welcome.folder_button.isVisible() and "models" in welcome.root_label.text()
    assert window.status.state_label.text() == "No model loaded"


def test_welcome_folder_loads_that_model(make_window, qtbot, tiny_model_dir, monkeypatch):
    """Choosing a folder on the welcome screen loads it and opens the chat."""
    window = make_window()
    qtbot.waitUntil(lambda: window.stack.currentWidget() is window.welcome, timeout=60_000)
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", lambda *args, **kwargs: str(tiny_model_dir))
    qtbot.mouseClick(window.welcome.folder_button, Qt.MouseButton.LeftButton)
    assert window.stack.currentWidget() is window.chat_page
    qtbot.waitUntil(lambda: window.engine.model is not None, timeout=120_000)
    assert window.engine.model["path"] == str(tiny_model_dir)
    assert "gpt-oss-tiny" in window.model_button.text()


def test_download_with_progress_cancel_and_resume(make_window, qtbot, fake_hub, tiny_model_dir):
    """Download shows bytes, speed and time left; Cancel keeps what came; Resume continues and the model
    then loads by itself."""
    shard = biggest_file(tiny_model_dir)
    fake_hub.delay_s[shard] = 0.002  # per 4 KB: slow enough to see progress and cancel mid-file
    window = make_window()
    welcome = window.welcome
    qtbot.waitUntil(lambda: window.stack.currentWidget() is welcome, timeout=60_000)
    qtbot.mouseClick(welcome.download_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: welcome.progress.isVisible(), timeout=30_000)
    qtbot.waitUntil(
        lambda: welcome.progress.bar.value() > 0 and "/s" in welcome.progress.detail.text(), timeout=60_000
    )
    assert not welcome.download_button.isEnabled()
    assert welcome.progress.title.text().startswith("Downloading gpt-oss-20b")
    part = Path(window.models.listing.root) / "gpt-oss-20b" / f"{shard}.part"
    qtbot.waitUntil(lambda: part.exists() and part.stat().st_size > 0, timeout=60_000)
    qtbot.mouseClick(welcome.progress.cancel_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: welcome.notice.isVisible(), timeout=60_000)
    assert "paused" in welcome.notice.text()
    assert not welcome.progress.isVisible() and welcome.download_button.isEnabled()
    assert window.engine.model is None
    qtbot.waitUntil(lambda: welcome.download_button.text().startswith("Resume download"), timeout=30_000)
    kept = part.stat().st_size
    assert kept > 0

    fake_hub.delay_s.clear()
    qtbot.mouseClick(welcome.download_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: window.engine.model is not None, timeout=180_000)
    assert window.engine.model["path"].endswith("gpt-oss-20b")
    assert window.stack.currentWidget() is window.chat_page
    resumed = [r for r in fake_hub.requests("GET", "/cdn/") if r.range]
    assert [r.range for r in resumed] == [f"bytes={kept}-"]  # the shard continued where it stopped


def test_model_manager_import_load_verify_delete(make_window, qtbot, tiny_model_dir, tmp_path, monkeypatch):
    """Import a folder, load it, verify it; a loaded model cannot be deleted; another one can, after a yes."""
    first, second = tmp_path / "first-model", tmp_path / "second-model"
    shutil.copytree(tiny_model_dir, first)
    shutil.copytree(tiny_model_dir, second)
    window = make_window()
    qtbot.waitUntil(lambda: window.stack.currentWidget() is window.welcome, timeout=60_000)
    manager = window.open_model_manager()
    qtbot.waitUntil(lambda: manager.catalog_model.rowCount() == 2, timeout=60_000)
    assert manager.empty_local.isVisibleTo(manager)
    assert manager.catalog_model.data(manager.catalog_model.index(0, 1)) == "13.8 GB"

    for folder in (first, second):
        monkeypatch.setattr(QFileDialog, "getExistingDirectory", lambda *a, f=folder, **k: str(f))
        qtbot.mouseClick(manager.import_button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(
            lambda f=folder: any(m.path == f for m in manager.local_model.models()), timeout=60_000
        )
    models = {m.name: m for m in manager.local_model.models()}
    assert {m.status for m in models.values()} == {"verified"}
    assert manager.local_model.data(manager.local_model.index(0, 4)) == "Folder"
    assert manager.local_model.data(manager.local_model.index(0, 3)) in (
        "Fits the GPU",
        "GPU + RAM",
        "CPU only",
    )

    manager.local_table.selectRow(0)
    loading = manager.local_model.model_at(0)
    qtbot.mouseClick(manager.load_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: window.engine.model is not None, timeout=120_000)
    assert window.engine.model["path"] == str(loading.path)

    manager = window.open_model_manager()
    manager.local_table.selectRow(0)
    assert "(loaded)" in manager.local_model.data(manager.local_model.index(0, 0))
    assert not manager.delete_button.isEnabled() and not manager.load_button.isEnabled()
    window.models.remove(loading.name)  # even asked directly, the engine's lock refuses
    qtbot.waitUntil(lambda: manager.notice.isVisible() and manager.notice.kind == "error", timeout=60_000)
    assert manager.notice.text() == (
        f"Could not delete {loading.name}. The model is in use. "
        "Load another model, or close the Gossamer window that uses this one, then try again."
    )
    assert "is loaded" in manager.notice.engine_text.text()  # the engine's own words, beneath
    assert loading.path.is_dir()

    qtbot.mouseClick(manager.verify_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(
        lambda: "verified" in manager.notice.text() and manager.notice.kind == "info", timeout=60_000
    )

    manager.local_table.selectRow(1)
    other = manager.local_model.model_at(1)
    asked = []
    manager.confirm = lambda parent, title, text: asked.append(text) or True
    assert manager.delete_button.isEnabled()
    qtbot.mouseClick(manager.delete_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: manager.local_model.rowCount() == 1, timeout=60_000)
    assert asked and other.name in asked[0] and "stays where it is" in asked[0]
    assert other.path.is_dir()  # an in-place model is forgotten, its folder kept


def test_change_models_folder(make_window, qtbot, tmp_path, monkeypatch):
    """Change… moves the models folder and the manager shows the new place."""
    window = make_window()
    manager = window.open_model_manager()
    qtbot.waitUntil(lambda: manager.folder_path.text() != "", timeout=60_000)
    target = tmp_path / "elsewhere" / "models"
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", lambda *a, **k: str(target))
    qtbot.mouseClick(manager.change_folder_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: manager.folder_path.text() == str(target), timeout=60_000)
    assert "now in" in manager.notice.text()
