"""Where a chat's prompt starts once it outgrew the context: the summary that stands for the turns above it
(the model reads it; the user may edit it), or a line saying those turns are left out.

It stands in the conversation's column in a MessageWidget's place and answers the chat view the same way.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QSizePolicy,
    QVBoxLayout,
)

from app import context_store
from app.store import Message

SUMMARY_PREFIX_END = ":\n"  # the engine's heading ends here (engine.runtime.overflow.summary_message)


def summary_text(content: str) -> str:
    """A summary's own words, without the heading the model reads above them."""
    _, found, rest = content.partition(SUMMARY_PREFIX_END)
    return rest if found else content


class ContextNote(QFrame):
    regenerate_requested = Signal()  # never: a note has no answer (the chat view connects every row alike)
    continue_requested = Signal()
    edit_submitted = Signal(str)
    summary_edited = Signal(str)  # the summary as the user rewrote it

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.role = "developer"
        self.setObjectName("ContextNote")
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self._message: Message | None = None
        layout = QVBoxLayout(self)
        layout.setContentsMargins(12, 8, 12, 8)
        layout.setSpacing(6)
        self.title = QLabel(self)
        self.title.setObjectName("MutedLabel")
        self.title.setWordWrap(True)
        layout.addWidget(self.title)
        self.text = QLabel(self)
        self.text.setWordWrap(True)
        self.text.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.text.setAccessibleName(self.tr("Summary"))
        layout.addWidget(self.text)
        self.editor = QPlainTextEdit(self)
        self.editor.setAccessibleName(self.tr("Edit the summary"))
        self.editor.setVisible(False)
        layout.addWidget(self.editor)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        self.edit_button = QPushButton(self.tr("Edit summary"), self)
        self.cancel_button = QPushButton(self.tr("Cancel"), self)
        self.save_button = QPushButton(self.tr("Save"), self)
        self.save_button.setProperty("kind", "primary")
        for button in (self.edit_button, self.cancel_button, self.save_button):
            buttons.addWidget(button)
        layout.addLayout(buttons)
        self.edit_button.clicked.connect(lambda: self.start_edit())
        self.cancel_button.clicked.connect(lambda: self._set_editing(False))
        self.save_button.clicked.connect(self._save)
        self._set_editing(False)

    @property
    def kind(self) -> str | None:
        return context_store.note_kind(self._message) if self._message is not None else None

    def refresh(self, message: Message, live, *, last: bool, busy: bool) -> None:
        self._message = message
        covers = int((message.settings or {}).get("covers") or 0)
        if self.kind == "summary":
            self.title.setText(
                self.tr(
                    "Summary of the %n earlier messages above: the model reads it instead of them.",
                    "",
                    covers,
                )
            )
            self.text.setText(summary_text(message.content))
        else:
            self.title.setText(
                self.tr(
                    "The %n earlier messages above are left out of what the model reads: the chat outgrew "
                    "its context. They stay here and in exports.",
                    "",
                    covers,
                )
            )
        self.text.setVisible(self.kind == "summary" and not self.editing)
        self.edit_button.setVisible(self.kind == "summary" and not self.editing)
        self.edit_button.setEnabled(not busy)

    @property
    def editing(self) -> bool:
        return not self.editor.isHidden()

    def start_edit(self, text: str | None = None) -> None:
        if self.kind != "summary":
            return
        self.editor.setPlainText(summary_text(self._message.content) if text is None else text)
        self._set_editing(True)
        self.editor.setFocus()

    def _save(self) -> None:
        text = self.editor.toPlainText().strip()
        if text:
            self._set_editing(False)
            self.summary_edited.emit(text)

    def _set_editing(self, editing: bool) -> None:
        self.editor.setVisible(editing)
        self.cancel_button.setVisible(editing)
        self.save_button.setVisible(editing)
        self.text.setVisible(not editing and self.kind == "summary")
        self.edit_button.setVisible(not editing and self.kind == "summary")
