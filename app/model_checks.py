"""What the window does about a model's bytes: the re-hash of changed files before a load, shown in the status
line, and Verify offered when the loaded model produced NaN or infinite logits (its files may be damaged).

The engine re-hashes files that changed since they were verified (engine.hub.trust) on the engine thread and
reports progress through ``EngineWorker.model_checking``; a Verify hashes every file in Models.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject

from app.engine_errors import ErrorReport

INFO_MS = 8000


class ModelChecks(QObject):
    def __init__(self, window) -> None:
        super().__init__(window)
        self.window = window
        self.progress = None  # engine.hub.DownloadProgress of the re-hash before the load under way
        worker = window.engine.worker
        for signal in (worker.model_loading, worker.model_loaded, worker.model_load_failed):
            signal.connect(self._reset)
        worker.model_checking.connect(self._on_checking)
        worker.model_loaded.connect(self._on_loaded)
        self._told: set[str] = set()  # folders outside the models folder already called unverified
        window.controller.turn_error.connect(self._on_turn_error)
        window.notice.action_triggered.connect(self._on_action)

    def status_text(self, name: str) -> str | None:
        """The status line while changed files of model ``name`` are hashed again; None when none are."""
        if self.progress is None or self.progress.bytes_done >= self.progress.bytes_total:
            return None
        text = self.tr("Checking %1's changed files… %2%").replace("%1", name)
        return text.replace("%2", str(int(100 * self.progress.fraction)))

    def verify_loaded_model(self) -> None:
        """Hash the loaded model's files again in Models (for a folder outside the models folder: Models)."""
        self.window.open_model_manager()
        engine, models = self.window.engine, self.window.models
        path = Path(engine.model["path"]).resolve() if engine.model else None
        local = models.listing.local if models.listing is not None else []
        name = next((m.name for m in local if path is not None and Path(m.path).resolve() == path), None)
        if name is not None:
            models.verify(name)

    def _reset(self, *_args) -> None:
        self.progress = None

    def _on_checking(self, progress) -> None:
        self.progress = progress
        self.window.show_loading()

    def _on_loaded(self, info: dict) -> None:
        """Once per folder and session: a folder outside the models folder loads, its files unchecked."""
        if info.get("unverified") and info["path"] not in self._told:
            self._told.add(info["path"])
            text = self.tr(
                "%1 is not in the models folder, so nothing checked that its files are the published ones. "
                "Import it in Models to verify it."
            ).replace("%1", Path(info["path"]).name)
            self.window.notice.show_notice(text, kind="info", timeout_ms=INFO_MS)

    def _on_turn_error(self, error: ErrorReport) -> None:
        if error.kind == "NonFiniteLogitsError":  # damaged files, likely: offer to hash them
            self.window.notice.show_error(error, actions=[("verify", self.tr("Verify the model"))])

    def _on_action(self, key: str) -> None:
        if key == "verify":
            self.verify_loaded_model()
