"""The status bar's Local API sign: shown while the server runs, with the number of requests served."""

from __future__ import annotations

from PySide6.QtWidgets import QLabel


class ApiIndicator(QLabel):
    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("StatusApi")
        self.setVisible(False)

    def show_state(self, running: bool, served: int, url: str, error: str = "") -> None:
        if error:
            self.setText(self.tr("API off"))
            self.setToolTip(error)
            self.setVisible(True)
            return
        self.setVisible(running)
        if running:
            self.setText(self.tr("API · %n request(s)", "", served))
            self.setToolTip(self.tr("Other programs can use the model at %1").replace("%1", url))
