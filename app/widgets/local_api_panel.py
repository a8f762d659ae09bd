"""Settings' Local API page: the switch, the port, and (while on) the base URL and key to copy."""

from __future__ import annotations

from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QCheckBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QWidget,
)

from app import settings as keys
from app.settings import Settings


class LocalApiPanel(QWidget):
    def __init__(self, settings: Settings, local_api=None, parent=None) -> None:
        super().__init__(parent)
        self.settings = settings
        self.local_api = local_api  # app.local_api.LocalApi: what runs now (None in a bare dialog)
        form = QFormLayout(self)
        form.setContentsMargins(14, 16, 14, 10)
        form.setHorizontalSpacing(14)
        form.setVerticalSpacing(10)
        self.enabled = QCheckBox(self.tr("Serve the model to other programs on this computer"), self)
        self.enabled.setAccessibleName(self.tr("Local API"))
        form.addRow(self.tr("Local &API:"), self.enabled)
        self.port = QSpinBox(self)
        self.port.setRange(0, 65535)
        self.port.setSpecialValueText(self.tr("Any free port"))
        form.addRow(self.tr("&Port:"), self.port)
        self.url = self._copyable(form, self.tr("Base URL:"), self.tr("Copy the base URL"))
        self.key = self._copyable(form, self.tr("API key:"), self.tr("Copy the API key"))
        self.key.setEchoMode(QLineEdit.EchoMode.PasswordEchoOnEdit)
        self.note = QLabel(self)
        self.note.setObjectName("MutedLabel")
        self.note.setWordWrap(True)
        form.addRow("", self.note)
        self.enabled.setChecked(settings.get(keys.API_ENABLED))
        self.port.setValue(settings.get(keys.API_PORT))
        self.enabled.toggled.connect(self._update)
        self.port.valueChanged.connect(self._update)
        self._update()

    def _copyable(self, form: QFormLayout, label: str, tip: str) -> QLineEdit:
        row = QWidget(self)
        layout = QHBoxLayout(row)
        layout.setContentsMargins(0, 0, 0, 0)
        field = QLineEdit(row)
        field.setReadOnly(True)
        button = QPushButton(self.tr("Copy"), row)
        button.setToolTip(tip)
        button.setAccessibleName(tip)
        button.clicked.connect(lambda: QGuiApplication.clipboard().setText(field.text()))
        layout.addWidget(field, 1)
        layout.addWidget(button)
        form.addRow(label, row)
        field.copy_button = button
        return field

    def _update(self) -> None:
        on = self.enabled.isChecked()
        self.port.setEnabled(on)
        for field in (self.url, self.key):
            field.setEnabled(on)
            field.copy_button.setEnabled(on)
        api = self.local_api
        if on:
            running = api is not None and api.running and self.port.value() in (0, api.server.port)
            port = api.server.port if running else self.port.value() or 8642
            self.url.setText(f"http://127.0.0.1:{port}/v1")
            self.key.setText(self._key())
        else:
            self.url.clear()
            self.key.clear()
        if api is not None and api.error and on:
            self.note.setText(api.error)
        else:
            self.note.setText(
                self.tr(
                    "Programs such as Open WebUI, Continue or Codex CLI can use the loaded model with this "
                    "address and key. They share the model with your chats, one answer at a time, and their "
                    "requests are not saved in your chats."
                )
            )

    def _key(self) -> str:
        from engine.errors import EngineError
        from engine.server.keys import load_or_create_key

        try:
            return load_or_create_key()
        except EngineError as error:
            self.note.setText(str(error))
            return ""

    def values(self) -> dict:
        return {keys.API_ENABLED: self.enabled.isChecked(), keys.API_PORT: self.port.value()}
