"""Test-wide isolation: every test run gets its own data and config folders, and Qt draws offscreen."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

_ROOT = Path(tempfile.mkdtemp(prefix="gossamer-tests-"))
os.environ["GOSSAMER_DATA_DIR"] = str(_ROOT / "data")
os.environ["GOSSAMER_CONFIG_DIR"] = str(_ROOT / "config")
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
# openai-harmony (a test oracle) reads the ranks from here instead of the network.
os.environ["TIKTOKEN_ENCODINGS_BASE"] = str(Path(__file__).resolve().parent.parent / "resources")
# Nothing in the tests may reach Hugging Face; hub tests point HF_ENDPOINT at a loopback server.
os.environ["HF_HUB_DISABLE_TELEMETRY"] = "1"


# ---- Tiny random gpt-oss checkpoints (engine.io.synthetic), written once per test run -----------------------
import pytest


@pytest.fixture(autouse=True)
def _seeded_randomness():
    """Every test starts from torch's same random state, so a failure reproduces on the next run (the
    random module is left to hypothesis, which seeds and reports its own examples)."""
    import torch

    torch.manual_seed(0)


@pytest.fixture(scope="session")
def tiny_repo_dir(tmp_path_factory):
    """A repo root like the Hub's: Hugging Face layout at the top, the same numbers again in original/."""
    from engine.io.synthetic import tiny_config, write_checkpoint

    return write_checkpoint(
        tmp_path_factory.mktemp("models") / "gpt-oss-tiny-repo", tiny_config(), layout="both"
    )


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory):
    """A tiny gpt-oss model folder in the Hugging Face layout only (real vocabulary, 2 layers)."""
    from engine.io.synthetic import tiny_config, write_checkpoint

    return write_checkpoint(tmp_path_factory.mktemp("models") / "gpt-oss-tiny", tiny_config(), layout="hf")


@pytest.fixture(scope="session")
def tiny_original_dir(tiny_repo_dir):
    """The same tiny model in the original layout (an ``original/`` folder on its own)."""
    return tiny_repo_dir / "original"


@pytest.fixture(scope="session")
def tiny_model(tiny_model_dir):
    """The tiny model loaded on the CPU (shared: make a new cache per use, never change the model)."""
    from engine.runtime.loader import load_model

    return load_model(tiny_model_dir, device="cpu")
