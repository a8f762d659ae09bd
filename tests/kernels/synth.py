"""Random packed experts and a float64 reference that shares no code with engine/kernels."""

from __future__ import annotations

from dataclasses import dataclass

import torch

FP4 = [0.0, 0.5, 1.0, 1.5, 2.0, 3.0, 4.0, 6.0, -0.0, -0.5, -1.0, -1.5, -2.0, -3.0, -4.0, -6.0]


@dataclass
class Experts:
    mlp1_blocks: torch.Tensor  # [E, 2I, H/32, 16]
    mlp1_scales: torch.Tensor
    mlp1_bias: torch.Tensor
    mlp2_blocks: torch.Tensor  # [E, H, I/32, 16]
    mlp2_scales: torch.Tensor
    mlp2_bias: torch.Tensor

    def rows(self, index: torch.Tensor) -> Experts:
        """The experts at ``index`` as a smaller tensor set (a device cache of slots)."""
        return Experts(*(t[index].contiguous() for t in vars(self).values()))


def random_experts(num: int, hidden: int, inter: int, seed: int = 0) -> Experts:
    g = torch.Generator().manual_seed(seed)

    def packed(rows: int, cols: int, high: int):
        blocks = torch.randint(0, 256, (num, rows, cols // 32, 16), dtype=torch.uint8, generator=g)
        # scales around 2**-5 keep activations O(1) through both matmuls, like the real model; a few
        # others check the exponent arithmetic (the scale byte 0 is 2**-127)
        scales = torch.randint(118, 126, (num, rows, cols // 32), dtype=torch.uint8, generator=g)
        scales.view(-1)[::97] = 0
        scales.view(-1)[1::89] = high
        bias = (torch.randn(num, rows, generator=g) * 0.5).to(torch.bfloat16)
        return blocks, scales, bias

    return Experts(*packed(2 * inter, hidden, 131), *packed(hidden, inter, 126))


def dequant64(blocks: torch.Tensor, scales: torch.Tensor) -> torch.Tensor:
    """[..., G, 16], [..., G] -> float64 [..., G*32], element by element."""
    table = torch.tensor(FP4, dtype=torch.float64)
    lo, hi = (blocks & 15).long(), (blocks >> 4).long()
    vals = torch.stack((table[lo], table[hi]), dim=-1).flatten(-2)  # low nibble = even element
    vals = vals * torch.pow(2.0, scales.double() - 127).unsqueeze(-1)
    return vals.flatten(-2)


def mlp1_ref(x, ids, ex: Experts, limit=7.0, alpha=1.702) -> torch.Tensor:
    """float64 [T, k, I]."""
    T, k = ids.shape
    out = []
    for t in range(T):
        row = []
        for j in range(k):
            e = int(ids[t, j])
            y = dequant64(ex.mlp1_blocks[e], ex.mlp1_scales[e]) @ x[t].double() + ex.mlp1_bias[e].double()
            gate, up = y[0::2].clamp(max=limit), y[1::2].clamp(min=-limit, max=limit)
            row.append(gate * torch.sigmoid(alpha * gate) * (up + 1))
        out.append(torch.stack(row))
    return torch.stack(out)


def mlp2_ref(h, ids, weights, ex: Experts) -> torch.Tensor:
    """float64 [T, H]."""
    T, k = ids.shape
    out = torch.zeros(T, ex.mlp2_blocks.shape[1], dtype=torch.float64)
    for t in range(T):
        for j in range(k):
            e = int(ids[t, j])
            y = dequant64(ex.mlp2_blocks[e], ex.mlp2_scales[e]) @ h[t, j].double() + ex.mlp2_bias[e].double()
            out[t] += float(weights[t, j]) * y
    return out


def rel_err(a: torch.Tensor, b: torch.Tensor) -> float:
    a, b = a.detach().double(), b.detach().double()
    assert not torch.isnan(a).any(), "NaN in the output"
    return float((a - b).norm() / b.norm().clamp_min(1e-30))
