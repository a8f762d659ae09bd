"""A server's address as people type it, made into the base URL of its OpenAI-compatible API.

"localhost:8000", "http://gpu-box:8000/", "https://llm.example.com/v1" and a pasted
".../v1/chat/completions" all become a base URL ending in the API version ("/v1" unless one is given).
Without a scheme, loopback and private addresses get http (a local vLLM, Ollama, LM Studio or llama.cpp has
no certificate) and anything else https, so a key is never sent in the clear to a public host by accident.
"""

from __future__ import annotations

import ipaddress
import re
from urllib.parse import urlsplit, urlunsplit

from engine.remote.errors import RemoteError

_API_SUFFIXES = ("/chat/completions", "/completions", "/models")
_VERSION = re.compile(r"/v\d+(beta\d*|alpha\d*)?$")


def normalize_url(text: str) -> str:
    """The API base URL for what a person typed; RemoteError when it cannot be an address."""
    raw = (text or "").strip()
    if not raw:
        raise RemoteError("Type the server's address, for example http://localhost:8000/v1.")
    if "://" not in raw:
        host = urlsplit("//" + raw).hostname or ""
        raw = ("http://" if _is_local(host) else "https://") + raw
    parts = urlsplit(raw)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise RemoteError(
            f"{text.strip()!r} is not a server address. Use one like http://localhost:8000/v1 "
            "or https://llm.example.com/v1."
        )
    try:
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number
    except ValueError:
        raise RemoteError(f"The port in {text.strip()!r} is not a number.") from None
    path = parts.path.rstrip("/")
    for suffix in _API_SUFFIXES:
        if path.endswith(suffix):
            path = path[: -len(suffix)]
            break
    if not _VERSION.search(path):
        path += "/v1"
    return urlunsplit((parts.scheme, parts.netloc, path, "", ""))


def host_name(base_url: str) -> str:
    """The name shown beside a server's models: its host, with the port when it is not the scheme's."""
    parts = urlsplit(base_url)
    host = parts.hostname or base_url
    return f"{host}:{parts.port}" if parts.port else host


def _is_local(host: str) -> bool:
    if host in ("localhost", "") or host.endswith((".local", ".localhost", ".lan", ".internal")):
        return True
    try:
        address = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return "." not in host  # a bare machine name on the local network ("gpu-box")
    return address.is_loopback or address.is_private or address.is_link_local
