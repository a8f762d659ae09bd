"""Continue: an answer cut short (Stop, token limit, crash) goes on in the same message as it streams."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt

from app import settings as keys
from app.store import Store
from engine.text.tokenizer import load_tokenizer
from tests.app.conftest import stop_mid_answer, wait_idle, wait_loaded


def cut_short(store: Store, question: str, *, content: str, reasoning: str, complete: bool, reason=None):
    """A conversation whose answer was cut short, as the store holds it after a Stop or a crash."""
    conversation = store.create_conversation(title=question[:20])
    store.add_message(conversation.id, "user", question)
    answer = store.add_message(
        conversation.id,
        "assistant",
        content,
        reasoning=reasoning,
        complete=False,
        settings={"effort": "medium"},
    )
    if complete:
        store.finish_message(
            answer.id, finish_reason=reason, usage={"completion_tokens": 7, "reasoning_tokens": 3}
        )
    return conversation.id, answer.id


def reopened(make_window, model_dir, question: str, **answer):
    """A new window on ``model_dir`` showing a conversation saved by ``cut_short(question, **answer)``, as
    after a restart: (window, the answer's widget, conversation id, answer id)."""
    store = Store()
    conversation_id, answer_id = cut_short(store, question, **answer)
    store.close()
    window = make_window(model_dir)
    window.controller.open_conversation(conversation_id)
    return window, window.chat_view.message_widgets()[1], conversation_id, answer_id


def test_stop_then_continue_adds_to_the_same_answer(loaded_window, qtbot, settings):
    """After Stop the answer offers Continue; it writes on in the same message, saved, then complete."""
    window = loaded_window
    stopped = stop_mid_answer(qtbot, window, settings)
    model = window.controller.chat_model
    assert stopped.finish_reason == "cancelled"
    widget = window.chat_view.message_widgets()[1]
    assert widget.continue_button.isVisible() and widget.continue_button.isEnabled()
    assert widget.regenerate_button.isVisible()

    settings.set(keys.MAX_TOKENS, 16)
    qtbot.mouseClick(widget.continue_button, Qt.MouseButton.LeftButton)
    assert window.controller.busy and not widget.continue_button.isVisible()
    assert not window.store.message(stopped.id).complete  # a crash now would leave it interrupted
    wait_idle(qtbot, window)
    messages = window.store.messages(window.controller.conversation.id)
    assert [m.id for m in messages] == [messages[0].id, stopped.id]  # the same message, no new one
    answer = messages[1]
    assert answer.complete and answer.finish_reason in ("return", "length")
    assert answer.content.startswith(stopped.content) and answer.reasoning.startswith(stopped.reasoning)
    assert len(answer.content) + len(answer.reasoning) > len(stopped.content) + len(stopped.reasoning)
    used, before = answer.usage["completion_tokens"], stopped.usage["completion_tokens"]
    assert before < used <= before + 16  # the tokens of both turns
    assert answer.usage["cached_tokens"] > 0  # the conversation was not read again
    assert widget.answer.text() == answer.content and model.message(1).content == answer.content
    assert not widget.continue_button.isVisible() or answer.finish_reason == "length"


@pytest.mark.parametrize(
    ("content", "reasoning", "prompt_end"),
    [
        ("", "The user wants a story. First", "<|channel|>analysis<|message|>The user wants a story. First"),
        (
            "Once upon a time",
            "A fairy tale.",
            (
                "<|channel|>analysis<|message|>A fairy tale.<|end|>"
                "<|start|>assistant<|channel|>final<|message|>Once upon a time"
            ),
        ),
    ],
)
def test_an_interrupted_answer_continues_after_a_restart(
    make_window, qtbot, tiny_model_dir, settings, content, reasoning, prompt_end
):
    """An answer cut by a crash reads back as interrupted with Continue offered; Continue shows the model the
    answer so far, open in the channel it stopped in (thinking or answer), and adds to it."""
    window, widget, conversation_id, answer_id = reopened(
        make_window, tiny_model_dir, "Tell me a story.", content=content, reasoning=reasoning, complete=False
    )
    assert widget.status_label.text().startswith("Interrupted") and "Continue" in widget.status_label.text()
    assert widget.continue_button.isVisibleTo(widget)
    wait_loaded(qtbot, window)
    with qtbot.waitSignal(window.controller.prompt_rendered, timeout=120_000) as rendered:
        qtbot.mouseClick(widget.continue_button, Qt.MouseButton.LeftButton)
    wait_idle(qtbot, window)
    assert load_tokenizer().decode(rendered.args[0]).endswith(prompt_end)
    answer = window.store.message(answer_id)
    assert answer.complete and answer.content.startswith(content) and answer.reasoning.startswith(reasoning)
    assert len(window.store.messages(conversation_id)) == 2
    assert not widget.status_label.text().startswith("Interrupted")


def test_an_answer_stopped_before_its_first_word_is_answered_again(
    make_window, qtbot, tiny_model_dir, settings
):
    """With nothing written there is nothing to continue: no Continue button, and continuing regenerates."""
    window, widget, conversation_id, answer_id = reopened(
        make_window, tiny_model_dir, "Hello", content="", reasoning="", complete=True, reason="cancelled"
    )
    assert not widget.continue_button.isVisibleTo(widget) and widget.regenerate_button.isVisibleTo(widget)
    wait_loaded(qtbot, window)
    assert window.controller.continue_answer()
    wait_idle(qtbot, window)
    messages = window.store.messages(conversation_id)
    assert [m.role for m in messages] == ["user", "assistant"]
    assert messages[1].id != answer_id and messages[1].complete


def test_a_finished_answer_is_not_continued(make_window, qtbot, tiny_model_dir, settings):
    """An answer the model ended itself offers no Continue, and continuing it does nothing."""
    window, widget, _, _ = reopened(
        make_window, tiny_model_dir, "Hi", content="Hello!", reasoning="", complete=True, reason="return"
    )
    assert not widget.continue_button.isVisibleTo(widget)
    wait_loaded(qtbot, window)
    assert not window.controller.continue_answer() and not window.controller.busy


def test_continue_when_the_context_is_full_shows_the_context_message(loaded_window, qtbot):
    """An answer that filled the context cannot go on: Continue ends in the engine's advice, text kept."""
    window = loaded_window
    store = window.store
    content = "more " * 1200
    conversation_id, answer_id = cut_short(
        store, "word " * 3000, content=content, reasoning="", complete=True, reason="length"
    )
    window.controller.open_conversation(conversation_id)
    widget = window.chat_view.message_widgets()[1]
    assert widget.continue_button.isVisibleTo(widget)
    qtbot.mouseClick(widget.continue_button, Qt.MouseButton.LeftButton)
    wait_idle(qtbot, window)
    answer = store.message(answer_id)
    assert answer.complete and answer.finish_reason == "error"
    assert "context" in answer.error and "Start a new conversation" in answer.error
    assert answer.content == content and answer.usage["completion_tokens"] == 7  # nothing lost
    assert widget.status_label.isVisibleTo(widget) and widget.status_label.property("kind") == "error"
