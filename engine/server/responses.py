"""``POST /v1/responses`` (and ``GET /v1/responses/{id}``): OpenAI's Responses API, as Codex CLI and the
openai SDK use it, streamed or not.

``previous_response_id`` continues from a response this server made: the earlier conversation (without
its ``instructions``, as OpenAI does) and its output come before the new input. Responses are kept in
memory, the most recent ``ResponseStore.limit`` of them, and are gone when the server stops.
"""

from __future__ import annotations

import time
import uuid
from collections import OrderedDict
from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import JSONResponse

from engine.server import params
from engine.server.dispatch import (
    EventStream,
    collect,
    error_event,
    events,
    leave,
    open_request,
    prepare,
    sse,
)
from engine.server.errors import ApiError, invalid
from engine.server.response_items import OutputBuilder, as_messages, input_messages
from engine.server.turn import TurnReader


@dataclass
class Stored:
    conversation: list[dict]  # the messages after the response, instructions left out
    response: dict


class ResponseStore:
    """The responses made, by id, the newest ``limit`` of them (thread-safe enough: the event loop only)."""

    def __init__(self, limit: int = 256) -> None:
        self.limit = limit
        self._items: OrderedDict[str, Stored] = OrderedDict()

    def get(self, response_id: str) -> Stored | None:
        return self._items.get(response_id)

    def put(self, response_id: str, stored: Stored) -> None:
        self._items[response_id] = stored
        while len(self._items) > self.limit:
            self._items.popitem(last=False)


async def get_response(request: Request) -> JSONResponse:
    stored = request.app.state.server.responses.get(request.path_params["response_id"])
    if stored is None:
        raise ApiError(
            404,
            f"There is no response {request.path_params['response_id']!r} on this server.",
            code="response_not_found",
        )
    return JSONResponse(stored.response)


async def create_response(request: Request):
    state, body, info = await open_request(request)
    earlier: list[dict] = []
    previous = body.get("previous_response_id")
    if previous is not None:
        stored = state.responses.get(previous) if isinstance(previous, str) else None
        if stored is None:
            raise ApiError(
                404,
                f"There is no response {previous!r} on this server (responses are kept in "
                "memory while it runs).",
                code="previous_response_not_found",
                param="previous_response_id",
            )
        earlier = stored.conversation
    conversation = earlier + input_messages(body.get("input", []))
    instructions = body.get("instructions")
    if instructions is not None and not isinstance(instructions, str):
        raise invalid("instructions must be a string.", "instructions")
    messages = ([{"role": "developer", "content": instructions}] if instructions else []) + conversation
    if not conversation:
        raise invalid("input is empty: there is nothing to answer.", "input")
    text = body.get("text") or {}
    gen = params.generation(
        body,
        messages,
        params.function_tools(body.get("tools"), flat=True),
        flat=True,
        max_tokens=params.integer(body, "max_output_tokens", 1),
        final_schema=params.response_format(
            text.get("format") if isinstance(text, dict) else None, "text.format"
        ),
    )
    job = await prepare(info, gen)
    response = {
        "id": f"resp_{uuid.uuid4().hex}",
        "object": "response",
        "created_at": int(time.time()),
        "status": "in_progress",
        "error": None,
        "incomplete_details": None,
        "model": info.id,
        "output": [],
        "instructions": instructions,
        "previous_response_id": previous,
        "tools": body.get("tools") or [],
        "tool_choice": body.get("tool_choice") or "auto",
        "parallel_tool_calls": False,
        "temperature": gen.temperature,
        "top_p": gen.top_p,
        "max_output_tokens": gen.max_tokens,
        "reasoning": {"effort": gen.effort, "summary": None},
        "text": text or {"format": {"type": "text"}},
        "store": True,
        "truncation": "disabled",
        "metadata": body.get("metadata") or {},
        "usage": None,
    }
    reader = TurnReader(gen.tool_names)
    builder = OutputBuilder()
    turn = events(state, job, request)

    def finish() -> dict:
        builder.close()
        response["output"] = builder.output
        response["usage"] = _usage(reader.usage)
        if reader.finish_reason in ("length", "malformed_tool_call"):
            response["status"] = "incomplete"
            reason = "max_output_tokens" if reader.finish_reason == "length" else reader.finish_reason
            response["incomplete_details"] = {"reason": reason}
        else:
            response["status"] = "completed"
        state.responses.put(response["id"], Stored(conversation + as_messages(builder.output), response))
        return response

    if not body.get("stream"):

        def read(event) -> None:
            for piece in reader.read(event):
                builder.add(piece)

        await collect(turn, read)
        return JSONResponse(finish())
    return EventStream(_stream(response, reader, builder, turn, finish), lambda: leave(state, job))


async def _stream(response: dict, reader: TurnReader, builder: OutputBuilder, turn, finish):
    def send(event: dict) -> str:
        return sse(event, event["type"])

    yield send(builder.event("response.created", response=dict(response)))
    yield send(builder.event("response.in_progress", response=dict(response)))
    try:
        async for event in turn:
            for piece in reader.read(event):
                for update in builder.add(piece):
                    yield send(update)
    except Exception as error:
        response["status"] = "failed"
        response["error"] = error_event(error)["error"]
        yield send(builder.event("response.failed", response=response))
        return
    for update in builder.close():
        yield send(update)
    yield send(builder.event("response.completed", response=finish()))


def _usage(usage) -> dict:
    prompt = getattr(usage, "prompt_tokens", 0)
    completion = getattr(usage, "completion_tokens", 0)
    return {
        "input_tokens": prompt,
        "input_tokens_details": {"cached_tokens": getattr(usage, "cached_tokens", 0)},
        "output_tokens": completion,
        "output_tokens_details": {"reasoning_tokens": getattr(usage, "reasoning_tokens", 0)},
        "total_tokens": prompt + completion,
    }
