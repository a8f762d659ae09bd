"""benchmarks/bench_fused.py, the prepared GPU comparison of the fused kernels, runs end to end on the CPU
(BENCH_SMOKE=1 under Triton's interpreter, toy shapes), so the one GPU call cannot fail on a silly bug."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def test_bench_fused_smoke_run():
    """Every case reports a time and a small error against its torch reference; none fails."""
    pytest.importorskip("triton")
    env = dict(os.environ, BENCH_SMOKE="1", TRITON_INTERPRET="1", PYTHONPATH=str(ROOT))
    done = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "bench_fused.py")],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    rows = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    assert done.returncode == 0, done.stderr[-2000:]
    assert [r for r in rows if "error" in r] == []
    cases = {r["case"] for r in rows}
    assert {"add_rms_norm", "router", "rope_kv_write", "decode_attention", "prefill_attention"} <= cases
    assert all(r["rel_err"] < 2e-2 for r in rows if "rel_err" in r)
