"""MXFP4 expert MLPs on the CPU, computed straight from the packed weights (numba, every core).

The torch path dequantizes each routed expert to bf16 in memory (50 MB for a gpt-oss-20b expert, four of
them per layer per token) and multiplies; most of its time goes to writing and reading that copy. Here the
weights are read once, packed, and never written.

On x86 with AVX2 (engine/kernels/cpu_mxfp4_simd.py) each group of 32 FP4 codes is looked up with pshufb as
small integers and multiplied with the inputs, quantized per group of 32 to int16 with a power-of-two
scale, by pmaddwd: the group's integer sum is exact, so the only rounding is the inputs' to 16 bits (at most
2**-15 of a group's largest; bf16 inputs near it exactly). Eight routes share each decoded row. Elsewhere
(ARM, older x86) the portable kernels turn the codes into float32 by integer arithmetic, a row of one
route at a time for decode and a tile of 16 rows decoded into L2 for several. Details in
engine/kernels/cpu_mxfp4_jit.py.

numba ships LLVM in its wheels, so this needs no compiler on the user's machine (Windows included); the
functions compile on first use (20-60 s once: numba caches the machine code on disk, and later starts load
it in about a second; engine/runtime/loader.py does this while a CPU model loads). The numbers follow the
torch path's roundings (engine/layers/moe.py): float32 sums rounded to bf16 after each matmul, the bias
added in bf16, the SwiGLU in bf16 steps, the routes summed in float32 in order; only the order of a row's
additions differs (and, on AVX2, the inputs' 16-bit rounding).
"""

from __future__ import annotations

import functools
import logging
import os
import threading
from types import SimpleNamespace

import numpy as np
import torch

log = logging.getLogger(__name__)

# numba's default thread pool runs one parallel region at a time: every caller of a parallel function holds this
NUMBA_LOCK = threading.Lock()


# why a set of kernels failed in this process, by set: "vector" (cpu_mxfp4_simd's, the portable ones run
# instead) or "numba" (all of them: the torch path runs instead). Said once in the log; bench reports it.
FAILED: dict[str, str] = {}


def available() -> bool:
    """numba imports and its kernels have not failed here; GOSSAMER_KERNELS=torch turns them off."""
    return _importable() and "numba" not in FAILED


@functools.cache
def _importable() -> bool:
    if os.environ.get("GOSSAMER_KERNELS", "").strip().lower() == "torch":
        return False
    try:
        import numba  # noqa: F401
    except Exception:  # a broken install raises more than ImportError
        return False
    return True


def vector_kernels() -> bool:
    """Whether the x86 vector kernels (cpu_mxfp4_simd) run here: on this CPU, and not failed."""
    from engine.kernels import cpu_mxfp4_simd

    return cpu_mxfp4_simd.available() and "vector" not in FAILED


def expert_mlp_cpu(x, rows, weights, packed, limit: float, alpha: float) -> torch.Tensor:
    """The seam of engine/layers/moe.py on the CPU: x [T, H] bf16, rows [T, k] rows of ``packed``,
    weights [T, k] -> [T, H] bf16 = sum_j weights[t, j] * expert_{rows[t, j]}(x[t])."""
    k = rows.shape[1]
    order, starts, used = _by_expert(rows.reshape(-1).numpy())
    kernels = _kernels()
    # the vector kernels read each row's 16-byte groups and their scales in a run; other layouts (none that
    # the engine makes today) go to the portable ones, which index anything
    blocks, scales = (packed.mlp1_blocks, packed.mlp2_blocks), (packed.mlp1_scales, packed.mlp2_scales)
    runs = all(b.stride()[2:] == (16, 1) for b in blocks) and all(s.stride(2) == 1 for s in scales)
    moe = kernels.moe if runs and "vector" not in FAILED else kernels.moe_float
    biases = (packed.mlp1_bias, packed.mlp2_bias)
    if all(a.dtype == torch.bfloat16 for a in (x, weights, *biases)):
        # bf16 bits, views of the tensors: the kernels widen them and round their result themselves
        xs, ws, (b1, b2) = tensor_bits(x), tensor_bits(weights).reshape(-1), (tensor_bits(b) for b in biases)
    else:  # float32 copies, the biases of the used experts only
        used_t = torch.from_numpy(used)
        xs, ws = x.float().numpy(), weights.float().reshape(-1).numpy()
        b1, b2 = (b.index_select(0, used_t).float().numpy() for b in biases)
    args = (
        xs,
        order,
        starts,
        used,
        k,
        ws,
        blocks[0].numpy(),
        scales[0].numpy(),
        b1,
        blocks[1].numpy(),
        scales[1].numpy(),
        b2,
        np.float32(limit),
        np.float32(alpha),
        threads(),
    )
    with NUMBA_LOCK:
        try:
            out = moe(*args)
        except AssertionError:
            raise
        except Exception as error:  # numba's and LLVM's errors are many (a CPU or an install not tested)
            out = _after_failure(kernels, moe, args, error)
    if out.dtype == np.int16:
        return torch.from_numpy(out).view(torch.bfloat16)
    return torch.from_numpy(out).to(torch.bfloat16)


def tensor_bits(t: torch.Tensor) -> np.ndarray:
    """A bf16 tensor's bits as int16 for the numba kernels (engine/kernels/cpu_bits.py): a view where it is
    contiguous."""
    return t.contiguous().view(torch.int16).numpy()


def _by_expert(flat: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Routes [T * k] (expert rows) -> (order: the routes grouped by expert, in increasing row and then route
    number; starts: where each expert's routes begin in order, and the end; used: the experts, increasing)."""
    if flat.shape[0] < 2 or (flat[1:] > flat[:-1]).all():  # one token's routes, sorted (moe.by_expert)
        every = np.arange(flat.shape[0] + 1, dtype=np.int64)
        return every[:-1], every, flat.astype(np.int64)
    used, route_expert = np.unique(flat, return_inverse=True)  # experts in increasing id; route -> index
    order = np.argsort(route_expert, kind="stable").astype(np.int64)
    starts = np.zeros(len(used) + 1, dtype=np.int64)
    np.cumsum(np.bincount(route_expert, minlength=len(used)), out=starts[1:])
    return order, starts, used.astype(np.int64)


def _after_failure(kernels, moe, args, error: Exception):
    """A kernel set failed to compile or run: say so once, use the next set from now on (the vector
    kernels -> the portable ones -> torch's path, which the caller runs when this raises)."""
    why = f"{type(error).__name__}: {error}"
    if moe is not kernels.moe_float:
        FAILED["vector"] = why
        log.warning("the CPU's vector kernels failed, the portable ones run from now on: %s", why)
        try:
            return kernels.moe_float(*args)
        except AssertionError:
            raise
        except Exception as again:  # noqa: BLE001  (as above)
            error, why = again, f"{type(again).__name__}: {again}"
    FAILED["numba"] = why
    log.warning("the CPU's numba kernels failed, the PyTorch path runs from now on: %s", why)
    raise error


def threads() -> int:
    """numba's thread count (numba.set_num_threads), to pass to a kernel: read inside one, it would keep
    numba's disk cache from holding the kernel."""
    import numba

    return numba.get_num_threads()


def warm_up() -> None:
    """Compile (or load from numba's cache) the functions a forward pass calls, on a tiny layer."""
    zeros, u8 = torch.zeros, torch.uint8
    packed = SimpleNamespace(  # the fields of engine.layers.experts.PackedExperts, one expert of 32 x 1
        mlp1_blocks=zeros(1, 2, 1, 16, dtype=u8),
        mlp1_scales=zeros(1, 2, 1, dtype=u8),
        mlp1_bias=zeros(1, 2).bfloat16(),
        mlp2_blocks=zeros(1, 32, 1, 16, dtype=u8),
        mlp2_scales=zeros(1, 32, 1, dtype=u8),
        mlp2_bias=zeros(1, 32).bfloat16(),
    )
    for tokens in (1, 2):  # decode and prefill
        x, rows, weights = zeros(tokens, 32).bfloat16(), zeros(tokens, 1, dtype=torch.long), zeros(tokens, 1)
        expert_mlp_cpu(x, rows, weights.bfloat16(), packed, 7.0, 1.7)
    from engine.kernels import cpu_bf16_jit  # the projections' and the unembedding's GEMV and GEMM

    # as engine/kernels/cpu_bf16.py calls them: bf16 bits in and out, a bias or none (length 0)
    w, x, out = np.zeros((1, 8), np.uint16), np.zeros((9, 8), np.int16), np.zeros((9, 1), np.int16)
    bias, head, o2 = np.zeros(1, np.int16), np.zeros((2, 8), np.uint16), np.zeros((1, 2), np.int16)
    q_k, angles = (head, bias[:0], o2), np.zeros((1, 1), np.int16)  # a head of 2 columns, no bias; [1, 1]
    with NUMBA_LOCK:
        cpu_bf16_jit.gemv(x[:1], w, bias, out[:1])
        cpu_bf16_jit.gemv3(x[:1], w, bias, out[:1], w, bias, out[:1], w, bias, out[:1])
        cpu_bf16_jit.gemv3_rotated(x[:1], *q_k, *q_k, w, bias, out[:1], angles, angles)
        cpu_bf16_jit.gemm(x, w, bias, out, threads())
    from engine.kernels import cpu_norm_jit  # engine.kernels.fused's add + RMSNorm on the CPU

    rows, scale, none = np.zeros((2, 8), np.int16), np.ones(8, np.float32), np.zeros((0, 0), np.int16)
    with NUMBA_LOCK:
        cpu_norm_jit.add_rms_norm(rows, rows, rows[0], scale, 1e-5)  # with a delta and its bias
        cpu_norm_jit.add_rms_norm(rows, none, np.zeros(0, np.int16), scale, 1e-5)  # without
    from engine.kernels import cpu_attend_jit  # engine.layers.attention's one-token attention on the CPU

    keys = np.zeros((1, 2, 8), np.float32)
    with NUMBA_LOCK:
        cpu_attend_jit.attend_one(rows[0], keys, keys, scale[:1], 0.5)
    from engine.kernels import cpu_block_jit  # engine/model.py's attention half of a CPU decode step

    # hidden 8; two heads of 2 dimensions sharing one key and value head; a cache of 3 slots; 2 experts
    qw, kw, ow, gw = (np.zeros(shape, np.uint16) for shape in ((4, 8), (2, 8), (8, 4), (2, 8)))
    qb, kb, ob, gb = (np.zeros(n, np.int16) for n in (4, 2, 8, 2))
    cache, sinks = np.zeros((1, 3, 2), np.float32), np.zeros(2, np.float32)
    with NUMBA_LOCK:
        for delta in (rows[:1], none):
            cpu_block_jit.attention_half(
                rows[:1], delta, scale, scale, 1e-5, qw, qb, kw, kb, kw, kb, angles, angles,
                cache, cache, 1, 0, 2, sinks, 0.5, ow, ob, gw, gb, 1,
            )  # fmt: skip


def _kernels():
    """The compiled functions (numba is imported only here, on first use)."""
    from engine.kernels import cpu_mxfp4_jit

    return cpu_mxfp4_jit
