""" "< 2 / 3 >" under a message that has versions (edits of it, or answers regenerated): the buttons step
between them, and the chat shows the chosen version with the turns that followed it.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QToolButton, QWidget


class VersionSwitcher(QWidget):
    step_requested = Signal(int)  # -1: the version before, 1: the one after

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("VersionSwitcher")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        self.previous_button = self._button("‹", self.tr("Previous version"), -1)
        self.label = QLabel(self)
        self.label.setObjectName("VersionLabel")
        self.label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.next_button = self._button("›", self.tr("Next version"), 1)
        layout.addWidget(self.previous_button)
        layout.addWidget(self.label)
        layout.addWidget(self.next_button)
        self.version, self.count = 1, 1
        self.setVisible(False)

    def _button(self, text: str, name: str, step: int) -> QToolButton:
        button = QToolButton(self)
        button.setObjectName("MessageAction")
        button.setText(text)
        button.setToolTip(name)
        button.setAccessibleName(name)
        button.setCursor(Qt.CursorShape.PointingHandCursor)
        button.setFocusPolicy(Qt.FocusPolicy.StrongFocus)  # reachable with Tab, like the other actions
        button.clicked.connect(lambda: self.step_requested.emit(step))
        return button

    def set_versions(self, version: int, count: int) -> None:
        """Show "version / count"; hidden while there is only one version."""
        self.version, self.count = version, count
        self.label.setText(f"{version} / {count}")
        words = self.tr("Version %1 of %2").replace("%1", str(version)).replace("%2", str(count))
        self.label.setAccessibleName(words)
        self.label.setToolTip(words)
        self.previous_button.setEnabled(version > 1)
        self.next_button.setEnabled(version < count)
        self.setVisible(count > 1)
