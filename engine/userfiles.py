"""Files from a user's model folder, read with limits: regular files only, JSON of bounded size and shape.

A model folder is data from anywhere (a download, a copy, a hand-edited config), so nothing in it may make
the engine hang, crash with a traceback or take unbounded memory: a FIFO named like a weights file would
block ``open`` forever, a 100,000-deep ``[[[...]]]`` raises RecursionError in ``json``, and a 5,000-digit
integer raises ValueError (Python's digit limit). Each of those becomes a ModelFilesError naming the file.
"""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path
from typing import BinaryIO

from engine.errors import ModelFilesError

MAX_DEPTH = 32  # gpt-oss's config.json nests 3 deep, a safetensors header 3, an index 2
MAX_NUMBER_CHARS = 40  # a 64-bit byte offset has 20 digits; floats like 1.0000000000000001e-05 fit too
MAX_CONFIG_BYTES = 4 * 1024 * 1024  # config.json / an index: a few kB on the Hub


class InvalidJSONError(ModelFilesError):
    """A user's JSON that cannot be used; ``reason`` says why, without the file's name."""

    def __init__(self, where: Path | str, reason: str):
        self.reason = reason
        super().__init__(f"{where} is not valid JSON: {reason}. {_ADVICE}")


class _Refused(ValueError):
    """Raised inside ``json.loads`` hooks; turned into ModelFilesError by ``parse_json``."""


def check_regular(path: Path, what: str = "file") -> os.stat_result:
    """``path``'s stat, if it is a regular file (a FIFO, device or socket is refused without opening it)."""
    try:
        info = os.stat(path)
    except FileNotFoundError:
        raise ModelFilesError(
            f"{path} is missing. Verify or re-download the model in the model manager."
        ) from None
    except OSError as error:
        raise ModelFilesError(f"{path} cannot be read ({error.strerror}).") from None
    if not stat.S_ISREG(info.st_mode):
        raise ModelFilesError(
            f"{path} is not a regular file (a pipe, device or socket), so it cannot be a model's {what}. "
            "Replace it with the real file, or re-download the model in the model manager."
        )
    return info


def open_regular(path: Path, what: str = "file") -> BinaryIO:
    """``path`` opened for reading, after ``check_regular``; checked again on the open file (no race)."""
    check_regular(path, what)
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
    try:
        fd = os.open(path, flags)
    except OSError as error:
        raise ModelFilesError(f"{path} cannot be read ({error.strerror}).") from None
    if not stat.S_ISREG(os.fstat(fd).st_mode):  # swapped for a pipe between the stat and the open
        os.close(fd)
        raise ModelFilesError(f"{path} is not a regular file, so it cannot be a model's {what}.")
    if hasattr(os, "set_blocking"):
        os.set_blocking(fd, True)
    return os.fdopen(fd, "rb")


def parse_json(data: bytes | str, where: Path | str) -> object:
    """JSON text from a user's file; ModelFilesError naming ``where`` for anything malformed or absurd."""
    try:
        text = data.decode("utf-8") if isinstance(data, bytes) else data
        value = json.loads(text, parse_int=_int, parse_float=_float)
    except RecursionError:
        raise InvalidJSONError(where, "it is nested too deeply") from None
    except (UnicodeDecodeError, ValueError) as error:  # _Refused too
        raise InvalidJSONError(where, str(error)) from None
    if _depth(value) > MAX_DEPTH:
        raise InvalidJSONError(where, f"it nests more than {MAX_DEPTH} levels deep")
    return value


def read_json(path: Path, max_bytes: int = MAX_CONFIG_BYTES, what: str = "file") -> object:
    """A JSON file of a model folder, bounded in size and shape; ModelFilesError naming it otherwise."""
    size = check_regular(path, what).st_size
    if size > max_bytes:
        raise ModelFilesError(
            f"{path} is {size} bytes, more than a model's {what} can be ({max_bytes}). {_ADVICE}"
        )
    with open_regular(path, what) as f:
        data = f.read(max_bytes + 1)
    return parse_json(data, path)


_ADVICE = "Verify or re-download the model in the model manager."


def _int(text: str) -> int:
    if len(text) > MAX_NUMBER_CHARS:
        raise _Refused(f"it holds a {len(text)}-digit number")
    return int(text)


def _float(text: str) -> float:
    if len(text) > MAX_NUMBER_CHARS:
        raise _Refused(f"it holds a {len(text)}-character number")
    return float(text)


def _depth(value: object) -> int:
    """How deep ``value`` nests, counted without recursion (json.loads itself stops near 1,000)."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            item = list(item.values())
        if isinstance(item, list):
            deepest = max(deepest, depth)
            if depth > MAX_DEPTH:
                return depth
            stack.extend((child, depth + 1) for child in item if isinstance(child, (list, dict)))
    return deepest
