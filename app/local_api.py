"""The app's Local API: the loaded model served to other programs (engine/server), switched on in Settings.

``LocalApi`` starts and stops the server as the settings say, shares the engine thread with the chats
(app/api_runner.py), keeps the key (engine.server.keys: owner-only, in the config folder), counts the
requests served for the status bar and writes one log line for each (never its text).
"""

from __future__ import annotations

import logging

from PySide6.QtCore import QObject, Signal

from app import settings as keys
from app.api_runner import ApiRunner, AppEngineHost
from app.widgets.api_indicator import ApiIndicator

log = logging.getLogger(__name__)
API_KEYS = (keys.API_ENABLED, keys.API_PORT)


class LocalApi(QObject):
    state_changed = Signal()  # started, stopped, or failed to start (``error``)
    request_served = Signal(object)  # engine.server.guard.RequestRecord, from the server's thread

    def __init__(self, window) -> None:
        super().__init__(window)
        self.settings = window.settings
        self.runner = ApiRunner(window.engine.worker)
        self.host = AppEngineHost(self.runner)
        self.server = None  # engine.server.runner.ApiServer while running
        self.error = ""  # why the server did not start, in the user's words
        self.served = 0
        self.indicator = ApiIndicator(window.status)
        window.status.addPermanentWidget(self.indicator)
        worker = window.engine.worker
        # Slots of this QObject, so they run on the GUI thread after the window's own (connected first)
        worker.model_loaded.connect(self._on_model_loaded)
        worker.model_unloaded.connect(self._on_model_gone)
        worker.model_loading.connect(self._on_model_gone)
        self.request_served.connect(self._on_request)
        self.state_changed.connect(self._show)
        self.apply()

    @property
    def running(self) -> bool:
        return self.server is not None

    @property
    def base_url(self) -> str:
        return self.server.base_url if self.server is not None else ""

    def key(self) -> str:
        from engine.server.keys import load_or_create_key

        return load_or_create_key()

    def apply(self, changed: set[str] | None = None) -> None:
        """Start, stop or restart the server as the settings now say."""
        if changed is not None and not changed & set(API_KEYS):
            return
        enabled = self.settings.get(keys.API_ENABLED)
        port = self.settings.get(keys.API_PORT)
        if self.server is not None and (not enabled or port not in (0, self.server.port)):
            self.stop()
        if enabled and self.server is None:
            self.start(port)

    def start(self, port: int) -> None:
        from engine.errors import EngineError
        from engine.server.runner import ApiServer

        self.error = ""
        try:
            server = ApiServer(self.host, key=self.key(), port=port, on_request=self.request_served.emit)
            server.start()
        except EngineError as error:
            self.error = self.tr(
                "The Local API could not start on port %1. Choose another port in Settings."
            ).replace("%1", str(port))
            log.warning("the local API did not start: %s", error)
        else:
            self.server = server
            log.info("local API serving at %s", server.base_url)
        self.state_changed.emit()

    def stop(self) -> None:
        """Stop serving; requests waiting or running are abandoned (the chat's turns go on)."""
        if self.server is None:
            return
        server, self.server = self.server, None
        server.stop()
        log.info("local API stopped")
        self.state_changed.emit()

    def _on_model_loaded(self, info: dict) -> None:
        self.host.set_model(info)

    def _on_model_gone(self, *_args) -> None:
        self.host.set_model(None)

    def _on_request(self, record) -> None:
        # engine.server.guard has written its log line (method, path, status, time; never the text)
        if record.path.startswith("/v1/") and record.status < 400:
            self.served += 1
        self._show()

    def _show(self) -> None:
        self.indicator.show_state(self.running, self.served, self.base_url, self.error)
