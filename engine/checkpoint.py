"""Model folders on disk: which layout, which files, and every tensor checked before use.

Two public layouts hold the same numbers (see docs gpt-oss-facts.md): the Hugging Face one (sharded
``model-*.safetensors`` + index) and ``original/`` (``model.safetensors`` with ``block.N...`` names).
Both are read through one table (``tensor_map``) from the model's own names to the file's names.

safetensors headers are parsed here, by hand, so a truncated or corrupt file is caught from its size
and header alone before anything is memory-mapped; tensors are then zero-copy views of the mapping.
"""

from __future__ import annotations

import json
import mmap
import warnings
from dataclasses import dataclass
from pathlib import Path

from engine.config import MXFP4_GROUP, ModelConfig
from engine.errors import EngineError, ModelFilesError

CONFIG_FILE = "config.json"
INDEX_FILE = "model.safetensors.index.json"
ORIGINAL_DIR = "original"
MAX_HEADER_BYTES = 100 * 1024 * 1024  # the safetensors library's own limit
BYTES_PER_BLOCK = 16  # 32 FP4 codes packed two to a byte
REDOWNLOAD = "Verify or re-download the model in the model manager."

# safetensors dtype -> bytes per element; the torch dtype is looked up lazily (no torch import here).
DTYPE_SIZES = {"BOOL": 1, "U8": 1, "I8": 1, "F8_E4M3": 1, "F8_E5M2": 1, "E8M0": 1, "I16": 2, "U16": 2,
               "F16": 2, "BF16": 2, "I32": 4, "U32": 4, "F32": 4, "I64": 8, "U64": 8, "F64": 8}
_TORCH_DTYPES = {"BF16": "bfloat16", "U8": "uint8", "F32": "float32", "F16": "float16", "I64": "int64",
                 "I32": "int32", "I8": "int8", "I16": "int16", "F64": "float64", "BOOL": "bool"}


@dataclass(frozen=True)
class TensorInfo:
    name: str
    dtype: str  # safetensors spelling: "BF16", "U8", ...
    shape: tuple[int, ...]
    start: int  # absolute byte offsets in the file
    end: int


class SafetensorsFile:
    """One ``.safetensors`` file: its validated header, and tensors as views of a read-only mapping."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.tensors: dict[str, TensorInfo] = {}
        self._mmap: mmap.mmap | None = None
        self._parse()

    def _fail(self, what: str) -> ModelFilesError:
        return ModelFilesError(f"{self.path} is truncated or corrupt: {what}. {REDOWNLOAD}")

    def _parse(self) -> None:
        try:
            size = self.path.stat().st_size
            with open(self.path, "rb") as f:
                head = f.read(8)
                if len(head) < 8:
                    raise self._fail(f"the file has only {size} bytes")
                header_len = int.from_bytes(head, "little")
                if header_len > MAX_HEADER_BYTES or 8 + header_len > size:
                    raise self._fail(f"its header claims {header_len} bytes but the file has {size}")
                raw = f.read(header_len)
        except FileNotFoundError:
            raise ModelFilesError(f"{self.path} is missing. {REDOWNLOAD}") from None
        except OSError as error:
            raise ModelFilesError(f"{self.path} cannot be read ({error.strerror}).") from None
        try:
            header = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError):
            raise self._fail("its header is not valid JSON") from None
        if not isinstance(header, dict):
            raise self._fail("its header is not a JSON object")
        data_start, data_size = 8 + header_len, size - 8 - header_len
        for name, entry in header.items():
            if name == "__metadata__":
                continue
            info = self._check_entry(name, entry, data_size)
            self.tensors[name] = TensorInfo(name, info[0], info[1], data_start + info[2], data_start + info[3])
        self.size = size

    def _check_entry(self, name: str, entry: object, data_size: int) -> tuple[str, tuple[int, ...], int, int]:
        try:
            dtype, shape, (begin, end) = entry["dtype"], tuple(entry["shape"]), entry["data_offsets"]
            ok = (dtype in DTYPE_SIZES and all(isinstance(n, int) and n >= 0 for n in shape)
                  and isinstance(begin, int) and isinstance(end, int) and 0 <= begin <= end)
        except (TypeError, KeyError, ValueError):
            ok = False
        if not ok:
            raise self._fail(f"the header entry for tensor {name} is malformed")
        numel = 1
        for n in shape:
            numel *= n
        if end - begin != numel * DTYPE_SIZES[dtype]:
            raise self._fail(f"tensor {name} spans {end - begin} bytes, its shape {list(shape)} {dtype} needs "
                             f"{numel * DTYPE_SIZES[dtype]}")
        if end > data_size:
            raise self._fail(f"tensor {name} ends at data byte {end} but the file holds only {data_size} bytes "
                             "of data (an interrupted download?)")
        return dtype, shape, begin, end

    def tensor(self, name: str):
        """A zero-copy view of tensor ``name`` (CPU, read-only: never write to it)."""
        import torch

        info = self.tensors[name]
        dtype = getattr(torch, _TORCH_DTYPES[info.dtype])
        if info.end == info.start:
            return torch.empty(info.shape, dtype=dtype)
        if self._mmap is None:
            with open(self.path, "rb") as f:
                # ACCESS_READ (MAP_SHARED, read-only): no commit charge, pages come and go with the page cache.
                self._mmap = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # "buffer is not writable": we never write to it
            flat = torch.frombuffer(self._mmap, dtype=torch.uint8, count=info.end - info.start, offset=info.start)
        if dtype.itemsize > 1:
            if info.start % dtype.itemsize:
                flat = flat.clone()  # misaligned: a private copy (safetensors writers align, so this is rare)
            flat = flat.view(dtype)
        return flat.view(info.shape)

    def release(self, name: str) -> None:
        """Drop this tensor's pages from our resident set once it has been copied elsewhere (a GPU)."""
        if self._mmap is None or not hasattr(mmap, "MADV_DONTNEED"):
            return
        info = self.tensors[name]
        start = info.start - info.start % mmap.PAGESIZE
        if info.end > start:
            self._mmap.madvise(mmap.MADV_DONTNEED, start, info.end - start)

    def close(self) -> None:
        if self._mmap is not None:
            try:
                self._mmap.close()
            except BufferError:  # views still alive (a CPU model): the mapping goes with them
                pass
            self._mmap = None


# ---- Layouts: where the config and the tensors are --------------------------------------------------------

@dataclass
class Layout:
    kind: str  # "hf" | "original"
    directory: Path
    config: ModelConfig
    files: list[Path]  # the safetensors files holding the weights
    index: dict[str, str] | None  # tensor name -> file name (HF index), if the folder has one


def find_layout(path: str | Path) -> Layout:
    """The layout to load from ``path``: a repo root (HF preferred over ``original/`` when both are
    complete), an ``original/`` folder, or a folder holding one layout."""
    root = Path(path)
    if not root.is_dir():
        raise ModelFilesError(f"{root} is not a folder. Choose the folder that holds the model's config.json.")
    candidates = [d for d in (root, root / ORIGINAL_DIR) if (d / CONFIG_FILE).is_file()]
    if not candidates:
        raise ModelFilesError(f"{root} holds no {CONFIG_FILE} (nor does {root / ORIGINAL_DIR}). "
                              "Choose a gpt-oss model folder, or re-download the model in the model manager.")
    problems: list[ModelFilesError] = []
    layouts: list[Layout] = []
    for directory in candidates:
        config_path = directory / CONFIG_FILE
        config = ModelConfig.from_json_file(config_path)
        kind = "hf" if "model_type" in _read_keys(config_path) else "original"
        try:
            layouts.append(_files_of(kind, directory, config))
        except ModelFilesError as error:
            problems.append(error)
    if not layouts:
        raise problems[0]
    return min(layouts, key=lambda layout: layout.kind != "hf")


def _read_keys(config_path: Path) -> set[str]:
    return set(json.loads(config_path.read_text(encoding="utf-8")))


def _files_of(kind: str, directory: Path, config: ModelConfig) -> Layout:
    index_path = directory / INDEX_FILE
    if kind == "hf" and index_path.is_file():
        try:
            weight_map = json.loads(index_path.read_text(encoding="utf-8"))["weight_map"]
            assert isinstance(weight_map, dict) and all(isinstance(v, str) for v in weight_map.values())
        except (OSError, UnicodeDecodeError, json.JSONDecodeError, KeyError, TypeError, AssertionError):
            raise ModelFilesError(f"{index_path} is not a valid safetensors index. {REDOWNLOAD}") from None
        names = sorted(set(weight_map.values()))
        for name in names:
            if Path(name).name != name:
                raise ModelFilesError(f"{index_path} names a shard outside the folder ({name}). {REDOWNLOAD}")
            if not (directory / name).is_file():
                raise ModelFilesError(f"{directory / name} is missing: {INDEX_FILE} lists it as a shard of the "
                                      f"model. {REDOWNLOAD}")
        return Layout(kind, directory, config, [directory / n for n in names], weight_map)
    files = sorted(directory.glob("*.safetensors"))
    if not files:
        raise ModelFilesError(f"{directory} has a {CONFIG_FILE} but no .safetensors weight files. {REDOWNLOAD}")
    return Layout(kind, directory, config, files, None)


# ---- Names: the model's tensors and where each layout keeps them ------------------------------------------

LAYER_TENSORS = ("attn_norm", "q_weight", "q_bias", "k_weight", "k_bias", "v_weight", "v_bias", "sinks",
                 "out_weight", "out_bias", "mlp_norm", "gate_weight", "gate_bias", "mlp1_blocks", "mlp1_scales",
                 "mlp1_bias", "mlp2_blocks", "mlp2_scales", "mlp2_bias")


def tensor_specs(cfg: ModelConfig) -> dict[str, tuple[tuple[int, ...], str]]:
    """The model's tensors by our names ("embedding", "3.q_weight", ...): shape and safetensors dtype."""
    h, e, d, v = cfg.hidden_size, cfg.num_experts, cfg.head_dim, cfg.vocab_size
    q, kv, two_i = cfg.num_attention_heads * d, cfg.num_key_value_heads * d, 2 * cfg.intermediate_size
    bf16 = "BF16"
    layer = {
        "attn_norm": ((h,), bf16), "q_weight": ((q, h), bf16), "q_bias": ((q,), bf16),
        "k_weight": ((kv, h), bf16), "k_bias": ((kv,), bf16), "v_weight": ((kv, h), bf16), "v_bias": ((kv,), bf16),
        "sinks": ((cfg.num_attention_heads,), bf16), "out_weight": ((h, q), bf16), "out_bias": ((h,), bf16),
        "mlp_norm": ((h,), bf16), "gate_weight": ((e, h), bf16), "gate_bias": ((e,), bf16),
        "mlp1_blocks": ((e, two_i, h // MXFP4_GROUP, BYTES_PER_BLOCK), "U8"),
        "mlp1_scales": ((e, two_i, h // MXFP4_GROUP), "U8"), "mlp1_bias": ((e, two_i), bf16),
        "mlp2_blocks": ((e, h, cfg.intermediate_size // MXFP4_GROUP, BYTES_PER_BLOCK), "U8"),
        "mlp2_scales": ((e, h, cfg.intermediate_size // MXFP4_GROUP), "U8"), "mlp2_bias": ((e, h), bf16),
    }
    specs = {"embedding": ((v, h), bf16)}
    for n in range(cfg.num_hidden_layers):
        specs.update({f"{n}.{k}": spec for k, spec in layer.items()})
    specs.update({"norm": ((h,), bf16), "unembedding": ((v, h), bf16)})
    return specs


_HF_LAYER = {"attn_norm": "input_layernorm.weight", "q_weight": "self_attn.q_proj.weight",
             "q_bias": "self_attn.q_proj.bias", "k_weight": "self_attn.k_proj.weight",
             "k_bias": "self_attn.k_proj.bias", "v_weight": "self_attn.v_proj.weight",
             "v_bias": "self_attn.v_proj.bias", "sinks": "self_attn.sinks", "out_weight": "self_attn.o_proj.weight",
             "out_bias": "self_attn.o_proj.bias", "mlp_norm": "post_attention_layernorm.weight",
             "gate_weight": "mlp.router.weight", "gate_bias": "mlp.router.bias",
             "mlp1_blocks": "mlp.experts.gate_up_proj_blocks", "mlp1_scales": "mlp.experts.gate_up_proj_scales",
             "mlp1_bias": "mlp.experts.gate_up_proj_bias", "mlp2_blocks": "mlp.experts.down_proj_blocks",
             "mlp2_scales": "mlp.experts.down_proj_scales", "mlp2_bias": "mlp.experts.down_proj_bias"}
_ORIGINAL_LAYER = {"attn_norm": "attn.norm.scale", "sinks": "attn.sinks", "out_weight": "attn.out.weight",
                   "out_bias": "attn.out.bias", "mlp_norm": "mlp.norm.scale", "gate_weight": "mlp.gate.weight",
                   "gate_bias": "mlp.gate.bias", "mlp1_blocks": "mlp.mlp1_weight.blocks",
                   "mlp1_scales": "mlp.mlp1_weight.scales", "mlp1_bias": "mlp.mlp1_bias",
                   "mlp2_blocks": "mlp.mlp2_weight.blocks", "mlp2_scales": "mlp.mlp2_weight.scales",
                   "mlp2_bias": "mlp.mlp2_bias"}


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

class Checkpoint:
    """A validated model folder; ``get(name)`` returns our tensor ``name`` as a zero-copy CPU view."""

    def __init__(self, layout: Layout):
        self.layout = layout
        self.config = layout.config
        self.files = {p.name: SafetensorsFile(p) for p in layout.files}
        self._where: dict[str, tuple[SafetensorsFile, str, int, int]] = {}  # ours -> file, name, row0, rows
        self._validate()

    @classmethod
    def open(cls, path: str | Path) -> Checkpoint:
        return cls(find_layout(path))

    def _locate(self, file_name: str) -> SafetensorsFile:
        index = self.layout.index
        if index is not None:
            if file_name not in index:
                raise ModelFilesError(f"tensor {file_name} is missing: {self.layout.directory / INDEX_FILE} does "
                                      f"not list it. {REDOWNLOAD}")
            shard = self.files[index[file_name]]
            if file_name not in shard.tensors:
                raise ModelFilesError(f"tensor {file_name} is missing from {shard.path}, where {INDEX_FILE} "
                                      f"says it is. {REDOWNLOAD}")
            return shard
        for shard in self.files.values():
            if file_name in shard.tensors:
                return shard
        where = ", ".join(str(p) for p in self.layout.files)
        raise ModelFilesError(f"tensor {file_name} is missing from {where}. {REDOWNLOAD}")

    def _validate(self) -> None:
        specs = tensor_specs(self.config)
        expected = file_specs(self.layout.kind, self.config)
        for file_name, parts in tensor_map(self.layout.kind, self.config).items():
            shard = self._locate(file_name)
            info = shard.tensors[file_name]
            shape, dtype = expected[file_name]
            if info.shape != shape:
                raise ModelFilesError(f"tensor {file_name} in {shard.path} has shape {list(info.shape)}, the "
                                      f"model's config.json needs {list(shape)}. The weights do not match the "
                                      f"config: {REDOWNLOAD}")
            if info.dtype != dtype:
                raise ModelFilesError(f"tensor {file_name} in {shard.path} is {info.dtype}, gpt-oss stores it as "
                                      f"{dtype}. {REDOWNLOAD}")
            row = 0
            for part in parts:
                rows = specs[part][0][0]
                self._where[part] = (shard, file_name, row, rows)
                row += rows

    def names(self) -> list[str]:
        return list(self._where)

    def get(self, name: str):
        shard, file_name, row0, rows = self._where[name]
        tensor = shard.tensor(file_name)
        return tensor if rows == tensor.shape[0] else tensor.narrow(0, row0, rows)

    def release(self, name: str) -> None:
        shard, file_name, _, _ = self._where[name]
        shard.release(file_name)

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
