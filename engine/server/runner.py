"""Serving the API application with uvicorn on a thread of its own, started and stopped from outside.

uvicorn with Starlette is a real ASGI stack (HTTP/1.1 parsing, keep-alive, chunked bodies, graceful
shutdown) that vLLM and most OpenAI-compatible servers also stand on; nothing here parses HTTP by hand.
The same handle serves ``python -m engine serve`` and the app's Local API switch.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable

from engine.errors import EngineError
from engine.server.app import create_app
from engine.server.guard import RequestRecord

log = logging.getLogger(__name__)
LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")
START_TIMEOUT_S = 15.0


class ServerError(EngineError):
    """The server could not start (the port is taken, the address is not this machine's, ...)."""


class ApiServer:
    """uvicorn serving ``create_app(host, ...)`` on a background thread. ``port`` 0 picks a free port;
    ``start()`` returns once requests are accepted, and ``port`` is then the real one."""

    def __init__(
        self,
        host,
        *,
        key: str,
        bind: str = "127.0.0.1",
        port: int = 8642,
        allow_origins: tuple[str, ...] = (),
        on_request: Callable[[RequestRecord], None] | None = None,
    ) -> None:
        if not key:
            raise ServerError("The server needs an API key.")
        self.bind = bind
        self.port = port
        self.app = create_app(
            host, key=key, bound_host=bind, allow_origins=allow_origins, on_request=on_request
        )
        self._server = None
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None

    @property
    def base_url(self) -> str:
        host = f"[{self.bind}]" if ":" in self.bind else self.bind
        return f"http://{host}:{self.port}/v1"

    def start(self) -> None:
        import uvicorn

        config = uvicorn.Config(
            self.app,
            host=self.bind,
            port=self.port,
            log_level="warning",
            lifespan="off",
            access_log=False,
            timeout_graceful_shutdown=3,
            ws="none",
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._run, name="api-server", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + START_TIMEOUT_S
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                known = self._error is not None and not isinstance(self._error, SystemExit)
                reason = f": {self._error}" if known else " (is the port already in use?)"
                raise ServerError(
                    f"The API server could not start on {self.bind}:{self.port}{reason}. "
                    "Choose another port, or stop the program that uses this one."
                )
            time.sleep(0.02)
        sockets = [sock for server in self._server.servers for sock in server.sockets]
        if sockets:
            self.port = sockets[0].getsockname()[1]

    def _run(self) -> None:
        try:
            asyncio.run(self._server.serve())
        except BaseException as error:  # reported by start(); SystemExit is uvicorn failing to bind
            self._error = error
            log.warning("the API server stopped: %r", error)

    def stop(self) -> None:
        """Abandon every queued and running request, then stop accepting and wait for the thread."""
        self.app.state.abandon_all()
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(10)
            if self._thread.is_alive():
                self._server.force_exit = True
                self._thread.join(5)
        self._thread = None

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()
