"""The left column: New chat, search, the conversations, and the way to models and settings."""

from __future__ import annotations

from PySide6.QtCore import QEvent, QItemSelectionModel, QModelIndex, QPoint, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListView,
    QPushButton,
    QVBoxLayout,
)

from app.conversation_model import ConversationListModel, IdRole
from app.widgets.popup_menu import PopupMenu

SEARCH_DELAY_MS = 200


class Sidebar(QFrame):
    conversation_selected = Signal(int)  # id
    new_requested = Signal()
    delete_requested = Signal(int)  # id
    export_requested = Signal(int, str)  # id, "markdown" | "json"
    models_requested = Signal()
    settings_requested = Signal()

    def __init__(self, model: ConversationListModel, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("Sidebar")
        self.model = model
        layout = QVBoxLayout(self)
        layout.setContentsMargins(12, 14, 12, 12)
        layout.setSpacing(10)

        brand = QLabel("Gossamer", self)
        brand.setObjectName("Brand")
        layout.addWidget(brand)

        self.new_button = QPushButton(self.tr("New chat"), self)
        self.new_button.setObjectName("NewChatButton")
        self.new_button.setToolTip(self.tr("Start a new conversation (Ctrl+N)"))
        self.new_button.setAccessibleName(self.tr("New chat"))
        self.new_button.setCursor(Qt.CursorShape.PointingHandCursor)
        self.new_button.clicked.connect(self.new_requested)
        layout.addWidget(self.new_button)

        self.search = QLineEdit(self)
        self.search.setObjectName("SearchBox")
        self.search.setPlaceholderText(self.tr("Search chats"))
        self.search.setAccessibleName(self.tr("Search conversations"))
        self.search.setToolTip(self.tr("Search titles and messages (Ctrl+F)"))
        self.search.setClearButtonEnabled(True)
        self._search_timer = QTimer(self, singleShot=True, interval=SEARCH_DELAY_MS)
        self._search_timer.timeout.connect(self._apply_search)
        self.search.textChanged.connect(lambda: self._search_timer.start())
        self.search.installEventFilter(self)  # Esc clears it
        layout.addWidget(self.search)

        self.list = QListView(self)
        self.list.setObjectName("ConversationList")
        self.list.setAccessibleName(self.tr("Conversations"))
        self.list.setModel(model)
        self.list.setEditTriggers(QAbstractItemView.EditTrigger.EditKeyPressed)
        self.list.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.list.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.list.setUniformItemSizes(True)
        self.list.setTextElideMode(Qt.TextElideMode.ElideRight)
        self.list.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.list.customContextMenuRequested.connect(self._show_menu)
        self.list.selectionModel().currentChanged.connect(self._on_current_changed)
        model.modelReset.connect(self._restore_selection)
        layout.addWidget(self.list, 1)

        self.no_results = QLabel(self.tr("No conversations match."), self)
        self.no_results.setObjectName("SidebarNote")
        self.no_results.setVisible(False)
        layout.addWidget(self.no_results)

        delete_action = QAction(self.tr("Delete"), self.list)
        delete_action.setShortcut(QKeySequence.StandardKey.Delete)
        delete_action.setShortcutContext(Qt.ShortcutContext.WidgetShortcut)
        delete_action.triggered.connect(self._delete_current)
        self.list.addAction(delete_action)

        bottom = QHBoxLayout()
        bottom.setSpacing(6)
        self.models_button = QPushButton(self.tr("Models"), self)
        self.models_button.setObjectName("SidebarButton")
        self.models_button.setToolTip(self.tr("Download, verify and choose models"))
        self.models_button.clicked.connect(self.models_requested)
        self.settings_button = QPushButton(self.tr("Settings"), self)
        self.settings_button.setObjectName("SidebarButton")
        self.settings_button.setToolTip(self.tr("Settings (Ctrl+,)"))
        self.settings_button.clicked.connect(self.settings_requested)
        bottom.addWidget(self.models_button)
        bottom.addWidget(self.settings_button)
        layout.addLayout(bottom)
        self._current_id: int | None = None

    # selection
    def select(self, conversation_id: int | None) -> None:
        self._current_id = conversation_id
        self._restore_selection()

    def _restore_selection(self) -> None:
        self.no_results.setVisible(self.model.rowCount() == 0 and bool(self.model.query))
        row = self.model.row_of(self._current_id) if self._current_id is not None else None
        selection = self.list.selectionModel()
        selection.blockSignals(True)
        if row is None:
            selection.clear()
        else:
            index = self.model.index(row, 0)
            selection.setCurrentIndex(index, QItemSelectionModel.SelectionFlag.ClearAndSelect)
        selection.blockSignals(False)
        self.list.viewport().update()

    def _on_current_changed(self, current: QModelIndex, _previous: QModelIndex) -> None:
        if current.isValid():
            conversation_id = current.data(IdRole)
            if conversation_id != self._current_id:
                self._current_id = conversation_id
                self.conversation_selected.emit(conversation_id)

    # search
    def eventFilter(self, watched, event) -> bool:  # noqa: N802
        if (
            watched is self.search
            and event.type() == QEvent.Type.KeyPress
            and event.key() == Qt.Key.Key_Escape
            and self.search.text()
        ):
            self.search.clear()
            self._search_timer.stop()
            self._apply_search()  # all chats again at once, not after the typing delay
            return True
        return super().eventFilter(watched, event)

    def focus_search(self) -> None:
        self.search.setFocus()
        self.search.selectAll()

    def _apply_search(self) -> None:
        self.model.reload(self.search.text())

    # per-conversation actions
    def rename(self, conversation_id: int) -> None:
        row = self.model.row_of(conversation_id)
        if row is not None:
            self.list.edit(self.model.index(row, 0))

    def _delete_current(self) -> None:
        index = self.list.currentIndex()
        if index.isValid():
            self.delete_requested.emit(index.data(IdRole))

    def _show_menu(self, position: QPoint) -> None:
        index = self.list.indexAt(position)
        if not index.isValid():
            return
        conversation_id = index.data(IdRole)
        menu = PopupMenu(self)
        menu.addAction(self.tr("Rename"), lambda: self.list.edit(index))
        menu.addAction(
            self.tr("Export as Markdown…"), lambda: self.export_requested.emit(conversation_id, "markdown")
        )
        menu.addAction(
            self.tr("Export as JSON…"), lambda: self.export_requested.emit(conversation_id, "json")
        )
        menu.addSeparator()
        menu.addAction(self.tr("Delete"), lambda: self.delete_requested.emit(conversation_id))
        menu.exec(self.list.viewport().mapToGlobal(position))
        menu.deleteLater()
