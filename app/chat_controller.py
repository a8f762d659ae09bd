"""What happens when the user sends, stops, continues, regenerates or edits: store, chat model, engine agree.
Managing the conversations themselves (effort, rename, delete, undo) is app/conversation_actions.py's.

One turn: the user's message is committed to the store, an empty assistant message is added (marked
incomplete), the engine worker is asked for the answer, and every batch of streamed text goes to the
chat model (the screen) and to an ``AnswerRecorder`` (the disk, at most every half second). The end of
the turn marks the message complete with its usage; an error or Stop is recorded the same way.
Continue runs a turn on the last answer instead: it is marked incomplete again and the new text added to it.
Nothing is replaced: Regenerate adds a new version of the answer and an edit a new version of the message
(app/store.py keeps every version); the screen shows one path, and ``show_version`` moves between them.

A write the store refuses (``StoreWriteError``: a full disk, a read-only file) is caught here and reported
by ``store_failed``; the store rolled it back, and what is shown is changed only after a write succeeded, so
the screen never shows what the disk does not have. The one exception is a streaming answer: it goes on
on screen and in its recorder, and its saves are tried again until the store takes them.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from PySide6.QtCore import QObject, QTimer, Signal

from app import long_context
from app import settings as keys
from app.chat_model import ChatModel, LiveState
from app.conversation_actions import ConversationActions, make_title
from app.conversation_model import ConversationListModel
from app.engine_client import EngineClient
from app.engine_errors import ErrorReport
from app.recorder import SAVE_INTERVAL_S, AnswerRecorder
from app.settings import Settings
from app.store import Conversation, Message, Store, StoreWriteError

log = logging.getLogger(__name__)


@dataclass
class _Turn:
    turn_id: int
    conversation_id: int
    message_id: int
    recorder: AnswerRecorder
    live: LiveState
    usage_before: dict = field(default_factory=dict)  # a continued answer's usage from its earlier turns


class ChatController(QObject, ConversationActions):
    conversation_changed = Signal(object)  # Conversation | None
    busy_changed = Signal(bool)
    turn_completed = Signal(str, object)  # reason, usage dict
    turn_error = Signal(object)  # app.engine_errors.ErrorReport
    prompt_rendered = Signal(object)  # token ids of the last prompt (what the model saw)
    no_model = Signal()  # a message was sent with no model loaded or loading
    store_failed = Signal(object, str, object)  # StoreWriteError, what failed (store_errors.TASKS), chat id
    answer_save_failed = Signal(object)  # StoreWriteError: an answer went unsaved (once, until all are saved)
    answers_saved = Signal()  # the answers that went unsaved are saved now

    def __init__(self, store: Store, engine: EngineClient, settings: Settings, parent=None) -> None:
        super().__init__(parent)
        self.store = store
        self.engine = engine
        self.settings = settings
        self.chat_model = ChatModel(self)
        self.conversations = ConversationListModel(store, self)
        self.conversations.rename_requested.connect(self.rename)
        self.conversation: Conversation | None = None
        self.pending_effort = settings.get(keys.DEFAULT_EFFORT)  # for a new chat not yet saved
        self.last_prompt_ids: list[int] = []
        self._turn: _Turn | None = None
        # Answers whose last save failed, by message id: kept whole here and tried again at every save point.
        self._unsaved: dict[int, AnswerRecorder] = {}
        self._gone: set[int] = set()  # answers whose chat was deleted elsewhere: not saved
        self._unrestored: set[int] = set()  # chats whose Undo of a delete failed; tried again on closing
        self._shut = False  # shutdown() ran: the store is closing, nothing saves any more
        self._save_timer = QTimer(self, interval=int(SAVE_INTERVAL_S * 1000))
        self._save_timer.timeout.connect(self._save_due)
        worker = engine.worker
        worker.turn_started.connect(self._on_turn_started)
        worker.text_streamed.connect(self._on_text)
        worker.tool_called.connect(self._on_tool_call)
        worker.turn_finished.connect(self._on_finished)
        worker.turn_failed.connect(self._on_failed)
        self.conversations.reload()

    # state
    @property
    def busy(self) -> bool:
        return self._turn is not None

    @property
    def effort(self) -> str:
        return self.conversation.effort if self.conversation is not None else self.pending_effort

    def streaming_conversation_id(self) -> int | None:
        return self._turn.conversation_id if self._turn is not None else None

    # conversations
    def new_conversation(self) -> None:
        """An empty chat; it is saved when its first message is sent."""
        self.conversation = None
        self.pending_effort = self.settings.get(keys.DEFAULT_EFFORT)
        self.chat_model.set_messages([])
        self.conversation_changed.emit(None)

    def open_conversation(self, conversation_id: int) -> bool:
        conversation = self.store.conversation(conversation_id)
        if conversation is None or conversation.deleted_at is not None:
            return False
        if self._turn is not None:
            self._save(self._turn.recorder)
        self.conversation = conversation
        self.chat_model.set_messages(*self._shown(self.store.messages(conversation_id)))
        self.settings.set(keys.LAST_CONVERSATION, conversation_id)
        self.conversation_changed.emit(conversation)
        return True

    def _shown(self, messages: list[Message]) -> tuple[list[Message], dict[int, LiveState]]:
        """Stored messages as the screen shows them: an answer streaming, or one the store has not taken yet,
        as its recorder holds it (with the live state of the one streaming)."""
        recorders, live = dict(self._unsaved), {}
        if self._turn is not None:
            recorders[self._turn.message_id] = self._turn.recorder
            if any(m.id == self._turn.message_id for m in messages):
                live[self._turn.message_id] = self._turn.live
        return [recorders[m.id].applied(m) if m.id in recorders else m for m in messages], live

    def show_version(self, row: int, step: int) -> bool:
        """Show another version of the message at ``row`` (``step`` -1: the one before, 1: the one after),
        with the turns that followed it (at each fork below, the version chosen last). The choice is saved,
        so the chat opens on it again; if the store refuses, the shown version stays."""
        if self.conversation is None or not 0 <= row < self.chat_model.rowCount():
            return False
        message = self.chat_model.message(row)
        index = message.version - 1 + step
        if step == 0 or not 0 <= index < len(message.versions):
            return False
        try:
            self.store.choose(message.versions[index])
        except StoreWriteError as error:
            self._failed(error, "version", self.conversation.id)
            return False
        self.chat_model.show_path(*self._shown(self.store.messages(self.conversation.id)))
        return True

    # turns
    def send(self, text: str) -> bool:
        """Commit the user's message and start the answer; False (nothing saved) if that cannot happen now."""
        text = text.strip()
        if not text or self.busy:
            return False
        if self.engine.model is None and not self.engine.loading:
            self.no_model.emit()
            return False
        conversation, title, created = self.conversation, None, self.conversation is None
        try:
            self._save_unsaved()  # the engine reads the conversation from the store: it must be whole
            # Committed before generating, all or nothing: no chat without its message, no message without the
            # answer it waits for.
            with self.store.transaction():
                if conversation is None:
                    conversation = self.store.create_conversation(settings={"effort": self.pending_effort})
                shown = self.chat_model.messages() if not created else []
                parent = shown[-1].id if shown else None
                user = self.store.add_message(conversation.id, "user", text, parent_id=parent)
                if conversation.title_is_auto and not conversation.title:
                    title = make_title(text)
                    self.store.rename_conversation(conversation.id, title, auto=True)
                answer = self._add_answer(conversation.id, user.id)
        except StoreWriteError as error:
            self._failed(error, "send", None if created else conversation.id)
            return False
        if created:
            self.conversation = conversation
            self.settings.set(keys.LAST_CONVERSATION, conversation.id)
        if title is not None:
            self.conversation.title = title
        if created or title is not None:
            self.conversation_changed.emit(self.conversation)
        self.chat_model.append(user)
        self.conversations.reload()
        self._start_turn(answer)
        return True

    def regenerate(self, row: int | None = None) -> bool:
        """Answer again the user message before ``row`` (default: the last): a new version of the answer
        there; the old one stays, with what followed it, a version away (``show_version``)."""
        if self.busy or self.conversation is None:
            return False
        if self.engine.model is None and not self.engine.loading:
            self.no_model.emit()
            return False
        messages = self.chat_model.messages()
        row = len(messages) - 1 if row is None else row
        users = [i for i in range(min(row, len(messages) - 1) + 1) if messages[i].role == "user"]
        if not users:
            return False
        start = users[-1] + 1  # the answer begins right after the user's message
        try:
            self._save_unsaved()
            answer = self._add_answer(self.conversation.id, messages[users[-1]].id)
        except StoreWriteError as error:
            self._failed(error, "regenerate", self.conversation.id)
            return False
        self.chat_model.remove_from(start)
        self._start_turn(answer)
        return True

    def continue_answer(self, row: int | None = None) -> bool:
        """Go on writing the last answer where it stopped (Stop, the token limit, an error, a crash), in
        the same message; one stopped before its first word is answered again (``regenerate``)."""
        if self.busy or self.conversation is None:
            return False
        messages = self.chat_model.messages()
        if not messages or (row is not None and row != len(messages) - 1):
            return False
        answer = messages[-1]
        if not answer.unfinished:
            return False
        if not answer.can_continue:
            return self.regenerate()
        if self.engine.model is None and not self.engine.loading:
            self.no_model.emit()
            return False
        try:
            self._save_unsaved()
            self.store.reopen_message(answer.id)  # a crash from here on leaves it interrupted
        except StoreWriteError as error:
            self._failed(error, "continue", self.conversation.id)
            return False
        self._start_turn(self.store.message(answer.id), continuing=True)
        return True

    def edit_and_resend(self, row: int, text: str) -> bool:
        """Send ``text`` as a new version of the user's message at ``row`` and answer it; the old version stays,
        with what followed it, a version away. An edit of the first message retitles a chat titled by it."""
        text = text.strip()
        if self.busy or self.conversation is None or not text:
            return False
        message = self.chat_model.message(row)
        if message.role != "user":
            return False
        if self.engine.model is None and not self.engine.loading:
            self.no_model.emit()
            return False
        conversation, title = self.conversation, None
        try:
            self._save_unsaved()
            with self.store.transaction():  # the new version, its title and its answer: all or nothing
                user = self.store.add_message(conversation.id, "user", text, parent_id=message.parent_id)
                if message.parent_id is None and conversation.title_is_auto:
                    title = make_title(text)
                    self.store.rename_conversation(conversation.id, title, auto=True)
                answer = self._add_answer(conversation.id, user.id)
        except StoreWriteError as error:
            self._failed(error, "edit", conversation.id)
            return False
        self.chat_model.remove_from(row)
        self.chat_model.append(user)
        if title is not None:
            conversation.title = title
            self.conversation_changed.emit(conversation)
        self.conversations.reload()
        self._start_turn(answer)
        return True

    def stop(self) -> None:
        if self._turn is not None:
            self.engine.stop()

    def generation_settings(self) -> dict:
        return {
            "effort": self.effort,
            "temperature": self.settings.get(keys.TEMPERATURE),
            "top_p": self.settings.get(keys.TOP_P),
            "top_k": self.settings.get(keys.TOP_K),
            "max_tokens": self.settings.get(keys.MAX_TOKENS),
            **long_context.engine_settings(self.settings, self.conversation, self.effort),
        }

    def engine_messages(self, answer: Message | None = None) -> list[dict]:
        """The conversation as the engine gets it: system instructions, then the messages shown (those that
        led to ``answer``, when given: the path it answers, never another version), from where the prompt
        starts once the chat outgrew its context (app/long_context.py)."""
        if answer is None:
            stored = self.store.messages(self.conversation.id)
        else:
            stored = self.store.path_to(answer.id)[:-1]
        return long_context.engine_prompt(self.settings, stored, self.conversation)

    def _add_answer(self, conversation_id: int, parent_id: int) -> Message:
        """An empty answer to ``parent_id``, marked incomplete until its turn ends, with the settings it is
        written with."""
        return self.store.add_message(
            conversation_id,
            "assistant",
            complete=False,
            settings=self.generation_settings(),
            parent_id=parent_id,
        )

    def _start_turn(self, answer: Message, *, continuing: bool = False) -> None:
        """Ask the engine for ``answer``, saved already: a new empty message (``_add_answer``), or the last
        answer, cut short and reopened, to write more of (Continue)."""
        assert self.conversation is not None
        messages = self.engine_messages(answer)
        if continuing:
            live = LiveState.resumed(answer)
            self.chat_model.replace(self.chat_model.row_of(answer.id), answer, live)
            partial = answer.to_chat()
        else:
            live = LiveState()
            self.chat_model.append(answer, live)
            partial = None
        turn_id = self.engine.generate(messages, self.generation_settings(), continue_from=partial)
        recorder = AnswerRecorder(
            self.store,
            answer.id,
            content=answer.content,
            reasoning=answer.reasoning,
            thinking_s=answer.thinking_s,
        )
        usage_before = dict(answer.usage) if continuing else {}
        self._turn = _Turn(turn_id, self.conversation.id, answer.id, recorder, live, usage_before)
        self._save_timer.start()
        self.busy_changed.emit(True)

    # the worker's events
    def _current(self, turn_id: int) -> _Turn | None:
        return self._turn if self._turn is not None and self._turn.turn_id == turn_id else None

    def _row(self, turn: _Turn) -> int | None:
        if self.conversation is None or self.conversation.id != turn.conversation_id:
            return None
        return self.chat_model.row_of(turn.message_id)

    def _on_turn_started(self, turn_id: int, prompt_ids: list) -> None:
        if self._current(turn_id) is not None:
            self.last_prompt_ids = list(prompt_ids)
            self.prompt_rendered.emit(self.last_prompt_ids)

    def _on_text(self, turn_id: int, deltas: list) -> None:
        turn = self._current(turn_id)
        if turn is None:
            return
        for channel, text, _tokens in deltas:
            turn.recorder.add(channel, text)
        row = self._row(turn)
        if row is not None:
            self.chat_model.append_text(row, deltas)
        else:  # the user is looking at another conversation: keep the live state current anyway
            turn.live.advance(deltas)
        self._save(turn.recorder, due_only=True)

    def _on_tool_call(self, turn_id: int, call: dict) -> None:
        turn = self._current(turn_id)
        if turn is None:
            return
        function = call["function"]
        turn.recorder.add_tool_call(function["name"], function["arguments"], call.get("id"))

    def _on_finished(self, turn_id: int, reason: str, usage: dict) -> None:
        turn = self._current(turn_id)
        if turn is None:
            return
        turn.recorder.end(reason, usage=_added(turn.usage_before, usage))
        self._save(turn.recorder)
        self._end_turn(turn)
        self.turn_completed.emit(reason, usage)

    def _on_failed(self, turn_id: int, error: ErrorReport) -> None:
        turn = self._current(turn_id)
        if turn is None:
            return
        turn.recorder.end(
            "error", usage=turn.usage_before or None, error=error.message, error_kind=error.kind
        )
        self._save(turn.recorder)
        self._end_turn(turn)
        self.turn_error.emit(error)

    def _end_turn(self, turn: _Turn) -> None:
        self._turn = None
        if not self._unsaved:
            self._save_timer.stop()
        row = self._row(turn)
        stored = self.store.message(turn.message_id)
        if row is not None and stored is not None:
            self.chat_model.replace(row, turn.recorder.applied(stored))  # as saved, or as it will be
        self.conversations.reload()
        self.busy_changed.emit(False)

    # saving
    def _save(self, recorder: AnswerRecorder, *, due_only: bool = False) -> StoreWriteError | None:
        """Save an answer (if its save is due); if the store refuses, the answer stays whole in its recorder
        and on screen, and is tried again at every save point (``_save_due``) until the store takes it. The
        user is told once, when the first answer goes unsaved, and again when all are saved."""
        try:
            if due_only:
                recorder.flush_if_due()
            else:
                recorder.flush()
        except StoreWriteError as error:
            if error.kind == "gone":  # its chat was deleted (another window): no retry can save it
                self._unsaved.pop(recorder.message_id, None)
                if recorder.message_id not in self._gone:  # told once
                    self._gone.add(recorder.message_id)
                    log.warning("an answer could not be saved, its chat is gone: %s", error)
                    self.answer_save_failed.emit(error)
                return None
            if not self._unsaved:
                log.warning("an answer could not be saved; trying again at each save point: %s", error)
                self.answer_save_failed.emit(error)
            self._unsaved[recorder.message_id] = recorder
            if not self._save_timer.isActive() and not self._shut:
                self._save_timer.start()
            return error
        if recorder.saved and self._unsaved.pop(recorder.message_id, None) is not None and not self._unsaved:
            log.info("the answers that could not be saved are saved now")
            self.answers_saved.emit()
        return None

    def _save_due(self) -> None:
        if self._shut:  # a tick queued before shutdown stopped the timer
            self._save_timer.stop()
            return
        for recorder in self._recorders():
            self._save(recorder, due_only=True)
        if self._turn is None and not self._unsaved:
            self._save_timer.stop()

    def _recorders(self) -> list[AnswerRecorder]:
        """The answers that may hold more than the store has: those not saved, and the one streaming."""
        recorders = dict(self._unsaved)
        if self._turn is not None:
            recorders[self._turn.message_id] = self._turn.recorder
        return list(recorders.values())

    def _save_unsaved(self) -> None:
        """Save the answers the store refused before, first: a new turn's prompt is read from the store.
        Raises ``StoreWriteError`` while it still refuses."""
        for recorder in list(self._unsaved.values()):
            error = self._save(recorder)
            if error is not None:
                raise error

    def save_answers(self) -> StoreWriteError | None:
        """Try now to save every answer not on disk, the streaming one too (closing): the error if the store
        still refuses one."""
        errors = [error for recorder in self._recorders() if (error := self._save(recorder)) is not None]
        return errors[-1] if errors else None

    def unsaved_characters(self) -> int:
        """How much text of the answers the store refused is not on disk (for the log)."""
        return sum(len(r.content) + len(r.reasoning) for r in self._unsaved.values())

    def _failed(self, error: StoreWriteError, task: str, conversation_id: int | None) -> None:
        log.warning("%s failed: the store refused a write: %s", task, error)
        self.store_failed.emit(error, task, conversation_id)

    def shutdown(self) -> None:
        """Save what has streamed (the message stays incomplete, shown as interrupted next time), with a last
        try for the answers and the Undo the store refused; what still cannot be saved is logged."""
        self._restore_unrestored()
        error = self.save_answers()
        self._save_timer.stop()  # a refused save above restarts it: nothing writes once the store closes
        self._shut = True
        if error is not None:
            log.error(
                "closing with %d answer(s) not saved in full (%d characters lost; the chats file keeps them "
                "as last saved, marked interrupted): %s",
                len(self._unsaved),
                self.unsaved_characters(),
                error,
            )


def _added(before: dict, after: dict) -> dict:
    """The usage of an answer written in several turns (Continue): its tokens add up; the speed, timings and
    context use are the last turn's."""
    if not before:
        return after
    total = dict(after)
    for key in ("completion_tokens", "reasoning_tokens"):
        total[key] = int(before.get(key) or 0) + int(after.get(key) or 0)
    return total
