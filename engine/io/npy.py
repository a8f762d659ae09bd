"""The .npy file format (version 1.0), written and read without numpy, which the engine does not need.

Format: b"\\x93NUMPY", version 1.0, a little-endian uint16 header length, an ASCII dict literal padded
with spaces and a newline to a multiple of 64 bytes, then the raw C-order data.
"""

from __future__ import annotations

import ast
import ctypes
import sys
from pathlib import Path

import torch

MAGIC = b"\x93NUMPY"
_DESCR = {
    torch.float32: "<f4",
    torch.float64: "<f8",
    torch.float16: "<f2",
    torch.int64: "<i8",
    torch.int32: "<i4",
    torch.uint8: "|u1",
    torch.int8: "|i1",
    torch.bool: "|b1",
}
_DTYPE = {v: k for k, v in _DESCR.items()}
WRITE_CHUNK = 1 << 26  # bytes copied out of the tensor at a time


def write_npy(path: str | Path, tensor: torch.Tensor) -> None:
    assert sys.byteorder == "little", "the .npy descriptors here are little-endian"
    tensor = tensor.detach().to("cpu").contiguous()
    if tensor.dtype not in _DESCR:
        raise TypeError(f"no .npy descriptor for {tensor.dtype}; convert to float32 first")
    shape = repr(tuple(tensor.shape))  # "(3, 4)", "(3,)", "()" as numpy writes them
    header = f"{{'descr': '{_DESCR[tensor.dtype]}', 'fortran_order': False, 'shape': {shape}, }}"
    header = header.encode("latin1")
    header += b" " * (-(len(MAGIC) + 4 + len(header) + 1) % 64) + b"\n"
    with open(path, "wb") as f:
        f.write(MAGIC + b"\x01\x00" + len(header).to_bytes(2, "little") + header)
        base, total = tensor.data_ptr(), tensor.nbytes
        f.writelines(
            ctypes.string_at(base + offset, min(WRITE_CHUNK, total - offset))
            for offset in range(0, total, WRITE_CHUNK)
        )


def read_npy(path: str | Path) -> torch.Tensor:
    data = Path(path).read_bytes()
    if data[:6] != MAGIC:
        raise ValueError(f"{path} is not a .npy file")
    major = data[6]
    size_bytes = 2 if major == 1 else 4
    header_len = int.from_bytes(data[8 : 8 + size_bytes], "little")
    start = 8 + size_bytes
    header = ast.literal_eval(data[start : start + header_len].decode("latin1"))
    if header["fortran_order"] or header["descr"] not in _DTYPE:
        raise ValueError(f"{path}: unsupported .npy layout {header}")
    body = bytearray(data[start + header_len :])
    dtype = _DTYPE[header["descr"]]
    flat = torch.frombuffer(body, dtype=dtype) if body else torch.empty(0, dtype=dtype)
    return flat.reshape(header["shape"])
