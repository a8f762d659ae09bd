"""Progress reports for downloads, verification and imports: bytes, speed, time left; and cancelling."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from engine.errors import EngineError

SPEED_WINDOW_S = 5.0  # speed over the last few seconds: steady enough to read, quick to follow a change
REPORT_EVERY_S = 0.1  # at most ten reports a second; the GUI repaints from them


class Cancelled(EngineError):
    """The user stopped it. What was done is kept: running it again continues where it stopped."""


@dataclass(frozen=True)
class DownloadProgress:
    model: str
    phase: str  # "download" | "verify" | "copy"
    file: str | None  # the file being worked on (repo-relative path)
    bytes_done: int  # of bytes_total, counting bytes already on disk from an earlier run
    bytes_total: int
    speed_bps: float  # bytes per second over the last few seconds of this run; 0.0 until known
    eta_s: float | None  # seconds left at that speed; None while unknown
    files_done: int
    files_total: int

    @property
    def fraction(self) -> float:
        return self.bytes_done / self.bytes_total if self.bytes_total else 1.0


ProgressCallback = Callable[[DownloadProgress], None]


class ProgressTracker:
    """Counts bytes for one operation and calls the callback, throttled, with a ``DownloadProgress``."""

    def __init__(
        self,
        model: str,
        phase: str,
        bytes_total: int,
        files_total: int,
        callback: ProgressCallback | None,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.model = model
        self.phase = phase
        self.bytes_total = bytes_total
        self.files_total = files_total
        self.bytes_done = 0
        self.files_done = 0
        self.file: str | None = None
        self._callback = callback
        self._clock = clock
        self._moved = 0
        self._samples: deque[tuple[float, int]] = deque([(clock(), 0)])  # (time, bytes moved this run)
        self._last_report = -1e9

    def start_file(self, name: str) -> None:
        self.file = name
        self.report(force=True)

    def skip(self, num_bytes: int) -> None:
        """Bytes already there (finished files, partial files being continued): done, but not speed."""
        self.bytes_done += num_bytes
        self.report()

    def advance(self, num_bytes: int) -> None:
        """Bytes moved now (downloaded, hashed or copied): done, and counted in the speed."""
        self.bytes_done += num_bytes
        self._moved += num_bytes
        self.report()

    def rewind(self, num_bytes: int) -> None:
        """A partial file was thrown away (the server's copy changed, or its bytes were wrong)."""
        self.bytes_done -= num_bytes
        self.report(force=True)

    def finish_file(self) -> None:
        self.files_done += 1
        self.report(force=True)

    def snapshot(self) -> DownloadProgress:
        now = self._clock()
        samples = self._samples
        samples.append((now, self._moved))
        while len(samples) > 2 and now - samples[1][0] >= SPEED_WINDOW_S:
            samples.popleft()
        (t0, b0), (t1, b1) = samples[0], samples[-1]
        speed = (b1 - b0) / (t1 - t0) if t1 - t0 >= 0.2 else 0.0
        left = max(self.bytes_total - self.bytes_done, 0)
        eta = left / speed if speed > 0 else (0.0 if left == 0 else None)
        return DownloadProgress(
            self.model,
            self.phase,
            self.file,
            self.bytes_done,
            self.bytes_total,
            speed,
            eta,
            self.files_done,
            self.files_total,
        )

    def report(self, force: bool = False) -> None:
        if self._callback is None:
            return
        now = self._clock()
        if not force and now - self._last_report < REPORT_EVERY_S:
            return
        self._last_report = now
        self._callback(self.snapshot())
