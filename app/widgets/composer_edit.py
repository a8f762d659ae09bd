"""The text box of the composer: Enter sends, Shift+Enter starts a new line, and it grows with its text."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QFrame, QPlainTextEdit, QSizePolicy

MAX_LINES = 10


class ComposerEdit(QPlainTextEdit):
    submitted = Signal()
    focus_changed = Signal(bool)  # the composer's frame shows the focus ring, the text box has none

    def __init__(self, parent=None, *, min_lines: int = 1) -> None:
        """``min_lines``: the height it starts at (the message editor opens a little taller than one line)."""
        super().__init__(parent)
        self.min_lines = min_lines
        self.setObjectName("ComposerEdit")
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setTabChangesFocus(True)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded)
        self.document().setDocumentMargin(4)
        self.document().documentLayout().documentSizeChanged.connect(self._fit)
        self._placeholders: tuple[str, ...] = ()
        self._fit()

    def set_placeholders(self, *texts: str) -> None:
        """Placeholder texts, longest first: the longest that fits on one line is shown (a narrow window
        gets the short one instead of a wrapped, cut-off long one)."""
        self._placeholders = texts
        self._choose_placeholder()

    def _choose_placeholder(self) -> None:
        if not self._placeholders:
            return
        room = self.viewport().width() - 2 * int(self.document().documentMargin()) - 4
        metrics = self.fontMetrics()
        fitting = [t for t in self._placeholders if metrics.horizontalAdvance(t) <= room]
        text = fitting[0] if fitting else self._placeholders[-1]
        if text != self.placeholderText():
            self.setPlaceholderText(text)

    def focusInEvent(self, event) -> None:  # noqa: N802
        super().focusInEvent(event)
        self.focus_changed.emit(True)

    def focusOutEvent(self, event) -> None:  # noqa: N802
        super().focusOutEvent(event)
        self.focus_changed.emit(False)

    def keyPressEvent(self, event) -> None:  # noqa: N802
        enter = event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter)
        modifiers = event.modifiers() & ~Qt.KeyboardModifier.KeypadModifier
        if enter and modifiers == Qt.KeyboardModifier.NoModifier:
            event.accept()
            self.submitted.emit()
            return
        if enter and modifiers & Qt.KeyboardModifier.ShiftModifier:
            self.textCursor().insertText("\n")
            event.accept()
            return
        super().keyPressEvent(event)

    def _fit(self, *_args) -> None:
        lines = 0
        block = self.document().begin()
        while block.isValid():
            lines += max(1, block.layout().lineCount())
            block = block.next()
        lines = max(self.min_lines, min(lines, MAX_LINES))
        margins = self.contentsMargins()
        height = (
            lines * self.fontMetrics().lineSpacing()
            + 2 * int(self.document().documentMargin())
            + margins.top()
            + margins.bottom()
            + 2
        )
        self.setFixedHeight(height)

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._choose_placeholder()
        self._fit()
