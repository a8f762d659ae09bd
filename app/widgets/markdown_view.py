"""Markdown as a column of prose blocks and code blocks; a growing text rebuilds only its last block.

``set_text`` with a longer version of the same text (streaming) re-splits from the start of the last
segment and re-renders that one block; every earlier block is left as it is. Prose goes through
``QTextDocument.setMarkdown`` (GitHub dialect), fenced code through ``CodeBlock``.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent
from PySide6.QtGui import QColor, QTextCharFormat, QTextCursor
from PySide6.QtWidgets import QVBoxLayout, QWidget

from app import markdown_split, theme
from app.markdown_split import Segment
from app.widgets.code_block import CodeBlock
from app.widgets.text_block import TextBlock


class MarkdownView(QWidget):
    def __init__(self, parent=None, point_size: float = 11.0) -> None:
        super().__init__(parent)
        self.setObjectName("MarkdownView")
        self._layout = QVBoxLayout(self)
        self._layout.setContentsMargins(0, 0, 0, 0)
        self._layout.setSpacing(10)
        self._text = ""
        self._segments: list[Segment] = []
        self._widgets: list[QWidget] = []
        self._point_size = point_size
        self.renders = 0  # prose re-renders, for tests that check streaming cost

    def text(self) -> str:
        return self._text

    def blocks(self) -> list[QWidget]:
        return list(self._widgets)

    def set_text(self, text: str) -> None:
        if text == self._text:
            return
        if self._segments and text.startswith(self._text):
            keep = markdown_split.restart_index(self._segments, self._text)
            # nothing kept: from the top (blank lines before a first "```" that turns into prose join it)
            start = self._segments[keep].start if keep else 0
            fresh = markdown_split.split(text[start:], offset=start)
        else:
            keep, fresh = 0, markdown_split.split(text)
        self._text = text
        for index, segment in enumerate(fresh):
            position = keep + index
            if position < len(self._segments) and self._segments[position] == segment:
                continue
            self._show(position, segment)
        for widget in self._widgets[keep + len(fresh) :]:
            self._layout.removeWidget(widget)
            widget.deleteLater()
        del self._widgets[keep + len(fresh) :]
        self._segments = self._segments[:keep] + fresh

    def _show(self, position: int, segment: Segment) -> None:
        existing = self._widgets[position] if position < len(self._widgets) else None
        old = self._segments[position] if position < len(self._segments) else None
        if existing is not None and old is not None and old.kind == segment.kind:
            widget = existing
        else:
            widget = self._make(segment.kind)
            if existing is not None:
                self._layout.replaceWidget(existing, widget)
                existing.deleteLater()
                self._widgets[position] = widget
            else:
                self._layout.addWidget(widget)
                self._widgets.append(widget)
        if segment.kind == "code":
            widget.set_code(segment.text, segment.language)
        else:
            self._render_prose(widget, segment.text)

    def _make(self, kind: str) -> QWidget:
        if kind == "code":
            return CodeBlock(parent=self)
        block = TextBlock(self)
        block.setObjectName("AnswerText")
        font = theme.ui_font(self._point_size)
        block.document().setDefaultFont(font)
        return block

    def _render_prose(self, block: TextBlock, source: str) -> None:
        self.renders += 1
        block.setMarkdown(source)
        _style_document(block.document())
        block.setProperty("markdown_source", source)

    def changeEvent(self, event) -> None:  # noqa: N802
        if event.type() == QEvent.Type.PaletteChange:
            for widget, segment in zip(self._widgets, self._segments, strict=True):
                if segment.kind == "prose":
                    self._render_prose(widget, segment.text)
        super().changeEvent(event)


def _style_document(document) -> None:
    """Give inline code a tinted background and our monospace font (setMarkdown leaves it bare)."""
    palette = theme.current()
    mono = theme.mono_font(document.defaultFont().pointSizeF() * 0.92)
    code_format = QTextCharFormat()
    code_format.setBackground(QColor(palette.code_bg))
    code_format.setFontFamilies(mono.families())
    code_format.setFontPointSize(mono.pointSizeF())
    ranges = []
    block = document.begin()
    while block.isValid():
        iterator = block.begin()
        while not iterator.atEnd():
            fragment = iterator.fragment()
            if fragment.isValid() and fragment.charFormat().fontFixedPitch():
                ranges.append((fragment.position(), fragment.position() + fragment.length()))
            iterator += 1
        block = block.next()
    cursor = QTextCursor(document)
    for start, end in ranges:
        cursor.setPosition(start)
        cursor.setPosition(end, QTextCursor.MoveMode.KeepAnchor)
        cursor.mergeCharFormat(code_format)
