"""Nothing reaches the network unless a download is started, and importing engine.hub stays light."""

from __future__ import annotations

import subprocess
import sys

from engine.hub import ModelStore
from tests.hub.conftest import NAME, ROOT, SHARD


def test_list_verify_import_remove_make_no_request(hub, store, tmp_path):
    """After a download, list, get, verify, import, open and remove never contact the Hub."""
    model = store.download(NAME)
    hub.log.clear()
    store.list()
    store.get(NAME)
    store.verify(NAME)
    store.verify(NAME, full=False)
    store.catalog()
    store.add_repo("someone/gpt-oss-later")
    store.open_folder(NAME)
    other = ModelStore(tmp_path / "other")
    other.import_folder(model.path, name="copy")
    other.verify("copy")
    other.remove("copy")
    store.remove(NAME)
    assert hub.log == []


def test_offline_commands_do_not_load_the_network_stack(hub, store, subprocess_env):
    """In a fresh process, list and verify of a verified model work without importing huggingface_hub."""
    store.download(NAME)
    hub.log.clear()
    code = (
        "import sys; from engine.hub import ModelStore; s = ModelStore(sys.argv[1]);"
        f" assert s.list()[0].verified; s.verify({NAME!r});"
        " heavy = ('huggingface_hub', 'httpx2', 'torch', 'PySide6');"
        " bad = [m for m in sys.modules if m.split('.')[0] in heavy];"
        " assert not bad, bad"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, str(store.root)],
        env={**subprocess_env, "HF_HUB_OFFLINE": "1"},
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stderr
    done = subprocess.run(
        [sys.executable, "-m", "engine", "models", "--root", str(store.root), "list", "--no-fit"],
        env=subprocess_env,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
    )
    assert done.returncode == 0 and NAME in done.stdout and "verified" in done.stdout
    assert hub.log == []
    assert (store.root / NAME / SHARD).exists()
