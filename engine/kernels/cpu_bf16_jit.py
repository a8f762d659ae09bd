"""The numba function behind engine/kernels/cpu_bf16.py, compiled on first use and cached on disk."""

from __future__ import annotations

import numpy as np
from numba import njit, prange

ROWS_PER_CHUNK = 64  # weight rows a chunk of work holds (64 x 2880 bf16 = 360 KB: one stream per thread)


@njit(cache=True, nogil=True, parallel=True, fastmath={"reassoc", "contract", "nsz"}, error_model="numpy")
def gemv(x, w, bias, out):
    # out[t, n] = sum_k x[t, k] * w[n, k] + bias[n] in float32; x [T, K] float32, w [N, K] uint16 (bf16 bits:
    # the high half of a float32, so widening is a shift), bias [N] float32 (zeros for none)
    rows, width, tokens = w.shape[0], w.shape[1], x.shape[0]
    chunks = (rows + ROWS_PER_CHUNK - 1) // ROWS_PER_CHUNK
    for chunk in prange(chunks):
        for n in range(chunk * ROWS_PER_CHUNK, min((chunk + 1) * ROWS_PER_CHUNK, rows)):
            wn = w[n]
            for t in range(tokens):
                xt = x[t]
                s = np.float32(0.0)
                for k in range(width):
                    s += np.uint32(np.uint32(wn[k]) << np.uint32(16)).view(np.float32) * xt[k]
                out[t, n] = s + bias[n]
