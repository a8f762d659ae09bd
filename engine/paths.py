"""Where things live on disk: the bundled resources and the per-user data folders."""

from __future__ import annotations

import os
from pathlib import Path

APP_NAME = "Gossamer"
APP_AUTHOR = "Gossamer"

RESOURCES_DIR = Path(__file__).resolve().parent.parent / "resources"


def user_data_dir() -> Path:
    """Per-user data folder (models, chats, logs); ``GOSSAMER_DATA_DIR`` overrides it (tests, portable use)."""
    override = os.environ.get("GOSSAMER_DATA_DIR")
    if override:
        return Path(override)
    import platformdirs

    return Path(platformdirs.user_data_dir(APP_NAME, APP_AUTHOR))


def user_config_dir() -> Path:
    """Per-user settings folder; ``GOSSAMER_CONFIG_DIR`` overrides it."""
    override = os.environ.get("GOSSAMER_CONFIG_DIR")
    if override:
        return Path(override)
    import platformdirs

    return Path(platformdirs.user_config_dir(APP_NAME, APP_AUTHOR))
