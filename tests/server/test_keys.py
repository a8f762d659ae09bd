"""The API key file: made once, owner-only, reused."""

from __future__ import annotations

import os
import stat

import pytest

from engine.server import keys


@pytest.mark.skipif(os.name != "posix", reason="file modes are POSIX")
def test_a_new_key_is_kept_readable_by_its_owner_only(tmp_path):
    """The key is written with mode 0600 and read back the same next time."""
    path = tmp_path / "config" / "api-key"
    key = keys.load_or_create_key(path)
    assert key.startswith(keys.PREFIX) and len(key) > 30
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert keys.load_or_create_key(path) == key


@pytest.mark.skipif(os.name != "posix", reason="file modes are POSIX")
def test_a_key_file_others_can_read_is_made_private(tmp_path):
    """A key file left readable by others is set back to 0600 when read."""
    path = tmp_path / "api-key"
    path.write_text("gsm-mine\n")
    path.chmod(0o644)
    assert keys.load_or_create_key(path) == "gsm-mine"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_the_default_place_is_the_user_config_folder():
    """Without a path the key lives in user_config_dir()."""
    from engine.paths import user_config_dir

    assert keys.key_path().parent == user_config_dir()
