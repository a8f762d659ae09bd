"""One chat turn on a model server: the same events as engine.runtime.session.ChatSession, so the app's
worker and the command line drive a remote model exactly as they drive the local one.

The server streams OpenAI chunks; their reasoning (``reasoning_content`` from llama.cpp, ``reasoning`` from
vLLM, Ollama and LM Studio) becomes analysis TextDeltas, their content final ones, their tool calls ToolCall
events. Usage is the server's when it sends it (with ``stream_options.include_usage``, or in its last chunk as
Ollama does); otherwise tokens are counted as the chunks that carried text, which is one token each on these
servers. Speed is measured here either way: from the first text to the last.

A stream that breaks in the middle keeps what arrived: its text was yielded already, then comes
``TurnEnd("error")`` with the usage so far, and the StreamBrokenError is raised when the caller goes on
(``last_error`` holds it for a caller that stops at the TurnEnd).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

from engine.remote.client import RemoteClient, RemoteModel
from engine.remote.conversation import openai_messages
from engine.remote.errors import (
    RemoteError,
    RemoteModelMissingError,
    RemoteServerError,
    RemoteTimeoutError,
    StreamBrokenError,
)
from engine.runtime.session import GenerationSettings, Usage
from engine.text.harmony.events import Event, MessageEnd, MessageStart, TextDelta, ToolCall, TurnEnd

FINISH_REASONS = {"stop": "return", "length": "length", "tool_calls": "call", "function_call": "call"}


@dataclass
class RemoteTurn:
    """What the last turn sent (the app's prompt view shows token ids; a server's prompt has none here)."""

    prompt_ids: list[int] = field(default_factory=list)
    completion_ids: list[int] = field(default_factory=list)
    request: dict = field(
        default_factory=dict
    )  # the body sent, without anything secret (the key is a header)


class RemoteSession:
    """A model on a server; one turn at a time, like ChatSession. ``context_length``: the server's, or 0."""

    def __init__(self, client: RemoteClient, model: str, context_length: int | None = None) -> None:
        self.client = client
        self.model_id = model
        self.context_length = int(context_length or 0)
        self.last_usage = Usage(context_max=self.context_length)
        self.last_turn = RemoteTurn()
        self.last_error: RemoteError | None = None

    @classmethod
    def connect(
        cls,
        client: RemoteClient,
        model: str | None = None,
        *,
        prefer: str = "gpt-oss",
        models: list[RemoteModel] | None = None,
    ) -> RemoteSession:
        """Ask the server for its models (unless given ``models``, its list) and hold ``model`` (or, without
        one, the first whose id holds ``prefer``, else its first); RemoteModelMissingError if it has none."""
        models = client.list_models() if models is None else models
        chosen = _choose(models, model, prefer)
        if chosen is None:
            have = ", ".join(m.id for m in models[:6])
            if model is None:
                raise RemoteModelMissingError(
                    f"The server at {client.host} lists no models. Load a model on the server, then try "
                    "again."
                )
            raise RemoteModelMissingError(
                f"The server at {client.host} has no model {model!r}. "
                + (f"It has: {have}. " if have else "It lists no models. ")
                + "Choose one of its models (--remote-model), or load that model on the server."
            )
        return cls(client, chosen.id, chosen.context_length)

    def describe(self) -> str:
        return f"{self.model_id} on {self.client.host} ({self.client.base_url})"

    def reset(self) -> None:
        """Nothing is cached here; the server keeps its own prefix cache."""

    def request_body(
        self,
        messages: list[dict],
        settings: GenerationSettings,
        tools: list[dict] | None = None,
        continue_from: dict | None = None,
    ) -> dict:
        sent = openai_messages(messages, continue_from)
        body = {
            "model": self.model_id,
            "messages": sent,
            "stream": True,
            "stream_options": {"include_usage": True},
            "reasoning_effort": settings.effort,
            "temperature": settings.temperature,
            "top_p": settings.top_p,
            "max_tokens": settings.max_tokens,
        }
        if settings.top_k:  # not OpenAI's field but vLLM's, SGLang's and llama.cpp's: sent only when on
            body["top_k"] = settings.top_k
        if settings.seed is not None:
            body["seed"] = settings.seed
        if tools:
            body["tools"] = tools
        if len(sent) > len(messages):  # continuing: vLLM's way to go on with the last assistant message;
            # llama.cpp and Ollama continue a trailing assistant message by themselves
            body["continue_final_message"] = True
            body["add_generation_prompt"] = False
        return body

    def generate(
        self,
        messages: list[dict],
        settings: GenerationSettings | None = None,
        tools: list[dict] | None = None,
        cancel: threading.Event | None = None,
        *,
        continue_from: dict | None = None,
    ) -> Iterator[Event]:
        """Yield harmony events as the server streams; the last is a TurnEnd with the usage (see above)."""
        settings = settings or GenerationSettings()
        started = time.perf_counter()
        body = self.request_body(messages, settings, tools, continue_from)
        usage = Usage(context_max=self.context_length)
        self.last_usage, self.last_turn, self.last_error = usage, RemoteTurn(request=body), None
        texts = {"analysis": [], "final": []}
        counted = {"analysis": 0, "final": 0}
        calls: dict[int, dict] = {}
        channel: str | None = None
        reason: str | None = None
        server_usage: dict | None = None
        first = last = None
        try:
            for chunk in self.client.stream_chat(body, cancel):
                if chunk.get("usage"):
                    server_usage = chunk["usage"]
                if chunk.get("error"):
                    raise self._stream_error(chunk["error"], bool(texts["analysis"] or texts["final"]))
                for choice in chunk.get("choices") or []:
                    delta = choice.get("delta") or {}
                    for name, text in (("analysis", _reasoning(delta)), ("final", delta.get("content"))):
                        if not isinstance(text, str) or not text:
                            continue
                        now = time.perf_counter()
                        first = first if first is not None else now
                        last = now
                        if channel != name:
                            if channel is not None:
                                yield MessageEnd(channel)
                            channel = name
                            yield MessageStart("assistant", name, None)
                        texts[name].append(text)
                        counted[name] += 1
                        yield TextDelta(name, text)
                    for call in delta.get("tool_calls") or []:
                        _add_call(calls, call)
                    if choice.get("finish_reason"):
                        reason = FINISH_REASONS.get(choice["finish_reason"], "return")
            if cancel is not None and cancel.is_set():
                reason = "cancelled"
            elif reason is None:
                raise StreamBrokenError(
                    f"The server at {self.client.host} ended the answer without finishing it "
                    "(no finish_reason). "
                    "The answer so far is kept: Continue goes on with it, Regenerate starts it again."
                )
        except StreamBrokenError as error:
            if error.timed_out and first is None:  # silent before any text: a slow server, nothing to keep
                raise RemoteTimeoutError(
                    f"The server at {self.client.host} did not answer within "
                    f"{self.client.timeout_s:.0f} s. It may "
                    "be busy or still loading the model; try again in a moment, or check the server."
                ) from None
            error.partial = {name: "".join(parts) for name, parts in texts.items()}
            self.last_error = error
            reason = "error"
        finally:
            _fill(usage, server_usage, counted, started, first, last)
        if channel is not None:
            yield MessageEnd(channel)
        for index in sorted(calls):
            call = calls[index]
            yield ToolCall(call["name"], call["arguments"], call["id"] or f"call_{index}")
        if calls and reason == "return":
            reason = "call"
        yield TurnEnd(reason=reason, usage=usage)
        if self.last_error is not None:
            raise self.last_error

    def _stream_error(self, error, began: bool) -> RemoteError:
        message = error.get("message") if isinstance(error, dict) else str(error)
        if began:
            return StreamBrokenError(
                f"The server at {self.client.host} stopped the answer with an error: {message}. "
                "The answer so far "
                "is kept: Continue goes on with it, Regenerate starts it again."
            )
        return RemoteServerError(f"The server at {self.client.host} could not answer: {message}")


def _choose(models: list[RemoteModel], wanted: str | None, prefer: str) -> RemoteModel | None:
    if wanted is not None:
        return next((m for m in models if m.id == wanted), None)
    return next((m for m in models if prefer in m.id.lower()), models[0] if models else None)


def _reasoning(delta: dict) -> str | None:
    """The reasoning in a delta, under whichever name the server uses (one sending both sends the same)."""
    text = delta.get("reasoning_content")
    return text if text else delta.get("reasoning")


def _add_call(calls: dict[int, dict], part: dict) -> None:
    """Tool calls stream in pieces keyed by index: the id and name first, the arguments as text after."""
    index = part.get("index", len(calls))
    call = calls.setdefault(index, {"id": None, "name": "", "arguments": ""})
    call["id"] = call["id"] or part.get("id")
    function = part.get("function") or {}
    call["name"] += function.get("name") or ""
    arguments = function.get("arguments")
    if isinstance(arguments, dict):  # Ollama may send whole arguments as an object
        import json

        arguments = json.dumps(arguments, ensure_ascii=False)
    call["arguments"] += arguments or ""


def _fill(usage: Usage, server: dict | None, counted: dict, started: float, first, last) -> None:
    """The turn's usage: the server's counts if it gave them, else the chunks counted; times measured here."""
    if first is not None:
        usage.ttft_s = usage.prefill_s = first - started
        usage.decode_s = last - first
    usage.completion_tokens = counted["analysis"] + counted["final"]
    usage.reasoning_tokens = counted["analysis"]
    if server:
        usage.prompt_tokens = int(server.get("prompt_tokens") or 0)
        usage.completion_tokens = int(server.get("completion_tokens") or usage.completion_tokens)
        details = server.get("completion_tokens_details") or {}
        usage.reasoning_tokens = int(details.get("reasoning_tokens") or usage.reasoning_tokens)
        usage.cached_tokens = int((server.get("prompt_tokens_details") or {}).get("cached_tokens") or 0)
    usage.context_used = usage.prompt_tokens + usage.completion_tokens
