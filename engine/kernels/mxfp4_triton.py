"""Triton kernels for the routed experts: MXFP4 weights are read as packed bytes and dequantized in registers.

Imported only when Triton is usable (see ``engine.kernels.available``); the launchers live in ``moe_mxfp4``.

Weights are viewed as 32-bit words: one word holds 8 FP4 codes (element i in bits 4i..4i+3, since the
low nibble of each byte is the even element) and a row group of 32 weights is 4 words (16 bytes, one
vector load). ``_fp4_pairs`` turns a word into four words of two fp16 bit patterns each, two shifts and
two masks per pair (the FP4 magnitude bits land in fp16's low exponent bits and top mantissa bit, the sign
in the sign bit): the fp16 number is exactly fp4 * 2**-14, subnormal for 0 and +-0.5, which fp16 holds
exactly. The 2**14 goes into the E8M0 scale, built as float32 bits: ((s + 14) << 23) = 2**(s - 127 + 14),
exact for scale bytes up to 240. Pair q holds elements q (low half) and q + 4 (high half); the unpacked
weights come out in a fixed permutation of each word (``_unpack8``), and activations are permuted to
match inside their 16-byte vectors (``_perm8``), which costs nothing but register renaming.
"""

from __future__ import annotations

import triton
import triton.language as tl


@triton.jit
def _fp4_pairs(w):
    # w: uint32 of 8 codes -> 4 uint32 of two fp16 patterns: (element 0 | 4 << 16), (1 | 5), (2 | 6), (3 | 7)
    p0 = ((w << 9) & 0x0E000E00) | ((w << 12) & 0x80008000)
    p1 = ((w << 5) & 0x0E000E00) | ((w << 8) & 0x80008000)
    p2 = ((w << 1) & 0x0E000E00) | ((w << 4) & 0x80008000)
    p3 = ((w >> 3) & 0x0E000E00) | (w & 0x80008000)
    return p0, p1, p2, p3


@triton.jit
def _scale(s):
    # E8M0 byte -> 2**(s - 127) * 2**14 as float32 (exact; s = 0 stays a normal number)
    return ((s.to(tl.int32) + 14) << 23).to(tl.float32, bitcast=True)


@triton.jit
def _weight_row(ids_ptr, map_ptr, pair, HAS_MAP: tl.constexpr):
    e = tl.load(ids_ptr + pair).to(tl.int64)
    if HAS_MAP:
        e = tl.load(map_ptr + e).to(tl.int64)
    return e


@triton.jit
def _swiglu(gate, up, limit, alpha):
    gate = tl.minimum(gate, limit)
    up = tl.minimum(tl.maximum(up, -limit), limit)
    return gate * tl.sigmoid(alpha * gate) * (up + 1.0)


@triton.jit
def _load_words(w_ptr, s_ptr, rows, n_mask, w0, G: tl.constexpr, BN: tl.constexpr, BG: tl.constexpr):
    # rows: int64 [BN] weight rows; words w0 .. w0 + 4*BG of each -> uint32 [BN, 4*BG], uint8 [BN, BG]
    # (2-D so that threads run along a row's contiguous bytes: 16-byte loads, whole sectors per warp)
    w = w0 + tl.arange(0, 4 * BG)
    wq = tl.load(w_ptr + (rows[:, None] * (G * 4) + w[None, :]),
                 mask=n_mask[:, None] & (w < G * 4)[None, :], other=0)
    g = w0 // 4 + tl.arange(0, BG)
    sc = tl.load(s_ptr + (rows[:, None] * G + g[None, :]), mask=n_mask[:, None] & (g < G)[None, :], other=0)
    return wq.to(tl.uint32, bitcast=True), sc


@triton.jit
def _halves(p, ASM: tl.constexpr):
    # uint32 of two fp16 patterns -> (float32 of the low half, float32 of the high half)
    if ASM:  # split the register and convert each half in place (Triton would repack 16-bit values)
        return tl.inline_asm_elementwise(
            "{ .reg .b16 lo, hi; mov.b32 {lo, hi}, $2; cvt.f32.f16 $0, lo; cvt.f32.f16 $1, hi; }",
            "=r,=r,r", [p], dtype=(tl.float32, tl.float32), is_pure=True, pack=1)
    lo = p.to(tl.uint16).to(tl.float16, bitcast=True).to(tl.float32)
    hi = (p >> 16).to(tl.uint16).to(tl.float16, bitcast=True).to(tl.float32)
    return lo, hi


@triton.jit
def _unpack8(wq, ASM: tl.constexpr):
    # uint32 [..., W] -> float32 [..., W, 8]: each word's 8 weights times 2**-14, in the order
    # PERM = (0, 4, 2, 6, 1, 5, 3, 7) (element x + 2y + 4a at position 4x + 2y + a, a = high half);
    # activations are permuted to match (``_perm8``)
    p0, p1, p2, p3 = _fp4_pairs(wq)
    l0, h0 = _halves(p0, ASM)
    l1, h1 = _halves(p1, ASM)
    l2, h2 = _halves(p2, ASM)
    l3, h3 = _halves(p3, ASM)
    t = tl.join(tl.join(tl.join(l0, l1), tl.join(l2, l3)), tl.join(tl.join(h0, h1), tl.join(h2, h3)))
    return tl.reshape(t, wq.shape + [8])


@triton.jit
def _perm8(x, ROWS: tl.constexpr, COLS: tl.constexpr):
    # [ROWS, COLS], COLS = 8 * words -> each word's 8 elements in PERM order: element 4a + 2b + c
    # goes to position 4c + 2b + a (a permutation within each 16-byte vector)
    x = tl.permute(tl.reshape(x, (ROWS, COLS // 8, 2, 2, 2)), (0, 1, 4, 3, 2))
    return tl.reshape(x, (ROWS, COLS))


@triton.jit
def _gemv_load(w_ptr, s_ptr, x_row, rows, n_mask, w0, G: tl.constexpr, BN: tl.constexpr, BG: tl.constexpr):
    # one K step of a GEMV: words w0 .. w0 + 4*BG of BN rows, their scales, the 32*BG activations
    # (w0 >= 4*G: everything masked, nothing read: the prefetch past the last step)
    wq, sc = _load_words(w_ptr, s_ptr, rows, n_mask, w0, G, BN, BG)
    w = w0 + tl.arange(0, 4 * BG)
    i = tl.arange(0, 8)
    xv = tl.load(x_row + (w[:, None] * 8 + i[None, :]), mask=(w < G * 4)[:, None], other=0.0)
    return wq, sc, xv


@triton.jit
def _gemv_step(wq, sc, xv, factor, BN: tl.constexpr, BG: tl.constexpr, ASM: tl.constexpr):
    # -> float32 [BN, BG, 4]: per-word partial sums times scale * factor. Kept per word so that the
    # scales move to the accumulator's layout (1 KB), not the accumulator to theirs.
    xv = tl.reshape(_perm8(tl.reshape(xv, (1, BG * 32)), 1, BG * 32), (BG * 4, 8)).to(tl.float32)
    part = tl.sum(_unpack8(wq, ASM) * xv[None, :, :], axis=2)  # [BN, 4*BG]
    return tl.reshape(part, (BN, BG, 4)) * (_scale(sc) * factor)[:, :, None]


@triton.jit
def _dequant_tile(wq, sc, BN: tl.constexpr, BG: tl.constexpr, ASM: tl.constexpr):
    # uint32 [BN, 4*BG], uint8 [BN, BG] -> bf16 [BN, 32*BG], k in PERM order within each word
    w = tl.reshape(_unpack8(wq, ASM), (BN, BG, 32)) * _scale(sc)[:, :, None]
    return tl.reshape(w.to(tl.bfloat16), (BN, BG * 32))


@triton.jit
def _grouped_dot(a_rows, m_mask, w_ptr, s_ptr, rows, n_mask, G: tl.constexpr,
                 BM: tl.constexpr, BN: tl.constexpr, BG: tl.constexpr, ASM: tl.constexpr, DOT_F32: tl.constexpr):
    # a_rows: [BM] pointers to activation rows of G*32 bf16 -> float32 [BM, BN] = A @ W[rows]^T
    acc = tl.zeros([BM, BN], dtype=tl.float32)
    kk = tl.arange(0, BG * 32)
    for w0 in range(0, G * 4, BG * 4):
        wq, sc = _load_words(w_ptr, s_ptr, rows, n_mask, w0, G, BN, BG)
        k = w0 * 8 + kk
        a = tl.load(a_rows[:, None] + k[None, :], mask=m_mask[:, None] & (k < G * 32)[None, :], other=0.0)
        a = _perm8(a, BM, BG * 32)
        w = _dequant_tile(wq, sc, BN, BG, ASM)
        if DOT_F32:  # Triton's CPU interpreter multiplies bf16 as raw integers: test in float32 there
            acc = tl.dot(a.to(tl.float32), tl.trans(w.to(tl.float32)), acc, input_precision="ieee")
        else:
            acc = tl.dot(a, tl.trans(w), acc)
    return acc


@triton.jit
def mlp1_gemv_kernel(x_ptr, ids_ptr, map_ptr, w_ptr, s_ptr, b_ptr, out_ptr, N, limit, alpha,
                     G: tl.constexpr, TOPK: tl.constexpr, HAS_MAP: tl.constexpr, BN: tl.constexpr, BG: tl.constexpr,
                     ASM: tl.constexpr):
    # grid (T*k, cdiv(2I, BN)): one routed pair and BN rows of gate_up; out [T*k, I]
    pair = tl.program_id(0)
    pid_n = tl.program_id(1)
    row = _weight_row(ids_ptr, map_ptr, pair, HAS_MAP)
    n = pid_n * BN + tl.arange(0, BN)
    n_mask = n < N
    rows = row * N + n
    x_row = x_ptr + (pair // TOPK).to(tl.int64) * (G * 32)
    acc = tl.zeros([BN, BG, 4], dtype=tl.float32)
    wq, sc, xv = _gemv_load(w_ptr, s_ptr, x_row, rows, n_mask, 0, G, BN, BG)
    for w0 in range(BG * 4, G * 4 + BG * 4, BG * 4):  # software pipelined: load step i+1, then compute i
        nq, nsc, nxv = _gemv_load(w_ptr, s_ptr, x_row, rows, n_mask, w0, G, BN, BG)
        acc += _gemv_step(wq, sc, xv, 1.0, BN, BG, ASM)
        wq, sc, xv = nq, nsc, nxv
    y = tl.sum(tl.sum(acc, axis=2), axis=1) + tl.load(b_ptr + rows, mask=n_mask, other=0.0).to(tl.float32)
    gate, up = tl.split(tl.reshape(y, (BN // 2, 2)))  # interleaved rows: gate even, up odd
    h = _swiglu(gate, up, limit, alpha)
    o = pid_n * (BN // 2) + tl.arange(0, BN // 2)
    tl.store(out_ptr + pair.to(tl.int64) * (N // 2) + o, h.to(out_ptr.dtype.element_ty), mask=o < N // 2)


@triton.jit
def mlp2_gemv_kernel(h_ptr, ids_ptr, map_ptr, rw_ptr, w_ptr, s_ptr, b_ptr, out_ptr, N,
                     G: tl.constexpr, TOPK: tl.constexpr, HAS_MAP: tl.constexpr, BN: tl.constexpr, BG: tl.constexpr,
                     ASM: tl.constexpr):
    # grid (T, cdiv(H, BN)): BN output rows of one token, summed over its k experts. The k experts' K
    # steps run as one pipelined loop (the prefetch crosses from one expert to the next), the routing
    # weight folded into the per-group scale; the sum's order is fixed (deterministic, no atomics).
    tok = tl.program_id(0)
    pid_n = tl.program_id(1)
    n = pid_n * BN + tl.arange(0, BN)
    n_mask = n < N
    ITERS: tl.constexpr = (G * 4 + BG * 4 - 1) // (BG * 4)
    pair = tok * TOPK
    rows = _weight_row(ids_ptr, map_ptr, pair, HAS_MAP) * N + n
    wq, sc, xv = _gemv_load(w_ptr, s_ptr, h_ptr + pair.to(tl.int64) * (G * 32), rows, n_mask, 0, G, BN, BG)
    f = tl.load(rw_ptr + pair).to(tl.float32)
    acc = tl.zeros([BN, BG, 4], dtype=tl.float32)
    for step in range(1, TOPK * ITERS + 1):
        j = tl.minimum(step // ITERS, TOPK - 1)
        w0 = tl.where(step < TOPK * ITERS, (step % ITERS) * (BG * 4), G * 4)
        pair = tok * TOPK + j
        rows = _weight_row(ids_ptr, map_ptr, pair, HAS_MAP) * N + n
        nq, nsc, nxv = _gemv_load(w_ptr, s_ptr, h_ptr + pair.to(tl.int64) * (G * 32), rows, n_mask, w0, G, BN, BG)
        nf = tl.load(rw_ptr + pair).to(tl.float32)
        acc += _gemv_step(wq, sc, xv, f, BN, BG, ASM)
        wq, sc, xv, f = nq, nsc, nxv, nf
    y = tl.sum(tl.sum(acc, axis=2), axis=1)
    for j in range(TOPK):
        pair = tok * TOPK + j
        rows = _weight_row(ids_ptr, map_ptr, pair, HAS_MAP) * N + n
        y += tl.load(rw_ptr + pair).to(tl.float32) * tl.load(b_ptr + rows, mask=n_mask, other=0.0).to(tl.float32)
    tl.store(out_ptr + tok.to(tl.int64) * N + n, y.to(out_ptr.dtype.element_ty), mask=n_mask)


@triton.jit
def mlp1_grouped_kernel(x_ptr, pairs_ptr, tile_row_ptr, tile_start_ptr, tile_end_ptr,
                        w_ptr, s_ptr, b_ptr, out_ptr, N, limit, alpha,
                        G: tl.constexpr, TOPK: tl.constexpr, BM: tl.constexpr, BN: tl.constexpr, BG: tl.constexpr,
                        ASM: tl.constexpr, DOT_F32: tl.constexpr):
    # grid (cdiv(2I, BN), num_tiles): BM pairs of one weight row (sorted by row) x BN rows of gate_up
    pid_n = tl.program_id(0)
    tile = tl.program_id(1)
    row = tl.load(tile_row_ptr + tile).to(tl.int64)
    if row < 0:
        return
    m = tl.load(tile_start_ptr + tile) + tl.arange(0, BM)
    m_mask = m < tl.load(tile_end_ptr + tile)
    pair = tl.load(pairs_ptr + m, mask=m_mask, other=0).to(tl.int64)
    n = pid_n * BN + tl.arange(0, BN)
    n_mask = n < N
    a_rows = x_ptr + (pair // TOPK) * (G * 32)
    acc = _grouped_dot(a_rows, m_mask, w_ptr, s_ptr, row * N + n, n_mask, G, BM, BN, BG, ASM, DOT_F32)
    acc += tl.load(b_ptr + row * N + n, mask=n_mask, other=0.0).to(tl.float32)[None, :]
    gate, up = tl.split(tl.reshape(acc, (BM, BN // 2, 2)))
    h = _swiglu(gate, up, limit, alpha)
    o = pid_n * (BN // 2) + tl.arange(0, BN // 2)
    ptrs = out_ptr + pair[:, None] * (N // 2) + o[None, :]
    tl.store(ptrs, h.to(out_ptr.dtype.element_ty), mask=m_mask[:, None] & (o < N // 2)[None, :])


@triton.jit
def mlp2_grouped_kernel(h_ptr, pairs_ptr, tile_row_ptr, tile_start_ptr, tile_end_ptr, rw_ptr,
                        w_ptr, s_ptr, b_ptr, out_ptr, N,
                        G: tl.constexpr, BM: tl.constexpr, BN: tl.constexpr, BG: tl.constexpr,
                        ASM: tl.constexpr, DOT_F32: tl.constexpr):
    # grid (cdiv(H, BN), num_tiles): out [T*k, H] = routing weight * (h[pair] @ W2^T + b2), per pair
    pid_n = tl.program_id(0)
    tile = tl.program_id(1)
    row = tl.load(tile_row_ptr + tile).to(tl.int64)
    if row < 0:
        return
    m = tl.load(tile_start_ptr + tile) + tl.arange(0, BM)
    m_mask = m < tl.load(tile_end_ptr + tile)
    pair = tl.load(pairs_ptr + m, mask=m_mask, other=0).to(tl.int64)
    n = pid_n * BN + tl.arange(0, BN)
    n_mask = n < N
    acc = _grouped_dot(h_ptr + pair * (G * 32), m_mask, w_ptr, s_ptr, row * N + n, n_mask, G, BM, BN, BG, ASM, DOT_F32)
    acc += tl.load(b_ptr + row * N + n, mask=n_mask, other=0.0).to(tl.float32)[None, :]
    acc *= tl.load(rw_ptr + pair, mask=m_mask, other=0.0).to(tl.float32)[:, None]
    ptrs = out_ptr + pair[:, None] * N + n[None, :]
    tl.store(ptrs, acc.to(out_ptr.dtype.element_ty), mask=m_mask[:, None] & n_mask[None, :])


@triton.jit
def dequant_kernel(w_ptr, s_ptr, out_ptr, R, G: tl.constexpr, BN: tl.constexpr, BG: tl.constexpr,
                   ASM: tl.constexpr):
    # grid (cdiv(R, BN), cdiv(G, BG)): rows of blocks [R, G, 16] -> out [R, G*32] in natural order
    n = tl.program_id(0) * BN + tl.arange(0, BN)
    n_mask = n < R
    w0 = tl.program_id(1) * BG * 4
    wq, sc = _load_words(w_ptr, s_ptr, n.to(tl.int64), n_mask, w0, G, BN, BG)
    w = tl.reshape(_dequant_tile(wq, sc, BN, BG, ASM), (BN, BG * 4, 8))
    p = tl.arange(0, 8)
    e = (p >> 2) + 2 * ((p >> 1) & 1) + 4 * (p & 1)  # PERM: element held at position p
    k = (w0 + tl.arange(0, BG * 4))[:, None] * 8 + e[None, :]
    ptrs = out_ptr + n.to(tl.int64)[:, None, None] * (G * 32) + k[None, :, :]
    tl.store(ptrs, w.to(out_ptr.dtype.element_ty), mask=n_mask[:, None, None] & (k < G * 32)[None, :, :])
