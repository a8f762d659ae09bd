"""The numba functions behind engine/kernels/cpu_mxfp4.py, compiled on first use and cached on disk.

Module-level functions (not closures) so that numba's cache holds them: a second start loads the machine
code instead of compiling again. Two sets: ``moe_simd`` (x86 with AVX2: the inner loop is cpu_mxfp4_simd's
LLVM IR, pshufb and pmaddwd on int16 inputs) and the portable ``moe_float``; ``moe`` is the one this CPU runs.

Shapes of the portable inner loops, for LLVM to emit AVX2 (or whatever the CPU has):
- FP4 codes become float32 bits by integer arithmetic and selects (``fp4``), not by a table lookup,
  which LLVM leaves scalar.
- A block's 16 bytes hold 32 weights, the low nibbles the even ones: the inputs are permuted once per call
  to "split" order (each group of 32 as its 16 even columns, then its 16 odd ones) so that the low and the
  high nibbles of consecutive bytes meet consecutive inputs, and every load is contiguous (both sets).
- The per-row functions are inlined into the parallel loop (numba's inline="always"): measured 1.2-1.5x
  faster than leaving it to LLVM, for about 10 s more of first-use compile time.
- No allocation inside a parallel loop: work is cut into a fixed number of chunks, each with its own
  scratch allocated before the loop.

numba's disk cache knows only this file's date and size, not cpu_mxfp4_simd.py's, whose IR it inlines:
SIMD_SOURCE below is that file's hash, so that a change there changes this file (a test keeps it current);
BITS_SOURCE is cpu_bits.py's.

``moe`` takes x, the routing weights and the biases either as float32 (x [T, H], weights [T * k], biases
[U, R] of the used experts) or as bf16 bits (int16 views of the tensors: biases [N, R] of every row, read at
``used``), and returns [T, H] float32 or bf16 bits in x's form.
"""

from __future__ import annotations

import functools

import numpy as np
from numba import njit, prange, types
from numba.extending import overload

from engine.kernels import cpu_mxfp4_simd as simd
from engine.kernels.cpu_bits import floats, rounded, value, widen

SCALE_BIAS = 127
GROUP = 32
HALF = 16
# a task: one expert's tile of rows. Portable kernels, prefill: the rows decoded at once (16 x 2880 float32 =
# 184 KB, in L2 beside the inputs); vector kernels: the rows that stream past eight routes' inputs
TILE_ROWS = 16
ROUTE_BLOCK = 4  # prefill: routes multiplied together against one decoded row (the vector kernels: 8)
VECTOR_BLOCK = 8  # the vector kernels' (cpu_mxfp4_simd): 1.2x the prefill of 4, measured; 16 no better
DECODE_MAX_ROUTES = 1  # an expert with more routes than this decodes its weights once into a tile
CHUNKS_PER_THREAD = 8  # load balance on a busy machine: a slow thread leaves its other chunks to the rest
# E8M0 scale byte -> 2 ** (byte - 127), exact in float32 (2**-127 as a subnormal), as the torch path's table
with np.errstate(over="ignore"):  # 255, E8M0's NaN, overflows to inf (so does the torch path's)
    SCALES = np.ldexp(np.float32(1.0), np.arange(256, dtype=np.int32) - SCALE_BIAS).astype(np.float32)
    HALF_SCALES = (SCALES * np.float32(0.5)).astype(np.float32)  # the vector kernels' (exact: powers of two)
SIMD_SOURCE = "41bcaf586848d61e"  # sha256 of cpu_mxfp4_simd.py (its first 16 hex digits): see the docstring
BITS_SOURCE = "1586952ebdcce718"  # and of cpu_bits.py
QUANT_BITS = 15  # inputs to int16: a group's largest magnitude below 2**15 units of its scale


jit = functools.partial(njit, cache=True, nogil=True, fastmath=False, error_model="numpy")
FAST = {"reassoc", "contract", "nsz"}  # sums in any order (vector lanes); never assumes finite numbers


@jit(inline="always")
def bf16(v):
    # float32 -> the nearest bf16 (ties to even), kept in a float32; NaN stays NaN
    u = np.float32(v).view(np.uint32)
    if (u & np.uint32(0x7F800000)) == np.uint32(0x7F800000):
        return np.float32(v)
    r = np.uint32((u + np.uint32(0x7FFF) + ((u >> np.uint32(16)) & np.uint32(1))) & np.uint32(0xFFFF0000))
    return r.view(np.float32)


def bias_row(bias, used, i, r):
    """The bias of row r of the i-th used expert, as float32: bias[i, r] of the used experts' biases in
    float32, or bias[used[i], r] of every row's bf16 bits."""


@overload(bias_row)
def _bias_row(bias, used, i, r):
    if bias.dtype == types.int16:
        return lambda bias, used, i, r: widen(bias[used[i], r])
    return lambda bias, used, i, r: bias[i, r]


@jit(inline="always")
def fp4(code):
    # an FP4 (e2m1) code 0..15 (uint32) -> its value as float32. Magnitudes 2..7 are exponent e >= 1 and
    # mantissa m: (mag << 22) + bits(0.5) is (1 + m/2) * 2**(e-1); magnitudes 0 and 1 are 0 and 0.5.
    # (numba types a global integer as 64 bits: the constants are written in place as uint32)
    mag = np.uint32(code & np.uint32(7))
    half = np.uint32(0x3F000000)  # float32 0.5
    big = np.uint32((mag << np.uint32(22)) + half)
    small = np.uint32((np.uint32(0) - mag) & half)
    sign = np.uint32((code & np.uint32(8)) << np.uint32(28))
    bits = np.uint32((big if mag >= np.uint32(2) else small) | sign)
    return bits.view(np.float32)


@jit(parallel=True)
def split_columns(a):
    # a [N, G*32] -> a copy with each group of 32 columns as its 16 even columns, then its 16 odd ones
    out = np.empty_like(a)
    for i in prange(a.shape[0]):
        for g in range(a.shape[1] // GROUP):
            base = g * GROUP
            for j in range(HALF):
                out[i, base + j] = a[i, base + 2 * j]
                out[i, base + HALF + j] = a[i, base + 2 * j + 1]
    return out


@jit(fastmath=FAST, inline="always")
def dot_packed(blocks, scales, e, r, xr, lanes):
    # sum_c W[e, r, c] * xr[c] straight from the packed bytes, xr in split order. Sixteen partial sums
    # (lanes, a scratch of 16 floats) run across the groups, each group's pair of products times its scale,
    # and are added once at the end: summing each group on its own cost a horizontal add per 32 weights
    # (measured 1.2x slower on Zen 3)
    lanes[:] = 0.0
    for g in range(blocks.shape[2]):
        base = g * GROUP
        scale = SCALES[scales[e, r, g]]
        for j in range(HALF):
            byte = np.uint32(blocks[e, r, g, j])
            pair = fp4(byte & np.uint32(15)) * xr[base + j] + fp4(byte >> np.uint32(4)) * xr[base + HALF + j]
            lanes[j] += pair * scale
    acc = np.float32(0.0)
    for j in range(HALF):
        acc += lanes[j]
    return acc


@jit(fastmath=FAST, inline="always")
def decode_row(blocks, scales, e, r, dst):
    # W[e, r, :] -> dst as float32 in split order (each value times its group's scale: exact)
    for g in range(blocks.shape[2]):
        base = g * GROUP
        scale = SCALES[scales[e, r, g]]
        for j in range(HALF):
            byte = np.uint32(blocks[e, r, g, j])
            dst[base + j] = fp4(byte & np.uint32(15)) * scale
            dst[base + HALF + j] = fp4(byte >> np.uint32(4)) * scale


@jit(parallel=True, fastmath=FAST)
def matmul(inputs, per, order, starts, used, blocks, scales, bias, out, threads):
    # out[route, r] = bf16(bf16(sum_c inputs[route // per, c] * W[e, r, c]) + bias[i, r]) for every route of
    # every used expert e = used[i] (per: routes per input row); inputs in split order; W[e] packed as
    # blocks [E, R, G, 16], scales [E, R, G]. Experts with one route (decode) decode each weight in
    # registers for it; the others decode a tile of rows once and multiply every route's input against it.
    # threads: numba.get_num_threads() (called inside, it would keep numba's cache from holding this)
    num_rows, width = blocks.shape[1], blocks.shape[2] * GROUP
    tiles = (num_rows + TILE_ROWS - 1) // TILE_ROWS
    tasks = len(used) * tiles
    chunks = min(tasks, CHUNKS_PER_THREAD * threads)
    tile_all = np.empty((chunks, TILE_ROWS, width), dtype=np.float32)
    acc_all = np.empty((chunks, HALF), dtype=np.float32)  # dot_packed's lanes, or four routes' sums
    for chunk in prange(chunks):
        tile, acc = tile_all[chunk], acc_all[chunk]
        for task in range(chunk * tasks // chunks, (chunk + 1) * tasks // chunks):
            i, r0 = task // tiles, (task % tiles) * TILE_ROWS
            r1 = min(r0 + TILE_ROWS, num_rows)
            e, first, last = used[i], starts[i], starts[i + 1]
            if last - first <= DECODE_MAX_ROUTES:
                for m in range(first, last):
                    route = order[m]
                    xr = inputs[route // per]
                    for r in range(r0, r1):
                        dot = bf16(dot_packed(blocks, scales, e, r, xr, acc))
                        out[route, r] = bf16(dot + bias_row(bias, used, i, r))
                continue
            for r in range(r0, r1):
                decode_row(blocks, scales, e, r, tile[r - r0])
            for m0 in range(first, last, ROUTE_BLOCK):
                m1 = min(m0 + ROUTE_BLOCK, last)
                if m1 - m0 == ROUTE_BLOCK:  # four routes at once: each decoded weight loaded once for four
                    x0, x1 = inputs[order[m0] // per], inputs[order[m0 + 1] // per]
                    x2, x3 = inputs[order[m0 + 2] // per], inputs[order[m0 + 3] // per]
                    for r in range(r0, r1):
                        w = tile[r - r0]
                        s0 = s1 = s2 = s3 = np.float32(0.0)
                        for c in range(width):
                            s0 += w[c] * x0[c]
                            s1 += w[c] * x1[c]
                            s2 += w[c] * x2[c]
                            s3 += w[c] * x3[c]
                        acc[0], acc[1], acc[2], acc[3] = s0, s1, s2, s3
                        for q in range(ROUTE_BLOCK):
                            out[order[m0 + q], r] = bf16(bf16(acc[q]) + bias_row(bias, used, i, r))
                    continue
                for m in range(m0, m1):
                    route = order[m]
                    xr = inputs[route // per]
                    for r in range(r0, r1):
                        w = tile[r - r0]
                        s = np.float32(0.0)
                        for c in range(width):
                            s += w[c] * xr[c]
                        out[route, r] = bf16(bf16(s) + bias_row(bias, used, i, r))


@jit(parallel=True)
def swiglu(h, limit, alpha, act):
    # h [routes, 2I] gate/up interleaved -> act [routes, I] in split order, in the torch path's bf16 steps
    for route in prange(h.shape[0]):
        for j in range(act.shape[1]):
            gate = min(h[route, 2 * j], limit)
            up = min(max(h[route, 2 * j + 1], -limit), limit)
            sig = bf16(np.float32(1.0) / (np.float32(1.0) + np.exp(-bf16(alpha * gate))))
            c = j % GROUP
            col = j - c + (c // 2 if c % 2 == 0 else HALF + c // 2)
            act[route, col] = bf16(bf16(gate * sig) * bf16(up + np.float32(1.0)))


@jit(parallel=True)
def weighted_sum(y, weights, k, out):
    # out[t] = sum_j y[t * k + j] * weights[t * k + j] in float32, j = 0, 1, .. in turn (weighted_sum's order)
    for t in prange(out.shape[0]):
        for j in range(k):
            route = t * k + j
            wj = value(weights, route)
            for c in range(out.shape[1]):
                out[t, c] += y[route, c] * wj


@jit
def moe_float(x, order, starts, used, k, weights, b1, s1, bias1, b2, s2, bias2, limit, alpha, threads):
    # the portable kernels (any CPU numba runs on)
    routes = x.shape[0] * k  # route t * k + j: token t's j-th expert
    h = np.empty((routes, b1.shape[1]), dtype=np.float32)
    matmul(split_columns(floats(x)), k, order, starts, used, b1, s1, bias1, h, threads)
    act = np.empty((routes, b1.shape[1] // 2), dtype=np.float32)
    swiglu(h, limit, alpha, act)
    y = np.empty((routes, b2.shape[1]), dtype=np.float32)
    matmul(act, 1, order, starts, used, b2, s2, bias2, y, threads)
    out = np.zeros((x.shape[0], b2.shape[1]), dtype=np.float32)
    weighted_sum(y, weights, k, out)
    return rounded(out, x)


@jit(parallel=True)
def quantize(x, xq, xs, ok=None):
    # x [N, 32G] float32 (split order) -> xq [N, 32G] int16 and xs [N, G] float32, x = xq * xs within
    # 2**-15 of each group's largest magnitude; xs a power of two. A group with inf or NaN gets xs NaN, one
    # of zeros or too small for a normal scale xs 0. ok [N] (optional): whether every group of row i has xs
    # within 2**+-SAFE_EXPONENT or is all zeros (xs 0, adding nothing): the vector kernel's fast loop takes
    # only such rows, and computes the others group by group, the odd groups from x itself.
    for i in prange(x.shape[0]):
        fine = True
        for g in range(xs.shape[1]):
            base = g * GROUP
            top = np.uint32(0)  # the largest exponent field in the group
            for c in range(GROUP):
                bits = np.float32(x[i, base + c]).view(np.uint32)
                top = max(top, np.uint32((bits >> np.uint32(23)) & np.uint32(255)))
            if top == np.uint32(255):
                xs[i, g] = np.float32(np.nan)
                fine = False
                continue
            if top < np.uint32(QUANT_BITS):  # zeros, or nothing above 2**-112: no normal scale, so x itself
                xs[i, g] = np.float32(0.0)
                for c in range(GROUP):
                    fine = fine and x[i, base + c] == np.float32(0.0)
                continue
            # the largest is below 2**(top - 126): in units of 2**(top - 126 - QUANT_BITS) it is below 2**15
            exponent = np.int64(top) - (QUANT_BITS - 1) - SCALE_BIAS  # xs = 2**exponent
            fine = fine and -simd.SAFE_EXPONENT <= exponent <= simd.SAFE_EXPONENT
            xs[i, g] = np.uint32((top - np.uint32(QUANT_BITS - 1)) << np.uint32(23)).view(np.float32)
            inv = np.uint32((np.uint32(254 + QUANT_BITS - 1) - top) << np.uint32(23)).view(np.float32)
            for c in range(GROUP):
                q = np.rint(x[i, base + c] * inv)
                xq[i, base + c] = np.int16(min(max(q, np.float32(-32767.0)), np.float32(32767.0)))
        if ok is not None:
            ok[i] = fine


@jit(inline="always")
def checked_row(blocks, scales, e, r, xq, xs, xf, src, m, count, a):
    # cpu_mxfp4_simd's checked loop for ``count`` routes: any scales, group by group
    if count == 8:
        simd.checked_rows8(blocks, scales, e, r, HALF_SCALES, xq, xs, xf, src, m, a)
    elif count == 4:
        simd.checked_rows4(blocks, scales, e, r, HALF_SCALES, xq, xs, xf, src, m, a)
    elif count == 3:
        simd.checked_rows3(blocks, scales, e, r, HALF_SCALES, xq, xs, xf, src, m, a)
    elif count == 2:
        simd.checked_rows2(blocks, scales, e, r, HALF_SCALES, xq, xs, xf, src, m, a)
    else:
        simd.checked_rows1(blocks, scales, e, r, HALF_SCALES, xq, xs, xf, src, m, a)


@jit
def slow_row(blocks, scales, e, r, xq, xs, xf, src, m, count, a):
    # checked_row, called (not inlined) where the fast loop cannot take a row: rare, and out of its code
    checked_row(blocks, scales, e, r, xq, xs, xf, src, m, count, a)


@jit(inline="always")
def rows_simd(blocks, scales, e, r0, r1, xq, xs, xf, ok, src, m, count, acc):
    # rows r0..r1 of expert e against ``count`` (1 to 4, or 8) routes from src[m]: acc[r - r0, q] for route
    # m + q. The fast loop where the routes' inputs are all in its range (ok, from quantize) and the row's
    # weight scales too, else the checked one. A loop for each count, each with one fast loop in it: one loop
    # holding all five, with the checked loops inlined beside them, ran a decode's rows 1.2-1.4x slower
    # (measured on an Intel Xeon with AVX-512: the code LLVM makes for the row loop suffers)
    fast = True
    for q in range(count):
        fast = fast and ok[src[m + q]]
    if not fast:
        for r in range(r0, r1):
            slow_row(blocks, scales, e, r, xq, xs, xf, src, m, count, acc[r - r0])
    elif count == 1:
        for r in range(r0, r1):
            if not simd.dot_rows1(blocks, scales, e, r, HALF_SCALES, xq, xs, xf, src, m, acc[r - r0]):
                slow_row(blocks, scales, e, r, xq, xs, xf, src, m, count, acc[r - r0])
    elif count == 8:
        for r in range(r0, r1):
            if not simd.dot_rows8(blocks, scales, e, r, HALF_SCALES, xq, xs, xf, src, m, acc[r - r0]):
                slow_row(blocks, scales, e, r, xq, xs, xf, src, m, count, acc[r - r0])
    elif count == 4:
        for r in range(r0, r1):
            if not simd.dot_rows4(blocks, scales, e, r, HALF_SCALES, xq, xs, xf, src, m, acc[r - r0]):
                slow_row(blocks, scales, e, r, xq, xs, xf, src, m, count, acc[r - r0])
    elif count == 3:
        for r in range(r0, r1):
            if not simd.dot_rows3(blocks, scales, e, r, HALF_SCALES, xq, xs, xf, src, m, acc[r - r0]):
                slow_row(blocks, scales, e, r, xq, xs, xf, src, m, count, acc[r - r0])
    else:
        for r in range(r0, r1):
            if not simd.dot_rows2(blocks, scales, e, r, HALF_SCALES, xq, xs, xf, src, m, acc[r - r0]):
                slow_row(blocks, scales, e, r, xq, xs, xf, src, m, count, acc[r - r0])


@jit(parallel=True)
def matmul_simd(xf, xq, xs, ok, per, order, starts, used, blocks, scales, bias, out, threads):
    # matmul's work on an x86 CPU with AVX2: every route against one packed row at a time, up to eight routes
    # together (each row's codes decoded once for them), by cpu_mxfp4_simd's pshufb and pmaddwd. A task is
    # one expert's tile of rows; chunks of tasks are cut by work (routes x rows), not by count, so that a
    # thread given the busy experts of a prefill does not finish last.
    num_rows = blocks.shape[1]
    tiles = (num_rows + TILE_ROWS - 1) // TILE_ROWS
    tasks = len(used) * tiles
    chunks = min(tasks, CHUNKS_PER_THREAD * threads)
    bounds = np.empty(chunks + 1, dtype=np.int64)  # chunk c: tasks bounds[c] .. bounds[c + 1]
    total, done, c = (starts[-1] - starts[0]) * tiles, np.int64(0), 0
    for task in range(tasks):
        while c <= chunks and done * chunks >= c * total:
            bounds[c] = task
            c += 1
        i = task // tiles
        done += starts[i + 1] - starts[i]
    while c <= chunks:
        bounds[c] = tasks
        c += 1
    src = order // per  # each route's input row, routes grouped by expert
    acc_all = np.empty((chunks, TILE_ROWS, VECTOR_BLOCK), dtype=np.float32)
    for chunk in prange(chunks):
        acc = acc_all[chunk]
        for task in range(bounds[chunk], bounds[chunk + 1]):
            i, r0 = task // tiles, (task % tiles) * TILE_ROWS
            e, first, last = used[i], starts[i], starts[i + 1]
            r1 = min(r0 + TILE_ROWS, num_rows)
            # eight routes' inputs (46 KB of int16 at gpt-oss's width) stay in L1/L2 as the tile's rows pass
            m = first
            while m < last:
                count = VECTOR_BLOCK if last - m >= VECTOR_BLOCK else min(ROUTE_BLOCK, last - m)
                rows_simd(blocks, scales, e, r0, r1, xq, xs, xf, ok, src, m, count, acc)
                for r in range(r0, r1):
                    for q in range(count):
                        out[order[m + q], r] = bf16(bf16(acc[r - r0, q]) + bias_row(bias, used, i, r))
                m += count


@jit
def moe_simd(x, order, starts, used, k, weights, b1, s1, bias1, b2, s2, bias2, limit, alpha, threads):
    # moe_float's numbers through matmul_simd: the inputs of each matmul quantized once
    routes = x.shape[0] * k
    xf = split_columns(floats(x))
    xq = np.empty(xf.shape, dtype=np.int16)
    xs = np.empty((xf.shape[0], xf.shape[1] // GROUP), dtype=np.float32)
    x_ok = np.empty(xf.shape[0], dtype=np.bool_)
    quantize(xf, xq, xs, x_ok)
    h = np.empty((routes, b1.shape[1]), dtype=np.float32)
    matmul_simd(xf, xq, xs, x_ok, k, order, starts, used, b1, s1, bias1, h, threads)
    act = np.empty((routes, b1.shape[1] // 2), dtype=np.float32)
    swiglu(h, limit, alpha, act)
    aq = np.empty(act.shape, dtype=np.int16)
    a_s = np.empty((routes, act.shape[1] // GROUP), dtype=np.float32)
    a_ok = np.empty(routes, dtype=np.bool_)
    quantize(act, aq, a_s, a_ok)
    y = np.empty((routes, b2.shape[1]), dtype=np.float32)
    matmul_simd(act, aq, a_s, a_ok, 1, order, starts, used, b2, s2, bias2, y, threads)
    out = np.zeros((x.shape[0], b2.shape[1]), dtype=np.float32)
    weighted_sum(y, weights, k, out)
    return rounded(out, x)


moe = moe_simd if simd.available() else moe_float  # the one a forward pass calls on this CPU
