"""The engine on its own thread: the only module of the app that touches ``engine.runtime.loader``/``engine.runtime.session``.

``EngineWorker`` is a QObject moved to a QThread (see ``app.engine_client``). Its slots run there, one at
a time; what happens comes back as signals named for events, which Qt queues to the GUI thread. Text is
batched: deltas are merged and sent about every ``BATCH_S`` seconds, so a fast model cannot flood the
GUI's event loop. torch and the engine are imported inside the slots, after the window has painted.
"""

from __future__ import annotations

import logging
import threading
import time

from PySide6.QtCore import QCoreApplication, QObject, Signal, Slot

from app.engine_errors import ErrorReport, report

translate = QCoreApplication.translate

BATCH_S = 0.03
REMOTE_PREFIX = "remote:"  # engine.remote.servers.PREFIX, without importing the engine before it is needed

log = logging.getLogger(__name__)


class EngineWorker(QObject):
    model_loading = Signal(str)  # folder
    model_checking = Signal(object)  # engine.hub.DownloadProgress: files hashed again before the load
    model_loaded = Signal(object)  # dict: path, description (English: the log), facts, device, context_max
    model_load_failed = Signal(str, object)  # folder, app.engine_errors.ErrorReport
    model_unloaded = Signal()
    turn_started = Signal(int, object)  # turn id, prompt token ids (what the model was shown)
    text_streamed = Signal(int, object)  # turn id, [(channel, text, tokens)] in order
    tool_called = Signal(int, object)  # turn id, {"id", "type", "function": {"name", "arguments"}}
    turn_finished = Signal(int, str, object)  # turn id, reason, usage dict
    turn_failed = Signal(int, object)  # turn id, app.engine_errors.ErrorReport
    engine_notice = Signal(object, object)  # engine.notices.Notice (how the engine now runs), facts after it
    context_fitted = Signal(int, object)  # turn id, engine.runtime.overflow.ContextFitted.as_dict()

    def __init__(self) -> None:
        super().__init__()
        self._model = None
        self._session = None
        self._hold = None
        self._path: str | None = None

    @property
    def session(self):
        """The loaded ChatSession (None without one), for other jobs on this thread (app/api_runner.py)."""
        return self._session

    # loading
    @Slot(str, str, object, int, bool)
    def load(
        self, path: str, device: str, vram_budget: object, context_length: int, cuda_graphs: bool = True
    ) -> None:
        """device: "auto", "cuda" or "cpu"; vram_budget: bytes or None; context_length: 0 = the largest the
        GPU holds without offloading experts (engine/runtime/auto_context.py); cuda_graphs: False turns them
        off (True: the engine's default, which GOSSAMER_CUDA_GRAPHS=0 can override). ``path`` may also be a
        remote model's key (engine.remote.servers): the worker connects instead."""
        self.model_loading.emit(path)
        self._release()
        if path.startswith(REMOTE_PREFIX):
            self._connect(path)
            return
        try:
            import torch

            from engine.hub import check_before_load, in_use
            from engine.runtime.auto_context import automatic_context
            from engine.runtime.loader import load_model
            from engine.runtime.session import ChatSession
            from engine.runtime.settle import settle

            if device == "auto":
                device = "cuda" if torch.cuda.is_available() else "cpu"
            automatic = not context_length
            hold = in_use.acquire(path)
            try:
                if automatic:  # the CPU gets no budget below, so none here either
                    context_length = automatic_context(path, device, vram_budget if device != "cpu" else None)
                notices: list = []  # engine.notices.Notice
                # files changed since they were verified are hashed again first (VerificationError if wrong)
                check = check_before_load(path, progress=self.model_checking.emit)
                model = load_model(
                    path,
                    device=device,
                    # On the CPU a budget would only simulate a GPU (a tool for tests), so none is passed.
                    vram_budget=vram_budget if device != "cpu" else None,
                    context_length=context_length or None,
                    notify=notices.append,
                    cuda_graphs=None if cuda_graphs else False,
                )
                settle(model)  # a CPU model's streamed weights into huge pages, while "loading" shows
                session = ChatSession(model, context_length=context_length or None)
            except BaseException:
                hold.release()
                raise
        except Exception as error:  # shown to the user; never kills the thread
            failure = report(error, translate("EngineWorker", "The model could not be loaded."))
            log.log(
                logging.ERROR if failure.traceback else logging.INFO,
                "load of %s failed: %s",
                path,
                failure.message,
                exc_info=bool(failure.traceback),
            )
            self.model_load_failed.emit(path, failure)
            return
        self._model, self._session, self._hold, self._path = model, session, hold, path
        info = {
            "path": path,
            "description": _describe(model),
            "facts": _facts(model),
            "device": str(getattr(model, "device", device)),
            "context_max": session.context_length,
            "context_auto": automatic,
            "context_choices": _context_choices(model),
            "unverified": check.note is not None,  # a folder outside the models folder: nothing checked it
        }
        log.info("loaded %s: %s", path, info["description"])
        self.model_loaded.emit(info)
        for notice in notices:  # an out-of-memory while loading made the plan offload more
            self.engine_notice.emit(notice, info["facts"])

    def _connect(self, key: str) -> None:
        """A model on a saved server: ask it for its models (a server down, a rejected key or a dropped model
        is said now, as a load failure), then turns go to it through a RemoteSession."""
        try:
            from engine.remote.servers import open_session

            session = open_session(key)
        except Exception as error:  # shown to the user; never kills the thread
            failure = report(error, translate("EngineWorker", "The model could not be loaded."))
            log.info("connecting to %s failed: %s", key, failure.message, exc_info=bool(failure.traceback))
            self.model_load_failed.emit(key, failure)
            return
        self._session, self._path = session, key
        info = {
            "path": key,
            "description": session.describe(),
            "facts": None,  # no device here: the server's own
            "device": "remote",
            "context_max": session.context_length,
            "remote": session.client.host,
            "server_url": session.client.base_url,
            "model_id": session.model_id,
        }
        log.info("connected to %s", info["description"])
        self.model_loaded.emit(info)

    @Slot()
    def unload(self) -> None:
        if self._model is not None or self._session is not None:
            self._release()
            self.model_unloaded.emit()

    def _release(self) -> None:
        client = getattr(self._session, "client", None)  # a RemoteSession's connections
        if client is not None:
            client.close()
        self._session = None
        self._model = None
        if self._hold is not None:
            self._hold.release()
            self._hold = None
        if self._path is not None:
            remote, self._path = self._path.startswith(REMOTE_PREFIX), None
            if remote:
                return
            try:
                import gc

                import torch

                gc.collect()
                if torch.cuda.is_available():
                    torch.cuda.empty_cache()
            except ImportError:
                pass

    # generating
    @Slot(int, object, object, object, object)
    def generate(
        self, turn_id: int, messages: object, settings: object, cancel: object, continue_from: object = None
    ) -> None:
        """Run one turn; ``settings`` is a dict of GenerationSettings fields, ``cancel`` a threading.Event,
        ``continue_from`` None or the answer so far to go on with (ChatSession.generate's)."""
        if self._session is None:
            message = translate(
                "EngineWorker", "No model is loaded. Choose a model in Models, then try again."
            )
            self.turn_failed.emit(turn_id, ErrorReport("", message))
            return
        batch: list[list] = []
        broken = None  # a TurnEnd("error"): a remote stream broke; its error follows
        try:
            from engine.notices import Notice
            from engine.runtime.overflow import ContextFitted
            from engine.runtime.session import GenerationSettings
            from engine.text.harmony.events import TextDelta, ToolCall, TurnEnd

            generation = GenerationSettings(**settings)
            events = self._session.generate(
                list(messages), generation, cancel=cancel, continue_from=continue_from
            )
            sent = time.monotonic()
            started = False
            for event in events:
                if isinstance(event, ContextFitted):  # before the prompt is made: not yet started
                    self.context_fitted.emit(turn_id, event.as_dict())
                    continue
                if not started and not (isinstance(event, Notice) and event.kind == "summarizing"):
                    started = True
                    self.turn_started.emit(turn_id, list(self._session.last_turn.prompt_ids))
                if isinstance(event, TextDelta):
                    if batch and batch[-1][0] == event.channel:
                        batch[-1][1] += event.text
                        batch[-1][2] += 1
                    else:
                        batch.append([event.channel, event.text, 1])
                elif isinstance(event, Notice):
                    log.warning("engine: %s", event.text)
                    self.engine_notice.emit(event, _facts(self._model))
                elif isinstance(event, ToolCall):
                    self._flush(turn_id, batch)
                    self.tool_called.emit(
                        turn_id,
                        {
                            "id": event.call_id,
                            "type": "function",
                            "function": {"name": event.name, "arguments": event.arguments},
                        },
                    )
                elif isinstance(event, TurnEnd) and event.reason == "error":
                    self._flush(turn_id, batch)  # the text so far is kept; the error is raised next
                    broken = event
                elif isinstance(event, TurnEnd):
                    self._flush(turn_id, batch)
                    usage = event.usage.as_dict() if event.usage is not None else {}
                    self.turn_finished.emit(turn_id, event.reason, usage)
                    return
                now = time.monotonic()
                if batch and now - sent >= BATCH_S:
                    self._flush(turn_id, batch)
                    sent = now
            self._flush(turn_id, batch)
            if broken is not None:
                self.turn_finished.emit(turn_id, "error", broken.usage.as_dict() if broken.usage else {})
                return
            self.turn_finished.emit(
                turn_id, "cancelled" if cancel is not None and cancel.is_set() else "return", {}
            )
        except Exception as error:
            self._flush(turn_id, batch)  # what streamed before the error is part of the answer
            failure = report(error, translate("EngineWorker", "The answer could not be generated."))
            log.log(
                logging.ERROR if failure.traceback else logging.INFO,
                "turn %d failed: %s",
                turn_id,
                failure.message,
                exc_info=bool(failure.traceback),
            )
            self.turn_failed.emit(turn_id, failure)

    def _flush(self, turn_id: int, batch: list[list]) -> None:
        if batch:
            self.text_streamed.emit(turn_id, [tuple(item) for item in batch])
            batch.clear()


def _describe(model) -> str:
    try:
        return str(model.describe())
    except Exception:  # a summary is not worth failing a load over
        log.exception("model.describe() failed")
        return ""


def _facts(model) -> dict | None:
    try:
        from engine.runtime import cpu_kernels
        from engine.runtime.loader import torch_fallback

        # torch_fallback: why a CUDA model runs the slower PyTorch path (no Triton...), for the status bar;
        # cpu_kernels and cpu_fallback: a CPU model's expert kernels, and why slower ones run (a failure)
        return {**model.facts(), "torch_fallback": torch_fallback(model), **cpu_kernels.facts(model)}
    except Exception:  # the status bar's words are not worth failing a load over either
        log.exception("model.facts() failed")
        return None


def _context_choices(model) -> list[dict]:
    """Each usual context length's plan at the model's budget, for Settings (engine/runtime/auto_context)."""
    try:
        from engine.runtime.auto_context import choices_for

        return [choice.as_dict() for choice in choices_for(model)]
    except Exception:  # Settings then lists the lengths without their cost
        log.exception("planning the context choices failed")
        return []


def cancel_event() -> threading.Event:
    return threading.Event()
