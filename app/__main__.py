"""``python -m app [--model DIR]`` and the ``gossamer`` command: open the window.

Only Qt and the app's own light modules are imported here; torch comes later, on the engine thread.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="gossamer", description="Chat with gpt-oss on your own computer.")
    parser.add_argument("--model", metavar="DIR", help="load the gpt-oss model in this folder")
    return parser.parse_known_args(argv)[0]


def create_application(argv: list[str]):
    """The QApplication with names, settings location, log file, language and theme set up."""
    from PySide6.QtWidgets import QApplication

    from app import i18n, logs, theme
    from app import settings as keys

    app = QApplication.instance() or QApplication(argv)
    keys.configure()
    logs.setup()
    app.setApplicationDisplayName("Gossamer")
    app.setDesktopFileName("gossamer")
    from PySide6.QtGui import QIcon

    from engine.paths import RESOURCES_DIR

    app.setWindowIcon(QIcon(str(RESOURCES_DIR / "icons" / "gossamer.png")))
    settings = keys.Settings()
    i18n.install(settings.get(keys.LANGUAGE))
    theme.apply(app, settings.get(keys.THEME))
    return app, settings


def create_window(settings, model_path: str | None = None):
    from PySide6.QtWidgets import QApplication

    from app import theme
    from app.main_window import MainWindow

    window = MainWindow(settings=settings, model_path=model_path)
    window.theme_change_requested.connect(lambda name: theme.apply(QApplication.instance(), name))
    return window


def bring_forward(window, model: str | None) -> None:
    """A second launch handed over: show this window on top, and load its --model (if any)."""
    from PySide6.QtCore import Qt

    state = window.windowState() & ~Qt.WindowState.WindowMinimized
    window.setWindowState(state | Qt.WindowState.WindowActive)
    window.show()
    window.raise_()
    window.activateWindow()
    if model and Path(model).is_dir():
        window.load_model(model)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv if argv is None else argv
    args = parse_args(argv[1:])
    model = str(Path(args.model).expanduser().resolve()) if args.model else None
    app, settings = create_application(argv)
    from app.single_instance import SingleInstance
    from app.store import StoreError
    from engine.paths import user_data_dir

    instance = SingleInstance(user_data_dir())
    if not instance.acquire():  # this profile is open: that window comes forward (and loads --model)
        if instance.hand_over(model):
            return 0
        from PySide6.QtWidgets import QMessageBox

        QMessageBox.critical(
            None,
            "Gossamer",
            app.translate(
                "Main",
                "Gossamer is already running with this profile, but it does not answer. Close it (or end it "
                "in the task manager), then start Gossamer again.",
            ),
        )
        return 1
    try:
        window = create_window(settings, model)
    except StoreError as error:
        from PySide6.QtWidgets import QMessageBox

        QMessageBox.critical(None, "Gossamer", str(error))
        instance.release()
        return 1
    instance.activated.connect(lambda path: bring_forward(window, path))
    window.show()
    code = app.exec()
    window.shutdown()
    instance.release()
    if window.engine.thread.isRunning() or window.models.thread.isRunning():
        # A long prefill or load cannot be interrupted; everything is saved, so leave without waiting for it.
        sys.stdout.flush()
        os._exit(code)
    return code


if __name__ == "__main__":
    sys.exit(main())
