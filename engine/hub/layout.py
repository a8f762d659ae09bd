"""Which files make a gpt-oss model, in which layout, and cheap checks that a folder holds one.

A repo such as ``openai/gpt-oss-20b`` holds the same weights three times (the Hugging Face layout at the
root, ``original/`` and ``metal/``, each about 13 GB); a download fetches exactly one layout.
"""

from __future__ import annotations

import re
from pathlib import Path, PurePosixPath

from engine.errors import ModelFilesError, UnsupportedModelError
from engine.io.weights import SafetensorsFile
from engine.userfiles import read_json

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
    """A model's config.json, parsed with engine.userfiles' limits (ModelFilesError naming it otherwise)."""
    return read_json(path, what="config.json")


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
        data = read_json(folder / index, what="safetensors index")
        weight_map = data.get("weight_map") if isinstance(data, dict) else None
        if not isinstance(weight_map, dict) or not all(isinstance(v, str) for v in weight_map.values()):
            raise ModelFilesError(f"{folder / index} is not a safetensors index (it has no weight_map).")
        base = PurePosixPath(index).parent
        missing = sorted({str(base / name) for name in weight_map.values()} - set(files))
        if missing:
            raise ModelFilesError(f"{folder} lacks {', '.join(missing)}, which {index} lists. Copy them too.")
    for name in (p for p in files if p.endswith(".safetensors")):
        safetensors_tensors(folder / name)


def safetensors_tensors(path: Path) -> dict[str, dict]:
    """The header of a safetensors file (name -> dtype, shape, file offsets), checked as a load checks it: the
    spans fit their shapes and tile the data area exactly (engine.io.weights)."""
    tensors = SafetensorsFile(path).tensors
    return {
        name: {"dtype": t.dtype, "shape": list(t.shape), "file_offsets": [t.start, t.end]}
        for name, t in tensors.items()
    }
