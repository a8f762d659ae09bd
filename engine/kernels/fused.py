"""The fused kernels of a decode step, each with its torch reference (engine/kernels/fused_ref.py) behind one
call: Triton where ``engine.kernels.use_fused(device)`` says it runs (CUDA with Triton, or ``meta`` while
counting), else the reference; a Triton failure falls back to the reference once and for all (as the MoE
kernels do, ``engine.kernels.run_with_fallback``).

A decode layer on the Triton path is ten kernels (docs/architecture.md, "Decode kernels"):
add + RMSNorm, the one QKV projection (cuBLAS), RoPE + KV-cache write, flash-decode attention (two: the
pieces and their merge), the output projection (cuBLAS), add + RMSNorm, the router, and the two MXFP4
expert kernels. Importing this module never imports Triton.
"""

from __future__ import annotations

import functools

import torch

from engine import kernels

from . import fused_ref as ref
from .launch import launch

DECODE_BLOCK = 64  # keys per loop step of a decode program
PREFILL_BM, PREFILL_BN = 64, 64  # queries and keys per tile of prefill attention
MAX_SPLITS = 32  # pieces of a long context (x 8 KV heads: 256 programs, about two per SM of an H100)
KEYS_PER_SPLIT = 256  # a cache this long per piece at most before another piece is worth a program


def _layer():
    from . import layer_triton

    return layer_triton


def _attention():
    from . import attention_triton

    return attention_triton


def _interpreted(t: torch.Tensor) -> bool:
    return t.device.type == "cpu"  # only Triton's interpreter runs kernels on CPU tensors


def _run(device: torch.device, triton_fn, torch_fn):
    # kernels.use_fused is looked up at each call: tests replace it to run the kernels interpreted
    if not kernels.use_fused(device):
        return torch_fn()
    return kernels.run_with_fallback(kernels.backend(), device, triton_fn, torch_fn)


def add_rms_norm(
    x: torch.Tensor,
    delta: torch.Tensor | None,
    scale: torch.Tensor,
    eps: float,
    delta_bias: torch.Tensor | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """(x + delta, rms_norm(x + delta) * scale) for x, delta [T, H] (delta None: x itself, not copied).
    delta_bias [H]: the bias of the projection that made delta (run without it: cuBLAS adds a one-row GEMV's
    bias in a kernel of its own), added to delta here."""

    def triton_fn():
        t, h = x.shape
        residual = x if delta is None else torch.empty_like(x)
        normed = torch.empty_like(x)
        launch(
            _layer().add_rms_norm_kernel,
            (t,),
            x,
            x if delta is None else delta,
            scale if delta_bias is None else delta_bias,
            scale,
            residual,
            normed,
            h,
            float(eps),
            HAS_DELTA=delta is not None,
            HAS_DBIAS=delta is not None and delta_bias is not None,
            BH=_pow2(h),
            num_warps=8 if h >= 2048 else 4,
        )
        return residual, normed

    if not kernels.use_fused(x.device) and _cpu_norm_applies(x, delta, scale, delta_bias):
        return _cpu_add_rms_norm(x, delta, scale, eps, delta_bias)
    return _run(x.device, triton_fn, lambda: ref.add_rms_norm(x, delta, scale, eps, delta_bias))


def _cpu_norm_applies(x, delta, scale, delta_bias) -> bool:
    """The CPU's numba add + RMSNorm takes bf16 rows [T, H], a delta like them (or none), a bf16 bias [H] (or
    none) and a float32 scale [H], where numba runs (GOSSAMER_KERNELS=torch turns it off). Not while torch
    operations are being recorded (kernels.cpu_runs_now)."""
    like = x.device.type == "cpu" and x.dtype == torch.bfloat16 and x.dim() == 2
    if not like or scale.shape != x.shape[1:] or scale.dtype != torch.float32 or scale.device.type != "cpu":
        return False
    if delta is not None and (delta.shape != x.shape or delta.dtype != x.dtype or delta.device.type != "cpu"):
        return False
    if delta_bias is not None and (
        delta is None or delta_bias.shape != scale.shape or delta_bias.dtype != x.dtype
    ):
        return False
    return kernels.cpu_runs_now()


def _cpu_add_rms_norm(x, delta, scale, eps, delta_bias):
    from . import cpu_mxfp4, cpu_norm_jit  # numba compiles on first use (engine/runtime/loader.py warms it)

    none, bits = _cpu_none(), cpu_mxfp4.tensor_bits
    with cpu_mxfp4.NUMBA_LOCK:
        residual, normed = cpu_norm_jit.add_rms_norm(
            bits(x),
            none[0] if delta is None else bits(delta),
            none[1] if delta_bias is None else bits(delta_bias),
            scale.contiguous().numpy(),
            float(eps),
        )
    normed = torch.from_numpy(normed).view(torch.bfloat16)
    return (x if delta is None else torch.from_numpy(residual).view(torch.bfloat16)), normed


@functools.cache
def _cpu_none():
    import numpy as np  # with numba, which _cpu_norm_applies found

    return np.zeros((0, 0), np.int16), np.zeros(0, np.int16)  # no delta, no bias


def rope_kv_write(
    qkv, cos, sin, position, k_cache, v_cache, ring: int, num_heads: int, num_kv_heads: int, bias=None
):
    """One token: qkv [1, (heads + 2 kv_heads) * d] (+ bias, when the projection left it out: one cuBLAS
    kernel, not two) -> rotated queries [heads, d]; key and value written to the caches [kv_heads, slots, d]
    at slot position % ring (position: [1] int64 on the device)."""

    def triton_fn():
        d = k_cache.shape[-1]
        assert qkv.shape == (1, (num_heads + 2 * num_kv_heads) * d), qkv.shape
        assert k_cache.stride() == v_cache.stride() and k_cache.stride(-1) == 1, k_cache.stride()
        q = torch.empty(num_heads, d, dtype=qkv.dtype, device=qkv.device)
        launch(
            _layer().rope_kv_kernel,
            (num_heads + num_kv_heads,),
            qkv.contiguous(),
            qkv if bias is None else bias.contiguous(),
            cos.contiguous(),
            sin.contiguous(),
            position,
            q,
            k_cache,
            v_cache,
            k_cache.stride(0),
            k_cache.stride(1),
            ring,
            HQ=num_heads,
            HKV=num_kv_heads,
            HALF=d // 2,
            HAS_BIAS=bias is not None,
            num_warps=1,
        )
        return q

    args = (qkv, cos, sin, position, k_cache, v_cache, ring, num_heads, num_kv_heads, bias)
    return _run(qkv.device, triton_fn, lambda: ref.rope_kv_write(*args))


def decode_splits(live_capacity: int) -> int:
    """Pieces the decode kernel cuts the live keys into: fixed by what the layer can hold (the window of a
    sliding layer, the cache's length for a full one), so a CUDA graph's grid never changes; pieces past
    the live keys return at once."""
    return max(1, min(MAX_SPLITS, -(-live_capacity // KEYS_PER_SPLIT)))


def decode_attention(
    q, k_cache, v_cache, position, ring: int, window: int, sinks, scale: float, num_splits: int
):
    """q [heads, d] at position ([1] int64) over the caches [kv_heads, slots, d] (slot = position % ring) ->
    [1, heads * d]; window > 0: the last ``window`` positions only. sinks: [heads] float32."""

    def triton_fn():
        heads, d = q.shape
        num_kv = k_cache.shape[0]
        group = heads // num_kv
        assert k_cache.stride() == v_cache.stride() and k_cache.stride(-1) == 1 and q.is_contiguous()
        acc = torch.empty(heads, num_splits, d, dtype=torch.float32, device=q.device)
        ml = torch.empty(heads, num_splits, 2, dtype=torch.float32, device=q.device)
        out = torch.empty(1, heads * d, dtype=q.dtype, device=q.device)
        A = _attention()
        launch(
            A.decode_partial_kernel,
            (num_kv, num_splits),
            q,
            k_cache,
            v_cache,
            position,
            acc,
            ml,
            k_cache.stride(0),
            k_cache.stride(1),
            ring,
            window,
            float(scale),
            num_splits,
            GROUP=group,
            GP=max(16, _pow2(group)),
            D=d,
            BLOCK=DECODE_BLOCK,
            DOT_F32=_interpreted(q),
            num_warps=4,
        )
        launch(
            A.decode_combine_kernel,
            (heads,),
            acc,
            ml,
            sinks,
            out,
            num_splits,
            D=d,
            SP=max(2, _pow2(num_splits)),
            num_warps=1,
        )
        return out

    return _run(
        q.device,
        triton_fn,
        lambda: ref.decode_attention(q, k_cache, v_cache, position, ring, window, sinks, scale),
    )


def prefill_attention(q, keys, values, sinks, scale: float, q_start: int, key_start: int, window: int):
    """Triton only (the caller's torch path is the reference): q [T, heads, d] at positions q_start.., keys
    and values [kv_heads, S, d] at key_start.. -> [T, heads * d], causal, window > 0: sliding."""
    t, heads, d = q.shape
    num_kv, s, _ = keys.shape
    if keys.stride() != values.stride() or keys.stride(-1) != 1:  # the caches' views never need this
        keys, values = keys.contiguous(), values.contiguous()
    q = q if q.stride(-1) == 1 else q.contiguous()
    out = torch.empty(t, heads * d, dtype=q.dtype, device=q.device)
    grid = (-(-t // PREFILL_BM), heads)
    launch(
        _attention().prefill_kernel,
        grid,
        q,
        keys,
        values,
        sinks,
        out,
        t,
        s,
        q_start,
        key_start,
        window,
        float(scale),
        q.stride(0),
        q.stride(1),
        keys.stride(0),
        keys.stride(1),
        out.stride(0),
        GROUP=heads // num_kv,
        D=d,
        BM=PREFILL_BM,
        BN=PREFILL_BN,
        DOT_F32=_interpreted(q),
        num_warps=4,
    )
    return out


def route(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor, k: int):
    """x [T, H] -> (expert ids [T, k] int64 in increasing id, their weights [T, k] in x's dtype)."""

    def triton_fn():
        t, h = x.shape
        e = weight.shape[0]
        xc, wc = x.contiguous(), weight.contiguous()  # no copy when they already are (always, in the model)
        ids = torch.empty(t, k, dtype=torch.long, device=x.device)
        weights = torch.empty(t, k, dtype=x.dtype, device=x.device)
        ep = _pow2(e)
        launch(
            _layer().router_kernel,
            (t,),
            xc,
            wc,
            bias,
            ids,
            weights,
            h,
            e,
            K=k,
            EP=ep,
            BH=max(16, min(256, 8192 // ep)),
            num_warps=4,
        )
        return ids, weights

    return _run(x.device, triton_fn, lambda: ref.route(x, weight, bias, k))


def router_block(padded_experts: int) -> int:
    """Hidden columns per loop step of the router: a [experts, columns] tile of 4096 weights stays in
    registers (8192 spilled for 128 experts on sm_90)."""
    return max(16, min(256, 4096 // padded_experts))


def _pow2(n: int) -> int:
    return 1 << max(0, (n - 1).bit_length())
