"""Settings: QSettings under user_config_dir, typed round-trips, the dialog, themes, window geometry."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QApplication

from app import formatting, theme
from app import settings as keys
from app.widgets.settings_dialog import SettingsDialog
from tests.app.conftest import send, wait_idle


def test_file_lives_in_user_config_dir(app_dirs):
    """configure() puts the INI file under user_config_dir() with the app's names."""
    values = keys.Settings()
    values.set(keys.THEME, "dark")
    values.sync()
    assert QSettings().fileName() == str(app_dirs / "config" / "Gossamer" / "Gossamer.ini")
    assert (app_dirs / "config" / "Gossamer" / "Gossamer.ini").read_text().count("theme=dark") == 1


@pytest.mark.parametrize(
    ("key", "value"),
    [
        (keys.DEVICE, "cuda"),
        (keys.VRAM_BUDGET_GB, 7.5),
        (keys.CONTEXT_LENGTH, 32768),
        (keys.CUDA_GRAPHS, False),
        (keys.TEMPERATURE, 0.7),
        (keys.TOP_P, 0.9),
        (keys.TOP_K, 40),
        (keys.MAX_TOKENS, 2048),
        (keys.SYSTEM_INSTRUCTIONS, "Be brief.\n한국어로 답하세요."),
        (keys.DEFAULT_EFFORT, "high"),
        (keys.THEME, "light"),
        (keys.LANGUAGE, "ko"),
        (keys.MODEL_PATH, "/m/20b"),
    ],
)
def test_round_trip_through_the_file(app_dirs, key, value):
    """Each value written comes back, with its type, from a fresh QSettings reading the file."""
    keys.Settings().set(key, value)
    keys.Settings().sync()
    fresh = keys.Settings(
        QSettings(str(app_dirs / "config" / "Gossamer" / "Gossamer.ini"), QSettings.Format.IniFormat)
    )
    assert fresh.get(key) == value and type(fresh.get(key)) is type(value)


def test_bad_values_read_as_defaults(app_dirs):
    """A hand-edited file with nonsense falls back to the defaults instead of breaking the app."""
    raw = QSettings()
    raw.setValue(keys.DEVICE, "tpu")
    raw.setValue(keys.MAX_TOKENS, "lots")
    raw.setValue(keys.TOP_K, -3)
    values = keys.Settings()
    assert values.get(keys.DEVICE) == "auto" and values.get(keys.MAX_TOKENS) == 4096
    assert values.get(keys.TOP_K) == 0
    with pytest.raises(ValueError):
        values.set(keys.THEME, "purple")
    with pytest.raises(ValueError):
        values.set(keys.TOP_K, 5000)
    assert values.vram_budget_bytes() is None
    values.set(keys.VRAM_BUDGET_GB, 8.0)
    assert values.vram_budget_bytes() == 8 * 1024**3


def test_dialog_shows_and_saves_settings(qtbot, settings):
    """The dialog starts from the stored values and reports which keys its OK changed."""
    settings.set(keys.TEMPERATURE, 0.5)
    dialog = SettingsDialog(settings)
    qtbot.addWidget(dialog)
    assert dialog.temperature.value() == 0.5 and dialog.context.currentData() == 4096
    dialog.theme.setCurrentIndex(dialog.theme.findData("dark"))
    dialog.max_tokens.setValue(1000)
    dialog.instructions.setPlainText("  Use metric units.  ")
    changed = dialog.save()
    assert changed == {keys.THEME, keys.MAX_TOKENS, keys.SYSTEM_INSTRUCTIONS}
    assert (
        settings.get(keys.MAX_TOKENS) == 1000
        and settings.get(keys.SYSTEM_INSTRUCTIONS) == "Use metric units."
    )


def test_theme_applies_to_the_running_app(make_window, qtbot, qapp):
    """Choosing Dark in Settings restyles the window at once; Light brings it back."""
    from app.__main__ import create_window

    window = create_window(keys.Settings())
    qtbot.addWidget(window)
    dialog = window.open_settings()
    dialog.theme.setCurrentIndex(dialog.theme.findData("dark"))
    dialog.accept()
    assert theme.current().name == "dark"
    assert QApplication.palette().window().color().name() == theme.DARK.window
    assert theme.DARK.accent in qapp.styleSheet()
    theme.apply(qapp, "light")
    assert QApplication.palette().window().color().name() == theme.LIGHT.window
    window.shutdown()


def test_engine_settings_reload_the_model(loaded_window, qtbot):
    """Changing the context length in Settings reloads the model with it."""
    window = loaded_window
    dialog = window.open_settings()
    dialog.context.setCurrentIndex(dialog.context.findData(8192))
    dialog.accept()
    qtbot.waitUntil(
        lambda: window.engine.model is not None and window.engine.model["context_max"] == 8192,
        timeout=120_000,
    )
    # the status bar hears of the new model in a later event than the engine client: wait for it too
    qtbot.waitUntil(lambda: formatting.count(8192) in window.status.context_label.text(), timeout=10_000)


def test_geometry_is_saved_when_the_window_closes(make_window, qtbot):
    """closeEvent stores the window's geometry and splitter; the next window opens the same size."""
    window = make_window()
    window.resize(780, 560)  # within the offscreen screen (800 x 600): restoreGeometry keeps windows on it
    window.splitter.setSizes([230, 550])
    sidebar_width = window.splitter.sizes()[0]
    window.close()
    assert keys.Settings().geometry() is not None
    again = make_window(size=None)
    assert (again.width(), again.height()) == (780, 560)
    assert abs(again.splitter.sizes()[0] - sidebar_width) <= 2


def test_system_theme_follows_the_desktop(qapp, monkeypatch):
    """ "system" picks dark on a dark desktop, light otherwise."""
    monkeypatch.setattr(theme, "system_is_dark", lambda: True)
    assert theme.resolve("system") is theme.DARK
    monkeypatch.setattr(theme, "system_is_dark", lambda: False)
    assert theme.resolve("system") is theme.LIGHT
    assert theme.resolve("dark") is theme.DARK


def test_cuda_graphs_are_a_setting_that_reloads_the_model(qtbot, settings):
    """CUDA graphs are on by default; unticking the box saves off, counts as an engine setting (the model
    reloads) and reaches the engine's load as cuda_graphs=False."""
    from app.widgets.settings_dialog import ENGINE_KEYS

    assert settings.get(keys.CUDA_GRAPHS) is True and settings.load_options()["cuda_graphs"] is True
    dialog = SettingsDialog(settings)
    qtbot.addWidget(dialog)
    assert dialog.cuda_graphs.isChecked()
    dialog.cuda_graphs.setChecked(False)
    assert dialog.save() == {keys.CUDA_GRAPHS} and keys.CUDA_GRAPHS in ENGINE_KEYS
    assert settings.load_options() == {
        "device": "cpu",
        "vram_budget": None,
        "context_length": 4096,
        "cuda_graphs": False,
    }


def test_top_k_is_set_in_the_dialog_with_off_explained(qtbot, settings):
    """Top-k sits with the other sampling settings: 0 reads "Off" and says what off means; a value is kept."""
    dialog = SettingsDialog(settings)
    qtbot.addWidget(dialog)
    assert dialog.top_k.value() == 0 and dialog.top_k.text() == "Off"
    assert "Off" in dialog.top_k.toolTip()
    dialog.top_k.setValue(40)
    assert dialog.save() == {keys.TOP_K} and settings.get(keys.TOP_K) == 40
    assert SettingsDialog(settings).top_k.value() == 40


def test_top_k_reaches_the_engine(loaded_window, qtbot, settings):
    """With top-k 1 each answer is the likeliest one: regenerating gives the same text, and the answer
    records the top-k it was written with."""
    settings.set(keys.TOP_K, 1)
    send(qtbot, loaded_window, "Say something.")
    wait_idle(qtbot, loaded_window)
    controller = loaded_window.controller
    first = controller.chat_model.message(1)
    assert controller.store.message(first.id).settings["top_k"] == 1
    assert controller.regenerate()
    wait_idle(qtbot, loaded_window)
    second = controller.chat_model.message(1)
    assert second.id != first.id and (second.content, second.reasoning) == (first.content, first.reasoning)


def test_without_a_gpu_the_vram_budget_is_fixed_and_has_no_arrows(qtbot, settings):
    """No CUDA GPU: the budget reads Automatic, cannot be changed, and shows no empty arrow column."""
    from PySide6.QtWidgets import QAbstractSpinBox

    dialog = SettingsDialog(settings, gpu=False)
    qtbot.addWidget(dialog)
    assert not dialog.vram.isEnabled() and dialog.vram.text() == "Automatic"
    assert dialog.vram.buttonSymbols() == QAbstractSpinBox.ButtonSymbols.NoButtons
    assert SettingsDialog(settings, gpu=True).vram.isEnabled()
