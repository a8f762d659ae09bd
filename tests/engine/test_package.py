"""Importing ``engine`` sets up CUDA's allocator before torch can read the setting, and imports nothing heavy."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PROBE = (
    "import json, os, sys; import engine; "
    "print(json.dumps({k: os.environ.get(k) for k in ('PYTORCH_CUDA_ALLOC_CONF', 'PYTORCH_ALLOC_CONF')} "
    "| {'torch': 'torch' in sys.modules}))"
)


def _probe(**env: str) -> dict:
    clean = {
        k: v for k, v in os.environ.items() if k not in ("PYTORCH_CUDA_ALLOC_CONF", "PYTORCH_ALLOC_CONF")
    }
    done = subprocess.run(
        [sys.executable, "-c", PROBE],
        cwd=ROOT,
        env={**clean, **env},
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(done.stdout)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="expandable segments exist on Linux only")
def test_import_sets_expandable_segments_without_importing_torch():
    """A plain ``import engine`` asks for expandable segments and leaves torch unimported."""
    seen = _probe()
    assert seen == {
        "PYTORCH_CUDA_ALLOC_CONF": "expandable_segments:True",
        "PYTORCH_ALLOC_CONF": None,
        "torch": False,
    }


@pytest.mark.parametrize("name", ["PYTORCH_CUDA_ALLOC_CONF", "PYTORCH_ALLOC_CONF"])
def test_a_users_allocator_setting_wins(name):
    """Either of torch's variables set by the user is left alone, and the other one is not added."""
    seen = _probe(**{name: "max_split_size_mb:128"})
    assert seen[name] == "max_split_size_mb:128"
    other = "PYTORCH_ALLOC_CONF" if name == "PYTORCH_CUDA_ALLOC_CONF" else "PYTORCH_CUDA_ALLOC_CONF"
    assert seen[other] is None
