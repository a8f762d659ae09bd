"""A strip above the composer for things the user should read: errors with what to do, Undo offers.

An error from the engine shows what went wrong and what to do in the user's language, with the engine's
own sentence (which names the file or size) beneath in smaller type; an unexpected one shows a plain
sentence, a Details expander with the traceback, and where the log file is.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QToolButton,
    QVBoxLayout,
)

from app import engine_errors, theme
from app.engine_errors import ErrorReport


class NoticeBar(QFrame):
    action_triggered = Signal(str)  # the action's key
    dismissed = Signal()

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("NoticeBar")
        self.setAccessibleName(self.tr("Notice"))
        layout = QVBoxLayout(self)
        layout.setContentsMargins(14, 10, 10, 10)
        layout.setSpacing(8)
        row = QHBoxLayout()
        row.setSpacing(8)
        self.message = QLabel(self)
        self.message.setObjectName("NoticeText")
        self.message.setWordWrap(True)
        self.message.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        text_column = QVBoxLayout()
        text_column.setSpacing(2)
        text_column.addWidget(self.message)
        self.engine_text = QLabel(self)
        self.engine_text.setObjectName("NoticeEngineText")
        self.engine_text.setFont(theme.ui_font(9.0))
        self.engine_text.setWordWrap(True)
        self.engine_text.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.engine_text.setVisible(False)
        text_column.addWidget(self.engine_text)
        row.addLayout(text_column, 1)
        self._buttons = QHBoxLayout()
        self._buttons.setSpacing(6)
        row.addLayout(self._buttons)
        self.details_button = QToolButton(self)
        self.details_button.setObjectName("NoticeDetailsButton")
        self.details_button.setText(self.tr("Details"))
        self.details_button.setCheckable(True)
        self.details_button.toggled.connect(self._toggle_details)
        row.addWidget(self.details_button)
        self.close_button = QToolButton(self)
        self.close_button.setObjectName("NoticeClose")
        self.close_button.setText("✕")
        self.close_button.setToolTip(self.tr("Dismiss"))
        self.close_button.setAccessibleName(self.tr("Dismiss notice"))
        self.close_button.clicked.connect(self.dismiss)
        row.addWidget(self.close_button)
        layout.addLayout(row)
        self.details = QPlainTextEdit(self)
        self.details.setObjectName("NoticeDetails")
        self.details.setReadOnly(True)
        self.details.setMaximumHeight(180)
        self.details.setAccessibleName(self.tr("Error details"))
        self.details.setVisible(False)
        layout.addWidget(self.details)
        self._timer = QTimer(self, singleShot=True)
        self._timer.timeout.connect(self.dismiss)
        self.kind = ""
        self.setVisible(False)

    def show_notice(
        self,
        text: str,
        *,
        kind: str = "info",
        actions: list[tuple[str, str]] = (),
        details: str = "",
        timeout_ms: int = 0,
        engine_text: str = "",
    ) -> None:
        """``kind``: "info", "error" or "warning"; ``actions``: (key, label) buttons; a click emits key;
        ``details``: a traceback, folded; ``engine_text``: the engine's own sentence, beneath ``text``."""
        self.kind = kind
        self.setProperty("kind", kind)
        self.style().unpolish(self)
        self.style().polish(self)
        self.message.setText(text)
        self.engine_text.setText(engine_text)
        self.engine_text.setVisible(bool(engine_text))
        while self._buttons.count():
            item = self._buttons.takeAt(0)
            if item.widget():
                item.widget().deleteLater()
        for key, label in actions:
            button = QPushButton(label, self)
            button.setObjectName("NoticeAction")
            button.clicked.connect(lambda _=False, k=key: self._on_action(k))
            self._buttons.addWidget(button)
        self.details.setPlainText(details)
        self.details_button.setVisible(bool(details))
        self.details_button.setChecked(False)
        self.details.setVisible(False)
        self.setVisible(True)
        if timeout_ms:
            self._timer.start(timeout_ms)
        else:
            self._timer.stop()

    def show_error(self, error: ErrorReport, *, lead: str = "", actions: list[tuple[str, str]] = ()) -> None:
        """An error reported by a worker, worded by ``engine_errors.shown``; ``lead`` says what failed."""
        text, engine_text = engine_errors.shown(error, lead)
        self.show_notice(
            text, kind="error", actions=actions, details=error.traceback, engine_text=engine_text
        )

    def text(self) -> str:
        return self.message.text()

    def dismiss(self) -> None:
        self._timer.stop()
        if self.isVisible():
            self.setVisible(False)
            self.dismissed.emit()

    def _on_action(self, key: str) -> None:
        self.dismiss()  # first: the action may show a notice of its own (an Undo that failed)
        self.action_triggered.emit(key)

    def _toggle_details(self, checked: bool) -> None:
        self.details.setVisible(checked)
