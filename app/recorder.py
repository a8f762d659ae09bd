"""Saves an answer to the store while it streams: at most every ``interval`` seconds, then once at the end.

No Qt: the chat controller feeds it from signals, and the crash test feeds it straight from the engine.
A save the store refuses (``StoreWriteError``: a full disk) loses nothing: the recorder holds the whole
answer, and the next save (at the next save point, or ``flush``) writes all of it.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable

from app.store import Message, Store

SAVE_INTERVAL_S = 0.5


class AnswerRecorder:
    """The text of one assistant message as it grows, per channel, and its saved state."""

    def __init__(
        self,
        store: Store,
        message_id: int,
        *,
        interval: float = SAVE_INTERVAL_S,
        clock: Callable[[], float] = time.monotonic,
        content: str = "",
        reasoning: str = "",
        thinking_s: float | None = None,
    ) -> None:
        """``content``, ``reasoning`` and ``thinking_s``: what an answer being continued holds already; new
        text is added to it, and thinking time goes on from where it was if the answer was still thinking."""
        self.store = store
        self.message_id = message_id
        self.interval = interval
        self.clock = clock
        self.content_parts: list[str] = [content] if content else []
        self.reasoning_parts: list[str] = [reasoning] if reasoning else []
        self.tool_calls: list[dict] = []
        self.started = clock()
        self.thinking_started: float | None = None
        # Thinking is over once the answer has begun; until then its earlier seconds count on.
        self.thinking_s: float | None = thinking_s if content else None
        self._thought_before = thinking_s if reasoning and not content else None
        self.ending: dict | None = None  # how the answer ended (``end``), once it has
        self._dirty = False
        self._saved_at = self.started  # when the last save was tried

    @property
    def content(self) -> str:
        return "".join(self.content_parts)

    @property
    def reasoning(self) -> str:
        return "".join(self.reasoning_parts)

    def add(self, channel: str, text: str) -> None:
        if not text:
            return
        if channel == "analysis":
            if self.thinking_started is None:
                self.thinking_started = self.clock()
            self.reasoning_parts.append(text)
        else:
            self._end_thinking()
            self.content_parts.append(text)
        self._dirty = True

    def add_tool_call(self, name: str, arguments: str, call_id: str | None) -> None:
        self._end_thinking()
        self.tool_calls.append(
            {
                "id": call_id or f"call_{len(self.tool_calls)}",
                "type": "function",
                "function": {"name": name, "arguments": arguments},
            }
        )
        self._dirty = True

    def _end_thinking(self) -> None:
        if self.thinking_s is None:
            self.thinking_s = self.thinking_elapsed()

    def thinking_elapsed(self) -> float | None:
        if self.thinking_s is not None:
            return self.thinking_s
        if self.thinking_started is not None:
            return (self._thought_before or 0.0) + self.clock() - self.thinking_started
        return self._thought_before

    @property
    def saved(self) -> bool:
        """Everything held is on disk."""
        return not self._dirty

    def flush_if_due(self) -> bool:
        if self._dirty and self.clock() - self._saved_at >= self.interval:
            self.flush()
            return True
        return False

    def flush(self) -> None:
        """Write what is held (marked complete once the answer has ended); raises ``StoreWriteError`` and
        stays unsaved if the store refuses."""
        if not self._dirty:
            return
        # A failed save is tried again after the interval, not at every token.
        self._saved_at = self.clock()
        if self.ending is None:
            self.store.update_message(
                self.message_id,
                content=self.content,
                reasoning=self.reasoning,
                tool_calls=self.tool_calls or None,
                thinking_s=self.thinking_elapsed(),
            )
        else:
            self.store.finish_message(
                self.message_id,
                **self.ending,
                content=self.content,
                reasoning=self.reasoning,
                tool_calls=self.tool_calls or None,
                thinking_s=self.thinking_s,
            )
        self._dirty = False

    def end(
        self, reason: str, usage: dict | None = None, error: str | None = None, error_kind: str | None = None
    ) -> None:
        """The answer is over: the next save marks it complete, with why it ended and what it cost."""
        self._end_thinking()
        self.ending = {"finish_reason": reason, "usage": usage, "error": error, "error_kind": error_kind}
        self._dirty = True

    def finish(
        self, reason: str, usage: dict | None = None, error: str | None = None, error_kind: str | None = None
    ) -> None:
        self.end(reason, usage, error, error_kind)
        self.flush()

    def applied(self, message: Message) -> Message:
        """``message`` (as the store has it) with what this recorder holds, saved or not: what to show."""
        changes: dict = {
            "content": self.content,
            "reasoning": self.reasoning,
            "tool_calls": self.tool_calls or message.tool_calls,
        }
        thinking_s = self.thinking_elapsed()
        if thinking_s is not None:  # as the store does: None leaves what it had
            changes["thinking_s"] = thinking_s
        if self.ending is not None:
            ending = self.ending
            changes.update(
                complete=True,
                finish_reason=ending["finish_reason"],
                usage=ending["usage"] or {},
                error=ending["error"],
                error_kind=ending["error_kind"] or None,
            )
        return dataclasses.replace(message, **changes)
