"""A decode step's attention half of a block on the CPU in one numba call (cpu_block_jit.attention_half).

``Weights`` holds a block's bf16 matrices as the numpy views the kernel takes (of the mmap'd checkpoint: no
copy), made once; ``attention_half`` runs one token through them. The caller (engine/model.py Block) decides
when it applies: one token on the CPU, bf16 activations, the checkpoint's three q/k/v matrices, a float32 cache,
numba running and no dispatch mode recording torch's operations (kernels.cpu_runs_now).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from engine.kernels import cpu_bf16, cpu_mxfp4
from engine.kernels.cpu_mxfp4 import tensor_bits

_NO_DELTA = np.zeros((0, 0), dtype=np.int16)


@dataclass(frozen=True)
class Weights:
    """One block's arrays for attention_half; ``source`` identifies the tensors they view (see ``current``)."""

    arrays: tuple  # qw, qb, kw, kb, vw, vb, sinks, scale, ow, ob, gw, gb, attn_norm, mlp_norm
    source: tuple

    @staticmethod
    def of(x_like: torch.Tensor, qkv, out, gate, sinks: torch.Tensor, scale: float, norms) -> Weights | None:
        """qkv: three (weight, bias) pairs; out, gate: (weight, bias); sinks [heads] float32; norms: the two
        float32 scales [H]. None where the kernels do not take them (cpu_bf16.applies: bf16 on the CPU,
        contiguous weights; float32 norms and sinks on the CPU)."""
        pairs = (*qkv, out, gate)
        if not all(cpu_bf16.applies(x_like.new_empty((1, w.shape[-1])), w, b) for w, b in pairs):
            return None
        small = (sinks, *norms)
        if not all(t.dtype == torch.float32 and t.device.type == "cpu" for t in small):
            return None
        arrays = [a for w, b in pairs[:3] for a in (cpu_bf16.weight_bits(w), cpu_bf16.bias_bits(b))]
        arrays += [sinks.contiguous().reshape(-1).numpy(), float(scale)]
        arrays += [a for w, b in pairs[3:] for a in (cpu_bf16.weight_bits(w), cpu_bf16.bias_bits(b))]
        arrays += [t.contiguous().numpy() for t in norms]
        return Weights(tuple(arrays), source_of(pairs, small))

    def current(self, pairs, small) -> bool:
        return self.source == source_of(pairs, small)


def source_of(pairs, small) -> tuple:
    """The tensors' storage addresses and shapes (None for no bias): equal while a block's weights are the
    same tensors."""
    tensors = [t for pair in pairs for t in pair] + list(small)
    return tuple(None if t is None else (t.data_ptr(), t.shape) for t in tensors)


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
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, tuple[torch.Tensor, torch.Tensor] | None]:
    """One token x [1, H] bf16 plus delta (the previous block's MoE output, or None) through the block's
    attention half: -> (residual after attention, its norm, the router's logits [1, E]), bf16. Its key and
    value go to ``slot`` of the float32 caches [kv_heads, slots, d]; it attends to ``count`` keys from slot
    ``first`` on, in ring order. cos, sin: [1, 1, half] (or [1, half]) bf16. The fourth: the top_k routes as
    engine/layers/moe.py by_expert(*MoE.top(logits)) gives them (expert ids [1, top_k] increasing, their bf16
    weights), or None where torch must choose them from the logits (a tie, a NaN)."""
    from engine.kernels import cpu_block_jit  # numba compiles on first use (cpu_mxfp4.warm_up does)

    qw, qb, kw, kb, vw, vb, sinks, scale, ow, ob, gw, gb, attn_norm, mlp_norm = weights.arrays
    with cpu_mxfp4.NUMBA_LOCK:
        residual, normed, logits, ids, weights, routed = cpu_block_jit.attention_half(
            tensor_bits(x),
            _NO_DELTA if delta is None else tensor_bits(delta),
            attn_norm,
            mlp_norm,
            float(eps),
            qw, qb, kw, kb, vw, vb,
            tensor_bits(cos.reshape(1, -1)),
            tensor_bits(sin.reshape(1, -1)),
            cache_k.numpy(),
            cache_v.numpy(),
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
