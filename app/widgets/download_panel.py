"""Progress of a download, verification or import: bar, bytes, speed, time left, and Cancel."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QProgressBar, QPushButton, QVBoxLayout

from app import formatting


class DownloadPanel(QFrame):
    cancel_requested = Signal()

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("DownloadPanel")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 4, 0, 4)
        layout.setSpacing(6)
        row = QHBoxLayout()
        self.title = QLabel(self)
        self.title.setObjectName("DownloadTitle")
        row.addWidget(self.title, 1)
        self.cancel_button = QPushButton(self.tr("Cancel"), self)
        self.cancel_button.setToolTip(self.tr("Stop; what has been downloaded is kept, and Resume continues"))
        self.cancel_button.clicked.connect(self.cancel_requested)
        row.addWidget(self.cancel_button)
        layout.addLayout(row)
        self.bar = QProgressBar(self)
        self.bar.setObjectName("DownloadBar")
        self.bar.setRange(0, 1000)
        self.bar.setTextVisible(False)
        self.bar.setFixedHeight(8)
        self.bar.setAccessibleName(self.tr("Progress"))
        layout.addWidget(self.bar)
        self.detail = QLabel(self)
        self.detail.setObjectName("DownloadDetail")
        self.detail.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.detail)
        self.setVisible(False)

    def start(self, text: str) -> None:
        self.title.setText(text)
        self.bar.setRange(0, 0)
        self.detail.setText(self.tr("Starting…"))
        self.cancel_button.setEnabled(True)
        self.setVisible(True)

    def update_progress(self, progress) -> None:
        """``progress``: engine.hub.DownloadProgress."""
        phase = {
            "download": self.tr("Downloading"),
            "verify": self.tr("Verifying"),
            "copy": self.tr("Copying"),
        }.get(progress.phase, progress.phase)
        self.title.setText(f"{phase} {progress.model}")
        if progress.bytes_total:
            self.bar.setRange(0, 1000)
            self.bar.setValue(int(1000 * progress.fraction))
        parts = [
            f"{formatting.size(progress.bytes_done)} / {formatting.size(progress.bytes_total)}"
            f" ({progress.fraction:.0%})"
        ]
        if progress.speed_bps > 0:
            parts.append(formatting.speed(progress.speed_bps))
        if progress.eta_s is not None and progress.bytes_done < progress.bytes_total:
            parts.append(self.tr("%1 left").replace("%1", formatting.duration(progress.eta_s)))
        if progress.files_total > 1:
            parts.append(
                self.tr("file %1 of %2")
                .replace("%1", str(min(progress.files_done + 1, progress.files_total)))
                .replace("%2", str(progress.files_total))
            )
        self.detail.setText(" · ".join(parts))

    def finish(self) -> None:
        self.setVisible(False)
