"""How much RAM this machine has, and how much of it a plan may fill with experts kept in host memory.

Experts that do not fit the GPU stay in pinned (page-locked) host memory: pinned pages cannot be swapped
out, so a plan that pins more than the machine can spare would starve the desktop. The planner refuses such
a placement with a reason (engine.placement.plan, ``PlanOptions.host_memory``). No torch needed.
"""

from __future__ import annotations

import ctypes
import os
import sys

from engine.placement.memory import GiB

HOST_RESERVE_MIN = 4 * GiB  # left to the OS, the desktop, the app and its Python: pinned memory is never swapped
HOST_RESERVE_FRACTION = 0.10


def physical_ram() -> int | None:
    """Bytes of physical memory, or None where it cannot be read."""
    if sys.platform == "win32":
        return _windows_ram()
    if hasattr(os, "sysconf") and "SC_PHYS_PAGES" in os.sysconf_names:
        try:
            return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
        except (ValueError, OSError):
            return None
    return None


def host_memory_for(ram: int) -> int:
    """The bytes of ``ram`` a plan may keep in host memory: all of it less a reserve for everything else."""
    return max(0, ram - max(HOST_RESERVE_MIN, int(HOST_RESERVE_FRACTION * ram)))


def auto_host_memory() -> int | None:
    """``host_memory_for`` this machine's RAM; None when it cannot be read (then nothing is checked)."""
    ram = physical_ram()
    return None if ram is None else host_memory_for(ram)


def _windows_ram() -> int | None:
    class MemoryStatus(ctypes.Structure):
        _fields_ = [
            ("length", ctypes.c_ulong),
            ("memory_load", ctypes.c_ulong),
            ("total_phys", ctypes.c_ulonglong),
            ("avail_phys", ctypes.c_ulonglong),
            ("total_page_file", ctypes.c_ulonglong),
            ("avail_page_file", ctypes.c_ulonglong),
            ("total_virtual", ctypes.c_ulonglong),
            ("avail_virtual", ctypes.c_ulonglong),
            ("avail_extended_virtual", ctypes.c_ulonglong),
        ]

    status = MemoryStatus()
    status.length = ctypes.sizeof(MemoryStatus)
    try:
        if not ctypes.windll.kernel32.GlobalMemoryStatusEx(ctypes.byref(status)):  # type: ignore[attr-defined]
            return None
    except (AttributeError, OSError):
        return None
    return int(status.total_phys)
