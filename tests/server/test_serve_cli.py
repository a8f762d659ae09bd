"""``python -m engine serve``: the announce line, the key file, a clean stop on SIGTERM, refusals."""

from __future__ import annotations

import os
import re
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

import openai

ROOT = Path(__file__).resolve().parents[2]


def _serve(*args: str, env_extra: dict | None = None) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(ROOT), **(env_extra or {})}
    return subprocess.Popen(
        [sys.executable, "-m", "engine", "serve", *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _first_line(process: subprocess.Popen, seconds: float) -> str:
    """The first line the process prints, waiting at most ``seconds``."""
    ready, _, _ = select.select([process.stdout], [], [], seconds)
    return process.stdout.readline() if ready else ""


def test_serve_announces_itself_keeps_a_key_and_stops_on_sigterm(tiny_model_dir, tmp_path):
    """It prints "Serving MODEL at URL" once it accepts requests, keeps its key owner-only in the config
    folder, answers with that key, and exits 0 on SIGTERM."""
    config = tmp_path / "config"
    process = _serve(
        "--model",
        str(tiny_model_dir),
        "--device",
        "cpu",
        "--port",
        "0",
        "--context",
        "1024",
        env_extra={"GOSSAMER_CONFIG_DIR": str(config)},
    )
    try:
        line = _first_line(process, seconds=120)  # once the server is up (or "" if it died or hung)
        match = re.fullmatch(r"Serving gpt-oss-tiny at (http://127\.0\.0\.1:\d+/v1)\n", line)
        assert match, (line, process.stderr.read() if process.poll() is not None else "")
        key = (config / "api-key").read_text().strip()
        assert (config / "api-key").stat().st_mode & 0o077 == 0
        client = openai.OpenAI(base_url=match.group(1), api_key=key, max_retries=0, timeout=60)
        assert client.models.list().data[0].model_extra["context_length"] == 1024
        process.send_signal(signal.SIGTERM)
        assert process.wait(30) == 0
        assert "api-key" in process.stderr.read()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(10)


def test_binding_beyond_this_computer_needs_a_key(tiny_model_dir):
    """--host 0.0.0.0 without --api-key is refused before anything is loaded."""
    started = time.monotonic()
    process = _serve("--model", str(tiny_model_dir), "--host", "0.0.0.0", "--port", "0")
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 1 and "--api-key" in stderr
    assert time.monotonic() - started < 30
