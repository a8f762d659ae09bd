"""The kernels and host syncs of a full-size gpt-oss-20b decode step, counted on the meta device (no GPU):
the CUDA + Triton path stays at ten kernels a layer and one sync a token, so neither can creep back up."""

from __future__ import annotations

import json

import pytest

from engine.__main__ import main
from engine.config import ModelConfig
from engine.kernels import _triton_importable
from engine.runtime.op_count import count_ops

needs_triton = pytest.mark.skipif(not _triton_importable(), reason="triton is not installed")

MAX_KERNELS_PER_LAYER = 10  # issue #13: was about 71 with the Triton MoE kernels, 116 without
MAX_KERNELS_OUTSIDE_LAYERS = 20  # embedding, rotary tables, final norm, unembedding, argmax, id read


@needs_triton
def test_bench_count_ops_prints_the_counts(capsys):
    """``bench --preset gpt-oss-20b --count-ops`` prints JSON: at most ten kernels in every layer, one host
    sync a token (reading the sampled id back), the fused kernels' launches counted."""
    assert main(["bench", "--preset", "gpt-oss-20b", "--count-ops"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["path"] == "triton" and result["preset_layers"] == 24
    assert result["kernels_per_layer"] <= MAX_KERNELS_PER_LAYER
    assert all(n <= MAX_KERNELS_PER_LAYER for n in result["kernels_per_layer_by_kind"].values())
    assert 0 < result["kernels_outside_layers"] <= MAX_KERNELS_OUTSIDE_LAYERS
    assert result["kernels_per_token"] <= 24 * MAX_KERNELS_PER_LAYER + MAX_KERNELS_OUTSIDE_LAYERS
    assert result["host_syncs_per_token"] == 1 and result["syncs"] == ["aten.item.default"]
    launches = result["triton_kernels"]
    for name in (
        "rope_kv_kernel",
        "decode_partial_kernel",
        "decode_combine_kernel",
        "router_kernel",
        "mlp1_gemv_kernel",
        "mlp2_gemv_kernel",
    ):
        assert launches[name] == 24, name
    assert launches["add_rms_norm_kernel"] == 49  # two a layer and the final norm
    assert result["eager_kernels_per_token"] <= result["kernels_per_token"] + 8


@needs_triton
def test_int8_weights_keep_the_count():
    """With 8-bit attention and unembedding weights the QKV projection stays one (int8 GEMV) kernel."""
    result = count_ops(ModelConfig(), position=300, int8=True)
    assert result["kernels_per_layer"] <= MAX_KERNELS_PER_LAYER and result["host_syncs_per_token"] == 1
    assert result["triton_kernels"]["int8_gemv_kernel"] == 2 * 24 + 1


def test_the_torch_path_is_counted_too():
    """A GPU without Triton (the torch path) is counted the same way: many more kernels, still no sync inside
    the step."""
    result = count_ops(ModelConfig(num_hidden_layers=4), position=200, path="torch")
    assert result["path"] == "torch" and result["triton_launches_per_token"] == 0
    assert result["kernels_per_layer"] > MAX_KERNELS_PER_LAYER
    assert result["host_syncs_per_token"] == 1
