"""From a checked request to a running job: the model and context checks, the queue, the client watch.

``prepare`` renders the prompt the engine will see (the same ``render_prompt`` call as ``engine
render``) before anything is queued, so a conversation that is malformed or too long is a 400 at once,
not an error in the middle of a stream. ``events`` queues the job and yields its events; the client is
watched meanwhile, and a client that leaves abandons its job at once, whether it waits or runs.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Callable
from typing import Any

import anyio
from starlette.requests import Request

from engine.server.errors import ApiError, invalid
from engine.server.jobs import Job, QueueFullError
from engine.server.params import Generation


def body_object(raw: bytes) -> dict:
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as error:
        raise invalid(f"The request body is not valid JSON: {error}.") from None
    if not isinstance(body, dict):
        raise invalid("The request body must be a JSON object.")
    return body


async def open_request(request: Request) -> tuple[Any, dict, Any]:
    """The server's state, the request's body (a JSON object) and the loaded model it names, as both
    APIs begin."""
    state = request.app.state.server
    body = body_object(await request.body())
    return state, body, check_model(state.host, body.get("model"))


async def collect(turn: AsyncIterator[Any], each: Callable[[Any], None]) -> None:
    """Pass every event of a turn that is not streamed to ``each``; an engine failure (the answer has not
    begun) is raised as the ApiError to answer with."""
    try:
        async for event in turn:
            each(event)
    except Exception as error:
        raise api_error(error) from None


def check_model(host, requested: Any):
    """The loaded model's ModelInfo, when ``requested`` names it (or names nothing)."""
    info = host.model()
    if info is None:
        raise ApiError(503, "No model is loaded. Load a model in Gossamer, then try again.", code="no_model")
    if requested is not None and not isinstance(requested, str):
        raise invalid("model must be a string.", "model")
    if requested not in (None, "", info.id):
        raise ApiError(
            404,
            f"The model {requested!r} does not exist here; this server serves {info.id!r}.",
            code="model_not_found",
            param="model",
        )
    return info


async def prepare(info, generation: Generation) -> Job:
    """The job for ``generation``; raises ApiError 400 for a conversation the engine would refuse."""
    from engine.errors import EngineError
    from engine.text.harmony import render_prompt

    try:
        prompt = await anyio.to_thread.run_sync(
            lambda: render_prompt(generation.messages, effort=generation.effort, tools=generation.tools)
        )
    except EngineError as error:  # ConversationError: the text says which message or field
        raise invalid(str(error), "tools" if str(error).startswith("tools") else "messages") from None
    if len(prompt) >= info.context_length:
        raise ApiError(
            400,
            f"This conversation is {len(prompt):,} tokens long; the model's context holds "
            f"{info.context_length:,}. Shorten the conversation or start the server with a longer --context.",
            code="context_length_exceeded",
            param="messages",
        )
    settings = generation.settings(info.context_length - len(prompt))
    job = Job(generation.messages, settings, generation.tools, generation.constraint(settings.max_tokens))
    job.bind(asyncio.get_running_loop())
    return job


def events(state, job: Job, request: Request) -> AsyncIterator[Any]:
    """Queue ``job`` now (ApiError 429 when the queue is full, before any answer starts) and return its
    events, which come while its client stays."""
    try:
        state.queue.put(job)
    except QueueFullError:
        raise ApiError(
            429,
            f"The server is busy: {state.queue.max_waiting} requests are already waiting. Try again soon.",
            code="queue_full",
        ) from None
    state.jobs.add(job)
    return _follow(state, job, request)


async def _follow(state, job: Job, request: Request) -> AsyncIterator[Any]:
    watch = asyncio.create_task(_watch(request.receive, lambda: leave(state, job)))
    try:
        async for event in job.events():
            yield event
    finally:
        watch.cancel()
        state.jobs.discard(job)
        if not job.cancel.is_set() and not _finished(job):
            leave(state, job)


def _finished(job: Job) -> bool:
    return bool(job.prompt_ids)


def leave(state, job: Job) -> None:
    """The client is gone (or the answer was never sent): drop the job from the queue, or stop it."""
    state.queue.discard(job)
    job.abandon()


async def _watch(receive: Callable, on_disconnect: Callable[[], None]) -> None:
    # The body has been read, so the next message the server sends up is the client going away.
    with contextlib.suppress(Exception):
        while True:
            message = await receive()
            if message.get("type") == "http.disconnect":
                on_disconnect()
                return


class EventStream:
    """An ASGI response sending server-sent events as ``chunks`` gives them, stopping when the client goes."""

    media_type = "text/event-stream"

    def __init__(self, chunks: AsyncIterator[str], on_close: Callable[[], None] | None = None) -> None:
        self.chunks = chunks
        self.on_close = (
            on_close  # the job's leave(): when the stream ends before the job began, nothing else would
        )

    async def __call__(self, scope, receive, send) -> None:
        headers = [
            (b"content-type", b"text/event-stream; charset=utf-8"),
            (b"cache-control", b"no-cache"),
            (b"x-accel-buffering", b"no"),
        ]
        try:
            await send({"type": "http.response.start", "status": 200, "headers": headers})
            async for chunk in self.chunks:
                await send({"type": "http.response.body", "body": chunk.encode("utf-8"), "more_body": True})
            await send({"type": "http.response.body", "body": b"", "more_body": False})
        except OSError:  # the client went away while we wrote to it
            pass
        finally:
            with contextlib.suppress(Exception):
                await self.chunks.aclose()
            if self.on_close is not None:
                self.on_close()


def sse(data: Any, event: str | None = None) -> str:
    text = data if isinstance(data, str) else json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    return (f"event: {event}\n" if event else "") + f"data: {text}\n\n"


def error_event(error: Exception) -> dict:
    """An error that happens after the stream began, as an OpenAI error object."""
    if isinstance(error, ApiError):
        return error.body()
    return ApiError(500, _message(error)).body()


def api_error(error: Exception) -> ApiError:
    """An engine failure before the answer began, as the ApiError to answer with."""
    if isinstance(error, ApiError):
        return error
    from engine.errors import ContextFullError, EngineError

    if isinstance(error, ContextFullError):
        return ApiError(400, str(error), code="context_length_exceeded")
    if isinstance(error, EngineError):
        return ApiError(503, str(error), code="engine_error")
    return ApiError(500, _message(error))


def _message(error: Exception) -> str:
    from engine.errors import EngineError

    if isinstance(error, EngineError):
        return str(error)
    return f"The engine failed: {type(error).__name__}: {error}"
