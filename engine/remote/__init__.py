"""Remote models: a gpt-oss model on an OpenAI-compatible server (vLLM, SGLang, Ollama, LM Studio,
llama.cpp, another Gossamer), driven through the same events as a local ChatSession.

- ``client``: the HTTP side (httpx2, streaming): ``GET /v1/models``, ``POST /v1/chat/completions``.
- ``session``: ``RemoteSession.generate`` yields harmony events (engine/text/harmony/events.py).
- ``conversation``: the app's history as OpenAI messages, earlier reasoning dropped as harmony drops it.
- ``servers``: the servers a person saved; their keys kept owner-only (or in the OS keychain).
- ``errors``: what can go wrong, worded for the person who has to fix it.
"""

from __future__ import annotations

from engine.remote.client import RemoteClient, RemoteModel
from engine.remote.errors import (
    KeyRejectedError,
    RemoteError,
    RemoteModelMissingError,
    RemoteServerError,
    RemoteTimeoutError,
    ServerUnreachableError,
    StreamBrokenError,
)


def __getattr__(name: str):
    # the session needs engine.runtime.session (and so torch); the saved servers and the client do not, so
    # the app's Models window can list servers without paying for torch
    if name == "RemoteSession":
        from engine.remote.session import RemoteSession

        return RemoteSession
    raise AttributeError(name)


__all__ = [
    "KeyRejectedError",
    "RemoteClient",
    "RemoteError",
    "RemoteModel",
    "RemoteModelMissingError",
    "RemoteServerError",
    "RemoteSession",
    "RemoteTimeoutError",
    "ServerUnreachableError",
    "StreamBrokenError",
]
