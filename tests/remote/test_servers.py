"""Saved servers: the key kept owner-only and out of servers.json, models listed, a key opens a session."""

from __future__ import annotations

import json
import stat

import pytest

from engine.remote import KeyRejectedError, RemoteClient, RemoteError, RemoteModelMissingError
from engine.remote.servers import ServerStore, is_remote_key, open_session, parse_key
from tests.remote.fake_server import FakeServer

KEY = "sk-secret-abc"


def test_the_key_is_owner_only_and_not_in_the_settings(tmp_path):
    """servers.json holds a reference; the key is in a 0600 file in a 0700 folder, read back as it was."""
    store = ServerStore(tmp_path)
    server = store.save("gpu-box:8000", KEY, [])
    text = (tmp_path / "servers.json").read_text()
    assert KEY not in text
    assert json.loads(text)["servers"][0]["key"] == f"file:{server.id}"
    key_file = tmp_path / "keys" / server.id
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert stat.S_IMODE(key_file.parent.stat().st_mode) == 0o700
    assert store.api_key(store.get(server.id)) == KEY
    assert KEY not in repr(store.client(server))


def test_save_again_replaces_and_remove_forgets(tmp_path):
    """The same address saved again is one server with the new key; removing it deletes its key file."""
    store = ServerStore(tmp_path)
    first = store.save("http://gpu-box:8000/v1", KEY, [])
    again = store.save("gpu-box:8000", None, [])
    assert again.id == first.id and len(store.servers()) == 1
    assert again.key is None and not (tmp_path / "keys" / first.id).exists()
    store.save("gpu-box:8000", KEY, [])
    store.remove(first.id)
    assert store.servers() == [] and not (tmp_path / "keys" / first.id).exists()


def test_a_damaged_file_lists_no_servers(tmp_path):
    """servers.json that is not JSON reads as no servers instead of failing the Models window."""
    (tmp_path / "servers.json").write_text("{not json")
    assert ServerStore(tmp_path).servers() == []


def test_model_keys():
    """A remote model key names a server and a model (which may hold slashes and colons)."""
    assert parse_key("remote:ab12/openai/gpt-oss-120b") == ("ab12", "openai/gpt-oss-120b")
    assert parse_key("remote:ab12/gpt-oss:20b") == ("ab12", "gpt-oss:20b")
    assert is_remote_key("remote:x/y") and not is_remote_key("/models/gpt-oss-20b")
    for bad in ("remote:", "remote:ab12", "/models/x"):
        with pytest.raises(RemoteError):
            parse_key(bad)


def test_open_session_lists_and_keeps_the_servers_models(tmp_path):
    """Opening a saved model asks the server, saves what it lists, and fails in words when it is gone."""
    store = ServerStore(tmp_path)
    with FakeServer("ollama", models=("gpt-oss:20b", "gpt-oss:120b"), key=KEY) as server:
        saved = store.save(server.url, KEY, RemoteClient(server.url, KEY).list_models()[:1])
        assert [c[1] for c in store.choices()] == ["gpt-oss:20b"]
        session = open_session(saved.model_key("gpt-oss:120b"), store)
        assert session.model_id == "gpt-oss:120b"
        assert [c[1] for c in store.choices()] == ["gpt-oss:20b", "gpt-oss:120b"]
        assert store.choices()[0][2].endswith(saved.name)
        with pytest.raises(RemoteModelMissingError, match="no model"):
            open_session(saved.model_key("gpt-oss:7b"), store)
        other = store.save(server.url + "/", "wrong", [])
        with pytest.raises(KeyRejectedError):
            open_session(other.model_key("gpt-oss:20b"), store)
    with pytest.raises(RemoteModelMissingError, match="no longer saved"):
        open_session("remote:gone/gpt-oss:20b", store)


@pytest.mark.parametrize("pasted", [KEY + "\n", f"  {KEY}  ", f"\t{KEY}\r\n"])
def test_a_pasted_key_with_spaces_around_it_works(tmp_path, pasted):
    """A key pasted with a line break or spaces around it is the key: saved without them, accepted by the
    server."""
    with FakeServer(key=KEY) as server:
        assert RemoteClient(server.url, pasted).list_models()[0].id == "openai/gpt-oss-120b"
        store = ServerStore(tmp_path)
        saved = store.save(server.url, pasted, [])
        assert store.api_key(saved) == KEY
        assert store.client(saved).list_models()


def test_a_key_with_a_break_inside_is_refused_in_words():
    """A key with a space or line break inside cannot be sent: the error says to paste it again."""
    for broken in ("sk-abc def", "sk-abc\ndef"):
        with pytest.raises(RemoteError, match="inside it"):
            RemoteClient("gpu-box:8000", broken)
    assert not RemoteClient("gpu-box:8000", "  \n").has_key  # only spaces: no key


def test_an_edit_keeps_the_id_and_sets_name_address_and_key(tmp_path):
    """Saving with a server's id changes its name, address and key in place; its model keys stay the same."""
    store = ServerStore(tmp_path)
    first = store.save("gpu-box:8000", KEY, [])
    assert first.name == "gpu-box:8000"
    edited = store.save("http://gpu-box-2:9000/v1", "sk-new", [], server_id=first.id, name="  Lab   GPU ")
    assert edited.id == first.id and len(store.servers()) == 1
    assert (edited.url, edited.name) == ("http://gpu-box-2:9000/v1", "Lab GPU")
    assert store.api_key(store.get(first.id)) == "sk-new"
    assert store.save(edited.url, None, [], server_id=first.id, name="").name == "gpu-box-2:9000"
