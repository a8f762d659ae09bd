"""Exporting a conversation to Markdown and to JSON."""

from __future__ import annotations

import json

import pytest

from app.export import JSON_FORMAT, to_json, to_markdown
from app.store import Store


@pytest.fixture
def conversation(tmp_path):
    store = Store(tmp_path / "chats.sqlite")
    chat = store.create_conversation("Sorting in Python", settings={"effort": "high"})
    store.add_message(chat.id, "user", "How do I sort a list of 한국어 words?")
    answer = store.add_message(chat.id, "assistant", complete=False)
    store.finish_message(
        answer.id,
        finish_reason="return",
        content="Use `sorted`:\n\n```python\nsorted(words)\n```",
        reasoning="They want sorting.\n\nShow sorted().",
        usage={"completion_tokens": 12},
        thinking_s=3.2,
    )
    cut = store.add_message(chat.id, "assistant", "Partial", complete=False)
    yield store.conversation(chat.id), store.messages(chat.id)
    store.close()
    del cut


def test_markdown_has_title_turns_thinking_and_code(conversation):
    """Markdown export shows the title, who said what, thinking folded away, code intact."""
    text = to_markdown(*conversation)
    assert text.startswith("# Sorting in Python\n")
    assert "reasoning effort: high" in text
    assert "## You\n\nHow do I sort a list of 한국어 words?" in text
    assert "<summary>Thinking (3 s)</summary>" in text
    assert "> They want sorting.\n>\n> Show sorted()." in text
    assert "```python\nsorted(words)\n```" in text
    assert text.rstrip().endswith("*(interrupted)*")


def test_json_keeps_channels_usage_and_unicode(conversation):
    """JSON export is chat-shaped, keeps analysis apart, usage, state, and writes Korean as is."""
    text = to_json(*conversation)
    assert "한국어" in text
    document = json.loads(text)
    assert document["format"] == JSON_FORMAT and document["version"] == 2
    assert document["settings"] == {"effort": "high"}
    user, answer, cut = document["messages"]
    assert user == {
        "id": 1,
        "parent": None,
        "shown": True,
        "role": "user",
        "content": "How do I sort a list of 한국어 words?",
        "created_at": user["created_at"],
    }
    assert (answer["parent"], cut["parent"]) == (1, 2)
    assert answer["reasoning"].startswith("They want sorting.")
    assert answer["usage"] == {"completion_tokens": 12} and answer["complete"] is True
    assert answer["finish_reason"] == "return" and answer["thinking_s"] == 3.2
    assert cut["complete"] is False
