"""What can go wrong talking to a model server, each worded for the person who has to fix it.

Every message names the server by its address (never the key) and says what to do next.
"""

from __future__ import annotations

from engine.errors import EngineError


class RemoteError(EngineError):
    """Base class for a remote model server's failures."""


class ServerUnreachableError(RemoteError):
    """No connection: refused, no such host, a network down, a certificate that does not verify."""


class KeyRejectedError(RemoteError):
    """The server answered 401 or 403: the API key is missing, wrong or revoked."""


class RemoteModelMissingError(RemoteError):
    """The server no longer serves the chosen model (or has no models at all)."""


class RemoteTimeoutError(RemoteError):
    """The server accepted the connection but did not answer in time."""


class StreamBrokenError(RemoteError):
    """The answer stopped arriving in the middle: the text so far was kept (``partial``)."""

    def __init__(
        self, message: str, partial: dict[str, str] | None = None, *, timed_out: bool = False
    ) -> None:
        super().__init__(message)
        self.partial = dict(partial or {})
        self.timed_out = timed_out  # the server went silent (rather than closing the connection)


class RemoteServerError(RemoteError):
    """The server answered with an error of its own (a 4xx or 5xx it explains, a reply not of the API)."""
