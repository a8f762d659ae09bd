"""A model server's failures (engine.remote.errors) in the user's language: headline and what to do.

``app.engine_errors.explanation`` asks here for the kinds it has no words of its own for; the engine's
English sentence, which names the server, is shown beneath.
"""

from __future__ import annotations

from PySide6.QtCore import QCoreApplication

translate = QCoreApplication.translate


def explanation(kind: str) -> tuple[str, str]:
    """(headline, what to do) for a remote error class name; ("", "") for any other."""
    texts = {
        "ServerUnreachableError": (
            translate("RemoteErrors", "The model server could not be reached."),
            translate(
                "RemoteErrors",
                "Check that the server is running and that its address is right (Models, Edit server…), "
                "and that this computer can reach it, then try again.",
            ),
        ),
        "KeyRejectedError": (
            translate("RemoteErrors", "The server rejected the API key."),
            translate(
                "RemoteErrors", "Give the right key in Models: select the server, Edit server…, API key."
            ),
        ),
        "RemoteModelMissingError": (
            translate("RemoteErrors", "The server no longer has this model."),
            translate(
                "RemoteErrors", "Choose another of its models in Models, or load the model on the server."
            ),
        ),
        "RemoteTimeoutError": (
            translate("RemoteErrors", "The server took too long to answer."),
            translate("RemoteErrors", "It may be busy or still loading the model. Try again in a moment."),
        ),
        "StreamBrokenError": (
            translate("RemoteErrors", "The answer broke off: the connection to the server was lost."),
            translate(
                "RemoteErrors",
                "What arrived is kept. Continue goes on with it; Regenerate writes the answer again.",
            ),
        ),
        "RemoteServerError": (
            translate("RemoteErrors", "The model server answered with an error."),
            translate("RemoteErrors", "Try again; if it keeps failing, look at the server's log."),
        ),
    }
    return texts.get(kind, ("", ""))
