"""``POST /v1/chat/completions``: OpenAI's chat completions, streamed (server-sent events) or not.

Reasoning comes under both ``reasoning_content`` and ``reasoning`` (clients read one or the other);
tool calls carry clean names and their arguments as JSON text; usage counts reasoning tokens. With
``"return_token_ids": true`` (our extension, as vLLM has one) the answer also carries the prompt's and
the completion's token ids, to check them against ``engine render`` and ``engine generate``.
"""

from __future__ import annotations

import time
import uuid

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
from engine.server.errors import invalid
from engine.server.turn import Piece, TurnReader


def generation(body: dict) -> params.Generation:
    """The chat request's fields, checked."""
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise invalid("messages must be a non-empty list of messages.", "messages")
    if body.get("n") not in (None, 1):
        raise invalid("n must be 1: this server writes one answer per request.", "n")
    if body.get("logprobs"):
        raise invalid("logprobs are not supported by this server.", "logprobs")
    max_tokens = params.integer(body, "max_completion_tokens", 1)
    if max_tokens is None:
        max_tokens = params.integer(body, "max_tokens", 1)
    return params.generation(
        body,
        messages,
        params.function_tools(body.get("tools") or None, flat=False),
        flat=False,
        max_tokens=max_tokens,
        final_schema=params.response_format(body.get("response_format"), "response_format"),
        stop=params.stops(body),
    )


async def chat_completions(request: Request):
    state, body, info = await open_request(request)
    gen = generation(body)
    stream = bool(body.get("stream"))
    options = body.get("stream_options") or {}
    include_usage = bool(options.get("include_usage")) if isinstance(options, dict) else False
    job = await prepare(info, gen)
    reader = TurnReader(gen.tool_names, gen.stop)
    head = {
        "id": f"chatcmpl-{uuid.uuid4().hex}",
        "created": int(time.time()),
        "model": info.id,
        "system_fingerprint": None,
    }
    token_ids = bool(body.get("return_token_ids"))
    turn = events(state, job, request)
    if not stream:

        def read(event) -> None:
            reader.read(event)
            if reader.stopped:
                job.cancel.set()

        await collect(turn, read)
        return JSONResponse(_completion(head, reader, job, token_ids))
    return EventStream(_chunks(head, reader, job, turn, include_usage, token_ids), lambda: leave(state, job))


async def _chunks(head, reader: TurnReader, job, turn, include_usage: bool, token_ids: bool):
    def chunk(delta: dict, finish: str | None = None) -> str:
        return sse(
            {
                **head,
                "object": "chat.completion.chunk",
                "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}],
            }
        )

    yield chunk({"role": "assistant", "content": ""})
    calls = 0
    try:
        async for event in turn:
            for piece in reader.read(event):
                yield chunk(_delta(piece, calls))
                calls += piece.kind == "tool_call"
            if reader.stopped:
                job.cancel.set()
    except Exception as error:
        yield sse(error_event(error))
        return
    last = {
        **head,
        "object": "chat.completion.chunk",
        "choices": [{"index": 0, "delta": {}, "logprobs": None, "finish_reason": reader.finish_reason}],
    }
    if token_ids:
        last.update(prompt_token_ids=job.prompt_ids, token_ids=job.completion_ids)
    yield sse(last)
    if include_usage:
        yield sse({**head, "object": "chat.completion.chunk", "choices": [], "usage": usage(reader.usage)})
    yield sse("[DONE]")


def _delta(piece: Piece, index: int) -> dict:
    if piece.kind == "reasoning":
        return {"reasoning_content": piece.text, "reasoning": piece.text}
    if piece.kind == "content":
        return {"content": piece.text}
    call = piece.call
    return {
        "tool_calls": [
            {
                "index": index,
                "id": call["id"],
                "type": "function",
                "function": {"name": call["name"], "arguments": call["arguments"]},
            }
        ]
    }


def _completion(head: dict, reader: TurnReader, job, token_ids: bool) -> dict:
    message: dict = {"role": "assistant", "content": reader.content or (None if reader.tool_calls else "")}
    if reader.reasoning:
        message["reasoning_content"] = message["reasoning"] = reader.reasoning
    if reader.tool_calls:
        message["tool_calls"] = [
            {
                "id": call["id"],
                "type": "function",
                "function": {"name": call["name"], "arguments": call["arguments"]},
            }
            for call in reader.tool_calls
        ]
    answer = {
        **head,
        "object": "chat.completion",
        "choices": [
            {"index": 0, "message": message, "logprobs": None, "finish_reason": reader.finish_reason}
        ],
        "usage": usage(reader.usage),
    }
    if token_ids:
        answer.update(prompt_token_ids=job.prompt_ids, token_ids=job.completion_ids)
    return answer


def usage(turn_usage) -> dict:
    prompt = getattr(turn_usage, "prompt_tokens", 0)
    completion = getattr(turn_usage, "completion_tokens", 0)
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
        "prompt_tokens_details": {"cached_tokens": getattr(turn_usage, "cached_tokens", 0)},
        "completion_tokens_details": {"reasoning_tokens": getattr(turn_usage, "reasoning_tokens", 0)},
    }
