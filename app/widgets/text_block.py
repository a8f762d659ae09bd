"""A read-only rich text block that is exactly as tall as its text (no scroll bar of its own)."""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QTextOption
from PySide6.QtWidgets import QFrame, QSizePolicy, QTextBrowser


class TextBlock(QTextBrowser):
    """Selectable text that grows with its content inside a scrolling chat column."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.setOpenExternalLinks(True)
        self.setTextInteractionFlags(
            Qt.TextInteractionFlag.TextBrowserInteraction | Qt.TextInteractionFlag.TextSelectableByKeyboard
        )
        self.setWordWrapMode(QTextOption.WrapMode.WrapAtWordBoundaryOrAnywhere)
        self.document().setDocumentMargin(0)
        self.viewport().setAutoFillBackground(False)
        self.setFocusPolicy(Qt.FocusPolicy.ClickFocus)
        self.document().documentLayout().documentSizeChanged.connect(self._fit)
        self._height = -1

    def _fit(self, *_args) -> None:
        self.document().setTextWidth(self.viewport().width())
        chrome = self.height() - self.viewport().height()  # frame, border and padding from the stylesheet
        height = int(self.document().size().height() + 0.999) + max(chrome, 0)
        if height != self._height:
            self._height = height
            self.setFixedHeight(max(height, 1))

    def resizeEvent(self, event) -> None:  # noqa: N802 (Qt override)
        super().resizeEvent(event)
        if event.size().width() != event.oldSize().width():
            self._fit()

    def sizeHint(self) -> QSize:  # noqa: N802
        return QSize(super().sizeHint().width(), max(self._height, 1))

    def wheelEvent(self, event) -> None:  # noqa: N802
        event.ignore()  # let the chat scroll, never this block

    def contextMenuEvent(self, event) -> None:  # noqa: N802
        menu = self.createStandardContextMenu(event.pos())
        menu.exec(event.globalPos())
        menu.deleteLater()
