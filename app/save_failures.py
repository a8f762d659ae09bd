"""What the window does when the chat store refuses a write (a full disk, a read-only file; app/store_errors.py
words it): a notice saying what was not saved and what to do, Undo offered again for a chat still in the
bin, and at close a question while an answer is still unsaved.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, QTimer
from PySide6.QtWidgets import QMessageBox

from app import store_errors
from app.store import StoreWriteError


class SaveFailures(QObject):
    """Connects to the window's chat controller; ``may_close`` is asked by the window's closeEvent."""

    def __init__(self, window):
        super().__init__(window)
        self.window = window
        self.close_unsaved = False  # the user chose to close with an answer the store still refuses
        self.question: QMessageBox | None = None
        controller = window.controller
        controller.store_failed.connect(self._on_store_failed)
        controller.answer_save_failed.connect(self._on_answer_save_failed)
        controller.answers_saved.connect(self._on_answers_saved)

    def _on_store_failed(self, error: StoreWriteError, task: str, conversation_id: int | None) -> None:
        """A write the store refused (the change is not shown): what failed, why, what to do. A failed Undo
        is offered again: the bin is the only place the chat is left."""
        text, detail = store_errors.shown(error, task)
        actions = [(f"undo:{conversation_id}", self.tr("Undo"))] if task == "restore" else []
        self.window.show_chat()  # the notice lives on the chat page
        self.window.notice.show_notice(text, kind="error", actions=actions, engine_text=detail)

    def _on_answer_save_failed(self, error: StoreWriteError) -> None:
        text, detail = store_errors.shown(error, "answer")
        self.window.show_chat()
        self.window.notice.show_notice(text, kind="error", engine_text=detail)

    def _on_answers_saved(self) -> None:
        self.window.notice.show_notice(store_errors.answer_saved(), kind="info", timeout_ms=6000)

    def may_close(self) -> bool:
        """Whether the window may close now: yes once every answer is saved (a last try here) or the user
        chose to close anyway; else the question is up and the close must wait for its answer."""
        if self.close_unsaved:
            return True
        error = self.window.controller.save_answers()  # a last try for answers the store refused
        if error is None:
            return True
        self.ask(error)
        return False

    def ask(self, error: StoreWriteError) -> QMessageBox:
        """Try again (closes once it is saved), Close anyway (the answer is kept as last saved, marked
        interrupted, and the loss logged), or Cancel to stay open."""
        if self.question is not None and self.question.isVisible():
            self.question.raise_()
            return self.question
        box = QMessageBox(
            QMessageBox.Icon.Warning, "Gossamer", store_errors.closing(error), parent=self.window
        )
        box.setObjectName("UnsavedAnswerQuestion")
        retry = box.addButton(self.tr("Try again"), QMessageBox.ButtonRole.AcceptRole)
        close = box.addButton(self.tr("Close anyway"), QMessageBox.ButtonRole.DestructiveRole)
        box.addButton(QMessageBox.StandardButton.Cancel)
        box.setDefaultButton(retry)

        def answered() -> None:
            clicked = box.clickedButton()
            self.close_unsaved = clicked is close
            if clicked in (retry, close):
                QTimer.singleShot(0, self.window.close)
            box.deleteLater()
            self.question = None

        box.finished.connect(answered)
        box.open()
        self.question = box
        return box
