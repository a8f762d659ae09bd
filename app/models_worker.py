"""The model manager's work off the GUI thread: list, download, verify, remove, import, move the folder.

``ModelsWorker`` runs on its own QThread (downloads take hours; the engine thread stays free to chat).
``ModelsClient`` is the GUI side: it starts the thread, queues requests and holds the cancel flags of the
tasks queued and running. Only ``engine.hub`` is used here, imported inside the slots.

Quitting while a download, verify or import runs stops it where the hub stops on a cancel: between two
chunks, with what was fetched kept as a resumable ``.part`` and every manifest written whole (the hub
writes them atomically), so the next run continues. Tasks still queued are dropped unstarted. A task that
cannot be cancelled (moving the models folder, which the hub makes crash-safe anyway) is left to finish:
the window closes at once and the process waits for it at exit, so no write is cut short.
"""

from __future__ import annotations

import atexit
import logging
import threading
from collections import deque
from dataclasses import dataclass

from PySide6.QtCore import QCoreApplication, QObject, QThread, Signal, Slot

translate = QCoreApplication.translate

log = logging.getLogger(__name__)

# How long quitting waits for the worker. A cancelled download, verify or import stops within about a
# second (the hub checks its cancel flag between chunks, and closes a stalled connection at once); what
# takes longer cannot be cancelled and is left to finish after the window closes (see _outlive).
SHUTDOWN_WAIT_MS = 10_000


@dataclass(frozen=True)
class Listing:
    root: str
    local: list  # engine.hub.LocalModel
    catalog: list  # (engine.hub.CatalogEntry, engine.hub.FitEstimate | None)
    local_fits: dict  # LocalModel.path -> engine.hub.FitEstimate | None
    gpu: bool | None = None  # whether torch sees a CUDA device; None: not looked yet


class ModelsWorker(QObject):
    listed = Signal(object)  # Listing
    progressed = Signal(object)  # engine.hub.DownloadProgress
    # kind ("download" | "verify" | "check" | "remove" | "import" | "move"), model name (a folder for "check",
    # "import" and "move")
    task_started = Signal(str, str)
    task_finished = Signal(str, str, object)  # kind, name, result (LocalModel or None)
    task_failed = Signal(str, str, object)  # kind, name, app.engine_errors.ErrorReport
    task_cancelled = Signal(str, str)  # kind, name

    def __init__(self, closing: threading.Event | None = None) -> None:
        super().__init__()
        self._store = None
        self._fits: dict = {}  # catalog name or local path -> last estimate (probing imports torch)
        self._gpu: bool | None = None
        # set by ModelsClient.shutdown from the GUI thread: tasks not begun yet are dropped, no more listing
        self.closing = closing or threading.Event()

    def _models(self):
        if self._store is None:
            from engine.hub import ModelStore

            self._store = ModelStore()
        return self._store

    @Slot(bool)
    def refresh(self, with_fit: bool = True) -> None:
        if self.closing.is_set():
            return
        try:
            store = self._models()
            local = store.list()
            machine = None
            if with_fit:
                from engine.hub.fit import probe_machine

                machine = probe_machine(store.root)
                self._gpu = bool(machine.vram)
            catalog = [
                (entry, self._fit(entry.name, machine, lambda e=entry: store.fit(e)))
                for entry in store.catalog()
            ]
            local_fits = {
                model.path: self._fit(model.path, machine, lambda m=model: _local_fit(m, machine))
                for model in local
            }
            self.listed.emit(Listing(str(store.root), local, catalog, local_fits, self._gpu))
        except Exception as error:
            self._fail("list", "", error)

    def _fit(self, key, machine, estimate):
        if machine is not None:
            try:
                self._fits[key] = estimate()
            except Exception:  # an estimate is a nicety; never fail the list for it
                log.exception("fit estimate for %s failed", key)
        return self._fits.get(key)

    @Slot(str, object)
    def download(self, name: str, cancel: object) -> None:
        self._run(
            "download", name, lambda store: store.download(name, progress=self.progressed.emit, cancel=cancel)
        )

    @Slot(str, object)
    def verify(self, name: str, cancel: object) -> None:
        self._run(
            "verify",
            name,
            lambda store: store.verify(name, full=True, progress=self.progressed.emit, cancel=cancel),
        )

    @Slot(str)
    def check_folder(self, path: str) -> None:
        """A folder outside the models folder has no recorded checksums: check what can be checked without
        them, every file's header and every tensor's name, shape and type, as loading does."""

        def check(_store):
            from engine.io.checkpoint import Checkpoint

            Checkpoint.open(path).close()

        self._run("check", path, check)

    @Slot(str)
    def remove(self, name: str) -> None:
        self._run("remove", name, lambda store: store.remove(name))

    @Slot(str, bool, object)
    def import_folder(self, path: str, copy: bool, cancel: object) -> None:
        self._run(
            "import",
            path,
            lambda store: store.import_folder(path, copy=copy, progress=self.progressed.emit, cancel=cancel),
        )

    @Slot(str)
    def move_root(self, path: str) -> None:
        self._run("move", path, lambda store: store.move_root(path))

    def _run(self, kind: str, name: str, action) -> None:
        self.task_started.emit(kind, name)
        if self.closing.is_set():  # queued before the app began to quit: never started, nothing to undo
            self.task_cancelled.emit(kind, name)
            return
        try:
            from engine.hub import Cancelled

            result = action(self._models())
        except Cancelled:
            self.task_cancelled.emit(kind, name)
            self.refresh(False)
            return
        except Exception as error:
            self._fail(kind, name, error)
            self.refresh(False)
            return
        self.task_finished.emit(kind, name, result)
        self.refresh(True)

    def _fail(self, kind: str, name: str, error: Exception) -> None:
        from app.engine_errors import report

        failure = report(error, translate("ModelsWorker", "The model manager hit an unexpected problem."))
        if failure.traceback:
            log.error("%s %s failed", kind, name, exc_info=error)
        self.task_failed.emit(kind, name, failure)


def _local_fit(model, machine):
    """Where a model on disk would run: the planner's answer from its config, else its size alone."""
    from engine.errors import ModelFilesError
    from engine.hub.fit import config_from_json, estimate_fit, expert_bytes_from_config
    from engine.hub.layout import read_config

    size = model.total_bytes or model.size_bytes
    try:
        config = read_config(model.path / "config.json")
    except ModelFilesError:  # an incomplete download: judge it by its size
        config = None
    config = config if isinstance(config, dict) else None
    expert = expert_bytes_from_config(config) if config is not None and model.layout == "hf" else None
    if expert is None or expert >= size:
        expert = size * 3 // 4
    shape = config_from_json(config) if config is not None else None
    return estimate_fit(
        size,
        expert,
        size - expert,
        free_disk=size,
        ram=machine.ram,
        vram=machine.vram,
        config=shape,
        fused_kernels=getattr(machine, "fused_kernels", False),
    )


class ModelsClient(QObject):
    _refresh_requested = Signal(bool)
    _download_requested = Signal(str, object)
    _verify_requested = Signal(str, object)
    _remove_requested = Signal(str)
    _check_requested = Signal(str)
    _import_requested = Signal(str, bool, object)
    _move_requested = Signal(str)

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.thread = QThread()
        self.thread.setObjectName("models")
        self._closing = threading.Event()
        self.worker = ModelsWorker(self._closing)
        self.worker.moveToThread(self.thread)
        self.thread.finished.connect(self.worker.deleteLater)
        self._refresh_requested.connect(self.worker.refresh)
        self._download_requested.connect(self.worker.download)
        self._verify_requested.connect(self.worker.verify)
        self._remove_requested.connect(self.worker.remove)
        self._check_requested.connect(self.worker.check_folder)
        self._import_requested.connect(self.worker.import_folder)
        self._move_requested.connect(self.worker.move_root)
        self.worker.task_started.connect(self._on_started)
        for signal in (self.worker.task_finished, self.worker.task_failed, self.worker.task_cancelled):
            signal.connect(self._on_ended)
        self.worker.listed.connect(self._on_listed)
        self.listing: Listing | None = None
        self.task: tuple[str, str] | None = None  # (kind, name) while one runs
        self._queued = 0
        # the cancel flag of each request not yet started, in order (None: the task cannot be cancelled),
        # and of the one running
        self._pending: deque[threading.Event | None] = deque()
        self._cancel: threading.Event | None = None
        self.thread.start()

    @property
    def busy(self) -> bool:
        return self._queued > 0

    def refresh(self, with_fit: bool = True) -> None:
        self._refresh_requested.emit(with_fit)

    def download(self, name: str) -> None:
        self._download_requested.emit(name, self._queue(threading.Event()))

    def verify(self, name: str) -> None:
        self._verify_requested.emit(name, self._queue(threading.Event()))

    def remove(self, name: str) -> None:
        self._queue(None)
        self._remove_requested.emit(name)

    def check_folder(self, path: str) -> None:
        self._queue(None)
        self._check_requested.emit(path)

    def import_folder(self, path: str, copy: bool = False) -> None:
        self._import_requested.emit(path, copy, self._queue(threading.Event()))

    def move_root(self, path: str) -> None:
        self._queue(None)
        self._move_requested.emit(path)

    def _queue(self, cancel: threading.Event | None) -> threading.Event | None:
        self._queued += 1
        self._pending.append(cancel)
        return cancel

    def cancel(self) -> None:
        """Stop the task that runs (before it is reported started: the one asked for last)."""
        if self.task is not None:
            target = self._cancel
        else:
            target = next((event for event in reversed(self._pending) if event is not None), None)
        if target is not None:
            target.set()

    def shutdown(self, wait_ms: int = SHUTDOWN_WAIT_MS) -> bool:
        """Stop the worker at a safe point, for quitting: the running task is cancelled (a download keeps
        its resumable part), queued ones are dropped, and the thread is waited for. False when it did not
        end within ``wait_ms`` (a task that cannot be cancelled): it is then left to finish, and the process
        waits for it when it exits instead of destroying a thread that is writing. Safe to call twice."""
        self._closing.set()
        for event in [self._cancel, *self._pending]:
            if event is not None:
                event.set()
        self.thread.quit()
        if self.thread.wait(wait_ms):
            return True
        kind, name = self.task or ("a task", "")
        log.warning(
            "the models worker is still busy (%s %s) after %d ms; it finishes before the app exits",
            kind,
            name,
            wait_ms,
        )
        _outlive(self.thread, self.worker)
        return False

    def _on_started(self, kind: str, name: str) -> None:
        self.task = (kind, name)
        self._cancel = self._pending.popleft() if self._pending else None

    def _on_ended(self, kind: str, name: str, *_args) -> None:
        if kind == "list":
            return
        self._queued = max(0, self._queued - 1)
        self.task = None
        self._cancel = None

    def _on_listed(self, listing: Listing) -> None:
        self.listing = listing


_outliving: list = []  # (QThread, ModelsWorker) still running after their client shut down


def _outlive(thread: QThread, worker: ModelsWorker) -> None:
    """Keep a worker thread that is still busy alive past its window (its client and parent may go), and
    wait for it when Python exits: destroying a running QThread aborts the process mid-write."""
    if not _outliving:
        atexit.register(_wait_for_outliving)
    _outliving.append((thread, worker))


def _wait_for_outliving() -> None:
    for thread, _worker in _outliving:
        if thread.isRunning():
            log.warning("waiting for the models worker to finish before exiting")
            thread.wait()
    _outliving.clear()
