"""Which files make a gpt-oss model, in which layout, and cheap checks that a folder holds one.

A repo such as ``openai/gpt-oss-20b`` holds the same weights three times (the Hugging Face layout at the
root, ``original/`` and ``metal/``, each about 13 GB); a download fetches exactly one layout.
"""

from __future__ import annotations

import json
import re
import struct
from pathlib import Path, PurePosixPath

from engine.errors import ModelFilesError, UnsupportedModelError

HF = "hf"
ORIGINAL = "original"

# Small files kept with the weights: generation defaults and the licence the weights come under.
_HF_EXTRAS = (
    "config.json",
    "generation_config.json",
    "model.safetensors.index.json",
    "LICENSE",
    "USAGE_POLICY",
)
_HF_WEIGHTS = re.compile(r"model(-\d+-of-\d+)?\.safetensors")
_ORIGINAL_FILES = re.compile(r"original/(config\.json|model[^/]*\.safetensors(\.index\.json)?)")
_ORIGINAL_CONFIG_KEYS = ("num_hidden_layers", "num_experts", "experts_per_token", "hidden_size")
_MAX_HEADER_BYTES = 100_000_000  # safetensors' own limit on the JSON header


def select_files(paths: list[str]) -> tuple[str, list[str]] | None:
    """(layout, files to fetch, small ones first) for a repo's file list; None if it has neither layout."""
    hf_weights = sorted(p for p in paths if _HF_WEIGHTS.fullmatch(p))
    if "config.json" in paths and hf_weights:
        return HF, [p for p in _HF_EXTRAS if p in paths] + [p for p in hf_weights if p not in _HF_EXTRAS]
    original = sorted(p for p in paths if _ORIGINAL_FILES.fullmatch(p))
    if "original/config.json" in original and any(p.endswith(".safetensors") for p in original):
        original.remove("original/config.json")
        small = [p for p in original if not p.endswith(".safetensors")]
        return ORIGINAL, ["original/config.json", *small, *(p for p in original if p not in small)]
    return None


def config_path(files: list[str]) -> str:
    """The config among a model's files; its folder is the folder a loader is given."""
    return next(p for p in files if PurePosixPath(p).name == "config.json")


def check_config(config: object, layout: str, where: str) -> None:
    """Raise UnsupportedModelError unless ``config`` (parsed config.json) describes a gpt-oss model."""
    if not isinstance(config, dict):
        raise UnsupportedModelError(
            f"{where} has a config.json that is not a JSON object, so it is not gpt-oss."
        )
    if layout == HF and config.get("model_type") != "gpt_oss":
        raise UnsupportedModelError(
            f"{where} is not a gpt-oss model (its config.json says model_type {config.get('model_type')!r}); "
            "Gossamer runs gpt-oss models such as openai/gpt-oss-20b."
        )
    if layout == ORIGINAL and not all(k in config for k in _ORIGINAL_CONFIG_KEYS):
        raise UnsupportedModelError(
            f"{where} has a config.json without the gpt-oss keys {', '.join(_ORIGINAL_CONFIG_KEYS)}; "
            "Gossamer runs gpt-oss models such as openai/gpt-oss-20b."
        )


def read_config(path: Path) -> object:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise ModelFilesError(f"Cannot read {path}: {error}. Download or copy the model again.") from error


def detect_local(folder: Path) -> tuple[str, list[str]]:
    """(layout, files relative to ``folder``) of a model folder on disk; raises if it holds no gpt-oss model.

    The Hugging Face layout wins when a folder has both. The original layout may sit at the top of the
    folder (``config.json`` + ``model.safetensors``) or, as in the Hub repo, under ``original/``.
    """
    if not folder.is_dir():
        raise ModelFilesError(f"{folder} is not a folder. Choose the folder that holds config.json.")
    present = sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())
    choice = select_files(present)
    if choice is not None and choice[0] == HF and _is_original_config(folder / "config.json"):
        # An original-layout folder without original/: config.json + model.safetensors at the top.
        flat = select_files([f"original/{p}" for p in present if "/" not in p])
        choice = None if flat is None else (ORIGINAL, [p.removeprefix("original/") for p in flat[1]])
    if choice is None:
        raise ModelFilesError(
            f"{folder} holds no gpt-oss checkpoint: expected config.json with model-*.safetensors "
            "(Hugging Face layout) or original/config.json with original/model.safetensors."
        )
    layout, files = choice
    check_config(read_config(folder / config_path(files)), layout, str(folder))
    check_weights(folder, files)
    return layout, files


def _is_original_config(path: Path) -> bool:
    config = read_config(path)
    return (
        isinstance(config, dict)
        and "model_type" not in config
        and all(k in config for k in _ORIGINAL_CONFIG_KEYS)
    )


def check_weights(folder: Path, files: list[str]) -> None:
    """Every shard an index names is there, and every safetensors header parses and fits its file."""
    for index in (p for p in files if p.endswith(".safetensors.index.json")):
        try:
            weight_map = json.loads((folder / index).read_text(encoding="utf-8"))["weight_map"]
        except (OSError, ValueError, KeyError, TypeError) as error:
            raise ModelFilesError(f"{folder / index} is not a safetensors index ({error}).") from error
        base = PurePosixPath(index).parent
        missing = sorted({str(base / name) for name in weight_map.values()} - set(files))
        if missing:
            raise ModelFilesError(f"{folder} lacks {', '.join(missing)}, which {index} lists. Copy them too.")
    for name in (p for p in files if p.endswith(".safetensors")):
        safetensors_tensors(folder / name)


def safetensors_tensors(path: Path) -> dict[str, dict]:
    """The header of a safetensors file (name -> dtype, shape, offsets), checked against the file's size."""
    try:
        size = path.stat().st_size
        with open(path, "rb") as f:
            (header_len,) = struct.unpack("<Q", f.read(8).ljust(8, b"\0"))
            if not 2 <= header_len <= min(_MAX_HEADER_BYTES, size - 8):
                raise ValueError(f"header length {header_len} does not fit a {size}-byte file")
            header = json.loads(f.read(header_len))
        header.pop("__metadata__", None)
        end = max((t["data_offsets"][1] for t in header.values()), default=0)
    except (OSError, ValueError, KeyError, TypeError, AttributeError, IndexError) as error:
        raise ModelFilesError(f"{path} is not a readable safetensors file ({error}).") from error
    if 8 + header_len + end != size:
        raise ModelFilesError(
            f"{path} is {size} bytes but its header describes {8 + header_len + end}: the file is truncated "
            "or damaged. Copy or download it again."
        )
    return header
