"""First run, no model yet: offer gpt-oss-20b's download (with its size and whether it fits) or a folder."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QFileDialog, QFrame, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from app import engine_errors, formatting, model_choices, model_facts
from app.engine_errors import ErrorReport
from app.models_worker import Listing, ModelsClient
from app.widgets.download_panel import DownloadPanel
from app.widgets.notice_bar import NoticeBar

RECOMMENDED = "gpt-oss-20b"


class WelcomeScreen(QWidget):
    folder_chosen = Signal(str)
    models_requested = Signal()

    def __init__(self, models: ModelsClient, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("WelcomeScreen")
        self.models = models
        outer = QVBoxLayout(self)
        outer.setContentsMargins(40, 40, 40, 40)
        outer.addStretch(2)
        column = QWidget(self)
        column.setMaximumWidth(560)
        layout = QVBoxLayout(column)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(14)

        title = QLabel(self.tr("Welcome to Gossamer"), column)
        title.setObjectName("WelcomeTitle")
        title.setAlignment(Qt.AlignmentFlag.AlignCenter)
        layout.addWidget(title)
        subtitle = QLabel(
            self.tr(
                "Chat with OpenAI's gpt-oss on your own computer. It works offline, "
                "and nothing you write leaves this machine."
            ),
            column,
        )
        subtitle.setObjectName("WelcomeSubtitle")
        subtitle.setAlignment(Qt.AlignmentFlag.AlignCenter)
        subtitle.setWordWrap(True)
        layout.addWidget(subtitle)
        layout.addSpacing(12)

        card = QFrame(column)
        card.setObjectName("WelcomeCard")
        card_layout = QVBoxLayout(card)
        card_layout.setContentsMargins(22, 20, 22, 20)
        card_layout.setSpacing(8)
        self.model_name = QLabel(RECOMMENDED, card)
        self.model_name.setObjectName("CardTitle")
        card_layout.addWidget(self.model_name)
        self.model_about = QLabel(card)
        self.model_about.setObjectName("MutedLabel")
        self.model_about.setWordWrap(True)
        card_layout.addWidget(self.model_about)
        self.fit_label = QLabel(card)
        self.fit_label.setObjectName("FitLabel")
        self.fit_label.setWordWrap(True)
        card_layout.addWidget(self.fit_label)
        row = QHBoxLayout()
        self.download_button = QPushButton(self.tr("Download"), card)
        self.download_button.setObjectName("WelcomeDownload")
        self.download_button.setProperty("kind", "primary")
        self.download_button.setCursor(Qt.CursorShape.PointingHandCursor)
        self.download_button.clicked.connect(self._download)
        row.addWidget(self.download_button)
        row.addStretch(1)
        card_layout.addLayout(row)
        self.progress = DownloadPanel(card)
        self.progress.cancel_requested.connect(models.cancel)
        card_layout.addWidget(self.progress)
        layout.addWidget(card)

        self.notice = NoticeBar(column)
        layout.addWidget(self.notice)

        other = QHBoxLayout()
        other_label = QLabel(self.tr("Already have the model files?"), column)
        other_label.setObjectName("MutedLabel")
        self.folder_button = QPushButton(self.tr("Choose a folder…"), column)
        self.folder_button.setObjectName("WelcomeFolder")
        self.folder_button.setToolTip(self.tr("A folder with config.json and the .safetensors files"))
        self.folder_button.clicked.connect(self._choose_folder)
        self.manager_button = QPushButton(self.tr("All models…"), column)
        self.manager_button.clicked.connect(self.models_requested)
        other.addWidget(other_label)
        other.addStretch(1)
        other.addWidget(self.folder_button)
        other.addWidget(self.manager_button)
        layout.addLayout(other)
        self.root_label = QLabel(column)
        self.root_label.setObjectName("FinePrint")
        self.root_label.setWordWrap(True)
        layout.addWidget(self.root_label)

        centre = QHBoxLayout()
        centre.addStretch(1)
        centre.addWidget(column, 100)
        centre.addStretch(1)
        outer.addLayout(centre)
        outer.addStretch(3)

        worker = models.worker
        worker.listed.connect(self.show_listing)
        worker.progressed.connect(self._on_progress)
        worker.task_started.connect(self._on_task_started)
        worker.task_failed.connect(self._on_task_failed)
        worker.task_cancelled.connect(self._on_cancelled)
        worker.task_finished.connect(self._on_task_ended)
        self.model_about.setText(self.tr("Looking at this computer…"))
        if models.listing is not None:
            self.show_listing(models.listing)

    def show_listing(self, listing: Listing) -> None:
        self.root_label.setText(
            self.tr("Models are saved in %1. You can move them in Models.").replace("%1", listing.root)
        )
        for entry, fit in listing.catalog:
            if entry.name != RECOMMENDED:
                continue
            size = formatting.size(entry.download_bytes) if entry.download_bytes else self.tr("unknown size")
            self.download_button.setText(self.tr("Download gpt-oss-20b (%1)").replace("%1", size))
            self.model_about.setText(model_facts.catalog_description(entry))
            self.fit_label.setText(model_facts.fit_estimate(fit) if fit is not None else "")
            self.fit_label.setProperty("verdict", fit.verdict if fit is not None else "")
            self.fit_label.style().unpolish(self.fit_label)
            self.fit_label.style().polish(self.fit_label)
            partial = next(
                (m for m in listing.local if m.name == RECOMMENDED and m.status == "incomplete"), None
            )
            if partial is not None and not self.models.busy:
                self.download_button.setText(
                    self.tr("Resume download (%1 of %2 done)")
                    .replace("%1", formatting.size(partial.size_bytes))
                    .replace("%2", size)
                )

    def _download(self) -> None:
        self.notice.dismiss()
        if self.models.listing is None:
            # Clicked before the first look at the models folder (the screen shows from the first frame): look
            # first, or the list and its estimates would wait behind the whole download on the worker.
            self.models.refresh()
        self.models.download(RECOMMENDED)

    def _choose_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(
            self, self.tr("Choose a gpt-oss model folder"), model_choices.picker_start_folder()
        )
        if folder:
            self.folder_chosen.emit(folder)

    def _on_task_started(self, kind: str, name: str) -> None:
        if kind == "download":
            self.progress.start(self.tr("Downloading %1").replace("%1", name))
            self.download_button.setEnabled(False)

    def _on_progress(self, progress) -> None:
        if progress.phase == "download":
            self.progress.update_progress(progress)

    def _on_task_ended(self, kind: str, _name: str, *_result) -> None:
        if kind != "download":
            return
        self.progress.finish()
        self.download_button.setEnabled(True)

    def _on_task_failed(self, kind: str, name: str, error: ErrorReport) -> None:
        if kind == "download":
            self._on_task_ended(kind, name)
            self.notice.show_error(error, lead=engine_errors.task_lead(kind, name))

    def _on_cancelled(self, kind: str, _name: str) -> None:
        if kind == "download":
            self.progress.finish()
            self.download_button.setEnabled(True)
            self.notice.show_notice(
                self.tr("Download paused. Resume continues where it stopped."), kind="info"
            )
