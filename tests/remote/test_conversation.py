"""The conversation sent to a server drops earlier reasoning exactly as our harmony renderer does."""

from __future__ import annotations

import pytest

from engine.remote.conversation import openai_messages
from engine.remote.endpoint import host_name, normalize_url
from engine.remote.errors import RemoteError
from engine.text.harmony import render_prompt

CALL = {"id": "call_1", "type": "function", "function": {"name": "lookup", "arguments": "{}"}}
CONVERSATIONS = {
    "two answered turns": [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Hi"},
        {"role": "assistant", "content": "Hello!", "reasoning": "Greet back."},
        {"role": "user", "content": "And again?"},
        {"role": "assistant", "content": "Hello again!", "reasoning": "Again."},
        {"role": "user", "content": "Third"},
    ],
    "tool chain open": [
        {"role": "user", "content": "Look it up"},
        {"role": "assistant", "content": None, "reasoning": "I need the tool.", "tool_calls": [CALL]},
        {"role": "tool", "tool_call_id": "call_1", "content": "42"},
    ],
    "tool chain answered": [
        {"role": "user", "content": "Look it up"},
        {"role": "assistant", "content": None, "reasoning": "I need the tool.", "tool_calls": [CALL]},
        {"role": "tool", "tool_call_id": "call_1", "content": "42"},
        {"role": "assistant", "content": "It is 42.", "reasoning": "The tool said 42."},
        {"role": "user", "content": "Thanks"},
    ],
    "reasoning only, cut": [
        {"role": "user", "content": "Hi"},
        {"role": "assistant", "content": "Hello!", "reasoning": "Greet."},
        {"role": "user", "content": "More"},
        {"role": "assistant", "content": None, "reasoning": "Thinking about more"},
    ],
}


@pytest.mark.parametrize("name", list(CONVERSATIONS))
def test_sent_messages_render_as_harmony_would(name):
    """What is sent, rendered keeping all its reasoning, is the prompt harmony renders from the history."""
    history = CONVERSATIONS[name]
    sent = openai_messages(history)
    ours = render_prompt(history, date="2026-12-03")
    assert render_prompt(sent, date="2026-12-03", drop_analysis="none") == ours


def test_reasoning_goes_under_both_names_and_app_fields_stay_home():
    """Kept reasoning is sent as reasoning and reasoning_content; unknown keys of the app are not sent."""
    history = CONVERSATIONS["tool chain open"]
    history = [dict(m, extra="ours") for m in history]
    sent = openai_messages(history)
    assert sent[1]["reasoning"] == sent[1]["reasoning_content"] == "I need the tool."
    assert all("extra" not in m for m in sent)


@pytest.mark.parametrize(
    ("typed", "base"),
    [
        ("localhost:8000", "http://localhost:8000/v1"),
        ("http://gpu-box:8000/", "http://gpu-box:8000/v1"),
        ("https://llm.example.com/v1/chat/completions", "https://llm.example.com/v1"),
        ("llm.example.com", "https://llm.example.com/v1"),
        ("192.168.1.20:11434", "http://192.168.1.20:11434/v1"),
        ("https://api.example.com/openai/v1/", "https://api.example.com/openai/v1"),
    ],
)
def test_addresses_as_people_type_them(typed, base):
    """A typed address becomes the API base URL: a scheme for it, /v1 when no version is given."""
    assert normalize_url(typed) == base


def test_bad_addresses_and_host_names():
    """An empty or unusable address is a RemoteError; the host name keeps a port."""
    for typed in ("", "ftp://x", "http://:80"):
        with pytest.raises(RemoteError):
            normalize_url(typed)
    assert host_name("http://gpu-box:8000/v1") == "gpu-box:8000"
    assert host_name("https://llm.example.com/v1") == "llm.example.com"
