"""Managing models on disk: remove (refused while loaded), import (copy or in place), move the folder."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from engine.errors import ModelFilesError, ModelInUseError, UnsupportedModelError
from engine.hub import VERIFIED, ModelStore, in_use
from engine.hub.store import default_root
from tests.hub.conftest import HF_FILES, ROOT, hf_config, safetensors_bytes, tiny_repo


def _write_model(folder, files: dict[str, bytes]):
    for path, data in files.items():
        (folder / path).parent.mkdir(parents=True, exist_ok=True)
        (folder / path).write_bytes(data)
    return folder


@pytest.fixture
def local_model(tmp_path):
    """A gpt-oss folder on disk in the Hugging Face layout (with original/ beside it, which import skips)."""
    files = tiny_repo(shard_bytes=4000)
    return _write_model(
        tmp_path / "my-gpt-oss", {k: v for k, v in files.items() if not k.startswith("metal/")}
    )


def test_import_copies_one_layout_and_verifies(store, local_model):
    """A copy import takes the HF layout only, hashes while copying, and leaves the source alone."""
    model = store.import_folder(local_model)
    assert model.verified and model.source == "import" and model.name == "my-gpt-oss" and model.layout == "hf"
    copied = sorted(p.relative_to(model.folder).as_posix() for p in model.folder.rglob("*") if p.is_file())
    assert copied == sorted([*HF_FILES, "manifest.json"])
    manifest = json.loads((model.folder / "manifest.json").read_text())
    assert all(len(f["sha256"]) == 64 for f in manifest["files"])
    assert store.verify(model.name).verified
    assert (local_model / "original" / "model.safetensors").exists()


def test_import_in_place_registers_without_copying_and_remove_only_forgets(store, local_model):
    """In place: the manifest lives in the models folder, the path is the user's; rm leaves the files."""
    model = store.import_folder(local_model, name="mine", copy=False)
    assert model.verified and model.path == local_model.resolve() and model.source == "in_place"
    assert [p.name for p in model.folder.iterdir()] == ["manifest.json"]
    assert store.open_folder("mine") == local_model.resolve()
    store.remove("mine")
    assert (local_model / "config.json").exists() and store.list() == []


def test_import_names_the_model_after_its_folder(store, tmp_path):
    """A folder name with spaces becomes a usable model name; a second import of it gets another name."""
    files = {k: v for k, v in tiny_repo(shard_bytes=1000).items() if k in HF_FILES}
    folder = _write_model(tmp_path / "My GPT oss!", files)
    assert store.import_folder(folder, copy=False).name == "My-GPT-oss"
    assert store.import_folder(folder, copy=False).name == "local--My-GPT-oss"


def test_import_flat_original_layout(store, tmp_path):
    """An original-layout folder without original/ (config.json + model.safetensors) imports as original."""
    files = tiny_repo(shard_bytes=2000)
    folder = _write_model(
        tmp_path / "orig",
        {
            "config.json": files["original/config.json"],
            "model.safetensors": files["original/model.safetensors"],
        },
    )
    model = store.import_folder(folder)
    assert model.verified and model.layout == "original" and model.path == model.folder


@pytest.mark.parametrize(
    "damage, error, words",
    [
        ("llama", UnsupportedModelError, "not a gpt-oss model"),
        ("missing-shard", ModelFilesError, "model-00002-of-00002.safetensors"),
        ("truncated", ModelFilesError, "truncated"),
        ("empty", ModelFilesError, "no gpt-oss checkpoint"),
    ],
)
def test_import_refuses_a_bad_folder(store, local_model, damage, error, words):
    """Import checks the config is gpt-oss, every indexed shard is there, and safetensors headers fit."""
    if damage == "llama":
        (local_model / "config.json").write_text(json.dumps({"model_type": "llama"}))
    elif damage == "missing-shard":
        (local_model / "model-00002-of-00002.safetensors").unlink()
    elif damage == "truncated":
        shard = local_model / "model-00001-of-00002.safetensors"
        shard.write_bytes(shard.read_bytes()[:-10])
    else:
        for p in sorted(local_model.rglob("*"), reverse=True):
            p.unlink() if p.is_file() else p.rmdir()
    with pytest.raises(error, match=words):
        store.import_folder(local_model)
    assert store.list() == []


def test_remove_frees_the_space(store, local_model):
    """rm deletes the model's folder."""
    model = store.import_folder(local_model)
    store.remove(model.name)
    assert not model.folder.exists() and store.list() == []


def test_remove_refuses_while_the_model_is_loaded(store, local_model):
    """While the loader holds the model (this process or another), rm raises ModelInUseError."""
    model = store.import_folder(local_model)
    with in_use.hold(model.path):
        assert in_use.is_in_use(model.path)
        with pytest.raises(ModelInUseError, match="loaded"):
            store.remove(model.name)
    assert not in_use.is_in_use(model.path)
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; from engine.hub import in_use; h = in_use.acquire(sys.argv[1]);"
            " print('held', flush=True); time.sleep(60)",
            str(model.path),
        ],
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        assert in_use.is_in_use(model.path)
        with pytest.raises(ModelInUseError):
            store.remove(model.name)
    finally:
        holder.kill()
        holder.wait()
    store.remove(model.name)  # the dead holder's lock went with it
    assert store.list() == []


def test_hold_is_counted_and_release_is_idempotent(tmp_path):
    """Two holds of one folder keep it in use until both are released; releasing twice is harmless."""
    first, second = in_use.acquire(tmp_path), in_use.acquire(tmp_path)
    first.release()
    first.release()
    assert in_use.is_in_use(tmp_path)
    in_use.release(second)
    assert not in_use.is_in_use(tmp_path)


def test_move_root_moves_models_and_remembers(store, local_model, tmp_path):
    """move_root moves every model, keeps them verified, and later stores open the new folder."""
    store.import_folder(local_model)
    store.add_repo("someone/gpt-oss-x")
    new_root = tmp_path / "elsewhere" / "models"
    store.move_root(new_root)
    assert store.root == new_root and default_root() == new_root
    assert [(m.name, m.status) for m in ModelStore().list()] == [("my-gpt-oss", VERIFIED)]
    assert "gpt-oss-x" in [e.name for e in ModelStore().catalog()]
    assert ModelStore().verify("my-gpt-oss").verified
    assert not (tmp_path / "models").exists()


def test_move_root_refuses_while_loaded_or_into_a_full_folder(store, local_model, tmp_path):
    """A loaded model blocks a move; so does a target folder that already holds something."""
    model = store.import_folder(local_model)
    with in_use.hold(model.path), pytest.raises(ModelInUseError):
        store.move_root(tmp_path / "new")
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "x").write_text("x")
    with pytest.raises(Exception, match="not empty"):
        store.move_root(tmp_path / "busy")
    assert store.get(model.name).verified


def test_safetensors_fixture_is_real(tmp_path):
    """The test shards are real safetensors files (the safetensors library reads them)."""
    from safetensors.numpy import load_file

    path = tmp_path / "x.safetensors"
    path.write_bytes(safetensors_bytes({"a": 10, "b": 3}, seed=1))
    assert {k: v.shape for k, v in load_file(path).items()} == {"a": (10,), "b": (3,)}
    assert hf_config()["model_type"] == "gpt_oss"
