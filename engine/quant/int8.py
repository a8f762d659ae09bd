"""8-bit linear weights: symmetric int8, one bf16 scale per output row (pure tensor functions).

``quantize_linear`` rounds to nearest with the row's scale rounded *up* to bf16, so |w - q * s| <= s / 2 for
every weight. The module that multiplies with them is engine/layers/int8_linear.py.
"""

from __future__ import annotations

import torch

CHUNK_ELEMENTS = 1 << 24  # weights upcast at once when quantizing or dequantizing (32 MiB of bf16)
QMAX = 127  # symmetric: -127..127, so that -q is always representable


def quantize_linear(weight: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """weight [N, K] float -> (q int8 [N, K], scale bf16 [N]) with weight ~= q * scale[:, None].

    Rows are independent, so a block of rows is quantized at a time: at most CHUNK_ELEMENTS weights are
    upcast to float32 at once (the 201088-row unembedding would take 2.3 GB in one piece)."""
    assert weight.dim() == 2, weight.shape
    q = torch.empty(weight.shape, dtype=torch.int8, device=weight.device)
    scale = torch.empty(weight.shape[0], dtype=torch.bfloat16, device=weight.device)
    step = max(1, CHUNK_ELEMENTS // max(1, weight.shape[1]))
    for r0 in range(0, weight.shape[0], step):
        w = weight[r0 : r0 + step].float()
        amax = w.abs().amax(dim=1)
        s = _bf16_at_least(torch.where(amax > 0, amax / QMAX, torch.ones_like(amax)))
        q[r0 : r0 + step] = torch.round(w / s.float()[:, None]).clamp_(-QMAX, QMAX)
        scale[r0 : r0 + step] = s
    return q, scale


def _bf16_at_least(x: torch.Tensor) -> torch.Tensor:
    # float32 x > 0 -> the smallest bf16 >= x: then |w| / scale <= 127 and rounding never clips
    b = x.to(torch.bfloat16)
    up = (b.view(torch.int16) + 1).view(torch.bfloat16)  # next bf16 above a positive one
    return torch.where(b.float() < x, up, b)


def dequantize_linear(q: torch.Tensor, scale: torch.Tensor, dtype: torch.dtype = torch.bfloat16) -> torch.Tensor:
    """q [N, K] int8, scale [N] -> [N, K] in dtype."""
    return (q.to(torch.float32) * scale.float()[:, None]).to(dtype)
