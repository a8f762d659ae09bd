"""A small OpenAI-compatible server on loopback that speaks the dialects of the servers people run gpt-oss on.

- "vllm": reasoning in ``delta.reasoning``, usage in a last chunk without choices (``include_usage``);
- "llamacpp": reasoning in ``delta.reasoning_content``, no usage at all (speed is measured by the client);
- "ollama": reasoning in ``delta.reasoning``, usage in the last chunk beside its finish_reason.

Faults: a key it wants (401 otherwise), ``cut_after`` text chunks then the connection dropped mid-body
(chunked encoding left unfinished), ``delay_s`` of silence before answering, ``chunk_delay_s`` between chunks,
``error_after`` chunks then an error event in the stream, ``fail_status`` for every chat request,
``stall_s`` of silence after ``stall_after`` text chunks. Every request body and its headers are kept.
Stdlib only (http.server on a thread), so it runs wherever the tests do.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

REASONING = "The user greets me. I should answer briefly."
ANSWER = "Hello! How can I help you today?"


class FakeServer:
    def __init__(
        self,
        dialect: str = "vllm",
        models: tuple[str, ...] = ("openai/gpt-oss-120b",),
        *,
        key: str | None = None,
        reasoning: str = REASONING,
        answer: str = ANSWER,
        cut_after: int | None = None,
        error_after: int | None = None,
        delay_s: float = 0.0,
        chunk_delay_s: float = 0.0,
        tool_call: dict | None = None,
        max_model_len: int | None = 131072,
        fail_status: int | None = None,
        stall_after: int | None = None,
        stall_s: float = 0.0,
    ) -> None:
        assert dialect in ("vllm", "llamacpp", "ollama"), dialect
        self.dialect, self.models, self.key = dialect, list(models), key
        self.reasoning, self.answer = reasoning, answer
        self.cut_after, self.error_after = cut_after, error_after
        self.delay_s, self.chunk_delay_s = delay_s, chunk_delay_s
        self.tool_call, self.max_model_len = tool_call, max_model_len
        self.fail_status = fail_status  # every chat request answered with this status and an error body
        self.stall_after, self.stall_s = (
            stall_after,
            stall_s,
        )  # silence of stall_s after that many text chunks
        self.requests: list[dict] = []  # {"path", "headers", "body"}
        self.disconnected = threading.Event()  # a client went away in the middle of a stream
        self._http = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._http.daemon_threads = True
        self._thread = threading.Thread(
            target=self._http.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._http.server_address[1]}/v1"

    def __enter__(self) -> FakeServer:
        self._thread.start()
        return self

    def __exit__(self, *_exc) -> None:
        self._http.shutdown()
        self._http.server_close()

    def chat_bodies(self) -> list[dict]:
        return [r["body"] for r in self.requests if r["path"].endswith("/chat/completions")]

    # what a chat answer streams
    def chunks(self, body: dict) -> list[dict]:
        reasoning_field = "reasoning_content" if self.dialect == "llamacpp" else "reasoning"
        base = {"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 0, "model": body["model"]}
        out = [
            dict(
                base,
                choices=[{"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": None}],
            )
        ]
        pieces = [(reasoning_field, p) for p in _pieces(self.reasoning)] + [
            ("content", p) for p in _pieces(self.answer)
        ]
        for field, text in pieces:
            out.append(dict(base, choices=[{"index": 0, "delta": {field: text}, "finish_reason": None}]))
        finish = "stop"
        if self.tool_call is not None:
            finish = "tool_calls"
            call = {
                "index": 0,
                "id": "call_abc",
                "type": "function",
                "function": {"name": self.tool_call["name"], "arguments": ""},
            }
            out.append(
                dict(base, choices=[{"index": 0, "delta": {"tool_calls": [call]}, "finish_reason": None}])
            )
            args = self.tool_call["arguments"]
            for part in (args[: len(args) // 2], args[len(args) // 2 :]):
                delta = {"tool_calls": [{"index": 0, "function": {"arguments": part}}]}
                out.append(dict(base, choices=[{"index": 0, "delta": delta, "finish_reason": None}]))
        completion = len(pieces)
        usage = {
            "prompt_tokens": 42,
            "completion_tokens": completion,
            "total_tokens": 42 + completion,
            "completion_tokens_details": {"reasoning_tokens": len(_pieces(self.reasoning))},
        }
        last = dict(base, choices=[{"index": 0, "delta": {}, "finish_reason": finish}])
        if self.dialect == "ollama":
            last["usage"] = usage
            out.append(last)
        elif self.dialect == "vllm":
            out.append(last)
            if (body.get("stream_options") or {}).get("include_usage"):
                out.append(dict(base, choices=[], usage=usage))
        else:
            out.append(last)
        return out


def _pieces(text: str) -> list[str]:
    """Text in token-like pieces: each word with the space before it."""
    words = text.split(" ")
    return [words[0]] + [" " + w for w in words[1:]] if text else []


def _handler(server: FakeServer):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *_args) -> None:
            pass

        def do_GET(self) -> None:
            self._record(None)
            if not self._authorized():
                return
            if self.path.rstrip("/").endswith("/v1/models"):
                data = [{"id": m, "object": "model", "owned_by": "test"} for m in server.models]
                if server.dialect == "vllm" and server.max_model_len:
                    for item in data:
                        item["max_model_len"] = server.max_model_len
                self._json(200, {"object": "list", "data": data})
            else:
                self._json(404, {"detail": "Not Found"})

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = json.loads(self.rfile.read(length) or b"{}")
            self._record(body)
            if server.delay_s:
                time.sleep(server.delay_s)
            if not self._authorized():
                return
            if not self.path.rstrip("/").endswith("/v1/chat/completions"):
                self._json(404, {"detail": "Not Found"})
                return
            if server.fail_status is not None:
                self._json(
                    server.fail_status, {"error": {"message": "Engine core died", "code": server.fail_status}}
                )
                return
            if body.get("model") not in server.models:
                message = f"The model `{body.get('model')}` does not exist."
                self._json(404, {"error": {"message": message, "type": "NotFoundError", "code": 404}})
                return
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            try:
                texts = 0
                for chunk in server.chunks(body):
                    delta = (chunk.get("choices") or [{}])[0].get("delta", {})
                    carries = any(delta.get(k) for k in ("reasoning", "reasoning_content", "content"))
                    if carries and server.cut_after is not None and texts >= server.cut_after:
                        self.wfile.flush()
                        self.connection.shutdown(socket.SHUT_RDWR)  # dropped: no end chunk, no [DONE]
                        self.close_connection = True
                        return
                    if carries and server.stall_after is not None and texts == server.stall_after:
                        time.sleep(server.stall_s)
                    if carries and server.error_after is not None and texts >= server.error_after:
                        self._event(
                            {
                                "error": {
                                    "message": "CUDA out of memory",
                                    "type": "InternalServerError",
                                    "code": 500,
                                }
                            }
                        )
                        break
                    self._event(chunk)
                    texts += carries
                    if server.chunk_delay_s:
                        time.sleep(server.chunk_delay_s)
                else:
                    self._send(b"data: [DONE]\n\n")
                self._send(b"")  # the last chunk of the body
            except (BrokenPipeError, ConnectionResetError, OSError):
                server.disconnected.set()
                self.close_connection = True

        def _record(self, body) -> None:
            server.requests.append({"path": self.path, "headers": dict(self.headers), "body": body})

        def _authorized(self) -> bool:
            if server.key is None or self.headers.get("Authorization") == f"Bearer {server.key}":
                return True
            self._json(
                401, {"error": {"message": "Invalid API key", "type": "invalid_request_error", "code": 401}}
            )
            return False

        def _json(self, status: int, data: dict) -> None:
            raw = json.dumps(data).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(raw)))
            self.end_headers()
            self.wfile.write(raw)

        def _event(self, data: dict) -> None:
            self._send(f"data: {json.dumps(data)}\n\n".encode())

        def _send(self, raw: bytes) -> None:
            self.wfile.write(f"{len(raw):x}\r\n".encode() + raw + b"\r\n")
            self.wfile.flush()

    return Handler


def refused_url() -> str:
    """An address on loopback where nothing listens: connecting is refused."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/v1"
