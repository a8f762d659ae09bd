"""Saves an answer to the store while it streams: at most every ``interval`` seconds, then once at the end.

No Qt: the chat controller feeds it from signals, and the crash test feeds it straight from the engine.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from app.store import Store

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
        self._dirty = False
        self._saved_at = self.started

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

    def flush_if_due(self) -> bool:
        if self._dirty and self.clock() - self._saved_at >= self.interval:
            self.flush()
            return True
        return False

    def flush(self) -> None:
        if not self._dirty:
            return
        self.store.update_message(
            self.message_id,
            content=self.content,
            reasoning=self.reasoning,
            tool_calls=self.tool_calls or None,
            thinking_s=self.thinking_elapsed(),
        )
        self._dirty = False
        self._saved_at = self.clock()

    def finish(
        self, reason: str, usage: dict | None = None, error: str | None = None, error_kind: str | None = None
    ) -> None:
        self._end_thinking()
        self.store.finish_message(
            self.message_id,
            finish_reason=reason,
            usage=usage,
            error=error,
            error_kind=error_kind,
            content=self.content,
            reasoning=self.reasoning,
            tool_calls=self.tool_calls or None,
            thinking_s=self.thinking_s,
        )
        self._dirty = False
