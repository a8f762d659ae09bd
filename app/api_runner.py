"""Local API jobs on the app's engine thread: the app and the API server share one model and one thread.

``ApiRunner`` lives on the engine worker's QThread. The server's RequestQueue wakes it with a queued
signal for every job put in; its slot takes the next job and runs it on the worker's ChatSession, between
(never during) the chat's turns, so chats and API requests queue for the same GPU. Nothing it does reaches
the chat: no worker signal is emitted, so API requests never show in the chat or its history.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject, Qt, Signal, Slot

from engine.server.engine_thread import ModelInfo
from engine.server.jobs import RequestQueue


class ApiRunner(QObject):
    job_waiting = Signal()

    def __init__(self, worker) -> None:
        super().__init__()
        self.worker = worker
        self.moveToThread(worker.thread())
        # Queued: the slot runs on the engine thread whichever thread put the job in.
        self.job_waiting.connect(self._run_next, Qt.ConnectionType.QueuedConnection)

    @Slot()
    def _run_next(self) -> None:
        queue = getattr(self, "queue", None)
        job = queue.take_nowait() if queue is not None else None
        if job is not None:
            job.run(self.worker.session)


class AppEngineHost:
    """What the API server needs of the engine (``engine.server.app.create_app``'s ``host``): the queue, and
    the loaded model, which the GUI thread updates from the worker's signals."""

    def __init__(self, runner: ApiRunner) -> None:
        self.queue = RequestQueue(on_put=runner.job_waiting.emit)
        runner.queue = self.queue
        self._model: ModelInfo | None = None

    def model(self) -> ModelInfo | None:
        return self._model  # one attribute read: safe from the server's thread

    def set_model(self, info: dict | None) -> None:
        if not info:
            self._model = None
            return
        path = Path(info["path"])
        name = path.parent.name if path.name == "original" else path.name
        # a remote model may not say its context: the most gpt-oss takes, and its server refuses past its own
        self._model = ModelInfo(name or "gpt-oss", int(info.get("context_max") or 131072))
