"""Every rule of the server's door and its queue, over real loopback HTTP."""

from __future__ import annotations

import http.client
import json
import socket
import time

import openai
import pytest

from tests.server.conftest import KEY, start_live, user


def test_a_request_without_the_key_or_with_a_wrong_one_gets_401(live):
    """No Authorization header, or another key: 401 with an OpenAI error object."""
    for headers in ({"Authorization": None}, {"Authorization": "Bearer nope"}, {"Authorization": KEY}):
        status, _, body = live.raw("GET", "/v1/models", headers=headers)
        assert status == 401 and body["error"]["code"] == "invalid_api_key"
    with pytest.raises(openai.AuthenticationError):
        live.client(api_key="wrong").models.list()


@pytest.mark.parametrize("host", ["evil.example", "evil.example:8642", "127.0.0.1.nip.io", ""])
def test_a_host_header_not_naming_this_computer_gets_403(live, host):
    """DNS rebinding: a Host other than the bound address, localhost, 127.0.0.1 or [::1] is refused."""
    status, _, body = live.raw("GET", "/v1/models", headers={"Host": host})
    assert status == 403 and body["error"]["code"] == "host_not_allowed"


@pytest.mark.parametrize("host", ["localhost", "localhost:1234", "127.0.0.1", "[::1]:8642"])
def test_local_host_names_are_accepted(live, host):
    """localhost, 127.0.0.1 and [::1], with or without a port, pass the Host check."""
    assert live.raw("GET", "/v1/models", headers={"Host": host})[0] == 200


def test_a_request_from_a_web_page_gets_403(live):
    """A request with an Origin header is refused when that origin was not allowed."""
    status, _, body = live.raw("GET", "/v1/models", headers={"Origin": "https://evil.example"})
    assert status == 403 and body["error"]["code"] == "origin_not_allowed"
    assert live.raw("OPTIONS", "/v1/models", headers={"Origin": "https://evil.example"})[0] == 403


def test_an_allowed_origin_gets_cors_headers_and_preflights(tiny_model):
    """--allow-origin: that origin's requests pass with CORS headers; its preflight needs no key."""
    origin = "http://localhost:3000"
    other = start_live(tiny_model, allow_origins=(origin,))
    try:
        status, headers, _ = other.raw("GET", "/v1/models", headers={"Origin": origin})
        assert status == 200 and headers["access-control-allow-origin"] == origin
        status, headers, _ = other.raw(
            "OPTIONS", "/v1/chat/completions", headers={"Origin": origin, "Authorization": None}
        )
        assert status == 204 and "authorization" in headers["access-control-allow-headers"]
        assert other.raw("GET", "/v1/models", headers={"Origin": "http://localhost:4000"})[0] == 403
    finally:
        other.server.stop()
        other.engine.stop()


def test_a_body_over_4_mib_gets_413(live):
    """A body larger than 4 MiB is refused with 413, whether its length is declared or streamed chunked."""
    big = json.dumps({"model": live.model_id, "messages": user("x" * (4 * 1024 * 1024 + 10))}).encode()
    status, _, body = live.raw("POST", "/v1/chat/completions", body=big)
    assert status == 413 and body["error"]["code"] == "request_too_large"

    connection = http.client.HTTPConnection("127.0.0.1", live.port, timeout=60)
    connection.request(
        "POST",
        "/v1/chat/completions",
        body=iter([big[i : i + 65536] for i in range(0, len(big), 65536)]),
        headers={
            "Authorization": f"Bearer {KEY}",
            "Content-Type": "application/json",
            "Transfer-Encoding": "chunked",
        },
        encode_chunked=True,
    )
    response = connection.getresponse()
    assert response.status == 413
    assert json.loads(response.read())["error"]["code"] == "request_too_large"
    connection.close()


@pytest.mark.parametrize(
    ("body", "param"),
    [
        (b"{not json", None),
        (b"[1, 2]", None),
        ({"messages": "hello"}, "messages"),
        ({"messages": [{"role": "user", "content": "hi"}], "temperature": "hot"}, "temperature"),
        ({"messages": [{"role": "user", "content": "hi"}], "max_tokens": 0}, "max_tokens"),
        (
            {"messages": [{"role": "user", "content": "hi"}], "reasoning_effort": "extreme"},
            "reasoning_effort",
        ),
        ({"messages": [{"role": "wizard", "content": "hi"}]}, "messages"),
        ({"messages": [{"role": "user", "content": "hi"}], "tool_choice": "required"}, "tool_choice"),
        (
            {"messages": [{"role": "user", "content": "hi"}], "response_format": {"type": "yaml"}},
            "response_format",
        ),
        ({"messages": [{"role": "user", "content": "hi"}], "tools": [{"type": "function"}]}, "tools"),
        ({"messages": [{"role": "user", "content": "hi"}], "tools": [1]}, "tools"),
        ({"messages": [{"role": "user", "content": "hi"}], "n": 2}, "n"),
    ],
)
def test_malformed_requests_get_400_with_an_error_object(live, body, param):
    """Bad JSON or a wrong type: 400 with an OpenAI error object naming the field."""
    if isinstance(body, dict):
        body = {"model": live.model_id, **body}
    status, _, answer = live.raw("POST", "/v1/chat/completions", body=body)
    assert status == 400
    assert answer["error"]["type"] == "invalid_request_error" and answer["error"]["message"]
    assert answer["error"]["param"] == param


def test_an_unknown_model_or_path_gets_404(live):
    """A model this server does not serve, or a path it does not have: 404 with an error object."""
    with pytest.raises(openai.NotFoundError) as caught:
        live.client().chat.completions.create(model="gpt-5", messages=user("hi"), max_tokens=1)
    assert caught.value.body["code"] == "model_not_found"
    status, _, body = live.raw("GET", "/v1/nothing")
    assert status == 404 and body["error"]["code"] == "not_found"


def test_a_prompt_over_the_context_gets_400_context_length_exceeded(live):
    """A conversation longer than the context: 400 with the code context_length_exceeded."""
    with pytest.raises(openai.BadRequestError) as caught:
        live.client().chat.completions.create(
            model=live.model_id, messages=user("word " * 3000), max_tokens=1
        )
    assert caught.value.code == "context_length_exceeded"


def _stream_request(port: int, prompt: str, max_tokens: int, stream: bool = True) -> socket.socket:
    """Send a (streaming) chat request on a raw socket and return it, unread."""
    body = json.dumps(
        {"model": "gpt-oss-tiny", "messages": user(prompt), "max_tokens": max_tokens, "stream": stream}
    ).encode()
    sock = socket.create_connection(("127.0.0.1", port), timeout=60)
    sock.sendall(
        b"POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        + f"Authorization: Bearer {KEY}\r\nContent-Length: {len(body)}\r\n\r\n".encode()
        + body
    )
    return sock


def _read_until(sock: socket.socket, marker: bytes, count: int = 1, seconds: float = 30) -> bytes:
    """What the server sent until ``marker`` came ``count`` times (or ``seconds`` passed)."""
    seen = b""
    deadline = time.monotonic() + seconds
    while seen.count(marker) < count and time.monotonic() < deadline:
        seen += sock.recv(65536)
    return seen


def _quick_answer(live) -> float:
    started = time.monotonic()
    live.client(timeout=60).chat.completions.create(model=live.model_id, messages=user("quick"), max_tokens=2)
    return time.monotonic() - started


def test_a_client_that_disconnects_cancels_its_generation(live):
    """Closing a stream mid-answer stops its generation: the next request does not wait for it."""
    sock = _stream_request(live.port, "A very long story, please.", max_tokens=1500)
    # the role chunk comes first, then one per token: two mean the model is generating
    assert _read_until(sock, b"data:", count=2).count(b"data:") >= 2
    sock.close()
    assert _quick_answer(live) < 20  # 1500 tokens on the CPU would take minutes


def test_a_client_that_leaves_before_a_whole_answer_cancels_it_too(live):
    """A client waiting for an unstreamed answer that hangs up stops its generation as well."""
    sock = _stream_request(live.port, "Another very long story.", max_tokens=1500, stream=False)
    from engine.text.tokenizer import load_tokenizer

    session, tok = live.engine.session, load_tokenizer()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not (
        "Another very long story" in tok.decode(session.last_turn.prompt_ids)
        and session.last_usage.completion_tokens >= 3
    ):
        time.sleep(0.05)  # until this request is the one generating
    assert session.last_usage.completion_tokens >= 3
    sock.close()
    assert _quick_answer(live) < 20


def test_over_16_waiting_requests_get_429_and_leaving_frees_the_queue(live):
    """One request runs, 16 wait, the next gets 429; when they all leave, a new request runs at once."""
    queue = live.server.app.state.queue
    running = _stream_request(live.port, "Keep the engine busy.", max_tokens=1500)
    _read_until(running, b"data:")
    waiting = [_stream_request(live.port, f"Waiting {index}.", max_tokens=1500) for index in range(16)]
    try:
        deadline = time.monotonic() + 30
        while queue.waiting < 16 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert queue.waiting == 16
        with pytest.raises(openai.RateLimitError) as caught:
            live.client().chat.completions.create(
                model=live.model_id, messages=user("one more"), max_tokens=1
            )
        assert caught.value.code == "queue_full"
    finally:
        for sock in [running, *waiting]:
            sock.close()
    deadline = time.monotonic() + 10
    while queue.waiting and time.monotonic() < deadline:
        time.sleep(0.05)
    assert queue.waiting == 0
    assert _quick_answer(live) < 20
