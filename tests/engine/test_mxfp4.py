"""MXFP4 dequantization and the bf16 matmul helper."""

from __future__ import annotations

import pytest
import torch

from engine.quant.mxfp4 import FP4_VALUES, dequantize, linear


def slow_dequantize(blocks: torch.Tensor, scales: torch.Tensor) -> torch.Tensor:
    """The format's definition, one value at a time in float64."""
    rows, groups, _ = blocks.shape
    out = torch.empty(rows, groups * 32, dtype=torch.float64)
    for r in range(rows):
        for g in range(groups):
            scale = 2.0 ** (int(scales[r, g]) - 127)
            for b in range(16):
                byte = int(blocks[r, g, b])
                out[r, g * 32 + 2 * b] = FP4_VALUES[byte & 0x0F] * scale  # low nibble: even element
                out[r, g * 32 + 2 * b + 1] = FP4_VALUES[byte >> 4] * scale
    return out


def test_dequantize_matches_the_format_definition():
    g = torch.Generator().manual_seed(0)
    blocks = torch.randint(0, 256, (6, 3, 16), generator=g, dtype=torch.uint8)
    scales = torch.randint(100, 140, (6, 3), generator=g, dtype=torch.uint8)
    ours = dequantize(blocks, scales)
    assert ours.dtype == torch.bfloat16 and ours.shape == (6, 96)
    assert torch.equal(ours.double(), slow_dequantize(blocks, scales))  # exact: fp4 times a power of two


def test_dequantize_extreme_scales_and_leading_dims():
    """Scales 0 (2**-127, subnormal) to 254 and any leading dims (experts, rows) work exactly."""
    blocks = torch.full((2, 2, 1, 16), 0x71, dtype=torch.uint8)  # values 0.5 (low) and 6.0 (high)
    scales = torch.tensor([[[0], [127]], [[200], [254]]], dtype=torch.uint8)
    out = dequantize(blocks, scales, dtype=torch.float32)
    assert out.shape == (2, 2, 32)
    assert out[0, 1, :2].tolist() == [0.5, 6.0]
    assert out[1, 0, :2].tolist() == [0.5 * 2.0**73, 6.0 * 2.0**73]
    assert out[0, 0, 0].item() == 0.5 * 2.0**-127 and out[1, 1, 0].item() == 0.5 * 2.0**127


def test_negative_zero_and_signs():
    blocks = torch.tensor([[[0x98] + [0] * 15]], dtype=torch.uint8)  # low 8 = -0.0, high 9 = -0.5
    out = dequantize(blocks, torch.tensor([[127]], dtype=torch.uint8), dtype=torch.float32)
    assert out[0, 0].item() == 0.0 and str(out[0, 0].item()) == "-0.0" and out[0, 1].item() == -0.5


@pytest.mark.parametrize("rows", [1, 3, 15, 16, 40])
def test_linear_is_the_same_on_every_path(rows):
    """CPU bf16 matmul: the native path (few rows) and the float32 block path agree with float32 math
    rounded once, so chunk sizes do not change results beyond summation order."""
    g = torch.Generator().manual_seed(rows)
    x = torch.randn(rows, 96, generator=g).bfloat16()
    w = torch.randn(300_000 // 96, 96, generator=g).bfloat16()
    b = torch.randn(w.shape[0], generator=g).bfloat16()
    expected = torch.nn.functional.linear(x.double(), w.double(), b.double())
    got = linear(x, w, b)
    assert got.dtype == torch.bfloat16 and got.shape == (rows, w.shape[0])
    # one rounding to bf16 (relative 2**-8), nothing more
    assert ((got.double() - expected).abs() <= expected.abs() * 2**-8 + 1e-6).float().mean() > 0.999
    assert torch.allclose(
        linear(x, w), torch.nn.functional.linear(x.float(), w.float()).bfloat16(), atol=0.02
    )
