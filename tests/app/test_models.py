"""Models: the welcome screen, downloads with progress, cancel and resume, and the model manager.

Downloads come from tests.hub.fakehub (a Hub on 127.0.0.1) serving a real tiny checkpoint as
openai/gpt-oss-20b at its pinned commit, so the downloaded model then loads and chats for real.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from PySide6.QtCore import QLocale, Qt
from PySide6.QtWidgets import QFileDialog

from app import i18n, model_facts
from engine.hub.catalog import BUILTIN
from engine.hub.fit import estimate_fit
from engine.placement.plan import PRESETS
from tests.app.conftest import FREE_DISK, RAM, VRAM, fit_texts
from tests.hub.fakehub import FakeHub

REPO, COMMIT = BUILTIN[0].repo, BUILTIN[0].revision
GiB = 2**30


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


@pytest.fixture
def english_numbers(qapp):
    """English number formats (16,384; 14.0) for one test, whatever the system's regional formats."""
    QLocale.setDefault(QLocale(QLocale.Language.English, QLocale.Country.UnitedStates))
    yield
    i18n.install("en")


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


def test_model_manager_import_load_verify_delete(
    make_window, qtbot, tiny_model_dir, tmp_path, monkeypatch, gpu_machine
):
    """Import a folder, load it, verify it; a loaded model cannot be deleted; another one can, after a yes.
    Where each would run is worded from its own config (the planner's placement)."""
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
    assert manager.local_model.data(manager.local_model.index(0, 3)) == "Fits the GPU"
    fit = manager.local_model.data(manager.local_model.index(0, 3), Qt.ItemDataRole.ToolTipRole)
    assert fit.startswith("Fits on the GPU: ") and "tokens of context." in fit

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


# Machines that give each case of gpt-oss-20b's fit estimate: free disk, RAM, VRAM, and whether its shape is
# known (the planner places it) or its sizes alone decide.
FIT_MACHINES = {
    "planned": (FREE_DISK, RAM, VRAM, True),
    "planned, embedding in RAM": (FREE_DISK, RAM, 14 * GiB, True),
    "planned, experts in RAM": (FREE_DISK, RAM, 12 * GiB, True),
    "on the GPU": (FREE_DISK, RAM, 24 * GiB, False),
    "some experts in RAM": (FREE_DISK, RAM, 8 * GiB, False),
    "no GPU": (FREE_DISK, RAM, None, True),
    "GPU too small": (FREE_DISK, RAM, 2 * GiB, True),
    "not enough RAM": (FREE_DISK, 8 * GiB, None, False),
    "not enough disk": (5_000_000_000, RAM, VRAM, True),
}
FIT_WORDS = [
    ("planned", "Fits on the GPU: 14.0 GB of GPU memory at 16,384 tokens of context."),
    (
        "planned, embedding in RAM",
        "Fits on the GPU, the embedding in RAM: 12.9 GB of GPU memory at 16,384 tokens of context.",
    ),
    (
        "planned, experts in RAM",
        (
            "Runs on the GPU with the experts of 6 of 24 layers in RAM: 11.1 GB of GPU memory at 16,384 tokens "
            "of context."
        ),
    ),
    ("on the GPU", "Fits on the GPU (24.0 GB)."),
    ("some experts in RAM", "Runs on the GPU (8.0 GB) with some experts in RAM."),
    ("no GPU", "Runs on the CPU only: no GPU was found. Expect a few tokens a second."),
    (
        "GPU too small",
        "Runs on the CPU only: it is too big for the GPU (2.0 GB). Expect a few tokens a second.",
    ),
    ("not enough RAM", "Needs about 14.7 GB of RAM; this computer has 8.0 GB."),
    ("not enough disk", "Needs 13.8 GB of disk space; 5.0 GB is free."),
]


@pytest.mark.parametrize(("case", "english"), FIT_WORDS, ids=[case for case, _ in FIT_WORDS])
def test_fit_estimates_are_worded_in_the_users_language(english_numbers, case, english):
    """Each case of gpt-oss-20b's fit estimate (the planner's placement when its shape is known, else its
    sizes) is worded by the app from the estimate's facts, not the engine's English sentence: in English,
    and in Korean with the same numbers."""
    *machine, planned = FIT_MACHINES[case]
    twenty = BUILTIN[0]
    fit = estimate_fit(
        twenty.download_bytes,
        twenty.expert_bytes,
        twenty.non_expert_bytes,
        *machine,
        config=PRESETS["gpt-oss-20b"] if planned else None,
    )
    shown = model_facts.fit_estimate(fit)
    assert shown == english and shown != fit.reason
    i18n.install("ko")
    korean = model_facts.fit_estimate(fit)
    assert any("가" <= character <= "힣" for character in korean)
    assert set(re.findall(r"[A-Za-z]+", korean)) <= {"GPU", "CPU", "RAM", "GB"}
    assert sorted(re.findall(r"\d[\d,.]*\d|\d", korean)) == sorted(re.findall(r"\d[\d,.]*\d|\d", shown))


def test_welcome_and_model_manager_say_where_it_would_run(make_window, qtbot, gpu_machine, english_numbers):
    """On a machine with a 16 GiB GPU, the welcome screen and the model manager say gpt-oss-20b fits on it,
    with the GPU memory the planner gives it and the context it planned for."""
    window = make_window()
    fits = "Fits on the GPU: 14.0 GB of GPU memory at 16,384 tokens of context."
    assert fit_texts(qtbot, window) == (
        fits,
        f"13.8 GB to download. {fits}",
        f"{REPO} @ {COMMIT[:12]}\n{fits}",
    )


def test_120b_fit_without_enough_ram_is_worded_in_english_and_korean(english_numbers):
    """gpt-oss-120b beside a 16 GiB GPU and 32 GiB of RAM: the app says its experts would not fit in RAM,
    with the GPU, the RAM the experts need and the RAM there is; in Korean with the same numbers."""
    big = BUILTIN[1]
    fit = estimate_fit(
        big.download_bytes, big.expert_bytes, big.non_expert_bytes, FREE_DISK, 32 * GiB, 16 * GiB,
        config=PRESETS["gpt-oss-120b"],
    )
    shown = model_facts.fit_estimate(fit)
    assert shown.startswith("Does not fit: with this GPU (16.0 GB) about 48.4 GB") and "of experts stay in RAM" in shown
    i18n.install("ko")
    korean = model_facts.fit_estimate(fit)
    assert "RAM" in korean and any("가" <= character <= "힣" for character in korean)
    assert sorted(re.findall(r"\d[\d,.]*\d|\d", korean)) == sorted(re.findall(r"\d[\d,.]*\d|\d", shown))
