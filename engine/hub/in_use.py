"""Which model folders are loaded right now, so they are not deleted or moved from under the engine.

The loader (or the app) holds a model while it is loaded::

    from engine.hub import in_use
    with in_use.hold(path):            # or: h = in_use.acquire(path) ... h.release()
        model = load_model(path)
        ...

A hold is a shared lock on a small file under ``user_data_dir()/locks`` named after the folder, plus a
count in this process; ``ModelStore.remove`` and ``move_root`` take the lock exclusively and raise
``ModelInUseError`` when they cannot. Locks vanish with the process that held them: a crash leaves none.
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from engine.errors import ModelInUseError
from engine.hub.fsutil import FileLock
from engine.paths import user_data_dir

_registry: Counter[str] = Counter()  # folder -> holds in this process
_registry_lock = threading.Lock()


def _key(path: Path | str) -> str:
    return os.path.normcase(os.path.realpath(path))


def _lock_path(key: str) -> Path:
    return user_data_dir() / "locks" / f"in-use-{hashlib.sha1(key.encode()).hexdigest()[:20]}.lock"


class Hold:
    """One hold on a model folder; release it when the model is unloaded (``release`` is idempotent)."""

    def __init__(self, path: Path | str):
        self.path = Path(path)
        self._key = _key(path)
        self._lock = FileLock(_lock_path(self._key))
        # Blocks only while a remove or move of this very folder is under way (seconds at most).
        self._lock.acquire(exclusive=False, blocking=True)
        with _registry_lock:
            _registry[self._key] += 1
        self._released = False

    def release(self) -> None:
        if self._released:
            return
        self._released = True
        with _registry_lock:
            _registry[self._key] -= 1
            if _registry[self._key] <= 0:
                del _registry[self._key]
        self._lock.release()

    def __enter__(self) -> Hold:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def acquire(path: Path | str) -> Hold:
    return Hold(path)


def release(hold: Hold) -> None:
    hold.release()


@contextmanager
def hold(path: Path | str) -> Iterator[Hold]:
    h = Hold(path)
    try:
        yield h
    finally:
        h.release()


def is_in_use(path: Path | str) -> bool:
    """True while this process or another one holds the folder."""
    key = _key(path)
    with _registry_lock:
        if _registry.get(key):
            return True
    probe = FileLock(_lock_path(key))
    if probe.acquire(exclusive=True, blocking=False):
        probe.release()
        return False
    return True


@contextmanager
def exclusive(paths: list[Path], what: str) -> Iterator[None]:
    """Keep the folders in ``paths`` from being loaded during the body; ModelInUseError if one is loaded."""
    taken: list[FileLock] = []
    try:
        for path in paths:
            key = _key(path)
            lock = FileLock(_lock_path(key))
            with _registry_lock:
                busy = bool(_registry.get(key))
            if busy or not lock.acquire(exclusive=True, blocking=False):
                raise ModelInUseError(
                    f"{what}: the model at {path} is loaded. Unload it (or close the app "
                    "window that uses it) and try again."
                )
            taken.append(lock)
        yield
    finally:
        for lock in taken:
            lock.release()
