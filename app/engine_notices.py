"""Engine notices in the user's language: how the engine now runs, worded by the app from the notice's facts.

A turn (or a load) may bring an ``engine.notices.Notice``: something the user should know that is not the
model's text, such as the GPU running out of memory and the model being placed again with less on it. Its
``text`` is the engine's English sentence (the CLI prints it); for the kinds the app knows it words the
notice's facts itself, with tr. A kind added to the engine later is shown in the engine's words.
"""

from __future__ import annotations

from PySide6.QtCore import QCoreApplication

from app import formatting

translate = QCoreApplication.translate


def shown(notice) -> str:
    """An engine.notices.Notice in the user's language. No English sentence beneath, unlike an error's: the
    engine's adds only the new placement, which the status bar shows in the user's language."""
    if notice.kind == "replanned" and notice.budget_bytes is not None:
        return replanned(notice.budget_bytes, notice.context_length)
    if notice.kind == "torch_fallback":  # the reason is in the log and the status bar's tooltip
        return translate(
            "EngineNotices",
            "The GPU kernels (Triton) failed, so Gossamer now uses the slower PyTorch path. Answers may be "
            "slower; the log says why.",
        )
    if notice.kind == "cpu_kernels_fallback":  # the reason is in the log and the status bar's tooltip
        return cpu_kernels_fallback(notice.reason)
    from app import long_context_words

    return long_context_words.notice(notice) or notice.text


def cpu_kernels_fallback(failed_set: str | None) -> str:
    """A set of the CPU's expert kernels failed: "vector" (the portable kernels run now) or "numba" (every
    numba kernel: the slower PyTorch path runs now)."""
    if failed_set == "vector":
        return translate(
            "EngineNotices",
            "The CPU's fast vector kernels failed on this processor, so Gossamer now uses its portable "
            "kernels. Answers may be slower; the log says why.",
        )
    return translate(
        "EngineNotices",
        "The CPU's fast kernels (numba) failed on this processor, so Gossamer now uses the slower PyTorch "
        "path. Answers may be slower; the log says why.",
    )


def replanned(budget_bytes: int, context_length: int | None = None) -> str:
    """The GPU ran out of memory and the model was placed again for ``budget_bytes`` of it (and a context
    shortened to ``context_length`` tokens, when not None)."""
    if context_length is None:
        text = translate(
            "EngineNotices",
            "The GPU ran out of memory, so Gossamer now uses at most %1 of it. Answers may be slower.",
        )
    else:
        text = translate(
            "EngineNotices",
            "The GPU ran out of memory, so Gossamer now uses at most %1 of it and the context is shortened "
            "to %2 tokens. Answers may be slower.",
        ).replace("%2", formatting.count(context_length))
    return text.replace("%1", formatting.memory(budget_bytes))
