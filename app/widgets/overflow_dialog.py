"""The choice a chat makes once, when it outgrows the context: drop its oldest turns, summarise them, stop."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QDialog, QLabel, QPushButton, QVBoxLayout

from app import formatting


class OverflowDialog(QDialog):
    chosen = Signal(str)  # "drop" | "summarize" | "stop"

    def __init__(self, tokens: int, limit: int, parent=None, *, kind: str = "send") -> None:
        """``kind``: what waits for the choice: "send" (a new message), "regenerate", "continue" or "edit"."""
        super().__init__(parent)
        self.setObjectName("OverflowDialog")
        self.setWindowTitle(self.tr("This chat is full"))
        self.setMinimumWidth(480)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(18, 16, 18, 14)
        layout.setSpacing(12)
        leads = {
            "send": self.tr(
                "With your new message this chat's prompt would be %1 tokens; %2 leave room for an answer. "
                "What should this chat do now and from now on?"
            ),
            "regenerate": self.tr(
                "To answer again, the model reads a prompt of %1 tokens; %2 leave room for an answer. "
                "What should this chat do now and from now on?"
            ),
            "continue": self.tr(
                "To go on with this answer, the model reads a prompt of %1 tokens; %2 leave room for the "
                "rest of it. What should this chat do now and from now on?"
            ),
            "edit": self.tr(
                "With your edited message this chat's prompt would be %1 tokens; %2 leave room for an "
                "answer. What should this chat do now and from now on?"
            ),
        }
        lead = QLabel(
            leads[kind]
            .replace("%1", formatting.count(tokens))
            .replace("%2", formatting.count(limit)),
            self,
        )
        lead.setWordWrap(True)
        layout.addWidget(lead)
        note = QLabel(
            self.tr(
                "Either way every message stays in the chat and its export; only what the model reads "
                "changes. Settings sets what new chats do."
            ),
            self,
        )
        note.setObjectName("MutedLabel")
        note.setWordWrap(True)
        layout.addWidget(note)
        # each choice a button with what it does beneath: three long choices side by side would clip
        self.buttons: dict[str, QPushButton] = {}
        for policy, label, tip in (
            (
                "summarize",
                self.tr("Summarise the oldest turns"),
                self.tr("The model writes a summary of them first; it shows in the chat, and you can edit it."),
            ),
            (
                "drop",
                self.tr("Drop the oldest turns"),
                self.tr("The model no longer reads the oldest messages; instructions and recent turns stay."),
            ),
            ("stop", self.tr("Stop"), self.tr("Send nothing; start a new chat to go on.")),
        ):
            button = QPushButton(label, self)
            button.setAccessibleDescription(tip)
            button.clicked.connect(lambda _=False, p=policy: self._choose(p))
            words = QLabel(tip, self)
            words.setObjectName("MutedLabel")
            words.setWordWrap(True)
            words.setContentsMargins(4, 0, 0, 6)
            layout.addWidget(button)
            layout.addWidget(words)
            self.buttons[policy] = button
        self.buttons["summarize"].setProperty("kind", "primary")
        self.buttons["summarize"].setDefault(True)

    def _choose(self, policy: str) -> None:
        self.accept()
        self.chosen.emit(policy)
