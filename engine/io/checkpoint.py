"""Model folders on disk: which layout, which files, and every tensor checked before use.

Two public layouts hold the same numbers (see docs gpt-oss-facts.md): the Hugging Face one (sharded
``model-*.safetensors`` + index) and ``original/`` (``model.safetensors`` with ``block.N...`` names).
Both are read through one table (``tensor_map``) from the model's own names to the file's names.
The files themselves are read by engine/io/weights.py (validated headers, zero-copy mmap views).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from engine.config import MXFP4_GROUP, ModelConfig
from engine.errors import EngineError, ModelFilesError
from engine.io.weights import REDOWNLOAD, SafetensorsFile
from engine.userfiles import check_regular, read_json

CONFIG_FILE = "config.json"
INDEX_FILE = "model.safetensors.index.json"
ORIGINAL_DIR = "original"
BYTES_PER_BLOCK = 16  # 32 FP4 codes packed two to a byte
# The largest E8M0 scale byte the Triton kernels hold exactly: they build 2**(s - 127 + 14) as float32 bits,
# which overflows from 241 on. gpt-oss's scales sit far below (weights of 2**113 mean damaged bytes).
MAX_SCALE_BYTE = 240

# ---- Layouts: where the config and the tensors are --------------------------------------------------------


@dataclass
class Layout:
    kind: str  # "hf" | "original"
    directory: Path
    config: ModelConfig
    files: list[Path]  # the safetensors files holding the weights
    index: dict[str, str] | None  # tensor name -> file name (HF index), if the folder has one


def read_config(path: str | Path) -> ModelConfig:
    """The config of the model folder ``path``: the config.json of the layout ``find_layout`` picks."""
    return find_layout(path).config


def find_layout(path: str | Path) -> Layout:
    """The layout to load from ``path``: a repo root (HF preferred over ``original/`` when both are
    complete), an ``original/`` folder, or a folder holding one layout."""
    root = Path(path)
    if not root.is_dir():
        raise ModelFilesError(
            f"{root} is not a folder. Choose the folder that holds the model's config.json."
        )
    # exists(), not is_file(): a config.json that is a pipe is refused by name, not passed over
    candidates = [d for d in (root, root / ORIGINAL_DIR) if (d / CONFIG_FILE).exists()]
    if not candidates:
        raise ModelFilesError(
            f"{root} holds no {CONFIG_FILE} (nor does {root / ORIGINAL_DIR}). "
            "Choose a gpt-oss model folder, or re-download the model in the model manager."
        )
    problems: list[EngineError] = []  # a broken layout is reported only if no other one is usable
    layouts: list[Layout] = []
    for directory in candidates:
        config_path = directory / CONFIG_FILE
        try:
            config = ModelConfig.from_json_file(config_path)
            kind = "hf" if "model_type" in read_json(config_path, what="config.json") else "original"
            layouts.append(_files_of(kind, directory, config))
        except EngineError as error:
            problems.append(error)
    if not layouts:
        raise problems[0]
    return min(layouts, key=lambda layout: layout.kind != "hf")


def _files_of(kind: str, directory: Path, config: ModelConfig) -> Layout:
    index_path = directory / INDEX_FILE
    if kind == "hf" and index_path.exists():
        index = read_json(index_path, what="safetensors index")  # ModelFilesError naming it, if malformed
        weight_map = index.get("weight_map") if isinstance(index, dict) else None
        if not isinstance(weight_map, dict) or not all(isinstance(v, str) for v in weight_map.values()):
            raise ModelFilesError(f"{index_path} is not a valid safetensors index. {REDOWNLOAD}")
        names = sorted(set(weight_map.values()))
        for name in names:
            if Path(name).name != name:
                raise ModelFilesError(f"{index_path} names a shard outside the folder ({name}). {REDOWNLOAD}")
            if (directory / name).exists():
                check_regular(directory / name, "weights file")
            else:
                raise ModelFilesError(
                    f"{directory / name} is missing: {INDEX_FILE} lists it as a shard of the "
                    f"model. {REDOWNLOAD}"
                )
        return Layout(kind, directory, config, [directory / n for n in names], weight_map)
    files = sorted(directory.glob("*.safetensors"))
    for file in files:
        check_regular(file, "weights file")  # a pipe named like weights would block the first read
    if not files:
        raise ModelFilesError(
            f"{directory} has a {CONFIG_FILE} but no .safetensors weight files. {REDOWNLOAD}"
        )
    return Layout(kind, directory, config, files, None)


# ---- Names: the model's tensors and where each layout keeps them ------------------------------------------

LAYER_TENSORS = (
    "attn_norm",
    "q_weight",
    "q_bias",
    "k_weight",
    "k_bias",
    "v_weight",
    "v_bias",
    "sinks",
    "out_weight",
    "out_bias",
    "mlp_norm",
    "gate_weight",
    "gate_bias",
    "mlp1_blocks",
    "mlp1_scales",
    "mlp1_bias",
    "mlp2_blocks",
    "mlp2_scales",
    "mlp2_bias",
)


def tensor_specs(cfg: ModelConfig) -> dict[str, tuple[tuple[int, ...], str]]:
    """The model's tensors by our names ("embedding", "3.q_weight", ...): shape and safetensors dtype."""
    h, e, d, v = cfg.hidden_size, cfg.num_experts, cfg.head_dim, cfg.vocab_size
    q, kv, two_i = cfg.num_attention_heads * d, cfg.num_key_value_heads * d, 2 * cfg.intermediate_size
    bf16 = "BF16"
    layer = {
        "attn_norm": ((h,), bf16),
        "q_weight": ((q, h), bf16),
        "q_bias": ((q,), bf16),
        "k_weight": ((kv, h), bf16),
        "k_bias": ((kv,), bf16),
        "v_weight": ((kv, h), bf16),
        "v_bias": ((kv,), bf16),
        "sinks": ((cfg.num_attention_heads,), bf16),
        "out_weight": ((h, q), bf16),
        "out_bias": ((h,), bf16),
        "mlp_norm": ((h,), bf16),
        "gate_weight": ((e, h), bf16),
        "gate_bias": ((e,), bf16),
        "mlp1_blocks": ((e, two_i, h // MXFP4_GROUP, BYTES_PER_BLOCK), "U8"),
        "mlp1_scales": ((e, two_i, h // MXFP4_GROUP), "U8"),
        "mlp1_bias": ((e, two_i), bf16),
        "mlp2_blocks": ((e, h, cfg.intermediate_size // MXFP4_GROUP, BYTES_PER_BLOCK), "U8"),
        "mlp2_scales": ((e, h, cfg.intermediate_size // MXFP4_GROUP), "U8"),
        "mlp2_bias": ((e, h), bf16),
    }
    specs = {"embedding": ((v, h), bf16)}
    for n in range(cfg.num_hidden_layers):
        specs.update({f"{n}.{k}": spec for k, spec in layer.items()})
    specs.update({"norm": ((h,), bf16), "unembedding": ((v, h), bf16)})
    return specs


_HF_LAYER = {
    "attn_norm": "input_layernorm.weight",
    "q_weight": "self_attn.q_proj.weight",
    "q_bias": "self_attn.q_proj.bias",
    "k_weight": "self_attn.k_proj.weight",
    "k_bias": "self_attn.k_proj.bias",
    "v_weight": "self_attn.v_proj.weight",
    "v_bias": "self_attn.v_proj.bias",
    "sinks": "self_attn.sinks",
    "out_weight": "self_attn.o_proj.weight",
    "out_bias": "self_attn.o_proj.bias",
    "mlp_norm": "post_attention_layernorm.weight",
    "gate_weight": "mlp.router.weight",
    "gate_bias": "mlp.router.bias",
    "mlp1_blocks": "mlp.experts.gate_up_proj_blocks",
    "mlp1_scales": "mlp.experts.gate_up_proj_scales",
    "mlp1_bias": "mlp.experts.gate_up_proj_bias",
    "mlp2_blocks": "mlp.experts.down_proj_blocks",
    "mlp2_scales": "mlp.experts.down_proj_scales",
    "mlp2_bias": "mlp.experts.down_proj_bias",
}
_ORIGINAL_LAYER = {
    "attn_norm": "attn.norm.scale",
    "sinks": "attn.sinks",
    "out_weight": "attn.out.weight",
    "out_bias": "attn.out.bias",
    "mlp_norm": "mlp.norm.scale",
    "gate_weight": "mlp.gate.weight",
    "gate_bias": "mlp.gate.bias",
    "mlp1_blocks": "mlp.mlp1_weight.blocks",
    "mlp1_scales": "mlp.mlp1_weight.scales",
    "mlp1_bias": "mlp.mlp1_bias",
    "mlp2_blocks": "mlp.mlp2_weight.blocks",
    "mlp2_scales": "mlp.mlp2_weight.scales",
    "mlp2_bias": "mlp.mlp2_bias",
}


def tensor_map(kind: str, cfg: ModelConfig) -> dict[str, list[str]]:
    """File tensor name -> our tensors it holds, stacked along dim 0 in that order (original ``qkv``)."""
    if kind == "hf":
        out = {"model.embed_tokens.weight": ["embedding"]}
        for n in range(cfg.num_hidden_layers):
            out.update({f"model.layers.{n}.{file}": [f"{n}.{ours}"] for ours, file in _HF_LAYER.items()})
        out.update({"model.norm.weight": ["norm"], "lm_head.weight": ["unembedding"]})
        return out
    assert kind == "original", kind
    out = {"embedding.weight": ["embedding"]}
    for n in range(cfg.num_hidden_layers):
        out[f"block.{n}.attn.qkv.weight"] = [f"{n}.q_weight", f"{n}.k_weight", f"{n}.v_weight"]
        out[f"block.{n}.attn.qkv.bias"] = [f"{n}.q_bias", f"{n}.k_bias", f"{n}.v_bias"]
        out.update({f"block.{n}.{file}": [f"{n}.{ours}"] for ours, file in _ORIGINAL_LAYER.items()})
    out.update({"norm.scale": ["norm"], "unembedding.weight": ["unembedding"]})
    return out


def file_specs(kind: str, cfg: ModelConfig) -> dict[str, tuple[tuple[int, ...], str]]:
    """File tensor name -> expected shape and dtype."""
    specs = tensor_specs(cfg)
    out = {}
    for file_name, parts in tensor_map(kind, cfg).items():
        shapes = [specs[p][0] for p in parts]
        out[file_name] = ((sum(s[0] for s in shapes), *shapes[0][1:]), specs[parts[0]][1])
    return out


# ---- The checkpoint: validated files and our tensors as views ---------------------------------------------

_LAYER_NAMES = {
    "hf": re.compile(r"model\.layers\.(\d{1,4})\."),
    "original": re.compile(r"block\.(\d{1,4})\."),
}


class Checkpoint:
    """A validated model folder; ``get(name)`` returns our tensor ``name`` as a zero-copy CPU view."""

    def __init__(self, layout: Layout):
        self.layout = layout
        self.config = layout.config
        self.files = {p.name: SafetensorsFile(p) for p in layout.files}
        self._where: dict[str, tuple[SafetensorsFile, str, int, int]] = {}  # ours -> file, name, row0, rows
        self._check_layers()
        self._validate()

    @classmethod
    def open(cls, path: str | Path) -> Checkpoint:
        return cls(find_layout(path))

    def _locate(self, file_name: str) -> SafetensorsFile:
        index = self.layout.index
        if index is not None:
            if file_name not in index:
                raise ModelFilesError(
                    f"tensor {file_name} is missing: {self.layout.directory / INDEX_FILE} does "
                    f"not list it. {REDOWNLOAD}"
                )
            shard = self.files[index[file_name]]
            if file_name not in shard.tensors:
                raise ModelFilesError(
                    f"tensor {file_name} is missing from {shard.path}, where {INDEX_FILE} "
                    f"says it is. {REDOWNLOAD}"
                )
            return shard
        for shard in self.files.values():
            if file_name in shard.tensors:
                return shard
        where = ", ".join(str(p) for p in self.layout.files)
        raise ModelFilesError(f"tensor {file_name} is missing from {where}. {REDOWNLOAD}")

    def _check_layers(self) -> None:
        """Before any table per layer is built: the files hold tensors of every layer config.json names."""
        if self.layout.index is not None:
            names = self.layout.index.keys()
        else:
            names = [name for shard in self.files.values() for name in shard.tensors]
        pattern = _LAYER_NAMES[self.layout.kind]
        present = {int(m.group(1)) for name in names if (m := pattern.match(name))}
        count = self.config.num_hidden_layers
        missing = [n for n in range(count) if n not in present]
        if missing:
            raise ModelFilesError(
                f"{self.layout.directory / CONFIG_FILE} says the model has {count} layers, but its weight "
                f"files hold no tensors of layer {missing[0]} (they have {len(present)} layers). The "
                f"weights do not match the config: {REDOWNLOAD}"
            )

    def _validate(self) -> None:
        specs = tensor_specs(self.config)
        expected = file_specs(self.layout.kind, self.config)
        for file_name, parts in tensor_map(self.layout.kind, self.config).items():
            shard = self._locate(file_name)
            info = shard.tensors[file_name]
            shape, dtype = expected[file_name]
            if info.shape != shape:
                raise ModelFilesError(
                    f"tensor {file_name} in {shard.path} has shape {list(info.shape)}, the "
                    f"model's config.json needs {list(shape)}. The weights do not match the "
                    f"config: {REDOWNLOAD}"
                )
            if info.dtype != dtype:
                raise ModelFilesError(
                    f"tensor {file_name} in {shard.path} is {info.dtype}, gpt-oss stores it as "
                    f"{dtype}. {REDOWNLOAD}"
                )
            row = 0
            for part in parts:
                rows = specs[part][0][0]
                self._where[part] = (shard, file_name, row, rows)
                row += rows

    def check_scales(self) -> None:
        """Every MXFP4 scale byte at most MAX_SCALE_BYTE: one max per scale tensor, once at load."""
        for n in range(self.config.num_hidden_layers):
            for part in ("mlp1_scales", "mlp2_scales"):
                name = f"{n}.{part}"
                scales = self.get(name)
                top = int(scales.max()) if scales.numel() else 0
                self.release(name)
                if top > MAX_SCALE_BYTE:
                    shard, file_name, _, _ = self._where[name]
                    raise ModelFilesError(
                        f"tensor {file_name} in {shard.path} holds the MXFP4 scale byte {top} "
                        f"(a factor of 2**{top - 127}); gpt-oss scales are at most {MAX_SCALE_BYTE}, so the "
                        f"file is damaged. {REDOWNLOAD}"
                    )

    def names(self) -> list[str]:
        return list(self._where)

    def get(self, name: str):
        shard, file_name, row0, rows = self._where[name]
        tensor = shard.tensor(file_name)
        return tensor if rows == tensor.shape[0] else tensor.narrow(0, row0, rows)

    def release(self, name: str) -> None:
        shard, file_name, _, _ = self._where[name]
        shard.release(file_name)

    def release_bytes(self, name: str, lo: int, hi: int) -> None:
        """``release`` for bytes lo..hi of tensor ``name`` as ``get`` returns it (once copied elsewhere)."""
        shard, file_name, row0, rows = self._where[name]
        info = shard.tensors[file_name]
        if not info.shape or not info.shape[0]:
            return
        row_bytes = (info.end - info.start) // info.shape[0]
        first = info.start + row0 * row_bytes
        shard.release_bytes(first + lo, first + min(hi, rows * row_bytes))

    def nbytes(self) -> int:
        return sum(s.path.stat().st_size for s in self.files.values())

    def close(self) -> None:
        for shard in self.files.values():
            shard.close()


def is_model_dir(path: str | Path) -> bool:
    """Cheap test for pickers: does ``path`` look like a gpt-oss model folder (no weights read)?"""
    try:
        find_layout(path)
    except EngineError:  # the reason is reported when the model is loaded
        return False
    return True
