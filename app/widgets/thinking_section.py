"""The model's analysis channel, apart from the answer: a header that folds it away, live while it streams.

The header reads "Thinking… 12 s" while the analysis streams and "Thought for 12 s · 340 tokens" after;
the body shows the analysis as plain text in a quieter color.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QTextCursor
from PySide6.QtWidgets import QFrame, QSizePolicy, QToolButton, QVBoxLayout

from app import formatting, theme
from app.widgets.text_block import TextBlock


class ThinkingSection(QFrame):
    toggled = Signal(bool)

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("ThinkingSection")
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(6)
        self.header = QToolButton(self)
        self.header.setObjectName("ThinkingHeader")
        self.header.setCheckable(True)
        self.header.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.header.setArrowType(Qt.ArrowType.RightArrow)
        self.header.setCursor(Qt.CursorShape.PointingHandCursor)
        self.header.setAccessibleName(self.tr("Thinking"))
        self.header.setAccessibleDescription(self.tr("Show or hide the model's reasoning"))
        self.header.toggled.connect(self._on_toggled)
        self.header.clicked.connect(lambda: setattr(self, "_user_toggled", True))
        layout.addWidget(self.header, 0, Qt.AlignmentFlag.AlignLeft)

        self.body = TextBlock(self)
        self.body.setObjectName("ThinkingText")
        self.body.setAccessibleName(self.tr("Reasoning"))
        self.body.document().setDefaultFont(theme.ui_font(10.0))
        self.body.setVisible(False)
        layout.addWidget(self.body)

        self._text = ""
        self._user_toggled = False
        self._streaming = False
        self._seconds: float | None = None
        self._tokens: int | None = None
        self._update_header()

    # state
    @property
    def expanded(self) -> bool:
        return self.header.isChecked()

    def text(self) -> str:
        return self._text

    def set_expanded(self, expanded: bool, *, by_user: bool = False) -> None:
        if by_user:
            self._user_toggled = True
        self.header.setChecked(expanded)

    def set_text(self, text: str) -> None:
        if text == self._text:
            return
        if self._text and text.startswith(self._text):
            cursor = QTextCursor(self.body.document())
            cursor.movePosition(QTextCursor.MoveOperation.End)
            cursor.insertText(text[len(self._text) :])  # streaming: append only what is new
        else:
            self.body.setPlainText(text)
        self._text = text
        self._update_header()

    def set_progress(self, *, streaming: bool, seconds: float | None, tokens: int | None) -> None:
        """``streaming`` while analysis is still arriving; ``tokens`` when known (else words are counted)."""
        was_streaming = self._streaming
        self._streaming, self._seconds, self._tokens = streaming, seconds, tokens
        if streaming and not was_streaming and not self._user_toggled:
            self.header.setChecked(True)  # live: show it as it comes
        elif was_streaming and not streaming and not self._user_toggled:
            self.header.setChecked(False)  # the answer has started: fold the reasoning away
        self._update_header()

    def _on_toggled(self, checked: bool) -> None:
        self.header.setArrowType(Qt.ArrowType.DownArrow if checked else Qt.ArrowType.RightArrow)
        self.body.setVisible(checked)
        self.toggled.emit(checked)

    def _update_header(self) -> None:
        if self._tokens is not None:
            length = self.tr("%n tokens", "", self._tokens)
        else:
            length = self.tr("%n words", "", len(self._text.split()))
        if self._streaming:
            label = self.tr("Thinking…")
            if self._seconds is not None:
                label += " " + formatting.duration(self._seconds)
        elif self._seconds is not None and self._seconds >= 0.5:
            label = self.tr("Thought for %1").replace("%1", formatting.duration(self._seconds))
        else:
            label = self.tr("Thoughts")
        self.header.setText(f"{label} · {length}")
        self.header.setToolTip(self.tr("Click to show or hide the model's reasoning"))
