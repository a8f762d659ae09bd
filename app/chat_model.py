"""The open conversation's messages as a Qt list model; the chat view draws from it.

While an answer streams, its row carries a ``LiveState`` (phase, token counts, timing) and each batch of
text changes only that row (``dataChanged`` with the content or reasoning role), so the view updates
one message, never the whole conversation.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from PySide6.QtCore import QAbstractListModel, QModelIndex, QPersistentModelIndex, Qt

from app.store import Message

MessageRole = Qt.ItemDataRole.UserRole + 1
LiveRole = Qt.ItemDataRole.UserRole + 2
ContentRole = Qt.ItemDataRole.UserRole + 3
ReasoningRole = Qt.ItemDataRole.UserRole + 4
StateRole = Qt.ItemDataRole.UserRole + 5


@dataclass
class LiveState:
    """What is known only while a turn runs."""

    phase: str = "waiting"  # "waiting" (prefill) | "analysis" | "final"
    analysis_tokens: int = 0
    final_tokens: int = 0
    started: float = field(default_factory=time.monotonic)
    thinking_started: float | None = None
    thinking_ended: float | None = None

    def thinking_seconds(self) -> float | None:
        if self.thinking_started is None:
            return None
        end = self.thinking_ended if self.thinking_ended is not None else time.monotonic()
        return end - self.thinking_started


class ChatModel(QAbstractListModel):
    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self._messages: list[Message] = []
        self._live: dict[int, LiveState] = {}  # message id -> live state

    # Qt model interface
    def rowCount(self, parent=QModelIndex()) -> int:  # noqa: N802
        return 0 if parent.isValid() else len(self._messages)

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole):
        if not index.isValid() or not 0 <= index.row() < len(self._messages):
            return None
        message = self._messages[index.row()]
        if role in (Qt.ItemDataRole.DisplayRole, ContentRole):
            return message.content
        if role == ReasoningRole:
            return message.reasoning
        if role == MessageRole:
            return message
        if role == LiveRole:
            return self._live.get(message.id)
        if role == Qt.ItemDataRole.AccessibleTextRole:
            return f"{message.role}: {message.content}"
        return None

    def roleNames(self) -> dict:  # noqa: N802
        return {
            MessageRole: b"message",
            LiveRole: b"live",
            ContentRole: b"content",
            ReasoningRole: b"reasoning",
        }

    # reading
    def message(self, row: int) -> Message:
        return self._messages[row]

    def messages(self) -> list[Message]:
        return list(self._messages)

    def live(self, row: int) -> LiveState | None:
        return self._live.get(self._messages[row].id)

    def row_of(self, message_id: int) -> int | None:
        for row in range(len(self._messages) - 1, -1, -1):
            if self._messages[row].id == message_id:
                return row
        return None

    # changing
    def set_messages(self, messages: list[Message], live: dict[int, LiveState] | None = None) -> None:
        self.beginResetModel()
        self._messages = list(messages)
        self._live = dict(live or {})
        self.endResetModel()

    def append(self, message: Message, live: LiveState | None = None) -> int:
        row = len(self._messages)
        self.beginInsertRows(QModelIndex(), row, row)
        self._messages.append(message)
        if live is not None:
            self._live[message.id] = live
        self.endInsertRows()
        return row

    def remove_from(self, row: int) -> None:
        if row >= len(self._messages):
            return
        self.beginRemoveRows(QModelIndex(), row, len(self._messages) - 1)
        for message in self._messages[row:]:
            self._live.pop(message.id, None)
        del self._messages[row:]
        self.endRemoveRows()

    def replace(self, row: int, message: Message, live: LiveState | None = None) -> None:
        """New contents for a row (the end of a turn, an edit); ``live`` None ends streaming."""
        self._live.pop(self._messages[row].id, None)
        self._messages[row] = message
        if live is not None:
            self._live[message.id] = live
        self._changed(row, [MessageRole, ContentRole, ReasoningRole, StateRole, LiveRole])

    def append_text(self, row: int, deltas: list[tuple[str, str, int]]) -> None:
        """Streamed text for a row: (channel, text, tokens) tuples, in order."""
        message = self._messages[row]
        live = self._live.setdefault(message.id, LiveState())
        roles: set[int] = {LiveRole}
        now = time.monotonic()
        for channel, text, tokens in deltas:
            if channel == "analysis":
                if live.thinking_started is None:
                    live.thinking_started = now
                live.phase = "analysis"
                live.analysis_tokens += tokens
                message.reasoning += text
                roles.add(ReasoningRole)
            else:
                if live.thinking_started is not None and live.thinking_ended is None:
                    live.thinking_ended = now
                live.phase = "final"
                live.final_tokens += tokens
                message.content += text
                roles.add(ContentRole)
        self._changed(row, sorted(roles))

    def touch_live(self, row: int) -> None:
        """Ask the view to redraw a streaming row's timers (Thinking… 4 s)."""
        self._changed(row, [LiveRole])

    def _changed(self, row: int, roles: list[int]) -> None:
        index = self.index(row, 0)
        self.dataChanged.emit(index, index, roles)
