"""The main window: sidebar, conversation, composer, status bar; it wires the pieces and owns the threads.

Construction is cheap (Qt widgets and a SQLite read) so the window paints at once; the engine and the
models folder are looked at only after the first paint (``start``), on their worker threads.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

from PySide6.QtCore import QCoreApplication, QEvent, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QFileDialog,
    QHBoxLayout,
    QMainWindow,
    QSplitter,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from app import engine_errors, engine_notices, export, formatting, remote_models
from app import settings as keys
from app.chat_controller import ChatController
from app.engine_client import EngineClient
from app.engine_errors import ErrorReport
from app.model_checks import ModelChecks
from app.models_worker import Listing, ModelsClient
from app.save_failures import SaveFailures
from app.settings import Settings
from app.store import Store
from app.widgets.chat_header import ChatHeader
from app.widgets.chat_view import ChatView
from app.widgets.composer import Composer
from app.widgets.model_manager import ModelManager
from app.widgets.notice_bar import NoticeBar
from app.widgets.settings_dialog import ENGINE_KEYS, SettingsDialog
from app.widgets.sidebar import Sidebar
from app.widgets.status_bar import StatusBar
from app.widgets.welcome_screen import WelcomeScreen

log = logging.getLogger(__name__)
UNDO_MS = 10000


class MainWindow(QMainWindow):
    first_painted = Signal(float)  # time.monotonic() of the first paint
    theme_change_requested = Signal(str)

    def __init__(
        self, *, store: Store | None = None, settings: Settings | None = None, model_path: str | None = None
    ) -> None:
        super().__init__()
        self.setObjectName("MainWindow")
        self.setWindowTitle("Gossamer")
        self.setMinimumSize(720, 480)
        self.settings = settings or Settings()
        self.store = store or Store()
        self.model_path_arg = model_path
        self.engine = EngineClient(self)
        self.models = ModelsClient(self)
        self.controller = ChatController(self.store, self.engine, self.settings, self)
        self.model_manager: ModelManager | None = None
        self.painted_at: float | None = None
        self._started = False
        self._closed = False
        self._choosing_model = False  # at start: waiting for the models list to pick one
        self._loading_since = 0.0
        self._loading_name = ""
        self._loading_timer = QTimer(self, interval=1000)
        self._loading_timer.timeout.connect(self.show_loading)
        self._build()
        self._connect()
        self._restore()

    # construction
    def _build(self) -> None:
        self.splitter = QSplitter(Qt.Orientation.Horizontal, self)
        self.splitter.setObjectName("MainSplitter")
        self.splitter.setHandleWidth(1)
        self.sidebar = Sidebar(self.controller.conversations, self.splitter)
        self.sidebar.setMinimumWidth(200)
        self.splitter.addWidget(self.sidebar)

        right = QWidget(self.splitter)
        right.setObjectName("ChatPane")
        right_layout = QVBoxLayout(right)
        right_layout.setContentsMargins(0, 0, 0, 0)
        right_layout.setSpacing(0)
        self.header = ChatHeader(right)
        self.header.models_requested.connect(self.open_model_manager)
        self.title_label = self.header.title_label
        self.model_button = self.header.model_button
        self.menu_button = self.header.menu_button
        self.conversation_menu = self.header.conversation_menu
        right_layout.addWidget(self.header)
        self.stack = QStackedWidget(right)
        right_layout.addWidget(self.stack, 1)

        chat_page = QWidget(self.stack)
        chat_layout = QVBoxLayout(chat_page)
        chat_layout.setContentsMargins(0, 0, 0, 0)
        chat_layout.setSpacing(0)
        self.chat_view = ChatView(self.controller.chat_model, chat_page)
        chat_layout.addWidget(self.chat_view, 1)
        bottom = QWidget(chat_page)
        bottom.setObjectName("ComposerArea")
        bottom_layout = QHBoxLayout(bottom)
        bottom_layout.setContentsMargins(24, 6, 24, 16)
        bottom_layout.addStretch(1)
        column = QWidget(bottom)
        column.setMaximumWidth(820)
        column_layout = QVBoxLayout(column)
        column_layout.setContentsMargins(0, 0, 0, 0)
        column_layout.setSpacing(8)
        self.notice = NoticeBar(column)
        column_layout.addWidget(self.notice)
        self.composer = Composer(column)
        column_layout.addWidget(self.composer)
        bottom_layout.addWidget(column, 100)
        bottom_layout.addStretch(1)
        chat_layout.addWidget(bottom)
        self.stack.addWidget(chat_page)
        self.chat_page = chat_page

        self.welcome = WelcomeScreen(self.models, self.stack)
        self.stack.addWidget(self.welcome)

        self.splitter.addWidget(right)
        self.splitter.setStretchFactor(0, 0)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setSizes([260, 940])
        self.splitter.setCollapsible(1, False)
        self.setCentralWidget(self.splitter)
        self.status = StatusBar(self)
        self.setStatusBar(self.status)
        self._build_actions()

    def _build_actions(self) -> None:
        def action(text: str, shortcut, slot, parent=self) -> QAction:
            result = QAction(text, parent)
            if shortcut is not None:
                result.setShortcut(QKeySequence(shortcut))
                result.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
            result.triggered.connect(slot)
            self.addAction(result)
            return result

        self.new_action = action(self.tr("New chat"), "Ctrl+N", self.new_chat)
        self.search_action = action(self.tr("Search chats"), "Ctrl+F", self.sidebar.focus_search)
        self.settings_action = action(self.tr("Settings…"), "Ctrl+,", self.open_settings)
        self.models_action = action(self.tr("Models…"), "Ctrl+Shift+M", self.open_model_manager)
        self.regenerate_action = action(
            self.tr("Regenerate"), "Ctrl+Shift+R", lambda: self.controller.regenerate()
        )
        self.rename_action = action(self.tr("Rename…"), None, self._rename_current)
        self.export_md_action = action(
            self.tr("Export as Markdown…"), None, lambda: self._export_current("markdown")
        )
        self.export_json_action = action(
            self.tr("Export as JSON…"), None, lambda: self._export_current("json")
        )
        self.delete_action = action(self.tr("Delete"), None, self._delete_current)
        self.quit_action = action(self.tr("Quit"), QKeySequence.StandardKey.Quit, self.close)
        for item in (self.rename_action, self.export_md_action, self.export_json_action):
            self.conversation_menu.addAction(item)
        self.conversation_menu.addSeparator()
        self.conversation_menu.addAction(self.delete_action)

    def _connect(self) -> None:
        controller, composer = self.controller, self.composer
        composer.send_requested.connect(self._send)
        composer.stop_requested.connect(controller.stop)
        composer.effort_changed.connect(self._set_effort)
        controller.conversation_changed.connect(self._on_conversation_changed)
        controller.busy_changed.connect(self._on_busy_changed)
        controller.turn_completed.connect(self._on_turn_completed)
        controller.turn_error.connect(self._on_turn_error)
        controller.no_model.connect(self._on_no_model)
        self.save_failures = SaveFailures(self)  # writes the store refuses: notices, and the close question
        self.model_checks = ModelChecks(self)  # changed files hashed before a load; Verify after bad logits
        self.chat_view.regenerate_requested.connect(controller.regenerate)
        self.chat_view.continue_requested.connect(controller.continue_answer)
        self.chat_view.edit_submitted.connect(self._edit_and_resend)
        self.sidebar.conversation_selected.connect(controller.open_conversation)
        # Past chats stay readable without a model: picking one leaves the welcome screen.
        self.sidebar.conversation_selected.connect(lambda _id: self.show_chat())
        self.sidebar.new_requested.connect(self.new_chat)
        self.sidebar.delete_requested.connect(self.delete_conversation)
        self.sidebar.export_requested.connect(self.export_conversation)
        self.sidebar.models_requested.connect(self.open_model_manager)
        self.sidebar.settings_requested.connect(self.open_settings)
        self.notice.action_triggered.connect(self._on_notice_action)
        self.welcome.folder_chosen.connect(self.load_model)
        self.welcome.models_requested.connect(self.open_model_manager)
        worker = self.engine.worker
        worker.model_loading.connect(self._on_model_loading)
        worker.model_loaded.connect(self._on_model_loaded)
        worker.model_load_failed.connect(self._on_model_load_failed)
        worker.model_unloaded.connect(self._on_model_unloaded)
        worker.engine_notice.connect(self._on_engine_notice)
        self.models.worker.listed.connect(self._on_listing)
        self.models.worker.task_finished.connect(self._on_models_task_finished)

    def _restore(self) -> None:
        geometry = self.settings.geometry()
        if geometry is None or not self.restoreGeometry(geometry):
            self.resize(1200, 800)
        splitter = self.settings.splitter()
        if splitter is not None:
            self.splitter.restoreState(splitter)
        self._update_model_button()
        last = self.settings.get(keys.LAST_CONVERSATION)
        if not (last and self.controller.open_conversation(last)):
            self.controller.new_conversation()
        self.composer.edit.setFocus()

    # start-up, after the first paint
    def event(self, event) -> bool:
        if event.type() == QEvent.Type.Paint and self.painted_at is None:
            self.painted_at = time.monotonic()
            self.first_painted.emit(self.painted_at)
            QTimer.singleShot(0, self.start)
        return super().event(event)

    def showEvent(self, event) -> None:  # noqa: N802
        super().showEvent(event)
        if not self._started:
            QTimer.singleShot(1000, self.start)  # in case no paint comes (a minimized start)

    def start(self) -> None:
        """Purge the bin, find a model and load it (or welcome the user); safe to call more than once."""
        if self._started or self._closed:
            return
        self._started = True
        self.controller.purge()
        path = self.model_path_arg or self.settings.get(keys.MODEL_PATH)
        if path and (Path(path).is_dir() or remote_models.is_remote(path)):
            self.load_model(path)
        else:
            self._choosing_model = True
            self.status.set_state(self.tr("Looking for models…"), busy=True)
        self.models.refresh()

    def _on_listing(self, listing: Listing) -> None:
        if not self._choosing_model:
            return
        self._choosing_model = False
        usable = [m for m in listing.local if m.status in ("verified", "unverified")]
        if usable:
            self.load_model(str(usable[0].path))
        else:
            self.status.set_state(self.tr("No model loaded"))
            self.show_welcome()

    def show_welcome(self) -> None:
        self.stack.setCurrentWidget(self.welcome)

    def show_chat(self) -> None:
        self.stack.setCurrentWidget(self.chat_page)

    # the model
    def load_model(self, path: str) -> None:
        self.show_chat()
        self.notice.dismiss()
        get = self.settings.get
        self.engine.load(path, get(keys.DEVICE), self.settings.vram_budget_bytes(), get(keys.CONTEXT_LENGTH))
        self._update_model_button()

    def _on_model_loading(self, path: str) -> None:
        self._loading_since, self._loading_name = time.monotonic(), Path(path).name
        self._loading_timer.start()
        self.show_loading()
        self.status.set_device(None)
        self._update_model_button()

    def show_loading(self) -> None:
        if not self.engine.loading:
            self._loading_timer.stop()
            return
        elapsed = time.monotonic() - self._loading_since
        text = self.model_checks.status_text(self._loading_name) or self.tr("Loading %1…").replace(
            "%1", self._loading_name
        )
        if elapsed >= 1:
            text += " " + formatting.duration(elapsed)
        self.status.set_state(text, busy=True)

    def _on_model_loaded(self, info: dict) -> None:
        self.settings.set(keys.MODEL_PATH, info["path"])
        self.status.set_state(self.tr("Ready"))
        self.status.set_device(info.get("facts"))
        self._show_context()
        self._update_model_button()
        if self.model_manager is not None:
            self.model_manager.set_loaded_path(info["path"])

    def _on_model_load_failed(self, path: str, error: ErrorReport) -> None:
        self.status.set_state(self.tr("No model loaded"))
        self.status.set_device(None)
        self._update_model_button()
        self.show_chat()
        self.notice.show_error(
            error,
            lead=engine_errors.task_lead("load", Path(path).name),
            actions=[("models", self.tr("Choose a model…"))],
        )

    def _on_engine_notice(self, notice, facts: dict | None) -> None:
        """The engine changed how it runs (say, more experts in RAM after the GPU ran out of memory)."""
        if facts:
            self.status.set_device(facts)
        self.notice.show_notice(engine_notices.shown(notice), kind="warning")

    def _on_model_unloaded(self) -> None:
        self.status.set_state(self.tr("No model loaded"))
        self.status.set_device(None)
        self._update_model_button()

    def _update_model_button(self) -> None:
        if self.engine.model is not None:
            text = Path(self.engine.model["path"]).name
        elif self.engine.loading and self.engine.loading_path:
            text = self.tr("Loading %1…").replace("%1", Path(self.engine.loading_path).name)
        else:
            text = self.tr("No model")
        self.model_button.setText(text + "  ▾")

    def _on_models_task_finished(self, kind: str, _name: str, result) -> None:
        if (
            kind == "download"
            and self.engine.model is None
            and not self.engine.loading
            and result is not None
        ):
            self.load_model(str(result.path))

    # chat
    def new_chat(self) -> None:
        self.controller.new_conversation()
        self.show_chat()
        self.composer.edit.setFocus()

    def _send(self, text: str) -> None:
        if self.controller.busy:
            self.notice.show_notice(
                self.tr("An answer is still being written. Wait for it, or press Stop (Esc)."),
                kind="info",
                timeout_ms=5000,
            )
            return
        if self.controller.send(text):
            self.composer.clear_text()
            self.chat_view.scroll_to_bottom()

    def _edit_and_resend(self, row: int, text: str) -> None:
        if not self.controller.edit_and_resend(row, text):
            self.chat_view.edit_again(row, text)  # what the user wrote stays, to send again

    def _set_effort(self, effort: str) -> None:
        self.controller.set_effort(effort)
        self.composer.set_effort(self.controller.effort)  # the saved one, if the store refused the change

    def _on_conversation_changed(self, conversation) -> None:
        title = conversation.title if conversation is not None and conversation.title else self.tr("New chat")
        self.title_label.setText(title)
        self.setWindowTitle(f"{title} — Gossamer")
        self.sidebar.select(conversation.id if conversation is not None else None)
        self.composer.set_effort(self.controller.effort)
        for item in (self.rename_action, self.export_md_action, self.export_json_action, self.delete_action):
            item.setEnabled(conversation is not None)
        self.menu_button.setEnabled(conversation is not None)
        self._show_context()

    def _show_context(self) -> None:
        if self.engine.model is not None:
            messages = self.controller.chat_model.messages()
            self.status.set_chat_context(messages, self.engine.model.get("context_max"))

    def _on_busy_changed(self, busy: bool) -> None:
        self.composer.set_busy(busy)
        self.chat_view.set_busy(busy)
        if busy:
            self.status.set_state(self.tr("Answering…  (Esc to stop)"), busy=True)
        elif self.engine.model is not None:
            self.status.set_state(self.tr("Ready"))

    def _on_turn_completed(self, _reason: str, usage: dict) -> None:
        if usage:
            self.status.set_speed(usage.get("decode_tok_s"))
            self.status.set_context(usage.get("context_used"), usage.get("context_max"))

    def _on_turn_error(self, error: ErrorReport) -> None:
        if error.traceback:  # an unexpected error: the message in the answer says it, the details are here
            self.notice.show_error(error)

    def _on_no_model(self) -> None:
        self.notice.show_notice(
            self.tr("No model is loaded yet. Download one or choose a folder, then send."),
            kind="warning",
            actions=[("models", self.tr("Open Models"))],
        )

    def _on_notice_action(self, key: str) -> None:
        if key == "models":
            self.open_model_manager()
        elif key.startswith("undo:"):
            self.controller.undo_delete(int(key.split(":", 1)[1]))

    def keyPressEvent(self, event) -> None:  # noqa: N802
        if event.key() == Qt.Key.Key_Escape and self.controller.busy:
            self.controller.stop()
            event.accept()
            return
        super().keyPressEvent(event)

    # conversations
    def delete_conversation(self, conversation_id: int) -> None:
        conversation = self.store.conversation(conversation_id)
        if conversation is None or not self.controller.delete(conversation_id):
            return
        self.show_chat()  # the Undo notice lives on the chat page
        title = conversation.title or self.tr("New chat")
        self.notice.show_notice(
            self.tr("Deleted “%1”.").replace("%1", title),
            kind="info",
            actions=[(f"undo:{conversation_id}", self.tr("Undo"))],
            timeout_ms=UNDO_MS,
        )

    def _delete_current(self) -> None:
        if self.controller.conversation is not None:
            self.delete_conversation(self.controller.conversation.id)

    def _rename_current(self) -> None:
        if self.controller.conversation is not None:
            self.sidebar.rename(self.controller.conversation.id)

    def _export_current(self, kind: str) -> None:
        if self.controller.conversation is not None:
            self.export_conversation(self.controller.conversation.id, kind)

    def export_conversation(self, conversation_id: int, kind: str, path: str | None = None) -> str | None:
        conversation = self.store.conversation(conversation_id)
        if conversation is None:
            return None
        if path is None:
            filters = self.tr("Markdown (*.md)") if kind == "markdown" else self.tr("JSON (*.json)")
            suggested = str(Path.home() / export.file_name(conversation, kind))
            path, _ = QFileDialog.getSaveFileName(self, self.tr("Export conversation"), suggested, filters)
            if not path:
                return None
        try:
            export.write(path, kind, conversation, self.store.messages(conversation_id))
        except OSError as error:
            self.notice.show_notice(
                self.tr("Could not write %1: %2").replace("%1", path).replace("%2", str(error)), kind="error"
            )
            return None
        self.notice.show_notice(self.tr("Exported to %1").replace("%1", path), kind="info", timeout_ms=6000)
        return path

    # dialogs
    def open_model_manager(self) -> ModelManager:
        if self.model_manager is None:
            self.model_manager = ModelManager(self.models, self)
            self.model_manager.load_requested.connect(self._load_from_manager)
        self.model_manager.set_loaded_path(self.engine.model["path"] if self.engine.model else None)
        self.models.refresh()
        self.model_manager.show()
        self.model_manager.raise_()
        self.model_manager.activateWindow()
        return self.model_manager

    def _load_from_manager(self, path: str) -> None:
        self.load_model(path)
        if self.model_manager is not None:
            self.model_manager.accept()

    def open_settings(self) -> SettingsDialog:
        dialog = SettingsDialog(self.settings, self)
        dialog.accepted.connect(lambda: self.apply_settings(dialog.save()))
        dialog.open()
        return dialog

    def apply_settings(self, changed: set[str]) -> None:
        if keys.THEME in changed:
            self.theme_change_requested.emit(self.settings.get(keys.THEME))
        if changed & set(ENGINE_KEYS) and self.engine.model is not None:
            self.load_model(self.engine.model["path"])

    # closing
    def closeEvent(self, event) -> None:  # noqa: N802
        if not self._closed and not self.save_failures.may_close():
            event.ignore()  # an answer the store still refuses: the question is up
            return
        self.settings.set_geometry(self.saveGeometry())
        self.settings.set_splitter(self.splitter.saveState())
        self.settings.sync()
        self.shutdown()
        super().closeEvent(event)

    def shutdown(self) -> None:
        """Save what is streaming, stop the threads, empty the bin; safe to call twice."""
        if self._closed:
            return
        self._closed = True
        self.controller.save_answers()
        self.engine.shutdown()
        self.models.shutdown()
        # The worker's last events (a Stop's "cancelled") are queued here: deliver them before closing.
        QCoreApplication.sendPostedEvents(None, QEvent.Type.MetaCall)
        self.controller.shutdown()
        self.controller.purge()
        self.store.close()
