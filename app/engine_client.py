"""The GUI thread's handle on the engine worker: starts its thread, sends it requests, stops it.

Requests go to the worker as queued signals; its event signals are connected directly by whoever
listens (they arrive on the GUI thread). A turn is cancelled with a ``threading.Event`` the worker's
session checks before every token; nothing else is shared between the threads.
"""

from __future__ import annotations

import itertools
import logging
import threading

from PySide6.QtCore import QObject, QThread, Signal

from app.worker import EngineWorker

log = logging.getLogger(__name__)
SHUTDOWN_WAIT_MS = 15000


class EngineClient(QObject):
    _load_requested = Signal(str, str, object, int, bool)
    _unload_requested = Signal()
    _generate_requested = Signal(int, object, object, object, object)

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.thread = QThread()
        self.thread.setObjectName("engine")
        self.worker = EngineWorker()
        self.worker.moveToThread(self.thread)
        self.thread.finished.connect(self.worker.deleteLater)
        self._load_requested.connect(self.worker.load)
        self._unload_requested.connect(self.worker.unload)
        self._generate_requested.connect(self.worker.generate)
        self.worker.model_loading.connect(self._on_loading)
        self.worker.model_loaded.connect(self._on_loaded)
        self.worker.model_load_failed.connect(self._on_load_failed)
        self.worker.model_unloaded.connect(self._on_unloaded)
        self.worker.turn_finished.connect(self._on_turn_over)
        self.worker.turn_failed.connect(self._on_turn_over)
        self._turn_ids = itertools.count(1)
        self._cancel: threading.Event | None = None
        self.turn_id: int | None = None  # the running turn
        self.model: dict | None = None  # what model_loaded said, while loaded
        self.loading_path: str | None = None
        self._pending_loads = 0
        self.thread.start()

    # state
    @property
    def busy(self) -> bool:
        return self.turn_id is not None

    @property
    def loading(self) -> bool:
        return self._pending_loads > 0

    # requests
    def load(
        self,
        path: str,
        device: str = "auto",
        vram_budget: int | None = None,
        context_length: int = 0,
        cuda_graphs: bool = True,
    ) -> None:
        self.stop()
        self._pending_loads += 1
        self.loading_path = path
        self._load_requested.emit(path, device, vram_budget, int(context_length), bool(cuda_graphs))

    def unload(self) -> None:
        self.stop()
        self._unload_requested.emit()

    def generate(self, messages: list[dict], settings: dict, continue_from: dict | None = None) -> int:
        """Start a turn; ``continue_from``: an answer cut short that the model goes on writing."""
        assert self.turn_id is None, "one turn at a time"
        turn_id = next(self._turn_ids)
        self._cancel = threading.Event()
        self.turn_id = turn_id
        self._generate_requested.emit(turn_id, messages, settings, self._cancel, continue_from)
        return turn_id

    def stop(self) -> None:
        if self._cancel is not None:
            self._cancel.set()

    def shutdown(self) -> bool:
        """Cancel what runs, stop the thread; False if it did not end in time (a long prefill)."""
        self.stop()
        self._unload_requested.emit()
        self.thread.quit()
        finished = self.thread.wait(SHUTDOWN_WAIT_MS)
        if not finished:
            log.warning("the engine thread did not stop within %d ms", SHUTDOWN_WAIT_MS)
        return finished

    # bookkeeping from the worker's events
    def _on_loading(self, path: str) -> None:
        self.model = None

    def _on_loaded(self, info: dict) -> None:
        self._pending_loads = max(0, self._pending_loads - 1)
        self.model = info

    def _on_load_failed(self, *_args) -> None:
        self._pending_loads = max(0, self._pending_loads - 1)
        self.model = None

    def _on_unloaded(self) -> None:
        self.model = None

    def _on_turn_over(self, turn_id: int, *_args) -> None:
        if turn_id == self.turn_id:
            self.turn_id = None
            self._cancel = None
