"""The numba functions behind engine/kernels/cpu_mxfp4.py, compiled on first use and cached on disk.

Module-level functions (not closures) so that numba's cache holds them: a second start loads the machine
code instead of compiling again.
"""

from __future__ import annotations

import functools

import numpy as np
from numba import njit, prange

FP4_TABLE = np.array(
    [0.0, 0.5, 1.0, 1.5, 2.0, 3.0, 4.0, 6.0, -0.0, -0.5, -1.0, -1.5, -2.0, -3.0, -4.0, -6.0], dtype=np.float32
)
SCALE_BIAS = 127
GROUP = 32
# E8M0 scale byte -> 2 ** (byte - 127), exact in float32 (2**-127 as a subnormal), as the torch path's table
with np.errstate(over="ignore"):  # 255, E8M0's NaN, overflows to inf (so does the torch path's)
    SCALES = np.ldexp(np.float32(1.0), np.arange(256, dtype=np.int32) - SCALE_BIAS).astype(np.float32)

jit = functools.partial(njit, cache=True, nogil=True, fastmath=False, error_model="numpy")


@jit(inline="always")
def bf16(v):
    # float32 -> the nearest bf16 (ties to even), kept in a float32; NaN stays NaN
    u = np.float32(v).view(np.uint32)
    if (u & np.uint32(0x7F800000)) == np.uint32(0x7F800000):
        return np.float32(v)
    r = np.uint32((u + np.uint32(0x7FFF) + ((u >> np.uint32(16)) & np.uint32(1))) & np.uint32(0xFFFF0000))
    return r.view(np.float32)


@jit(parallel=True, fastmath={"reassoc", "contract", "nsz"})
def matmul(inputs, per, order, starts, used, blocks, scales, bias, out):
    # out[route, r] = bf16(bf16(sum_c inputs[route // per, c] * W[e, r, c]) + bias[i, r]) for every route
    # of every used expert e = used[i] (per: routes per input row); W[e] packed as blocks [E, R, G, 16],
    # scales [E, R, G]
    num_rows, groups = blocks.shape[1], blocks.shape[2]
    for task in prange(len(used) * num_rows):
        i, r = task // num_rows, task % num_rows
        e = used[i]
        first, last = starts[i], starts[i + 1]
        n = last - first
        acc = np.zeros(n, dtype=np.float32)
        w = np.empty(GROUP, dtype=np.float32)
        for g in range(groups):
            # the group's 32 FP4 values; its scale, a power of two, multiplies the sum
            for b in range(16):
                byte = blocks[e, r, g, b]
                w[2 * b] = FP4_TABLE[byte & 15]
                w[2 * b + 1] = FP4_TABLE[byte >> 4]
            scale = SCALES[scales[e, r, g]]
            base = g * GROUP
            for m in range(n):
                row = inputs[order[first + m] // per]
                s = np.float32(0.0)
                for c in range(GROUP):
                    s += w[c] * row[base + c]
                acc[m] += s * scale
        for m in range(n):
            out[order[first + m], r] = bf16(bf16(acc[m]) + bias[i, r])


@jit(parallel=True)
def swiglu(h, limit, alpha, act):
    # h [routes, 2I] gate/up interleaved -> act [routes, I], in the torch path's bf16 steps
    for route in prange(h.shape[0]):
        for j in range(act.shape[1]):
            gate = min(h[route, 2 * j], limit)
            up = min(max(h[route, 2 * j + 1], -limit), limit)
            sig = bf16(np.float32(1.0) / (np.float32(1.0) + np.exp(-bf16(alpha * gate))))
            act[route, j] = bf16(bf16(gate * sig) * bf16(up + np.float32(1.0)))


@jit
def moe(x, order, starts, used, k, weights, b1, s1, bias1, b2, s2, bias2, limit, alpha):
    routes = x.shape[0] * k  # route t * k + j: token t's j-th expert
    h = np.empty((routes, b1.shape[1]), dtype=np.float32)
    matmul(x, k, order, starts, used, b1, s1, bias1, h)
    act = np.empty((routes, b1.shape[1] // 2), dtype=np.float32)
    swiglu(h, limit, alpha, act)
    y = np.empty((routes, b2.shape[1]), dtype=np.float32)
    matmul(act, 1, order, starts, used, b2, s2, bias2, y)
    out = np.zeros((x.shape[0], b2.shape[1]), dtype=np.float32)
    for t in range(x.shape[0]):  # the routes' outputs summed in float32, j = 0, 1, .. (weighted_sum)
        for j in range(k):
            route = t * k + j
            wj = weights[route]
            for c in range(out.shape[1]):
                out[t, c] += y[route, c] * wj
    return out
