"""``python -m engine generate|chat --remote URL``: the local commands' output, from a server."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from engine.__main__ import main
from tests.remote.fake_server import ANSWER, REASONING, FakeServer, refused_url

ROOT = Path(__file__).resolve().parents[2]


def test_generate_json_through_the_real_entry_point():
    """The command as people run it prints generate's JSON: analysis, final, usage; tokens empty."""
    with FakeServer("llamacpp") as server:
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "engine",
                "generate",
                "--remote",
                server.url,
                "--prompt",
                "Hello",
                "--effort",
                "low",
                "--json",
            ],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
            env=dict(os.environ, PYTHONPATH=str(ROOT)),
        )
        assert server.chat_bodies()[0]["reasoning_effort"] == "low"
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert out["analysis"] == REASONING and out["final"] == ANSWER
    assert out["tool_calls"] == [] and out["finish_reason"] == "return"
    assert not out.get("tokens")
    assert out["usage"]["completion_tokens"] > 0 and "decode_tok_s" in out["usage"]


def test_generate_text_mode_and_model_choice(capsys):
    """Without --json the answer goes to stdout, the reasoning to stderr; --remote-model picks the model."""
    with FakeServer("ollama", models=("llama3:8b", "gpt-oss:20b", "gpt-oss:120b")) as server:
        code = main(["generate", "--remote", server.url, "--remote-model", "gpt-oss:120b", "--prompt", "Hi"])
        assert server.chat_bodies()[0]["model"] == "gpt-oss:120b"
        assert main(["generate", "--remote", server.url, "--prompt", "Hi", "--json"]) == 0
        assert server.chat_bodies()[1]["model"] == "gpt-oss:20b"  # the first gpt-oss by default
    captured = capsys.readouterr()
    assert code == 0
    assert ANSWER in captured.out and REASONING in captured.err


def test_broken_stream_prints_what_arrived_and_fails(capsys):
    """A stream cut mid-answer: the JSON has the partial answer and finish_reason "error"; exit 1."""
    with FakeServer("vllm", cut_after=11) as server:
        code = main(["generate", "--remote", server.url, "--prompt", "Hi", "--json"])
    captured = capsys.readouterr()
    assert code == 1
    out = json.loads(captured.out)
    assert out["finish_reason"] == "error" and out["final"] and ANSWER.startswith(out["final"])
    assert out["analysis"] == REASONING and "answer so far is kept" in out["error"]
    assert "error:" in captured.err


def test_rejected_key_fails_saying_so(capsys):
    """A wrong key: exit 1 and a message that says the key was rejected, without the key in it."""
    with FakeServer(key="right-key") as server:
        code = main(["generate", "--remote", server.url, "--api-key", "wrong-key", "--prompt", "Hi"])
    captured = capsys.readouterr()
    assert code == 1
    assert "rejected the API key" in captured.err
    assert "wrong-key" not in captured.err + captured.out


def test_key_from_the_environment(capsys, monkeypatch):
    """GOSSAMER_API_KEY gives the key when --api-key is not used (it stays out of shell history)."""
    monkeypatch.setenv("GOSSAMER_API_KEY", "right-key")
    with FakeServer(key="right-key") as server:
        assert main(["generate", "--remote", server.url, "--prompt", "Hi", "--json"]) == 0


def test_unreachable_server_fails_in_words(capsys):
    """Nothing listening at the address: exit 1 with a sentence about reaching the server."""
    code = main(["generate", "--remote", refused_url(), "--prompt", "Hi"])
    assert code == 1
    assert "Could not reach the server" in capsys.readouterr().err


def test_no_model_named(capsys):
    """Neither --model nor --remote: exit 1 saying how to name one."""
    assert main(["generate", "--prompt", "Hi"]) == 1
    assert "--remote URL" in capsys.readouterr().err


def test_chat_in_the_terminal_keeps_history(capsys, monkeypatch):
    """chat --remote streams answers and sends the history with earlier reasoning dropped."""
    lines = iter(["Hello", "And again", "/exit"])
    monkeypatch.setattr("builtins.input", lambda _prompt="": next(lines))
    with FakeServer("vllm") as server:
        assert main(["chat", "--remote", server.url]) == 0
        second = server.chat_bodies()[1]["messages"]
    out = capsys.readouterr().out
    assert out.count(ANSWER) == 2
    assert [m["role"] for m in second] == ["user", "assistant", "user"]
    assert second[1]["content"] == ANSWER and "reasoning" not in second[1]
