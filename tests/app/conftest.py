"""Fixtures for the app's tests: private folders per test, a tiny real checkpoint, real windows.

The engine is real everywhere: windows load a tiny random gpt-oss checkpoint written by engine.io.synthetic
(the real vocabulary, so the real tokenizer and harmony parser run) and generate with it on the CPU.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sqlite3

import pytest
from PySide6.QtCore import Qt

from app import settings as keys
from app import theme

LOAD_TIMEOUT_MS = 120_000
TURN_TIMEOUT_MS = 180_000

# Transformer.facts() of gpt-oss-20b placed for a 12 GiB budget on a GPU at 16,384 tokens of context (the
# numbers engine.placement.plan gives): the experts of 4 of its 24 layers in RAM.
GPU_FACTS = {
    "device_type": "cuda",
    "device": "cuda:0",
    "weight_bytes": 11_147_546_880,
    "expert_bytes": 8_471_347_200,
    "host_bytes": 2_852_536_320,
    "num_layers": 24,
    "num_experts": 32,
    "experts_per_token": 4,
    "context_length": 16384,
    "dense_cache_bytes": 0,
    "int8": False,
    "plan": {
        "device": "cuda",
        "budget_bytes": 12 * 2**30,
        "device_bytes": 12_608_975_104,
        "num_layers": 24,
        "num_offloaded_layers": 4,
        "num_slots": 18,
        "embedding_in_ram": True,
    },
}

# The same model on the CPU (no budget, so no plan), its experts running the AVX2 kernels (the facts the
# worker adds: engine/runtime/cpu_kernels.py).
CPU_FACTS = GPU_FACTS | {
    "device_type": "cpu",
    "device": "cpu",
    "weight_bytes": 13_761_264_768,
    "host_bytes": 0,
    "dense_cache_bytes": 512 * 2**20,
    "plan": None,
    "cpu_kernels": "avx2",
    "cpu_fallback": None,
}

# This computer as the fit estimates see it in tests that word them (engine.hub.fit.Machine's fields).
FREE_DISK, RAM, VRAM = 100_000_000_000, 64 * 2**30, 16 * 2**30

# Random weights write text in every script; fontconfig's complaints about rare scripts are noise here.
os.environ.setdefault("QT_LOGGING_RULES", "qt.text.font.db=false")


@pytest.fixture(scope="session", autouse=True)
def english(qapp):
    """The app's English translator (plural forms) is installed, as main() does."""
    from app import i18n

    i18n.install("en")


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory):
    """A tiny gpt-oss checkpoint (Hugging Face layout) with random weights, written once per run."""
    from engine.io.synthetic import tiny_config, write_checkpoint

    return write_checkpoint(tmp_path_factory.mktemp("models") / "gpt-oss-tiny", tiny_config())


@pytest.fixture
def app_dirs(tmp_path, monkeypatch):
    """This test's own data and config folders; QSettings is pointed at the config folder."""
    monkeypatch.setenv("GOSSAMER_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("GOSSAMER_CONFIG_DIR", str(tmp_path / "config"))
    keys.configure()
    return tmp_path


@pytest.fixture
def settings(app_dirs, qapp):
    """Settings for fast turns on the tiny model; tests change what they need."""
    theme.apply(qapp, "light")
    values = keys.Settings()
    values.set(keys.MAX_TOKENS, 24)
    values.set(keys.CONTEXT_LENGTH, 4096)
    values.set(keys.DEVICE, "cpu")
    return values


@pytest.fixture
def make_window(qtbot, settings):
    """Build shown MainWindows on this test's folders; all are closed (threads stopped) at the end."""
    from app.main_window import MainWindow

    windows = []

    def make(model=None, size=(1100, 760)):
        window = MainWindow(settings=keys.Settings(), model_path=str(model) if model else None)
        if size is not None:
            window.resize(*size)
        window.show()
        window.activateWindow()  # shortcuts and focus need the active window
        qtbot.waitUntil(window.isActiveWindow, timeout=5000)
        windows.append(window)
        return window

    yield make
    for window in windows:
        window.close()
        window.deleteLater()


@pytest.fixture
def loaded_window(make_window, qtbot, tiny_model_dir):
    """A window with the tiny model loaded and ready."""
    window = make_window(tiny_model_dir)
    wait_loaded(qtbot, window)
    return window


@pytest.fixture
def broken_model_window(make_window, qtbot, tiny_model_dir, tmp_path):
    """A window asked to load "broken-model", the tiny model with its last shard cut in half, once it shows
    the error: (window, that shard)."""
    broken = tmp_path / "broken-model"
    shutil.copytree(tiny_model_dir, broken)
    shard = max(broken.glob("model-*.safetensors"))
    shard.write_bytes(shard.read_bytes()[: shard.stat().st_size // 2])
    window = make_window(broken)
    qtbot.waitUntil(
        lambda: window.notice.isVisible() and window.notice.kind == "error", timeout=LOAD_TIMEOUT_MS
    )
    return window, shard


@pytest.fixture
def gpu_machine(monkeypatch):
    """Fit estimates see a 16 GiB GPU, 64 GiB of RAM and 100 GB of free disk, whatever this computer has."""
    from engine.hub import fit, store

    machine = fit.Machine(FREE_DISK, RAM, VRAM)
    for module in (fit, store):
        monkeypatch.setattr(module, "probe_machine", lambda path: machine)
    return machine


def fit_texts(qtbot, window) -> tuple[str, str, str]:
    """Where gpt-oss-20b would run as the welcome screen says it, then the model manager with its row selected
    (the label beside Download) and the tooltip of its "Runs on" cell."""
    welcome = window.welcome
    qtbot.waitUntil(
        lambda: window.stack.currentWidget() is welcome and welcome.fit_label.text() != "",
        timeout=60_000,
    )
    manager = window.open_model_manager()
    qtbot.waitUntil(lambda: manager.catalog_model.rowCount() == 2, timeout=60_000)
    manager.catalog_table.selectRow(0)
    tooltip = manager.catalog_model.data(manager.catalog_model.index(0, 2), Qt.ItemDataRole.ToolTipRole)
    return welcome.fit_label.text(), manager.fit_label.text(), tooltip


def wait_loaded(qtbot, window) -> None:
    """The model is loaded and the window has shown it: the engine client and the window each get the
    worker's signal as an event of its own, so the first can be handled before the second is posted."""

    def shown() -> bool:
        model = window.engine.model
        if model is None:
            return False
        # a server's model has no device to show; a local one's is shown once the window heard of it
        return str(model.get("path", "")).startswith("remote:") or window.status.device_text() != ""

    qtbot.waitUntil(shown, timeout=LOAD_TIMEOUT_MS)


def wait_idle(qtbot, window) -> None:
    qtbot.waitUntil(lambda: not window.controller.busy, timeout=TURN_TIMEOUT_MS)


def send(qtbot, window, text: str) -> None:
    """Type into the composer and press Enter, as a user does."""
    window.composer.edit.setFocus()
    window.composer.set_text(text)
    qtbot.keyClick(window.composer.edit, Qt.Key.Key_Return)


def stop_mid_answer(qtbot, window, settings):
    """Ask for a long answer (up to 4000 tokens) and press Esc once its text has begun; returns the answer as
    saved when the turn has ended."""
    settings.set(keys.MAX_TOKENS, 4000)
    send(qtbot, window, "Count to a thousand.")
    model = window.controller.chat_model
    qtbot.waitUntil(lambda: model.rowCount() == 2 and len(model.message(1).content) > 0, timeout=120_000)
    qtbot.keyClick(window.composer.edit, Qt.Key.Key_Escape)
    wait_idle(qtbot, window)
    return window.store.message(model.message(1).id)


@contextlib.contextmanager
def disk_full(store):
    """A full disk, as SQLite's own cap on the file's size makes one: ``max_page_count`` at the pages the file
    has, so a write that needs one more page fails with SQLITE_FULL ("database or disk is full"); space is
    back when the block ends."""
    (pages,) = store.db.execute("PRAGMA page_count").fetchone()
    assert store.db.execute(f"PRAGMA max_page_count = {pages}").fetchone()[0] == pages
    try:
        yield
    finally:
        store.db.execute(f"PRAGMA max_page_count = {2**31}")


@contextlib.contextmanager
def read_only(store):
    """The store's file turned read-only under the app (root ignores chmod, so the connection is swapped for
    one opened with ``mode=ro``): reads work, writes fail with SQLITE_READONLY; writable again when the
    block ends."""
    writable = store.db
    store.db = sqlite3.connect(f"file:{store.path}?mode=ro", uri=True, isolation_level=None)
    store.db.row_factory = sqlite3.Row
    try:
        yield
    finally:
        store.db.close()
        store.db = writable


def cut_short_chat(app_dirs) -> tuple[int, int]:
    """A chat whose answer was cut short ("Once upon a", never completed: the app was killed), written into
    this test's store before a window opens; -> (conversation id, answer id)."""
    from app.store import Store

    store = Store(app_dirs / "data" / "chats.sqlite")
    conversation = store.create_conversation("Cut short")
    store.add_message(conversation.id, "user", "Tell me a story")
    cut = store.add_message(conversation.id, "assistant", "Once upon a", complete=False)
    store.close()
    return conversation.id, cut.id
