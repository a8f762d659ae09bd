"""A Hugging Face Hub on 127.0.0.1 that speaks the protocol huggingface_hub uses, with faults to inject.

- ``GET /api/models/{repo}[/revision/{rev}]?blobs=true``: id, sha and siblings with size, blobId and
  ``lfs {size, sha256, pointerSize}``.
- ``HEAD|GET /{repo}/resolve/{rev}/{path}``: small files answer 200 with ETag (git blob sha1),
  X-Repo-Commit, Content-Length, Accept-Ranges; LFS files answer 302 to a second server (another origin,
  as the Hub's CDN is) with X-Linked-Etag (sha256), X-Linked-Size and X-Repo-Commit.
- ``GET /cdn/{sha256}`` on the CDN server: the bytes, honouring ``Range: bytes=N-`` with 206 + Content-Range.
- Gated repos answer 401 with ``X-Error-Code: GatedRepo`` unless ``Authorization: Bearer <token>``.

Faults: ``statuses[key]`` (a list of status codes answered before serving, key "api" or a file path),
``drop_after[path]`` (close the connection after that many body bytes, once), ``corrupt`` (paths served
with wrong bytes of the right size), ``delay_s[path]`` (seconds between 4 KB chunks), ``ignore_range``.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlsplit

CHUNK = 4096


def git_blob_sha1(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def lfs_pointer(data: bytes) -> bytes:
    sha = hashlib.sha256(data).hexdigest()
    return f"version https://git-lfs.github.com/spec/v1\noid sha256:{sha}\nsize {len(data)}\n".encode()


@dataclass
class Logged:
    server: str  # "hub" | "cdn"
    method: str
    path: str
    range: str | None
    authorization: str | None


@dataclass
class Repo:
    commits: dict[str, dict[str, bytes]] = field(default_factory=dict)
    branches: dict[str, str] = field(default_factory=dict)
    token: str | None = None  # gated: files need this bearer token


class FakeHub:
    def __init__(self):
        self.repos: dict[str, Repo] = {}
        self.blobs: dict[str, tuple[str, bytes]] = {}  # sha256 -> (path, bytes), for the CDN
        self.log: list[Logged] = []
        self.statuses: dict[str, list[int]] = {}
        self.drop_after: dict[str, int] = {}
        self.corrupt: set[str] = set()
        self.delay_s: dict[str, float] = {}
        self.ignore_range = False
        self._lock = threading.Lock()
        self._servers = [
            ThreadingHTTPServer(("127.0.0.1", 0), _handler(self, name)) for name in ("hub", "cdn")
        ]
        for server in self._servers:
            server.daemon_threads = True

    # ---- setup ---------------------------------------------------------------------------------------
    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self._servers[0].server_address[1]}"

    @property
    def cdn(self) -> str:
        return f"http://127.0.0.1:{self._servers[1].server_address[1]}"

    def start(self) -> FakeHub:
        for server in self._servers:
            threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        return self

    def stop(self) -> None:
        for server in self._servers:
            server.shutdown()
            server.server_close()

    def add_repo(
        self, repo_id: str, files: dict[str, bytes], commit: str | None = None, token: str | None = None
    ) -> str:
        self.repos.setdefault(repo_id, Repo(token=token))
        return self.commit(repo_id, files, commit)

    def commit(self, repo_id: str, files: dict[str, bytes], commit: str | None = None) -> str:
        """A new commit on main with these files (the whole tree)."""
        repo = self.repos[repo_id]
        commit = commit or hashlib.sha1(f"{repo_id}{len(repo.commits)}{sorted(files)}".encode()).hexdigest()
        repo.commits[commit] = dict(files)
        repo.branches["main"] = commit
        for path, data in files.items():
            if is_lfs(path):
                self.blobs[hashlib.sha256(data).hexdigest()] = (path, data)
        return commit

    def requests(self, method: str | None = None, path_part: str = "") -> list[Logged]:
        with self._lock:
            return [r for r in self.log if (method is None or r.method == method) and path_part in r.path]

    def _record(self, entry: Logged) -> None:
        with self._lock:
            self.log.append(entry)

    def _next_status(self, key: str) -> int | None:
        with self._lock:
            queue = self.statuses.get(key)
            return queue.pop(0) if queue else None


def is_lfs(path: str) -> bool:
    return path.endswith((".safetensors", ".bin"))


_RESOLVE = re.compile(r"/(?P<repo>[^/]+/[^/]+)/resolve/(?P<rev>[^/]+)/(?P<path>.+)")
_API = re.compile(r"/api/models/(?P<repo>[^/]+/[^/]+)(?:/revision/(?P<rev>[^/]+))?")
_RANGE = re.compile(r"bytes=(\d+)-(\d*)")


def _handler(hub: FakeHub, server_name: str) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args) -> None:  # quiet
            pass

        def do_HEAD(self) -> None:
            self._serve(body=False)

        def do_GET(self) -> None:
            self._serve(body=True)

        def _serve(self, body: bool) -> None:
            url = urlsplit(self.path)
            path = unquote(url.path)
            hub._record(
                Logged(
                    server_name,
                    self.command,
                    path,
                    self.headers.get("Range"),
                    self.headers.get("Authorization"),
                )
            )
            if server_name == "cdn":
                return self._cdn(path, body)
            if m := _API.fullmatch(path):
                return self._api(m["repo"], m["rev"] or "main", "blobs" in parse_qs(url.query))
            if m := _RESOLVE.fullmatch(path):
                return self._resolve(m["repo"], unquote(m["rev"]), m["path"], body)
            self._error(404, "NotFound", "no such route")

        # ---- hub ------------------------------------------------------------------------------------
        def _lookup(self, repo_id: str, rev: str) -> tuple[Repo, str] | None:
            repo = hub.repos.get(repo_id)
            if repo is None:
                self._error(404, "RepoNotFound", "Repository not found")
                return None
            commit = repo.branches.get(rev, rev)
            if commit not in repo.commits:
                self._error(404, "RevisionNotFound", "Invalid rev id: " + rev)
                return None
            return repo, commit

        def _api(self, repo_id: str, rev: str, blobs: bool) -> None:
            if status := hub._next_status("api"):
                return self._error(status, None, "server trouble")
            found = self._lookup(repo_id, rev)
            if found is None:
                return
            repo, commit = found
            siblings = []
            for path, data in sorted(repo.commits[commit].items()):
                sibling: dict = {"rfilename": path}
                if blobs:
                    if is_lfs(path):
                        pointer = lfs_pointer(data)
                        sibling.update(
                            size=len(data),
                            blobId=git_blob_sha1(pointer),
                            lfs={
                                "size": len(data),
                                "sha256": hashlib.sha256(data).hexdigest(),
                                "pointerSize": len(pointer),
                            },
                        )
                    else:
                        sibling.update(size=len(data), blobId=git_blob_sha1(data))
                siblings.append(sibling)
            payload = json.dumps(
                {
                    "_id": "x",
                    "id": repo_id,
                    "modelId": repo_id,
                    "sha": commit,
                    "private": False,
                    "gated": "manual" if repo.token else False,
                    "siblings": siblings,
                }
            ).encode()
            self._send(200, {"Content-Type": "application/json"}, payload, True)

        def _resolve(self, repo_id: str, rev: str, path: str, body: bool) -> None:
            found = self._lookup(repo_id, rev)
            if found is None:
                return
            repo, commit = found
            if repo.token and self.headers.get("Authorization") != f"Bearer {repo.token}":
                return self._error(
                    401,
                    "GatedRepo",
                    f"Access to model {repo_id} is restricted. You must have "
                    "access to it and be authenticated to access it. Please log in.",
                    commit,
                )
            if status := hub._next_status(path):
                return self._error(status, None, "server trouble", commit)
            data = repo.commits[commit].get(path)
            if data is None:
                return self._error(404, "EntryNotFound", f"{path} does not exist", commit)
            if is_lfs(path):
                sha = hashlib.sha256(data).hexdigest()
                headers = {
                    "Location": f"{hub.cdn}/cdn/{sha}?X-Amz-Signature=fake",
                    "X-Repo-Commit": commit,
                    "X-Linked-Etag": f'"{sha}"',
                    "X-Linked-Size": str(len(data)),
                    "ETag": f'"{git_blob_sha1(lfs_pointer(data))}"',
                }
                return self._send(302, headers, b"", body)
            headers = {"X-Repo-Commit": commit, "ETag": f'"{git_blob_sha1(data)}"'}
            self._bytes(path, data, headers, body)

        # ---- cdn ------------------------------------------------------------------------------------
        def _cdn(self, path: str, body: bool) -> None:
            blob = hub.blobs.get(path.removeprefix("/cdn/"))
            if blob is None:
                return self._error(404, None, "no such blob")
            name, data = blob
            if status := hub._next_status(name):
                return self._error(status, None, "cdn trouble")
            self._bytes(name, data, {"ETag": '"cdn-etag"'}, body)

        # ---- bytes ----------------------------------------------------------------------------------
        def _bytes(self, name: str, data: bytes, headers: dict, body: bool) -> None:
            if name in hub.corrupt:
                data = bytes(b ^ 0x5A for b in data)
            headers = {**headers, "Accept-Ranges": "bytes", "Content-Type": "application/octet-stream"}
            m = _RANGE.fullmatch(self.headers.get("Range", "")) if not hub.ignore_range else None
            status = 200
            if m:
                start = int(m[1])
                end = int(m[2]) if m[2] else len(data) - 1
                if start >= len(data):
                    return self._error(416, None, "range not satisfiable")
                headers["Content-Range"] = f"bytes {start}-{end}/{len(data)}"
                data, status = data[start : end + 1], 206
            self._send(status, headers, data, body, name)

        def _send(self, status: int, headers: dict, data: bytes, body: bool, name: str | None = None) -> None:
            self.send_response(status)
            for key, value in headers.items():
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            if not body:
                return
            with hub._lock:
                drop = hub.drop_after.pop(name, None) if name else None
            delay = hub.delay_s.get(name, 0.0) if name else 0.0
            sent = 0
            while sent < len(data):
                piece = data[sent : sent + CHUNK]
                if drop is not None and sent + len(piece) >= drop:
                    self.wfile.write(piece[: drop - sent])
                    self.close_connection = True  # the connection drops mid-file
                    return
                self.wfile.write(piece)
                sent += len(piece)
                if delay:
                    time.sleep(delay)

        def _error(self, status: int, code: str | None, message: str, commit: str | None = None) -> None:
            headers = {"Content-Type": "application/json", "X-Error-Message": message}
            if code:
                headers["X-Error-Code"] = code
            if commit:
                headers["X-Repo-Commit"] = commit
            self._send(status, headers, json.dumps({"error": message}).encode(), self.command != "HEAD")

    return Handler
