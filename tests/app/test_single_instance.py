"""One app per profile, with two real processes: a second launch hands its --model to the first and exits."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TIMEOUT_S = 120

# The real app.__main__.main(), with a spy on bring_forward; prints "ready" once the window has painted and
# "activated <model> <visible>" when a second launch hands over, then quits.
FIRST = """
import sys
import app.__main__ as m
from PySide6.QtWidgets import QApplication

make_window, forward = m.create_window, m.bring_forward

def create_window(settings, model_path=None):
    window = make_window(settings, model_path)
    window.first_painted.connect(lambda *_: print("ready", flush=True))
    return window

def bring_forward(window, model):
    forward(window, model)
    loading = window.engine.loading_path if window.engine.loading else None
    print("activated", model, window.isVisible(), loading, flush=True)
    QApplication.instance().quit()

m.create_window, m.bring_forward = create_window, bring_forward
sys.exit(m.main(sys.argv))
"""


@pytest.fixture
def env(tmp_path):
    return {
        **os.environ,
        "GOSSAMER_DATA_DIR": str(tmp_path / "data"),
        "GOSSAMER_CONFIG_DIR": str(tmp_path / "config"),
        "QT_QPA_PLATFORM": "offscreen",
        "PYTHONPATH": str(ROOT),
    }


def start_first(env) -> subprocess.Popen:
    first = subprocess.Popen(
        [sys.executable, "-c", FIRST],
        env=env,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + TIMEOUT_S
    while time.monotonic() < deadline:
        line = first.stdout.readline()
        if line.startswith("ready"):
            return first
        if not line and first.poll() is not None:
            break
    first.kill()
    raise AssertionError(f"the first instance did not start: {first.stderr.read()}")


def test_a_second_launch_hands_its_model_to_the_first_and_exits(env, tiny_model_dir):
    first = start_first(env)
    try:
        second = subprocess.run(
            [sys.executable, "-m", "app", "--model", str(tiny_model_dir)],
            env=env,
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=TIMEOUT_S,
            check=False,
        )
        assert second.returncode == 0, second.stderr
        out, err = first.communicate(timeout=TIMEOUT_S)
    finally:
        if first.poll() is None:
            first.kill()
    activated = next(line for line in out.splitlines() if line.startswith("activated")).split()
    model = str(Path(tiny_model_dir).resolve())
    assert activated == ["activated", model, "True", model], out + err


def test_a_crashed_first_instance_does_not_block_the_next(env):
    """The lock of a process killed outright is taken over: the next launch runs."""
    first = start_first(env)
    first.kill()
    first.wait(TIMEOUT_S)
    again = start_first(env)  # "ready": it took the profile
    again.kill()
    again.wait(TIMEOUT_S)
