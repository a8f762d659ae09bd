"""Rendering a streaming answer: stable Markdown blocks, cheap re-renders, the live Thinking section."""

from __future__ import annotations

import time

from hypothesis import example, given, settings
from hypothesis import strategies as st

from app import markdown_split
from app.chat_model import ChatModel, LiveState
from app.store import Message
from app.widgets.chat_view import ChatView
from app.widgets.markdown_view import MarkdownView
from app.widgets.thinking_section import ThinkingSection

PIECES = st.sampled_from(
    [
        "Hello",
        " world",
        "\n",
        "\n\n",
        "```",
        "```python\n",
        "print(1)\n",
        "~~~\n",
        "- item\n",
        "1. one\n",
        "**bold** ",
        "`code` ",
        "| a | b |\n",
        "> quote\n",
        "x" * 300,
        "안녕 ",
        "    indented\n",
    ]
)


@settings(max_examples=300, deadline=None)
@given(st.lists(PIECES, max_size=40), st.data())
def test_split_from_the_last_segment_equals_a_full_split(pieces, data):
    """Re-splitting only from the last segment's start gives exactly what splitting everything gives."""
    text = "".join(pieces)
    cut = data.draw(st.integers(0, len(text)))
    before = markdown_split.split(text[:cut])
    full = markdown_split.split(text)
    if before:
        keep = markdown_split.restart_index(before, text[:cut])
        start = before[keep].start if keep else 0  # as MarkdownView.set_text
        tail = markdown_split.split(text[start:], offset=start)
        assert before[:keep] + tail == full
        assert full[:keep] == before[:keep]  # those segments never change as the text grows


@settings(max_examples=60, deadline=None)
@given(st.lists(PIECES, max_size=25))
@example(["\n", "```", "`code` "])  # a blank line, then a fence line that turns out to be prose
def test_streamed_view_matches_a_fresh_render(qapp, pieces):
    """Growing the text piece by piece leaves the view with exactly the blocks of a one-shot render."""
    view = MarkdownView()
    text = ""
    for piece in pieces:
        text += piece
        view.set_text(text)
        assert view._segments == markdown_split.split(text)
        assert len(view.blocks()) == len(view._segments)
    view.deleteLater()


def test_split_finds_code_with_its_language():
    """Fenced code (closed or still streaming) becomes its own segment with its language."""
    segments = markdown_split.split("Intro\n\n```python\nx = 1\n```\nAfter\n\n~~~\nopen")
    assert [(s.kind, s.text, s.language, s.closed) for s in segments] == [
        ("prose", "Intro\n\n", "", True),
        ("code", "x = 1", "python", True),
        ("prose", "After\n\n", "", True),
        ("code", "open", "", False),
    ]


def test_streaming_rebuilds_only_the_last_block(qtbot):
    """A 1,000-token answer fed in 30 ms-sized batches re-renders a bounded amount of Markdown per batch."""
    view = MarkdownView()
    qtbot.addWidget(view)
    view.resize(700, 400)
    view.show()
    paragraph = "This is a sentence of a long answer with **bold** and `code`. " * 6 + "\n\n"
    answer = paragraph * 12 + "```python\n" + "value = compute(value)\n" * 40 + "```\n\n" + paragraph * 12
    tokens = [answer[i : i + 4] for i in range(0, len(answer), 4)]  # about 1,000 tokens of 4 characters
    assert len(tokens) >= 1000
    rendered_chars = 0
    slowest = 0.0
    text = ""
    original = view._render_prose

    def counting(block, source):
        nonlocal rendered_chars
        rendered_chars += len(source)
        original(block, source)

    view._render_prose = counting
    for start in range(0, len(tokens), 8):  # 8 tokens a batch, as a fast GPU delivers in 30 ms
        text += "".join(tokens[start : start + 8])
        began = time.perf_counter()
        view.set_text(text)
        slowest = max(slowest, time.perf_counter() - began)
    assert view.text() == answer
    kinds = [type(block).__name__ for block in view.blocks()]
    assert "CodeBlock" in kinds and kinds.count("TextBlock") >= 3
    # Re-parsing the whole answer every batch would cost len(answer) * batches characters.
    batches = len(tokens) // 8
    assert rendered_chars < len(answer) * batches / 8
    assert slowest < 0.25, f"one batch took {slowest * 1000:.0f} ms"


def test_code_block_streams_by_appending(qtbot):
    """Code arriving in pieces is appended to the block, which keeps its language and a Copy button."""
    view = MarkdownView()
    qtbot.addWidget(view)
    view.set_text("```rust\nfn main() {")
    block = view.blocks()[0]
    view.set_text('```rust\nfn main() {\n    println!("hi");\n}\n```\n')
    assert view.blocks()[0] is block
    assert block.code == 'fn main() {\n    println!("hi");\n}' and block.language_label.text() == "rust"


def test_thinking_section_live_then_folded(qtbot):
    """While analysis streams the section is open and counts; when the answer starts it folds to a summary."""
    model = ChatModel()
    view = ChatView(model)
    qtbot.addWidget(view)
    view.resize(800, 600)
    view.show()
    model.append(Message(id=1, conversation_id=1, position=0, role="user", content="Why?"))
    model.append(Message(id=2, conversation_id=1, position=1, role="assistant", complete=False), LiveState())
    widget = view.message_widgets()[1]
    assert widget.waiting_label.isVisibleTo(widget) and not widget.thinking.isVisibleTo(widget)
    model.append_text(1, [("analysis", "The user asks why. ", 5)])
    model.append_text(1, [("analysis", "Think it through.", 4)])
    thinking = widget.thinking
    assert thinking.isVisibleTo(widget) and thinking.expanded and not widget.waiting_label.isVisibleTo(widget)
    assert thinking.text() == "The user asks why. Think it through."
    assert thinking.header.text().startswith("Thinking…") and thinking.header.text().endswith("9 tokens")
    assert thinking.body.toPlainText() == "The user asks why. Think it through."
    model.append_text(1, [("final", "Because.", 2)])
    assert not thinking.expanded  # folded once the answer begins
    assert thinking.header.text().startswith("Thought for") or thinking.header.text().startswith("Thoughts")
    assert widget.answer.text() == "Because."
    thinking.set_expanded(True, by_user=True)
    model.append_text(1, [("final", " Really.", 2)])
    assert thinking.expanded  # the user's choice wins
    done = Message(
        id=2,
        conversation_id=1,
        position=1,
        role="assistant",
        content="Because. Really.",
        reasoning=thinking.text(),
        thinking_s=12.4,
        finish_reason="return",
        usage={"reasoning_tokens": 9, "completion_tokens": 13, "decode_tok_s": 31.5},
    )
    model.replace(1, done)
    assert thinking.header.text() == "Thought for 12 s · 9 tokens"
    assert widget.usage_label.text().startswith("31.5 tok/s · 13 tokens")


def test_thinking_section_collapses_and_expands(qtbot):
    """The header toggles the analysis text."""
    section = ThinkingSection()
    qtbot.addWidget(section)
    section.show()
    section.set_text("analysis")
    section.set_progress(streaming=False, seconds=3.0, tokens=None)
    assert not section.body.isVisible() and section.header.text() == "Thought for 3 s · 1 word"
    section.header.click()
    assert section.body.isVisible()
    section.header.click()
    assert not section.body.isVisible()
