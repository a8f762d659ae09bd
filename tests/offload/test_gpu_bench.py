"""benchmarks/gpu_bench.py runs end to end on the CPU with a tiny model, so its one GPU run cannot fail on a
silly bug: every case prints one JSON line with the plan and the offload numbers, then a summary."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "gpu_bench.py"


def bench(tmp_path, *options: str, script: Path = SCRIPT) -> list[dict]:
    """Run ``script`` (gpu_bench, or another benchmark taking its model options) on the tiny model on the CPU
    with ``options``; -> its JSON lines (it must succeed)."""
    args = [
        sys.executable,
        str(script),
        "--tiny",
        "--device",
        "cpu",
        "--checkpoint-dir",
        str(tmp_path / "ckpt"),
    ]
    run = subprocess.run([*args, *options], check=False, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr[-3000:]
    return [json.loads(line) for line in run.stdout.splitlines()]


@pytest.mark.slow
def test_gpu_bench_dry_run_on_cpu(tmp_path):
    """Tiny model, two contexts, three budgets plus the skewed-routing cases: all run, offloaded ones copy
    experts, every offloaded case's logits match the no-offload case's, the JSON file holds the same lines."""
    out = tmp_path / "bench.jsonl"
    lines = bench(
        tmp_path,
        *("--contexts", "40,72", "--prefill-tokens", "20", "--decode-tokens", "3", "--check-tokens", "2"),
        *("--skewed", "--deadline", "300", "--out", str(out)),
    )
    assert lines == [json.loads(line) for line in out.read_text().splitlines()]
    assert lines[0]["event"] == "start" and lines[1]["event"] == "loaded" and lines[-1]["event"] == "summary"
    cases = [r for r in lines if "case" in r]
    assert len(cases) == 9 and not any("skipped" in r for r in cases)
    for r in cases:
        assert r["decode_tokens"] == 3 and r["decode_tok_s"] > 0 and r["prefill_tok_s"] > 0
        assert r["kv_filled"] == r["context"] - 20 - 3 - 2
        assert {"plan", "expert_hit_rate", "h2d_bytes_per_token", "num_slots", "offloaded_layers"} <= set(r)
        if r["budget"] == "all":
            assert r["offloaded_layers"] == 0 and r["h2d_bytes_per_token"] == 0
        else:
            assert r["offloaded_layers"] > 0 and r["prefill_h2d_bytes"] > 0
            assert r["check_max_abs_diff"] == 0.0 and r["check_argmax_agree"] == "2/2"
            assert "layers in RAM" in r["plan"]
    assert sum("synthetic skew" in r["routing"] for r in cases) == 3
    assert "decode_ratio_min@40" in lines[-1]


@pytest.mark.slow
def test_gpu_bench_dry_run_with_decode_graphs(tmp_path):
    """--cuda-graphs on: every case decodes through graphs (a stand-in capture on the CPU), one segment more
    than it offloads layers, nothing captured while timed, and the same logits as without offload."""
    lines = bench(
        tmp_path,
        *("--contexts", "40", "--prefill-tokens", "20", "--decode-tokens", "3", "--check-tokens", "2"),
        *("--cuda-graphs", "on"),
    )
    cases = [r for r in lines if "case" in r]
    assert lines[0]["cuda_graphs"] == "on" and len(cases) == 3 and not any("skipped" in r for r in cases)
    for r in cases:
        assert r["cuda_graphs"] is True and r["cuda_graphs_failed"] is None, r
        assert r["graphs_captured_in_timed_run"] == 0
        assert r["graph_segments"] == r["offloaded_layers"] + 1
        if r["budget"] != "all":
            assert r["check_max_abs_diff"] == 0.0 and r["check_argmax_agree"] == "2/2"


def test_gpu_bench_skips_cases_past_the_deadline(tmp_path):
    """With no time left every case is skipped, each with a line saying so, and the summary still comes."""
    lines = bench(tmp_path, "--contexts", "40", "--budgets", "all,min", "--deadline", "0")
    assert [r.get("skipped", "")[-12:] for r in lines if "case" in r] == ["the deadline"] * 2
    assert lines[-1] == {
        "event": "summary",
        "total_s": lines[-1]["total_s"],
        "cases": 0,
        "routing_note": lines[-1]["routing_note"],
    }


@pytest.mark.slow
def test_gpu_bench_dry_run_of_the_issue_13_matrix(tmp_path):
    """The one-call GPU run's options (graphs off and on, a kernel mode each case, the app's sampled decode
    beside greedy) run every case on the CPU, each with its sampled speed and bytes per token, and the
    summary compares graphs on with off and sampled with greedy."""
    lines = bench(
        tmp_path,
        *("--contexts", "40", "--budgets", "all", "--prefill-tokens", "16", "--decode-tokens", "2"),
        *("--check-tokens", "1", "--cuda-graphs", "on,off", "--kernels", "torch", "--sampling"),
    )
    cases = [r for r in lines if "case" in r]
    assert [r["case"] for r in cases] == ["all@40/torch/graphs-on", "all@40/torch/graphs-off"]
    for r in cases:
        assert r["decode_tokens"] == 2 and r["sampled_decode_tok_s"] > 0 and r["sampled_parser"] is True
        assert r["bytes_per_token"] > 0 and r["kernels"] == "torch" and r["fused_kernels"] is False
        assert r["kv_filled"] == 40 - 16 - 2 - 2 - 1
    summary = lines[-1]
    assert {"graphs_on_vs_off@40/torch/on", "sampled_vs_greedy@40/torch/on", "best@40"} <= set(summary)
