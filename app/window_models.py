"""The main window's side of the model: loading it (from the picker, the Models window, the welcome screen),
saying in the status bar what the engine does, and the list of models to pick from.

A mixin of ``app.main_window.MainWindow``: it uses the window's engine, models client, settings, status
bar, notice bar and pages.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

from app import engine_errors, engine_notices, formatting, model_choices, remote_models
from app import settings as keys
from app.engine_errors import ErrorReport
from app.model_choices import ModelChoice
from app.widgets.model_manager import ModelManager

log = logging.getLogger(__name__)


class ModelHandlers:
    """Loading models and the status line; see the module's docstring."""

    # the list to pick from
    def remembered_folders(self) -> list[str]:
        return [f for f in self.settings.get(keys.MODEL_FOLDERS).split("\n") if f]

    def _library(self) -> list:
        listing = self.models.listing
        return list(listing.local) if listing is not None else list(self._first_library)

    def model_choices(self) -> list[ModelChoice]:
        """What the header's picker lists: models in the models folder, folders loaded from outside it, then
        the models of the servers the user saved."""
        local = [p for p in self._model_folders() if p and not remote_models.is_remote(p)]
        choices = model_choices.local_choices(self._library(), self.remembered_folders(), *local)
        try:
            remote = remote_models.choices()
        except Exception:  # a damaged servers file must not take the local models with it
            log.exception("the saved servers could not be read")
            remote = []
        return choices + [ModelChoice("remote", key, label, detail) for key, label, detail in remote]

    def _model_folders(self) -> tuple[str | None, str | None]:
        loaded = self.engine.model["path"] if self.engine.model is not None else None
        return loaded, self.engine.loading_path if self.engine.loading else None

    def current_model_key(self) -> str | None:
        loaded, loading = self._model_folders()
        path = loading or loaded
        if path is None or remote_models.is_remote(path):
            return path
        for choice in self.model_choices():  # the picker's key for it (the same folder, spelled its way)
            if choice.kind != "remote" and model_choices.same_folder(choice.key, path):
                return choice.key
        return path

    def choose_model(self, choice: ModelChoice) -> None:
        if choice.kind == "remote":
            remote_models.activate(self, choice.key)
        elif choice.kind in ("library", "folder"):
            self.load_model(choice.key)

    # loading
    def load_model(self, path: str) -> None:
        self.show_chat()
        self.notice.dismiss()
        self.engine.load(path, **self.settings.load_options())
        self._update_model_button()

    def load_chosen_folder(self, path: str) -> None:
        """A folder picked on the welcome screen: load it if it holds a gpt-oss model; if not, say so there
        and keep the download offer."""
        if model_choices.holds_model(path):
            self.welcome.notice.dismiss()
            self.load_model(path)
            return
        self.show_welcome()
        self.welcome.notice.show_notice(
            self.tr(
                "%1 holds no gpt-oss model. Choose the folder with config.json and the .safetensors files, "
                "or download gpt-oss-20b."
            ).replace("%1", path),
            kind="warning",
        )

    def _on_model_loading(self, path: str) -> None:
        self._loading_since, self._loading_name = time.monotonic(), _model_name(path)
        self._loading_timer.start()
        self.show_state()
        self.status.set_device(None)
        self._update_model_button()

    def show_state(self) -> None:
        """The status line from what is going on: loading (and a message queued behind it), answering,
        ready, or no model."""
        busy = self.controller.busy
        if self.engine.loading:
            elapsed = time.monotonic() - self._loading_since
            name = self._loading_name or _model_name(self.engine.loading_path or "")
            text = self.model_checks.status_text(name) or self.tr("Loading %1…").replace("%1", name)
            if elapsed >= 1:
                text += " " + formatting.duration(elapsed)
            if busy:
                text += " · " + self.tr("Your message is queued and answered once the model is ready.")
            self.status.set_state(text, busy=True)
        elif busy:
            self.status.set_state(self.tr("Answering…  (Esc to stop)"), busy=True)
        elif self.engine.model is not None:
            self.status.set_state(self.tr("Ready"))
        else:
            self.status.set_state(self.tr("No model loaded"))

    def show_loading(self) -> None:
        if not self.engine.loading:
            self._loading_timer.stop()
        self.show_state()

    def _on_model_loaded(self, info: dict) -> None:
        path = info["path"]
        self.settings.set(keys.MODEL_PATH, path)
        if Path(path).is_dir() and not model_choices.in_library(path, self._library()):
            self.settings.set(
                keys.MODEL_FOLDERS, "\n".join(model_choices.remember(self.remembered_folders(), path))
            )
        self.show_state()
        if remote_models.is_remote(path):
            remote_models.show_where(self.status, info)
        else:
            self.status.set_device(info.get("facts"))
        self._show_empty_text(path)
        self._show_context()
        self._update_model_button()
        self._update_manager()

    def _show_empty_text(self, path: str | None) -> None:
        """A new chat's words say where what is written goes: this computer, or the server."""
        server = remote_models.server_of(path) if path is not None and remote_models.is_remote(path) else None
        if server is not None:
            self.chat_view.set_empty_text(
                subtitle=self.tr("gpt-oss runs on the server %1. What you write is sent there.").replace(
                    "%1", server.name
                )
            )
        else:
            self.chat_view.set_empty_text()

    def _on_model_load_failed(self, path: str, error: ErrorReport) -> None:
        self.show_state()
        self.status.set_device(None)
        self._show_empty_text(None)
        self._update_model_button()
        self.show_chat()
        self.notice.show_error(
            error,
            lead=engine_errors.task_lead("load", _model_name(path)),
            actions=[("models", self.tr("Choose a model…"))],
        )
        self._update_manager()

    def _on_engine_notice(self, notice, facts: dict | None) -> None:
        """The engine changed how it runs (say, more experts in RAM after the GPU ran out of memory)."""
        if facts:
            self.status.set_device(facts)
        self.notice.show_notice(engine_notices.shown(notice), kind="warning")

    def _on_model_unloaded(self) -> None:
        self.show_state()
        self.status.set_device(None)
        self._show_empty_text(None)
        self._update_model_button()

    def _update_model_button(self) -> None:
        if self.engine.model is not None:
            text = _model_name(self.engine.model["path"])
        elif self.engine.loading and self.engine.loading_path:
            text = self.tr("Loading %1…").replace("%1", _model_name(self.engine.loading_path))
        else:
            text = self.tr("No model")
        self.model_button.setText(text + "  ▾")

    def _on_models_task_finished(self, kind: str, _name: str, result) -> None:
        if (
            kind == "download"
            and self.engine.model is None
            and not self.engine.loading
            and result is not None
        ):
            self.load_model(str(result.path))

    def _on_listing_for_manager(self, _listing) -> None:
        self._update_manager()

    # the Models window
    def open_model_manager(self) -> ModelManager:
        if self.model_manager is None:
            self.model_manager = ModelManager(self.models, self)
            self.model_manager.load_requested.connect(self._load_from_manager)
            self.model_manager.reconnect_requested.connect(self.load_model)
            self.model_manager.unload_requested.connect(self.engine.unload)
        self._update_manager()
        self.models.refresh()
        self.model_manager.show()
        self.model_manager.raise_()
        self.model_manager.activateWindow()
        return self.model_manager

    def _update_manager(self) -> None:
        if self.model_manager is not None:
            loaded, loading = self._model_folders()
            self.model_manager.set_loaded_path(loaded)
            folders = model_choices.outside_folders(
                self.remembered_folders(), self._library(), loaded, loading
            )
            self.model_manager.set_folders(folders)

    def _load_from_manager(self, path: str) -> None:
        self.load_model(path)
        if self.model_manager is not None:
            self.model_manager.accept()


def _model_name(path: str) -> str:
    """How the window names a model: its folder's name, or "MODEL on HOST" for a server's."""
    return remote_models.label(path) if remote_models.is_remote(path) else Path(path).name
