"""The torch path of engine/kernels (fallback and reference) and the routing schedule, without Triton."""

from __future__ import annotations

import subprocess
import sys

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from engine import kernels
from engine.kernels import torch_ref
from engine.kernels.moe_routing import build_schedule, expert_rows

from .synth import dequant64, mlp1_ref, mlp2_ref, random_experts, rel_err


def test_dequantize_matches_elementwise_decode():
    """Every byte and scale byte decodes as FP4 code * 2**(scale - 127), low nibble first (until float32
    overflows: scale bytes past 250 never occur in checkpoints)."""
    blocks = torch.arange(256, dtype=torch.uint8).view(1, 16, 16).repeat(251, 1, 1)  # [251, 16 groups, 16]
    scales = torch.arange(251, dtype=torch.uint8)[:, None].repeat(1, 16)
    got = torch_ref.dequantize_mxfp4(blocks, scales, torch.float64)
    assert torch.equal(got, dequant64(blocks, scales))


def test_dequantize_matches_model_core():
    """Our reference agrees bit for bit with engine.quant.mxfp4.dequantize (the model core's)."""
    mxfp4 = pytest.importorskip("engine.quant.mxfp4")
    ex = random_experts(2, 64, 96, seed=3)
    assert torch.equal(torch_ref.dequantize_mxfp4(ex.mlp1_blocks, ex.mlp1_scales),
                       mxfp4.dequantize(ex.mlp1_blocks, ex.mlp1_scales))


@pytest.mark.parametrize("T,k", [(1, 4), (5, 2)])
def test_torch_moe_matches_float64(T, k):
    """moe_experts_torch equals a float64 loop over tokens and experts, to float32 rounding."""
    ex = random_experts(6, 64, 96, seed=T)
    x = torch.randn(T, 64, dtype=torch.float32)
    ids = torch.stack([torch.randperm(6)[:k] for _ in range(T)])
    w = torch.softmax(torch.randn(T, k), -1)
    h = torch_ref.moe_mlp1_torch(x, ids, ex.mlp1_blocks, ex.mlp1_scales, ex.mlp1_bias)
    assert rel_err(h, mlp1_ref(x, ids, ex)) < 1e-5
    y = torch_ref.moe_mlp2_torch(h, ids, w, ex.mlp2_blocks, ex.mlp2_scales, ex.mlp2_bias)
    assert rel_err(y, mlp2_ref(h, ids, w, ex)) < 1e-5


def test_dispatch_falls_back_to_torch_on_cpu():
    """Without CUDA the dispatcher runs the torch path, and the slot map selects the rows."""
    assert not kernels.available("cpu")
    ex = random_experts(4, 32, 64, seed=1)
    slots = ex.rows(torch.tensor([3, 1]))  # slot 0 holds expert 3, slot 1 expert 1
    expert_to_slot = torch.tensor([-1, 1, -1, 0])
    x = torch.randn(2, 32)
    ids = torch.tensor([[3, 1], [1, 3]])
    w = torch.tensor([[0.7, 0.3], [0.4, 0.6]])
    got = kernels.moe_experts(x, ids, w, *vars(slots).values(), expert_to_slot=expert_to_slot)
    want = mlp2_ref(mlp1_ref(x, ids, ex).float(), ids, w, ex)
    assert rel_err(got, want) < 1e-5


def test_failing_triton_falls_back_once(monkeypatch):
    """If the Triton path raises (here: compiled kernels handed CPU tensors), the dispatcher answers with
    the torch path and turns Triton off for the process; backend="triton" still raises."""
    monkeypatch.setattr(kernels, "available", lambda device=None: kernels._disabled is None)
    monkeypatch.setattr(kernels, "_disabled", None)
    ex = random_experts(3, 32, 32, seed=4)
    x, ids, w = torch.randn(1, 32), torch.tensor([[0, 2]]), torch.tensor([[0.5, 0.5]])
    got = kernels.moe_experts(x, ids, w, *vars(ex).values())
    assert kernels._disabled is not None
    assert rel_err(got, mlp2_ref(mlp1_ref(x, ids, ex).float(), ids, w, ex)) < 1e-5
    with pytest.raises(Exception):
        kernels.moe_experts(x, ids, w, *vars(ex).values(), backend="triton")


def test_kernels_import_is_light():
    """Importing engine.kernels (and asking available()) on a CPU machine never needs Triton."""
    code = ("import sys, engine.kernels as k; k.available(); import engine.layers.int8_linear; "
            "assert 'engine.kernels.moe_mxfp4' not in sys.modules; print('ok')")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "ok"


def _check_schedule(rows: torch.Tensor, num_rows: int, block_m: int) -> None:
    s = build_schedule(rows, num_rows, block_m)
    flat = rows.reshape(-1)
    pairs = s.sorted_pairs.long()
    assert sorted(pairs.tolist()) == list(range(flat.numel()))  # a permutation of the pairs
    covered = torch.zeros(flat.numel(), dtype=torch.int32)
    for row, start, end in zip(s.tile_row.tolist(), s.tile_start.tolist(), s.tile_end.tolist()):
        if row < 0:
            continue
        chunk = pairs[start:min(end, start + block_m)]
        assert len(chunk) > 0 and (flat[chunk] == row).all()  # one weight row per tile
        covered[chunk] += 1
    assert (covered == 1).all()  # every pair in exactly one tile


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 40), st.integers(1, 4), st.integers(1, 9), st.sampled_from([1, 2, 16, 64]), st.data())
def test_schedule_covers_every_pair_once(T, k, num_rows, block_m, data):
    """Tiles hold pairs of one weight row each, cover every pair exactly once, and empty tiles are -1."""
    flat = data.draw(st.lists(st.integers(0, num_rows - 1), min_size=T * k, max_size=T * k))
    _check_schedule(torch.tensor(flat).view(T, k), num_rows, block_m)


def test_expert_rows_through_slot_map():
    """Expert ids map through expert_to_slot; without a map they are the rows."""
    ids = torch.tensor([[5, 0], [2, 5]])
    assert torch.equal(expert_rows(ids, None), ids.int())
    m = torch.tensor([1, -1, 0, -1, -1, 2])
    assert expert_rows(ids, m).tolist() == [[2, 1], [0, 2]]


def test_seam_matches_model_core_expert_mlp():
    """kernels.expert_mlp takes engine/layers/moe.py's arguments (rows, weights, PackedExperts, limit, alpha) and
    agrees with its torch expert_mlp to bf16 rounding (the model core rounds after each matmul)."""
    moe = pytest.importorskip("engine.layers.moe")
    experts = pytest.importorskip("engine.layers.experts")
    ex = random_experts(5, 64, 96, seed=9)
    packed = experts.PackedExperts(**vars(ex))
    g = torch.Generator().manual_seed(9)
    x = torch.randn(6, 64, generator=g).to(torch.bfloat16)
    rows = torch.stack([torch.randperm(5, generator=g)[:4] for _ in range(6)])
    w = torch.softmax(torch.randn(6, 4, generator=g), -1).to(torch.bfloat16)
    ours = kernels.expert_mlp(x, rows, w, packed, 7.0, 1.702, backend="torch")
    theirs = moe.expert_mlp(x, rows, w, packed, 7.0, 1.702)
    assert ours.shape == theirs.shape == (6, 64) and ours.dtype == torch.bfloat16
    assert rel_err(ours, theirs) < 1e-2
