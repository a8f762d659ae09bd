"""Engine errors in the user's language: what went wrong and what to do, with the engine's words beneath.

The engine (engine/errors.py) speaks English, and its sentences name the file, tensor or size involved;
it never imports Qt, so translating is the app's work. For each kind of engine error the app shows a
headline and what to do in the user's language, with the engine's sentence beneath as the detail. An
error that is not the engine's (a bug) keeps the app's own sentence, with the traceback to report it.

Worker threads turn an exception into an ``ErrorReport`` (plain data, so a signal can carry it and the
store can keep its kind); the GUI thread words it with ``shown``, in whatever language is installed then.
"""

from __future__ import annotations

import traceback
from dataclasses import dataclass

from PySide6.QtCore import QCoreApplication

from app import logs, remote_errors

translate = QCoreApplication.translate

# The engine error classes (engine/errors.py) worded here; others (EngineError itself, a class added later)
# show their English sentence.
KINDS = (
    "ModelFilesError",
    "UnsupportedModelError",
    "OutOfMemoryError",
    "ContextFullError",
    "DownloadError",
    "VerificationError",
    "ModelInUseError",
    "NonFiniteLogitsError",
)


@dataclass(frozen=True)
class ErrorReport:
    kind: str  # the EngineError class's name ("EngineError" itself too); "" for an error not the engine's
    message: str  # the engine's sentence (English); for other errors the app's own, already translated
    traceback: str = ""  # for errors that look like bugs: the traceback and where the log file is


def report(error: BaseException, generic: str) -> ErrorReport:
    """An exception as the user will see it: an EngineError speaks for itself; anything else gets ``generic``
    (say, "The model could not be loaded.") with a plain sentence, the traceback and where the log is."""
    from engine.errors import EngineError

    if isinstance(error, EngineError):
        return ErrorReport(type(error).__name__, str(error))
    if isinstance(error, MemoryError):
        return ErrorReport(
            "",
            translate(
                "EngineWorker",
                "The computer ran out of memory. Close other programs, or choose a smaller context length "
                "in Settings, then try again.",
            ),
            _traceback(error),
        )
    bug = translate(
        "EngineWorker",
        "This looks like a bug in Gossamer. The details below and the log file help to report it.",
    )
    return ErrorReport("", f"{generic} {bug}", _traceback(error))


def shown(error: ErrorReport, lead: str = "") -> tuple[str, str]:
    """(text, detail): ``lead`` (what failed, e.g. "Could not load gpt-oss-20b."), then what went wrong and
    what to do in the user's language; the detail is the engine's English sentence, to show beneath in
    smaller type ("" for an error not the engine's, whose sentence is the text)."""
    if not error.kind:
        return _joined(lead, error.message), ""
    return _joined(lead, explanation(error.kind) or ("" if lead else _unnamed())), error.message


def explanation(kind: str) -> str:
    """Headline and what to do for an engine error of class ``kind``; "" for one without its own words
    (``EngineError`` itself, a class added later): its English sentence says what to do."""
    texts = {
        "ModelFilesError": (
            translate("EngineErrors", "The model's files are missing or damaged."),
            translate(
                "EngineErrors", "Verify the model in Models or download it again, or choose another folder."
            ),
        ),
        "UnsupportedModelError": (
            translate("EngineErrors", "This folder does not hold a gpt-oss model."),
            translate(
                "EngineErrors",
                "Gossamer runs gpt-oss models such as gpt-oss-20b. Choose another folder, or download "
                "one in Models.",
            ),
        ),
        "OutOfMemoryError": (
            translate("EngineErrors", "There is not enough memory for the model."),
            translate(
                "EngineErrors",
                "Close other programs that use the GPU or memory, or choose a shorter context length or a "
                "lower VRAM budget in Settings, then try again.",
            ),
        ),
        "ContextFullError": (
            translate("EngineErrors", "The conversation is longer than the model's context."),
            translate(
                "EngineErrors", "Start a new conversation, or choose a longer context length in Settings."
            ),
        ),
        "DownloadError": (
            translate("EngineErrors", "The model's files could not be downloaded or copied."),
            translate(
                "EngineErrors",
                "Check the internet connection and the free disk space, then try again: a download "
                "goes on where it stopped.",
            ),
        ),
        "VerificationError": (
            translate("EngineErrors", "Some of the model's files are not what was published."),
            translate(
                "EngineErrors",
                "Download the model again to replace them, or import it again from a good copy.",
            ),
        ),
        "ModelInUseError": (
            translate("EngineErrors", "The model is in use."),
            translate(
                "EngineErrors",
                "Load another model, or close the Gossamer window that uses this one, then try again.",
            ),
        ),
        "NonFiniteLogitsError": (
            translate("EngineErrors", "The model produced invalid numbers, so the answer was stopped."),
            translate(
                "EngineErrors",
                "The model's files may be damaged. Verify the model; if it is fine, load it again, or choose "
                "the CPU in Settings.",
            ),
        ),
    }
    headline, advice = texts.get(kind) or remote_errors.explanation(kind)
    return _joined(headline, advice)


def task_lead(task: str, name: str) -> str:
    """What failed, for a task ("load", and the model manager's "download", "verify", "remove", "import",
    "move", "list") on ``name`` (a model, a folder): the sentence ``shown`` puts first."""
    leads = {
        "load": translate("EngineErrors", "Could not load %1."),
        "download": translate("EngineErrors", "Could not download %1."),
        "verify": translate("EngineErrors", "Could not verify %1."),
        "remove": translate("EngineErrors", "Could not delete %1."),
        "import": translate("EngineErrors", "Could not import %1."),
        "move": translate("EngineErrors", "Could not move the models to %1."),
        "list": translate("EngineErrors", "Could not list the models."),
    }
    return leads.get(task, "").replace("%1", name)


def _unnamed() -> str:
    return translate("EngineErrors", "Gossamer could not do that.")


def _joined(*sentences: str) -> str:
    return " ".join(sentence for sentence in sentences if sentence)


def _traceback(error: BaseException) -> str:
    text = "".join(traceback.format_exception(error)).rstrip()
    label = translate("EngineWorker", "Log file:")
    return f"{text}\n\n{label} {logs.log_file()}"
