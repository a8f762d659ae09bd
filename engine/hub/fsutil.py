"""Small file-system helpers: atomic JSON writes, advisory file locks, byte counts for people."""

from __future__ import annotations

import errno
import json
import os
import tempfile
from pathlib import Path
from typing import Any

from engine import userfiles
from engine.errors import ModelFilesError
from engine.userfiles import MAX_CONFIG_BYTES

# errno values that mean "no room to write": a full disk, a quota, or a file-size limit (RLIMIT_FSIZE).
DISK_FULL_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG})


def atomic_write_json(path: Path, data: Any) -> None:
    """Write JSON so a reader sees the old file or the new one, never half of one (temp, fsync, rename)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(data, f, indent=2, sort_keys=False)
            f.write("\n")
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    fsync_dir(path.parent)


def fsync_dir(path: Path) -> None:
    """Make a rename in ``path`` durable (POSIX; directories cannot be opened on Windows)."""
    if os.name != "posix":
        return
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def read_json(path: Path, max_bytes: int = MAX_CONFIG_BYTES) -> Any | None:
    """The parsed file, or None when it is missing, not a regular file, too big, or not valid JSON (a user
    may have edited it); read with engine.userfiles' limits, so no file makes this hang or raise."""
    if not path.exists():
        return None
    try:
        return userfiles.read_json(path, max_bytes)
    except ModelFilesError:
        return None


class FileLock:
    """An advisory lock on a file, released when the holder closes it or its process dies (no stale locks).

    POSIX uses ``flock``, which is per open file, so two threads of one process exclude each other too.
    Windows has only exclusive locks (``msvcrt.locking``); there a shared request is taken as exclusive.
    """

    def __init__(self, path: Path):
        self.path = path
        self._fd: int | None = None

    def acquire(self, *, exclusive: bool = True, blocking: bool = False) -> bool:
        """True when taken; False when someone else holds it and ``blocking`` is False."""
        assert self._fd is None, f"{self.path} is already held by this object"
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            taken = _lock(fd, exclusive, blocking)
        except BaseException:
            os.close(fd)
            raise
        if not taken:
            os.close(fd)
            return False
        self._fd = fd
        return True

    def release(self) -> None:
        if self._fd is not None:
            fd, self._fd = self._fd, None
            os.close(fd)  # closing drops the lock

    def __enter__(self) -> FileLock:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def _lock(fd: int, exclusive: bool, blocking: bool) -> bool:
    if os.name == "nt":  # pragma: no cover - exercised on Windows only
        import msvcrt

        mode = msvcrt.LK_LOCK if blocking else msvcrt.LK_NBLCK
        try:
            msvcrt.locking(fd, mode, 1)
        except OSError:
            return False
        return True
    import fcntl

    flags = (fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH) | (0 if blocking else fcntl.LOCK_NB)
    try:
        fcntl.flock(fd, flags)
    except BlockingIOError:
        return False
    return True


def human_bytes(n: float) -> str:
    """1234567 -> '1.2 MB' (decimal units, as disks and the Hub count)."""
    for unit in ("B", "kB", "MB", "GB"):
        if abs(n) < 1000:
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n:.1f} TB"


def existing_ancestor(path: Path) -> Path:
    """The nearest folder at or above ``path`` that exists (to ask for free space before creating it)."""
    path = path.absolute()
    while not path.exists() and path.parent != path:
        path = path.parent
    return path
