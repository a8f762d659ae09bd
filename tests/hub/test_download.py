"""Downloading from a Hub that speaks huggingface_hub's protocol: one layout, hashes, manifest."""

from __future__ import annotations

import hashlib
import json

from engine.hub import VERIFIED, ModelStore
from tests.hub.conftest import COMMIT, HF_FILES, NAME, REPO, tiny_repo


def test_download_fetches_one_layout_and_writes_a_verified_manifest(hub, store):
    """A download fetches the Hugging Face layout only and records every file's size and sha256."""
    seen = []
    model = store.download(NAME, progress=seen.append)
    assert model.status == VERIFIED and model.layout == "hf" and model.revision == COMMIT
    files = tiny_repo()
    on_disk = sorted(p.relative_to(model.folder).as_posix() for p in model.folder.rglob("*") if p.is_file())
    assert on_disk == sorted([*HF_FILES, "manifest.json"])
    manifest = json.loads((model.folder / "manifest.json").read_text())
    assert manifest["repo"] == REPO and manifest["revision"] == COMMIT and manifest["layout"] == "hf"
    assert manifest["verified_at"] and manifest["corrupt"] == []
    for record in manifest["files"]:
        assert record["size"] == len(files[record["path"]])
        assert record["sha256"] == hashlib.sha256(files[record["path"]]).hexdigest()
    assert not hub.requests(path_part="metal/") and not hub.requests(path_part="original/")
    assert seen[-1].bytes_done == seen[-1].bytes_total == sum(len(files[f]) for f in HF_FILES)
    assert seen[-1].files_done == len(HF_FILES)


def test_lfs_files_come_from_the_cdn_without_the_token(hub, store, monkeypatch):
    """LFS files follow the 302 to the CDN (another origin), which never sees the Authorization header."""
    monkeypatch.setenv("HF_TOKEN", "hf_secret")
    store.download(NAME)
    cdn = [r for r in hub.log if r.server == "cdn"]
    assert len(cdn) == 3 and all(r.authorization is None for r in cdn)
    assert all(r.authorization == "Bearer hf_secret" for r in hub.log if r.server == "hub")


def test_download_of_a_verified_model_needs_no_network(hub, store):
    """Downloading a model that is already verified at its pinned commit returns at once, offline."""
    store.download(NAME)
    hub.log.clear()
    assert store.download(NAME).verified
    assert hub.log == []


def test_original_layout_only_repo(hub, store):
    """A user-added repo with only original/ fetches original/config.json and original/model.safetensors."""
    files = {k: v for k, v in tiny_repo(seed=3).items() if k.startswith(("original/", "README"))}
    hub.add_repo("someone/gpt-oss-orig", files)
    model = store.download("someone/gpt-oss-orig")
    assert model.verified and model.layout == "original" and model.name == "gpt-oss-orig"
    assert model.path == model.folder / "original" and (model.path / "model.safetensors").is_file()
    entry = store.entry("gpt-oss-orig")
    assert entry.revision == "main" and entry.download_bytes == sum(
        len(v) for k, v in files.items() if k.startswith("original/")
    )


def test_user_added_repos_persist_in_the_models_folder(hub, tmp_path):
    """add_repo writes catalog.json in the models folder; a new store reads it back, with no network."""
    store = ModelStore(tmp_path / "models")
    entry = store.add_repo("someone/gpt-oss-20b@v2")
    assert entry.name == "someone--gpt-oss-20b" and entry.revision == "v2"  # gpt-oss-20b is taken
    again = ModelStore(tmp_path / "models")
    assert [e.name for e in again.catalog()] == ["gpt-oss-20b", "gpt-oss-120b", "someone--gpt-oss-20b"]
    assert hub.log == []


def test_non_gpt_oss_repo_is_refused_before_the_weights(hub, store):
    """A repo whose config.json is not gpt-oss stops after the config; no shard is fetched, nothing kept."""
    files = dict(tiny_repo())
    files["config.json"] = json.dumps({"model_type": "llama"}).encode()
    hub.add_repo("someone/llama", files)
    try:
        store.download("someone/llama")
    except Exception as error:  # noqa: BLE001
        assert type(error).__name__ == "UnsupportedModelError" and "llama" in str(error)
    else:
        raise AssertionError("downloaded a llama")
    assert not hub.requests("GET", "/cdn/")
    assert not (store.root / "llama").exists() and "llama" not in [e.name for e in store.catalog()]
