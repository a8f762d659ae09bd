"""safetensors files, read by hand: the header validated against the file's size before anything is
mapped, then every tensor a zero-copy view of one read-only memory map.

A truncated download, a garbage header or offsets past the end are caught here, from the header and
the file size alone, so they become ModelFilesError naming the file instead of a crash in torch.
"""

from __future__ import annotations

import mmap
import os
import warnings
from dataclasses import dataclass
from pathlib import Path

from engine.errors import ModelFilesError
from engine.userfiles import InvalidJSONError, open_regular, parse_json

MAX_HEADER_BYTES = 100 * 1024 * 1024  # the safetensors library's own limit
REDOWNLOAD = "Verify or re-download the model in the model manager."

# safetensors dtype -> bytes per element; the torch dtype is looked up lazily (no torch import here).
DTYPE_SIZES = {
    "BOOL": 1,
    "U8": 1,
    "I8": 1,
    "F8_E4M3": 1,
    "F8_E5M2": 1,
    "E8M0": 1,
    "I16": 2,
    "U16": 2,
    "F16": 2,
    "BF16": 2,
    "I32": 4,
    "U32": 4,
    "F32": 4,
    "I64": 8,
    "U64": 8,
    "F64": 8,
}
_TORCH_DTYPES = {
    "BF16": "bfloat16",
    "U8": "uint8",
    "F32": "float32",
    "F16": "float16",
    "I64": "int64",
    "I32": "int32",
    "I8": "int8",
    "I16": "int16",
    "F64": "float64",
    "BOOL": "bool",
}


@dataclass(frozen=True)
class TensorInfo:
    name: str
    dtype: str  # safetensors spelling: "BF16", "U8", ...
    shape: tuple[int, ...]
    start: int  # absolute byte offsets in the file
    end: int


class SafetensorsFile:
    """One ``.safetensors`` file: its validated header, and tensors as views of a read-only mapping."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.tensors: dict[str, TensorInfo] = {}
        self._mmap: mmap.mmap | None = None
        self._parse()

    def _fail(self, what: str) -> ModelFilesError:
        return ModelFilesError(f"{self.path} is truncated or corrupt: {what}. {REDOWNLOAD}")

    def _parse(self) -> None:
        with open_regular(self.path, "weights file") as f:  # a pipe or device is refused unopened
            try:
                size = os.fstat(f.fileno()).st_size
                head = f.read(8)
                if len(head) < 8:
                    raise self._fail(f"the file has only {size} bytes")
                header_len = int.from_bytes(head, "little")
                if header_len > MAX_HEADER_BYTES or 8 + header_len > size:
                    raise self._fail(f"its header claims {header_len} bytes but the file has {size}")
                raw = f.read(header_len)
            except OSError as error:
                raise ModelFilesError(f"{self.path} cannot be read ({error.strerror}).") from None
        try:
            header = parse_json(raw, self.path)
        except InvalidJSONError as error:
            raise self._fail(f"its header is not valid JSON ({error.reason})") from None
        if not isinstance(header, dict):
            raise self._fail("its header is not a JSON object")
        data_start, data_size = 8 + header_len, size - 8 - header_len
        for name, entry in header.items():
            if name == "__metadata__":
                continue
            info = self._check_entry(name, entry, data_size)
            self.tensors[name] = TensorInfo(
                name, info[0], info[1], data_start + info[2], data_start + info[3]
            )
        self._check_tiling(data_start, data_size)
        self.size = size

    def _check_tiling(self, data_start: int, data_size: int) -> None:
        """The spans cover the data area exactly, in order: no overlap, no gap, nothing after the last, as
        the format requires (its reference library refuses such files too). Two tensors sharing bytes, a
        span shifted by a byte or two, or bytes no tensor owns all mean a damaged header."""
        at = 0
        for info in sorted(self.tensors.values(), key=lambda t: (t.start, t.end)):
            begin, end = info.start - data_start, info.end - data_start
            if begin < at:
                raise self._fail(f"tensor {info.name} (data bytes {begin} to {end}) overlaps another tensor")
            if begin > at:
                raise self._fail(f"data bytes {at} to {begin} belong to no tensor (before {info.name})")
            at = end
        if at != data_size:
            raise self._fail(f"the last {data_size - at} bytes of data belong to no tensor")

    def _check_entry(self, name: str, entry: object, data_size: int) -> tuple[str, tuple[int, ...], int, int]:
        try:
            dtype, shape, (begin, end) = entry["dtype"], tuple(entry["shape"]), entry["data_offsets"]
            ok = (
                dtype in DTYPE_SIZES
                and all(isinstance(n, int) and not isinstance(n, bool) and n >= 0 for n in shape)
                and isinstance(begin, int)
                and isinstance(end, int)
                and 0 <= begin <= end
            )
        except (TypeError, KeyError, ValueError):
            ok = False
        if not ok:
            raise self._fail(f"the header entry for tensor {name} is malformed")
        numel = 0 if 0 in shape else 1
        for n in shape:
            numel *= n
            if numel > data_size:  # stop before a product of many huge dimensions grows without bound
                break
        if end - begin != numel * DTYPE_SIZES[dtype]:
            raise self._fail(
                f"tensor {name} spans {end - begin} bytes, its shape {list(shape)[:8]} {dtype} needs "
                f"{numel * DTYPE_SIZES[dtype]}"
            )
        if end > data_size:
            raise self._fail(
                f"tensor {name} ends at data byte {end} but the file holds only {data_size} bytes "
                "of data (an interrupted download?)"
            )
        return dtype, shape, begin, end

    def tensor(self, name: str):
        """A zero-copy view of tensor ``name`` (CPU, read-only: never write to it)."""
        import torch

        info = self.tensors[name]
        dtype = getattr(torch, _TORCH_DTYPES[info.dtype])
        if info.end == info.start:
            return torch.empty(info.shape, dtype=dtype)
        if self._mmap is None:
            with open(self.path, "rb") as f:
                # ACCESS_READ (MAP_SHARED, read-only): no commit charge, pages come and go with the page cache.
                self._mmap = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # "buffer is not writable": we never write to it
            flat = torch.frombuffer(
                self._mmap, dtype=torch.uint8, count=info.end - info.start, offset=info.start
            )
        if dtype.itemsize > 1:
            if info.start % dtype.itemsize:
                flat = flat.clone()  # misaligned: a private copy (safetensors writers align, so this is rare)
            flat = flat.view(dtype)
        return flat.view(info.shape)

    def release(self, name: str) -> None:
        """Drop this tensor's pages from our resident set once it has been copied elsewhere (a GPU)."""
        info = self.tensors[name]
        self.release_bytes(info.start, info.end)

    def release_bytes(self, start: int, end: int) -> None:
        """``release`` for the file's bytes start..end (the pages holding them)."""
        if self._mmap is None or not hasattr(mmap, "MADV_DONTNEED") or end <= start:
            return
        start -= start % mmap.PAGESIZE
        self._mmap.madvise(mmap.MADV_DONTNEED, start, end - start)

    def close(self) -> None:
        if self._mmap is not None:
            try:
                self._mmap.close()
            except BufferError:  # views still alive (a CPU model): the mapping goes with them
                pass
            self._mmap = None
