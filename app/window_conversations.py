"""The main window's actions on whole conversations: delete (with Undo), rename, export.

A mixin of ``app.main_window.MainWindow``: it uses the window's store, controller, sidebar, notice bar and
composer.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import QFileDialog

from app import export

UNDO_MS = 10000


class ConversationActions:
    """Delete, undo, rename and export; see the module's docstring."""

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

    def undo_delete(self, conversation_id: int) -> None:
        """Bring a deleted chat back; the user goes on writing in the composer, not on the button just gone."""
        self.controller.undo_delete(conversation_id)
        self.composer.edit.setFocus()

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
            export.write(path, kind, conversation, self.store.all_messages(conversation_id))
        except OSError as error:
            self.notice.show_notice(
                self.tr("Could not write %1: %2").replace("%1", path).replace("%2", str(error)), kind="error"
            )
            return None
        self.notice.show_notice(self.tr("Exported to %1").replace("%1", path), kind="info", timeout_ms=6000)
        return path
