"""``python -m engine chat`` on a tiny random model: /continue goes on with an answer cut short."""

from __future__ import annotations

import subprocess
import sys


def chat(model_dir, lines: list[str], *options: str) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "engine", "chat", "--model", str(model_dir), "--device", "cpu"]
    command += ["--temperature", "0", *options]
    return subprocess.run(
        command,
        input="".join(line + "\n" for line in lines),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_continue_goes_on_with_an_answer_cut_at_the_token_limit(tiny_model_dir):
    """/continue after an answer cut at --max-tokens writes more of it; with nothing cut short it says so."""
    result = chat(
        tiny_model_dir, ["/continue", "Hello", "/continue", "/exit"], "--context", "256", "--max-tokens", "5"
    )
    assert result.returncode == 0, result.stderr
    assert "(nothing to continue: the last answer was finished)" in result.stdout
    assert result.stdout.count("[5 tokens,") == 2 and result.stdout.count("(hit the token limit)") == 2
    assert "/continue" in result.stderr  # the help line names it


def test_continue_when_the_context_is_full_says_so_and_keeps_chatting(tiny_model_dir):
    """An answer that filled the context cannot go on: the context error is printed and the chat goes on."""
    lines = ["Hello", "/continue", "/new", "Hi", "/exit"]
    result = chat(tiny_model_dir, lines, "--context", "100", "--max-tokens", "1000")
    assert result.returncode == 0, result.stderr
    assert "error: The conversation is" in result.stderr and "Start a new conversation" in result.stderr
    assert result.stdout.count(" tokens, ") == 2  # the first answer, and the one after /new
