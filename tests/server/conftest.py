"""A live API server on the tiny random model, over real loopback HTTP, for the whole module's tests."""

from __future__ import annotations

import http.client
import json
from dataclasses import dataclass

import pytest

KEY = "test-key"
CONTEXT = 2048


@dataclass
class Live:
    server: object  # engine.server.runner.ApiServer
    engine: object  # engine.server.engine_thread.EngineThread
    model_id: str

    @property
    def base_url(self) -> str:
        return self.server.base_url

    @property
    def port(self) -> int:
        return self.server.port

    def client(self, **options):
        import openai

        return openai.OpenAI(
            base_url=self.base_url,
            api_key=options.pop("api_key", KEY),
            max_retries=0,
            timeout=options.pop("timeout", 120),
            **options,
        )

    def raw(self, method: str, path: str, body=None, headers: dict | None = None) -> tuple[int, dict, dict]:
        """One request with exactly these headers (Host and Authorization default to the good ones)."""
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        sent = {
            "Host": f"127.0.0.1:{self.port}",
            "Authorization": f"Bearer {KEY}",
            "Content-Type": "application/json",
        }
        sent.update(headers or {})
        data = body if isinstance(body, bytes | None) else json.dumps(body).encode()
        connection.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
        for name, value in sent.items():
            if value is not None:
                connection.putheader(name, value)
        if data is not None:
            connection.putheader("Content-Length", str(len(data)))
        connection.endheaders(data)
        response = connection.getresponse()
        text = response.read()
        connection.close()
        try:
            parsed = json.loads(text) if text else {}
        except ValueError:
            parsed = {"raw": text.decode("utf-8", "replace")}
        return response.status, {k.lower(): v for k, v in response.getheaders()}, parsed


def start_live(model, model_id: str = "gpt-oss-tiny", **server_options) -> Live:
    from engine.runtime.session import ChatSession
    from engine.server.engine_thread import EngineThread
    from engine.server.runner import ApiServer

    engine = EngineThread(ChatSession(model, context_length=CONTEXT), model_id)
    server = ApiServer(engine, key=KEY, port=0, **server_options)
    server.start()
    return Live(server, engine, model_id)


@pytest.fixture(scope="module")
def live(tiny_model):
    """The server, its engine thread owning a ChatSession on the tiny model (2048 tokens of context)."""
    running = start_live(tiny_model)
    yield running
    running.server.stop()
    running.engine.stop()


def user(text: str) -> list[dict]:
    return [{"role": "user", "content": text}]
