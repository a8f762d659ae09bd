"""benchmarks/hybrid_bench.py runs end to end on the CPU with a tiny model (its dry run), so the GPU call
cannot fail on a silly bug: one line per budget and mode, the modes' counters as they should be."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from engine.kernels import cpu_available
from tests.offload.test_gpu_bench import bench

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "hybrid_bench.py"


@pytest.mark.slow
@pytest.mark.skipif(not cpu_available(), reason="the CPU kernels need numba")
def test_hybrid_bench_dry_run_on_cpu(tmp_path):
    """Two simulated budgets x copy, auto, cpu: every line has its speed and cpu_expert_fraction; copy and
    auto (unmeasured on the CPU device) compute nothing on the CPU, cpu does; the same greedy tokens."""
    out = tmp_path / "hybrid.jsonl"
    lines = bench(tmp_path, "--gen-tokens", "3", "--out", str(out), script=SCRIPT)[1:]
    assert [line["mode"] for line in lines] == ["copy", "auto", "cpu"] * 2
    for line in lines:
        assert line["decode_tok_s"] > 0 and "GPU (simulated)" in line["plan"]
        assert (line["cpu_expert_fraction"] > 0) == (line["mode"] == "cpu")
        assert line["same_tokens_as_first"] in (None, 3)
    assert [json.loads(line) for line in out.read_text().splitlines()] == lines
