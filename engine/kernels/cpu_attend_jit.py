"""One query token's attention on the CPU in one numba call (engine/layers/attention.py attend, decode).

torch's path (attend_torch) is about 25 small operations a layer; in a decode step, with the caches cold from
the weight streams, they cost 0.8-1 ms a layer (benchmarks/cpu_glue.py). Here, with every rounding where
attend_torch rounds: each score's float32 dot rounded to bf16 and scaled in bf16, the softmax with the sink
in float32, the probabilities rounded to bf16, the output rounded to bf16.

Sums run in the order torch's BMM adds them for a decode step's shapes: each score a sequential sum over the
head's 64 dimensions, each output a sequential sum over the keys (measured equal bit for bit up to about 150
keys; past that BLAS blocks the keys, by 128 or 192 by length, so the last bits may differ, as they do
between a decode step and a prefill in torch itself). The products are exact (bf16 times bf16), so fused
multiply-adds change nothing. exp and the softmax denominator's sum may differ from torch's in the last bit.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from engine.kernels.cpu_bits import bf16_bits, to_bf16, widen

BITS_SOURCE = "1586952ebdcce718"  # sha256 of cpu_bits.py (first 16 hex digits): numba's cache does not see it


@njit(cache=True, nogil=True, error_model="numpy")
def attend_one(q, keys, values, sinks, scale):
    # q [heads * d] bf16 bits (one token); keys, values [kv_heads, n, d] float32 (bf16 values); sinks [heads]
    # float32; scale: the scores' factor -> [heads * d] bf16 bits
    return attend_slots(q, keys, values, 0, keys.shape[1], sinks, scale)


@njit(cache=True, nogil=True, parallel=True, error_model="numpy")
def attend_slots(q, keys, values, first, n, sinks, scale):
    # attend_one over n keys of a cache [kv_heads, slots, d] in ring order: key i at slot (first + i) % slots
    # (a sliding layer's ring; a full layer's keys from slot 0)
    kv_heads, slots, d = keys.shape
    heads = sinks.shape[0]
    group = heads // kv_heads
    out = np.empty(heads * d, dtype=np.int16)
    factor = np.float32(scale)
    for kv_ in prange(kv_heads):
        kv = np.int64(kv_)
        h0 = kv * group
        keys_t = np.empty((d, n), dtype=np.float32)  # the keys transposed: a dimension's values in a run
        for i in range(n):
            slot = (first + i) % slots
            for j in range(d):
                keys_t[j, i] = keys[kv, slot, j]
        probs = np.zeros((group, n), dtype=np.float32)
        for g in range(group):
            row = probs[g]
            for j in range(d):  # every key's sum in order over j, the keys side by side
                qj = widen(q[(h0 + g) * d + j])
                kj = keys_t[j]
                for i in range(n):
                    row[i] += qj * kj[i]
            sink = sinks[h0 + g]
            top = sink
            for i in range(n):
                row[i] = to_bf16(to_bf16(row[i]) * factor)
                top = max(top, row[i])
            total = np.float32(0.0)
            for i in range(n):
                e = np.exp(row[i] - top)
                row[i] = e
                total += e
            total += np.exp(sink - top)
            for i in range(n):
                row[i] = to_bf16(row[i] / total)
        vals = np.empty((n, d), dtype=np.float32)
        for i in range(n):
            slot = (first + i) % slots
            for j in range(d):
                vals[i, j] = values[kv, slot, j]
        acc = np.zeros((group, d), dtype=np.float32)
        for i in range(n):  # each output's sum in order over the keys
            vi = vals[i]
            for g in range(group):
                p = probs[g, i]
                a = acc[g]
                for j in range(d):
                    a[j] += p * vi[j]
        for g in range(group):
            for j in range(d):
                out[(h0 + g) * d + j] = bf16_bits(acc[g, j])
    return out
