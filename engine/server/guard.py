"""The server's door: every request passes these checks before any endpoint sees it.

A server on a desktop is reachable by every program and every web page the user opens, so:
- the ``Host`` header must name this machine (the bound address, localhost, 127.0.0.1 or [::1]): a web
  page that rebinds its own domain name to 127.0.0.1 (DNS rebinding) sends its own name, and gets 403;
- a request with an ``Origin`` header comes from a web page: 403 unless that origin was allowed
  (``--allow-origin``), and then it gets CORS headers, preflights included;
- ``Authorization: Bearer KEY`` is required (401), compared in constant time;
- a body over ``MAX_BODY`` bytes gets 413, whether it says its length up front or not.
It also writes one log line per request (method, path, status, time; never the request's text) and
tells ``on_request`` about it, which the app counts.
"""

from __future__ import annotations

import hmac
import ipaddress
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from engine.server.errors import ApiError

MAX_BODY = 4 * 1024 * 1024
LOCAL_NAMES = frozenset({"localhost", "127.0.0.1", "[::1]", "::1"})

log = logging.getLogger("engine.server.requests")


@dataclass(frozen=True)
class RequestRecord:
    """What the log says about one request (never its text)."""

    method: str
    path: str
    status: int
    seconds: float
    client: str


class _TooLarge(ApiError):
    """Raised inside the app while it reads the body; its exception handler answers 413."""

    def __init__(self) -> None:
        super().__init__(
            413, f"The request body is larger than {MAX_BODY // (1024 * 1024)} MiB.", code="request_too_large"
        )


class Guard:
    """ASGI middleware around the API application."""

    def __init__(
        self,
        app,
        *,
        key: str,
        bound_host: str,
        allow_origins: tuple[str, ...] = (),
        on_request: Callable[[RequestRecord], None] | None = None,
    ) -> None:
        self.app = app
        self.key = key.encode("utf-8")
        self.hosts = LOCAL_NAMES | {bound_host.lower(), f"[{bound_host.lower()}]"}
        self.any_ip = bound_host in ("0.0.0.0", "::", "")  # bound to every address: any IP literal is ours
        self.allow_origins = frozenset(origin.rstrip("/") for origin in allow_origins)
        self.on_request = on_request

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = {"code": 0}
        headers = {
            name.decode("latin-1").lower(): value.decode("latin-1") for name, value in scope["headers"]
        }
        origin = headers.get("origin")
        cors = self._cors(origin)

        async def send_logged(message) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
                if cors:
                    message = {**message, "headers": [*message.get("headers", []), *cors]}
            await send(message)

        try:
            refusal = self._refusal(scope, headers, origin)
            if refusal is not None:
                await refusal.response()(scope, receive, send_logged)
            elif scope["method"] == "OPTIONS" and origin is not None:  # an allowed origin's CORS preflight
                await _preflight(send_logged)
            else:
                await self.app(scope, _limited(receive, headers), send_logged)
        except _TooLarge:
            if status["code"] == 0:
                await _too_large().response()(scope, receive, send_logged)
        finally:
            record = RequestRecord(
                scope["method"],
                scope["path"],
                status["code"] or 499,
                time.perf_counter() - started,
                _client(scope),
            )
            log.info(
                "%s %s %d %.2fs from %s",
                record.method,
                record.path,
                record.status,
                record.seconds,
                record.client,
            )
            if self.on_request is not None:
                try:
                    self.on_request(record)
                except Exception:  # a listener's failure is not the request's
                    log.exception("on_request failed")

    def _refusal(self, scope, headers: dict[str, str], origin: str | None) -> ApiError | None:
        if not self._host_ok(headers.get("host", "")):
            return ApiError(
                403,
                "This server answers only requests addressed to this computer (localhost or 127.0.0.1).",
                code="host_not_allowed",
            )
        if origin is not None and origin.rstrip("/") not in self.allow_origins:
            return ApiError(
                403,
                f"Requests from web pages are refused (origin {origin}). Start the server "
                "with --allow-origin for a web app you trust.",
                code="origin_not_allowed",
            )
        if scope["method"] == "OPTIONS" and origin is not None:
            return None  # a preflight carries no key
        if not self._key_ok(headers.get("authorization", "")):
            return ApiError(
                401,
                "A valid API key is required: send it as 'Authorization: Bearer KEY'. "
                "Gossamer shows the key in Settings, and `python -m engine serve` says where it is.",
                code="invalid_api_key",
            )
        length = headers.get("content-length")
        if length is not None and length.isdigit() and int(length) > MAX_BODY:
            return _too_large()
        return None

    def _host_ok(self, host: str) -> bool:
        host = host.strip().lower()
        if not host:
            return False
        name = host.rsplit(":", 1)[0] if not host.endswith("]") and host.count(":") == 1 else host
        if name.startswith("[") and "]:" in name:
            name = name[: name.index("]") + 1]
        if name in self.hosts:
            return True
        if self.any_ip:
            try:
                ipaddress.ip_address(name.strip("[]"))
                return True  # an address literal cannot be rebound; a domain name can
            except ValueError:
                return False
        return False

    def _key_ok(self, authorization: str) -> bool:
        scheme, _, token = authorization.partition(" ")
        return scheme.lower() == "bearer" and hmac.compare_digest(token.strip().encode("utf-8"), self.key)

    def _cors(self, origin: str | None) -> list[tuple[bytes, bytes]]:
        if origin is None or origin.rstrip("/") not in self.allow_origins:
            return []
        return [(b"access-control-allow-origin", origin.encode("latin-1")), (b"vary", b"Origin")]


def _too_large() -> ApiError:
    return _TooLarge()


def _limited(receive, headers: dict[str, str]):
    """``receive`` that stops a body growing past MAX_BODY (a chunked body says no length up front)."""
    received = 0

    async def limited():
        nonlocal received
        message = await receive()
        if message["type"] == "http.request":
            received += len(message.get("body", b""))
            if received > MAX_BODY:
                raise _TooLarge
        return message

    return limited


async def _preflight(send) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": 204,
            "headers": [
                (b"access-control-allow-methods", b"GET, POST, OPTIONS"),
                (b"access-control-allow-headers", b"authorization, content-type"),
                (b"access-control-max-age", b"600"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": b""})


def _client(scope) -> str:
    client = scope.get("client")
    return f"{client[0]}:{client[1]}" if client else ""
