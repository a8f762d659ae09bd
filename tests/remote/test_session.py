"""RemoteSession against a loopback server in each dialect, and the faults a network brings."""

from __future__ import annotations

import threading
import time

import pytest

from engine.remote import (
    KeyRejectedError,
    RemoteClient,
    RemoteModelMissingError,
    RemoteSession,
    RemoteTimeoutError,
    ServerUnreachableError,
    StreamBrokenError,
)
from engine.runtime.session import GenerationSettings
from engine.text.harmony.events import MessageEnd, MessageStart, TextDelta, ToolCall, TurnEnd
from tests.remote.fake_server import ANSWER, REASONING, FakeServer, refused_url

HELLO = [{"role": "user", "content": "Hello"}]


def _run(session, messages=HELLO, settings=None, **kwargs):
    events = []
    error = None
    try:
        for event in session.generate(messages, settings or GenerationSettings(effort="high"), **kwargs):
            events.append(event)
    except Exception as caught:  # noqa: BLE001 - the tests look at it
        error = caught
    texts = {"analysis": "", "final": ""}
    for event in events:
        if isinstance(event, TextDelta):
            texts[event.channel] += event.text
    return events, texts, error


@pytest.mark.parametrize("dialect", ["vllm", "llamacpp", "ollama"])
def test_each_dialect_streams_reasoning_and_answer(dialect):
    """Reasoning arrives as analysis and the answer as final, whichever field the server puts reasoning in."""
    with FakeServer(dialect) as server:
        session = RemoteSession.connect(RemoteClient(server.url))
        events, texts, error = _run(session)
    assert error is None
    assert texts == {"analysis": REASONING, "final": ANSWER}
    assert isinstance(events[0], MessageStart) and events[0].channel == "analysis"
    starts = [e.channel for e in events if isinstance(e, MessageStart)]
    ends = [e.channel for e in events if isinstance(e, MessageEnd)]
    assert starts == ends == ["analysis", "final"]
    end = events[-1]
    assert isinstance(end, TurnEnd) and end.reason == "return"
    body = server.chat_bodies()[0]
    assert body["reasoning_effort"] == "high" and body["stream"] is True
    assert body["model"] == "openai/gpt-oss-120b"


@pytest.mark.parametrize("dialect", ["vllm", "ollama"])
def test_usage_is_the_servers_when_it_gives_it(dialect):
    """vLLM's usage chunk and Ollama's usage in the last chunk both fill the turn's usage."""
    with FakeServer(dialect) as server:
        _events, _texts, _error = _run(RemoteSession.connect(RemoteClient(server.url)))
        session = RemoteSession.connect(RemoteClient(server.url))
        events, _texts, _error = _run(session)
    usage = events[-1].usage
    assert usage.prompt_tokens == 42
    assert usage.completion_tokens == len((REASONING + " " + ANSWER).split(" "))
    assert usage.reasoning_tokens == len(REASONING.split(" "))
    assert usage.context_used == usage.prompt_tokens + usage.completion_tokens


def test_speed_is_measured_when_the_server_gives_no_usage():
    """llama.cpp sends no usage: tokens are counted as chunks and tok/s measured from their arrival."""
    with FakeServer("llamacpp", chunk_delay_s=0.01) as server:
        events, _texts, _error = _run(RemoteSession.connect(RemoteClient(server.url)))
    usage = events[-1].usage
    assert usage.completion_tokens == len((REASONING + " " + ANSWER).split(" "))
    assert usage.decode_s > 0 and 10 < usage.decode_tok_s < 200
    assert usage.ttft_s > 0


def test_context_length_from_vllm_model_list():
    """vLLM's max_model_len becomes the session's context length; a server that does not say gives 0."""
    with FakeServer("vllm", max_model_len=65536) as server:
        assert RemoteSession.connect(RemoteClient(server.url)).context_length == 65536
    with FakeServer("ollama", models=("gpt-oss:20b",)) as server:
        assert RemoteSession.connect(RemoteClient(server.url)).context_length == 0


def test_key_is_sent_and_a_wrong_one_is_rejected_in_words():
    """The right key gets answers; a wrong one (or none) raises KeyRejectedError naming the key."""
    with FakeServer(key="sekrit") as server:
        session = RemoteSession.connect(RemoteClient(server.url, "sekrit"))
        _events, texts, error = _run(session)
        assert error is None and texts["final"] == ANSWER
        assert server.requests[-1]["headers"]["Authorization"] == "Bearer sekrit"
        with pytest.raises(KeyRejectedError, match="rejected the API key"):
            RemoteClient(server.url, "wrong").list_models()
        with pytest.raises(KeyRejectedError, match="needs an API key"):
            RemoteClient(server.url).list_models()
        bad = RemoteSession(RemoteClient(server.url, "wrong"), "openai/gpt-oss-120b")
        events, _texts, error = _run(bad)
        assert isinstance(error, KeyRejectedError) and events == []
        assert "wrong" not in str(error) and "wrong" not in repr(bad.client)


def test_refused_connection_says_the_server_is_not_reachable():
    """Nothing listening: ServerUnreachableError saying the connection was refused."""
    with pytest.raises(ServerUnreachableError, match="refused"):
        RemoteClient(refused_url()).list_models()
    session = RemoteSession(RemoteClient(refused_url()), "m")
    _events, _texts, error = _run(session)
    assert isinstance(error, ServerUnreachableError)


def test_slow_server_times_out_in_words():
    """A server silent for longer than the timeout raises RemoteTimeoutError, soon after the timeout."""
    with FakeServer(delay_s=1.5) as server:
        session = RemoteSession(RemoteClient(server.url, timeout_s=0.3), "openai/gpt-oss-120b")
        started = time.monotonic()
        events, _texts, error = _run(session)
        assert isinstance(error, RemoteTimeoutError), error
        assert "did not answer within" in str(error)
        assert time.monotonic() - started < 1.4 and events == []


def test_a_cut_stream_keeps_the_partial_answer():
    """A connection dropped mid-answer: the text so far, TurnEnd("error"), then StreamBrokenError."""
    with FakeServer("vllm", cut_after=12) as server:
        session = RemoteSession.connect(RemoteClient(server.url))
        events, texts, error = _run(session)
    assert isinstance(error, StreamBrokenError), error
    assert "answer so far is kept" in str(error)
    assert REASONING.startswith(texts["analysis"]) and texts["analysis"]
    assert texts["final"] and ANSWER.startswith(texts["final"]) and texts["final"] != ANSWER
    assert isinstance(events[-1], TurnEnd) and events[-1].reason == "error"
    assert error.partial == texts and session.last_error is error


def test_an_error_event_in_the_stream_keeps_the_partial_answer():
    """A server that reports an error mid-stream (vLLM's error event) is a broken answer, text kept."""
    with FakeServer("vllm", error_after=3) as server:
        events, texts, error = _run(RemoteSession.connect(RemoteClient(server.url)))
    assert isinstance(error, StreamBrokenError) and "CUDA out of memory" in str(error)
    assert texts["analysis"] and events[-1].reason == "error"


def test_stop_closes_the_stream_at_once():
    """Setting cancel ends the turn within a moment, as "cancelled", and the server sees the client go."""
    with FakeServer("vllm", chunk_delay_s=0.2) as server:
        session = RemoteSession.connect(RemoteClient(server.url))
        cancel = threading.Event()
        seen = []
        started = None
        for event in session.generate(HELLO, GenerationSettings(), cancel=cancel):
            seen.append(event)
            if isinstance(event, TextDelta) and started is None:
                started = time.monotonic()
                cancel.set()
        assert time.monotonic() - started < 0.5  # chunks come every 0.2 s: it did not wait for the rest
        assert isinstance(seen[-1], TurnEnd) and seen[-1].reason == "cancelled"
        assert server.disconnected.wait(3)


def test_model_the_server_no_longer_has():
    """Asking for a model the server dropped raises RemoteModelMissingError that names what it has."""
    with FakeServer(models=("openai/gpt-oss-20b",)) as server:
        session = RemoteSession(RemoteClient(server.url), "openai/gpt-oss-120b")
        _events, _texts, error = _run(session)
        assert isinstance(error, RemoteModelMissingError), error
        assert "openai/gpt-oss-20b" in str(error)
        with pytest.raises(RemoteModelMissingError):
            RemoteSession.connect(RemoteClient(server.url), "openai/gpt-oss-120b")


def test_tool_calls_arrive_whole():
    """Streamed tool-call pieces become one ToolCall with its id, name and arguments; the turn ends "call"."""
    call = {"name": "get_weather", "arguments": '{"city": "Seoul"}'}
    with FakeServer("vllm", tool_call=call, answer="") as server:
        tools = [{"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object"}}}]
        events, _texts, error = _run(RemoteSession.connect(RemoteClient(server.url)), tools=tools)
        assert server.chat_bodies()[0]["tools"] == tools
    assert error is None
    calls = [e for e in events if isinstance(e, ToolCall)]
    assert calls == [ToolCall("get_weather", '{"city": "Seoul"}', "call_abc")]
    assert events[-1].reason == "call"


def test_continue_sends_the_partial_answer_to_go_on_with():
    """Continue: the partial answer goes last, with vLLM's flags to continue it rather than answer anew."""
    with FakeServer() as server:
        partial = {"role": "assistant", "content": "Hello! How", "reasoning": "The user greets me."}
        _run(RemoteSession.connect(RemoteClient(server.url)), continue_from=partial)
        body = server.chat_bodies()[0]
    assert body["messages"][-1]["content"] == "Hello! How"
    assert body["messages"][-1]["reasoning"] == "The user greets me."
    assert body["continue_final_message"] is True and body["add_generation_prompt"] is False


def test_a_server_that_stalls_mid_answer_is_a_broken_stream():
    """Silence longer than the timeout after text has arrived: the text is kept, StreamBrokenError says so."""
    with FakeServer("ollama", stall_after=3, stall_s=1.0) as server:
        session = RemoteSession(RemoteClient(server.url, timeout_s=0.3), "openai/gpt-oss-120b")
        events, texts, error = _run(session)
    assert isinstance(error, StreamBrokenError) and "sent nothing for" in str(error)
    assert texts["analysis"] and events[-1].reason == "error"


def test_silence_after_the_first_chunk_but_before_any_text_is_a_timeout():
    """A server that opens the stream, then says nothing for longer than the timeout: RemoteTimeoutError."""
    with FakeServer("vllm", stall_after=0, stall_s=1.0) as server:
        session = RemoteSession(RemoteClient(server.url, timeout_s=0.3), "openai/gpt-oss-120b")
        events, _texts, error = _run(session)
    assert isinstance(error, RemoteTimeoutError) and "did not answer within" in str(error)
    assert not any(isinstance(e, TurnEnd) for e in events)


@pytest.mark.parametrize(
    ("status", "kind", "words"),
    [
        (500, "RemoteServerError", "Engine core died"),
        (503, "RemoteServerError", "failed (503)"),
        (429, "RemoteServerError", "busy"),
        (504, "RemoteTimeoutError", "timed out"),
        (403, "KeyRejectedError", "needs an API key"),
    ],
)
def test_server_errors_are_worded(status, kind, words):
    """A chat request the server refuses raises the matching error with the server's own words kept."""
    with FakeServer(fail_status=status) as server:
        _events, _texts, error = _run(RemoteSession(RemoteClient(server.url), "openai/gpt-oss-120b"))
    assert type(error).__name__ == kind and words in str(error)


def test_an_address_without_the_api():
    """An address that answers but has no OpenAI API there says to check the address."""
    with FakeServer() as server:
        with pytest.raises(Exception, match="Check the address"):
            RemoteClient(server.url.removesuffix("/v1") + "/v2").list_models()


def test_stop_while_the_server_is_still_silent():
    """Stop before the server has answered at all (a long prefill): the turn ends at once, as cancelled."""
    with FakeServer("vllm", delay_s=2.0) as server:
        session = RemoteSession(RemoteClient(server.url), "openai/gpt-oss-120b")
        cancel = threading.Event()
        threading.Timer(0.2, cancel.set).start()
        started = time.monotonic()
        events = list(session.generate(HELLO, GenerationSettings(), cancel=cancel))
        assert time.monotonic() - started < 1.2  # well before the server's 2 s
    assert [type(e) for e in events] == [TurnEnd] and events[0].reason == "cancelled"
