"""Memory sizes as people write them ("12GiB", "12 GB", "12000MB", "8G", bytes) and as we print them.

Binary units (KiB, MiB, GiB, TiB) are powers of 1024, decimal ones (kB, MB, GB, TB) powers of 1000;
single letters (K, M, G, T) are binary, as in ``free -h``, Docker and llama.cpp, since GPU memory is
sold in binary gibibytes ("16 GB" cards have 16 GiB). We always print binary units (``format_size``).
"""

from __future__ import annotations

import math
import re

KiB, MiB, GiB, TiB = 1024, 1024**2, 1024**3, 1024**4

_UNITS = {
    "": 1,
    "b": 1,
    "byte": 1,
    "bytes": 1,
    "k": KiB,
    "kib": KiB,
    "kb": 1000,
    "m": MiB,
    "mib": MiB,
    "mb": 1000**2,
    "g": GiB,
    "gib": GiB,
    "gb": 1000**3,
    "t": TiB,
    "tib": TiB,
    "tb": 1000**4,
}
_SIZE = re.compile(r"^\s*(\d+(?:\.\d*)?|\.\d+)\s*([a-zA-Z]*)\s*$")


def parse_size(text: str | int) -> int:
    """ "12GiB" -> 12884901888; an int passes through. Raises ValueError with the accepted forms."""
    if isinstance(text, bool):
        raise ValueError(f"not a size: {text!r}")  # noqa: TRY004 - callers catch ValueError for any bad size
    if isinstance(text, int):
        if text < 0:
            raise ValueError(f"a size cannot be negative: {text}")
        return text
    match = _SIZE.match(str(text))
    unit = match and _UNITS.get(match.group(2).lower())
    if not match or unit is None:
        raise ValueError(
            f"{text!r} is not a size; write bytes or a number with a unit, e.g. 12GiB, 12GB, "
            "12000MB, 8G (K/M/G/T alone are binary)"
        )
    value = float(match.group(1)) * unit
    if not math.isfinite(value):
        raise ValueError(f"{text!r} is too large")
    return round(value)


def format_size(nbytes: float, digits: int = 1) -> str:
    """Bytes in the largest binary unit that keeps the number at least 1: "11.8 GiB", "512 MiB"."""
    sign, n = ("-" if nbytes < 0 else ""), abs(nbytes)
    for unit, size in (("TiB", TiB), ("GiB", GiB), ("MiB", MiB), ("KiB", KiB)):
        if n >= size:
            value = n / size
            text = f"{value:.{digits}f}" if value < 100 else f"{value:.0f}"
            return f"{sign}{text} {unit}"
    return f"{sign}{int(n)} B"


def format_gib(nbytes: float, digits: int = 2) -> str:
    """Always GiB, for columns that must line up: "11.80 GiB", "0.21 GiB"."""
    return f"{nbytes / GiB:.{digits}f} GiB"
