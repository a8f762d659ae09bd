"""The API key: made once, kept in the user's config folder readable by its owner only.

A server on a desktop is reachable by every program the user runs, so it never runs without a key; the
key lives in a file (not the settings INI, which backups and bug reports carry) with mode 0600.
"""

from __future__ import annotations

import os
import secrets
import stat
from pathlib import Path

from engine.errors import EngineError
from engine.paths import user_config_dir

KEY_FILE = "api-key"
PREFIX = "gsm-"


class KeyFileError(EngineError):
    """The key file cannot be read or written."""


def key_path() -> Path:
    return user_config_dir() / KEY_FILE


def load_or_create_key(path: Path | None = None) -> str:
    """The key kept in ``path`` (default ``key_path()``); a new random one is written there when there is
    none. The file's permissions are (re)set to owner-only either way."""
    path = path or key_path()
    try:
        key = path.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        key = ""
    except (OSError, UnicodeDecodeError) as error:
        raise KeyFileError(
            f"Cannot read the API key file {path}: {error}. Delete it to get a new key."
        ) from error
    if key:
        _owner_only(path)
        return key
    return new_key(path)


def new_key(path: Path | None = None) -> str:
    """Write a fresh random key to ``path`` (replacing any) and return it: clients using the old one stop
    working."""
    path = path or key_path()
    key = PREFIX + secrets.token_urlsafe(32)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_name(path.name + ".tmp")
        temporary.unlink(missing_ok=True)
        # Created with 0600 from the start: never readable by others, not even for a moment.
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8") as file:
            file.write(key + "\n")
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except OSError as error:
        raise KeyFileError(
            f"Cannot write the API key file {path}: {error.strerror or error}. "
            "Check that the folder is writable, or pass a key with --api-key."
        ) from error
    _owner_only(path)
    return key


def _owner_only(path: Path) -> None:
    if os.name != "posix":  # Windows: the file is in the user's profile, which only they can read
        return
    try:
        if stat.S_IMODE(path.stat().st_mode) != 0o600:
            path.chmod(0o600)
    except OSError as error:
        raise KeyFileError(
            f"Cannot make the API key file {path} private: {error.strerror or error}."
        ) from error
