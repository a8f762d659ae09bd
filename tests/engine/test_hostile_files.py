"""Hostile model folders (issue 19): each ends in the engine's own clear error, fast, in bounded memory."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
import time
import tracemalloc

import pytest

from engine.config import ModelConfig
from engine.errors import ModelFilesError
from engine.io.checkpoint import Checkpoint
from engine.io.synthetic import tiny_config
from engine.runtime.loader import load_model
from tests.engine.test_checkpoint import header_of, rewrite_header

SMALL = tiny_config(vocab_size=512)
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@pytest.fixture
def hf(make_checkpoint, tmp_path):
    """A private copy of a small model in the Hugging Face layout only."""
    return shutil.copytree(make_checkpoint(SMALL, layout="hf"), tmp_path / "model")


@pytest.fixture
def original(make_checkpoint, tmp_path):
    """A private copy of a small model in the original layout (one model.safetensors)."""
    return shutil.copytree(make_checkpoint(SMALL, layout="original"), tmp_path / "original-model")


def edit_config(folder, **changes) -> None:
    path = folder / "config.json"
    data = json.loads(path.read_text())
    data.update(changes)
    path.write_text(json.dumps(data))


def refused(path, *words) -> str:
    with pytest.raises(ModelFilesError) as error:
        Checkpoint.open(path)
    message = str(error.value)
    for word in words:
        assert word in message, message
    return message


# ---- sizes -------------------------------------------------------------------------------------------------


def test_a_billion_layers_fails_fast_in_bounded_memory(hf):
    """num_hidden_layers 1e9 without layer_types: refused at once, naming the key and its range."""
    data = json.loads((hf / "config.json").read_text())
    data.pop("layer_types")
    data["num_hidden_layers"] = 1_000_000_000
    (hf / "config.json").write_text(json.dumps(data))
    tracemalloc.start()
    started = time.perf_counter()
    try:
        refused(hf, "num_hidden_layers", "256", "config.json")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert time.perf_counter() - started < 5 and peak < 20_000_000


def test_fewer_layers_in_the_files_than_the_config_says(hf):
    """A config naming more layers than the files hold names the first missing layer before any table."""
    edit_config(hf, num_hidden_layers=200, layer_types=None)
    refused(hf, "200 layers", "layer 2")


# ---- JSON that Python's parser cannot take -----------------------------------------------------------------


DEEP = b"[" * 100_000 + b"]" * 100_000


def test_deep_nesting_in_config_index_and_header(hf, original):
    """A 100,000-deep [[[...]]] as config.json, as the index, or as a safetensors header: ModelFilesError."""
    (hf / "model.safetensors.index.json").write_bytes(DEEP)
    refused(hf, "model.safetensors.index.json", "not valid JSON")
    (hf / "config.json").write_bytes(DEEP)
    refused(hf, "config.json", "not valid JSON")
    file = original / "model.safetensors"
    data = file.read_bytes()
    size = int.from_bytes(data[:8], "little")
    file.write_bytes(len(DEEP).to_bytes(8, "little") + DEEP + data[8 + size :])
    refused(original, "model.safetensors", "not valid JSON")


def test_a_5000_digit_number_under_an_unused_key(hf):
    """Python's digit limit would raise ValueError; the reader refuses long numbers itself."""
    text = (hf / "config.json").read_text().rstrip().rstrip("}") + ', "unused": ' + "7" * 5000 + "}"
    (hf / "config.json").write_text(text)
    refused(hf, "config.json", "5000-digit")


# ---- spans that do not tile the data -----------------------------------------------------------------------


def _shift(name: str, by: int):
    def mutate(header):
        begin, end = header[name]["data_offsets"]
        header[name]["data_offsets"] = [begin + by, end + by]

    return mutate


def test_norm_offsets_shifted_by_two_bytes(original):
    rewrite_header(original / "model.safetensors", _shift("norm.scale", 2))
    refused(original, "model.safetensors", "corrupt")


def test_a_tensor_aliasing_another_overlaps(original):
    """lm_head (unembedding) pointing at the embedding's bytes: the spans overlap, the file is refused."""

    def alias(header):
        header["unembedding.weight"]["data_offsets"] = list(header["embedding.weight"]["data_offsets"])

    rewrite_header(original / "model.safetensors", alias)
    refused(original, "overlaps")


def test_offsets_one_to_385(original):
    """The issue's offsets [1, 385] (a 384-byte tensor one byte in): refused, not non-finite logits."""

    def move(header):
        name = next(n for n, t in header.items() if n != "__metadata__" and t["data_offsets"][0] == 0)
        size = header[name]["data_offsets"][1]
        header[name]["data_offsets"] = [1, 1 + size]

    rewrite_header(original / "model.safetensors", move)
    refused(original, "model.safetensors", "corrupt")


def test_swapped_same_shaped_biases_still_tile(original):
    """Two same-sized tensors with swapped offsets tile the file: only a hash catches that (test_trust)."""

    def swap(header):
        a, b = header["block.0.attn.out.bias"], header["block.1.attn.out.bias"]
        a["data_offsets"], b["data_offsets"] = b["data_offsets"], a["data_offsets"]

    rewrite_header(original / "model.safetensors", swap)
    Checkpoint.open(original).close()


# ---- values outside what gpt-oss can have ------------------------------------------------------------------


@pytest.mark.parametrize(
    "key, text, words",
    [
        ("rope_scaling.factor", "1e400", ("rope_scaling.factor", "inf", "1024")),
        ("rope_theta", "Infinity", ("rope_theta", "inf")),
        ("rms_norm_eps", "1e30", ("rms_norm_eps", "1e+30")),
        ("swiglu_limit", "1e-30", ("swiglu_limit", "1e-30")),
        ("rope_scaling.original_max_position_embeddings", "1", ("original_max_position_embeddings", "256")),
    ],
)
def test_absurd_values_name_the_key_and_range(hf, key, text, words):
    data = json.loads((hf / "config.json").read_text())
    placeholder = "__VALUE__"
    if "." in key:
        outer, inner = key.split(".")
        data[outer][inner] = placeholder
    else:
        data[key] = placeholder
    (hf / "config.json").write_text(json.dumps(data).replace(f'"{placeholder}"', text))
    message = refused(hf, *words)
    assert "gpt-oss model has it from" in message


def test_hf_config_without_truncate_means_the_reference_yarn(hf):
    """A gpt_oss config.json without rope_scaling.truncate rounds nothing, as the reference does."""
    data = json.loads((hf / "config.json").read_text())
    data["rope_scaling"].pop("truncate")
    (hf / "config.json").write_text(json.dumps(data))
    assert ModelConfig.from_json_file(hf / "config.json").rope_truncate is False


# ---- files that are not files ------------------------------------------------------------------------------


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="FIFOs are a POSIX thing")
@pytest.mark.parametrize("name", ["model.safetensors", "config.json"])
def test_a_fifo_named_like_a_model_file_is_refused_without_blocking(original, name):
    (original / name).unlink()
    os.mkfifo(original / name)
    outcome = []
    thread = threading.Thread(target=lambda: outcome.append(_error_of(original)), daemon=True)
    thread.start()
    thread.join(10)
    assert outcome and "not a regular file" in outcome[0], outcome


def _error_of(path) -> str:
    try:
        Checkpoint.open(path)
    except ModelFilesError as error:
        return str(error)
    return "loaded"


# ---- MXFP4 scales the kernels cannot hold ------------------------------------------------------------------


@pytest.mark.parametrize("tensor", ["block.1.mlp.mlp1_weight.scales", "block.0.mlp.mlp2_weight.scales"])
def test_a_scale_byte_of_241_is_refused_at_load_naming_the_tensor(original, tensor):
    file = original / "model.safetensors"
    header, _ = header_of(file)
    size = int.from_bytes(file.read_bytes()[:8], "little")
    begin = header[tensor]["data_offsets"][0]
    with open(file, "r+b") as f:
        f.seek(8 + size + begin + 3)
        f.write(bytes([241]))
    with pytest.raises(ModelFilesError, match="241") as error:
        load_model(original)
    assert tensor in str(error.value)


def test_a_scale_byte_of_240_loads(original):
    """240 is the largest the kernels hold exactly (tests/kernels checks them there): it loads."""
    file = original / "model.safetensors"
    header, _ = header_of(file)
    size = int.from_bytes(file.read_bytes()[:8], "little")
    with open(file, "r+b") as f:
        f.seek(8 + size + header["block.0.mlp.mlp1_weight.scales"]["data_offsets"][0])
        f.write(bytes([240]))
    load_model(original)


# ---- non-finite logits -------------------------------------------------------------------------------------


def test_engine_logits_refuses_non_finite_logits(original, tmp_path):
    """A NaN written over the final norm: `engine logits` writes nothing and says the files may be damaged."""
    file = original / "model.safetensors"
    header, _ = header_of(file)
    size = int.from_bytes(file.read_bytes()[:8], "little")
    begin, end = header["norm.scale"]["data_offsets"]
    with open(file, "r+b") as f:
        f.seek(8 + size + begin)
        f.write(b"\xc0\x7f" * ((end - begin) // 2))  # bf16 NaN
    out = tmp_path / "logits.npy"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "engine",
            "logits",
            "--model",
            str(original),
            "--ids",
            "1,2,3",
            "--out",
            str(out),
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
        check=False,
    )
    assert result.returncode == 1 and not out.exists()
    assert "NaN or infinite logits" in result.stderr and "verify" in result.stderr
    assert "Traceback" not in result.stderr


# ---- the model manager's readers ---------------------------------------------------------------------------


def test_the_model_managers_readers_refuse_deep_json_too(hf, tmp_path):
    """Importing a folder with a deep config or index, and listing a deep manifest: errors or "unreadable"."""
    from engine.hub import ModelStore
    from engine.hub.layout import detect_local

    (hf / "model.safetensors.index.json").write_bytes(DEEP)
    with pytest.raises(ModelFilesError, match="index"):
        detect_local(hf)
    (hf / "config.json").write_bytes(b'{"model_type": ' + b"7" * 5000 + b"}")
    with pytest.raises(ModelFilesError, match="config.json"):
        detect_local(hf)
    store = ModelStore(tmp_path / "models")
    (store.root / "broken").mkdir(parents=True)
    (store.root / "broken" / "manifest.json").write_bytes(DEEP)
    (store.root / "broken" / "model.safetensors").write_bytes(b"x")
    (listed,) = store.list()
    assert listed.status == "incomplete" and "manifest.json" in listed.problems[0]


def test_the_cli_says_what_to_do_about_non_finite_logits(capsys, monkeypatch):
    """However the session words the error (the sampler raises it), the command line adds how to check the
    files; here a command stands in for the sampler, since only the CLI's handling is under test."""
    import engine.__main__ as cli
    from engine.cli import render
    from engine.errors import NonFiniteLogitsError

    def fail(_args):
        raise NonFiniteLogitsError("The model produced NaN logits.")

    monkeypatch.setattr(render, "run", fail)
    assert cli.main(["render", "--messages", "unused.json"]) == 1
    err = capsys.readouterr().err
    assert "error: The model produced NaN logits." in err and "models verify" in err
