"""The set-up stamp: what the bootstrap installed into the venv, so a second run can skip straight to work."""

from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path

STAMP_NAME = "gossamer-setup.json"
# Bump when the install steps change so that venvs set up by an older bootstrap must be set up again.
RULES_VERSION = 3  # 3: triton-windows beside a CUDA torch on Windows


def pyproject_digest(repo: Path) -> str:
    return hashlib.sha256((repo / "pyproject.toml").read_bytes()).hexdigest()


def desired(repo: Path, extras: list[str], torch_variant: str) -> dict:
    return {
        "rules": RULES_VERSION,
        "pyproject_sha256": pyproject_digest(repo),
        "extras": sorted(set(extras)),
        "torch_variant": torch_variant,
    }


def read(venv: Path) -> dict | None:
    try:
        data = json.loads((venv / STAMP_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def write(venv: Path, state: dict, **extra: object) -> None:
    record = {**state, **extra, "written_at": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
    (venv / STAMP_NAME).write_text(json.dumps(record, indent=2, sort_keys=True) + "\n", encoding="utf-8")


def outdated(stamp: dict | None, state: dict) -> str | None:
    """Why the venv must be set up (again), or None when the stamp covers ``state``."""
    if stamp is None:
        return "not set up yet"
    if stamp.get("rules") != state["rules"]:
        return "the bootstrap's install steps changed"
    if stamp.get("pyproject_sha256") != state["pyproject_sha256"]:
        return "pyproject.toml changed"
    if stamp.get("torch_variant") != state["torch_variant"]:
        return f"the torch build changes from {stamp.get('torch_variant')} to {state['torch_variant']}"
    missing = sorted(set(state["extras"]) - set(stamp.get("extras", [])))
    if missing:
        return f"the extra {', '.join(missing)} is not installed yet"
    return None
