"""Random gpt-oss checkpoints in the real file layouts, for tests and benchmarks.

Every tensor has its real name, shape and dtype (bf16, or uint8 MXFP4 blocks and scales for experts)
and the config.json keys of the layout it is written in. Values come from a generator seeded by
(seed, tensor, row chunk), so both layouts written from one seed hold the same numbers, whatever order
or file the tensors land in. Tensors are generated and written one row chunk at a time: a full-size
gpt-oss-20b (13 GB) streams to disk without being held in memory.

Scales: MXFP4 weights are FP4 codes (RMS about 2.9) times 2**(scale-127); the scales are chosen so a
row's dot product with a unit-RMS input has a standard deviation near 1 (2**-5 for 64 inputs), with a
few groups up to 4 times larger so the SwiGLU clamp is exercised.
"""

from __future__ import annotations

import ctypes
import json
import math
import zlib
from pathlib import Path

import torch

from engine.config import ModelConfig
from engine.io.checkpoint import CONFIG_FILE, INDEX_FILE, ORIGINAL_DIR, file_specs, tensor_map, tensor_specs

CHUNK_ELEMENTS = 1 << 24  # generated at once: 64 MB of float32
FP4_RMS = 2.93  # root mean square of the 16 FP4 values


def tiny_config(**overrides) -> ModelConfig:
    """A gpt-oss-shaped model small enough for tests, with the real vocabulary (201088)."""
    values = {
        "num_hidden_layers": 2,
        "num_experts": 4,
        "experts_per_token": 2,
        "vocab_size": 201088,
        "hidden_size": 64,
        "intermediate_size": 64,
        "head_dim": 16,
        "num_attention_heads": 4,
        "num_key_value_heads": 2,
        "sliding_window": 8,
    }
    values.update(overrides)
    return ModelConfig(**values)


def write_checkpoint(
    directory: str | Path,
    cfg: ModelConfig,
    layout: str = "hf",
    seed: int = 0,
    device: str | torch.device = "cpu",
    num_shards: int | None = None,
) -> Path:
    """Write random weights for ``cfg`` into ``directory`` in ``layout`` "hf" (sharded, with index),
    "original" (one model.safetensors), or "both" (HF in the folder, original in its ``original/``)."""
    directory = Path(directory)
    if layout == "both":
        write_checkpoint(directory, cfg, "hf", seed, device, num_shards)
        write_checkpoint(directory / ORIGINAL_DIR, cfg, "original", seed, device)
        return directory
    if layout not in ("hf", "original"):
        raise ValueError(f"layout must be 'hf', 'original' or 'both', not {layout!r}")
    directory.mkdir(parents=True, exist_ok=True)
    specs, parts = file_specs(layout, cfg), tensor_map(layout, cfg)
    names = list(specs)
    if layout == "hf":
        shards = _split(names, specs, num_shards or min(3, cfg.num_hidden_layers + 1))
        count = len(shards)
        files = {f"model-{i + 1:05d}-of-{count:05d}.safetensors": shard for i, shard in enumerate(shards)}
    else:
        files = {"model.safetensors": names}
    generator = _Generator(cfg, seed, torch.device(device))
    for file_name, tensor_names in files.items():
        _write_file(directory / file_name, tensor_names, specs, parts, generator)
    config = cfg.to_hf_json() if layout == "hf" else cfg.to_original_json()
    (directory / CONFIG_FILE).write_text(json.dumps(config, indent=2) + "\n")
    if layout == "hf":
        index = {
            "metadata": {"total_size": sum(_nbytes(*specs[n]) for n in names)},
            "weight_map": {n: f for f, shard in files.items() for n in shard},
        }
        (directory / INDEX_FILE).write_text(json.dumps(index, indent=2) + "\n")
    return directory


def _nbytes(shape: tuple[int, ...], dtype: str) -> int:
    return math.prod(shape) * (2 if dtype == "BF16" else 1)


def _split(names: list[str], specs: dict, count: int) -> list[list[str]]:
    """Consecutive tensors into ``count`` shards of about equal size."""
    target = sum(_nbytes(*specs[n]) for n in names) / count
    shards: list[list[str]] = [[]]
    size = 0
    for name in names:
        nbytes = _nbytes(*specs[name])
        if shards[-1] and size + nbytes > target and len(shards) < count:
            shards.append([])
            size = 0
        shards[-1].append(name)
        size += nbytes
    return shards


def _write_file(path: Path, names: list[str], specs: dict, parts: dict, generator: _Generator) -> None:
    # bf16 first, bytes last: every bf16 tensor then starts at an even offset
    names = sorted(names, key=lambda n: specs[n][1] != "BF16")
    header, offset = {"__metadata__": {"format": "pt"}}, 0
    for name in names:
        shape, dtype = specs[name]
        size = _nbytes(shape, dtype)
        header[name] = {"dtype": dtype, "shape": list(shape), "data_offsets": [offset, offset + size]}
        offset += size
    raw = json.dumps(header, separators=(",", ":")).encode()
    raw += b" " * (-len(raw) % 8)  # the format pads the header to 8 bytes with spaces
    with open(path, "wb") as f:
        f.write(len(raw).to_bytes(8, "little"))
        f.write(raw)
        for name in names:
            for part in parts[name]:
                for chunk in generator.chunks(part):
                    chunk = chunk.contiguous().cpu()
                    f.write(ctypes.string_at(chunk.data_ptr(), chunk.nbytes))


class _Generator:
    """Values of each of our tensors, in row chunks, reproducible from (seed, name, chunk)."""

    def __init__(self, cfg: ModelConfig, seed: int, device: torch.device):
        self.cfg, self.seed, self.device = cfg, seed, device
        self.specs = tensor_specs(cfg)

    def chunks(self, name: str):
        shape, _ = self.specs[name]
        row = math.prod(shape[1:])
        rows = max(1, CHUNK_ELEMENTS // max(1, row))
        kind = name.split(".")[-1]
        for index, r0 in enumerate(range(0, shape[0], rows)):
            g = torch.Generator(self.device)
            g.manual_seed((self.seed * 1_000_003 + zlib.crc32(name.encode()) * 7919 + index) % 2**63)
            yield self._values(kind, (min(rows, shape[0] - r0), *shape[1:]), g)

    def _values(self, kind: str, shape: tuple[int, ...], g: torch.Generator) -> torch.Tensor:
        cfg, dev = self.cfg, self.device
        if kind.endswith("_blocks"):
            return torch.randint(0, 256, shape, generator=g, device=dev, dtype=torch.uint8)
        if kind.endswith("_scales"):
            fan_in = cfg.hidden_size if kind.startswith("mlp1") else cfg.intermediate_size
            base = 127 - round(math.log2(FP4_RMS * math.sqrt(fan_in)))
            jitter = torch.randint(0, 16, shape, generator=g, device=dev)
            # mostly base or one step smaller; one group in 16 is 4x larger
            step = torch.where(jitter == 0, 2, -(jitter % 2))
            return (base + step).to(torch.uint8)
        normal = torch.randn(shape, generator=g, device=dev, dtype=torch.float32)
        h = cfg.hidden_size
        scale, shift = {
            "embedding": (1.0, 0.0),
            "unembedding": (3.0 / math.sqrt(h), 0.0),  # logits with a standard deviation near 3
            "norm": (0.1, 1.0),
            "attn_norm": (0.1, 1.0),
            "mlp_norm": (0.1, 1.0),
            "q_weight": (1 / math.sqrt(h), 0.0),
            "k_weight": (1 / math.sqrt(h), 0.0),
            "v_weight": (1 / math.sqrt(h), 0.0),
            "out_weight": (1 / math.sqrt(cfg.num_attention_heads * cfg.head_dim), 0.0),
            "sinks": (1.0, 0.0),
            "gate_weight": (2 / math.sqrt(h), 0.0),  # router logits spread enough to choose clearly
        }.get(kind, (0.1, 0.0))  # biases
        return (normal * scale + shift).to(torch.bfloat16)
