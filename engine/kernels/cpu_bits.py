"""bf16 in numba kernels: tensors handed over as their bits (int16 views, no copy), not converted copies.

A decode step on the CPU called torch for ~40 conversions (bf16 -> float32 arrays for the kernels and back)
at 5-30 us each, slower still after a weight stream had flushed the caches. The kernels take the bits and
convert themselves: ``widen`` is exact (bf16 is float32's high half) and ``bf16_bits`` rounds as torch's
``.to(torch.bfloat16)`` does (to nearest, ties to even; a NaN becomes the quiet NaN 0x7FC0).

The overloads let one kernel take either form: float32 arrays as before, or int16 bits.

numba's disk cache does not see this file from the kernels that call it: engine/kernels/cpu_bf16_jit.py and
cpu_mxfp4_jit.py pin its hash as BITS_SOURCE (a test keeps them current), so editing it recompiles them.
"""

from __future__ import annotations

import numpy as np
from numba import njit, types
from numba.extending import overload

helper = njit(cache=True, nogil=True, error_model="numpy")


@helper
def bf16_bits(value):
    # float32 -> the bits of the nearest bf16 (ties to even), as torch rounds; any NaN -> 0x7FC0
    u = np.float32(value).view(np.uint32)
    if (u & np.uint32(0x7FFFFFFF)) > np.uint32(0x7F800000):
        return np.int16(0x7FC0)
    u = u + np.uint32(0x7FFF) + ((u >> np.uint32(16)) & np.uint32(1))
    return np.int16(np.uint16(u >> np.uint32(16)))


@helper
def widen(bits):
    # bf16 bits (int16) -> float32, exactly
    return np.uint32(np.uint32(np.uint16(bits)) << np.uint32(16)).view(np.float32)


@helper
def to_bf16(value):
    # float32 -> the nearest bf16, kept as a float32: what a torch bf16 operation's result holds
    return widen(bf16_bits(value))


def floats(x):
    """A 2-D array as float32: itself, or its bf16 bits (int16) widened into a new array."""


def value(a, i):
    """a[i] as a float32 (a float32 array, or bf16 bits)."""


def store(out, t, n, v):
    """out[t, n] = v: the float32 itself, or its bf16 bits (an int16 array) rounded to nearest."""


def rounded(out, like):
    """A float32 result ``out`` in the form of the input ``like``: itself, or its bf16 bits when ``like`` came
    as bits."""


@overload(floats)
def _floats(x):
    if x.dtype == types.float32:
        return lambda x: x

    def impl(x):
        out = np.empty(x.shape, dtype=np.float32)
        for t in range(x.shape[0]):
            for k in range(x.shape[1]):
                out[t, k] = widen(x[t, k])
        return out

    return impl


@overload(value)
def _value(a, i):
    if a.dtype == types.int16:
        return lambda a, i: widen(a[i])
    return lambda a, i: np.float32(a[i])


@overload(store)
def _store(out, t, n, v):
    if out.dtype == types.int16:

        def impl_bits(out, t, n, v):
            out[t, n] = bf16_bits(v)

        return impl_bits

    def impl(out, t, n, v):
        out[t, n] = v

    return impl


@overload(rounded)
def _rounded(out, like):
    if like.dtype != types.int16:
        return lambda out, like: out

    def impl(out, like):
        bits = np.empty(out.shape, dtype=np.int16)
        for t in range(out.shape[0]):
            for n in range(out.shape[1]):
                bits[t, n] = bf16_bits(out[t, n])
        return bits

    return impl
