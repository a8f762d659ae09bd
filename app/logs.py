"""The app's log file under ``user_data_dir()/logs``: errors with tracebacks, loads, crashes."""

from __future__ import annotations

import logging
import logging.handlers
import sys
from pathlib import Path

from engine.paths import user_data_dir

FILE_NAME = "gossamer.log"
_configured = False


def log_dir() -> Path:
    return user_data_dir() / "logs"


def log_file() -> Path:
    return log_dir() / FILE_NAME


def setup() -> Path:
    """Log INFO and up to a rotating file, and log uncaught exceptions before Python prints them."""
    global _configured
    path = log_file()
    if _configured:
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    handler = logging.handlers.RotatingFileHandler(path, maxBytes=2_000_000, backupCount=3, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(threadName)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    previous = sys.excepthook

    def excepthook(kind, value, tb) -> None:
        logging.getLogger("gossamer").critical("uncaught exception", exc_info=(kind, value, tb))
        previous(kind, value, tb)

    sys.excepthook = excepthook
    _configured = True
    return path
