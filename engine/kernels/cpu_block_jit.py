"""A decode step's attention half of a block, on the CPU, in one numba call (engine/kernels/cpu_block.py).

From the residual stream to the routes: add + RMSNorm, q/k/v with RoPE, the cache write, attention over the
cache, the output projection, add + RMSNorm, the router's GEMV, its top k and their softmax. Each part up to
the logits is the kernel the step calls on its own (cpu_norm_jit, cpu_bf16_jit, cpu_attend_jit), in the same
order with the same arguments, so the numbers are theirs bit for bit; what goes is the Python and the torch
operations between them, 0.5-1 ms a layer in a decode step once the weight streams have flushed the caches
(benchmarks/cpu_glue.py).

The routes (``top_routes``) are torch's topk and softmax (engine/layers/moe.py MoE.top) where those are
unambiguous: where the k-th and the next logit tie, or one is NaN, torch's choice among equals is its own,
so the caller routes with torch from the logits. The softmax sums in torch's order and multiplies by the
reciprocal as torch does; its exp may differ from torch's vectorised one in the last float32 bit, which
changed a routing weight's bf16 in 10 of 8 million in a test of random logits (one bf16 step each).

numba's disk cache keys these functions on this file alone: the kernels it compiles in from the files named in
``CALLEES`` are pinned by their hash as ``CALLEES_SOURCE`` (a test keeps it current), so editing one
recompiles this too.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from engine.kernels.cpu_attend_jit import attend_slots
from engine.kernels.cpu_bf16_jit import gemv, gemv3_rotated
from engine.kernels.cpu_bits import bf16_bits, widen
from engine.kernels.cpu_norm_jit import add_rms_norm

CALLEES = ("cpu_attend_jit.py", "cpu_bf16_jit.py", "cpu_bits.py", "cpu_norm_jit.py")
CALLEES_SOURCE = "6b6f6c78dd8eefa5"  # sha256 of CALLEES' bytes in that order (first 16 hex digits)


@njit(cache=True, nogil=True, error_model="numpy")
def attention_half(
    x, delta, attn_norm, mlp_norm, eps,
    qw, qb, kw, kb, vw, vb, cos, sin,
    cache_k, cache_v, slot, first, count, sinks, scale,
    ow, ob, gw, gb, top_k,
):  # fmt: skip
    """One token: x [1, H] bf16 bits, the residual stream; delta [1, H] bits, the previous block's MoE output
    to add (or [0, 0]: none); attn_norm, mlp_norm [H] float32 scales; q/k/v/o/gate weights [N, K] uint16
    (bf16 bits) with their biases [N] bits (or [0]: none); cos, sin [1, half] bits; cache_k, cache_v
    [kv_heads, slots, d] float32: the token's key and value go to ``slot``, then its query attends to the
    ``count`` keys from slot ``first`` on in ring order; sinks [heads] float32.

    -> (the residual stream after attention [1, H], its norm for the MoE [1, H], the router's logits [1, E],
    all bits; the top_k routes' experts [1, top_k] int64 and weights [1, top_k] bits, from top_routes, and
    whether they hold). The cache holds the new key and value."""
    if delta.shape[0]:
        residual, normed = add_rms_norm(x, delta, np.zeros(0, np.int16), attn_norm, eps)
    else:
        residual, normed = x, add_rms_norm(x, delta, np.zeros(0, np.int16), attn_norm, eps)[1]
    q = np.empty((1, qw.shape[0]), dtype=np.int16)
    k = np.empty((1, kw.shape[0]), dtype=np.int16)
    v = np.empty((1, vw.shape[0]), dtype=np.int16)
    gemv3_rotated(normed, qw, qb, q, kw, kb, k, vw, vb, v, cos, sin)
    kv_heads, d = cache_k.shape[0], cache_k.shape[2]
    for h in range(kv_heads):
        for j in range(d):
            cache_k[h, slot, j] = widen(k[0, h * d + j])
            cache_v[h, slot, j] = widen(v[0, h * d + j])
    attended = attend_slots(q[0], cache_k, cache_v, first, count, sinks, scale)
    out = np.empty((1, ow.shape[0]), dtype=np.int16)
    gemv(attended.reshape(1, -1), ow, ob, out)
    residual, normed = add_rms_norm(residual, out, np.zeros(0, np.int16), mlp_norm, eps)
    logits = np.empty((1, gw.shape[0]), dtype=np.int16)
    gemv(normed, gw, gb, logits)
    ids, weights = np.empty((1, top_k), dtype=np.int64), np.empty((1, top_k), dtype=np.int16)
    routed = top_routes(logits[0], ids[0], weights[0])
    return residual, normed, logits, ids, weights, routed


@njit(cache=True, nogil=True, error_model="numpy")
def top_routes(logits, ids, weights):
    """The k = len(ids) largest of logits [E] (bf16 bits) -> ids: their experts in increasing id (the order
    their outputs are summed in), weights: the softmax of their logits (bits). False where torch's topk could
    choose otherwise (a tie at the k-th place, a NaN): then ids and weights mean nothing."""
    experts, k = logits.shape[0], ids.shape[0]
    values = np.empty(experts, dtype=np.float32)
    for e in range(experts):
        values[e] = widen(logits[e])
        if np.isnan(values[e]):
            return False
    chosen = np.zeros(experts, dtype=np.bool_)
    top = np.empty(k, dtype=np.float32)  # descending, as torch's sorted topk gives them
    for j in range(min(k + 1, experts)):
        best = -1
        for e in range(experts):
            if not chosen[e] and (best < 0 or values[e] > values[best]):
                best = e
        if j == k:  # the first expert left out: below the last one in, or the choice is torch's
            if not values[best] < top[k - 1]:
                return False
        else:
            chosen[best] = True
            top[j] = values[best]
    total = np.float32(0.0)
    for j in range(k):
        total += np.exp(top[j] - top[0])
    inverse = np.float32(1.0) / total
    j = 0
    for e in range(experts):
        if chosen[e]:
            ids[j] = e
            weights[j] = bf16_bits(np.exp(values[e] - top[0]) * inverse)
            j += 1
    return True
