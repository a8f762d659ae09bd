"""Verification after the fact: a cheap size check at start-up, a full re-hash on demand, and the CLI."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from engine.errors import DownloadError, ModelFilesError, VerificationError
from engine.hub import CORRUPT, INCOMPLETE, UNVERIFIED, VERIFIED
from tests.hub.conftest import NAME, SHARD


def _flip_a_byte(path) -> None:
    data = bytearray(path.read_bytes())
    data[-1] ^= 0xFF
    path.write_bytes(bytes(data))


def test_full_verify_names_a_corrupt_file_and_the_next_download_refetches_it(hub, store):
    """A flipped byte passes the size check but not the hash; the file is named, deleted, refetched."""
    model = store.download(NAME)
    _flip_a_byte(model.folder / SHARD)
    listed = store.get(NAME)  # the size is right, but the file changed since it was hashed
    assert listed.status == UNVERIFIED and any(SHARD in p and "changed" in p for p in listed.problems)
    with pytest.raises(VerificationError, match=SHARD) as error:
        store.verify(NAME)
    assert "download" in str(error.value)
    assert store.get(NAME).status == CORRUPT and not (model.folder / SHARD).exists()
    hub.log.clear()
    assert store.download(NAME).verified
    assert len(hub.requests("GET", "/cdn/")) == 1


def test_quick_check_sees_a_truncated_file(hub, store):
    """A file that shrank shows as corrupt in list() and fails verify(full=False), by name."""
    model = store.download(NAME)
    path = model.folder / SHARD
    path.write_bytes(path.read_bytes()[:1000])
    listed = store.get(NAME)
    assert listed.status == CORRUPT and any(SHARD in p for p in listed.problems)
    with pytest.raises(VerificationError, match=SHARD):
        store.verify(NAME, full=False)


def test_verify_of_an_unfinished_download_says_to_finish_it(hub, store):
    """Verifying a download that never finished says so instead of listing every missing file as bad."""
    hub.statuses[SHARD] = [503] * 10
    with pytest.raises(DownloadError):
        store.download(NAME)
    assert store.get(NAME).status == INCOMPLETE
    with pytest.raises(ModelFilesError, match="not completely downloaded"):
        store.verify(NAME)


def test_unverified_model_becomes_verified_by_a_full_check(hub, store):
    """All files there but the manifest not marked (a crash at the last step): unverified until re-hashed."""
    model = store.download(NAME)
    manifest_path = model.folder / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    manifest["verified_at"] = None
    manifest["files"][-1]["verified"] = False
    manifest_path.write_text(json.dumps(manifest))
    assert store.get(NAME).status == UNVERIFIED
    assert store.verify(NAME).status == VERIFIED


def _cli(env, root, *args) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "engine", "models", "--root", str(root), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_cli_exit_codes_follow_the_outcome(hub, store, subprocess_env):
    """download and verify exit 0 when verified; verify exits 1 naming the file when a hash fails."""
    done = _cli(subprocess_env, store.root, "download", NAME)
    assert done.returncode == 0, done.stderr
    assert "verified" in done.stdout and "ETA" in done.stderr  # the progress bar went to stderr
    assert _cli(subprocess_env, store.root, "verify", NAME).returncode == 0
    _flip_a_byte(store.root / NAME / SHARD)
    done = _cli(subprocess_env, store.root, "verify", NAME)
    assert done.returncode == 1 and SHARD in done.stderr
    listed = json.loads(_cli(subprocess_env, store.root, "list", "--json", "--no-fit").stdout)
    assert [(m["name"], m["status"]) for m in listed["models"]] == [(NAME, CORRUPT)]
    assert [e["name"] for e in listed["available"]] == ["gpt-oss-120b"]


def test_cli_download_that_does_not_verify_exits_nonzero(hub, store, subprocess_env):
    """A download whose bytes fail the hash exits 1 and names the file."""
    hub.corrupt.add(SHARD)
    done = _cli(subprocess_env, store.root, "download", NAME)
    assert done.returncode == 1 and SHARD in done.stderr and "sha256" in done.stderr
