"""Triton kernels for the small per-layer steps of a decode step: residual add + RMSNorm, RoPE fused with the
KV-cache write, and the router (logits, top-k, softmax over the k, in increasing expert id).

Each replaces several torch kernels (RMSNorm alone was 7) with one launch, and rounds where the torch path
rounds (engine/kernels/fused_ref.py), so the two agree to bf16 rounding. Launchers are in
engine/kernels/fused.py; the kernels take any float dtype and store in their output's.
"""

from __future__ import annotations

import triton
import triton.language as tl


@triton.jit
def add_rms_norm_kernel(x_ptr, d_ptr, db_ptr, w_ptr, res_ptr, out_ptr, H, eps,
                        HAS_DELTA: tl.constexpr, HAS_DBIAS: tl.constexpr, BH: tl.constexpr):
    # one row: res = x + (d + db) (each sum rounded to the activations' dtype, as torch adds them: db is the
    # bias of the projection that made d, left to this kernel), out = rms_norm(res) * w
    row = tl.program_id(0).to(tl.int64)
    offs = tl.arange(0, BH)
    mask = offs < H
    ty: tl.constexpr = res_ptr.dtype.element_ty
    x = tl.load(x_ptr + row * H + offs, mask=mask, other=0.0).to(tl.float32)
    if HAS_DELTA:
        d = tl.load(d_ptr + row * H + offs, mask=mask, other=0.0).to(tl.float32)
        if HAS_DBIAS:
            d = (d + tl.load(db_ptr + offs, mask=mask, other=0.0).to(tl.float32)).to(ty).to(tl.float32)
        x = (x + d).to(ty).to(tl.float32)
        tl.store(res_ptr + row * H + offs, x.to(res_ptr.dtype.element_ty), mask=mask)
    mean_sq = tl.sum(x * x, axis=0) / H
    w = tl.load(w_ptr + offs, mask=mask, other=0.0).to(tl.float32)
    y = x * (1.0 / tl.sqrt(mean_sq + eps)) * w
    tl.store(out_ptr + row * H + offs, y.to(out_ptr.dtype.element_ty), mask=mask)


@triton.jit
def _round(x, dtype: tl.constexpr):
    return x.to(dtype).to(tl.float32)


@triton.jit
def _load_head(qkv_ptr, b_ptr, off, HAS_BIAS: tl.constexpr, ty: tl.constexpr):
    # a half head of the projection, plus its bias (the projection ran without: one kernel, not two)
    x = tl.load(qkv_ptr + off).to(tl.float32)
    if HAS_BIAS:
        x = (x + tl.load(b_ptr + off).to(tl.float32)).to(ty).to(tl.float32)
    return x


@triton.jit
def rope_kv_kernel(qkv_ptr, b_ptr, cos_ptr, sin_ptr, pos_ptr, q_out_ptr, k_ptr, v_ptr, stride_kh, stride_ks,
                   ring, HQ: tl.constexpr, HKV: tl.constexpr, HALF: tl.constexpr, HAS_BIAS: tl.constexpr):
    # program h < HQ: query head h, rotated into q_out [HQ, D]; h >= HQ: key head h - HQ, rotated and written
    # with its value into the caches [HKV, slots, D] at slot position % ring (ring: the ring's size, or the
    # full cache's length, where the remainder is the position itself)
    h = tl.program_id(0)
    i = tl.arange(0, HALF)
    D: tl.constexpr = 2 * HALF
    ty: tl.constexpr = qkv_ptr.dtype.element_ty
    cos = tl.load(cos_ptr + i).to(tl.float32)
    sin = tl.load(sin_ptr + i).to(tl.float32)
    x1 = _load_head(qkv_ptr, b_ptr, h * D + i, HAS_BIAS, ty)
    x2 = _load_head(qkv_ptr, b_ptr, h * D + HALF + i, HAS_BIAS, ty)
    # (x1 cos - x2 sin, x2 cos + x1 sin), each product and sum rounded as torch's bf16 ops round them
    o1 = (_round(x1 * cos, ty) - _round(x2 * sin, ty)).to(ty)
    o2 = (_round(x2 * cos, ty) + _round(x1 * sin, ty)).to(ty)
    if h < HQ:
        tl.store(q_out_ptr + h * D + i, o1.to(q_out_ptr.dtype.element_ty))
        tl.store(q_out_ptr + h * D + HALF + i, o2.to(q_out_ptr.dtype.element_ty))
    else:
        kvh = (h - HQ).to(tl.int64)
        slot = tl.load(pos_ptr) % ring
        dst = kvh * stride_kh + slot * stride_ks
        tl.store(k_ptr + dst + i, o1.to(k_ptr.dtype.element_ty))
        tl.store(k_ptr + dst + HALF + i, o2.to(k_ptr.dtype.element_ty))
        src = (HQ + HKV) * D + kvh * D
        v1 = _load_head(qkv_ptr, b_ptr, src + i, HAS_BIAS, ty)
        v2 = _load_head(qkv_ptr, b_ptr, src + HALF + i, HAS_BIAS, ty)
        tl.store(v_ptr + dst + i, v1.to(v_ptr.dtype.element_ty))
        tl.store(v_ptr + dst + HALF + i, v2.to(v_ptr.dtype.element_ty))


@triton.jit
def router_kernel(x_ptr, w_ptr, b_ptr, ids_ptr, wts_ptr, H, E,
                  K: tl.constexpr, EP: tl.constexpr, BH: tl.constexpr):
    # one token: logits = x @ W^T + b (rounded to bf16 like torch's linear), the K largest (ties: the lower
    # id), their softmax, written in increasing expert id (the order engine.layers.moe.by_expert gives)
    t = tl.program_id(0).to(tl.int64)
    e = tl.arange(0, EP)
    emask = e < E
    acc = tl.zeros([EP], dtype=tl.float32)
    for h0 in range(0, H, BH):
        hs = h0 + tl.arange(0, BH)
        hmask = hs < H
        x = tl.load(x_ptr + t * H + hs, mask=hmask, other=0.0).to(tl.float32)
        w = tl.load(w_ptr + e[:, None].to(tl.int64) * H + hs[None, :], mask=emask[:, None] & hmask[None, :],
                    other=0.0).to(tl.float32)
        acc += tl.sum(w * x[None, :], axis=1)
    b = tl.load(b_ptr + e, mask=emask, other=0.0).to(tl.float32)
    logit = (acc + b).to(x_ptr.dtype.element_ty).to(tl.float32)
    logit = tl.where(emask, logit, float("-inf"))
    chosen = e < 0
    for _ in tl.static_range(K):
        candidates = tl.where(chosen, float("-inf"), logit)
        top = tl.max(candidates, axis=0)
        first = tl.min(tl.where((candidates == top) & emask & ~chosen, e, EP), axis=0)
        chosen = chosen | (e == first)
    top = tl.max(tl.where(chosen, logit, float("-inf")), axis=0)
    p = tl.where(chosen, tl.exp(logit - top), 0.0)
    weights = p / tl.sum(p, axis=0)
    rank = tl.cumsum(chosen.to(tl.int32), axis=0) - 1
    tl.store(ids_ptr + t * K + rank, e.to(ids_ptr.dtype.element_ty), mask=chosen)
    tl.store(wts_ptr + t * K + rank, weights.to(wts_ptr.dtype.element_ty), mask=chosen)
