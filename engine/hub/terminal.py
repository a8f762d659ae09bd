"""The hub's progress on a terminal, and the check before a load as the command-line tools run it.

``python -m engine models`` draws its bar with ``TerminalProgress``; every command that loads a model
(generate, chat, logits, bench, serve) calls ``check_on_terminal`` first, so a file changed since it was
verified is hashed again before it is used, with the bar and the same words the app's status line has.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from engine.hub.fsutil import human_bytes
from engine.hub.trust import check_before_load


def check_on_terminal(path: str | Path, stream=None) -> str | None:
    """Before loading the model folder ``path``: files that changed since they were verified are hashed
    again, with a progress bar on stderr (engine.hub.trust; a mismatch raises VerificationError, which
    says what to do). Returns the note to print once the model has loaded (a folder outside the models
    folder: its files are unverified), so that a load that fails says only why."""
    stream = stream or sys.stderr
    bar = TerminalProgress(stream)
    try:
        check = check_before_load(path, progress=bar)
    finally:
        bar.close()
    if check.rehashed:
        changed = ", ".join(check.rehashed)
        print(f"note: {changed} changed since verified; hashed again, they match", file=stream)
    return check.note


class TerminalProgress:
    """A progress bar on stderr (bytes, speed, time left); plain lines when stderr is not a terminal."""

    def __init__(self, stream=None):
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty()
        self._last_line = 0.0
        self._dirty = False

    def __call__(self, p) -> None:
        now = time.monotonic()
        if not self.tty and now - self._last_line < 2.0 and p.bytes_done < p.bytes_total:
            return
        self._last_line = now
        width = 24
        filled = int(width * p.fraction)
        eta = "--:--" if p.eta_s is None else _clock(p.eta_s)
        speed = f"{human_bytes(p.speed_bps)}/s" if p.speed_bps else "-"
        line = (
            f"{p.phase} {p.model} [{'#' * filled}{'.' * (width - filled)}] {100 * p.fraction:5.1f}% "
            f"{human_bytes(p.bytes_done)}/{human_bytes(p.bytes_total)} {speed} ETA {eta} "
            f"({p.files_done}/{p.files_total}) {p.file or ''}"
        )
        if self.tty:
            self.stream.write("\r" + line[:200].ljust(120))
            self._dirty = True
        else:
            self.stream.write(line + "\n")
        self.stream.flush()

    def close(self) -> None:
        if self._dirty:
            self.stream.write("\n")
            self.stream.flush()
            self._dirty = False


def _clock(seconds: float) -> str:
    seconds = int(seconds)
    hours, rest = divmod(seconds, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60}:{rest % 60:02d}"
