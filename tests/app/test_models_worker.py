"""Quitting while the model manager works: the running task stops at a safe point, queued ones never start,
what was downloaded stays resumable, and a task that cannot stop is waited for, never cut short."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from app import models_worker
from app.models_worker import ModelsClient
from engine.hub import ModelStore
from tests.app import test_models
from tests.app.test_models import biggest_file

NAME = "gpt-oss-20b"
fake_hub = test_models.fake_hub  # the tiny checkpoint served as openai/gpt-oss-20b (a fixture)


@pytest.fixture
def client(qtbot, app_dirs):
    """A ModelsClient on its own thread, shut down at the end whatever the test did."""
    made = ModelsClient()
    yield made
    made.shutdown()


def _part(shard: str) -> Path:
    return ModelStore().root / NAME / f"{shard}.part"


def _record(client) -> list[tuple[str, str, str]]:
    seen: list[tuple[str, str, str]] = []
    client.worker.task_started.connect(lambda kind, name: seen.append(("started", kind, name)))
    client.worker.task_cancelled.connect(lambda kind, name: seen.append(("cancelled", kind, name)))
    client.worker.task_finished.connect(lambda kind, name, _r: seen.append(("finished", kind, name)))
    client.worker.task_failed.connect(lambda kind, name, _r: seen.append(("failed", kind, name)))
    return seen


def test_quitting_mid_download_stops_it_and_the_part_resumes(qtbot, client, fake_hub, tiny_model_dir):
    """shutdown() during a download returns within seconds; the part is kept and the next download continues
    it with a Range request, ending verified."""
    shard = biggest_file(tiny_model_dir)
    fake_hub.delay_s[shard] = 0.01  # per 4 KB: the download would take minutes
    client.download(NAME)
    part = _part(shard)
    qtbot.waitUntil(lambda: part.exists() and part.stat().st_size > 0, timeout=60_000)
    started = time.monotonic()
    assert client.shutdown() is True
    assert time.monotonic() - started < 5.0
    assert not client.thread.isRunning()
    kept = part.stat().st_size
    assert kept > 0

    fake_hub.delay_s.clear()
    model = ModelStore().download(NAME)
    assert model.verified
    resumed = [r for r in fake_hub.requests("GET", "/cdn/") if r.range]
    assert resumed and resumed[-1].range == f"bytes={kept}-"


@pytest.mark.parametrize("queued", ["verify", "remove"])
def test_quitting_drops_queued_tasks_unstarted(qtbot, client, fake_hub, tiny_model_dir, queued):
    """A verify or a remove (which has no cancel) queued behind a running download never runs once the app
    quits."""
    shard = biggest_file(tiny_model_dir)
    fake_hub.delay_s[shard] = 0.01
    seen = _record(client)
    client.download(NAME)
    getattr(client, queued)(NAME)
    qtbot.waitUntil(lambda: _part(shard).exists(), timeout=60_000)
    assert client.shutdown() is True
    assert ("started", "download", NAME) in seen
    assert {what for what, kind, _ in seen if kind == queued} <= {"started", "cancelled"}
    assert _part(shard).exists()  # the remove did not run


def test_cancel_stops_the_running_task_not_the_one_queued_behind_it(qtbot, client, fake_hub, tiny_model_dir):
    """Cancel acts on the download that runs, even with a verify queued after it."""
    shard = biggest_file(tiny_model_dir)
    fake_hub.delay_s[shard] = 0.01
    seen = _record(client)
    client.download(NAME)
    client.verify(NAME)
    qtbot.waitUntil(lambda: client.task == ("download", NAME) and _part(shard).exists(), timeout=60_000)
    fake_hub.delay_s.clear()
    client.cancel()
    qtbot.waitUntil(lambda: ("cancelled", "download", NAME) in seen, timeout=30_000)
    qtbot.waitUntil(lambda: not client.busy, timeout=60_000)
    assert ("started", "verify", NAME) in seen


def test_a_task_that_cannot_stop_is_waited_for_at_exit(qtbot, client, monkeypatch):
    """A task with no cancel (here held on purpose) outlasts the wait: shutdown says so, leaves the thread
    running instead of destroying it, and the exit hook waits for it to finish."""
    release, entered, done = threading.Event(), threading.Event(), threading.Event()

    def slow_remove(self, name):
        entered.set()
        release.wait(30)
        done.set()

    monkeypatch.setattr(ModelStore, "remove", slow_remove)
    client.remove("anything")
    assert entered.wait(30)
    assert client.shutdown(wait_ms=200) is False
    assert client.thread.isRunning() and not done.is_set()
    assert any(thread is client.thread for thread, _ in models_worker._outliving)
    release.set()
    models_worker._wait_for_outliving()
    assert done.is_set() and not client.thread.isRunning()
    assert models_worker._outliving == []
