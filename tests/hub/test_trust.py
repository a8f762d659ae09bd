"""Bytes that changed after verification: hashed again before a load, corrupt on a mismatch (issue 19)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest

from engine.errors import VerificationError
from engine.hub import CORRUPT, UNVERIFIED, VERIFIED, ModelStore, check_before_load
from engine.hub.manifest import read_manifest
from engine.io.synthetic import tiny_config, write_checkpoint
from tests.hub.conftest import ROOT

SMALL = tiny_config(vocab_size=512, num_hidden_layers=1, layer_types=("full_attention",))


@pytest.fixture(scope="module")
def source(tmp_path_factory):
    return write_checkpoint(tmp_path_factory.mktemp("src") / "tiny", SMALL, layout="hf", num_shards=1)


@pytest.fixture
def imported(source, tmp_path):
    """A model imported (copied) into a fresh models folder: (store, its LocalModel)."""
    store = ModelStore(tmp_path / "models")
    return store, store.import_folder(shutil.copytree(source, tmp_path / "copy"), "tiny")


def _shard(model):
    return next(model.path.glob("*.safetensors"))


def _flip_last_byte(path) -> None:
    with open(path, "r+b") as f:
        f.seek(-1, os.SEEK_END)
        last = f.read(1)
        f.seek(-1, os.SEEK_END)
        f.write(bytes([last[0] ^ 0xFF]))


def test_import_records_each_files_facts(imported):
    store, model = imported
    manifest = read_manifest(model.folder)
    for record in manifest.files:
        info = os.stat(model.folder / record.path)
        assert (record.size, record.mtime_ns, record.inode) == (info.st_size, info.st_mtime_ns, info.st_ino)
    check = check_before_load(model.path, root=store.root)
    assert check.verified and check.rehashed == () and check.note is None


def test_a_flipped_byte_is_hashed_again_and_marks_the_model_corrupt(imported):
    """list shows the change; the load re-hashes with progress, refuses, and says what to do."""
    store, model = imported
    shard = _shard(model)
    _flip_last_byte(shard)
    assert store.get("tiny").status == UNVERIFIED  # same size, but the file changed since it was hashed
    seen = []
    with pytest.raises(VerificationError) as error:
        check_before_load(model.path, progress=seen.append, root=store.root)
    message = str(error.value)
    assert "tiny is corrupt" in message and shard.name in message and "Import it again" in message
    assert seen and seen[-1].phase == "verify" and seen[-1].bytes_done == shard.stat().st_size
    assert store.get("tiny").status == CORRUPT
    with pytest.raises(VerificationError, match="corrupt"):  # and stays refused without hashing again
        check_before_load(model.path, progress=seen.append, root=store.root)


def test_touch_without_change_rehashes_once_and_records_the_new_facts(imported):
    store, model = imported
    shard = _shard(model)
    stat = shard.stat()
    os.utime(shard, ns=(stat.st_atime_ns, stat.st_mtime_ns + 5_000_000_000))
    check = check_before_load(model.path, root=store.root)
    assert check.verified and check.rehashed == (shard.name,)
    record = read_manifest(model.folder).file(shard.name)
    assert record.mtime_ns == shard.stat().st_mtime_ns
    assert store.get("tiny").status == VERIFIED
    assert check_before_load(model.path, root=store.root).rehashed == ()  # quick again


def test_a_manifest_without_facts_is_hashed_once(imported):
    """Models verified before the facts were recorded are hashed at their next load, then are quick."""
    store, model = imported
    manifest_path = model.folder / "manifest.json"
    text = manifest_path.read_text()
    import json

    data = json.loads(text)
    for record in data["files"]:
        record.pop("mtime_ns"), record.pop("inode")
    manifest_path.write_text(json.dumps(data))
    assert store.get("tiny").status == VERIFIED
    assert len(check_before_load(model.path, root=store.root).rehashed) == len(data["files"])
    assert check_before_load(model.path, root=store.root).rehashed == ()


def test_swapped_offsets_that_tile_are_caught_by_the_hash(imported):
    """Two same-sized tensors swapped in a header still tile the file; the re-hash catches them."""
    store, model = imported
    shard = _shard(model)
    data = bytearray(shard.read_bytes())
    a, b = b"model.layers.0.self_attn.k_proj.bias", b"model.layers.0.self_attn.v_proj.bias"
    i, j = data.index(a), data.index(b)
    data[i : i + len(a)], data[j : j + len(b)] = b, a  # same length names: the header's size is unchanged
    shard.write_bytes(bytes(data))
    with pytest.raises(VerificationError, match=shard.name):
        check_before_load(model.path, root=store.root)


def test_a_folder_outside_the_models_folder_is_unverified(source, tmp_path):
    check = check_before_load(source, root=tmp_path / "models")
    assert not check.verified and check.name is None and "unverified" in check.note


def test_cli_says_once_that_an_outside_folder_is_unverified_and_refuses_a_changed_import(
    imported, source, tmp_path
):
    store, model = imported
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "GOSSAMER_DATA_DIR": str(tmp_path),
        "GOSSAMER_CONFIG_DIR": str(tmp_path / "c"),
    }
    out = tmp_path / "l.npy"

    def logits(folder):
        return subprocess.run(
            [
                sys.executable,
                "-m",
                "engine",
                "logits",
                "--model",
                str(folder),
                "--ids",
                "1,2",
                "--out",
                str(out),
            ],
            capture_output=True,
            text=True,
            env=env,
            cwd=ROOT,
            timeout=120,
            check=False,
        )

    outside = logits(source)
    assert outside.returncode == 0, outside.stderr
    assert outside.stderr.count("unverified") == 1
    _flip_last_byte(_shard(model))
    inside = logits(model.path)
    assert inside.returncode == 1 and "is corrupt" in inside.stderr and "Traceback" not in inside.stderr
    assert "verify tiny" in inside.stderr.lower() or "tiny" in inside.stderr


def test_verify_quick_says_it_checks_sizes_only(imported, tmp_path):
    store, _ = imported
    result = subprocess.run(
        [sys.executable, "-m", "engine", "models", "--root", str(store.root), "verify", "tiny", "--quick"],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        cwd=ROOT,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0 and "sizes only" in result.stderr
