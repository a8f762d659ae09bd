"""Where the user writes: the text box, the reasoning effort, and Send (Stop while an answer streams)."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QComboBox, QFrame, QHBoxLayout, QLabel, QPushButton, QVBoxLayout

from app import theme
from app.settings import EFFORTS
from app.widgets.composer_edit import ComposerEdit


class Composer(QFrame):
    send_requested = Signal(str)
    stop_requested = Signal()
    effort_changed = Signal(str)

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("Composer")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(14, 10, 10, 10)
        layout.setSpacing(6)
        self.edit = ComposerEdit(self)
        self.edit.setFont(theme.ui_font(11.0))
        self.edit.set_placeholders(
            self.tr("Message gpt-oss…  (Enter to send, Shift+Enter for a new line)"),
            self.tr("Message gpt-oss…  (Enter to send)"),
            self.tr("Message gpt-oss…"),
        )
        self.edit.focus_changed.connect(self._show_focus)
        self.edit.setAccessibleName(self.tr("Message"))
        self.edit.submitted.connect(self._on_submit)
        self.edit.textChanged.connect(self._update_buttons)
        layout.addWidget(self.edit)

        row = QHBoxLayout()
        row.setSpacing(8)
        self.effort_label = QLabel(self.tr("Reasoning"), self)
        self.effort_label.setObjectName("EffortLabel")
        self.effort = QComboBox(self)
        self.effort.setObjectName("EffortBox")
        self.effort.setAccessibleName(self.tr("Reasoning effort"))
        self.effort.setToolTip(
            self.tr("How long the model thinks before it answers. Saved with this conversation.")
        )
        names = {"low": self.tr("Low"), "medium": self.tr("Medium"), "high": self.tr("High")}
        for effort in EFFORTS:
            self.effort.addItem(names[effort], effort)
        self.effort_label.setBuddy(self.effort)
        self.effort.currentIndexChanged.connect(lambda: self.effort_changed.emit(self.current_effort()))
        row.addWidget(self.effort_label)
        row.addWidget(self.effort)
        row.addStretch(1)
        self.hint = QLabel(self)
        self.hint.setObjectName("ComposerHint")
        row.addWidget(self.hint)
        self.send_button = QPushButton(self.tr("Send"), self)
        self.send_button.setObjectName("SendButton")
        self.send_button.setProperty("kind", "primary")
        self.send_button.setCursor(Qt.CursorShape.PointingHandCursor)
        self.send_button.setAccessibleName(self.tr("Send message"))
        self.send_button.clicked.connect(self._on_button)
        row.addWidget(self.send_button)
        layout.addLayout(row)
        # Tab goes on from the text box to Reasoning, then Send; then out of the composer.
        self.setTabOrder(self.edit, self.effort)
        self.setTabOrder(self.effort, self.send_button)
        self._busy = False
        self._update_buttons()

    # state
    def current_effort(self) -> str:
        return self.effort.currentData()

    def set_effort(self, effort: str) -> None:
        index = self.effort.findData(effort)
        if index >= 0 and index != self.effort.currentIndex():
            self.effort.blockSignals(True)
            self.effort.setCurrentIndex(index)
            self.effort.blockSignals(False)

    def set_busy(self, busy: bool) -> None:
        """While an answer streams the button stops it; the text box stays editable for the next message."""
        self._busy = busy
        self._update_buttons()

    def _show_focus(self, focused: bool) -> None:
        self.setProperty("focused", focused)
        self.style().unpolish(self)
        self.style().polish(self)

    def set_hint(self, text: str) -> None:
        self.hint.setText(text)

    def text(self) -> str:
        return self.edit.toPlainText()

    def set_text(self, text: str) -> None:
        self.edit.setPlainText(text)

    def clear_text(self) -> None:
        self.edit.clear()

    # actions
    def _on_submit(self) -> None:
        self._send()  # while busy the window says to wait (the button is Stop then)

    def _on_button(self) -> None:
        if self._busy:
            self.stop_requested.emit()
        else:
            self._send()

    def _send(self) -> None:
        text = self.edit.toPlainText().strip()
        if not text:
            return
        self.send_requested.emit(text)  # the window clears the box once the message is accepted

    def _update_buttons(self) -> None:
        if self._busy:
            self.send_button.setText(self.tr("Stop"))
            self.send_button.setToolTip(self.tr("Stop the answer (Esc)"))
            self.send_button.setAccessibleName(self.tr("Stop answering"))
            self.send_button.setProperty("kind", "stop")
            self.send_button.setEnabled(True)
        else:
            self.send_button.setText(self.tr("Send"))
            self.send_button.setToolTip(self.tr("Send (Enter)"))
            self.send_button.setAccessibleName(self.tr("Send message"))
            self.send_button.setProperty("kind", "primary")
            self.send_button.setEnabled(bool(self.edit.toPlainText().strip()))
        self.send_button.style().unpolish(self.send_button)
        self.send_button.style().polish(self.send_button)
