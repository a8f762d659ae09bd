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
