"""Exporting a conversation to Markdown and to JSON."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime

import pytest

from app.export import JSON_FORMAT, to_json, to_markdown, write
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


@pytest.fixture
def seoul(monkeypatch):
    """This computer's clock set to Korea's time zone for one test."""
    monkeypatch.setenv("TZ", "Asia/Seoul")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def test_markdown_says_when_it_was_exported_in_local_time(conversation, seoul):
    """The "Exported … on" line is the export's own time on the reader's clock, not the chat's last update."""
    chat, messages = conversation
    at = datetime(2026, 12, 3, 11, 5, tzinfo=UTC)
    assert "*Exported from Gossamer on 2026-12-03 20:05 KST · reasoning effort: high*" in to_markdown(
        chat, messages, now=at
    )
    before = datetime.now().astimezone().replace(second=0, microsecond=0)
    exported = to_markdown(chat, messages).split("Exported from Gossamer on ")[1].split(" · ")[0]
    assert (
        exported.endswith(" KST")
        and before
        <= datetime.strptime(exported.removesuffix(" KST"), "%Y-%m-%d %H:%M").replace(tzinfo=before.tzinfo)
        <= datetime.now().astimezone()
    )


def test_exports_of_a_branched_chat(tmp_path):
    """Markdown writes the versions shown, marked as versions; JSON writes every version, each naming the one
    it follows and whether it is shown, parents first."""
    store = Store(tmp_path / "chats.sqlite")
    chat = store.create_conversation("Branches")
    store.add_message(chat.id, "user", "Old question")
    store.add_message(chat.id, "assistant", "Old answer")
    edited = store.add_message(chat.id, "user", "New question", parent_id=None)
    first = store.add_message(chat.id, "assistant", "First answer", parent_id=edited.id)
    store.add_message(chat.id, "assistant", "Second answer", parent_id=edited.id)
    store.choose(first.id)
    every = store.all_messages(chat.id)
    conversation = store.conversation(chat.id)
    write(str(tmp_path / "chat.md"), "markdown", conversation, every)
    markdown = (tmp_path / "chat.md").read_text(encoding="utf-8")
    assert "## You (version 2 of 2)\n\nNew question" in markdown
    assert "## Assistant (version 1 of 2)\n\nFirst answer" in markdown
    assert "Old" not in markdown and "Second answer" not in markdown
    write(str(tmp_path / "chat.json"), "json", conversation, every)
    document = json.loads((tmp_path / "chat.json").read_text(encoding="utf-8"))
    rows = [(m["id"], m["parent"], m["shown"], m["content"]) for m in document["messages"]]
    assert rows == [
        (1, None, False, "Old question"),
        (2, None, True, "New question"),
        (3, 1, False, "Old answer"),
        (4, 2, True, "First answer"),
        (5, 2, False, "Second answer"),
    ]
    store.close()
