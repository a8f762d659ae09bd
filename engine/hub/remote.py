"""Talking to the Hugging Face Hub: a repo's file list with sizes and hashes, and one file with resume.

huggingface_hub supplies the protocol: ``model_info(files_metadata=True)`` for sizes and ``lfs.sha256``,
``get_hf_file_metadata`` (HEAD /resolve: X-Repo-Commit, X-Linked-Etag, X-Linked-Size, the CDN location),
URL building, auth headers and its shared HTTP client. The bytes we write ourselves: into ``<file>.part``
beside a ``<file>.part.json`` sidecar, continued with a Range request after a drop, a cancel or a crash,
and hashed as they arrive so the file is verified the moment its last byte lands.
"""

from __future__ import annotations

import os
import re
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar
from urllib.parse import urlsplit

from engine.errors import DownloadError, EngineError
from engine.hub.fsutil import DISK_FULL_ERRNOS, atomic_write_json, human_bytes, read_json
from engine.hub.hashing import FileHasher
from engine.hub.progress import Cancelled, ProgressTracker

RETRY_STATUS = frozenset({408, 429, 500, 502, 503, 504})
_CONTENT_RANGE = re.compile(r"bytes (\d+)-(\d+)/(\d+|\*)")
T = TypeVar("T")
CANCELLED_MESSAGE = "Download stopped; run it again to continue where it stopped."
OFFLINE_MESSAGE = "Downloads are off because HF_HUB_OFFLINE is set; unset it to download models."


@dataclass(frozen=True)
class RemoteFile:
    path: str
    size: int
    sha256: str | None  # lfs.sha256: the whole file's sha256 (large files)
    git_sha1: str | None  # the git blob id (small files kept in git): sha1(b"blob <size>\0" + data)


@dataclass(frozen=True)
class RemoteRepo:
    repo: str
    commit: str
    files: tuple[RemoteFile, ...]

    def file(self, path: str) -> RemoteFile:
        return next(f for f in self.files if f.path == path)


class _Incomplete(Exception):
    """The body ended before the file did; retried like a dropped connection."""


@dataclass
class HubClient:
    token: str | bool | None = None  # None: HF_TOKEN or the saved login, as huggingface_hub does
    retries: int = 5  # tries after the first, per request; any bytes received reset the count
    backoff_s: float = 1.0  # first wait; doubles each try up to 30 s
    timeout_s: float = 30.0  # connect and per-read timeout

    @staticmethod
    def endpoint() -> str:
        """HF_ENDPOINT as it is now (huggingface_hub reads it once, at import)."""
        from huggingface_hub import constants

        return (os.environ.get("HF_ENDPOINT") or constants.ENDPOINT).rstrip("/")

    def repo_info(self, repo: str, revision: str, cancel: threading.Event | None = None) -> RemoteRepo:
        from huggingface_hub import HfApi, constants

        # huggingface_hub reads HF_HUB_OFFLINE once, at import; the environment now counts too.
        if constants.is_offline_mode() or os.environ.get("HF_HUB_OFFLINE", "").upper() in (
            "1",
            "ON",
            "YES",
            "TRUE",
        ):
            raise DownloadError(OFFLINE_MESSAGE)

        api = HfApi(endpoint=self.endpoint(), token=self.token, library_name="gossamer")
        info = self._retrying(
            lambda: api.model_info(repo, revision=revision, files_metadata=True, timeout=self.timeout_s),
            f"the file list of {repo}@{revision}",
            repo,
            cancel,
        )
        files = []
        for s in info.siblings or []:
            size = s.lfs.size if s.lfs else s.size
            if size is None:
                raise DownloadError(f"The Hub gave no size for {s.rfilename} in {repo}; try again later.")
            files.append(
                RemoteFile(s.rfilename, size, s.lfs.sha256 if s.lfs else None, None if s.lfs else s.blob_id)
            )
        return RemoteRepo(repo, info.sha, tuple(files))

    def fetch_file(
        self,
        repo: str,
        commit: str,
        remote: RemoteFile,
        dest: Path,
        tracker: ProgressTracker,
        cancel: threading.Event | None = None,
    ) -> FileHasher:
        """Download ``remote`` to ``dest.part`` (continuing what is there) and return its hashes.

        The caller checks the hashes and renames the part into place; the part stays on any error.
        """
        from huggingface_hub import get_hf_file_metadata, hf_hub_url

        part, sidecar = part_paths(dest)
        url = hf_hub_url(repo, remote.path, revision=commit, endpoint=self.endpoint())
        hasher: FileHasher | None = None  # kept across retries while it matches the part on disk
        counted = 0  # bytes of this file the tracker holds
        tries = 0
        while True:
            try:
                meta = get_hf_file_metadata(url, token=self.token, timeout=self.timeout_s)
                if meta.size is not None and meta.size != remote.size:
                    raise DownloadError(
                        f"The Hub lists {remote.path} in {repo} at {human_bytes(remote.size)} but serves "
                        f"{human_bytes(meta.size)}; the repo is changing. Try again in a few minutes."
                    )
                expected = {
                    "size": remote.size,
                    "sha256": remote.sha256,
                    "git_sha1": remote.git_sha1,
                    "etag": meta.etag,
                    "revision": commit,
                }
                offset = part.stat().st_size if part.exists() else 0
                if read_json(sidecar) != expected or offset > remote.size:
                    # Another version of the file (its etag changed), or no record of what the part holds.
                    part.unlink(missing_ok=True)
                    atomic_write_json(sidecar, expected)
                    hasher, offset = None, 0
                if hasher is None or hasher.num_bytes != offset:
                    tracker.rewind(counted)
                    hasher = FileHasher(remote.size if remote.git_sha1 else None)
                    if offset:
                        hasher.feed_file(part, tracker.skip, cancel)
                    counted = offset
                if offset < remote.size:
                    for n in self._get(meta.location, url, part, offset, remote.size, hasher, cancel):
                        tracker.advance(n)
                        counted += n
                        tries = 0  # progress: a flaky line gets its retries back
                if hasher.num_bytes != remote.size:
                    raise _Incomplete(f"got {hasher.num_bytes} of {remote.size} bytes")
                return hasher
            except EngineError:
                raise  # ours already: cancelled, or a sentence for the user
            except Exception as error:  # noqa: BLE001 - sorted into disk full, retry, or a message
                if cancel is not None and cancel.is_set():
                    raise Cancelled(CANCELLED_MESSAGE) from error  # the watcher closed the connection
                if isinstance(error, OSError) and error.errno in DISK_FULL_ERRNOS:
                    raise DownloadError(
                        f"The disk is full: writing {remote.path} in {part.parent} failed "
                        f"({error.strerror}). Free some space and download again: it resumes."
                    ) from error
                if not _is_retryable(error):
                    raise _user_error(error, repo, commit, remote.path) from error
                tries = self._wait(tries, error, f"{remote.path} of {repo}", repo, cancel)

    def _get(
        self,
        location: str,
        url: str,
        part: Path,
        offset: int,
        size: int,
        hasher: FileHasher,
        cancel: threading.Event | None,
    ):
        """GET from ``offset``, append to ``part``, hash; yields the bytes written per chunk."""
        import httpx2
        from huggingface_hub.utils import build_hf_headers, get_session, hf_raise_for_status

        headers = build_hf_headers(token=self.token, library_name="gossamer")
        headers["Accept-Encoding"] = "identity"  # the byte count must be the file's
        if offset:
            headers["Range"] = f"bytes={offset}-"
        if _origin(location) != _origin(url):
            headers.pop("authorization", None)  # a signed CDN URL: the token stays with the Hub
        timeout = httpx2.Timeout(self.timeout_s)
        with (
            get_session().stream(
                "GET", location, headers=headers, timeout=timeout, follow_redirects=True
            ) as r,
            _close_on_cancel(r, cancel),
        ):
            if r.status_code >= 400:
                r.read()
                hf_raise_for_status(r)
            if offset and (r.status_code != 206 or _range_start(r.headers.get("Content-Range")) != offset):
                # The server ignored the Range (or answered another one): start this file over.
                part.unlink(missing_ok=True)
                raise _Incomplete(f"asked for bytes from {offset}, got {r.headers.get('Content-Range')}")
            with open(part, "ab" if offset else "wb", buffering=0) as f:
                for chunk in r.iter_bytes():  # as they arrive: progress, cancel and resume stay fine-grained
                    if cancel is not None and cancel.is_set():
                        raise Cancelled(CANCELLED_MESSAGE)
                    if hasher.num_bytes + len(chunk) > size:
                        part.unlink(missing_ok=True)
                        raise _Incomplete(f"the server sent more than {size} bytes")
                    view = memoryview(chunk)
                    while view:
                        written = f.write(view)
                        hasher.update(view[:written])
                        view = view[written:]
                    yield len(chunk)

    def _retrying(self, call: Callable[[], T], what: str, repo: str, cancel: threading.Event | None) -> T:
        tries = 0
        while True:
            try:
                return call()
            except Exception as error:  # noqa: BLE001 - sorted by _is_retryable; the rest are mapped
                if not _is_retryable(error):
                    raise _user_error(error, repo, None, None) from error
                tries = self._wait(tries, error, what, repo, cancel)

    def _wait(
        self, tries: int, error: Exception, what: str, repo: str, cancel: threading.Event | None
    ) -> int:
        if tries >= self.retries:
            raise _user_error(error, repo, None, None, what=what, tries=tries + 1) from error
        delay = min(self.backoff_s * 2**tries, 30.0)
        if cancel is not None:
            if cancel.wait(delay):
                raise Cancelled(CANCELLED_MESSAGE)
        else:
            time.sleep(delay)
        return tries + 1


@contextmanager
def _close_on_cancel(response, cancel: threading.Event | None) -> Iterator[None]:
    """Close the response when ``cancel`` is set, so a read stuck on a stalled connection ends now."""
    if cancel is None:
        yield
        return
    done = threading.Event()

    def watch() -> None:
        while not done.is_set():
            if cancel.wait(0.1):
                _shutdown(response)
                return

    watcher = threading.Thread(target=watch, name="download-cancel", daemon=True)
    watcher.start()
    try:
        yield
    finally:
        done.set()
        watcher.join()


def _shutdown(response) -> None:
    """Shut the response's socket down: unlike close(), that wakes a thread blocked reading it (POSIX)."""
    import socket

    stream = response.extensions.get("network_stream")
    sock = stream.get_extra_info("socket") if stream is not None else None
    try:
        if sock is not None:
            sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass  # already closed


def part_paths(dest: Path) -> tuple[Path, Path]:
    """``<file>.part`` (the bytes so far) and ``<file>.part.json`` (what they are the start of)."""
    return dest.with_name(dest.name + ".part"), dest.with_name(dest.name + ".part.json")


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    return parts.scheme, (parts.hostname or "").lower(), parts.port


def _range_start(content_range: str | None) -> int | None:
    match = _CONTENT_RANGE.fullmatch(content_range or "")
    return int(match[1]) if match else None


def _status(error: BaseException) -> int | None:
    response = getattr(error, "response", None)
    return getattr(response, "status_code", None)


def _is_retryable(error: BaseException) -> bool:
    import httpx2
    from huggingface_hub.errors import OfflineModeIsEnabled

    if isinstance(error, OfflineModeIsEnabled):
        return False
    if isinstance(error, (httpx2.TransportError, _Incomplete)):
        return True
    return _status(error) in RETRY_STATUS


def _user_error(
    error: BaseException,
    repo: str,
    revision: str | None,
    path: str | None,
    *,
    what: str | None = None,
    tries: int = 1,
) -> DownloadError:
    """A sentence a person can act on, for anything that went wrong talking to the Hub."""
    import httpx2
    from huggingface_hub import errors as hf

    endpoint = HubClient.endpoint()
    page = f"{endpoint}/{repo}"
    status = _status(error)
    tried = f" after {tries} tries" if tries > 1 else ""
    if isinstance(error, hf.OfflineModeIsEnabled):
        return DownloadError(OFFLINE_MESSAGE)
    if isinstance(error, hf.GatedRepoError) or status in (401, 403):
        return DownloadError(
            f"Hugging Face refused access to {repo} ({status}): it is gated or private. Log in on "
            f"huggingface.co, accept the license on {page}, then set HF_TOKEN to an access token "
            "(or run `hf auth login`) and download again."
        )
    if isinstance(error, hf.RevisionNotFoundError):
        return DownloadError(
            f"{repo} has no revision {revision or 'like that'} on {endpoint}; check the name."
        )
    if isinstance(error, hf.RemoteEntryNotFoundError):
        return DownloadError(f"{repo} has no file {path} at that revision on {endpoint}.")
    if isinstance(error, hf.RepositoryNotFoundError) or status == 404:
        return DownloadError(f"There is no model {repo} on {endpoint}; check the name (owner/name).")
    if status is not None:
        return DownloadError(
            f"Hugging Face answered {status} for {what or path or repo}{tried}: the server has trouble. "
            "Try again later: the download continues where it stopped."
        )
    if isinstance(error, (httpx2.TransportError, _Incomplete)):
        return DownloadError(
            f"Could not download {what or path or repo} from {endpoint}{tried} "
            f"({error or type(error).__name__}). "
            "Check the network connection and download again: it continues where it stopped."
        )
    return DownloadError(f"Downloading {what or path or repo} failed: {error}")
