"""The numba functions behind engine/kernels/cpu_bf16.py, compiled on first use and cached on disk.

A bf16 number is the high half of a float32, so widening a weight is a shift: the loops below vectorize
(AVX2: widen, shift, FMA) and read each weight once, as its two stored bytes.

Inputs, biases and outputs come either as float32 arrays or as bf16 bits (int16 views of the tensors:
engine/kernels/cpu_bits.py). With bits the input is widened once per call, each output rounded to bf16 as it
is written, and a bias of length 0 means none, so the caller converts nothing.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from engine.kernels.cpu_bits import bf16_bits, floats, store, to_bf16, value, widen

ROWS_PER_CHUNK = 64  # GEMV: weight rows a chunk of work holds (64 x 2880 bf16 = 360 KB: one stream per thread)
TILE_ROWS = 16  # GEMM: weight rows widened at once (16 x 2880 float32 = 184 KB, in L2)
TOKEN_BLOCK = 4  # GEMM: input rows multiplied together against one widened weight row (four accumulators)
CHUNKS_PER_THREAD = 8  # GEMM: load balance on a busy machine; each chunk has its own tile, allocated up front

jit = njit(cache=True, nogil=True, parallel=True, fastmath={"reassoc", "contract", "nsz"}, error_model="numpy")
BITS_SOURCE = "1586952ebdcce718"  # sha256 of cpu_bits.py (first 16 hex digits): numba's cache does not see it


@njit(cache=True, nogil=True, error_model="numpy")
def bias_at(bias, n):
    # bias[n] as float32 (float32 or bf16 bits); 0 for an empty bias (none)
    return value(bias, n) if bias.shape[0] else np.float32(0.0)


@njit(cache=True, nogil=True, fastmath={"reassoc", "contract", "nsz"}, error_model="numpy", inline="always")
def gemv_chunk(x, w, bias, out, chunk):
    # the rows of one chunk of gemv's work; x float32
    for n in range(chunk * ROWS_PER_CHUNK, min((chunk + 1) * ROWS_PER_CHUNK, w.shape[0])):
        wn = w[n]
        for t in range(x.shape[0]):
            xt = x[t]
            s = np.float32(0.0)
            for k in range(w.shape[1]):
                s += np.uint32(np.uint32(wn[k]) << np.uint32(16)).view(np.float32) * xt[k]
            store(out, t, n, s + bias_at(bias, n))


@jit
def gemv(x, w, bias, out):
    # out[t, n] = sum_k x[t, k] * w[n, k] + bias[n] in float32; x [T, K] (a few rows), w [N, K] uint16
    # (bf16 bits), bias [N] (zeros or length 0 for none), out [T, N]: float32 or bf16 bits (see the docstring)
    xf = floats(x)
    for chunk in prange((w.shape[0] + ROWS_PER_CHUNK - 1) // ROWS_PER_CHUNK):
        gemv_chunk(xf, w, bias, out, chunk)


@jit
def gemv3(x, w0, b0, o0, w1, b1, o1, w2, b2, o2):
    # gemv of one input through three matrices (the attention's q, k and v: views of the checkpoint, so not
    # one matrix) in one parallel loop over all of their rows: one start of the threads, not three, and the
    # small k and v shared out with q's rows rather than each split two ways
    c0 = (w0.shape[0] + ROWS_PER_CHUNK - 1) // ROWS_PER_CHUNK
    c1 = (w1.shape[0] + ROWS_PER_CHUNK - 1) // ROWS_PER_CHUNK
    c2 = (w2.shape[0] + ROWS_PER_CHUNK - 1) // ROWS_PER_CHUNK
    xf = floats(x)
    for chunk in prange(c0 + c1 + c2):
        if chunk < c0:
            gemv_chunk(xf, w0, b0, o0, chunk)
        elif chunk < c0 + c1:
            gemv_chunk(xf, w1, b1, o1, chunk - c0)
        else:
            gemv_chunk(xf, w2, b2, o2, chunk - c0 - c1)


@njit(cache=True, nogil=True, error_model="numpy")
def gemv3_rotated(x, w0, b0, o0, w1, b1, o1, w2, b2, o2, cos, sin):
    # gemv3 into bf16 bits, then the first two outputs (queries, keys) rotated in place: the attention's
    # projections and RoPE in one call. cos, sin [T, half] bf16 bits; heads of 2 * half columns
    gemv3(x, w0, b0, o0, w1, b1, o1, w2, b2, o2)
    rotate(o0, cos, sin)
    rotate(o1, cos, sin)


@njit(cache=True, nogil=True, error_model="numpy")
def rotate(out, cos, sin):
    # each head's halves (x1, x2) -> (x1 cos - x2 sin, x2 cos + x1 sin), every product and sum rounded to bf16
    # as torch's bf16 operations round them (engine/layers/rotary.py apply_rotary)
    half = cos.shape[1]
    for t in range(min(out.shape[0], cos.shape[0], sin.shape[0])):
        for base in range(0, out.shape[1] - 2 * half + 1, 2 * half):  # whole heads only: never past the row
            for i in range(half):
                x1, x2 = widen(out[t, base + i]), widen(out[t, base + half + i])
                c, s = widen(cos[t, i]), widen(sin[t, i])
                first = to_bf16(x1 * c) - to_bf16(x2 * s)
                second = to_bf16(x2 * c) + to_bf16(x1 * s)
                out[t, base + i], out[t, base + half + i] = bf16_bits(first), bf16_bits(second)


@jit
def gemm(x, w, bias, out, threads):
    # the same for many rows of x (prefill): each tile of weight rows is widened once, then every input row
    # is multiplied against it from L2, four at a time. threads: numba.get_num_threads()
    rows, width, tokens = w.shape[0], w.shape[1], x.shape[0]
    xf = floats(x)
    tiles = (rows + TILE_ROWS - 1) // TILE_ROWS
    chunks = max(1, min(tiles, CHUNKS_PER_THREAD * threads))
    scratch = np.empty((chunks, TILE_ROWS, width), dtype=np.float32)
    for chunk in prange(chunks):
        tile = scratch[chunk]
        for task in range(chunk * tiles // chunks, (chunk + 1) * tiles // chunks):
            r0 = task * TILE_ROWS
            r1 = min(r0 + TILE_ROWS, rows)
            for r in range(r0, r1):
                for k in range(width):
                    tile[r - r0, k] = np.uint32(np.uint32(w[r, k]) << np.uint32(16)).view(np.float32)
            t_full = tokens - tokens % TOKEN_BLOCK
            for t in range(0, t_full, TOKEN_BLOCK):
                x0, x1, x2, x3 = xf[t], xf[t + 1], xf[t + 2], xf[t + 3]
                for r in range(r0, r1):
                    wr = tile[r - r0]
                    s0 = s1 = s2 = s3 = np.float32(0.0)
                    for k in range(width):
                        s0 += wr[k] * x0[k]
                        s1 += wr[k] * x1[k]
                        s2 += wr[k] * x2[k]
                        s3 += wr[k] * x3[k]
                    b = bias_at(bias, r)
                    store(out, t, r, s0 + b)
                    store(out, t + 1, r, s1 + b)
                    store(out, t + 2, r, s2 + b)
                    store(out, t + 3, r, s3 + b)
            for t in range(t_full, tokens):
                xt = xf[t]
                for r in range(r0, r1):
                    wr = tile[r - r0]
                    s = np.float32(0.0)
                    for k in range(width):
                        s += wr[k] * xt[k]
                    store(out, t, r, s + bias_at(bias, r))
