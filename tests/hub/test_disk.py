"""A full disk: refused before the first byte when the space is clearly missing; a clear error when it runs
out mid-file (a real tmpfs, or a real file-size limit); never a model marked verified that is not."""

from __future__ import annotations

import hashlib
import resource
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from engine.errors import DownloadError
from engine.hub import INCOMPLETE, ModelStore
from tests.hub.conftest import NAME, SHARD, part_size, tiny_repo, wait_for


@pytest.fixture
def small_disk(tmp_path):
    """Mount a tmpfs of the given size (needs root; skipped otherwise) and unmount it afterwards."""
    mounts = []

    def mount(size_bytes: int) -> Path:
        where = tmp_path / f"disk{len(mounts)}"
        where.mkdir()
        done = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", f"size={size_bytes}", "tmpfs", str(where)], capture_output=True
        )
        if done.returncode != 0:
            pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode().strip()}")
        mounts.append(where)
        return where

    yield mount
    for where in mounts:
        subprocess.run(["umount", "-l", str(where)], capture_output=True)


def test_not_enough_space_is_refused_before_downloading(hub, small_disk):
    """Less free space than the model needs: a message with both numbers, and nothing fetched or kept."""
    store = ModelStore(small_disk(64 * 1024) / "models", retries=1, backoff_s=0.01)
    with pytest.raises(DownloadError, match=r"needs 1\d\d\.\d kB more and .* has 6\d\.\d kB free"):
        store.download(NAME)
    assert not hub.requests("GET", "/cdn/")
    assert store.list() == []


def test_disk_filling_up_mid_file(hub, small_disk):
    """The disk fills up mid-shard: a clear error, not verified; once space is freed it resumes."""
    disk = small_disk(400 * 1024)
    store = ModelStore(disk / "models", retries=1, backoff_s=0.01)
    hub.delay_s[SHARD] = 0.01
    filler = disk / "filler"

    def fill_when_the_shard_starts():
        wait_for(lambda: part_size(store) > 0)
        try:
            with open(filler, "wb", buffering=0) as f:
                while True:
                    f.write(bytes(4096))
        except OSError:
            pass  # full

    thread = threading.Thread(target=fill_when_the_shard_starts, daemon=True)
    thread.start()
    with pytest.raises(DownloadError, match="disk is full"):
        store.download(NAME)
    thread.join(5)
    model = store.get(NAME)
    assert model.status == INCOMPLETE and not model.verified
    filler.unlink()
    hub.delay_s.clear()
    assert store.download(NAME).verified


def _limit_file_size():
    resource.setrlimit(resource.RLIMIT_FSIZE, (30_000, 30_000))  # Python ignores SIGXFSZ: writes get EFBIG


def test_file_size_limit_in_the_cli(hub, store, subprocess_env):
    """`models download` under a 30 kB file-size limit exits 1 naming the problem; a later run resumes."""
    done = subprocess.run(
        [sys.executable, "-m", "engine", "models", "--root", str(store.root), "download", NAME],
        env=subprocess_env,
        capture_output=True,
        text=True,
        timeout=60,
        preexec_fn=_limit_file_size,
    )
    assert done.returncode == 1
    assert "disk is full" in done.stderr and "File too large" in done.stderr
    first = "model-00000-of-00002.safetensors"
    assert part_size(store, first) == 30_000 and not store.get(NAME).verified
    assert store.download(NAME).verified
    blob = "/cdn/" + hashlib.sha256(tiny_repo()[first]).hexdigest()
    assert hub.requests("GET", blob)[-1].range == "bytes=30000-"
