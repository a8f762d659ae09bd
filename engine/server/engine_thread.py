"""The standalone server's engine: a thread that owns the ChatSession and runs queued jobs one by one.

(In the app the engine thread is the app's own: see app/api_runner.py. Both take jobs from a
``RequestQueue`` and run them on the one thread that owns the session.)
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass

from engine.server.jobs import RequestQueue

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ModelInfo:
    """What /v1/models says about the loaded model."""

    id: str
    context_length: int
    created: int = 0
    owned_by: str = "gossamer"


class EngineThread:
    """Runs jobs from ``queue`` on ``session`` on its own thread; ``model()`` is constant."""

    def __init__(self, session, model_id: str, queue: RequestQueue | None = None) -> None:
        self.session = session
        self.info = ModelInfo(model_id, int(session.context_length))
        self.queue = queue or RequestQueue()
        self._thread = threading.Thread(target=self._loop, name="engine", daemon=True)
        self._thread.start()

    def model(self) -> ModelInfo | None:
        return self.info

    def _loop(self) -> None:
        while not self.queue.closed:
            job = self.queue.take(timeout=0.5)
            if job is not None:
                job.run(self.session)

    def stop(self, timeout: float = 10.0) -> None:
        """Refuse new jobs, end the waiting ones, and wait for the running one to see its cancel."""
        from engine.server.errors import ApiError

        for job in self.queue.close():
            job.fail(ApiError(503, "The server is shutting down."))
        self._thread.join(timeout)
        if self._thread.is_alive():
            log.warning("the engine thread did not stop within %.0f s", timeout)
