"""The servers a person saved: address, models as last listed, and a reference to the key, never the key.

``servers.json`` in ``user_config_dir()`` holds {"format": 1, "servers": [{"id", "url", "name", "key",
"models": [{"id", "context_length"}]}]}; "key" is null, "file:ID" or "keyring:ID". A key lives in the OS
keychain when the ``keyring`` package is installed and works, else in ``keys/ID`` beside servers.json,
readable by its owner only (0600 in a 0700 folder). Neither the key nor its file's content goes into logs,
chats or exports; RemoteClient's repr says only whether it has one.

A remote model is named by a key string, ``remote:SERVER_ID/MODEL_ID``, which the app stores as its last
model and hands to its worker the way it hands a local folder.
"""

from __future__ import annotations

import importlib.util
import json
import logging
import os
import secrets
import threading
from dataclasses import dataclass, field
from pathlib import Path

from engine.paths import APP_NAME, user_config_dir
from engine.remote.client import DEFAULT_TIMEOUT_S, RemoteClient, RemoteModel, clean_key
from engine.remote.endpoint import host_name, normalize_url
from engine.remote.errors import RemoteError, RemoteModelMissingError

PREFIX = "remote:"
FILE_NAME = "servers.json"
KEYS_FOLDER = "keys"
KEYRING_SERVICE = f"{APP_NAME} model servers"

log = logging.getLogger(__name__)
_lock = threading.Lock()


@dataclass
class SavedServer:
    id: str
    url: str  # the API base URL (normalized)
    name: str  # shown beside its models: the person's name for it, else its host
    key: str | None = None  # a reference: "file:ID" | "keyring:ID"
    models: list[RemoteModel] = field(default_factory=list)

    def model_key(self, model_id: str) -> str:
        return remote_key(self.id, model_id)


def remote_key(server_id: str, model_id: str) -> str:
    return f"{PREFIX}{server_id}/{model_id}"


def is_remote_key(key: str | None) -> bool:
    return bool(key) and str(key).startswith(PREFIX)


def parse_key(key: str) -> tuple[str, str]:
    """(server id, model id) of a remote model key; RemoteError for anything else."""
    server_id, _, model_id = str(key)[len(PREFIX) :].partition("/")
    if not is_remote_key(key) or not server_id or not model_id:
        raise RemoteError(
            f"{key!r} does not name a model on a saved server. Choose the model again in Models."
        )
    return server_id, model_id


class ServerStore:
    """The saved servers; ``folder`` defaults to user_config_dir(). Safe to use from several threads."""

    def __init__(self, folder: Path | None = None) -> None:
        self.folder = Path(folder) if folder is not None else user_config_dir()

    # reading
    def servers(self) -> list[SavedServer]:
        path = self.folder / FILE_NAME
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            return [_server(item) for item in data.get("servers", [])]
        except FileNotFoundError:
            return []
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as error:
            log.warning("%s could not be read (%s); no servers are listed", path, error)
            return []

    def get(self, server_id: str) -> SavedServer:
        server = next((s for s in self.servers() if s.id == server_id), None)
        if server is None:
            raise RemoteModelMissingError(
                "That server is no longer saved. Add it again in Models (Add a server…), then choose its "
                "model."
            )
        return server

    def api_key(self, server: SavedServer) -> str | None:
        if not server.key:
            return None
        kind, _, ref = server.key.partition(":")
        if kind == "keyring":
            try:
                import keyring

                return keyring.get_password(KEYRING_SERVICE, ref)
            except (
                Exception
            ) as error:  # a keychain that is locked or gone: the server will say it needs a key
                log.warning("the keychain did not give the key of server %s: %s", ref, type(error).__name__)
                return None
        try:
            return (self._keys() / ref).read_text(encoding="utf-8").strip() or None
        except OSError:
            return None

    def client(self, server: SavedServer, timeout_s: float = DEFAULT_TIMEOUT_S) -> RemoteClient:
        return RemoteClient(server.url, self.api_key(server), timeout_s=timeout_s)

    def choices(self) -> list[tuple[str, str, str]]:
        """Every saved server's models as (key, label, detail): the model id, and "remote · HOST"."""
        return [
            (server.model_key(model.id), model.id, f"remote · {server.name}")
            for server in self.servers()
            for model in server.models
        ]

    # writing
    def save(
        self,
        url: str,
        api_key: str | None,
        models: list[RemoteModel],
        server_id: str | None = None,
        name: str | None = None,
    ) -> SavedServer:
        """Add a server, or replace the one with ``server_id`` (or with the same address): an edit keeps the
        id, so its models keep their keys. ``api_key`` None or "" keeps no key (spaces around it are not
        part of it); ``name`` None or "" names the server by its host."""
        base = normalize_url(url)
        key = clean_key(api_key)
        shown = " ".join((name or "").split()) or host_name(base)
        with _lock:
            servers = self.servers()
            old = next(
                (s for s in servers if s.id == server_id or (server_id is None and s.url == base)), None
            )
            sid = old.id if old is not None else secrets.token_hex(4)
            server = SavedServer(sid, base, shown, self._store_key(sid, key), list(models))
            servers = [server if s.id == sid else s for s in servers] if old else [*servers, server]
            self._write(servers)
        return server

    def set_models(self, server_id: str, models: list[RemoteModel]) -> None:
        with _lock:
            servers = self.servers()
            for server in servers:
                if server.id == server_id:
                    server.models = list(models)
            self._write(servers)

    def remove(self, server_id: str) -> None:
        with _lock:
            servers = self.servers()
            self._write([s for s in servers if s.id != server_id])
            self._forget_key(server_id)

    # keys
    def _store_key(self, server_id: str, api_key: str | None) -> str | None:
        self._forget_key(server_id)
        if not api_key:
            return None
        if importlib.util.find_spec("keyring") is not None:
            try:
                import keyring

                keyring.set_password(KEYRING_SERVICE, server_id, api_key)
                return f"keyring:{server_id}"
            except Exception as error:  # no usable backend (a headless Linux): the owner-only file instead
                log.info(
                    "the keychain is not usable (%s); the key goes to an owner-only file",
                    type(error).__name__,
                )
        folder = self._keys()
        folder.mkdir(parents=True, exist_ok=True)
        os.chmod(folder, 0o700)
        temp = folder / f".{server_id}.tmp"
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            os.write(fd, api_key.encode("utf-8"))
            os.fsync(fd)
        finally:
            os.close(fd)
        os.chmod(temp, 0o600)  # in case the file was there already with other permissions
        os.replace(temp, folder / server_id)
        return f"file:{server_id}"

    def _forget_key(self, server_id: str) -> None:
        try:
            (self._keys() / server_id).unlink()
        except FileNotFoundError:
            pass
        if importlib.util.find_spec("keyring") is not None:
            try:
                import keyring

                keyring.delete_password(KEYRING_SERVICE, server_id)
            except Exception:  # none was there, or no backend
                pass

    def _keys(self) -> Path:
        return self.folder / KEYS_FOLDER

    def _write(self, servers: list[SavedServer]) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        data = {"format": 1, "servers": [_plain(s) for s in servers]}
        path = self.folder / FILE_NAME
        temp = path.with_name(f".{FILE_NAME}.tmp")
        temp.write_text(json.dumps(data, indent=2, ensure_ascii=False), encoding="utf-8")
        os.replace(temp, path)


def open_session(key: str, store: ServerStore | None = None, timeout_s: float = DEFAULT_TIMEOUT_S):
    """A RemoteSession for a remote model key: asks the server for its models (so a server that is down, a
    rejected key or a model it dropped is said now, not at the first message) and saves the list it gave."""
    from engine.remote.session import RemoteSession

    store = store or ServerStore()
    server_id, model_id = parse_key(key)
    server = store.get(server_id)
    client = store.client(server, timeout_s)
    try:
        models = client.list_models()
        store.set_models(server_id, models)
        session = RemoteSession.connect(client, model_id, models=models)
    except RemoteError:
        client.close()
        raise
    return session


def _server(item: dict) -> SavedServer:
    models = [RemoteModel(str(m["id"]), m.get("context_length")) for m in item.get("models", [])]
    return SavedServer(
        str(item["id"]),
        str(item["url"]),
        str(item.get("name") or host_name(item["url"])),
        item.get("key"),
        models,
    )


def _plain(server: SavedServer) -> dict:
    return {
        "id": server.id,
        "url": server.url,
        "name": server.name,
        "key": server.key,
        "models": [{"id": m.id, "context_length": m.context_length} for m in server.models],
    }
