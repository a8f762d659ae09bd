"""Generation jobs and the fair queue they wait in, between the HTTP side (asyncio) and the engine thread.

The engine runs one generation at a time on the one thread that owns the ChatSession (the server's own
thread, or the app's engine thread). A request becomes a ``Job``; it waits in a ``RequestQueue`` (first
come, first served; at most ``MAX_WAITING`` waiting, then the server answers 429) until that thread runs
it. Its events cross back to the event loop one by one. A client that goes away sets the job's cancel
event: a waiting job is dropped from the queue, a running one stops before its next token.
"""

from __future__ import annotations

import asyncio
import threading
from collections import deque
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

MAX_WAITING = 16


class QueueFullError(Exception):
    """The queue already holds its most waiting jobs."""


@dataclass(eq=False)  # a job is itself: queued, discarded and tracked by identity
class Job:
    """One generation: ChatSession.generate's arguments, and a channel for its events back to asyncio."""

    messages: list[dict]
    settings: Any  # engine.runtime.session.GenerationSettings
    tools: list[dict] | None = None
    logits_processor: Callable | None = None
    cancel: threading.Event = field(default_factory=threading.Event)
    prompt_ids: list[int] = field(default_factory=list)  # filled once the turn has run
    completion_ids: list[int] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self._items: asyncio.Queue | None = None

    def bind(self, loop: asyncio.AbstractEventLoop) -> None:
        """Deliver events to ``loop`` (call on the loop's thread, before the job is queued)."""
        self._loop = loop
        self._items = asyncio.Queue()

    # the engine thread
    def run(self, session) -> None:
        """Generate on ``session`` (None: no model is loaded), pushing each event; never raises."""
        if self.cancel.is_set():  # its client left while it waited
            self._push("done", None)
            return
        if session is None:
            from engine.server.errors import ApiError

            self._push(
                "error", ApiError(503, "No model is loaded. Load a model in Gossamer, then try again.")
            )
            return
        try:
            kwargs = {}
            if self.logits_processor is not None and _takes_processor(session):
                kwargs["logits_processor"] = self.logits_processor  # (a remote model's session has no hook)
            for event in session.generate(self.messages, self.settings, self.tools, self.cancel, **kwargs):
                self._push("event", event)
            self.prompt_ids = list(session.last_turn.prompt_ids)
            self.completion_ids = list(session.last_turn.completion_ids)
            self._push("done", None)
        except Exception as error:  # answered as an error object; the thread goes on with the next job
            self._push("error", error)

    def abandon(self) -> None:
        """Its client left: stop the turn before its next token and end the event stream now (a job still
        waiting in the queue would otherwise never send another event)."""
        self.cancel.set()
        self._push("done", None)

    def fail(self, error: Exception) -> None:
        """End the job with ``error`` without running it (the engine went away)."""
        self._push("error", error)

    def _push(self, kind: str, item: Any) -> None:
        if self._loop is None or self._items is None:
            return
        try:
            self._loop.call_soon_threadsafe(self._items.put_nowait, (kind, item))
        except RuntimeError:  # the loop is closed: the server stopped and nobody is listening
            pass

    # the event loop
    async def events(self) -> AsyncIterator[Any]:
        """The turn's events as they come; raises the error the turn raised."""
        assert self._items is not None, "bind() the job to the loop first"
        while True:
            kind, item = await self._items.get()
            if kind == "event":
                yield item
            elif kind == "error":
                raise item
            else:
                return


def _takes_processor(session) -> bool:
    import inspect

    try:
        return "logits_processor" in inspect.signature(session.generate).parameters
    except (TypeError, ValueError):
        return False


class RequestQueue:
    """First come, first served; thread-safe. ``on_put`` is called after each put (the app uses it to wake
    its engine thread with a Qt signal instead of a blocking ``take``)."""

    def __init__(self, max_waiting: int = MAX_WAITING, on_put: Callable[[], None] | None = None) -> None:
        self.max_waiting = max_waiting
        self.on_put = on_put
        self._jobs: deque[Job] = deque()
        self._ready = threading.Condition()
        self._closed = False

    @property
    def waiting(self) -> int:
        with self._ready:
            return len(self._jobs)

    def put(self, job: Job) -> None:
        with self._ready:
            if self._closed:
                from engine.server.errors import ApiError

                raise ApiError(503, "The server is shutting down.")
            if len(self._jobs) >= self.max_waiting:
                raise QueueFullError
            self._jobs.append(job)
            self._ready.notify()
        if self.on_put is not None:
            self.on_put()

    def discard(self, job: Job) -> None:
        """Drop a job that has not started (its client left), so it neither waits for nor holds a place."""
        with self._ready:
            try:
                self._jobs.remove(job)
            except ValueError:
                pass

    def take(self, timeout: float | None = None) -> Job | None:
        """The next job, waiting for one up to ``timeout``; None on timeout or once closed."""
        with self._ready:
            if not self._jobs and not self._closed:
                self._ready.wait(timeout)
            return self._jobs.popleft() if self._jobs else None

    def take_nowait(self) -> Job | None:
        with self._ready:
            return self._jobs.popleft() if self._jobs else None

    def close(self) -> list[Job]:
        """Refuse new jobs and wake takers; returns the jobs that were still waiting."""
        with self._ready:
            self._closed = True
            left = list(self._jobs)
            self._jobs.clear()
            self._ready.notify_all()
        return left

    @property
    def closed(self) -> bool:
        return self._closed
