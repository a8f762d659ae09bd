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
    QHBoxLayout,
    QMainWindow,
    QSplitter,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from app import model_choices, remote_models
from app import settings as keys
from app.chat_controller import ChatController
from app.engine_client import EngineClient
from app.engine_errors import ErrorReport
from app.long_context import LongContext
from app.local_api import LocalApi
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
from app.window_conversations import UNDO_MS, ConversationActions
from app.window_models import ModelHandlers

log = logging.getLogger(__name__)
__all__ = ["UNDO_MS", "MainWindow"]


class MainWindow(ModelHandlers, ConversationActions, QMainWindow):
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
        self._first_model: str | None = None
        self._first_library: list = []  # the models folder as listed at start, until the worker lists it
        self._loading_since = 0.0
        self._loading_name = ""
        self._loading_timer = QTimer(self, interval=1000)
        self._loading_timer.timeout.connect(self.show_loading)
        self._live_context: tuple[int, int] | None = None  # (turn id, prompt tokens) while an answer streams
        self._build()
        self._connect()
        self._restore()
        self.local_api = LocalApi(self)  # the Local API switch in Settings; shares self.engine's thread

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
        self.header.model_button.set_source(self.model_choices, self.current_model_key)
        self.header.model_button.choice_selected.connect(self.choose_model)
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
        self._set_tab_order()

    def _set_tab_order(self) -> None:
        """Tab walks the window as it reads: the sidebar top to bottom, the header, then the composer."""
        sidebar, composer = self.sidebar, self.composer
        chain = [
            sidebar.new_button,
            sidebar.search,
            sidebar.list,
            sidebar.models_button,
            sidebar.settings_button,
            self.model_button,
            self.menu_button,
            composer.edit,
            composer.effort,
            composer.send_button,
        ]
        for first, second in zip(chain, chain[1:], strict=False):
            QWidget.setTabOrder(first, second)

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
            self.tr("Regenerate"), "Ctrl+Shift+R", lambda: self.long_context.regenerate()
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
        self.long_context = LongContext(self)  # a chat that outgrows the context; reasoning the engine cut
        self.model_checks = ModelChecks(self)  # changed files hashed before a load; Verify after bad logits
        self.chat_view.regenerate_requested.connect(self.long_context.regenerate)  # asks first in a full chat
        self.chat_view.continue_requested.connect(self.long_context.continue_answer)
        self.chat_view.edit_submitted.connect(self._edit_and_resend)
        self.chat_view.version_requested.connect(controller.show_version)
        self.sidebar.conversation_selected.connect(controller.open_conversation)
        # Past chats stay readable without a model: picking one leaves the welcome screen.
        self.sidebar.conversation_selected.connect(lambda _id: self.show_chat())
        self.sidebar.new_requested.connect(self.new_chat)
        self.sidebar.delete_requested.connect(self.delete_conversation)
        self.sidebar.export_requested.connect(self.export_conversation)
        self.sidebar.models_requested.connect(self.open_model_manager)
        self.sidebar.settings_requested.connect(self.open_settings)
        self.notice.action_triggered.connect(self._on_notice_action)
        self.welcome.folder_chosen.connect(self.load_chosen_folder)
        self.welcome.models_requested.connect(self.open_model_manager)
        worker = self.engine.worker
        worker.model_loading.connect(self._on_model_loading)
        worker.model_loaded.connect(self._on_model_loaded)
        worker.model_load_failed.connect(self._on_model_load_failed)
        worker.model_unloaded.connect(self._on_model_unloaded)
        worker.engine_notice.connect(self._on_engine_notice)
        worker.turn_started.connect(self._on_turn_started)
        worker.text_streamed.connect(self._on_text_streamed)
        self.models.worker.listed.connect(self._on_listing)
        self.models.worker.listed.connect(self._on_listing_for_manager)
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
        # The page is chosen before the first paint: the welcome screen from the first frame when there is
        # no model to load (the models folder is listed here by sizes alone; the fit estimates come later).
        self._first_model = self._model_to_start_with()
        if self._first_model is None and not self._choosing_model:
            self.show_welcome()
            self.welcome.download_button.setFocus()
        else:
            self.composer.edit.setFocus()

    def _model_to_start_with(self) -> str | None:
        """The folder to load at start: --model, else the last one loaded, else the first model in the
        models folder; None when there is none (or the folder cannot be read now: the listing decides)."""
        path = self.model_path_arg or self.settings.get(keys.MODEL_PATH)
        # a folder, or a model on a server still saved (one removed is not tried at each start)
        if path and (Path(path).is_dir() or remote_models.server_of(path) is not None):
            return path
        try:
            from engine.hub import ModelStore

            self._first_library = ModelStore().list()
            usable = [m for m in self._first_library if m.status in model_choices.LOADABLE]
        except Exception:  # the worker's listing says what is wrong with the folder
            log.exception("the models folder could not be listed at start")
            self._choosing_model = True
            return None
        return str(usable[0].path) if usable else None

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
        if self._first_model is not None:
            self.load_model(self._first_model)
        elif self._choosing_model:
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
        if self.long_context.intercept(text):  # a full chat: the user chooses first, or it stops
            return
        if self.controller.send(text):
            self.composer.clear_text()
            self.chat_view.scroll_to_bottom()

    def _edit_and_resend(self, row: int, text: str) -> None:
        if self.long_context.intercept_edit(row, text):  # a full chat: the user chooses first, or it stops
            return
        if not self.controller.edit_and_resend(row, text):
            self.chat_view.edit_again(row, text)  # what the user wrote stays, to send again

    def _set_effort(self, effort: str) -> None:
        self.controller.set_effort(effort)
        self.composer.set_effort(self.controller.effort)  # the saved one, if the store refused the change

    def _on_conversation_changed(self, conversation) -> None:
        self._live_context = None
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
        """The meter and the speed of the chat shown: its newest answer's (nothing for a new chat)."""
        messages = self.controller.chat_model.messages()
        self.status.set_chat_speed(messages)
        if self.engine.model is not None:
            # what the chat's next prompt holds, counted without the model (a reopened chat too)
            self.status.set_context(self.long_context.context_used(), self.engine.model.get("context_max"))

    def _on_busy_changed(self, busy: bool) -> None:
        self.composer.set_busy(busy)
        self.chat_view.set_busy(busy)
        if not busy:
            self._live_context = None
        self.show_state()

    def _streaming_here(self) -> bool:
        shown = self.controller.conversation
        return shown is not None and shown.id == self.controller.streaming_conversation_id()

    def _on_turn_started(self, turn_id: int, prompt_ids: list) -> None:
        """The answer has begun: the meter counts the prompt, then each token as it arrives."""
        if turn_id == self.engine.turn_id:
            self._live_context = (turn_id, len(prompt_ids))
            self._show_live_context(0)

    def _on_text_streamed(self, turn_id: int, deltas: list) -> None:
        if self._live_context is not None and self._live_context[0] == turn_id:
            self._show_live_context(sum(tokens for _channel, _text, tokens in deltas))

    def _show_live_context(self, new_tokens: int) -> None:
        turn_id, used = self._live_context
        self._live_context = (turn_id, used + new_tokens)
        if self._streaming_here() and self.engine.model is not None:
            self.status.set_context(used + new_tokens, self.engine.model.get("context_max"))

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
            self.undo_delete(int(key.split(":", 1)[1]))

    def keyPressEvent(self, event) -> None:  # noqa: N802
        if event.key() == Qt.Key.Key_Escape and self.controller.busy:
            self.controller.stop()
            event.accept()
            return
        super().keyPressEvent(event)

    # dialogs
    def open_settings(self) -> SettingsDialog:
        dialog = SettingsDialog(self.settings, self, gpu=self._has_gpu())
        dialog.long_context.set_model(self.engine.model)  # each context length's cost on this GPU
        dialog.accepted.connect(lambda: self.apply_settings(dialog.save()))
        dialog.open()
        return dialog

    def _has_gpu(self) -> bool | None:
        facts = self.engine.model.get("facts") if self.engine.model is not None else None
        if facts and facts.get("device_type") == "cuda":
            return True
        return self.models.listing.gpu if self.models.listing is not None else None

    def apply_settings(self, changed: set[str]) -> None:
        if keys.THEME in changed:
            self.theme_change_requested.emit(self.settings.get(keys.THEME))
        if changed & set(ENGINE_KEYS) and self.engine.model is not None:
            self.load_model(self.engine.model["path"])
        self.local_api.apply(changed)

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
        self.sidebar.list.setFocus()  # a rename being typed is committed (on focus out) while the store is open
        self.controller.save_answers()
        self.local_api.stop()  # its requests leave the engine thread before that stops
        self.engine.shutdown()
        self.models.shutdown()
        # The worker's last events (a Stop's "cancelled") are queued here: deliver them before closing.
        QCoreApplication.sendPostedEvents(None, QEvent.Type.MetaCall)
        self.controller.shutdown()
        self.controller.purge()
        self.store.close()
