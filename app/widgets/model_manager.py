"""The model manager: models on this computer (load, verify, delete, import), models on servers (add a
server, use its models), downloads, and the folder."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, QUrl, Signal
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMessageBox,
    QPushButton,
    QTableView,
    QVBoxLayout,
)

from app import engine_errors, formatting, model_choices, model_facts
from app.engine_errors import ErrorReport
from app.model_tables import CatalogModel, LocalModelsModel
from app.models_worker import Listing, ModelsClient
from app.widgets.download_panel import DownloadPanel
from app.widgets.notice_bar import NoticeBar
from app.widgets.remote_section import RemoteSection


class ModelManager(QDialog):
    load_requested = Signal(str)  # model folder, or a remote model's key (app.remote_models)
    reconnect_requested = Signal(str)  # the remote model in use: its server's address or key changed
    unload_requested = Signal()  # the remote model in use: its server was removed

    def __init__(self, models: ModelsClient, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("ModelManager")
        self.setWindowTitle(self.tr("Models"))
        self.setMinimumSize(760, 680)
        self.models = models
        self.loaded_path: str | None = None
        self.folders: list[str] = []  # model folders loaded from outside the models folder
        self._library: list = []
        self.confirm = _ask  # replaced by tests to answer the confirmation

        layout = QVBoxLayout(self)
        layout.setContentsMargins(20, 18, 20, 16)
        layout.setSpacing(10)

        folder_row = QHBoxLayout()
        folder_label = QLabel(self.tr("Models folder:"), self)
        folder_label.setObjectName("FieldLabel")
        self.folder_path = QLabel(self)
        self.folder_path.setObjectName("FolderPath")
        self.folder_path.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.open_folder_button = QPushButton(self.tr("Open"), self)
        self.open_folder_button.setToolTip(self.tr("Show the models folder in the file manager"))
        self.open_folder_button.clicked.connect(self._open_folder)
        self.change_folder_button = QPushButton(self.tr("Change…"), self)
        self.change_folder_button.setToolTip(self.tr("Move the models to another folder or disk"))
        self.change_folder_button.clicked.connect(self._change_folder)
        folder_row.addWidget(folder_label)
        folder_row.addWidget(self.folder_path, 1)
        folder_row.addWidget(self.open_folder_button)
        folder_row.addWidget(self.change_folder_button)
        layout.addLayout(folder_row)

        self.notice = NoticeBar(self)
        layout.addWidget(self.notice)

        local_title = QLabel(self.tr("On this computer"), self)
        local_title.setObjectName("SectionTitle")
        layout.addWidget(local_title)
        self.local_model = LocalModelsModel(self)
        self.local_table = self._table(self.local_model, self.tr("Models on this computer"))
        layout.addWidget(self.local_table, 3)
        self.empty_local = QLabel(self.tr("No models yet. Download one below, or import a folder."), self)
        self.empty_local.setObjectName("MutedLabel")
        layout.addWidget(self.empty_local)

        local_buttons = QHBoxLayout()
        self.load_button = QPushButton(self.tr("Load"), self)
        self.load_button.setProperty("kind", "primary")
        self.load_button.setToolTip(self.tr("Chat with this model"))
        self.verify_button = QPushButton(self.tr("Verify"), self)
        self.verify_button.setToolTip(self.tr("Check every file against its sha256"))
        self.delete_button = QPushButton(self.tr("Delete"), self)
        self.delete_button.setProperty("kind", "danger")
        self.add_button = QPushButton(self.tr("Add to library"), self)
        self.add_button.setToolTip(
            self.tr(
                "Record this folder in the models folder with its checksums; its files stay where they are"
            )
        )
        self.add_button.clicked.connect(self._add_to_library)
        self.import_button = QPushButton(self.tr("Import folder…"), self)
        self.import_button.setToolTip(self.tr("Use a gpt-oss model folder you already have"))
        self.load_button.clicked.connect(self._load)
        self.verify_button.clicked.connect(self._verify)
        self.delete_button.clicked.connect(self._delete)
        self.import_button.clicked.connect(self._import)
        for button in (self.load_button, self.verify_button, self.add_button, self.delete_button):
            local_buttons.addWidget(button)
        local_buttons.addStretch(1)
        local_buttons.addWidget(self.import_button)
        layout.addLayout(local_buttons)

        self.remote = RemoteSection(self)
        self.remote.load_requested.connect(self.load_requested)
        self.remote.reconnect_requested.connect(self.reconnect_requested)
        self.remote.unload_requested.connect(self.unload_requested)
        self.remote.message.connect(
            lambda text, kind: self.notice.show_notice(text, kind=kind, timeout_ms=8000)
        )
        layout.addWidget(self.remote, 2)

        catalog_title = QLabel(self.tr("Download"), self)
        catalog_title.setObjectName("SectionTitle")
        layout.addWidget(catalog_title)
        self.catalog_model = CatalogModel(self)
        self.catalog_table = self._table(self.catalog_model, self.tr("Models to download"))
        layout.addWidget(self.catalog_table, 2)
        catalog_buttons = QHBoxLayout()
        self.download_button = QPushButton(self.tr("Download"), self)
        self.download_button.setProperty("kind", "primary")
        self.download_button.clicked.connect(self._download)
        self.fit_label = QLabel(self)
        self.fit_label.setObjectName("MutedLabel")
        self.fit_label.setWordWrap(True)
        catalog_buttons.addWidget(self.download_button)
        catalog_buttons.addWidget(self.fit_label, 1)
        layout.addLayout(catalog_buttons)

        self.progress = DownloadPanel(self)
        self.progress.cancel_requested.connect(models.cancel)
        layout.addWidget(self.progress)

        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)

        self.local_table.selectionModel().selectionChanged.connect(self._update_buttons)
        self.catalog_table.selectionModel().selectionChanged.connect(self._update_buttons)
        self.local_table.doubleClicked.connect(self._load)
        worker = models.worker
        worker.listed.connect(self.show_listing)
        worker.progressed.connect(self.progress.update_progress)
        worker.task_started.connect(self._on_task_started)
        worker.task_finished.connect(self._on_task_finished)
        worker.task_failed.connect(self._on_task_failed)
        worker.task_cancelled.connect(self._on_task_cancelled)
        if models.listing is not None:
            self.show_listing(models.listing)
        if models.task is not None:
            self._on_task_started(*models.task)
        self._update_buttons()

    def _table(self, model, name: str) -> QTableView:
        table = QTableView(self)
        table.setModel(model)
        table.setAccessibleName(name)
        table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        table.verticalHeader().setVisible(False)
        table.setShowGrid(False)
        table.setAlternatingRowColors(False)
        table.setWordWrap(False)
        header = table.horizontalHeader()
        header.setHighlightSections(False)
        header.setDefaultAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setStretchLastSection(True)
        return table

    # showing
    def set_loaded_path(self, path: str | None) -> None:
        self.loaded_path = path
        self.remote.set_loaded(path)
        self._show_models()

    def set_folders(self, folders: list[str]) -> None:
        """Model folders outside the models folder (the loaded one among them): listed after the library."""
        if list(folders) != self.folders:
            self.folders = list(folders)
            self._show_models()

    def _show_models(self, fits: dict | None = None) -> None:
        selected = self._selected_local()
        outside = [
            model_choices.folder_model(f)
            for f in self.folders
            if Path(f).is_dir() and not model_choices.in_library(f, self._library)
        ]
        rows = self._library + outside
        self.local_model.set_models(rows, self.loaded_path, fits)
        self.empty_local.setVisible(not rows)
        if selected is not None:
            for row, model in enumerate(rows):
                if str(model.path) == str(selected.path):
                    self.local_table.selectRow(row)
        elif rows and not self.local_table.selectionModel().hasSelection():
            self.local_table.selectRow(0)
        self._update_buttons()

    def show_listing(self, listing: Listing) -> None:
        self.folder_path.setText(listing.root)
        self.folder_path.setToolTip(listing.root)
        self._library = list(listing.local)
        self._show_models(listing.local_fits)
        self.catalog_model.set_entries(listing.catalog)
        if listing.catalog and not self.catalog_table.selectionModel().hasSelection():
            self.catalog_table.selectRow(0)
        self._update_buttons()

    def _selected_local(self):
        rows = self.local_table.selectionModel().selectedRows() if self.local_table.selectionModel() else []
        return self.local_model.model_at(rows[0].row()) if rows else None

    def _selected_entry(self) -> tuple:
        rows = self.catalog_table.selectionModel().selectedRows()
        if not rows:
            return None, None
        return self.catalog_model.entry_at(rows[0].row()), self.catalog_model.fit_at(rows[0].row())

    def _update_buttons(self, *_args) -> None:
        busy = self.models.busy
        model = self._selected_local()
        loaded = model is not None and self.loaded_path is not None and str(model.path) == self.loaded_path
        outside = model is not None and model.source == "folder"
        self.load_button.setEnabled(
            model is not None and model.status in ("verified", "unverified") and not loaded
        )
        self.verify_button.setEnabled(model is not None and not busy and model.status != "incomplete")
        self.verify_button.setToolTip(
            self.tr("Check every file's header and every tensor's shape (a folder has no recorded checksums)")
            if outside
            else self.tr("Check every file against its sha256")
        )
        self.add_button.setVisible(outside)
        self.add_button.setEnabled(outside and not busy)
        self.delete_button.setEnabled(model is not None and not busy and not loaded and not outside)
        if outside:
            self.delete_button.setToolTip(
                self.tr("This folder is not in the models folder: nothing to delete")
            )
        else:
            self.delete_button.setToolTip(
                self.tr("Unload it first: a loaded model cannot be deleted")
                if loaded
                else self.tr("Delete this model's files")
            )
        self.import_button.setEnabled(not busy)
        self.change_folder_button.setEnabled(not busy)
        entry, fit = self._selected_entry()
        local = {m.name: m for m in self.local_model.models()}
        have = local.get(entry.name) if entry is not None else None
        if have is not None and have.status == "incomplete":
            self.download_button.setText(self.tr("Resume download"))
        elif have is not None and have.status == "corrupt":
            self.download_button.setText(self.tr("Repair download"))
        else:
            self.download_button.setText(self.tr("Download"))
        done = have is not None and have.status == "verified"
        self.download_button.setEnabled(entry is not None and not busy and not done)
        if entry is None:
            self.fit_label.setText("")
        elif done:
            self.fit_label.setText(self.tr("Already downloaded and verified."))
        else:
            size = formatting.size(entry.download_bytes) if entry.download_bytes else self.tr("unknown size")
            text = self.tr("%1 to download.").replace("%1", size)
            if fit is not None:
                text += " " + model_facts.fit_estimate(fit)
            self.fit_label.setText(text)

    # actions
    def _load(self, *_args) -> None:
        model = self._selected_local()
        if model is not None and self.load_button.isEnabled():
            self.load_requested.emit(str(model.path))

    def _verify(self) -> None:
        model = self._selected_local()
        if model is not None:
            if model.source == "folder":
                self.models.check_folder(str(model.path))
            else:
                self.models.verify(model.name)
            self._update_buttons()

    def _add_to_library(self) -> None:
        model = self._selected_local()
        if model is not None and model.source == "folder":
            self.models.import_folder(str(model.path), copy=False)
            self._update_buttons()

    def _delete(self) -> None:
        model = self._selected_local()
        if model is None:
            return
        if self.loaded_path is not None and str(model.path) == self.loaded_path:
            self.notice.show_notice(
                self.tr("%1 is loaded. Load another model first, then delete this one.").replace(
                    "%1", model.name
                ),
                kind="warning",
            )
            return
        what = (
            (
                self.tr("Forget %1? Its folder stays where it is.")
                if model.source == "in_place"
                else self.tr("Delete %1 and free %2 of disk space?")
            )
            .replace("%1", model.name)
            .replace("%2", formatting.size(model.size_bytes))
        )
        if self.confirm(self, self.tr("Delete model"), what):
            self.models.remove(model.name)
            self._update_buttons()

    def _import(self) -> None:
        folder = QFileDialog.getExistingDirectory(
            self, self.tr("Choose a gpt-oss model folder"), model_choices.picker_start_folder()
        )
        if folder:
            self.models.import_folder(folder, copy=False)
            self._update_buttons()

    def _download(self) -> None:
        entry, _fit = self._selected_entry()
        if entry is not None:
            self.models.download(entry.name)
            self._update_buttons()

    def _open_folder(self) -> None:
        QDesktopServices.openUrl(QUrl.fromLocalFile(self.folder_path.text()))

    def _change_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, self.tr("Choose a new, empty folder for the models"))
        if folder:
            self.models.move_root(folder)
            self._update_buttons()

    # the worker's events
    def _on_task_started(self, kind: str, name: str) -> None:
        titles = {
            "download": self.tr("Downloading %1"),
            "verify": self.tr("Verifying %1"),
            "check": self.tr("Checking %1"),
            "import": self.tr("Importing %1"),
            "remove": self.tr("Deleting %1"),
            "move": self.tr("Moving the models to %1"),
        }
        if kind in titles:
            self.progress.start(titles[kind].replace("%1", Path(name).name if kind == "check" else name))
            self.progress.cancel_button.setVisible(kind in ("download", "verify", "import"))

        self._update_buttons()

    def _on_task_finished(self, kind: str, name: str, _result) -> None:
        self.progress.finish()
        messages = {
            "download": self.tr("%1 is downloaded and verified."),
            "verify": self.tr("%1 is verified: every file matches."),
            "check": self.tr(
                "%1: every file and tensor is in place. Add it to the library to record its checksums."
            ),
            "import": self.tr("%1 was imported."),
            "remove": self.tr("%1 was deleted."),
            "move": self.tr("The models are now in %1."),
        }
        if kind in messages:
            shown = getattr(_result, "name", name) if kind == "import" else name
            shown = Path(name).name if kind == "check" else shown
            self.notice.show_notice(messages[kind].replace("%1", shown), kind="info", timeout_ms=8000)
        self._update_buttons()

    def _on_task_failed(self, kind: str, name: str, error: ErrorReport) -> None:
        self.progress.finish()
        shown = Path(name).name if kind == "check" else name
        self.notice.show_error(
            error, lead=engine_errors.task_lead("verify" if kind == "check" else kind, shown)
        )
        self._update_buttons()

    def _on_task_cancelled(self, kind: str, name: str) -> None:
        self.progress.finish()
        text = (
            self.tr("Download of %1 paused. Resume continues where it stopped.")
            if kind == "download"
            else self.tr("Stopped.")
        )
        self.notice.show_notice(text.replace("%1", name), kind="info", timeout_ms=8000)
        self._update_buttons()


def _ask(parent, title: str, text: str) -> bool:
    answer = QMessageBox.question(
        parent,
        title,
        text,
        QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel,
        QMessageBox.StandardButton.Cancel,
    )
    return answer == QMessageBox.StandardButton.Yes
