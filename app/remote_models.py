"""Models on the servers a person saved (engine.remote.servers), for the model picker and the Models window.

A remote model is chosen like a local one: its key (``remote:SERVER_ID/MODEL_ID``) goes where a model
folder goes (``MainWindow.load_model``, the last-model setting), and the engine worker connects instead of
loading. For the header's model picker: ``choices()`` gives (key, label, detail) entries and ``activate``
chooses one. Talking to a server never happens on the GUI thread: ``ServerProbe`` lists a server's models on
a thread of its own and answers with a signal.
"""

from __future__ import annotations

import itertools
import logging
import threading

from PySide6.QtCore import QCoreApplication, QObject, Signal

from app.engine_errors import report

translate = QCoreApplication.translate
PREFIX = "remote:"

log = logging.getLogger(__name__)


def store():
    from engine.remote.servers import ServerStore

    return ServerStore()


def is_remote(key: str | None) -> bool:
    return bool(key) and str(key).startswith(PREFIX)


def choices() -> list[tuple[str, str, str]]:
    """Every saved server's models as (key, label, detail): the model's id, and "remote · HOST"."""
    remote = translate("RemoteModels", "remote")
    return [
        (server.model_key(model.id), model.id, f"{remote} · {server.name}")
        for server in store().servers()
        for model in server.models
    ]


def label(key: str) -> str:
    """How a remote model is named in the window: "MODEL on HOST" (the key itself if its server is gone)."""
    for choice_key, model, detail in choices():
        if choice_key == key:
            return (
                translate("RemoteModels", "%1 on %2")
                .replace("%1", model)
                .replace("%2", detail.partition(" · ")[2])
            )
    return key[len(PREFIX) :].partition("/")[2] or key


def server_of(key: str):
    """The saved server (engine.remote.servers.SavedServer) of the remote model ``key``; None when gone."""
    if not is_remote(key):
        return None
    server_id = key[len(PREFIX) :].partition("/")[0]
    return next((server for server in store().servers() if server.id == server_id), None)


def show_where(status, info: dict) -> None:
    """The status bar's "where it runs" for a remote model the worker connected to (its ``model_loaded``
    info): the server as the person named it, its address, and that the conversation is sent there."""
    server = server_of(info["path"])
    status.set_remote(
        server.name if server is not None else info.get("remote", ""),
        info.get("server_url") or (server.url if server is not None else ""),
        info.get("model_id") or info["path"][len(PREFIX) :].partition("/")[2],
        info.get("context_max"),
    )


def activate(window, key: str) -> None:
    """Chat with the remote model ``key`` from now on: the window connects to it as it loads a folder."""
    window.load_model(key)


class ServerProbe(QObject):
    """Lists a server's models on a thread; ``answered(request, models, error)`` comes on the GUI thread with
    a list of engine.remote.RemoteModel, or None and an app.engine_errors.ErrorReport."""

    answered = Signal(int, object, object)

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self._requests = itertools.count(1)

    def probe(self, url: str, api_key: str | None, timeout_s: float = 15.0) -> int:
        request = next(self._requests)
        threading.Thread(
            target=self._run, args=(request, url, api_key, timeout_s), name="server-probe", daemon=True
        ).start()
        return request

    def refresh(self, server_id: str, timeout_s: float = 15.0) -> int:
        """List a saved server's models again (with its stored key) and save the list."""
        request = next(self._requests)
        threading.Thread(
            target=self._run_saved, args=(request, server_id, timeout_s), name="server-probe", daemon=True
        ).start()
        return request

    def _run(self, request: int, url: str, api_key: str | None, timeout_s: float) -> None:
        from engine.remote.client import RemoteClient

        try:
            client = RemoteClient(url, api_key, timeout_s=timeout_s)
            try:
                models = client.list_models()
            finally:
                client.close()
        except Exception as error:  # worded for the dialog
            self.answered.emit(
                request, None, report(error, translate("RemoteModels", "The server did not answer."))
            )
            return
        self.answered.emit(request, models, None)

    def _run_saved(self, request: int, server_id: str, timeout_s: float) -> None:
        saved = store()
        try:
            server = saved.get(server_id)
            client = saved.client(server, timeout_s)
            try:
                models = client.list_models()
            finally:
                client.close()
            saved.set_models(server_id, models)
        except Exception as error:
            log.info("listing the models of server %s failed: %s", server_id, error)
            self.answered.emit(
                request, None, report(error, translate("RemoteModels", "The server did not answer."))
            )
            return
        self.answered.emit(request, models, None)
