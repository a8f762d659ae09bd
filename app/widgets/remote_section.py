"""The Models window's servers: each saved server's models, marked with the host, to use like a local model.

"Add a server…" opens the ServerDialog; "Use" chats with the selected model (the window loads its key as
it loads a folder); "Edit server…" changes the selected server's name, address or key (the same dialog; a
model in use on it connects again with them); "Refresh" asks the servers for their models again; "Remove
server" forgets a server and its key (a model in use on it is let go).
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QStandardItem, QStandardItemModel
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from app import engine_errors
from app.remote_models import PREFIX, ServerProbe, store
from app.widgets.server_dialog import ServerDialog

KEY_ROLE = Qt.ItemDataRole.UserRole + 1
SERVER_ROLE = Qt.ItemDataRole.UserRole + 2


class RemoteSection(QWidget):
    load_requested = Signal(str)  # a remote model's key
    reconnect_requested = Signal(str)  # the key of the model in use, whose server was just edited
    unload_requested = Signal()  # the server of the model in use was removed
    message = Signal(str, str)  # text, kind ("info" | "warning"): for the window's notice bar

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.loaded_key: str | None = None
        self.dialog: ServerDialog | None = None
        self.probe = ServerProbe(self)
        self.probe.answered.connect(self._on_refreshed)
        self._refreshing: dict[int, str] = {}  # request -> server name

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        title = QLabel(self.tr("On servers"), self)
        title.setObjectName("SectionTitle")
        layout.addWidget(title)
        self.model = QStandardItemModel(0, 2, self)
        self.model.setHorizontalHeaderLabels([self.tr("Model"), self.tr("Server")])
        self.table = QTableView(self)
        self.table.setModel(self.model)
        self.table.setAccessibleName(self.tr("Models on servers"))
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().setVisible(False)
        self.table.setShowGrid(False)
        header = self.table.horizontalHeader()
        header.setDefaultAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setStretchLastSection(True)
        layout.addWidget(self.table, 1)
        self.empty = QLabel(
            self.tr(
                "No servers yet. Add one to chat with a model that runs on another computer "
                "(vLLM, SGLang, Ollama, LM Studio, llama.cpp)."
            ),
            self,
        )
        self.empty.setObjectName("MutedLabel")
        self.empty.setWordWrap(True)
        layout.addWidget(self.empty)

        buttons = QHBoxLayout()
        self.use_button = QPushButton(self.tr("Use"), self)
        self.use_button.setProperty("kind", "primary")
        self.use_button.setToolTip(self.tr("Chat with this model on its server"))
        self.refresh_button = QPushButton(self.tr("Refresh"), self)
        self.refresh_button.setToolTip(self.tr("Ask the servers for their models again"))
        self.edit_button = QPushButton(self.tr("Edit server…"), self)
        self.edit_button.setToolTip(self.tr("Change this server's name, address or API key"))
        self.remove_button = QPushButton(self.tr("Remove server"), self)
        self.remove_button.setToolTip(self.tr("Forget this server and its key"))
        self.add_button = QPushButton(self.tr("Add a server…"), self)
        self.add_button.setToolTip(
            self.tr("Use models served by vLLM, SGLang, Ollama, LM Studio or llama.cpp")
        )
        self.use_button.clicked.connect(self._use)
        self.refresh_button.clicked.connect(self.refresh)
        self.remove_button.clicked.connect(self._remove)
        self.edit_button.clicked.connect(self.edit_server)
        self.add_button.clicked.connect(self.add_server)
        for button in (self.use_button, self.refresh_button, self.edit_button, self.remove_button):
            buttons.addWidget(button)
        buttons.addStretch(1)
        buttons.addWidget(self.add_button)
        layout.addLayout(buttons)
        self.table.selectionModel().selectionChanged.connect(self._update_buttons)
        self.table.doubleClicked.connect(self._use)
        self.reload()

    # showing
    def reload(self, select: str | None = None) -> None:
        """Show the saved servers' models; keep (or move to) the selection ``select``, a model key."""
        select = select or self.selected_key()
        self.model.removeRows(0, self.model.rowCount())
        servers = store().servers()
        for server in servers:
            rows = server.models or [None]  # a server without models still shows, to be removed or refreshed
            for remote in rows:
                key = server.model_key(remote.id) if remote is not None else None
                name = remote.id if remote is not None else self.tr("(no models)")
                if key is not None and key == self.loaded_key:
                    name = self.tr("%1 (in use)").replace("%1", name)
                model_item, server_item = QStandardItem(name), QStandardItem(server.name)
                model_item.setData(key, KEY_ROLE)
                model_item.setData(server.id, SERVER_ROLE)
                server_item.setToolTip(server.url)
                self.model.appendRow([model_item, server_item])
        self.empty.setVisible(not servers)
        self.table.setVisible(bool(servers))
        for row in range(self.model.rowCount()):
            if self.model.item(row, 0).data(KEY_ROLE) == select:
                self.table.selectRow(row)
        if select is None and self.model.rowCount() and not self.table.selectionModel().hasSelection():
            self.table.selectRow(0)
        self._update_buttons()

    def set_loaded(self, key: str | None) -> None:
        self.loaded_key = key
        self.reload()

    def selected_key(self) -> str | None:
        item = self._selected_item()
        return item.data(KEY_ROLE) if item is not None else None

    def _selected_item(self):
        selection = self.table.selectionModel()
        rows = selection.selectedRows() if selection is not None else []
        return self.model.item(rows[0].row(), 0) if rows else None

    def _update_buttons(self, *_args) -> None:
        item = self._selected_item()
        key = item.data(KEY_ROLE) if item is not None else None
        self.use_button.setEnabled(key is not None and key != self.loaded_key)
        self.remove_button.setEnabled(item is not None)
        self.edit_button.setEnabled(item is not None)
        self.refresh_button.setEnabled(self.model.rowCount() > 0 and not self._refreshing)

    # actions
    def add_server(self) -> ServerDialog:
        self.dialog = ServerDialog(self.window())
        self.dialog.saved.connect(self._on_saved)
        self.dialog.open()
        return self.dialog

    def edit_server(self) -> ServerDialog | None:
        """The selected server's name, address and key in the dialog that adds one; None without one."""
        item = self._selected_item()
        server_id = item.data(SERVER_ROLE) if item is not None else None
        server = next((s for s in store().servers() if s.id == server_id), None)
        if server is None:
            return None
        self.dialog = ServerDialog(self.window(), server=server)
        self.dialog.saved.connect(self._on_edited)
        self.dialog.open()
        return self.dialog

    def _on_edited(self, server) -> None:
        key = self.selected_key()
        keys = [server.model_key(m.id) for m in server.models]
        self.reload(select=key if key in keys else (keys[0] if keys else None))
        self.message.emit(self.tr("%1 is saved.").replace("%1", server.name), "info")
        # The model in use on it connects again: its chats go to the new address with the new key (or, if
        # the server there lacks the model, the load fails and says so rather than the old server answering).
        if self.loaded_key is not None and self.loaded_key.startswith(server.model_key("")):
            self.reconnect_requested.emit(self.loaded_key)

    def _on_saved(self, server) -> None:
        self.reload(select=server.model_key(server.models[0].id) if server.models else None)
        self.message.emit(
            self.tr("%1 is saved: choose one of its models and Use it.").replace("%1", server.name), "info"
        )

    def _use(self, *_args) -> None:
        key = self.selected_key()
        if key is not None and self.use_button.isEnabled():
            self.load_requested.emit(key)

    def _remove(self) -> None:
        item = self._selected_item()
        if item is None:
            return
        server_id = item.data(SERVER_ROLE)
        store().remove(server_id)
        self.reload()
        if self.loaded_key is not None and self.loaded_key.startswith(f"{PREFIX}{server_id}/"):
            self.unload_requested.emit()  # no more turns go to a server the user forgot

    def refresh(self) -> None:
        for server in store().servers():
            self._refreshing[self.probe.refresh(server.id)] = server.name
        self._update_buttons()

    def _on_refreshed(self, request: int, _models, error) -> None:
        name = self._refreshing.pop(request, "")
        if error is not None:
            text, detail = engine_errors.shown(
                error, lead=self.tr("Could not list the models of %1.").replace("%1", name)
            )
            self.message.emit(text + (f" {detail}" if detail else ""), "warning")
        if not self._refreshing:
            self.reload()
