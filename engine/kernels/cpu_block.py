"""A decode step's attention half of a block on the CPU in one numba call (cpu_block_jit.attention_half).

``Weights`` holds a block's bf16 matrices as the numpy views the kernel takes (no copy), made once;
``attention_half`` runs one token through them. Every Python operation here runs once per layer per token
with the caches cold from the weight streams (several times its cost in a loop: benchmarks/cpu_glue.py), so
the views of the weights, of a step's angles and of a conversation's caches are made once and found again by
the tensors' identity. The caller (engine/model.py Block) decides
when it applies: one token on the CPU, bf16 activations, the checkpoint's three q/k/v matrices, a float32 cache,
numba running and no dispatch mode recording torch's operations (kernels.cpu_runs_now).
"""

from __future__ import annotations

import numpy as np
import torch

from engine.kernels import cpu_bf16, cpu_mxfp4
from engine.kernels.cpu_mxfp4 import tensor_bits

_NO_DELTA = np.zeros((0, 0), dtype=np.int16)


class Weights:
    """One block's arrays for attention_half, made from its tensors once; ``current(tensors)`` says whether
    they are still the block's (the same tensor objects: a new one, as engine/runtime/settle.py puts in,
    makes new arrays)."""

    def __init__(self, tensors: tuple, arrays: tuple):
        self.tensors, self.arrays = tensors, arrays

    @staticmethod
    def of(x_like: torch.Tensor, tensors: tuple, scale: float) -> Weights | None:
        """tensors: (q, k, v, out, gate) weights and biases in turn (a bias may be None), then the sinks
        [heads] and the two norms' scales [H], float32. None where the kernels do not take them
        (cpu_bf16.applies: bf16 on the CPU, contiguous weights; float32 sinks and norms on the CPU)."""
        pairs, small = tuple(zip(tensors[0:10:2], tensors[1:10:2])), tensors[10:]
        if not all(cpu_bf16.applies(x_like.new_empty((1, w.shape[-1])), w, b) for w, b in pairs):
            return None
        if not all(t.dtype == torch.float32 and t.device.type == "cpu" for t in small):
            return None
        sinks, *norms = small
        arrays = [a for w, b in pairs[:3] for a in (cpu_bf16.weight_bits(w), cpu_bf16.bias_bits(b))]
        arrays += [sinks.contiguous().reshape(-1).numpy(), float(scale)]
        arrays += [a for w, b in pairs[3:] for a in (cpu_bf16.weight_bits(w), cpu_bf16.bias_bits(b))]
        arrays += [t.contiguous().numpy() for t in norms]
        return Weights(tensors, tuple(arrays))

    def current(self, tensors: tuple) -> bool:
        return len(tensors) == len(self.tensors) and all(a is b for a, b in zip(tensors, self.tensors))


class Views:
    """The numpy views of the last tensors asked for, by identity: a step's angles serve every layer, a
    layer's cache every step of a conversation."""

    def __init__(self):
        # (tensors, their arrays): one tuple, replaced whole (threads may share it)
        self.last: tuple = ((), ())

    def of(self, *tensors, bits: bool):
        known, arrays = self.last
        if len(tensors) == len(known) and all(a is b for a, b in zip(tensors, known)):
            return arrays
        arrays = tuple(tensor_bits(t.reshape(1, -1)) if bits else t.numpy() for t in tensors)
        self.last = (tensors, arrays)
        return arrays


_ANGLES = Views()


def attention_half(
    weights: Weights,
    x: torch.Tensor,
    delta: torch.Tensor | None,
    eps: float,
    cos: torch.Tensor,
    sin: torch.Tensor,
    cache_k: torch.Tensor,
    cache_v: torch.Tensor,
    slot: int,
    first: int,
    count: int,
    top_k: int,
    cache_views: Views | None = None,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, tuple[torch.Tensor, torch.Tensor] | None]:
    """One token x [1, H] bf16 plus delta (the previous block's MoE output, or None) through the block's
    attention half: -> (residual after attention, its norm, the router's logits [1, E]), bf16. Its key and
    value go to ``slot`` of the float32 caches [kv_heads, slots, d]; it attends to ``count`` keys from slot
    ``first`` on, in ring order. cos, sin: [1, 1, half] (or [1, half]) bf16. The fourth: the top_k routes as
    engine/layers/moe.py by_expert(*MoE.top(logits)) gives them (expert ids [1, top_k] increasing, their bf16
    weights), or None where torch must choose them from the logits (a tie, a NaN). cache_views: the caller's
    (a ``Views`` per layer), so that a conversation's caches are viewed once."""
    from engine.kernels import cpu_block_jit  # numba compiles on first use (cpu_mxfp4.warm_up does)

    qw, qb, kw, kb, vw, vb, sinks, scale, ow, ob, gw, gb, attn_norm, mlp_norm = weights.arrays
    cos_bits, sin_bits = _ANGLES.of(cos, sin, bits=True)
    keys, values = (cache_views or Views()).of(cache_k, cache_v, bits=False)
    with cpu_mxfp4.NUMBA_LOCK:
        residual, normed, logits, ids, weights, routed = cpu_block_jit.attention_half(
            tensor_bits(x),
            _NO_DELTA if delta is None else tensor_bits(delta),
            attn_norm,
            mlp_norm,
            float(eps),
            qw, qb, kw, kb, vw, vb,
            cos_bits,
            sin_bits,
            keys,
            values,
            slot,
            first,
            count,
            sinks,
            scale,
            ow, ob, gw, gb,
            top_k,
        )  # fmt: skip
    bf16 = torch.bfloat16
    routes = (torch.from_numpy(ids), torch.from_numpy(weights).view(bf16)) if routed else None
    return (*(torch.from_numpy(a).view(bf16) for a in (residual, normed, logits)), routes)
