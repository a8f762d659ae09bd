"""Rotary position embeddings with YaRN scaling, as gpt-oss uses them.

See the YaRN paper (https://arxiv.org/abs/2309.00071): "NTK-by-parts" keeps the fast-rotating
dimensions as they are (extrapolation), slows the slow ones down by the scaling factor (interpolation)
and blends linearly in between; cos and sin are scaled by the "concentration" 0.1*ln(factor)+1.
The rotation pairs dimension i with i + head_dim/2 ("rotation on halves"), not neighbours.
"""

from __future__ import annotations

import math

import torch

from engine.config import ModelConfig


def yarn_frequencies(cfg: ModelConfig) -> tuple[torch.Tensor, float]:
    """Inverse frequencies [head_dim/2] (float32) and the concentration multiplying cos and sin."""
    d, base, factor = cfg.head_dim, cfg.rope_theta, cfg.rope_scaling_factor
    freq = base ** (torch.arange(0, d, 2, dtype=torch.float32) / d)
    if factor <= 1.0:
        return 1.0 / freq, 1.0
    concentration = 0.1 * math.log(factor) + 1.0

    def ramp_edge(rotations: float) -> float:
        # the dimension (in halves) that makes `rotations` turns over the original context
        return (d / 2) * math.log(cfg.initial_context_length / (rotations * 2 * math.pi)) / math.log(base)

    low, high = ramp_edge(cfg.rope_ntk_beta), ramp_edge(cfg.rope_ntk_alpha)
    if cfg.rope_truncate:  # transformers' "truncate" option; gpt-oss ships truncate: false
        low, high = math.floor(low), math.ceil(high)
    low, high = max(low, 0.0), min(high, d - 1.0)  # as transformers clamps; the reference asserts instead
    if high == low:
        high += 0.001
    ramp = ((torch.arange(d // 2, dtype=torch.float32) - low) / (high - low)).clamp(0, 1)
    extrapolate = 1 - ramp
    inv_freq = (1.0 / (factor * freq)) * (1 - extrapolate) + (1.0 / freq) * extrapolate
    return inv_freq, concentration


class Rotary:
    """cos/sin for absolute positions; applies the rotation to [T, heads, head_dim] tensors."""

    def __init__(self, cfg: ModelConfig, device: torch.device):
        inv_freq, self.concentration = yarn_frequencies(cfg)
        self.inv_freq = inv_freq.to(device)

    def cos_sin(self, positions: torch.Tensor, dtype: torch.dtype) -> tuple[torch.Tensor, torch.Tensor]:
        # positions: [T] int64 -> cos, sin: [T, 1, head_dim/2], computed in float32 then rounded like the reference
        angles = positions.to(torch.float32)[:, None] * self.inv_freq[None, :]
        cos = (angles.cos() * self.concentration).to(dtype)
        sin = (angles.sin() * self.concentration).to(dtype)
        return cos[:, None, :], sin[:, None, :]


def apply_rotary(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    # x: [T, heads, head_dim]; the two halves rotate as (x1, x2) -> (x1 cos - x2 sin, x2 cos + x1 sin)
    x1, x2 = x.chunk(2, dim=-1)
    return torch.cat((x1 * cos - x2 * sin, x2 * cos + x1 * sin), dim=-1)
