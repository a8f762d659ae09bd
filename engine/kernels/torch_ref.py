"""Pure-PyTorch expert MLPs: dequantize MXFP4, then matmul. The fallback and the reference of the kernels.

Same interface as the Triton launchers in ``moe_mxfp4`` (see ``engine/kernels/__init__.py``), so tests
and the dispatcher can swap one for the other. Each routed expert is dequantized once per call and
multiplied with all of its tokens; nothing here is tuned for speed.
"""

from __future__ import annotations

import torch

FP4_VALUES = (+0.0, +0.5, +1.0, +1.5, +2.0, +3.0, +4.0, +6.0,
              -0.0, -0.5, -1.0, -1.5, -2.0, -3.0, -4.0, -6.0)
SCALE_BIAS = 127  # E8M0: 2 ** (scale - 127)
GROUP = 32  # weights per scale
SWIGLU_ALPHA = 1.702  # gpt-oss swiglu: g * sigmoid(1.702 g) * (u + 1)


def dequantize_mxfp4(blocks: torch.Tensor, scales: torch.Tensor, dtype: torch.dtype = torch.bfloat16) -> torch.Tensor:
    """blocks [..., G, 16] uint8, scales [..., G] uint8 -> [..., G*32]; exact in bf16 and float32."""
    assert blocks.shape[:-1] == scales.shape and blocks.shape[-1] == 16, (blocks.shape, scales.shape)
    lut = torch.tensor(FP4_VALUES, dtype=torch.float32, device=blocks.device)
    codes = torch.stack((blocks & 0x0F, blocks >> 4), dim=-1).long()  # low nibble = even element
    values = lut[codes].flatten(-2)  # [..., G, 32]
    values = torch.ldexp(values, scales.to(torch.int32).unsqueeze(-1) - SCALE_BIAS)
    return values.flatten(-2).to(dtype)


def swiglu(gate_up: torch.Tensor, limit: float, alpha: float = SWIGLU_ALPHA) -> torch.Tensor:
    """[..., 2I] with gate = even and up = odd columns -> [..., I] (gpt-oss clamps both before the product)."""
    gate, up = gate_up[..., 0::2], gate_up[..., 1::2]
    gate = gate.clamp(max=limit)
    up = up.clamp(min=-limit, max=limit)
    return gate * torch.sigmoid(alpha * gate) * (up + 1)


def _rows(expert_ids: torch.Tensor, expert_to_slot: torch.Tensor | None) -> torch.Tensor:
    ids = expert_ids.long()
    return ids if expert_to_slot is None else expert_to_slot.long()[ids]


def moe_mlp1_torch(x, expert_ids, blocks, scales, bias, *, limit=7.0, expert_to_slot=None, alpha=SWIGLU_ALPHA):
    """x [T, H], expert_ids [T, k] -> swiglu(x @ W1[e]^T + b1[e]) as [T, k, I] in x's dtype."""
    T, k = expert_ids.shape
    rows = _rows(expert_ids, expert_to_slot)
    out = torch.empty(T, k, blocks.shape[1] // 2, dtype=x.dtype, device=x.device)
    for row in rows.unique().tolist():
        tok, slot = (rows == row).nonzero(as_tuple=True)
        w = dequantize_mxfp4(blocks[row], scales[row], torch.float32)  # [2I, H]
        y = x[tok].float() @ w.t() + bias[row].float()
        out[tok, slot] = swiglu(y, limit, alpha).to(x.dtype)
    return out


def moe_mlp2_torch(h, expert_ids, weights, blocks, scales, bias, *, expert_to_slot=None):
    """h [T, k, I] -> sum_j weights[:, j] * (h[:, j] @ W2[e_j]^T + b2[e_j]) as [T, H] in h's dtype."""
    T, k = expert_ids.shape
    rows = _rows(expert_ids, expert_to_slot)
    acc = torch.zeros(T, k, blocks.shape[1], dtype=torch.float32, device=h.device)
    for row in rows.unique().tolist():
        tok, slot = (rows == row).nonzero(as_tuple=True)
        w = dequantize_mxfp4(blocks[row], scales[row], torch.float32)  # [H, I]
        y = h[tok, slot].float() @ w.t() + bias[row].float()
        acc[tok, slot] = y * weights[tok, slot].float().unsqueeze(-1)
    return acc.sum(dim=1).to(h.dtype)


def moe_experts_torch(x, expert_ids, weights, mlp1_blocks, mlp1_scales, mlp1_bias,
                      mlp2_blocks, mlp2_scales, mlp2_bias, *, limit=7.0, alpha=SWIGLU_ALPHA, expert_to_slot=None):
    """Both expert matmuls of one MoE layer: x [T, H] -> [T, H]."""
    h = moe_mlp1_torch(x, expert_ids, mlp1_blocks, mlp1_scales, mlp1_bias, limit=limit, alpha=alpha,
                       expert_to_slot=expert_to_slot)
    return moe_mlp2_torch(h, expert_ids, weights, mlp2_blocks, mlp2_scales, mlp2_bias,
                          expert_to_slot=expert_to_slot)
