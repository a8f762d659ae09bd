"""Model folders: which layout is used, and a clear error for each way the files can be broken."""

from __future__ import annotations

import json
import shutil

import pytest

from engine.errors import ModelFilesError, UnsupportedModelError
from engine.io.checkpoint import Checkpoint, find_layout, is_model_dir
from engine.io.synthetic import tiny_config
from engine.runtime.loader import load_model

SMALL = tiny_config(vocab_size=512)


@pytest.fixture
def repo(make_checkpoint, tmp_path):
    """A private copy of a small repo root: HF layout at the top, original/ inside."""
    return shutil.copytree(make_checkpoint(SMALL, layout="both"), tmp_path / "repo")


def header_of(path):
    data = path.read_bytes()
    size = int.from_bytes(data[:8], "little")
    return json.loads(data[8 : 8 + size]), data[8 + size :]


def rewrite_header(path, mutate) -> None:
    header, body = header_of(path)
    mutate(header)
    raw = json.dumps(header).encode()
    raw += b" " * (-len(raw) % 8)
    path.write_bytes(len(raw).to_bytes(8, "little") + raw + body)


def shard_holding(root, tensor):
    index = json.loads((root / "model.safetensors.index.json").read_text())
    return root / index["weight_map"][tensor]


# ---- which layout --------------------------------------------------------------------------------------


def test_root_with_both_layouts_prefers_hf(repo):
    layout = find_layout(repo)
    assert layout.kind == "hf" and layout.directory == repo and len(layout.files) == 3


def test_original_folder_and_single_layout_folders(repo, tmp_path):
    """The original/ folder itself, a root holding only original/, and an HF-only folder all load."""
    assert find_layout(repo / "original").kind == "original"
    only_original = tmp_path / "only-original"
    shutil.copytree(repo / "original", only_original / "original")
    assert find_layout(only_original).directory == only_original / "original"
    shutil.rmtree(repo / "original")
    assert find_layout(repo).kind == "hf"


def test_incomplete_hf_falls_back_to_original(repo):
    """A root whose HF shards are incomplete uses a complete original/ instead."""
    (shard_holding(repo, "lm_head.weight")).unlink()
    layout = find_layout(repo)
    assert layout.kind == "original"
    load_model(repo)


def test_a_broken_second_layout_is_ignored(repo):
    """A damaged original/ does not stop a complete HF layout at the root (nor the other way round)."""
    (repo / "original" / "config.json").write_text("{oops")
    assert find_layout(repo).kind == "hf"
    config = json.loads((repo / "config.json").read_text())
    (repo / "config.json").write_text(json.dumps(dict(config, model_type="llama")))
    with pytest.raises(UnsupportedModelError, match="llama"):
        find_layout(repo)  # the root's own config wins the report when nothing loads


def test_is_model_dir(repo, tmp_path):
    assert is_model_dir(repo) and is_model_dir(repo / "original") and not is_model_dir(tmp_path)


# ---- what is wrong, and the message says it --------------------------------------------------------------


def expect_files_error(path, *words):
    with pytest.raises(ModelFilesError) as error:
        Checkpoint.open(path)
    message = str(error.value)
    for word in words:
        assert word in message, message
    assert "re-download" in message.lower() or "choose" in message.lower(), message
    return message


def test_missing_config(repo):
    (repo / "config.json").unlink()
    shutil.rmtree(repo / "original")
    expect_files_error(repo, "config.json")


def test_not_a_folder_or_empty(tmp_path):
    expect_files_error(tmp_path / "nowhere", "not a folder")
    expect_files_error(tmp_path, "config.json")


def test_non_gpt_oss_config(repo):
    shutil.rmtree(repo / "original")
    config = json.loads((repo / "config.json").read_text())
    (repo / "config.json").write_text(json.dumps(dict(config, model_type="mistral")))
    with pytest.raises(UnsupportedModelError, match="mistral"):
        Checkpoint.open(repo)


def test_missing_shard_named_in_index(repo):
    shutil.rmtree(repo / "original")
    shard = shard_holding(repo, "lm_head.weight")
    shard.unlink()
    expect_files_error(repo, shard.name, "index")


def test_tensor_missing_from_index(repo):
    shutil.rmtree(repo / "original")
    path = repo / "model.safetensors.index.json"
    index = json.loads(path.read_text())
    del index["weight_map"]["model.layers.1.self_attn.sinks"]
    path.write_text(json.dumps(index))
    expect_files_error(repo, "model.layers.1.self_attn.sinks", "model.safetensors.index.json")


def renamed(name: str):
    """A header change that takes ``name`` out while its bytes stay owned (the spans still tile the file)."""
    return lambda header: header.update({f"unused.{name}": header.pop(name)})


def test_tensor_missing_from_its_shard(repo):
    shutil.rmtree(repo / "original")
    name = "model.layers.0.mlp.experts.down_proj_scales"
    shard = shard_holding(repo, name)
    rewrite_header(shard, renamed(name))
    expect_files_error(repo, name, shard.name)


def test_tensor_missing_from_original_layout(repo):
    name = "block.1.attn.qkv.bias"
    rewrite_header(repo / "original" / "model.safetensors", renamed(name))
    expect_files_error(repo / "original", name, "model.safetensors")


def test_wrong_shape(repo):
    """A tensor of the right size but the wrong shape (here: transposed) is named with both shapes."""
    shutil.rmtree(repo / "original")
    name = "model.layers.1.self_attn.k_proj.weight"
    shard = shard_holding(repo, name)
    rewrite_header(shard, lambda h: h[name].update(shape=h[name]["shape"][::-1]))
    expect_files_error(repo, name, shard.name, "[64, 32]", "[32, 64]")


def test_shapes_that_do_not_match_the_config(repo):
    """Weights of another size than config.json says: the first tensor that disagrees is named."""
    shutil.rmtree(repo / "original")
    config = json.loads((repo / "config.json").read_text())
    (repo / "config.json").write_text(json.dumps(dict(config, vocab_size=1024)))
    expect_files_error(repo, "model.embed_tokens.weight", "[1024, 64]")


def test_wrong_dtype(repo):
    name = "block.0.mlp.gate.weight"
    rewrite_header(repo / "original" / "model.safetensors", lambda h: h[name].update(dtype="F16"))
    expect_files_error(repo / "original", name, "F16", "BF16")


def test_truncated_file(repo):
    """A shard cut short (an interrupted download) is caught from its size, before any mapping."""
    shutil.rmtree(repo / "original")
    shard = shard_holding(repo, "lm_head.weight")
    with open(shard, "r+b") as f:
        f.truncate(shard.stat().st_size - 1000)
    expect_files_error(repo, shard.name, "truncated")


@pytest.mark.parametrize(
    "damage", ["garbage", "huge length", "tiny file", "offsets past end", "bad entry", "size mismatch"]
)
def test_malformed_safetensors(repo, damage):
    file = repo / "original" / "model.safetensors"
    data = file.read_bytes()
    size = int.from_bytes(data[:8], "little")
    if damage == "garbage":
        file.write_bytes(data[:8] + b"\x00\xff{" * (size // 3) + b" " * (size % 3) + data[8 + size :])
    elif damage == "huge length":
        file.write_bytes((10**12).to_bytes(8, "little") + data[8:])
    elif damage == "tiny file":
        file.write_bytes(data[:5])
    elif damage == "offsets past end":
        rewrite_header(file, lambda h: h["norm.scale"].update(data_offsets=[len(data), len(data) + 128]))
    elif damage == "bad entry":
        rewrite_header(file, lambda h: h.update({"norm.scale": {"dtype": "BF16", "shape": "64"}}))
    else:
        rewrite_header(file, lambda h: h["norm.scale"].update(shape=[65]))
    expect_files_error(repo / "original", "model.safetensors", "corrupt")


def test_loading_a_broken_folder_never_reaches_torch(repo):
    """load_model validates first: the same errors, not a crash inside torch."""
    shutil.rmtree(repo / "original")
    with open(shard_holding(repo, "lm_head.weight"), "r+b") as f:
        f.truncate(100)
    with pytest.raises(ModelFilesError):
        load_model(repo)
