"""A fenced code block: language label, Copy button, monospaced text that scrolls sideways."""

from __future__ import annotations

from PySide6.QtCore import QEvent, Qt, QTimer
from PySide6.QtGui import QGuiApplication, QTextCursor
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QSizePolicy,
    QToolButton,
    QVBoxLayout,
)

from app import theme
from app.widgets.code_highlighter import CodeHighlighter

MAX_VISIBLE_LINES = 30


class CodeBlock(QFrame):
    def __init__(self, code: str = "", language: str = "", parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("CodeBlock")
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)

        header = QFrame(self)
        header.setObjectName("CodeHeader")
        header_layout = QHBoxLayout(header)
        header_layout.setContentsMargins(12, 4, 6, 4)
        self.language_label = QLabel(language or self.tr("code"), header)
        self.language_label.setObjectName("CodeLanguage")
        self.copy_button = QToolButton(header)
        self.copy_button.setObjectName("CodeCopy")
        self.copy_button.setText(self.tr("Copy"))
        self.copy_button.setToolTip(self.tr("Copy code"))
        self.copy_button.setAccessibleName(self.tr("Copy code"))
        self.copy_button.setCursor(Qt.CursorShape.PointingHandCursor)
        self.copy_button.clicked.connect(self.copy)
        header_layout.addWidget(self.language_label)
        header_layout.addStretch(1)
        header_layout.addWidget(self.copy_button)
        layout.addWidget(header)

        self.editor = QPlainTextEdit(self)
        self.editor.setObjectName("CodeText")
        self.editor.setReadOnly(True)
        self.editor.setFrameShape(QFrame.Shape.NoFrame)
        self.editor.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self.editor.setFont(theme.mono_font())
        self.editor.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded)
        self.editor.setAccessibleName(self.tr("Code"))
        self.editor.document().setDocumentMargin(10)
        layout.addWidget(self.editor)
        self.highlighter = CodeHighlighter(self.editor.document(), language)
        self._code = ""
        self._copied_timer = QTimer(self, singleShot=True, interval=1500)
        self._copied_timer.timeout.connect(lambda: self.copy_button.setText(self.tr("Copy")))
        self.editor.horizontalScrollBar().rangeChanged.connect(self._fit)
        self.set_code(code, language)

    @property
    def code(self) -> str:
        return self._code

    def set_code(self, code: str, language: str | None = None) -> None:
        if language is not None and language != self.highlighter.language:
            self.highlighter.language = language.lower()
            self.language_label.setText(language or self.tr("code"))
        if code == self._code:
            return
        if code.startswith(self._code) and self._code:
            cursor = QTextCursor(self.editor.document())
            cursor.movePosition(QTextCursor.MoveOperation.End)
            cursor.insertText(code[len(self._code) :])  # streaming: append only what is new
        else:
            self.editor.setPlainText(code)
        self._code = code
        self._fit()

    def copy(self) -> None:
        QGuiApplication.clipboard().setText(self._code)
        self.copy_button.setText(self.tr("Copied"))
        self._copied_timer.start()

    def _fit(self, *_args) -> None:
        blocks = self.editor.document().blockCount()
        lines = max(1, min(blocks, MAX_VISIBLE_LINES))
        self.editor.setVerticalScrollBarPolicy(
            Qt.ScrollBarPolicy.ScrollBarAsNeeded
            if blocks > MAX_VISIBLE_LINES
            else Qt.ScrollBarPolicy.ScrollBarAlwaysOff
        )
        margins = self.editor.contentsMargins()
        height = (
            lines * self.editor.fontMetrics().lineSpacing()
            + 2 * int(self.editor.document().documentMargin())
            + margins.top()
            + margins.bottom()
            + 2 * self.editor.frameWidth()
            + 2
        )
        if self.editor.horizontalScrollBar().maximum() > 0:
            height += self.editor.horizontalScrollBar().sizeHint().height()
        self.editor.setFixedHeight(height)

    def changeEvent(self, event) -> None:  # noqa: N802
        if event.type() == QEvent.Type.PaletteChange:
            self.highlighter.update_colors()
        super().changeEvent(event)
