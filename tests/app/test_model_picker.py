"""Models on this computer as a person meets them: a folder loaded from outside the models folder in the
Models window, the header's model picker, the first frame of a first run, and a folder that is no model."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from PySide6.QtCore import QStandardPaths, Qt
from PySide6.QtWidgets import QFileDialog

from app import model_choices, theme
from app import settings as keys
from app.main_window import MainWindow
from tests.app.conftest import LOAD_TIMEOUT_MS, wait_loaded


def folder_row(manager, path) -> int | None:
    for row, model in enumerate(manager.local_model.models()):
        if model.source == "folder" and model_choices.same_folder(model.path, path):
            return row
    return None


def test_models_window_lists_a_model_loaded_from_a_folder(loaded_window, qtbot, tiny_model_dir):
    """A model loaded with --model DIR is listed in Models, marked as outside the models folder, with Verify
    (its files and tensors checked) and Add to library (then listed once, in the library)."""
    window = loaded_window
    manager = window.open_model_manager()
    qtbot.waitUntil(lambda: folder_row(manager, tiny_model_dir) is not None, timeout=30_000)
    assert not manager.empty_local.isVisible()
    row = folder_row(manager, tiny_model_dir)
    table = manager.local_model
    assert table.data(table.index(row, 0)).startswith("gpt-oss-tiny") and "(loaded)" in table.data(
        table.index(row, 0)
    )
    assert table.data(table.index(row, 4)) == "Not in the models folder"
    manager.local_table.selectRow(row)
    assert not manager.load_button.isEnabled()  # loaded already
    assert manager.verify_button.isEnabled() and not manager.delete_button.isEnabled()
    assert manager.add_button.isVisible() and manager.add_button.isEnabled()

    qtbot.mouseClick(manager.verify_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "every file and tensor is in place" in manager.notice.text(), timeout=60_000)

    qtbot.waitUntil(lambda: manager.add_button.isEnabled(), timeout=30_000)
    qtbot.mouseClick(manager.add_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: any(m.source == "in_place" for m in manager.local_model.models()), timeout=60_000)
    qtbot.waitUntil(lambda: folder_row(manager, tiny_model_dir) is None, timeout=30_000)
    assert [m.source for m in manager.local_model.models()] == ["in_place"]


def test_a_folder_loaded_earlier_can_be_loaded_from_models(make_window, qtbot, tiny_model_dir, tmp_path):
    """A folder that is not loaded now but was before is still listed, and Load loads it."""
    other = tmp_path / "other-tiny"
    shutil.copytree(tiny_model_dir, other)
    window = make_window(other)
    wait_loaded(qtbot, window)
    window.load_model(str(tiny_model_dir))
    qtbot.waitUntil(
        lambda: window.engine.model is not None and window.engine.model["path"] == str(tiny_model_dir),
        timeout=LOAD_TIMEOUT_MS,
    )
    manager = window.open_model_manager()
    qtbot.waitUntil(lambda: folder_row(manager, other) is not None, timeout=30_000)
    manager.local_table.selectRow(folder_row(manager, other))
    assert manager.load_button.isEnabled()
    qtbot.mouseClick(manager.load_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(
        lambda: window.engine.model is not None and window.engine.model["path"] == str(other),
        timeout=LOAD_TIMEOUT_MS,
    )


def test_picker_lists_local_models_and_loads_the_one_chosen(make_window, qtbot, tiny_model_dir, tmp_path):
    """The header's picker lists the models folder's model and the folder loaded from outside it, the
    loaded one checked; choosing the other loads it; "Manage models…" at its end opens Models."""
    from engine.hub import ModelStore

    library_copy = tmp_path / "library-tiny"
    shutil.copytree(tiny_model_dir, library_copy)
    library = ModelStore().import_folder(library_copy, name="tiny-in-library", copy=False)
    window = make_window(tiny_model_dir)
    wait_loaded(qtbot, window)
    qtbot.waitUntil(lambda: window.models.listing is not None, timeout=60_000)
    picker = window.model_button
    shown = {a.text().split("\t")[0]: a for a in picker.actions_shown()}
    assert list(shown) == ["tiny-in-library", "gpt-oss-tiny"]
    assert shown["gpt-oss-tiny"].isChecked() and not shown["tiny-in-library"].isChecked()
    assert shown["gpt-oss-tiny"].data().kind == "folder"
    assert shown["tiny-in-library"].data().kind == "library"
    assert picker.menu_.actions()[-1].text() == "Manage models…"

    shown["tiny-in-library"].trigger()
    qtbot.waitUntil(
        lambda: window.engine.model is not None and window.engine.model["path"] == str(library.path),
        timeout=LOAD_TIMEOUT_MS,
    )
    assert "library-tiny" in picker.text()
    shown = {a.text().split("\t")[0]: a for a in picker.actions_shown()}
    assert shown["tiny-in-library"].isChecked() and not shown["gpt-oss-tiny"].isChecked()

    picker.manage_action().trigger()
    assert window.model_manager is not None and window.model_manager.isVisible()


def test_model_choices_are_a_plain_list(tmp_path, tiny_model_dir):
    """The picker's list comes from plain data: library models that can load, then remembered folders
    outside the library that still exist, each once."""
    from engine.hub import ModelStore

    copy = tmp_path / "in-library"
    shutil.copytree(tiny_model_dir, copy)
    store = ModelStore(tmp_path / "models")
    store.import_folder(copy, name="lib", copy=False)
    library = store.list()
    gone = str(tmp_path / "gone")
    folders = model_choices.remember([gone, str(copy)], str(tiny_model_dir))
    choices = model_choices.local_choices(library, folders, str(tiny_model_dir))
    assert [(c.kind, c.label) for c in choices] == [("library", "lib"), ("folder", "gpt-oss-tiny")]
    assert choices[1].key == str(tiny_model_dir) and str(tiny_model_dir) in choices[1].detail


def test_first_run_shows_the_welcome_screen_from_the_first_frame(settings, qtbot):
    """With no model anywhere the window is built showing the welcome screen, before any event is handled."""
    window = MainWindow(settings=keys.Settings())
    qtbot.addWidget(window)
    assert window.stack.currentWidget() is window.welcome
    window.shutdown()


def test_a_model_to_load_shows_the_chat_from_the_first_frame(settings, qtbot, tiny_model_dir):
    """With a model to load the first frame is the chat, not the welcome screen."""
    window = MainWindow(settings=keys.Settings(), model_path=str(tiny_model_dir))
    qtbot.addWidget(window)
    assert window.stack.currentWidget() is window.chat_page
    window.shutdown()


def test_a_folder_without_a_model_keeps_the_download_offer(make_window, qtbot, tmp_path, monkeypatch):
    """A folder of other things chosen on the welcome screen is said to hold no gpt-oss model; the welcome
    screen and its download stay. The picker opens in the user's Downloads or home."""
    photos = tmp_path / "photos"
    photos.mkdir()
    (photos / "cat.jpg").write_bytes(b"\xff\xd8\xff")
    (photos / "config.json").write_text('{"model_type": "llama"}')
    opened_in = []

    def choose(_parent, _title, start="", *args, **kwargs):
        opened_in.append(start)
        return str(photos)

    monkeypatch.setattr(QFileDialog, "getExistingDirectory", choose)
    window = make_window()
    welcome = window.welcome
    qtbot.mouseClick(welcome.folder_button, Qt.MouseButton.LeftButton)
    assert window.stack.currentWidget() is welcome
    assert welcome.notice.isVisible() and "holds no gpt-oss model" in welcome.notice.text()
    assert str(photos) in welcome.notice.text()
    assert welcome.download_button.isVisible() and welcome.download_button.isEnabled()
    assert window.engine.model is None and not window.engine.loading
    downloads = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.DownloadLocation)
    assert opened_in[0] == (downloads if Path(downloads).is_dir() else str(Path.home()))


def test_picker_lists_a_servers_models_and_chooses_one(make_window, qtbot):
    """Models of a saved server are listed after the local ones; choosing one asks the engine for it."""
    from engine.remote.client import RemoteModel
    from engine.remote.servers import ServerStore

    server = ServerStore().save("http://127.0.0.1:9/v1", None, [RemoteModel("gpt-oss-120b")])
    window = make_window()
    picker = window.model_button
    remote = [a for a in picker.actions_shown() if a.data().kind == "remote"]
    assert [a.text().split("\t")[0] for a in remote] == ["gpt-oss-120b"]
    assert remote[0].data().key == server.model_key("gpt-oss-120b") and not remote[0].isChecked()
    remote[0].trigger()
    assert window.engine.loading_path == server.model_key("gpt-oss-120b")
    assert "gpt-oss-120b" in picker.text()


@pytest.mark.parametrize("name", ["light", "dark"])
def test_the_model_menu_is_opaque_to_its_corners(loaded_window, qtbot, qapp, name):
    """The picker's menu paints its whole window itself, square, in its own colors: nothing see-through that
    would show black without a compositor (Xvfb), no corner left in the window's color."""
    theme.apply(qapp, name)
    palette = theme.current()
    picker = loaded_window.model_button
    menu = picker.menu_
    menu.popup(picker.mapToGlobal(picker.rect().bottomLeft()))
    qtbot.waitUntil(menu.isVisible, timeout=5000)
    try:
        assert not menu.testAttribute(Qt.WidgetAttribute.WA_TranslucentBackground)
        assert menu.autoFillBackground() and menu.actions()
        image = menu.grab().toImage()
        last_x, last_y = image.width() - 1, image.height() - 1
        for x, y in ((0, 0), (last_x, 0), (0, last_y), (last_x, last_y)):
            assert image.pixelColor(x, y).name() == palette.border, (x, y)  # the frame reaches each corner
        assert image.pixelColor(image.width() // 2, 3).name() == palette.raised  # the menu's own background
    finally:
        menu.hide()
        theme.apply(qapp, "light")
