"""One message of the conversation: the user's bubble, or the assistant's thinking, answer and actions.

It shows what the chat model holds for its row (``refresh``) and emits what the user asked for; it keeps
no copy of the conversation beyond what it is displaying.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QFontMetricsF, QGuiApplication, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QSizePolicy,
    QToolButton,
    QVBoxLayout,
)

from app import engine_errors, theme
from app.chat_model import LiveState
from app.engine_errors import ErrorReport
from app.store import Message
from app.widgets.markdown_view import MarkdownView
from app.widgets.text_block import TextBlock
from app.widgets.thinking_section import ThinkingSection

USER_BUBBLE_FRACTION = 0.78


class MessageWidget(QFrame):
    regenerate_requested = Signal()
    continue_requested = Signal()
    edit_submitted = Signal(str)

    def __init__(self, role: str, parent=None) -> None:
        super().__init__(parent)
        self.role = role
        self.setObjectName("UserMessage" if role == "user" else "AssistantMessage")
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self._message: Message | None = None
        self._live: LiveState | None = None
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(6)
        if role == "user":
            self._build_user(layout)
        else:
            self._build_assistant(layout)
        self._copied_timer = QTimer(self, singleShot=True, interval=1500)
        self._copied_timer.timeout.connect(lambda: self.copy_button.setText(self.tr("Copy")))

    # construction
    def _build_user(self, layout: QVBoxLayout) -> None:
        row = QHBoxLayout()
        row.setContentsMargins(0, 0, 0, 0)
        row.addStretch(1)
        self.bubble = QFrame(self)
        self.bubble.setObjectName("UserBubble")
        bubble_layout = QVBoxLayout(self.bubble)
        bubble_layout.setContentsMargins(16, 10, 16, 10)
        self.text = TextBlock(self.bubble)
        self.text.setObjectName("UserText")
        self.text.document().setDefaultFont(theme.ui_font(11.0))
        self.text.setAccessibleName(self.tr("Your message"))
        bubble_layout.addWidget(self.text)
        self.editor = QPlainTextEdit(self.bubble)
        self.editor.setObjectName("EditBox")
        self.editor.setAccessibleName(self.tr("Edit your message"))
        self.editor.setVisible(False)
        bubble_layout.addWidget(self.editor)
        edit_buttons = QHBoxLayout()
        edit_buttons.addStretch(1)
        self.cancel_edit_button = QPushButton(self.tr("Cancel"), self.bubble)
        self.send_edit_button = QPushButton(self.tr("Send"), self.bubble)
        self.send_edit_button.setProperty("kind", "primary")
        self.send_edit_button.setDefault(False)
        for button in (self.cancel_edit_button, self.send_edit_button):
            button.setVisible(False)
            edit_buttons.addWidget(button)
        bubble_layout.addLayout(edit_buttons)
        self.cancel_edit_button.clicked.connect(self.cancel_edit)
        self.send_edit_button.clicked.connect(self._submit_edit)
        submit = QShortcut(QKeySequence("Ctrl+Return"), self.editor)
        submit.setContext(Qt.ShortcutContext.WidgetShortcut)
        submit.activated.connect(self._submit_edit)
        cancel = QShortcut(QKeySequence(Qt.Key.Key_Escape), self.editor)
        cancel.setContext(Qt.ShortcutContext.WidgetShortcut)
        cancel.activated.connect(self.cancel_edit)
        row.addWidget(self.bubble)
        layout.addLayout(row)

        actions = QHBoxLayout()
        actions.setContentsMargins(0, 0, 4, 0)
        actions.addStretch(1)
        self.copy_button = self._action(self.tr("Copy"), self.tr("Copy message"), self.copy)
        self.edit_button = self._action(
            self.tr("Edit"), self.tr("Edit and resend"), lambda: self.start_edit()
        )
        actions.addWidget(self.copy_button)
        actions.addWidget(self.edit_button)
        layout.addLayout(actions)

    def _build_assistant(self, layout: QVBoxLayout) -> None:
        layout.setSpacing(10)
        self.thinking = ThinkingSection(self)
        self.thinking.setVisible(False)
        layout.addWidget(self.thinking)
        self.waiting_label = QLabel(self.tr("Reading the conversation…"), self)
        self.waiting_label.setObjectName("WaitingLabel")
        self.waiting_label.setVisible(False)
        layout.addWidget(self.waiting_label)
        self.answer = MarkdownView(self)
        self.answer.setAccessibleName(self.tr("Answer"))
        layout.addWidget(self.answer)
        self.status_label = QLabel(self)
        self.status_label.setObjectName("MessageStatus")
        self.status_label.setWordWrap(True)
        self.status_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.status_label.setVisible(False)
        layout.addWidget(self.status_label)
        self.status_detail = QLabel(self)  # an engine error's own sentence, naming the file or the numbers
        self.status_detail.setObjectName("MessageStatusDetail")
        self.status_detail.setFont(theme.ui_font(9.0))
        self.status_detail.setContentsMargins(12, 0, 12, 0)  # in line with the status text's padding
        self.status_detail.setWordWrap(True)
        self.status_detail.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.status_detail.setVisible(False)
        layout.addWidget(self.status_detail)

        actions = QHBoxLayout()
        actions.setContentsMargins(0, 0, 0, 0)
        actions.setSpacing(2)
        self.copy_button = self._action(self.tr("Copy"), self.tr("Copy answer"), self.copy)
        self.continue_button = self._action(
            self.tr("Continue"),
            self.tr("Continue this answer where it stopped"),
            self.continue_requested.emit,
        )
        self.regenerate_button = self._action(
            self.tr("Regenerate"), self.tr("Answer again"), self.regenerate_requested.emit
        )
        self.usage_label = QLabel(self)
        self.usage_label.setObjectName("UsageLabel")
        actions.addWidget(self.copy_button)
        actions.addWidget(self.continue_button)
        actions.addWidget(self.regenerate_button)
        actions.addSpacing(8)
        actions.addWidget(self.usage_label)
        actions.addStretch(1)
        layout.addLayout(actions)

    def _action(self, text: str, tooltip: str, slot) -> QToolButton:
        button = QToolButton(self)
        button.setObjectName("MessageAction")
        button.setText(text)
        button.setToolTip(tooltip)
        button.setAccessibleName(tooltip)
        button.setCursor(Qt.CursorShape.PointingHandCursor)
        button.clicked.connect(slot)
        return button

    # showing the model's row
    def refresh(self, message: Message, live: LiveState | None, *, last: bool, busy: bool) -> None:
        """``last``: this is the newest message; ``busy``: a turn is running (actions that start one wait)."""
        self._message, self._live = message, live
        if self.role == "user":
            if self.text.toPlainText() != message.content:
                self.text.setPlainText(message.content)
                self._fit_bubble()
            self.edit_button.setEnabled(not busy)
            return
        self._refresh_thinking(message, live)
        self.answer.set_text(message.content)
        self.waiting_label.setVisible(
            live is not None and not message.content and not message.reasoning and not message.tool_calls
        )
        self._refresh_status(message, live)
        self.continue_button.setVisible(last and live is None and message.can_continue)
        self.continue_button.setEnabled(not busy)
        self.regenerate_button.setVisible(last and live is None)
        self.regenerate_button.setEnabled(not busy)
        self.copy_button.setVisible(live is None and bool(message.content))
        self.usage_label.setText(self._usage_text(message, live))

    def _refresh_thinking(self, message: Message, live: LiveState | None) -> None:
        analysing = live is not None and live.phase == "analysis"
        shown = bool(message.reasoning) or analysing
        self.thinking.setVisible(shown)
        if not shown:
            return
        self.thinking.set_text(message.reasoning)
        if live is not None:
            seconds, tokens = live.thinking_seconds(), live.analysis_tokens
        else:
            seconds, tokens = message.thinking_s, message.usage.get("reasoning_tokens") or None
        self.thinking.set_progress(streaming=analysing, seconds=seconds, tokens=tokens)

    def _refresh_status(self, message: Message, live: LiveState | None) -> None:
        text, kind, detail = "", "", ""
        if live is not None:
            pass
        elif message.finish_reason == "error" and message.error_kind:
            text, detail = engine_errors.shown(ErrorReport(message.error_kind, message.error or ""))
            kind = "error"
        elif message.finish_reason == "error":
            text, kind = message.error or self.tr("The answer failed."), "error"
        elif not message.complete:
            text, kind = (
                self.tr(
                    "Interrupted: Gossamer closed before this answer finished. Continue to finish it, "
                    "or Regenerate to answer again."
                ),
                "warning",
            )
        elif message.finish_reason == "cancelled":
            text, kind = self.tr("Stopped."), "note"
        elif message.finish_reason == "length":
            text, kind = (
                self.tr(
                    "Cut off at the token limit. Continue to let it write more, or raise “Max tokens” "
                    "in Settings for longer answers."
                ),
                "note",
            )
        elif message.finish_reason == "call" and message.tool_calls:
            names = ", ".join(call.get("function", {}).get("name", "?") for call in message.tool_calls)
            text, kind = self.tr("Asked to use a tool: %1").replace("%1", names), "note"
        self.status_label.setText(text)
        self.status_label.setProperty("kind", kind)
        self.status_label.style().unpolish(self.status_label)
        self.status_label.style().polish(self.status_label)
        self.status_label.setVisible(bool(text))
        self.status_detail.setText(detail)
        self.status_detail.setVisible(bool(detail))

    def _usage_text(self, message: Message, live: LiveState | None) -> str:
        if live is not None:
            return ""
        usage = message.usage or {}
        parts = []
        if usage.get("decode_tok_s"):
            parts.append(self.tr("%1 tok/s").replace("%1", f"{usage['decode_tok_s']:.1f}"))
        if usage.get("completion_tokens"):
            parts.append(self.tr("%n tokens", "", int(usage["completion_tokens"])))
        if usage.get("ttft_s"):
            parts.append(self.tr("%1 s to first token").replace("%1", f"{usage['ttft_s']:.1f}"))
        return " · ".join(parts)

    # user actions
    def copy(self) -> None:
        if self._message is None:
            return
        QGuiApplication.clipboard().setText(self._message.content)
        self.copy_button.setText(self.tr("Copied"))
        self._copied_timer.start()

    def start_edit(self, text: str | None = None) -> None:
        """Edit the message; ``text``: what to start from instead of its own (an edit that was not sent)."""
        if self.role != "user" or self._message is None:
            return
        self.editor.setPlainText(self._message.content if text is None else text)
        self._set_editing(True)
        self.editor.setFocus()
        self.editor.selectAll()

    def cancel_edit(self) -> None:
        self._set_editing(False)

    @property
    def editing(self) -> bool:
        return self.role == "user" and self.editor.isVisible()

    def _submit_edit(self) -> None:
        text = self.editor.toPlainText().strip()
        if not text:
            return
        self._set_editing(False)
        self.edit_submitted.emit(text)

    def _set_editing(self, editing: bool) -> None:
        self.text.setVisible(not editing)
        self.editor.setVisible(editing)
        self.cancel_edit_button.setVisible(editing)
        self.send_edit_button.setVisible(editing)
        self.edit_button.setVisible(not editing)
        self.copy_button.setVisible(not editing)
        self.bubble.setMinimumWidth(int(self.width() * USER_BUBBLE_FRACTION) if editing else 0)
        self._fit_bubble()

    # layout
    def resizeEvent(self, event) -> None:  # noqa: N802
        super().resizeEvent(event)
        if self.role == "user":
            self._fit_bubble()

    def _fit_bubble(self) -> None:
        """The bubble hugs short messages and wraps long ones at ``USER_BUBBLE_FRACTION`` of the width."""
        available = max(120, int(self.width() * USER_BUBBLE_FRACTION) - 32)
        self.bubble.setMaximumWidth(available + 32)
        if self.editing:
            self.text.setMinimumWidth(0)
            self.text.setMaximumWidth(16777215)
            return
        metrics = QFontMetricsF(self.text.document().defaultFont())
        lines = self.text.toPlainText().splitlines() or [""]
        ideal = max(metrics.horizontalAdvance(line) for line in lines) + 4
        self.text.setFixedWidth(int(min(ideal, available)) + 1)
