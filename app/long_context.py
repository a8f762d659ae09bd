"""Long conversations in the app: a chat that outgrows the context, and reasoning the engine cut.

A full context: before a message is sent to a chat whose prompt would leave no room for the answer (or one
is answered again, edited and resent, or continued: each runs the model over the conversation), the user
chooses, once per chat, what it does (``OverflowDialog``): drop its oldest turns, summarise them with
the model into a developer message (shown in the conversation, editable), or stop. The engine drops or
summarises (engine/runtime/overflow.py) and says which messages left the prompt; here that becomes a note in
the conversation where the prompt now starts (app/context_store.py). Nothing is deleted: the history and the
export keep every message; only the prompt starts later.

Runaway reasoning: an answer whose reasoning the engine cut (a loop, or the effort's budget) says so, and
Continue reasoning drops the forced answer and lets the model reason on from where it was cut.
"""

from __future__ import annotations

import logging

from PySide6.QtCore import QObject, Signal

from app import context_store
from app import settings as keys
from app.store import Conversation, Message, StoreWriteError, chat_messages

log = logging.getLogger(__name__)
ANSWER_ROOM_FRACTION = (
    4  # as engine/runtime/overflow.py: an answer's room is at most a quarter of the context
)


def engine_settings(settings: keys.Settings, conversation: Conversation | None, effort: str) -> dict:
    """The GenerationSettings fields of this module's features for a turn of ``conversation``."""
    policy = overflow_policy(settings, conversation)
    return {
        "reasoning_budget": settings.get(keys.REASONING_BUDGETS[effort]),
        "overflow": "stop" if policy == "ask" else policy,  # asked before sending; others refuse
    }


def overflow_policy(settings: keys.Settings, conversation: Conversation | None) -> str:
    """The chat's own choice, else the Settings default ("ask" | "drop" | "summarize" | "stop")."""
    if conversation is not None and conversation.overflow in context_store.POLICIES:
        return conversation.overflow
    return settings.get(keys.OVERFLOW)


def prompt_messages(stored: list[Message], conversation: Conversation | None) -> list[Message]:
    """The messages the prompt holds: from the chat's prompt start on, without markers of dropped turns."""
    start = conversation.prompt_start if conversation is not None else 0
    return [m for m in stored if m.position >= start and context_store.note_kind(m) != "dropped"]


def engine_prompt(
    settings: keys.Settings, stored: list[Message], conversation: Conversation | None
) -> list[dict]:
    """What the engine reads for the stored path ``stored``: system instructions, then the messages from
    where the chat's prompt starts."""
    messages = chat_messages(prompt_messages(stored, conversation))
    instructions = settings.get(keys.SYSTEM_INSTRUCTIONS).strip()
    return ([{"role": "system", "content": instructions}] if instructions else []) + messages


def prompt_tokens(messages: list[dict], effort: str) -> int:
    """Tokens of the prompt ``messages`` make, counted without the model (harmony's renderer is cheap)."""
    from engine.text.harmony import ConversationError, render_prompt

    try:
        return len(render_prompt(messages, effort=effort))
    except ConversationError:  # a stored conversation the engine would refuse: nothing to count
        log.warning("the conversation cannot be rendered to count its tokens", exc_info=True)
        return 0


def answer_room(context_max: int, max_tokens: int) -> int:
    return max(1, min(max_tokens, context_max // ANSWER_ROOM_FRACTION))


class LongContext(QObject):
    """The window's part in both: asks before a chat overflows, records what the engine left out, continues
    cut reasoning, saves an edited summary. ``window`` is the MainWindow (its controller, engine, notices)."""

    summary_saved = Signal(int)  # message id

    def __init__(self, window) -> None:
        super().__init__(window)
        self.window = window
        self.controller = window.controller
        self.store = window.store
        self.settings = window.settings
        self._asking = None  # the OverflowDialog up now
        self._rerun = None  # a Regenerate or an edit held back until the chat has a policy
        window.engine.worker.context_fitted.connect(self._on_context_fitted)
        window.notice.action_triggered.connect(self._on_notice_action)
        window.chat_view.continue_reasoning_requested.connect(self.continue_reasoning)
        window.chat_view.summary_edited.connect(self.save_summary)

    # how full the open chat is
    def context_used(self) -> int:
        """Tokens the open chat's next prompt holds before a new message (0 for a new chat)."""
        if self.controller.conversation is None:
            return 0
        return prompt_tokens(self.controller.engine_messages(), self.controller.effort)

    def would_overflow(self, text: str) -> tuple[int, int] | None:
        """(prompt tokens, the most that leaves room for an answer) when sending ``text`` would overflow."""
        if self.controller.conversation is None:
            return None
        return self._overflow([*self.controller.engine_messages(), {"role": "user", "content": text}])

    def _overflow(self, messages: list[dict]) -> tuple[int, int] | None:
        model = self.window.engine.model
        if model is None or self.controller.conversation is None or not model.get("context_max"):
            return None
        context = int(model["context_max"])
        tokens = prompt_tokens(messages, self.controller.effort)
        limit = context - answer_room(context, self.settings.get(keys.MAX_TOKENS))
        return (tokens, limit) if tokens > limit else None

    def rerun_messages(self, row: int, text: str | None = None) -> list[dict] | None:
        """The prompt when the user's message at ``row`` is answered again (``text`` None: Regenerate) or
        replaced by ``text`` (an edit), as the engine will read it; None when ``row`` holds no user
        message."""
        shown = self.controller.chat_model.messages()
        if not 0 <= row < len(shown) or shown[row].role != "user" or self.controller.conversation is None:
            return None
        path = self.store.path_to(shown[row].id)
        before = path if text is None else path[:-1]
        prompt = engine_prompt(self.settings, before, self.controller.conversation)
        return prompt if text is None else [*prompt, {"role": "user", "content": text}]

    # sending into a full chat, answering again in one, or editing a message of one
    def intercept(self, text: str) -> bool:
        """True when sending ``text`` waits for the user (a choice to make) or is refused (the chat stops)."""
        self._rerun = None  # a send replaces a held Regenerate or edit
        full = self.would_overflow(text.strip()) if text.strip() and not self.controller.busy else None
        return self._hold(full, "send", None, text)

    def regenerate(self, row: int | None = None) -> bool:
        """Regenerate (the answer after the user's message at or before ``row``), asking first as a send
        does when the chat no longer fits its context."""
        shown = self.controller.chat_model.messages()
        last = len(shown) - 1 if row is None else min(row, len(shown) - 1)
        users = [i for i in range(last + 1) if shown[i].role == "user"]
        if users and not self.controller.busy:
            full = self._overflow(self.rerun_messages(users[-1]) or [])
            if self._hold(full, "regenerate", lambda: self.controller.regenerate(row)):
                return False
        return self.controller.regenerate(row)

    def continue_answer(self, row: int | None = None) -> bool:
        """Continue (the last answer, from where it stopped), asking first as a send does when the chat with
        the answer so far no longer fits its context and has earlier turns to leave out (an answer that filled
        the context after a single question cannot go on either way: the engine says so)."""
        shown = self.controller.chat_model.messages()
        answer = shown[-1] if shown else None
        if answer is not None and answer.can_continue and not self.controller.busy:
            prompt = [*self.controller.engine_messages(answer), answer.to_chat()]
            earlier = sum(m["role"] == "user" for m in prompt) > 1
            go_on = lambda: self.controller.continue_answer(row)  # noqa: E731
            if earlier and self._hold(self._overflow(prompt), "continue", go_on):
                return False
        return self.controller.continue_answer(row)

    def intercept_edit(self, row: int, text: str) -> bool:
        """True when resending the user's message at ``row`` as ``text`` waits for a choice or is refused; the
        edited text stays in the message's editor meanwhile."""
        typed = text.strip()
        messages = self.rerun_messages(row, typed) if typed and not self.controller.busy else None
        full = self._overflow(messages) if messages else None
        if not self._hold(full, "edit", lambda: self.window._edit_and_resend(row, text)):
            return False
        self.window.chat_view.edit_again(row, text)
        return True

    def _hold(self, full: tuple[int, int] | None, kind: str, rerun, text: str = "") -> bool:
        """Hold back a turn that would overflow (``full``) until the chat has a policy: ask (once per chat)
        or, for a chat that stops, say so; ``rerun`` is run once a choice lets it go on (None: send the
        composer's text)."""
        if full is None:
            return False
        policy = overflow_policy(self.settings, self.controller.conversation)
        if policy not in ("ask", "stop"):
            return False  # the engine drops or summarises
        self._rerun = (self.controller.conversation.id, rerun) if rerun is not None else None
        if policy == "ask":
            self.ask(text, *full, kind=kind)
        else:
            self.show_full(*full)
        return True

    def ask(self, text: str, tokens: int, limit: int, *, kind: str = "send") -> None:
        from app.widgets.overflow_dialog import OverflowDialog

        dialog = OverflowDialog(tokens, limit, self.window, kind=kind)
        dialog.chosen.connect(lambda policy: self._chose(policy, text, tokens, limit))
        self._asking = dialog
        dialog.open()

    def _chose(self, policy: str, text: str, tokens: int, limit: int) -> None:
        self._asking = None
        if not self.set_policy(policy):
            return
        if policy == "stop":
            self.show_full(tokens, limit)
        else:
            self._go_on(text)

    def _go_on(self, text: str) -> None:
        """Run what waited for the choice: the held regenerate or edit, else send ``text``."""
        held, self._rerun = self._rerun, None
        if held is not None:
            conversation = self.controller.conversation
            if conversation is not None and conversation.id == held[0]:  # not after a switch to another chat
                held[1]()
        elif text.strip():
            self.window._send(text)

    def set_policy(self, policy: str) -> bool:
        conversation = self.controller.conversation
        if conversation is None:
            return False
        try:
            context_store.set_overflow(self.store, conversation.id, policy)
        except StoreWriteError as error:
            self.controller.store_failed.emit(error, "overflow", conversation.id)
            return False
        conversation.overflow = policy
        return True

    def show_full(self, tokens: int, limit: int) -> None:
        notice = self.window.notice
        notice.show_notice(
            self.tr(
                "This chat is full: its prompt would be %1 tokens, and %2 leave room for an answer. Start a "
                "new chat, or let this one leave out or summarise its oldest turns."
            )
            .replace("%1", f"{tokens:,}")
            .replace("%2", f"{limit:,}"),
            kind="warning",
            actions=[
                ("overflow:drop", self.tr("Drop oldest turns")),
                ("overflow:summarize", self.tr("Summarise them")),
                ("new_chat", self.tr("New chat")),
            ],
        )

    def _on_notice_action(self, key: str) -> None:
        if key.startswith("overflow:") and self.set_policy(key.split(":", 1)[1]):
            self.window.notice.dismiss()
            self._go_on(self.window.composer.edit.toPlainText())
        elif key == "new_chat":
            self.window.notice.dismiss()
            self.window.new_chat()

    # what the engine left out of a prompt
    def _on_context_fitted(self, turn_id: int, fitted: dict) -> None:
        turn = self.controller._turn
        if turn is None or turn.turn_id != turn_id or not fitted.get("dropped"):
            return
        conversation = self.store.conversation(turn.conversation_id)
        answer = self.store.message(turn.message_id)
        if conversation is None or answer is None:
            return
        shown = prompt_messages(
            [m for m in self.store.messages(conversation.id) if m.position < answer.position], conversation
        )
        offset = 1 if self.settings.get(keys.SYSTEM_INSTRUCTIONS).strip() else 0  # engine_messages adds it
        after = max(fitted["dropped"]) - offset + 1
        if not 0 < after < len(shown):
            log.warning("the engine left out messages this chat does not have: %s", fitted["dropped"])
            return
        kind = "summary" if fitted.get("summary") else "dropped"
        try:
            context_store.add_note(
                self.store, conversation.id, shown[after].position, kind, after, fitted.get("summary") or ""
            )
        except StoreWriteError as error:  # the prompt still changed this turn; the next one tries again
            self.controller.store_failed.emit(error, "overflow", conversation.id)
            return
        log.info("chat %d: %s %d messages out of the prompt", conversation.id, kind, after)
        if self.controller.conversation is not None and self.controller.conversation.id == conversation.id:
            self.controller.open_conversation(conversation.id)  # shows the note; the answer streams on

    # an edited summary
    def save_summary(self, row: int, text: str) -> bool:
        message = self.controller.chat_model.message(row)
        if context_store.note_kind(message) != "summary" or not text.strip():
            return False
        from engine.runtime.overflow import summary_message

        try:
            self.store.edit_message(message.id, summary_message(text)["content"])
        except StoreWriteError as error:
            self.controller.store_failed.emit(error, "edit", message.conversation_id)
            return False
        self.controller.chat_model.replace(row, self.store.message(message.id))
        self.summary_saved.emit(message.id)
        return True

    # reasoning the engine cut
    def continue_reasoning(self, row: int | None = None) -> bool:
        """Drop the answer forced after a cut and let the model reason on from where it was cut."""
        controller = self.controller
        messages = controller.chat_model.messages()
        if controller.busy or controller.conversation is None or not messages:
            return False
        answer = messages[-1]
        if (row is not None and row != len(messages) - 1) or not can_continue_reasoning(answer):
            return False
        if self.window.engine.model is None and not self.window.engine.loading:
            controller.no_model.emit()
            return False
        try:
            controller._save_unsaved()
            with self.store.transaction():
                self.store.update_message(answer.id, content="")
                self.store.reopen_message(answer.id)
        except StoreWriteError as error:
            controller.store_failed.emit(error, "continue", controller.conversation.id)
            return False
        controller._start_turn(self.store.message(answer.id), continuing=True)
        return True


def can_continue_reasoning(message: Message) -> bool:
    """An answer the engine forced after cutting its reasoning, with that reasoning to go on from."""
    return (
        message.role == "assistant"
        and message.complete
        and bool((message.usage or {}).get("reasoning_cut"))
        and bool(message.reasoning)
        and not message.tool_calls
    )
