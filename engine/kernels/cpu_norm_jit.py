"""The residual add and RMSNorm of a CPU step in one numba call (engine/kernels/fused.py's, on the CPU).

torch took ten small operations for it (add the bias, add to the residual, widen, square, mean, rsqrt, two
products, round): about 100 us a call in a decode step, nine calls a token, most of it the cost of each
operation after the weights had flushed the caches. Here: bf16 bits in and out (engine/kernels/cpu_bits.py),
each rounding where torch rounds (the bias added to the delta in bf16, then the delta to the residual in bf16;
x * rsqrt(mean + eps) in float32, times the scale in float32, then to bf16). The mean of the squares is summed
in float64, so it is the exact mean rounded once, where torch's float32 sum leaves an order-dependent error.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from engine.kernels.cpu_bits import bf16_bits, to_bf16, widen

BITS_SOURCE = "1586952ebdcce718"  # sha256 of cpu_bits.py (first 16 hex digits): numba's cache does not see it


PARALLEL_ROWS = 8  # from this many rows the threads share them; below, starting them costs more than it saves


@njit(cache=True, nogil=True, error_model="numpy", inline="always")
def one_row(x, delta, bias, scale, eps, residual, normed, t):
    # row t of add_rms_norm
    width = x.shape[1]
    total = 0.0  # float64
    for h in range(width):
        v = widen(x[t, h])
        if delta.shape[0]:
            d = widen(delta[t, h])
            if bias.shape[0]:
                d = to_bf16(d + widen(bias[h]))
            bits = bf16_bits(v + d)
            residual[t, h] = bits
            v = widen(bits)
        total += np.float64(v) * np.float64(v)
    mean = np.float32(total / width)
    factor = np.float32(1.0) / np.sqrt(mean + np.float32(eps))
    for h in range(width):
        v = widen(residual[t, h]) if delta.shape[0] else widen(x[t, h])
        normed[t, h] = bf16_bits((v * factor) * scale[h])


@njit(cache=True, nogil=True, parallel=True, error_model="numpy")
def rows_parallel(x, delta, bias, scale, eps, residual, normed):
    for t in prange(x.shape[0]):
        one_row(x, delta, bias, scale, eps, residual, normed, np.int64(t))


@njit(cache=True, nogil=True, error_model="numpy")
def add_rms_norm(x, delta, bias, scale, eps):
    # x [T, H] bf16 bits; delta [T, H] bits, or [0, 0] for none; bias [H] bits of delta's bias, or [0] for
    # none; scale [H] float32 -> (residual [T, H] = x + delta, or [0, 0] when there is no delta;
    # normed [T, H]), both bits
    normed = np.empty(x.shape, dtype=np.int16)
    residual = np.empty(x.shape if delta.shape[0] else (0, 0), dtype=np.int16)
    if x.shape[0] >= PARALLEL_ROWS:
        rows_parallel(x, delta, bias, scale, eps, residual, normed)
    else:
        for t in range(x.shape[0]):
            one_row(x, delta, bias, scale, eps, residual, normed, t)
    return residual, normed
