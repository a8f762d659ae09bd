"""The MXFP4 expert kernels, run by Triton's interpreter on the CPU, against a float64 reference.

Activations in float32 check the arithmetic tightly (the kernels accumulate in float32); bf16 runs check
the bf16 plumbing with a looser bound, because the interpreter converts float32 to bf16 by truncation
(the GPU rounds to nearest). Shapes are small and odd: H and I multiples of 32 but not of the tiles.
"""

from __future__ import annotations

import pytest
import torch

from .synth import mlp1_ref, mlp2_ref, random_experts, rel_err

F32_TOL = 1e-5  # float32 accumulation; swiglu near its kinks amplifies a little
BF16_TOL = 1.5e-2


def _routes(T: int, k: int, num: int, seed: int, repeat: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    if repeat:  # the same expert twice in a row and unsorted ids: kernels must not assume top-k order
        ids = torch.randint(0, num, (T, k), generator=g)
    else:
        ids = torch.stack([torch.randperm(num, generator=g)[:k] for _ in range(T)])
    w = torch.softmax(torch.randn(T, k, generator=g), dim=-1)
    return ids, w


def _configs(M, path, small):
    # the launchers' own tiles (larger than these shapes: masked), plus small tiles that loop over K
    if path == "decode":
        return [None] + ([M.GemvConfig(bn=16, bg=2, num_warps=2)] if small else [])
    return [None] + ([M.GemmConfig(bm=16, bn=32, bg=2, num_warps=4, num_stages=2)] if small else [])


CASES = [  # (T, k, H, I, E, path, small tiles too)
    (1, 4, 96, 64, 6, "decode", True),
    (1, 1, 160, 96, 3, "decode", True),
    (3, 2, 64, 128, 5, "decode", False),
    (3, 3, 96, 64, 6, "grouped", True),
    (64, 4, 64, 96, 8, "grouped", False),
]


@pytest.mark.parametrize("T,k,H,I,E,path,small", CASES)
def test_mlp1_and_mlp2_match_float64(interp, T, k, H, I, E, path, small):
    """Both kernels, every tile config of the path, against float64, with float32 activations."""
    M = interp.moe_mxfp4
    ex = random_experts(E, H, I, seed=T * 7 + k)
    ids, w = _routes(T, k, E, seed=T + H, repeat=T == 3)
    x = torch.randn(T, H)
    h_ref = mlp1_ref(x, ids, ex)
    y_ref = mlp2_ref(h_ref.float(), ids, w, ex)
    for cfg in _configs(M, path, small):
        if cfg is None and path == "grouped":
            cfg = M.grouped_config(T * k, E)  # the launcher's own choice, forced even for tiny T
        h = M.moe_mlp1(x, ids, ex.mlp1_blocks, ex.mlp1_scales, ex.mlp1_bias, config=cfg)
        assert h.shape == (T, k, I) and rel_err(h, h_ref) < F32_TOL, cfg
        y = M.moe_mlp2(h_ref.float(), ids, w, ex.mlp2_blocks, ex.mlp2_scales, ex.mlp2_bias, config=cfg)
        assert y.shape == (T, H) and rel_err(y, y_ref) < F32_TOL, cfg


@pytest.mark.parametrize("T", [1, 3, 64])
def test_moe_experts_bf16_end_to_end(interp, T):
    """moe_experts in bf16 picks decode or grouped by T and matches the float64 reference."""
    M = interp.moe_mxfp4
    ex = random_experts(8, 96, 64, seed=T)
    ids, w = _routes(T, 4, 8, seed=T)
    x = torch.randn(T, 96).to(torch.bfloat16)
    y = M.moe_experts(x, ids, w.to(torch.bfloat16), *vars(ex).values())
    h_ref = mlp1_ref(x.float(), ids, ex)
    y_ref = mlp2_ref(h_ref.to(torch.bfloat16).float(), ids, w.to(torch.bfloat16), ex)
    assert y.dtype == torch.bfloat16 and rel_err(y, y_ref) < BF16_TOL


@pytest.mark.parametrize("T,path", [(1, "decode"), (2, "decode"), (20, "grouped")])
def test_slot_map_selects_cached_rows(interp, T, path):
    """With expert_to_slot the kernels read the slot rows; same result as the full expert tensors."""
    M = interp.moe_mxfp4
    full = random_experts(7, 64, 64, seed=11)
    resident = torch.tensor([6, 2, 0, 4])  # slot s holds expert resident[s]
    slots = full.rows(resident)
    expert_to_slot = torch.full((7,), -1, dtype=torch.int32)
    expert_to_slot[resident] = torch.arange(4, dtype=torch.int32)
    g = torch.Generator().manual_seed(T)
    ids = resident[torch.stack([torch.randperm(4, generator=g)[:3] for _ in range(T)])]
    w = torch.softmax(torch.randn(T, 3, generator=g), -1)
    x = torch.randn(T, 64)
    cfg = None if path == "decode" else M.GROUPED[16]
    h = M.moe_mlp1(x, ids, slots.mlp1_blocks, slots.mlp1_scales, slots.mlp1_bias,
                   expert_to_slot=expert_to_slot, config=cfg)
    h_ref = mlp1_ref(x, ids, full)
    assert rel_err(h, h_ref) < F32_TOL
    y = M.moe_mlp2(h_ref.float(), ids, w, slots.mlp2_blocks, slots.mlp2_scales, slots.mlp2_bias,
                   expert_to_slot=expert_to_slot, config=cfg)
    assert rel_err(y, mlp2_ref(h_ref.float(), ids, w, full)) < F32_TOL


def test_swiglu_clamps_and_limit(interp):
    """The fused swiglu clamps gate from above and up on both sides at ``limit``, with ``alpha``."""
    M = interp.moe_mxfp4
    ex = random_experts(2, 64, 64, seed=5)
    ex.mlp1_bias.mul_(40)  # push many pre-activations past the limit
    x = torch.randn(2, 64)
    ids = torch.tensor([[0, 1], [1, 0]])
    for limit, alpha in ((7.0, 1.702), (2.5, 1.0)):
        h = M.moe_mlp1(x, ids, ex.mlp1_blocks, ex.mlp1_scales, ex.mlp1_bias, limit=limit, alpha=alpha)
        assert rel_err(h, mlp1_ref(x, ids, ex, limit, alpha)) < F32_TOL


def test_outputs_fully_written(interp, monkeypatch):
    """Every output element is written: outputs are poisoned with NaN before the kernels run."""
    M = interp.moe_mxfp4
    real_empty = torch.empty
    monkeypatch.setattr(M.torch, "empty", lambda *a, **kw: real_empty(*a, **kw).fill_(float("nan")))
    ex = random_experts(5, 96, 96, seed=2)
    for T in (1, 9):
        ids, w = _routes(T, 2, 5, seed=T)
        x = torch.randn(T, 96)
        cfg = None if T == 1 else M.GROUPED[16]
        h = M.moe_mlp1(x, ids, ex.mlp1_blocks, ex.mlp1_scales, ex.mlp1_bias, config=cfg)
        y = M.moe_mlp2(h, ids, w, ex.mlp2_blocks, ex.mlp2_scales, ex.mlp2_bias, config=cfg)
        assert not h.isnan().any() and not y.isnan().any()


def test_dequantize_kernel_is_exact(interp):
    """The kernels' FP4 unpacking and scale arithmetic are exact for every byte and scale bytes 0..240."""
    M = interp.moe_mxfp4
    from engine.kernels.torch_ref import dequantize_mxfp4
    blocks = torch.arange(256, dtype=torch.uint8).view(1, 16, 16).repeat(241, 1, 1)  # every byte, 16 groups
    scales = torch.arange(241, dtype=torch.uint8)[:, None].repeat(1, 16)
    got, want = M.dequantize(blocks, scales, torch.float32), dequantize_mxfp4(blocks, scales, torch.float32)
    assert torch.equal(got[2:], want[2:])
    # scale bytes 0 and 1 give subnormal float32s, which the interpreter's bf16 conversion may flush
    assert (got[:2] - want[:2]).abs().max() < 1e-37


def test_scale_bytes_above_240_overflow_the_kernels_so_loading_refuses_them(interp):
    """Byte 241 is 2**114, finite in the reference, but the kernels' 2**(s - 113) trick makes it infinite:
    the reason engine.io.checkpoint.Checkpoint.check_scales refuses such bytes at load (tests/engine)."""
    M = interp.moe_mxfp4
    from engine.io.checkpoint import MAX_SCALE_BYTE
    from engine.kernels.torch_ref import dequantize_mxfp4

    blocks = torch.full((2, 16, 16), 0x22, dtype=torch.uint8)  # every code 1.0
    scales = torch.tensor([[MAX_SCALE_BYTE] * 16, [MAX_SCALE_BYTE + 1] * 16], dtype=torch.uint8)
    got, want = M.dequantize(blocks, scales, torch.float32), dequantize_mxfp4(blocks, scales, torch.float32)
    assert torch.equal(got[0], want[0]) and torch.isfinite(want[1]).all()
    assert not torch.isfinite(got[1]).any()
