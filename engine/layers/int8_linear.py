"""8-bit weights for the attention projections and the unembedding: symmetric int8, one scale per output row.

Decode reads these weights once per token (1.27 GB of attention and 1.16 GB of unembedding in bf16 for
gpt-oss-20b); int8 halves those bytes. ``quantize_linear`` rounds to nearest with the row's scale rounded
*up* to bf16, so |w - q * s| <= s / 2 for every weight. ``Int8Linear`` replaces ``nn.Linear``: on a GPU
with Triton a few rows of x go through the int8 GEMV kernel (engine/kernels/int8_gemv.py), which never
writes a bf16 copy; otherwise the weights are dequantized a block of rows at a time and multiplied.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from engine.quant.int8 import CHUNK_ELEMENTS, dequantize_linear, quantize_linear


def int8_linear(x: torch.Tensor, q: torch.Tensor, scale: torch.Tensor, bias: torch.Tensor | None = None,
                *, use_triton: bool | None = None) -> torch.Tensor:
    """x [..., K] -> [..., N] = x @ (q * scale)^T + bias, in x's dtype with float32 accumulation."""
    lead = x.shape[:-1]
    x2 = x.reshape(-1, x.shape[-1])
    if use_triton is None:  # the GEMV when it applies, and the torch path if Triton fails on this GPU
        from engine import kernels
        backend = kernels.backend() if kernels.use_fused(x.device) and _triton_ok(x2, q) else "torch"
        y = kernels.run_with_fallback(backend, x.device, lambda: _gemv(x2, q, scale, bias),
                                      lambda: _chunked(x2, q, scale, bias))
    else:
        y = _gemv(x2, q, scale, bias) if use_triton else _chunked(x2, q, scale, bias)
    return y.reshape(*lead, q.shape[0])


def _gemv(x2, q, scale, bias):
    from engine.kernels.int8_gemv import int8_gemv
    return int8_gemv(x2, q, scale, bias)


def _triton_ok(x2: torch.Tensor, q: torch.Tensor) -> bool:
    from engine import kernels
    if not kernels.available(x2.device):
        return False
    from engine.kernels.int8_gemv import supported
    return supported(x2, q)


def _chunked(x: torch.Tensor, q: torch.Tensor, scale: torch.Tensor, bias: torch.Tensor | None) -> torch.Tensor:
    # dequantize a block of rows, multiply, move on: at most CHUNK_ELEMENTS weights exist in bf16 at once.
    # On CPUs, float32 blocks: torch's bf16 GEMM is slow there, and bf16 products are exact in float32.
    compute = torch.float32 if x.device.type == "cpu" else x.dtype
    xc = x.to(compute)
    out = torch.empty(x.shape[0], q.shape[0], dtype=x.dtype, device=x.device)
    step = max(1, CHUNK_ELEMENTS // max(1, q.shape[1]))
    for r0 in range(0, q.shape[0], step):
        w = dequantize_linear(q[r0:r0 + step], scale[r0:r0 + step], compute)
        b = None if bias is None else bias[r0:r0 + step].to(compute)
        out[:, r0:r0 + step] = F.linear(xc, w, b)
    return out


class Int8Linear(nn.Module):
    """Drop-in for ``nn.Linear`` (bias optional) holding int8 weights and bf16 per-row scales."""

    def __init__(self, in_features: int, out_features: int, bias: bool = True, device=None,
                 dtype: torch.dtype = torch.bfloat16):
        super().__init__()
        self.in_features, self.out_features = in_features, out_features
        self.register_buffer("weight_q", torch.zeros(out_features, in_features, dtype=torch.int8, device=device))
        self.register_buffer("weight_scale", torch.ones(out_features, dtype=torch.bfloat16, device=device))
        self.register_buffer("bias", torch.zeros(out_features, dtype=dtype, device=device) if bias else None)

    @classmethod
    def from_weight(cls, weight: torch.Tensor, bias: torch.Tensor | None = None) -> Int8Linear:
        """Quantize weight [N, K] (and keep bias [N] as it is) on weight's device."""
        module = cls(weight.shape[1], weight.shape[0], bias=bias is not None, device="meta")
        module.weight_q, module.weight_scale = quantize_linear(weight)
        module.bias = None if bias is None else bias.detach().clone()
        return module

    @classmethod
    def from_linear(cls, linear: nn.Linear) -> Int8Linear:
        return cls.from_weight(linear.weight.detach(), linear.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return int8_linear(x, self.weight_q, self.weight_scale, self.bias)

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None}"


ATTENTION_PROJECTIONS = ("q", "k", "v", "out")


def quantize_model(model) -> None:
    """Give ``model`` (engine.model.Transformer) 8-bit attention projections and unembedding, quantized where
    the weights are (on the GPU: no host round trip), each bf16 weight dropped once its int8 copy exists.

    Halves the bytes decode reads per token besides the experts (1.27 GB of attention and 1.16 GB of
    unembedding in bf16 for gpt-oss-20b). Rounding error: at most half a step of each row's scale."""
    for block in model.blocks:
        attn = block.attn
        modules = {}
        # q, k and v concatenated at load (accelerators) stay one projection: per-row scales, same numbers
        names = ("qkv", "out") if attn.qkv_weight is not None else ATTENTION_PROJECTIONS
        for name in names:
            modules[name] = Int8Linear.from_weight(getattr(attn, f"{name}_weight"), getattr(attn, f"{name}_bias"))
            setattr(attn, f"{name}_weight", None)  # registered buffers may be None: the bf16 copy goes
            setattr(attn, f"{name}_bias", None)
        attn.int8 = nn.ModuleDict(modules)
    model.unembedding_int8 = Int8Linear.from_weight(model.unembedding)
    model.unembedding = None
    if model.device.type == "cuda":
        torch.cuda.empty_cache()
