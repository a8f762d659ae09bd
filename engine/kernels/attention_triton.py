"""Flash attention with gpt-oss's sinks and sliding window, on Triton: no score matrix in memory.

- ``decode_partial_kernel`` + ``decode_combine_kernel``: one query token. The live keys (0..position, or the
  window's last W positions in a ring) are cut into ``num_splits`` pieces along the sequence, one program per
  (KV head, piece), each holding all of that head's GROUP query heads (one key load serves the group);
  the combine kernel merges the pieces' running maxima and sums with the head's sink. The position comes
  from a device tensor and the piece length from the live count, so a CUDA graph with a fixed grid reads
  only the live keys at any position: pieces past the end return at once.
- ``prefill_kernel``: T queries at positions q_start.. over keys at key_start.., one program per (block of
  queries, query head), key blocks outside the causal band (and the window) skipped: memory is linear in T.

Scores are rounded to the activations' dtype and scaled there, and probabilities rounded to it before they
meet the values, as the torch path (engine/layers/attention.py) and the gpt-oss reference do; the softmax's
normalisation comes at the end (flash order), so results agree with the torch path to bf16 rounding.
DOT_F32 (the interpreter, on CPU tensors): products in float32, since it has no bf16 dot.
"""

from __future__ import annotations

import triton
import triton.language as tl


@triton.jit
def _scores(q, k, scale, ty: tl.constexpr, DOT_F32: tl.constexpr):
    # q [M, D], k [N, D] -> [M, N] float32, rounded to ty, scaled in ty (the reference's bf16 ops)
    if DOT_F32:
        s = tl.dot(q.to(tl.float32), tl.trans(k.to(tl.float32)), input_precision="ieee")
    else:
        s = tl.dot(q.to(tl.bfloat16), tl.trans(k.to(tl.bfloat16)))
    return (s.to(ty).to(tl.float32) * scale).to(ty).to(tl.float32)


@triton.jit
def _weighted(p, v, ty: tl.constexpr, DOT_F32: tl.constexpr):
    # p [M, N] float32 probabilities (unnormalised), rounded to ty; v [N, D] -> [M, D] float32
    if DOT_F32:
        return tl.dot(p.to(ty).to(tl.float32), v.to(tl.float32), input_precision="ieee")
    return tl.dot(p.to(tl.bfloat16), v.to(tl.bfloat16))


@triton.jit
def decode_partial_kernel(q_ptr, k_ptr, v_ptr, pos_ptr, acc_ptr, ml_ptr, stride_kh, stride_ks, ring, window,
                          scale, num_splits,
                          GROUP: tl.constexpr, GP: tl.constexpr, D: tl.constexpr, BLOCK: tl.constexpr,
                          DOT_F32: tl.constexpr):
    kvh = tl.program_id(0)
    split = tl.program_id(1)
    ty: tl.constexpr = q_ptr.dtype.element_ty
    pos = tl.load(pos_ptr)
    lo = tl.where(window > 0, tl.maximum(pos - window + 1, 0), 0)
    live = pos + 1 - lo
    piece = tl.cdiv(tl.cdiv(live, num_splits), BLOCK) * BLOCK
    start = lo + split * piece
    end = tl.minimum(start + piece, pos + 1)
    g = tl.arange(0, GP)
    d = tl.arange(0, D)
    heads = kvh * GROUP + g
    q = tl.load(q_ptr + heads[:, None] * D + d[None, :], mask=(g < GROUP)[:, None], other=0.0)
    m = tl.full([GP], float("-inf"), dtype=tl.float32)
    l = tl.zeros([GP], dtype=tl.float32)
    acc = tl.zeros([GP, D], dtype=tl.float32)
    k_base = k_ptr + kvh.to(tl.int64) * stride_kh
    v_base = v_ptr + kvh.to(tl.int64) * stride_kh
    for s0 in range(start, end, BLOCK):
        kpos = s0 + tl.arange(0, BLOCK)
        valid = kpos < end
        slot = (kpos % ring).to(tl.int64)
        k = tl.load(k_base + slot[:, None] * stride_ks + d[None, :], mask=valid[:, None], other=0.0)
        v = tl.load(v_base + slot[:, None] * stride_ks + d[None, :], mask=valid[:, None], other=0.0)
        s = tl.where(valid[None, :], _scores(q, k, scale, ty, DOT_F32), float("-inf"))
        m_new = tl.maximum(m, tl.max(s, axis=1))  # finite: every block here holds a live key
        alpha = tl.exp(m - m_new)
        p = tl.exp(s - m_new[:, None])
        l = l * alpha + tl.sum(p, axis=1)
        acc = acc * alpha[:, None] + _weighted(p, v, ty, DOT_F32)
        m = m_new
    row = heads.to(tl.int64) * num_splits + split
    keep = g < GROUP
    tl.store(acc_ptr + row[:, None] * D + d[None, :], acc, mask=keep[:, None])
    tl.store(ml_ptr + row * 2, m, mask=keep)
    tl.store(ml_ptr + row * 2 + 1, l, mask=keep)


@triton.jit
def decode_combine_kernel(acc_ptr, ml_ptr, sinks_ptr, out_ptr, num_splits, D: tl.constexpr, SP: tl.constexpr):
    # one query head: the pieces' (max, sum, weighted values) merged, the sink joining the denominator
    h = tl.program_id(0).to(tl.int64)
    sp = tl.arange(0, SP)
    spmask = sp < num_splits
    d = tl.arange(0, D)
    row = h * num_splits + sp
    m = tl.load(ml_ptr + row * 2, mask=spmask, other=float("-inf"))
    l = tl.load(ml_ptr + row * 2 + 1, mask=spmask, other=0.0)
    sink = tl.load(sinks_ptr + h).to(tl.float32)
    top = tl.maximum(tl.max(m, axis=0), sink)
    w = tl.exp(m - top)  # 0 for an empty piece (max -inf)
    acc = tl.load(acc_ptr + row[:, None] * D + d[None, :], mask=spmask[:, None], other=0.0)
    num = tl.sum(acc * w[:, None], axis=0)
    den = tl.sum(l * w, axis=0) + tl.exp(sink - top)
    tl.store(out_ptr + h * D + d, (num / den).to(out_ptr.dtype.element_ty))


@triton.jit
def prefill_kernel(q_ptr, k_ptr, v_ptr, sinks_ptr, out_ptr, T, S, q_start, key_start, window, scale,
                   stride_qt, stride_qh, stride_kh, stride_ks, stride_ot,
                   GROUP: tl.constexpr, D: tl.constexpr, BM: tl.constexpr, BN: tl.constexpr,
                   DOT_F32: tl.constexpr):
    pid_m = tl.program_id(0)
    h = tl.program_id(1)
    kvh = (h // GROUP).to(tl.int64)
    ty: tl.constexpr = q_ptr.dtype.element_ty
    rows = pid_m * BM + tl.arange(0, BM)
    rmask = rows < T
    d = tl.arange(0, D)
    q = tl.load(q_ptr + rows[:, None].to(tl.int64) * stride_qt + h * stride_qh + d[None, :],
                mask=rmask[:, None], other=0.0)
    q_pos = q_start + rows
    first_q = q_start + pid_m * BM
    last_q = tl.minimum(first_q + BM, q_start + T) - 1
    hi = tl.minimum(S, last_q - key_start + 1)  # causal: no key after the block's last query
    lo = tl.where(window > 0, tl.maximum(first_q - window + 1 - key_start, 0), 0)
    lo = (lo // BN) * BN
    m = tl.full([BM], float("-inf"), dtype=tl.float32)
    l = tl.zeros([BM], dtype=tl.float32)
    acc = tl.zeros([BM, D], dtype=tl.float32)
    k_base = k_ptr + kvh * stride_kh
    v_base = v_ptr + kvh * stride_kh
    for j0 in range(lo, hi, BN):
        cols = j0 + tl.arange(0, BN)
        cmask = cols < S
        k = tl.load(k_base + cols[:, None].to(tl.int64) * stride_ks + d[None, :], mask=cmask[:, None], other=0.0)
        v = tl.load(v_base + cols[:, None].to(tl.int64) * stride_ks + d[None, :], mask=cmask[:, None], other=0.0)
        k_pos = key_start + cols
        visible = cmask[None, :] & (k_pos[None, :] <= q_pos[:, None])
        visible = visible & ((window == 0) | (k_pos[None, :] > q_pos[:, None] - window))
        s = tl.where(visible, _scores(q, k, scale, ty, DOT_F32), float("-inf"))
        m_new = tl.maximum(m, tl.max(s, axis=1))
        m_safe = tl.where(m_new == float("-inf"), 0.0, m_new)  # a row with nothing visible yet
        alpha = tl.exp(m - m_safe)
        p = tl.exp(s - m_safe[:, None])
        l = l * alpha + tl.sum(p, axis=1)
        acc = acc * alpha[:, None] + _weighted(p, v, ty, DOT_F32)
        m = m_new
    sink = tl.load(sinks_ptr + h).to(tl.float32)
    top = tl.maximum(m, sink)
    a = tl.exp(m - top)
    den = l * a + tl.exp(sink - top)
    out = acc * (a / den)[:, None]
    tl.store(out_ptr + rows[:, None].to(tl.int64) * stride_ot + h * D + d[None, :],
             out.to(out_ptr.dtype.element_ty), mask=rmask[:, None])
