"""An OpenAI-compatible server over HTTP (httpx2): its model list, and chat completions as a stream.

The stream is read on a thread of its own and handed over through a queue, so the caller can stop at once:
a set ``cancel`` returns within ``POLL_S`` even while the server is silent (a long prefill on a busy GPU), and
the connection's socket is shut down so the reader wakes and the server sees the client go. HTTPS uses the
system's certificates (httpx2's default: the OS store on Windows and macOS, the system CA files on Linux).
"""

from __future__ import annotations

import json
import logging
import queue
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass

from engine.remote.endpoint import host_name, normalize_url
from engine.remote.errors import (
    KeyRejectedError,
    RemoteError,
    RemoteModelMissingError,
    RemoteServerError,
    RemoteTimeoutError,
    ServerUnreachableError,
    StreamBrokenError,
)

DEFAULT_TIMEOUT_S = 120.0  # the longest silence accepted: a big prompt's prefill on a shared server
CONNECT_TIMEOUT_S = 10.0
POLL_S = 0.05
KEY_PLACE = "in Models (Servers), or with --api-key"

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RemoteModel:
    id: str
    context_length: int | None = None  # vLLM's max_model_len; most servers do not say
    owned_by: str = ""


class RemoteClient:
    """One server: ``base_url`` as typed (normalized here), an optional API key; thread-safe."""

    def __init__(
        self, base_url: str, api_key: str | None = None, *, timeout_s: float = DEFAULT_TIMEOUT_S
    ) -> None:
        self.base_url = normalize_url(base_url)
        self.host = host_name(self.base_url)
        self._key = clean_key(api_key)
        self.timeout_s = float(timeout_s)
        self._http = None
        self._lock = threading.Lock()

    def __repr__(self) -> str:  # never the key
        return f"RemoteClient({self.base_url!r}, key={'set' if self._key else 'none'})"

    @property
    def has_key(self) -> bool:
        return self._key is not None

    def close(self) -> None:
        with self._lock:
            if self._http is not None:
                self._http.close()
                self._http = None

    # requests
    def list_models(self) -> list[RemoteModel]:
        """``GET /models``: the models the server serves, in its order."""
        import httpx2

        try:
            response = self._client().get(self.base_url + "/models", headers=self._headers())
        except httpx2.HTTPError as error:
            raise self._transport_error(error) from None
        if response.status_code >= 400:
            raise self._status_error(response.status_code, _server_message(response.text), "list")
        try:
            data = response.json()["data"]
            models = [
                RemoteModel(
                    str(item["id"]),
                    _positive_int(item.get("max_model_len") or item.get("context_length")),
                    str(item.get("owned_by") or ""),
                )
                for item in data
            ]
        except (ValueError, KeyError, TypeError):
            raise RemoteServerError(
                f"{self.base_url} answered, but not with an OpenAI-compatible model list. Check the address: "
                "it is usually the server's address followed by /v1."
            ) from None
        return models

    def stream_chat(self, body: dict, cancel: threading.Event | None = None) -> Iterator[dict]:
        """``POST /chat/completions`` with ``stream``: each chunk as a dict, until ``[DONE]`` or the end.

        Returns quietly when ``cancel`` is set. Raises the errors of engine.remote.errors: before the stream
        starts the server's own (key, model, status); once it runs, StreamBrokenError for a cut connection
        and RemoteTimeoutError-worded StreamBrokenError for silence longer than ``timeout_s``.
        """
        items: queue.Queue = queue.Queue()
        stop = threading.Event()
        opened: dict = {}
        reader = threading.Thread(
            target=self._read_stream, args=(body, items, stop, opened), name="remote-stream", daemon=True
        )
        reader.start()
        try:
            while True:
                try:
                    kind, value = items.get(timeout=POLL_S)
                except queue.Empty:
                    if cancel is not None and cancel.is_set():
                        return
                    continue
                if cancel is not None and cancel.is_set():
                    return
                if kind == "chunk":
                    yield value
                elif kind == "end":
                    return
                else:
                    raise value
        finally:
            stop.set()
            _shut(opened.get("response"))

    # the reader thread
    def _read_stream(self, body: dict, items: queue.Queue, stop: threading.Event, opened: dict) -> None:
        import httpx2

        started = False
        delivered = (
            False  # a chunk reached the caller: silence after it is a broken answer, not a slow server
        )
        try:
            headers = self._headers() | {"Accept": "text/event-stream"}
            url = self.base_url + "/chat/completions"
            with self._client().stream("POST", url, json=body, headers=headers) as response:
                opened["response"] = response
                if response.status_code >= 400:
                    text = response.read().decode("utf-8", "replace")
                    items.put(
                        (
                            "error",
                            self._status_error(
                                response.status_code, _server_message(text), "chat", body.get("model")
                            ),
                        )
                    )
                    return
                started = True
                kind = response.headers.get("content-type", "").partition(";")[0].strip().lower()
                if kind == "application/json":  # a server that ignored "stream": one whole answer
                    items.put(("chunk", _as_chunk(json.loads(response.read()))))
                    items.put(("end", None))
                    return
                for event in httpx2.EventSource(response):
                    if stop.is_set():
                        return
                    if event.data.strip() == "[DONE]":
                        items.put(("end", None))
                        return
                    if not event.data.strip():
                        continue
                    try:
                        chunk = json.loads(event.data)
                    except ValueError:
                        items.put(("error", self._not_the_api(event.data)))
                        return
                    items.put(("chunk", chunk))
                    delivered = True
            items.put(("end", None))
        except Exception as error:  # handed to the caller's thread, which raises it
            if stop.is_set():
                return
            if isinstance(error, RemoteError):
                items.put(("error", error))
            elif started and (delivered or not isinstance(error, httpx2.TimeoutException)):
                items.put(("error", self._broken(error)))
            elif isinstance(error, httpx2.HTTPError):
                items.put(("error", self._transport_error(error)))
            else:
                items.put(("error", error))

    # words
    def _not_the_api(self, data: str) -> RemoteServerError:
        return RemoteServerError(
            f"{self.host} sent something that is not an OpenAI-compatible answer ({data[:80]!r}). Check the "
            "address and that the server speaks the OpenAI API."
        )

    def _transport_error(self, error: Exception) -> RemoteError:
        import httpx2

        detail = str(error) or type(error).__name__
        if isinstance(error, httpx2.ConnectTimeout):
            return ServerUnreachableError(
                f"Could not reach the server at {self.base_url}: it did not answer within "
                f"{CONNECT_TIMEOUT_S:.0f} s. Check that it is running and that this computer can reach it "
                "(network, VPN, firewall), then try again."
            )
        if isinstance(error, httpx2.TimeoutException):
            return RemoteTimeoutError(
                f"The server at {self.host} did not answer within {self.timeout_s:.0f} s. It may be busy or "
                "still "
                "loading the model; try again in a moment, or check the server."
            )
        if isinstance(error, httpx2.ConnectError):
            lowered = detail.lower()
            if "certificate" in lowered or "ssl" in lowered:
                why = (
                    f"its HTTPS certificate could not be verified ({detail}). Install the certificate in "
                    "the system's trust store, or use the address the certificate was made for"
                )
            elif "refused" in lowered:
                why = "the connection was refused. Check that the server is running and listens on that port"
            elif "name" in lowered or "resolution" in lowered or "getaddrinfo" in lowered:
                why = "no computer of that name was found. Check the address"
            else:
                why = f"{detail}. Check the address and that the server is running"
            return ServerUnreachableError(
                f"Could not reach the server at {self.base_url}: {why}, then try again."
            )
        if isinstance(error, httpx2.UnsupportedProtocol):
            return ServerUnreachableError(f"{self.base_url} is not an http or https address. Check it.")
        return ServerUnreachableError(
            f"Talking to the server at {self.base_url} failed: {detail}. Check the address and that the "
            "server "
            "is running, then try again."
        )

    def _broken(self, error: Exception) -> StreamBrokenError:
        import httpx2

        if isinstance(error, httpx2.TimeoutException):
            why = f"sent nothing for {self.timeout_s:.0f} s"
        else:
            why = f"closed the connection ({str(error) or type(error).__name__})"
        return StreamBrokenError(
            f"The server at {self.host} {why} in the middle of the answer. The answer so far is kept: "
            "Continue goes on with it, Regenerate starts it again.",
            timed_out=isinstance(error, httpx2.TimeoutException),
        )

    def _status_error(self, status: int, message: str, during: str, model: str | None = None) -> RemoteError:
        said = f" It said: {message}" if message else ""
        if status in (401, 403):
            if self._key is None:
                return KeyRejectedError(
                    f"The server at {self.host} needs an API key ({status}). Add its key {KEY_PLACE}, "
                    "then try again."
                )
            return KeyRejectedError(
                f"The server at {self.host} rejected the API key ({status}). Check the key {KEY_PLACE}, "
                "then try again."
            )
        if during == "chat" and model and (status == 404 or (status == 400 and "model" in message.lower())):
            missing = self._model_missing(model)
            if missing is not None:
                return missing
        if status == 404:
            return RemoteServerError(
                f"{self.base_url} has no OpenAI API there (404). Check the address: it is usually the "
                "server's "
                f"address followed by /v1.{said}"
            )
        if status in (408, 504):
            return RemoteTimeoutError(
                f"The server at {self.host} timed out ({status}). It may be busy; try again in a "
                f"moment.{said}"
            )
        if status == 429:
            return RemoteServerError(
                f"The server at {self.host} is busy or over its limit (429). Try again in a moment.{said}"
            )
        if status >= 500:
            return RemoteServerError(
                f"The server at {self.host} failed ({status}). Try again; if it keeps failing, look at the "
                f"server's log.{said}"
            )
        return RemoteServerError(f"The server at {self.host} refused the request ({status}).{said}")

    def _model_missing(self, model: str) -> RemoteModelMissingError | None:
        """RemoteModelMissingError when the server's list lacks ``model``; None if it has it or won't say."""
        try:
            have = [m.id for m in self.list_models()]
        except RemoteError:
            return None
        if model in have:
            return None
        others = f" It has: {', '.join(have[:6])}." if have else " It lists no models at all."
        return RemoteModelMissingError(
            f"The server at {self.host} no longer has the model {model!r}.{others} Choose another of its "
            "models in Models, or load the model on the server."
        )

    # plumbing
    def _headers(self) -> dict:
        return {"Authorization": f"Bearer {self._key}"} if self._key else {}

    def _client(self):
        import httpx2

        with self._lock:
            if self._http is None:
                timeout = httpx2.Timeout(self.timeout_s, connect=min(CONNECT_TIMEOUT_S, self.timeout_s))
                # trust_env stays on: proxies and SSL_CERT_FILE from the environment are the user's choice
                self._http = httpx2.Client(timeout=timeout, follow_redirects=True)
            return self._http


def clean_key(api_key: str | None) -> str | None:
    """An API key as pasted, without the spaces and line break around it (keys never contain them; a file
    read with ``$(cat key)`` or a copy from a web page brings them); None for none. A key with a space, line
    break or other control character inside cannot go in a header: a RemoteError says so."""
    key = (api_key or "").strip() or None
    if key is not None and any(ch.isspace() or not ch.isprintable() for ch in key):
        raise RemoteError(
            "The API key has a space or line break inside it, and keys never do. Copy the key again, "
            f"whole and alone, and paste it {KEY_PLACE}."
        )
    return key


def _shut(response) -> None:
    """Wake a reader blocked on ``response``'s socket (a closed fd does not wake recv(); a shutdown does)."""
    if response is None:
        return
    try:
        stream = response.extensions.get("network_stream")
        sock = stream.get_extra_info("socket") if stream is not None else None
        if sock is not None:
            sock.shutdown(socket.SHUT_RDWR)
    except Exception:  # already closed, or a transport without a socket: the reader ends on its own
        log.debug("could not shut the stream's socket", exc_info=True)


def _server_message(text: str) -> str:
    """The sentence in an error body ({"error": {"message"}}, {"error": "..."}, {"detail"}, text), short."""
    try:
        data = json.loads(text)
    except ValueError:
        data = None
    message = ""
    if isinstance(data, dict):
        error = data.get("error", data.get("detail", data.get("message")))
        if isinstance(error, dict):
            error = error.get("message", error)
        message = error if isinstance(error, str) else json.dumps(error) if error is not None else ""
    elif text and "<html" not in text.lower():
        message = text
    message = " ".join(message.split())
    return message[:300] + ("…" if len(message) > 300 else "")


def _as_chunk(completion: dict) -> dict:
    """A whole (non-streamed) completion as one chunk, its message as the delta."""
    choices = [
        {"index": c.get("index", 0), "delta": c.get("message") or {}, "finish_reason": c.get("finish_reason")}
        for c in completion.get("choices") or []
    ]
    return {"choices": choices, "usage": completion.get("usage")}


def _positive_int(value) -> int | None:
    try:
        number = int(value)
    except (TypeError, ValueError):
        return None
    return number if number > 0 else None
