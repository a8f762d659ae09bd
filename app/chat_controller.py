"""What happens when the user sends, stops, continues, regenerates or edits: store, chat model, engine agree.

One turn: the user's message is committed to the store, an empty assistant message is added (marked
incomplete), the engine worker is asked for the answer, and every batch of streamed text goes to the
chat model (the screen) and to an ``AnswerRecorder`` (the disk, at most every half second). The end of
the turn marks the message complete with its usage; an error or Stop is recorded the same way.
Continue runs a turn on the last answer instead: it is marked incomplete again and the new text added to it.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field

from PySide6.QtCore import QObject, QTimer, Signal

from app import settings as keys
from app.chat_model import ChatModel, LiveState
from app.conversation_model import ConversationListModel
from app.engine_client import EngineClient
from app.engine_errors import ErrorReport
from app.recorder import SAVE_INTERVAL_S, AnswerRecorder
from app.settings import Settings
from app.store import Conversation, Message, Store, chat_messages

log = logging.getLogger(__name__)
TITLE_LENGTH = 48


@dataclass
class _Turn:
    turn_id: int
    conversation_id: int
    message_id: int
    recorder: AnswerRecorder
    live: LiveState
    usage_before: dict = field(default_factory=dict)  # a continued answer's usage from its earlier turns


def make_title(text: str) -> str:
    """The first line of the first message, cut at a word near ``TITLE_LENGTH`` characters."""
    line = next((line.strip() for line in text.splitlines() if line.strip()), "").lstrip("#>*- ").strip()
    if len(line) <= TITLE_LENGTH:
        return line
    cut = line[:TITLE_LENGTH]
    if " " in cut[TITLE_LENGTH // 2 :]:
        cut = cut[: cut.rindex(" ")]
    return cut.rstrip(" ,.;:") + "…"


class ChatController(QObject):
    conversation_changed = Signal(object)  # Conversation | None
    busy_changed = Signal(bool)
    turn_completed = Signal(str, object)  # reason, usage dict
    turn_error = Signal(object)  # app.engine_errors.ErrorReport
    prompt_rendered = Signal(object)  # token ids of the last prompt (what the model saw)
    no_model = Signal()  # a message was sent with no model loaded or loading

    def __init__(self, store: Store, engine: EngineClient, settings: Settings, parent=None) -> None:
        super().__init__(parent)
        self.store = store
        self.engine = engine
        self.settings = settings
        self.chat_model = ChatModel(self)
        self.conversations = ConversationListModel(store, self)
        self.conversations.renamed.connect(self._on_renamed)
        self.conversation: Conversation | None = None
        self.pending_effort = settings.get(keys.DEFAULT_EFFORT)  # for a new chat not yet saved
        self.last_prompt_ids: list[int] = []
        self._turn: _Turn | None = None
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
            self._turn.recorder.flush()
        self.conversation = conversation
        messages = self.store.messages(conversation_id)
        live = {}
        if self._turn is not None and self._turn.conversation_id == conversation_id:
            for message in messages:
                if message.id == self._turn.message_id:
                    message.content = self._turn.recorder.content
                    message.reasoning = self._turn.recorder.reasoning
                    live[message.id] = self._turn.live
        self.chat_model.set_messages(messages, live)
        self.settings.set(keys.LAST_CONVERSATION, conversation_id)
        self.conversation_changed.emit(conversation)
        return True

    def set_effort(self, effort: str) -> None:
        if self.conversation is None:
            self.pending_effort = effort
            return
        settings = {**self.conversation.settings, "effort": effort}
        self.store.update_settings(self.conversation.id, settings)
        self.conversation.settings = settings

    def rename(self, conversation_id: int, title: str) -> None:
        self.store.rename_conversation(conversation_id, title)
        self.conversations.reload()
        self._on_renamed(conversation_id, title)

    def delete(self, conversation_id: int) -> None:
        """Move to the bin (``undo_delete`` brings it back until ``purge``)."""
        if self._turn is not None and self._turn.conversation_id == conversation_id:
            self.stop()
        self.store.delete_conversation(conversation_id)
        if self.conversation is not None and self.conversation.id == conversation_id:
            self.new_conversation()
        self.conversations.reload()

    def undo_delete(self, conversation_id: int) -> None:
        self.store.restore_conversation(conversation_id)
        self.conversations.reload()
        self.open_conversation(conversation_id)

    def purge(self) -> None:
        self.store.purge_deleted()

    # turns
    def send(self, text: str) -> bool:
        """Commit the user's message and start the answer; False (nothing saved) if that cannot happen now."""
        text = text.strip()
        if not text or self.busy:
            return False
        if self.engine.model is None and not self.engine.loading:
            self.no_model.emit()
            return False
        if self.conversation is None:
            self.conversation = self.store.create_conversation(settings={"effort": self.pending_effort})
            self.settings.set(keys.LAST_CONVERSATION, self.conversation.id)
            self.conversation_changed.emit(self.conversation)
        user = self.store.add_message(self.conversation.id, "user", text)  # committed before generating
        if self.conversation.title_is_auto and not self.conversation.title:
            title = make_title(text)
            self.store.rename_conversation(self.conversation.id, title, auto=True)
            self.conversation.title = title
            self.conversation_changed.emit(self.conversation)
        self.chat_model.append(user)
        self.conversations.reload()
        self._start_turn()
        return True

    def regenerate(self, row: int | None = None) -> bool:
        """Answer the last user message again (the answer at ``row`` and anything after it is replaced)."""
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
        if start < len(messages):
            self.store.delete_messages_from(self.conversation.id, messages[start].position)
            self.chat_model.remove_from(start)
        self._start_turn()
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
        self._start_turn(continuing=answer)
        return True

    def edit_and_resend(self, row: int, text: str) -> bool:
        """Replace the user's message at ``row`` with ``text``, drop what followed it, and answer again."""
        text = text.strip()
        if self.busy or self.conversation is None or not text:
            return False
        message = self.chat_model.message(row)
        if message.role != "user":
            return False
        if self.engine.model is None and not self.engine.loading:
            self.no_model.emit()
            return False
        self.store.edit_message(message.id, text)
        self.store.delete_messages_from(self.conversation.id, message.position + 1)
        self.chat_model.remove_from(row + 1)
        self.chat_model.replace(row, self.store.message(message.id))
        self._start_turn()
        return True

    def stop(self) -> None:
        if self._turn is not None:
            self.engine.stop()

    def generation_settings(self) -> dict:
        return {
            "effort": self.effort,
            "temperature": self.settings.get(keys.TEMPERATURE),
            "top_p": self.settings.get(keys.TOP_P),
            "max_tokens": self.settings.get(keys.MAX_TOKENS),
        }

    def engine_messages(self, before: int | None = None) -> list[dict]:
        """The conversation as the engine gets it: system instructions, then every message so far (those
        before position ``before``, when given)."""
        stored = self.store.messages(self.conversation.id)
        messages = chat_messages(m for m in stored if before is None or m.position < before)
        instructions = self.settings.get(keys.SYSTEM_INSTRUCTIONS).strip()
        return ([{"role": "system", "content": instructions}] if instructions else []) + messages

    def _start_turn(self, continuing: Message | None = None) -> None:
        """A new answer to the conversation, or more of ``continuing`` (the last answer, cut short)."""
        assert self.conversation is not None
        generation = self.generation_settings()
        if continuing is None:
            messages = self.engine_messages()
            answer = self.store.add_message(
                self.conversation.id, "assistant", complete=False, settings=generation
            )
            live = LiveState()
            self.chat_model.append(answer, live)
            partial = None
        else:
            messages = self.engine_messages(before=continuing.position)
            self.store.reopen_message(continuing.id)  # a crash from here on leaves it interrupted
            answer = self.store.message(continuing.id)
            live = _continued_live(answer)
            self.chat_model.replace(self.chat_model.row_of(answer.id), answer, live)
            partial = answer.to_chat()
        turn_id = self.engine.generate(messages, generation, continue_from=partial)
        recorder = AnswerRecorder(
            self.store,
            answer.id,
            content=answer.content,
            reasoning=answer.reasoning,
            thinking_s=answer.thinking_s,
        )
        usage_before = dict(answer.usage) if continuing is not None else {}
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
            _advance(turn.live, deltas)
        turn.recorder.flush_if_due()

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
        turn.recorder.finish(reason, usage=_added(turn.usage_before, usage))
        self._end_turn(turn)
        self.turn_completed.emit(reason, usage)

    def _on_failed(self, turn_id: int, error: ErrorReport) -> None:
        turn = self._current(turn_id)
        if turn is None:
            return
        turn.recorder.finish(
            "error", usage=turn.usage_before or None, error=error.message, error_kind=error.kind
        )
        self._end_turn(turn)
        self.turn_error.emit(error)

    def _end_turn(self, turn: _Turn) -> None:
        self._turn = None
        self._save_timer.stop()
        row = self._row(turn)
        if row is not None:
            self.chat_model.replace(row, self.store.message(turn.message_id))
        self.conversations.reload()
        self.busy_changed.emit(False)

    def _save_due(self) -> None:
        if self._turn is not None:
            self._turn.recorder.flush_if_due()

    def _on_renamed(self, conversation_id: int, title: str) -> None:
        if self.conversation is not None and self.conversation.id == conversation_id:
            self.conversation.title, self.conversation.title_is_auto = title, False
            self.conversation_changed.emit(self.conversation)

    def shutdown(self) -> None:
        """Save what has streamed; the message stays incomplete (shown as interrupted next time)."""
        if self._turn is not None:
            self._turn.recorder.flush()


def _advance(live: LiveState, deltas: list) -> None:
    for channel, _text, tokens in deltas:
        if channel == "analysis":
            live.phase = "analysis"
            live.analysis_tokens += tokens
        else:
            live.phase = "final"
            live.final_tokens += tokens


def _continued_live(answer: Message) -> LiveState:
    """The live state of an answer being continued: its thinking time and token counts go on from its own."""
    usage = answer.usage or {}
    reasoning = int(usage.get("reasoning_tokens") or 0)
    live = LiveState(
        analysis_tokens=reasoning,
        final_tokens=max(0, int(usage.get("completion_tokens") or 0) - reasoning),
    )
    if answer.thinking_s is not None:
        now = time.monotonic()
        live.thinking_started = now - answer.thinking_s
        if answer.content:  # it had finished thinking
            live.thinking_ended = now
    return live


def _added(before: dict, after: dict) -> dict:
    """The usage of an answer written in several turns (Continue): its tokens add up; the speed, timings and
    context use are the last turn's."""
    if not before:
        return after
    total = dict(after)
    for key in ("completion_tokens", "reasoning_tokens"):
        total[key] = int(before.get(key) or 0) + int(after.get(key) or 0)
    return total
