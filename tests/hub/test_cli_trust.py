"""Every command that loads a model (bench, generate, chat, logits, serve) checks its bytes first, as the
app does: a changed file is hashed again, a mismatch refuses the load with the same words."""

from __future__ import annotations

import io
import json
import os
import shutil

import pytest

from engine.__main__ import main as engine_main
from engine.hub import ModelStore
from engine.io.synthetic import write_checkpoint
from tests.hub.test_trust import SMALL, _flip_last_byte, _shard


@pytest.fixture(scope="module")
def source(tmp_path_factory):
    return write_checkpoint(tmp_path_factory.mktemp("src") / "tiny", SMALL, layout="hf", num_shards=1)


@pytest.fixture
def imported(source, tmp_path, monkeypatch):
    """The tiny model imported into the user's models folder (a fresh data folder): its LocalModel."""
    monkeypatch.setenv("GOSSAMER_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("GOSSAMER_CONFIG_DIR", str(tmp_path / "config"))
    store = ModelStore()
    return store.import_folder(shutil.copytree(source, tmp_path / "copy"), "tiny")


COMMANDS = {
    "bench": ["bench", "--prompt-tokens", "4", "--gen-tokens", "2", "--device", "cpu"],
    "generate": ["generate", "--prompt", "Hi", "--max-tokens", "2", "--device", "cpu", "--context", "256"],
    "chat": ["chat", "--device", "cpu", "--context", "256"],
    "logits": ["logits", "--ids", "1,2", "--device", "cpu"],
    "serve": ["serve", "--device", "cpu", "--context", "256", "--port", "0"],
}


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_a_changed_file_refuses_the_load_in_every_command(imported, command, tmp_path, capsys, monkeypatch):
    """A byte changed after verification: the command exits 1 naming the file, the model is not loaded."""
    from engine.runtime import loader

    monkeypatch.setattr("sys.stdin", io.StringIO())  # chat reads its first line only after the load
    loaded = []
    real = loader.load_model
    monkeypatch.setattr(loader, "load_model", lambda *a, **k: loaded.append(a) or real(*a, **k))
    _flip_last_byte(_shard(imported))
    argv = [*COMMANDS[command], "--model", str(imported.path)]
    if command == "logits":
        argv += ["--out", str(tmp_path / "l.npy")]
    assert engine_main(argv) == 1
    err = capsys.readouterr().err
    assert "is corrupt" in err and _shard(imported).name in err and "Traceback" not in err
    assert loaded == []


def test_bench_hashes_a_touched_file_again_and_says_so(imported, capsys):
    """A file touched but unchanged is hashed again before bench loads it, with the note generate prints."""
    shard = _shard(imported)
    info = shard.stat()
    os.utime(shard, ns=(info.st_atime_ns, info.st_mtime_ns + 1_000_000_000))
    assert engine_main([*COMMANDS["bench"], "--model", str(imported.path)]) == 0
    captured = capsys.readouterr()
    assert f"note: {shard.name} changed since verified; hashed again, they match" in captured.err
    assert json.loads(captured.out.strip().splitlines()[-1])["prompt_tokens"] == 4


def test_bench_says_once_that_a_folder_outside_the_models_folder_is_unverified(source, capsys):
    """A folder outside the models folder benchmarks with one note that its files are unverified."""
    assert engine_main([*COMMANDS["bench"], "--model", str(source)]) == 0
    assert capsys.readouterr().err.count("unverified") == 1
