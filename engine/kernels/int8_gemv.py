"""Triton GEMV for 8-bit weights: y = (x @ q^T) * scale + bias, reading the int8 bytes once.

For decode (a few rows of x): each program takes BN output rows and streams their int8 bytes as 32-bit
words (4 weights, 16-byte loads). A word becomes two fp16x2 registers by the exponent trick: with
u = w ^ 0x80808080 (bytes biased to 0..255), (u & 0x00FF00FF) | 0x64006400 holds 1024 + u0 and 1024 + u2
as fp16, and the same on u >> 8 gives bytes 1 and 3: one or two integer ops per 4 weights; subtracting
1152 in float32 gives the integers back exactly. The per-output-channel scale is applied once per row.
Imported only when Triton is usable; ``engine.layers.int8_linear`` holds the torch path and the module around it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import triton
import triton.language as tl

from .launch import launch
from .mxfp4_triton import _halves

MAX_ROWS = 4  # rows of x up to which the GEMV beats dequantize-and-matmul (weights re-read per row)


@triton.jit
def _unpack_i8x4(w, ASM: tl.constexpr):
    # uint32 [..., W] of 4 int8 -> float32 [..., W, 4], the 4 integers in order
    lo = ((w ^ 0x00800080) & 0x00FF00FF) | 0x64006400  # bytes 0 and 2, biased, as fp16 1024 + u
    hi = (((w >> 8) ^ 0x00800080) & 0x00FF00FF) | 0x64006400  # bytes 1 and 3
    b0, b2 = _halves(lo, ASM)
    b1, b3 = _halves(hi, ASM)
    t = tl.join(tl.join(b0, b2), tl.join(b1, b3))  # [..., x, y] = byte 2x + y
    return tl.reshape(t, w.shape + [4]) - 1152.0


@triton.jit
def _load_step(w_ptr, x_row, rows, n_mask, w0, K: tl.constexpr, BW: tl.constexpr):
    w = w0 + tl.arange(0, BW)
    i = tl.arange(0, 4)
    wq = tl.load(w_ptr + (rows[:, None] + w[None, :]), mask=n_mask[:, None] & (w < K // 4)[None, :], other=0)
    xv = tl.load(x_row + (w[:, None] * 4 + i[None, :]), mask=(w < K // 4)[:, None], other=0.0)
    return wq, xv


@triton.jit
def int8_gemv_kernel(x_ptr, w_ptr, s_ptr, b_ptr, out_ptr, N, stride_x, stride_out,
                     K: tl.constexpr, HAS_BIAS: tl.constexpr, BN: tl.constexpr, BW: tl.constexpr,
                     ASM: tl.constexpr):
    # grid (M, cdiv(N, BN)): row m of x, BN output channels; w: [N, K] int8 viewed as int32 [N, K/4]
    m = tl.program_id(0)  # fastest: programs on the same weight rows run together and share L2
    pid_n = tl.program_id(1)
    n = pid_n * BN + tl.arange(0, BN)
    n_mask = n < N
    rows = n.to(tl.int64) * (K // 4)
    x_row = x_ptr + m.to(tl.int64) * stride_x
    acc = tl.zeros([BN, BW], dtype=tl.float32)
    wq, xv = _load_step(w_ptr, x_row, rows, n_mask, 0, K, BW)
    for w0 in range(BW, K // 4 + BW, BW):  # software pipelined: load step i+1, then compute step i
        nq, nxv = _load_step(w_ptr, x_row, rows, n_mask, w0, K, BW)
        acc += tl.sum(_unpack_i8x4(wq.to(tl.uint32, bitcast=True), ASM) * xv.to(tl.float32)[None, :, :], axis=2)
        wq, xv = nq, nxv
    y = tl.sum(acc, axis=1) * tl.load(s_ptr + n, mask=n_mask, other=0.0).to(tl.float32)
    if HAS_BIAS:
        y += tl.load(b_ptr + n, mask=n_mask, other=0.0).to(tl.float32)
    tl.store(out_ptr + m.to(tl.int64) * stride_out + n, y.to(out_ptr.dtype.element_ty), mask=n_mask)


@dataclass(frozen=True)
class Int8Config:
    bn: int
    bw: int  # 32-bit words (4 weights) per row per loop step
    num_warps: int


def int8_config(out_features: int, in_features: int) -> Int8Config:
    """Rows per program: the projections (512..5120 rows) need small tiles to give every SM work."""
    bw = 128 if in_features >= 2048 else 64
    if out_features >= 65536:  # the unembedding: plenty of programs, bigger tiles reuse x more
        return Int8Config(bn=32, bw=bw, num_warps=4)
    if out_features >= 2048:
        return Int8Config(bn=8, bw=bw, num_warps=2)
    return Int8Config(bn=4, bw=bw, num_warps=1)


def supported(x: torch.Tensor, q: torch.Tensor) -> bool:
    return x.dim() == 2 and x.shape[0] <= MAX_ROWS and q.shape[1] % 16 == 0 and q.is_contiguous()


def int8_gemv(x: torch.Tensor, q: torch.Tensor, scale: torch.Tensor, bias: torch.Tensor | None = None,
              config: Int8Config | None = None) -> torch.Tensor:
    """x [M, K] bf16 (M small), q [N, K] int8, scale [N], bias [N] or None -> [M, N] in x's dtype."""
    M, K = x.shape
    N = q.shape[0]
    assert q.shape == (N, K) and scale.shape == (N,) and (bias is None or bias.shape == (N,)), \
        (x.shape, q.shape, scale.shape)
    assert q.dtype == torch.int8 and K % 16 == 0 and q.is_contiguous(), (q.dtype, K)
    x = x if x.stride(-1) == 1 else x.contiguous()
    cfg = config or int8_config(N, K)
    out = torch.empty(M, N, dtype=x.dtype, device=x.device)
    interpreted = x.device.type == "cpu"  # Triton's interpreter
    asm = not interpreted and os.environ.get("GOSSAMER_MXFP4_ASM", "1") != "0"
    grid = (M, triton.cdiv(N, cfg.bn))
    launch(int8_gemv_kernel, grid,
        x, q.view(torch.int32), scale, bias if bias is not None else scale, out, N, x.stride(0), out.stride(0),
        K=K, HAS_BIAS=bias is not None, BN=cfg.bn, BW=cfg.bw, ASM=asm, num_warps=cfg.num_warps)
    return out
