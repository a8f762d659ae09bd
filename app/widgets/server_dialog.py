"""Add or edit a server: its name, address and key, Test connection (its models, or why not), Save.

The key is typed into a password field and goes only to engine.remote.servers, which keeps it owner-only
(or in the keychain); nothing here logs it. Save tests the connection first when it was not tested as typed,
so a saved server always comes with its list of models. An edit (``server``: a saved one) keeps the server's
id, so its models keep their keys; a new name alone needs no test, a new address or key is tested as when
adding.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
)

from app import engine_errors
from app.remote_models import ServerProbe, store


class ServerDialog(QDialog):
    saved = Signal(object)  # engine.remote.servers.SavedServer

    def __init__(self, parent=None, server=None) -> None:
        super().__init__(parent)
        self.server = server  # engine.remote.servers.SavedServer being edited; None: adding one
        self.setObjectName("ServerDialog")
        self.setWindowTitle(self.tr("Edit server") if server is not None else self.tr("Add a server"))
        self.setMinimumWidth(520)
        self.probe = ServerProbe(self)
        self.probe.answered.connect(self._on_answer)
        self._request = 0
        self._save_after = False
        self._tested: tuple[str, str] | None = None  # (url, key) that answered with models
        self._asked: tuple[str, str] | None = None  # (url, key) of the test under way
        self.models: list = []

        layout = QVBoxLayout(self)
        intro = QLabel(
            self.tr(
                "A computer that serves gpt-oss with an OpenAI-compatible API: vLLM, SGLang, Ollama, "
                "LM Studio, "
                "llama.cpp or another Gossamer."
            ),
            self,
        )
        intro.setWordWrap(True)
        intro.setObjectName("MutedLabel")
        layout.addWidget(intro)
        form = QFormLayout()
        self.name_edit = QLineEdit(self)
        self.name_edit.setPlaceholderText(self.tr("optional: its address is shown"))
        self.name_edit.setAccessibleName(self.tr("Server name"))
        self.name_edit.setMaxLength(80)
        self.url_edit = QLineEdit(self)
        self.url_edit.setPlaceholderText("http://gpu-box:8000/v1")
        self.url_edit.setAccessibleName(self.tr("Server address"))
        self.key_edit = QLineEdit(self)
        self.key_edit.setEchoMode(QLineEdit.EchoMode.Password)
        self.key_edit.setPlaceholderText(self.tr("optional"))
        self.key_edit.setAccessibleName(self.tr("API key"))
        form.addRow(self.tr("Name:"), self.name_edit)
        form.addRow(self.tr("Address:"), self.url_edit)
        form.addRow(self.tr("API key:"), self.key_edit)
        layout.addLayout(form)

        self.test_button = QPushButton(self.tr("Test connection"), self)
        self.test_button.clicked.connect(self.test)
        layout.addWidget(self.test_button, 0, Qt.AlignmentFlag.AlignLeft)
        self.result = QLabel(self)
        self.result.setObjectName("ServerTestResult")
        self.result.setWordWrap(True)
        self.result.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.result)

        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel, self
        )
        self.save_button = self.buttons.button(QDialogButtonBox.StandardButton.Save)
        self.buttons.accepted.connect(self.save)
        self.buttons.rejected.connect(self.reject)
        layout.addWidget(self.buttons)
        self.url_edit.textChanged.connect(self._update)
        self.key_edit.textChanged.connect(self._update)
        self._saved_as: tuple[str, str] | None = None  # (url, key) the edited server has now
        if server is not None:
            self._fill(server)
        self._update()

    def _fill(self, server) -> None:
        """The saved server's values to edit; its name only when the person gave it one."""
        from engine.remote.endpoint import host_name

        key = store().api_key(server) or ""
        self._saved_as = (server.url, key)
        self.name_edit.setText("" if server.name == host_name(server.url) else server.name)
        self.url_edit.setText(server.url)
        self.key_edit.setText(key)
        self.models = list(server.models)
        self.result.setText(self.tr("Change what you need, then Save. A new address or key is tested first."))

    def _typed(self) -> tuple[str, str]:
        return self.url_edit.text().strip(), self.key_edit.text().strip()

    def _update(self, *_args) -> None:
        has_url = bool(self._typed()[0])
        waiting = self._request != 0
        self.test_button.setEnabled(has_url and not waiting)
        self.save_button.setEnabled(has_url and not waiting)

    # actions
    def test(self) -> None:
        url, key = self._typed()
        if not url:
            return
        self._asked = (url, key)
        self.result.setText(self.tr("Asking %1 for its models…").replace("%1", url))
        self._request = self.probe.probe(url, key or None)
        self._update()

    def save(self) -> None:
        if self._taken_by_another():
            return
        if self._saved_as is not None and self._typed() == self._saved_as:  # only the name changed
            self._tested, self.models = self._saved_as, list(self.server.models)  # even after a failed test
            self._save()
            return
        if self._tested == self._typed() and self.models:
            self._save()
            return
        self._save_after = True
        self.test()

    def _taken_by_another(self) -> bool:
        """An edit to the address of another saved server would make two of one: say so, save nothing."""
        if self.server is None:
            return False  # adding an address saved already updates that server
        from engine.errors import EngineError
        from engine.remote.endpoint import normalize_url

        try:
            url = normalize_url(self._typed()[0])
        except EngineError as error:
            self.result.setText(str(error))
            return True
        other = next((s for s in store().servers() if s.url == url and s.id != self.server.id), None)
        if other is not None:
            self.result.setText(
                self.tr("%1 is saved already with this address. Edit or remove that one instead.").replace(
                    "%1", other.name
                )
            )
        return other is not None

    def _save(self) -> None:
        url, key = self._tested
        from engine.errors import EngineError

        server_id = self.server.id if self.server is not None else None
        try:
            server = store().save(
                url, key or None, self.models, server_id=server_id, name=self.name_edit.text()
            )
        except (EngineError, OSError) as error:
            self.result.setText(self.tr("The server could not be saved: %1").replace("%1", str(error)))
            return
        self.saved.emit(server)
        self.accept()

    def _on_answer(self, request: int, models, error) -> None:
        if request != self._request:
            return  # an older test, answered after the address changed
        self._request = 0
        save_after, self._save_after = self._save_after, False
        if error is not None:
            self._tested, self.models = None, []
            text, detail = engine_errors.shown(error)
            self.result.setText(text + (f"\n{detail}" if detail else ""))
        elif not models:
            self._tested, self.models = None, []
            self.result.setText(
                self.tr("The server answered but serves no models. Load a model on it, then test again.")
            )
        else:
            self._tested, self.models = self._asked, list(models)
            names = ", ".join(m.id for m in models)
            self.result.setText(self.tr("Connected. Models: %1").replace("%1", names))
            if save_after and self._tested == self._typed():
                self._save()
        self._update()
