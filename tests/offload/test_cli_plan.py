"""``python -m engine plan``: from a preset, a model folder or a config.json; text or JSON; exit 1 when it
does not fit or the input is wrong."""

from __future__ import annotations

import json

import pytest

from engine.__main__ import main


def run(capsys, *args: str) -> tuple[int, str, str]:
    code = main(["plan", *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_preset_12gib_32k(capsys):
    """The issue's example prints a one-line summary, then the breakdown."""
    code, out, _ = run(capsys, "--preset", "gpt-oss-20b", "--vram", "12GiB", "--context", "32768")
    lines = out.splitlines()
    assert code == 0
    assert lines[0].startswith("GPU 11.") and "layers in RAM" in lines[0]
    assert lines[1].startswith("gpt-oss-20b on cuda: budget 12.00 GiB (user), context 32768 tokens")
    assert any(line.strip().startswith("KV cache") for line in lines)


def test_json_from_a_model_folder(capsys, offload_model_dir):
    """--model reads the folder's config; --json prints one object with the same summary."""
    code, out, _ = run(
        capsys,
        "--model",
        str(offload_model_dir),
        "--vram",
        "50MB",
        "--context",
        "64",
        "--device",
        "cpu",
        "--json",
    )
    data = json.loads(out)
    assert code == 0 and data["model"] == "offload-tiny" and data["context_length"] == 64
    assert data["budget_bytes"] == 50_000_000 and data["total_device_bytes"] <= 50_000_000


def test_config_file(capsys, offload_model_dir):
    """--config plans a model that is not on disk, from its config.json alone."""
    code, out, _ = run(capsys, "--config", str(offload_model_dir / "config.json"), "--context", "128")
    assert code == 0 and "everything on the GPU" in out.splitlines()[0]


def test_too_small_exits_1_and_says_what_fits(capsys):
    """A budget nothing fits in: exit status 1, the summary says so, describe() says what context would fit."""
    code, out, _ = run(capsys, "--preset", "gpt-oss-20b", "--vram", "4GiB", "--context", "32768")
    assert code == 1 and out.startswith("Does not fit") and "the context can be at most" in out


@pytest.mark.parametrize(
    "args, words",
    [
        (["--vram", "12 parsecs"], "--vram"),
        (["--vram", "auto"], "needs a CUDA GPU"),
        (["--context", "0"], "--context"),
    ],
)
def test_bad_input_is_one_clear_line(capsys, args, words):
    """Wrong sizes, 'auto' without CUDA and empty contexts end with one 'error:' line and status 1."""
    code, _, err = run(capsys, "--preset", "gpt-oss-20b", *args)
    assert code == 1 and err.startswith("error: ") and words in err
