"""Memory in transparent huge pages (2 MiB) for weights the CPU streams every token.

A model's weights are mapped from its files, so the page cache backs them in 4 KiB pages: streaming 1.2 GB
of unembedding or 50 MB of experts a layer takes a TLB miss every 4 KiB, each a page-table walk (two in a
virtual machine). The same bytes in 2 MiB pages read faster: measured on the development VM (Intel Xeon,
2 threads), the experts' kernel 1.58x, the unembedding's GEMV 1.10x, a whole decode token 1.08x
(docs/benchmarks.md). Linux only gives file pages 2 MiB mappings in special cases (``MADV_COLLAPSE`` fails
on ext4 there), so the weights are copied into anonymous memory that asks for huge pages
(engine/runtime/settle.py decides when).

``supported()`` says whether this system can: Linux with transparent huge pages set to "always" or
"madvise". Elsewhere (Windows, macOS, THP "never") a copy would buy nothing, so none is made.
"""

from __future__ import annotations

import functools
import mmap
import sys
from pathlib import Path

import torch

HUGE_PAGE = 2 * 1024 * 1024
THP_SETTING = Path("/sys/kernel/mm/transparent_hugepage/enabled")


@functools.cache
def supported() -> bool:
    """Linux with transparent huge pages on ("[always]" or "[madvise]" in THP_SETTING)."""
    if not sys.platform.startswith("linux") or not hasattr(mmap, "MADV_HUGEPAGE"):
        return False
    try:
        setting = THP_SETTING.read_text()
    except OSError:
        return False
    return "[always]" in setting or "[madvise]" in setting


def empty(nbytes: int) -> torch.Tensor:
    """nbytes of anonymous memory as a uint8 tensor, starting on a 2 MiB boundary and advised into huge pages
    (where ``supported``). The mapping lives as long as the tensor (and its views) do."""
    if nbytes <= 0:
        return torch.empty(0, dtype=torch.uint8)
    # private: a shared anonymous mapping is shmem, whose huge pages follow another setting (often "never")
    flags = getattr(mmap, "MAP_PRIVATE", 0) | getattr(mmap, "MAP_ANONYMOUS", 0)
    mapping = mmap.mmap(-1, nbytes + HUGE_PAGE, flags=flags) if flags else mmap.mmap(-1, nbytes + HUGE_PAGE)
    base = torch.frombuffer(mapping, dtype=torch.uint8, count=1)  # only to learn the mapping's address
    offset = -base.data_ptr() % HUGE_PAGE
    del base
    if supported():
        mapping.madvise(mmap.MADV_HUGEPAGE, offset, nbytes)
    return torch.frombuffer(mapping, dtype=torch.uint8, count=nbytes, offset=offset)


def copy_of(tensor: torch.Tensor, chunk_bytes: int = 64 * 1024 * 1024, after_chunk=None) -> torch.Tensor:
    """A contiguous copy of a CPU ``tensor`` in ``empty`` memory, the same dtype and shape. after_chunk(lo,
    hi): called after the source's bytes lo..hi (of its contiguous form) are copied, so that a caller can drop
    a file's pages as they are copied (peak memory: the copy plus one chunk)."""
    source = tensor.contiguous().reshape(-1).view(torch.uint8)
    out = empty(source.numel())
    for lo in range(0, source.numel(), chunk_bytes):
        hi = min(lo + chunk_bytes, source.numel())
        out[lo:hi].copy_(source[lo:hi])
        if after_chunk is not None:
            after_chunk(lo, hi)
    return out.view(tensor.dtype).view(tensor.shape)
