"""``python -m engine logits`` and ``python -m engine bench``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from engine.__main__ import main
from engine.io.synthetic import tiny_config

ROOT = Path(__file__).resolve().parents[2]
IDS = (
    "200006,1428,200008,13225,11,1495,553,481,30,200007,200006,173781,200005,35644,200008,976,1825,382,4376,"
    "1148,13,3666,314,261,1994,22968"
)  # 26 ids, over three sliding windows of the tiny model


def test_decode_equals_prefill_through_the_command(tiny_model_dir, tmp_path):
    """The real entry point: --mode decode (token by token through the cache) equals --mode prefill."""
    outs = {}
    for mode in ("prefill", "decode"):
        outs[mode] = tmp_path / f"{mode}.npy"
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "engine",
                "logits",
                "--model",
                str(tiny_model_dir),
                "--ids",
                IDS,
                "--out",
                str(outs[mode]),
                "--mode",
                mode,
            ],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=False,
            env=dict(os.environ, OMP_NUM_THREADS="1"),
        )  # see conftest: one thread
        assert done.returncode == 0, done.stderr
    prefill, decode = np.load(outs["prefill"]), np.load(outs["decode"])
    assert prefill.shape == (26, 201088) and prefill.dtype == np.float32
    np.testing.assert_allclose(decode, prefill, atol=0.05, rtol=0)
    assert (decode.argmax(-1) == prefill.argmax(-1)).all()


def test_both_layouts_give_identical_logits(tiny_repo_dir, tmp_path):
    """The HF and original layouts of one seed hold the same numbers, so the logits are bit-identical."""
    a, b = tmp_path / "hf.npy", tmp_path / "original.npy"
    assert main(["logits", "--model", str(tiny_repo_dir), "--ids", IDS, "--out", str(a)]) == 0
    assert (
        main(
            [
                "logits",
                "--model",
                str(tiny_repo_dir / "original"),
                "--ids",
                IDS,
                "--out",
                str(b),
                "--chunk",
                "7",
            ]
        )
        == 0
    )
    assert (
        main(
            [
                "logits",
                "--model",
                str(tiny_repo_dir / "original"),
                "--ids",
                IDS,
                "--out",
                str(tmp_path / "c.npy"),
            ]
        )
        == 0
    )
    np.testing.assert_array_equal(np.load(a), np.load(tmp_path / "c.npy"))
    np.testing.assert_allclose(
        np.load(a), np.load(b), atol=0.05, rtol=0
    )  # other chunking: same up to sum order


@pytest.mark.parametrize(
    "args, words",
    [
        (["--ids", "1,x"], "comma-separated"),
        (["--ids", "1,999999"], "outside the model's vocabulary"),
        (["--device", "cuda:7"], "CUDA"),
    ],
)
def test_logits_errors(tiny_model_dir, tmp_path, capsys, args, words):
    base = ["logits", "--model", str(tiny_model_dir), "--ids", "1,2", "--out", str(tmp_path / "x.npy")]
    assert main(base + args) == 1
    assert words in capsys.readouterr().err


def test_bench_prints_one_json_object(tiny_model_dir, capsys):
    assert main(["bench", "--model", str(tiny_model_dir), "--prompt-tokens", "20", "--gen-tokens", "3"]) == 0
    result = json.loads(capsys.readouterr().out)
    for key in (
        "load_s",
        "prefill_tok_s",
        "decode_tok_s",
        "peak_rss_bytes",
        "device",
        "weights_bytes",
        "layers",
    ):
        assert key in result
    assert result["device"] == "cpu" and result["decode_tok_s"] > 0 and "peak_vram_bytes" not in result
    assert "sampling" not in result and result["cuda_graphs"] is False  # auto: graphs only on CUDA
    # the streamed weights moved into huge pages after loading (engine/runtime/settle.py), or why not
    assert result["huge_pages_bytes"] > 0 or result["huge_pages_not"]


def test_bench_sampling_times_what_the_app_runs_beside_greedy(tiny_model_dir, capsys):
    """--sampling adds, in the same JSON, decoding at temperature 1 and top-p 1 through the session's
    per-token code (draw, one read, parser) with its speed relative to greedy."""
    args = ["bench", "--model", str(tiny_model_dir), "--prompt-tokens", "12", "--gen-tokens", "4"]
    assert main([*args, "--sampling"]) == 0
    result = json.loads(capsys.readouterr().out)
    sampled = result["sampling"]
    assert (sampled["temperature"], sampled["top_p"]) == (1.0, 1.0)
    assert sampled["decode_tok_s"] > 0 and sampled["vs_greedy"] > 0 and result["decode_tok_s"] > 0


def test_bench_compares_with_transformers(make_checkpoint, capsys):
    pytest.importorskip("transformers")
    model_dir = make_checkpoint(tiny_config(vocab_size=512), layout="hf")
    assert (
        main(
            [
                "bench",
                "--model",
                str(model_dir),
                "--prompt-tokens",
                "16",
                "--gen-tokens",
                "3",
                "--compare-transformers",
                "--threads",
                "1",
            ]
        )
        == 0
    )
    result = json.loads(capsys.readouterr().out)
    assert result["threads"] == 1 and result["transformers"]["decode_tok_s"] > 0
    assert result["decode_speedup_vs_transformers"] > 0


def test_top_k_reaches_the_generation_settings():
    """--top-k on generate and chat becomes GenerationSettings.top_k; a negative one is a clear error."""
    import argparse

    from engine.cli._model_args import add_sampling_arguments, settings_from
    from engine.errors import EngineError

    parser = argparse.ArgumentParser()
    add_sampling_arguments(parser)
    assert settings_from(parser.parse_args(["--top-k", "40"])).top_k == 40
    assert settings_from(parser.parse_args([])).top_k == 0
    with pytest.raises(EngineError, match="top_k"):
        settings_from(parser.parse_args(["--top-k", "-1"]))
