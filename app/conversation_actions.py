"""Managing conversations, beside the turns (app/chat_controller.py): their reasoning effort, titles, delete
with Undo, and emptying the bin.

``ConversationActions`` is a mixin of ``ChatController``, whose state it shares: the store, the list model
(``conversations``), the open ``conversation`` and the running turn. Each write the store refuses is reported
by ``store_failed`` and leaves what is shown as it was.
"""

from __future__ import annotations

import logging

from app.store import StoreWriteError

log = logging.getLogger(__name__)
TITLE_LENGTH = 48


def make_title(text: str) -> str:
    """The first line of the first message, cut at a word near ``TITLE_LENGTH`` characters."""
    line = next((line.strip() for line in text.splitlines() if line.strip()), "").lstrip("#>*- ").strip()
    if len(line) <= TITLE_LENGTH:
        return line
    cut = line[:TITLE_LENGTH]
    if " " in cut[TITLE_LENGTH // 2 :]:
        cut = cut[: cut.rindex(" ")]
    return cut.rstrip(" ,.;:") + "…"


class ConversationActions:
    """Effort, rename, delete, undo and purge, for the ``ChatController`` that mixes this in."""

    def set_effort(self, effort: str) -> bool:
        """Save the chat's reasoning effort; if the store refuses, the chat keeps the one it had (``effort``
        says which), so the composer shows what the next answer will use and what the file has."""
        if self.conversation is None:
            self.pending_effort = effort
            return True
        settings = {**self.conversation.settings, "effort": effort}
        try:
            self.store.update_settings(self.conversation.id, settings)
        except StoreWriteError as error:
            self._failed(error, "effort", self.conversation.id)
            return False
        self.conversation.settings = settings
        return True

    def rename(self, conversation_id: int, title: str) -> bool:
        """A title the store refuses is not shown: the list keeps the saved one, and renaming again works once
        the store can write (nothing is worth holding back for: the user sees the title did not change)."""
        title = title.strip()
        try:
            self.store.rename_conversation(conversation_id, title)
        except StoreWriteError as error:
            self._failed(error, "rename", conversation_id)
            return False
        self.conversations.retitle(conversation_id, title)
        if self.conversation is not None and self.conversation.id == conversation_id:
            self.conversation.title, self.conversation.title_is_auto = title, False
            self.conversation_changed.emit(self.conversation)
        return True

    def delete(self, conversation_id: int) -> bool:
        """Move to the bin (``undo_delete`` brings it back until ``purge``). If the store refuses, the chat
        stays where it was, and an answer it is writing goes on."""
        try:
            self.store.delete_conversation(conversation_id)
        except StoreWriteError as error:
            self._failed(error, "delete", conversation_id)
            return False
        if self.streaming_conversation_id() == conversation_id:
            self.stop()
        if self.conversation is not None and self.conversation.id == conversation_id:
            self.new_conversation()
        self.conversations.reload()
        return True

    def undo_delete(self, conversation_id: int) -> bool:
        """Bring a deleted chat back. If the store refuses, it stays in the bin, hidden, and the Undo is kept
        pending (``store_failed`` lets the window offer it again; closing tries once more before the bin is
        emptied), since the bin is the only place the chat is left."""
        try:
            self.store.restore_conversation(conversation_id)
        except StoreWriteError as error:
            self._unrestored.add(conversation_id)
            self._failed(error, "restore", conversation_id)
            return False
        self._unrestored.discard(conversation_id)
        self.conversations.reload()
        self.open_conversation(conversation_id)
        return True

    def purge(self) -> None:
        """Empty the bin. One the store cannot empty is only logged: it holds nothing the user wants, and the
        next start empties it."""
        try:
            self.store.purge_deleted()
        except StoreWriteError as error:
            log.warning("the bin of deleted chats was not emptied: %s", error)

    def _restore_unrestored(self) -> None:
        """Closing: a last try for the Undos the store refused, before the bin is emptied."""
        for conversation_id in list(self._unrestored):
            try:
                self.store.restore_conversation(conversation_id)
                self._unrestored.discard(conversation_id)
            except StoreWriteError as error:
                log.error(
                    "closing with chat %d still deleted: its Undo could not be saved: %s",
                    conversation_id,
                    error,
                )
