"""benchmarks/cpu_glue.py on a tiny checkpoint: one JSON line per round, the kernels named, the token's time
split into kernels and what runs between them. In a subprocess: the script wraps engine functions for good."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def test_glue_benchmark_prints_where_a_token_goes(tiny_model_dir):
    pytest.importorskip("numba")
    from engine import kernels

    if not kernels.cpu_available():
        pytest.skip("GOSSAMER_KERNELS=torch: no numba kernels to time")
    run = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "cpu_glue.py"), "--model", str(tiny_model_dir),
         "--tokens", "3", "--context", "5", "--rounds", "2", "--threads", "1"],
        capture_output=True, text=True, check=False, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)},
    )  # fmt: skip
    assert run.returncode == 0, run.stderr[-2000:]
    rounds = [json.loads(line) for line in run.stdout.splitlines()]
    assert [r["round"] for r in rounds] == [1, 2]
    for r in rounds:
        parts = r["parts"]
        # a decode step's attention half is one call (engine/kernels/cpu_block.py): its kernel and its Python
        want = {"kernel gemv", "kernel moe", "kernel add_rms_norm", "kernel attention_half", "glue moe"}
        assert want | {"glue attention half"} <= set(parts)
        assert all(v >= 0 for v in parts.values())
        assert r["kernels_ms"] + r["outside_kernels_ms"] == pytest.approx(r["token_ms"], abs=0.02)
