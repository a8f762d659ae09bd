"""Faults while downloading: drops, cancels, crashes, changed files, wrong bytes, server errors, refusals."""

from __future__ import annotations

import hashlib
import json
import signal
import subprocess
import sys
import threading

import pytest

from engine.errors import DownloadError, ModelInUseError, VerificationError
from engine.hub import CORRUPT, INCOMPLETE, Cancelled, ModelStore
from tests.hub.conftest import NAME, SHARD, part_size, tiny_repo, wait_for


def _blob(path: str, files: dict[str, bytes] | None = None) -> str:
    return "/cdn/" + hashlib.sha256((files or tiny_repo())[path]).hexdigest()


def test_dropped_connection_resumes_from_the_partial_bytes(hub, store):
    """The connection drops mid-file: the next request asks for the rest with Range, and the hash is right."""
    hub.drop_after[SHARD] = 20_000
    model = store.download(NAME)
    gets = hub.requests("GET", _blob(SHARD))
    assert [r.range for r in gets] == [None, "bytes=20000-"]
    assert model.verified
    assert (model.folder / SHARD).read_bytes() == tiny_repo()[SHARD]


def _cancel_when_part_grows(store, cancel: threading.Event, at_least: int = 8_000) -> threading.Thread:
    def watch():
        wait_for(lambda: part_size(store) >= at_least)
        cancel.set()

    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    return thread


def test_cancel_then_resume(hub, store):
    """A cancel keeps the partial file; the next download continues it with a Range request."""
    hub.delay_s[SHARD] = 0.01
    cancel = threading.Event()
    _cancel_when_part_grows(store, cancel)
    with pytest.raises(Cancelled):
        store.download(NAME, cancel=cancel)
    kept = part_size(store)
    assert 0 < kept < len(tiny_repo()[SHARD])
    assert store.get(NAME).status == INCOMPLETE
    model = store.download(NAME)
    assert hub.requests("GET", _blob(SHARD))[-1].range == f"bytes={kept}-"
    assert model.verified


def test_changed_file_on_the_server_starts_over(hub, store):
    """The branch moved on and the file changed (new etag): the partial file is dropped, not continued."""
    hub.add_repo("someone/gpt-oss-20b-tuned", tiny_repo())
    hub.delay_s[SHARD] = 0.01
    cancel = threading.Event()
    store.add_repo("someone/gpt-oss-20b-tuned", name=NAME + "-tuned")
    part = store.root / (NAME + "-tuned") / f"{SHARD}.part"
    threading.Thread(
        target=lambda: (wait_for(lambda: part.exists() and part.stat().st_size > 8000), cancel.set()),
        daemon=True,
    ).start()
    with pytest.raises(Cancelled):
        store.download(NAME + "-tuned", cancel=cancel)
    new_files = tiny_repo(seed=5)
    new_commit = hub.commit("someone/gpt-oss-20b-tuned", new_files)
    hub.delay_s.clear()
    model = store.download(NAME + "-tuned")
    assert model.verified and model.revision == new_commit
    assert [r.range for r in hub.requests("GET", _blob(SHARD, new_files))] == [None]
    assert (model.folder / SHARD).read_bytes() == new_files[SHARD]


def test_server_ignoring_range_still_ends_right(hub, store):
    """A server that answers a Range with the whole file (200) makes the file start over, not corrupt."""
    hub.drop_after[SHARD] = 10_000
    hub.ignore_range = True
    model = store.download(NAME)
    assert [r.range for r in hub.requests("GET", _blob(SHARD))] == [None, "bytes=10000-", None]
    assert model.verified and (model.folder / SHARD).read_bytes() == tiny_repo()[SHARD]


def test_wrong_bytes_are_named_not_verified_and_fetched_again(hub, store):
    """Right size, wrong bytes: named, not verified, deleted, and fetched by the next download."""
    hub.corrupt.add(SHARD)
    with pytest.raises(VerificationError, match=SHARD):
        store.download(NAME)
    model = store.get(NAME)
    assert model.status == CORRUPT and not model.verified and any(SHARD in p for p in model.problems)
    assert not (model.folder / SHARD).exists() and not (model.folder / f"{SHARD}.part").exists()
    assert json.loads((model.folder / "manifest.json").read_text())["verified_at"] is None
    hub.corrupt.clear()
    hub.log.clear()
    assert store.download(NAME).verified
    assert [r.path for r in hub.requests("GET", "/cdn/")] == [_blob(SHARD)]  # only the bad file again


def test_server_errors_are_retried_with_backoff(hub, store):
    """503s on the file list and on a file are retried; the download ends verified."""
    hub.statuses["api"] = [503, 503]
    hub.statuses[SHARD] = [500]
    assert store.download(NAME).verified
    assert len(hub.requests("GET", "/api/models/")) == 3


def test_server_error_that_persists_gives_a_clear_message(hub, store):
    """A server that keeps failing: after the retries, a message that names the status and what to do."""
    hub.statuses[SHARD] = [503] * 20
    with pytest.raises(DownloadError) as error:
        store.download(NAME)
    message = str(error.value)
    assert "503" in message and "4 tries" in message and "Try again later" in message
    assert not store.get(NAME).verified


def test_gated_repo_asks_to_log_in(hub, store, monkeypatch):
    """A 401 for a gated repo says to accept the license and set HF_TOKEN; with the token it downloads."""
    hub.add_repo("acme/gpt-oss-gated", tiny_repo(), token="hf_good")
    with pytest.raises(DownloadError) as error:
        store.download("acme/gpt-oss-gated")
    message = str(error.value)
    assert "401" in message and "HF_TOKEN" in message and "accept the license" in message
    monkeypatch.setenv("HF_TOKEN", "hf_good")
    assert store.download("acme/gpt-oss-gated").verified


def test_unknown_repo_and_offline_mode(hub, store, monkeypatch):
    """A repo that does not exist, and HF_HUB_OFFLINE, each give a sentence saying what to do."""
    with pytest.raises(DownloadError, match="no model nobody/nothing"):
        store.download("nobody/nothing")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    hub.log.clear()
    with pytest.raises(DownloadError, match="HF_HUB_OFFLINE"):
        store.download(NAME)
    assert hub.log == []


def test_two_downloads_of_one_model_in_threads(hub, store):
    """A second download of the same model while one runs fails at once with a clear message."""
    hub.delay_s[SHARD] = 0.005
    result = {}
    first = threading.Thread(target=lambda: result.setdefault("model", store.download(NAME)))
    first.start()
    wait_for(lambda: part_size(store) > 0)
    with pytest.raises(DownloadError, match="already being downloaded"):
        ModelStore(store.root).download(NAME)
    with pytest.raises(ModelInUseError, match="being downloaded"):
        store.remove(NAME)
    first.join(10)
    assert result["model"].verified


def _cli(env, *args, **kwargs) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "engine", "models", *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **kwargs,
    )


def test_two_downloads_of_one_model_in_processes(hub, store, subprocess_env):
    """While `python -m engine models download` runs, another download of that model is refused."""
    hub.delay_s[SHARD] = 0.01
    child = _cli(subprocess_env, "--root", str(store.root), "download", NAME)
    wait_for(lambda: part_size(store) > 0, timeout=30)
    with pytest.raises(DownloadError, match="already being downloaded"):
        store.download(NAME)
    out, err = child.communicate(timeout=60)
    assert child.returncode == 0, err
    assert "verified" in out and store.get(NAME).verified


def test_crash_mid_download_then_resume(hub, store, subprocess_env):
    """A download process killed mid-file leaves its partial bytes; the next run continues them."""
    hub.delay_s[SHARD] = 0.01
    child = _cli(subprocess_env, "--root", str(store.root), "download", NAME)
    wait_for(lambda: part_size(store) >= 8_000, timeout=30)
    child.send_signal(signal.SIGKILL)
    child.communicate(timeout=10)
    kept = part_size(store)
    hub.delay_s.clear()
    model = store.download(NAME)  # the dead process's lock went with it
    assert hub.requests("GET", _blob(SHARD))[-1].range == f"bytes={kept}-"
    assert model.verified


def test_cancel_is_prompt_on_a_stalled_connection(hub, store):
    """A cancel ends the download within moments even while the server sends nothing."""
    import time

    hub.delay_s[SHARD] = 30.0  # one chunk, then silence
    cancel = threading.Event()
    _cancel_when_part_grows(store, cancel, at_least=1)
    started = time.monotonic()
    with pytest.raises(Cancelled):
        store.download(NAME, cancel=cancel)
    assert time.monotonic() - started < 5
    assert part_size(store) == 4096
