"""Shared helpers for the installer tests: paths and a way to run the scripts as a user would."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
DATA = Path(__file__).resolve().parent / "data"


def run_script(
    script: str, *args: str, env: dict[str, str] | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess:
    """Run one of installer/'s scripts with this Python, stdin closed, and capture what it prints."""
    environment = {**os.environ, **(env or {})}
    return subprocess.run(
        [sys.executable, str(REPO / script), *args],
        check=False,
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        env=environment,
        cwd=cwd or REPO,
        timeout=120,
    )


@pytest.fixture
def fake_python(tmp_path: Path) -> Path:
    """A venv whose "python" only records how it was called (arguments, QT_QPA_PLATFORM, cwd)."""
    venv = tmp_path / "venv"
    (venv / "bin").mkdir(parents=True)
    python = venv / "bin" / "python"
    record = tmp_path / "called.txt"
    python.write_text(
        f'#!/bin/sh\nprintf "%s\\n" "$@" > "{record}"\n'
        f'echo "QT_QPA_PLATFORM=$QT_QPA_PLATFORM" >> "{record}"\nexit 7\n'
    )
    python.chmod(0o755)
    return python
