"""Synthetic checkpoints: real names and formats, both layouts holding the same numbers."""

from __future__ import annotations

import hashlib
import json

import pytest
import torch

from engine.config import ModelConfig
from engine.io.checkpoint import Checkpoint, file_specs
from engine.io.synthetic import _split, tiny_config, write_checkpoint

SMALL = tiny_config(vocab_size=512, num_hidden_layers=3)


def test_both_layouts_hold_the_same_numbers(make_checkpoint):
    root = make_checkpoint(SMALL, layout="both")
    hf, original = Checkpoint.open(root), Checkpoint.open(root / "original")
    assert hf.layout.kind == "hf" and original.layout.kind == "original"
    assert sorted(hf.names()) == sorted(original.names())
    for name in hf.names():
        assert torch.equal(hf.get(name), original.get(name)), name


def test_the_safetensors_library_reads_them(make_checkpoint):
    """Our hand-written files are valid safetensors: the library (which transformers uses) agrees."""
    from safetensors import safe_open

    root = make_checkpoint(SMALL, layout="both")
    for folder in (root, root / "original"):
        checkpoint = Checkpoint.open(folder)
        for shard in checkpoint.files.values():
            with safe_open(str(shard.path), framework="pt") as f:
                assert set(f.keys()) == set(shard.tensors)
                for name in f.keys():  # noqa: SIM118 (safe_open is not iterable)
                    assert torch.equal(f.get_tensor(name), shard.tensor(name)), name


def test_hf_index_and_config(make_checkpoint):
    root = make_checkpoint(SMALL, layout="hf")
    index = json.loads((root / "model.safetensors.index.json").read_text())
    specs = file_specs("hf", SMALL)
    assert set(index["weight_map"]) == set(specs)
    assert len(set(index["weight_map"].values())) == 3
    assert index["metadata"]["total_size"] == SMALL.total_bytes()
    config = json.loads((root / "config.json").read_text())
    assert config["model_type"] == "gpt_oss" and config["architectures"] == ["GptOssForCausalLM"]
    assert config["quantization_config"]["quant_method"] == "mxfp4"
    assert config["rope_scaling"]["rope_type"] == "yarn" and config["rope_scaling"]["truncate"] is False
    assert config["layer_types"] == ["sliding_attention", "full_attention", "sliding_attention"]
    assert config["num_local_experts"] == SMALL.num_experts and config["sliding_window"] == 8


def test_original_config_is_what_the_reference_reads(make_checkpoint):
    root = make_checkpoint(SMALL, layout="both")
    config = json.loads((root / "original" / "config.json").read_text())
    reference = pytest.importorskip("gpt_oss.torch.model", reason="the gpt-oss reference is not installed")
    ref_config = reference.ModelConfig(**config)  # takes exactly its own keys
    assert ref_config.num_experts == SMALL.num_experts and ref_config.sliding_window == 8


def test_values_are_sane(make_checkpoint):
    checkpoint = Checkpoint.open(make_checkpoint(SMALL, layout="hf"))
    scales = checkpoint.get("0.mlp1_scales")
    assert scales.dtype == torch.uint8 and 115 <= int(scales.min()) and int(scales.max()) <= 127
    blocks = checkpoint.get("1.mlp2_blocks")
    assert blocks.dtype == torch.uint8 and len(blocks.unique()) > 200
    norm = checkpoint.get("norm").float()
    assert norm.dtype == torch.float32 and abs(norm.mean() - 1) < 0.1
    assert all(
        torch.isfinite(checkpoint.get(n).float()).all() for n in checkpoint.names() if "blocks" not in n
    )


def test_seeds_are_reproducible_and_distinct(tmp_path):
    def digest(folder):
        return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in folder.glob("*.safetensors")}

    cfg = tiny_config(vocab_size=256, num_hidden_layers=1, layer_types=("full_attention",))
    a = digest(write_checkpoint(tmp_path / "a", cfg, layout="original", seed=5))
    b = digest(write_checkpoint(tmp_path / "b", cfg, layout="original", seed=5))
    c = digest(write_checkpoint(tmp_path / "c", cfg, layout="original", seed=6))
    assert a == b and a != c


def test_full_size_20b_is_sharded_like_the_hub():
    """gpt-oss-20b (13.76 GB) splits into three shards of similar size (written one tensor chunk at a time)."""
    cfg = ModelConfig()
    specs = file_specs("hf", cfg)
    shards = _split(list(specs), specs, 3)
    sizes = [
        sum(torch.Size(specs[n][0]).numel() * (2 if specs[n][1] == "BF16" else 1) for n in s) for s in shards
    ]
    assert len(shards) == 3 and sum(sizes) == cfg.total_bytes()
    assert max(sizes) < 1.5 * min(sizes)


def test_bad_layout_name(tmp_path):
    with pytest.raises(ValueError):
        write_checkpoint(tmp_path, SMALL, layout="gguf")
