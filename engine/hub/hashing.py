"""sha256 of a file's bytes, and git's blob sha1 (the id the Hub gives small files kept in git, not LFS)."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable
from pathlib import Path

from engine.hub.progress import Cancelled

CHUNK_BYTES = 1 << 20


class FileHasher:
    """Hashes bytes as they are written or read, so a download needs no second pass to be verified.

    git names a blob by ``sha1(b"blob <size>\\0" + data)``; the size must be known up front, which it is
    (the Hub's metadata gives it), so that hash can run alongside sha256 in the same pass.
    """

    def __init__(self, git_size: int | None = None):
        self._sha256 = hashlib.sha256()
        self._sha1 = None
        if git_size is not None:
            self._sha1 = hashlib.sha1(b"blob %d\0" % git_size)
        self.num_bytes = 0

    def update(self, data: bytes | memoryview) -> None:
        self._sha256.update(data)
        if self._sha1 is not None:
            self._sha1.update(data)
        self.num_bytes += len(data)

    def sha256(self) -> str:
        return self._sha256.hexdigest()

    def git_sha1(self) -> str | None:
        return None if self._sha1 is None else self._sha1.hexdigest()

    def feed_file(
        self,
        path: Path,
        on_bytes: Callable[[int], None] | None = None,
        cancel: threading.Event | None = None,
    ) -> None:
        """Hash a whole file (or a resumed download's partial bytes); ``on_bytes(n)`` reports progress."""
        with open(path, "rb", buffering=0) as f:
            buffer = bytearray(CHUNK_BYTES)
            view = memoryview(buffer)
            while n := f.readinto(buffer):
                if cancel is not None and cancel.is_set():
                    raise Cancelled(f"Stopped while reading {path.name}.")
                self.update(view[:n])
                if on_bytes is not None:
                    on_bytes(n)


def git_blob_sha1(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()
