"""Loading maps the weights instead of copying them: resident memory grows by the weights' size, once."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from engine.io.synthetic import tiny_config

ROOT = Path(__file__).resolve().parents[2]
# about 210 MB: mostly the two 201088 x 256 bf16 embeddings, and 64 packed experts
CFG = tiny_config(
    hidden_size=256,
    intermediate_size=256,
    num_hidden_layers=4,
    num_experts=16,
    experts_per_token=4,
    head_dim=64,
    num_attention_heads=4,
    num_key_value_heads=2,
    sliding_window=32,
)


def test_peak_rss_of_loading_and_using(make_checkpoint):
    """Peak RSS after loading and reading every weight page stays within 1.2x the weights' bytes."""
    model_dir = make_checkpoint(CFG, layout="hf")
    done = subprocess.run(
        [sys.executable, "-m", "tests.engine.rss_probe", str(model_dir)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        env=dict(os.environ, OMP_NUM_THREADS="1"),
    )
    result = json.loads(done.stdout)
    assert result["weights_bytes"] > 200e6
    assert result["load_ratio"] < 0.2  # mapped, not read: pages come in when used
    assert result["use_ratio"] <= 1.2, result
