"""The sidebar's list of conversations as a Qt list model over the store, filtered by a search text."""

from __future__ import annotations

from PySide6.QtCore import QAbstractListModel, QModelIndex, QPersistentModelIndex, Qt, Signal

from app import formatting
from app.store import Conversation, Store

ConversationRole = Qt.ItemDataRole.UserRole + 1
IdRole = Qt.ItemDataRole.UserRole + 2
SectionRole = Qt.ItemDataRole.UserRole + 3


class ConversationListModel(QAbstractListModel):
    rename_requested = Signal(int, str)  # id, new title: the controller saves it, then calls ``retitle``

    def __init__(self, store: Store, parent=None) -> None:
        super().__init__(parent)
        self.store = store
        self.query = ""
        self._rows: list[Conversation] = []

    def rowCount(self, parent=QModelIndex()) -> int:  # noqa: N802
        return 0 if parent.isValid() else len(self._rows)

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole):
        if not index.isValid() or not 0 <= index.row() < len(self._rows):
            return None
        conversation = self._rows[index.row()]
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.EditRole):
            return conversation.title or self.tr("New chat")
        if role == Qt.ItemDataRole.ToolTipRole:
            title = conversation.title or self.tr("New chat")
            return f"{title}\n{formatting.relative_date(conversation.updated_at)}"
        if role == Qt.ItemDataRole.AccessibleTextRole:
            return conversation.title or self.tr("New chat")
        if role == ConversationRole:
            return conversation
        if role == IdRole:
            return conversation.id
        if role == SectionRole:
            return formatting.relative_date(conversation.updated_at)
        return None

    def flags(self, index: QModelIndex | QPersistentModelIndex) -> Qt.ItemFlag:
        base = super().flags(index)
        return base | Qt.ItemFlag.ItemIsEditable if index.isValid() else base

    def setData(self, index, value, role=Qt.ItemDataRole.EditRole) -> bool:  # noqa: N802
        if role != Qt.ItemDataRole.EditRole or not index.isValid():
            return False
        title = str(value).strip()
        if not title:
            return False
        conversation = self._rows[index.row()]
        self.rename_requested.emit(conversation.id, title)
        return conversation.title == title and not conversation.title_is_auto  # saved, so shown

    # reading
    def conversation(self, row: int) -> Conversation:
        return self._rows[row]

    def row_of(self, conversation_id: int) -> int | None:
        return next((row for row, c in enumerate(self._rows) if c.id == conversation_id), None)

    # changing
    def retitle(self, conversation_id: int, title: str) -> None:
        """A title the store has saved, shown in its row (no reset: an editor may be committing it)."""
        row = self.row_of(conversation_id)
        if row is not None:
            conversation = self._rows[row]
            conversation.title, conversation.title_is_auto = title, False
            index = self.index(row, 0)
            self.dataChanged.emit(index, index)

    def reload(self, query: str | None = None) -> None:
        if query is not None:
            self.query = query
        self.beginResetModel()
        self._rows = self.store.conversations(self.query)
        self.endResetModel()
