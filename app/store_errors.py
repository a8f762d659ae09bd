"""Writes the chat store refused, in the user's language: what was not saved, why, what to do, and where.

The store raises ``StoreWriteError`` (app/store.py) with a ``kind``: "full" (no space left), "read_only" (the
file or its folder cannot be written) or "other"; the chat controller catches it and names the task that
failed, and the window shows ``shown(error, task)`` in its notice bar, in whatever language is installed.
"""

from __future__ import annotations

from PySide6.QtCore import QCoreApplication

from app.store import StoreWriteError

translate = QCoreApplication.translate

# What the user was doing when a write failed; "answer": a streaming answer's save, tried again by itself.
TASKS = (
    "send",
    "edit",
    "regenerate",
    "continue",
    "answer",
    "rename",
    "delete",
    "restore",
    "effort",
    "version",
    "overflow",
)
KINDS = ("full", "read_only", "other", "gone")


def shown(error: StoreWriteError, task: str) -> tuple[str, str]:
    """(text, detail): what was not saved, why and what to do, and the folder the chats are in; the detail
    is SQLite's own sentence, to show beneath, for an error neither a full disk nor an unwritable file."""
    where = translate("StoreErrors", "Chats are kept in %1.").replace("%1", str(error.path.parent))
    text = " ".join((lead(task), cause(error.kind), advice(error.kind, task), where))
    return text, error.reason if error.kind == "other" else ""


def lead(task: str) -> str:
    leads = {
        "send": translate("StoreErrors", "Gossamer could not save your message."),
        "edit": translate("StoreErrors", "Gossamer could not save your edited message."),
        "regenerate": translate("StoreErrors", "Gossamer could not start a new answer."),
        "continue": translate("StoreErrors", "Gossamer could not continue the answer."),
        "answer": translate("StoreErrors", "Gossamer could not save the answer."),
        "rename": translate("StoreErrors", "Gossamer could not rename the chat."),
        "delete": translate("StoreErrors", "Gossamer could not delete the chat."),
        "restore": translate("StoreErrors", "Gossamer could not bring the chat back."),
        "effort": translate("StoreErrors", "Gossamer could not save the reasoning effort for this chat."),
        "overflow": translate("StoreErrors", "Gossamer could not save what this chat does when it is full."),
        "version": translate("StoreErrors", "Gossamer could not switch to that version of the message."),
    }
    return leads[task]


def cause(kind: str) -> str:
    causes = {
        "full": translate("StoreErrors", "The disk is full."),
        "read_only": translate("StoreErrors", "The chats file is read-only or cannot be written."),
        "other": translate("StoreErrors", "Writing to the chats file failed."),
        "gone": translate(
            "StoreErrors", "The chat is no longer there: it was deleted, perhaps in another window."
        ),
    }
    return causes[kind]


def advice(kind: str, task: str) -> str:
    """What to do: send again (the text is still in the box), try again, or, for a streaming answer, nothing
    but making room: it is saved by itself."""
    if kind == "gone":  # retrying cannot help
        return translate("StoreErrors", "Nothing more can be saved in it. Start a new chat to go on.")
    if task == "answer":
        texts = {
            "full": translate(
                "StoreErrors", "The answer stays on screen and is saved as soon as there is room."
            ),
            "read_only": translate(
                "StoreErrors",
                "The answer stays on screen and is saved as soon as the chats folder can be written again.",
            ),
            "other": translate(
                "StoreErrors", "The answer stays on screen, and Gossamer keeps trying to save it."
            ),
        }
    elif task in ("send", "edit"):
        texts = {
            "full": translate("StoreErrors", "Free some space, then send again."),
            "read_only": translate(
                "StoreErrors", "Check that the chats folder can be written, then send again."
            ),
            "other": translate(
                "StoreErrors", "Send again. If it keeps failing, close Gossamer and check the chats folder."
            ),
        }
    else:
        texts = {
            "full": translate("StoreErrors", "Free some space, then try again."),
            "read_only": translate(
                "StoreErrors", "Check that the chats folder can be written, then try again."
            ),
            "other": translate(
                "StoreErrors", "Try again. If it keeps failing, close Gossamer and check the chats folder."
            ),
        }
    return texts[kind]


def answer_saved() -> str:
    return translate("StoreErrors", "The answer is saved now.")


def closing(error: StoreWriteError) -> str:
    """The question before closing with an answer the store still refuses."""
    lost = translate("StoreErrors", "If you close now, the part of the answer not yet saved is lost.")
    return " ".join((lead("answer"), cause(error.kind), advice(error.kind, "retry"), lost))
