"""Fixtures: a fake Hub on 127.0.0.1 (HF_ENDPOINT points at it) and a tiny gpt-oss repo in both layouts."""

from __future__ import annotations

import json
import os
import random
import struct
from pathlib import Path

import pytest

from engine.hub import ModelStore
from engine.hub.catalog import BUILTIN
from tests.hub.fakehub import FakeHub

REPO = "openai/gpt-oss-20b"
COMMIT = BUILTIN[0].revision  # the pinned commit of gpt-oss-20b, so the real catalog entry is exercised
NAME = "gpt-oss-20b"
ROOT = Path(__file__).resolve().parents[2]
HF_FILES = [
    "config.json",
    "generation_config.json",
    "model.safetensors.index.json",
    "model-00000-of-00002.safetensors",
    "model-00001-of-00002.safetensors",
    "model-00002-of-00002.safetensors",
]


def safetensors_bytes(tensors: dict[str, int], seed: int) -> bytes:
    """A real safetensors file of uint8 tensors with random contents (name -> number of bytes)."""
    rng = random.Random(seed)
    header, offset = {}, 0
    for name, size in tensors.items():
        header[name] = {"dtype": "U8", "shape": [size], "data_offsets": [offset, offset + size]}
        offset += size
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    return struct.pack("<Q", len(text)) + text + rng.randbytes(offset)


def hf_config(**extra) -> dict:
    return {
        "architectures": ["GptOssForCausalLM"],
        "model_type": "gpt_oss",
        "num_hidden_layers": 2,
        "num_local_experts": 4,
        "hidden_size": 64,
        "intermediate_size": 64,
        "quantization_config": {"quant_method": "mxfp4"},
        **extra,
    }


def tiny_repo(shard_bytes: int = 48_000, seed: int = 0) -> dict[str, bytes]:
    """gpt-oss-20b in miniature: both layouts, plus files a download must skip (metal/, tokenizer, README)."""
    shards = {
        f"model-0000{i}-of-00002.safetensors": {
            f"model.layers.{i}.mlp.experts.down_proj_blocks": shard_bytes,
            f"model.layers.{i}.input_layernorm.weight": 128,
        }
        for i in range(3)
    }
    files = {name: safetensors_bytes(tensors, seed + i) for i, (name, tensors) in enumerate(shards.items())}
    weight_map = {t: name for name, tensors in shards.items() for t in tensors}
    files["model.safetensors.index.json"] = json.dumps({"metadata": {}, "weight_map": weight_map}).encode()
    files["config.json"] = json.dumps(hf_config(seed=seed)).encode()
    files["generation_config.json"] = b'{"eos_token_id": [200002, 199999, 200012]}'
    files["original/config.json"] = json.dumps(
        {"num_hidden_layers": 2, "num_experts": 4, "experts_per_token": 2, "hidden_size": 64}
    ).encode()
    files["original/model.safetensors"] = safetensors_bytes({"embedding.weight": 4 * shard_bytes}, seed + 7)
    files["metal/model.bin"] = bytes(5 * shard_bytes)
    files["tokenizer.json"] = b"{}"
    files["README.md"] = b"# gpt-oss-20b (tiny test copy)\n"
    files[".gitattributes"] = b"*.safetensors filter=lfs diff=lfs merge=lfs -text\n"
    return files


@pytest.fixture(autouse=True)
def own_folders(monkeypatch, tmp_path):
    """Each test its own data and config folders: in-use locks and the saved models root stay private."""
    monkeypatch.setenv("GOSSAMER_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("GOSSAMER_CONFIG_DIR", str(tmp_path / "config"))


@pytest.fixture
def hub(monkeypatch, tmp_path):
    """A fake Hub serving the tiny gpt-oss-20b at its pinned commit; HF_ENDPOINT points at it."""
    server = FakeHub().start()
    server.add_repo(REPO, tiny_repo(), commit=COMMIT)
    monkeypatch.setenv("HF_ENDPOINT", server.endpoint)
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf-home"))  # no saved token from the machine
    monkeypatch.delenv("HF_TOKEN", raising=False)
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    yield server
    server.stop()


@pytest.fixture
def store(tmp_path) -> ModelStore:
    return ModelStore(tmp_path / "models", retries=3, backoff_s=0.01, timeout_s=5)


@pytest.fixture
def subprocess_env(hub, tmp_path) -> dict[str, str]:
    """Environment for `python -m engine` in a child process, talking to the fake Hub."""
    return {**os.environ, "HF_ENDPOINT": hub.endpoint, "PYTHONPATH": str(ROOT)}


SHARD = "model-00001-of-00002.safetensors"


def wait_for(predicate, timeout: float = 10.0, interval: float = 0.005) -> None:
    """Poll until ``predicate()`` is true; fail the test after ``timeout`` seconds."""
    import time

    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting")
        time.sleep(interval)


def part_size(store: ModelStore, path: str = SHARD, name: str = NAME) -> int:
    part = store.root / name / f"{path}.part"
    return part.stat().st_size if part.exists() else 0
