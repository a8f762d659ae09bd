"""Long conversations in the app: a full chat asks once and drops or summarises, the meter of a reopened chat,
cut reasoning with Continue reasoning, and the Settings for them."""

from __future__ import annotations

import time

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QLabel

from app import context_store, export, formatting
from app import settings as keys
from app.store import Store
from app.widgets.context_note import ContextNote
from app.widgets.overflow_dialog import OverflowDialog
from app.widgets.settings_dialog import SettingsDialog
from engine.runtime.overflow import SUMMARY_HEADING
from engine.runtime.reasoning_guard import DEFAULT_BUDGETS
from engine.text.harmony import render_prompt
from tests.app.conftest import send, wait_idle, wait_loaded

TINY_CONTEXT = 256


def long_chat(turns: int = 7, overflow: str | None = None) -> int:
    """A chat of ``turns`` answered exchanges, written into this test's store before a window opens."""
    store = Store()
    conversation = store.create_conversation("Long chat", settings={"effort": "low"})
    for n in range(turns):
        store.add_message(conversation.id, "user", f"Question {n}: what is {n} plus {n}, and why?")
        answer = store.add_message(
            conversation.id,
            "assistant",
            f"It is {2 * n}, because adding {n} twice doubles it.",
            complete=False,
        )
        store.finish_message(answer.id, finish_reason="return", usage={"completion_tokens": 12})
    if overflow is not None:
        context_store.set_overflow(store, conversation.id, overflow)
    store.close()
    return conversation.id


def tiny_window(make_window, qtbot, tiny_model_dir, settings, conversation_id: int):
    settings.set(keys.CONTEXT_LENGTH, TINY_CONTEXT)
    settings.set(keys.MAX_TOKENS, 16)
    window = make_window(tiny_model_dir)
    wait_loaded(qtbot, window)
    assert window.controller.open_conversation(conversation_id)
    return window


def the_dialog(qtbot) -> OverflowDialog:
    found: list = []

    def shown() -> bool:
        found[:] = [
            w for w in QApplication.topLevelWidgets() if isinstance(w, OverflowDialog) and w.isVisible()
        ]
        return bool(found)

    qtbot.waitUntil(shown, timeout=5000)
    return found[0]


def click_in_view(qtbot, window, button) -> None:
    """Click ``button`` of a message as a person does: once the chat is laid out and it is scrolled into view."""
    qtbot.waitUntil(lambda: button.isVisible() and button.height() > 0, timeout=5000)
    window.chat_view.ensureWidgetVisible(button)
    qtbot.waitUntil(lambda: button.visibleRegion().boundingRect() == button.rect(), timeout=5000)
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)


def test_a_reopened_chat_shows_the_tokens_its_prompt_holds(make_window, qtbot, tiny_model_dir, settings):
    """The meter of a chat opened after a restart counts its prompt without running the model, not 0."""
    conversation_id = long_chat(3)
    window = make_window(tiny_model_dir)
    wait_loaded(qtbot, window)
    window.controller.open_conversation(conversation_id)
    expected = len(render_prompt(window.controller.engine_messages(), effort="low"))
    assert expected > 100
    assert (
        window.status.context_label.text()
        == f"Context {formatting.count(expected)} / {formatting.count(4096)}"
    )


def test_a_full_chat_asks_and_the_summary_is_shown_stored_and_editable(
    make_window, qtbot, tiny_model_dir, settings
):
    """Summarise: the chat remembers the choice, the model's summary is a note in the chat and in the store,
    the old turns stay in the history and the export, and the next prompt starts at the summary."""
    conversation_id = long_chat()
    window = tiny_window(make_window, qtbot, tiny_model_dir, settings, conversation_id)
    before = len(window.store.messages(conversation_id))
    send(qtbot, window, "And the last question: what is seven times six?")
    dialog = the_dialog(qtbot)
    assert window.composer.text()  # nothing sent yet: the message waits for the choice
    qtbot.mouseClick(dialog.buttons["summarize"], Qt.MouseButton.LeftButton)
    wait_idle(qtbot, window)
    conversation = window.store.conversation(conversation_id)
    assert conversation.overflow == "summarize"
    stored = window.store.messages(conversation_id)
    notes = [m for m in stored if context_store.note_kind(m) == "summary"]
    assert len(notes) == 1 and notes[0].content.startswith(SUMMARY_HEADING + ":\n")
    assert conversation.prompt_start == notes[0].position > 0
    assert len(stored) == before + 3  # the note, the question, the answer: nothing deleted
    assert [m.content for m in stored[:2]] == [
        "Question 0: what is 0 plus 0, and why?",
        "It is 0, because adding 0 twice doubles it.",
    ]
    assert stored[-1].role == "assistant" and stored[-1].complete and stored[-1].finish_reason != "error"
    assert window.controller.engine_messages()[0]["content"] == notes[0].content
    markdown = export.to_markdown(conversation, stored)
    assert "Question 0:" in markdown and SUMMARY_HEADING in markdown
    widgets = [w for w in window.chat_view.message_widgets() if isinstance(w, ContextNote)]
    assert len(widgets) == 1 and widgets[0].isVisible() and widgets[0].text.text()
    widgets[0].start_edit()
    widgets[0].editor.setPlainText("They added small numbers.")
    qtbot.mouseClick(widgets[0].save_button, Qt.MouseButton.LeftButton)
    edited = window.store.message(notes[0].id)
    assert edited.content == f"{SUMMARY_HEADING}:\nThey added small numbers."
    assert widgets[0].text.text() == "They added small numbers."


def test_a_chat_that_drops_marks_where_its_prompt_starts(make_window, qtbot, tiny_model_dir, settings):
    """Drop, chosen before: no question; a marker where the prompt starts; the prompt fits the context."""
    conversation_id = long_chat(overflow="drop")
    window = tiny_window(make_window, qtbot, tiny_model_dir, settings, conversation_id)
    send(qtbot, window, "And the last question: what is seven times six?")
    qtbot.waitUntil(lambda: window.controller.busy, timeout=5000)
    wait_idle(qtbot, window)
    stored = window.store.messages(conversation_id)
    markers = [m for m in stored if context_store.note_kind(m) == "dropped"]
    assert len(markers) == 1 and markers[0].settings["covers"] >= 2
    assert window.store.conversation(conversation_id).prompt_start == markers[0].position
    prompt = window.controller.last_prompt_ids
    assert 0 < len(prompt) <= TINY_CONTEXT - 16
    assert all("Question 0:" not in m.get("content", "") for m in window.controller.engine_messages())
    assert stored[-1].finish_reason in ("return", "length") and stored[0].content.startswith("Question 0:")
    assert any(isinstance(w, ContextNote) for w in window.chat_view.message_widgets())


def test_choosing_stop_sends_nothing_and_says_what_to_do(make_window, qtbot, tiny_model_dir, settings):
    """Stop: the message stays in the composer, the chat remembers it, a notice offers the ways on."""
    conversation_id = long_chat()
    window = tiny_window(make_window, qtbot, tiny_model_dir, settings, conversation_id)
    before = len(window.store.messages(conversation_id))
    send(qtbot, window, "One more?")
    qtbot.mouseClick(the_dialog(qtbot).buttons["stop"], Qt.MouseButton.LeftButton)
    assert window.store.conversation(conversation_id).overflow == "stop"
    assert len(window.store.messages(conversation_id)) == before and window.composer.text() == "One more?"
    assert window.notice.isVisible() and "This chat is full" in window.notice.message.text()
    send(qtbot, window, "One more?")  # remembered: no question this time
    assert not [w for w in QApplication.topLevelWidgets() if isinstance(w, OverflowDialog) and w.isVisible()]
    assert len(window.store.messages(conversation_id)) == before
    window.notice.action_triggered.emit("overflow:drop")  # the notice's "Drop oldest turns"
    qtbot.waitUntil(lambda: window.controller.busy, timeout=5000)
    wait_idle(qtbot, window)
    assert window.store.conversation(conversation_id).overflow == "drop" and window.composer.text() == ""
    stored = window.store.messages(conversation_id)
    assert stored[-2].content == "One more?" and any(context_store.note_kind(m) == "dropped" for m in stored)


def test_regenerate_in_a_full_chat_asks_first_then_drops(make_window, qtbot, tiny_model_dir, settings):
    """Regenerate runs the model over the whole chat: in one that no longer fits it asks as a send does, and
    the new answer comes once the chat drops its oldest turns; the old answer stays a version away."""
    conversation_id = long_chat()
    window = tiny_window(make_window, qtbot, tiny_model_dir, settings, conversation_id)
    before = window.store.messages(conversation_id)
    click_in_view(qtbot, window, window.chat_view.message_widgets()[-1].regenerate_button)
    dialog = the_dialog(qtbot)
    assert "answer again" in dialog.findChild(QLabel).text()
    assert not window.controller.busy and len(window.store.messages(conversation_id)) == len(before)
    qtbot.mouseClick(dialog.buttons["drop"], Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: window.controller.busy, timeout=5000)
    wait_idle(qtbot, window)
    assert window.store.conversation(conversation_id).overflow == "drop"
    shown = window.controller.chat_model.messages()
    assert shown[-1].role == "assistant" and shown[-1].id != before[-1].id and len(shown[-1].versions) == 2
    assert shown[-1].finish_reason in ("return", "length")
    assert 0 < len(window.controller.last_prompt_ids) <= TINY_CONTEXT - 16
    assert any(context_store.note_kind(m) == "dropped" for m in window.store.messages(conversation_id))


def test_continue_in_a_full_chat_asks_first(make_window, qtbot, tiny_model_dir, settings):
    """Continue runs the model over the chat and the answer so far: in a full chat it asks first, and the
    answer goes on in the same message once the chat drops its oldest turns."""
    conversation_id = long_chat()
    store = Store()
    last = store.messages(conversation_id)[-1]
    store.reopen_message(last.id)
    store.finish_message(last.id, finish_reason="length", usage={"completion_tokens": 12})
    store.close()
    window = tiny_window(make_window, qtbot, tiny_model_dir, settings, conversation_id)
    widget = window.chat_view.message_widgets()[-1]
    click_in_view(qtbot, window, widget.continue_button)
    dialog = the_dialog(qtbot)
    assert "go on with this answer" in dialog.findChild(QLabel).text() and not window.controller.busy
    qtbot.mouseClick(dialog.buttons["drop"], Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: window.controller.busy, timeout=5000)
    wait_idle(qtbot, window)
    answer = window.store.message(last.id)
    assert answer.content.startswith(last.content) and answer.finish_reason in ("return", "length")
    assert window.store.conversation(conversation_id).overflow == "drop"


def test_an_edit_in_a_full_chat_asks_and_stop_keeps_the_edit(make_window, qtbot, tiny_model_dir, settings):
    """Editing a message of a full chat asks first; Stop sends nothing and keeps the edited text in the
    message's editor, and the notice's Summarise then resends it as a new version of the message."""
    conversation_id = long_chat()
    window = tiny_window(make_window, qtbot, tiny_model_dir, settings, conversation_id)
    before = len(window.store.messages(conversation_id))
    row = window.controller.chat_model.rowCount() - 2  # the last question
    widget = window.chat_view.message_widgets()[row]
    click_in_view(qtbot, window, widget.edit_button)
    widget.editor.selectAll()
    qtbot.keyClicks(widget.editor, "What is six plus six?")
    qtbot.keyClick(widget.editor, Qt.Key.Key_Return)
    dialog = the_dialog(qtbot)
    assert "edited message" in dialog.findChild(QLabel).text()
    qtbot.mouseClick(dialog.buttons["stop"], Qt.MouseButton.LeftButton)
    assert window.store.conversation(conversation_id).overflow == "stop"
    assert len(window.store.messages(conversation_id)) == before and not window.controller.busy
    widget = window.chat_view.message_widgets()[row]
    assert widget.editing and widget.editor.toPlainText() == "What is six plus six?"
    assert window.notice.isVisible() and "This chat is full" in window.notice.message.text()
    window.notice.action_triggered.emit("overflow:summarize")  # the notice's "Summarise them"
    qtbot.waitUntil(lambda: window.controller.busy, timeout=5000)
    wait_idle(qtbot, window)
    stored = window.store.messages(conversation_id)
    questions = [m for m in stored if m.role == "user"]
    assert questions[-1].content == "What is six plus six?" and len(questions[-1].versions) == 2
    assert any(context_store.note_kind(m) == "summary" for m in stored)
    assert stored[-1].role == "assistant" and stored[-1].complete


def cut_reasoning_chat(reason: str) -> tuple[int, int]:
    store = Store()
    conversation = store.create_conversation("Cut", settings={"effort": "high"})
    store.add_message(conversation.id, "user", "Prove it.")
    answer = store.add_message(
        conversation.id,
        "assistant",
        "A forced answer.",
        reasoning="Let me think. Let me think.",
        complete=False,
    )
    store.finish_message(
        answer.id, finish_reason="return", usage={"reasoning_cut": reason, "completion_tokens": 9}
    )
    store.close()
    return conversation.id, answer.id


def test_an_answer_after_cut_reasoning_says_why_and_continues_reasoning(
    make_window, qtbot, tiny_model_dir, settings
):
    """The answer says the reasoning went in circles; Continue reasoning reasons on and answers again."""
    conversation_id, answer_id = cut_reasoning_chat("loop")
    window = make_window(tiny_model_dir)
    wait_loaded(qtbot, window)
    window.controller.open_conversation(conversation_id)
    widget = window.chat_view.message_widgets()[-1]
    assert "went round in circles" in widget.status_label.text()
    qtbot.waitUntil(widget.reason_button.isVisible, timeout=5000)
    qtbot.mouseClick(widget.reason_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: window.controller.busy, timeout=5000)
    wait_idle(qtbot, window)
    answer = window.store.message(answer_id)
    assert answer.reasoning.startswith("Let me think. Let me think.") and answer.complete
    assert "A forced answer." not in answer.content
    assert len(window.store.messages(conversation_id)) == 2


def test_settings_list_each_context_with_its_cost_and_keep_the_new_fields(loaded_window, qtbot):
    """Settings: Automatic first, each length with its plan's words; budgets and the full-chat choice save."""
    info = dict(loaded_window.engine.model)
    gib = 2**30
    info["context_auto"], info["context_max"] = True, 32768
    info["context_choices"] = [
        {
            "context_length": 32768,
            "fits": True,
            "offloads": False,
            "device_bytes": 14 * gib,
            "kv_cache_bytes": gib,
            "plan": {
                "device": "cuda",
                "budget_bytes": 15 * gib,
                "device_bytes": 14 * gib,
                "num_layers": 24,
                "num_offloaded_layers": 0,
                "num_slots": 0,
                "embedding_in_ram": False,
            },
        },
        {
            "context_length": 65536,
            "fits": True,
            "offloads": True,
            "device_bytes": 15 * gib,
            "kv_cache_bytes": 2 * gib,
            "plan": {
                "device": "cuda",
                "budget_bytes": 15 * gib,
                "device_bytes": 15 * gib,
                "num_layers": 24,
                "num_offloaded_layers": 3,
                "num_slots": 16,
                "embedding_in_ram": True,
            },
        },
    ]
    dialog = SettingsDialog(loaded_window.settings, loaded_window)
    dialog.long_context.set_model(info)
    box = dialog.context
    items = {box.itemData(i): box.itemText(i) for i in range(box.count())}
    tips = {box.itemData(i): box.itemData(i, Qt.ItemDataRole.ToolTipRole) for i in range(box.count())}
    assert box.itemData(0) == 0 and formatting.count(32768) in items[0]
    assert items[32768] == f"{formatting.count(32768)} tokens · {formatting.memory(14 * gib)}"
    assert items[65536].endswith("· experts in RAM") and items[8192] == f"{formatting.count(8192)} tokens"
    assert "Fits on the GPU" in tips[32768] and "3 of 24 layers in RAM" in tips[65536]
    box.setCurrentIndex(box.findData(65536))
    assert dialog.long_context.context_words.text() in tips[65536]
    assert not dialog.long_context.context_words.isHidden()
    dialog.long_context.budgets["high"].setValue(4096)
    dialog.long_context.overflow.setCurrentIndex(dialog.long_context.overflow.findData("drop"))
    changed = dialog.save()
    assert {keys.REASONING_BUDGETS["high"], keys.OVERFLOW} <= changed
    assert loaded_window.settings.get(keys.OVERFLOW) == "drop"
    assert loaded_window.controller.generation_settings()["overflow"] == "drop"
    dialog.close()


def test_the_app_and_engine_default_budgets_agree(settings):
    """The Settings defaults are the engine's measured-and-justified budgets."""
    assert {e: keys.DEFAULTS[keys.REASONING_BUDGETS[e]] for e in DEFAULT_BUDGETS} == DEFAULT_BUDGETS
    assert keys.DEFAULTS[keys.OVERFLOW] == "ask" and keys.DEFAULTS[keys.CONTEXT_LENGTH] == 0


def test_stop_in_the_app_ends_the_turn_within_a_token(loaded_window, qtbot, settings):
    """Clicking Stop ends the answer before the next token: at most the token being computed at the click
    comes after it. (How long that token takes here depends on the GUI thread: rendering a long answer holds
    the GIL the tiny model's many small steps need; the engine's own test times Stop without a GUI.)"""
    settings.set(keys.MAX_TOKENS, 4000)
    send(qtbot, loaded_window, "Count to a thousand.")
    model = loaded_window.controller.chat_model
    qtbot.waitUntil(lambda: model.rowCount() == 2 and len(model.message(1).content) > 20, timeout=120_000)
    session = loaded_window.engine.worker._session  # the engine's turn, read from its record
    ended: list[float] = []  # when the engine's turn ended: its last token (stamped on the engine's thread)
    loaded_window.engine.worker.turn_finished.connect(
        lambda *_: ended.append(time.perf_counter()), Qt.ConnectionType.DirectConnection
    )
    tokens_before = len(session.last_turn.completion_ids)
    clicked = time.perf_counter()
    qtbot.mouseClick(loaded_window.composer.send_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not loaded_window.controller.busy, timeout=5000)
    after = len(session.last_turn.completion_ids) - tokens_before
    latency = ended[0] - clicked
    answer = loaded_window.store.message(model.message(1).id)
    per_token = answer.usage["decode_s"] / max(1, answer.usage["completion_tokens"] - 1)
    print(
        f"app: Stop to the last token {latency * 1000:.1f} ms, {after} token(s) after the click, "
        f"one token {per_token * 1000:.1f} ms on average"
    )
    assert answer.finish_reason == "cancelled"
    assert after <= 1, f"{after} tokens came after Stop"


def test_a_chats_file_from_before_gets_the_new_columns(app_dirs):
    """A store written before this migration opens with every chat unchosen and its prompt from the start."""
    import sqlite3

    from app.store import MIGRATIONS

    path = app_dirs / "old.sqlite"
    db = sqlite3.connect(path)
    for step in MIGRATIONS[:2]:  # the schema as it was
        db.executescript(step)
    db.execute("INSERT INTO conversations (title, created_at, updated_at) VALUES ('Old', 0, 0)")
    db.execute("PRAGMA user_version = 2")
    db.commit()
    db.close()
    store = Store(path)
    (conversation,) = store.conversations()
    assert conversation.overflow is None and conversation.prompt_start == 0
    context_store.set_overflow(store, conversation.id, "drop")
    assert store.conversation(conversation.id).overflow == "drop"
    store.close()


def test_a_dropped_marker_reads_as_such_in_the_export(app_dirs):
    """The Markdown export says where the model stopped reading; the JSON marks the prompt's start."""
    import json

    store = Store()
    conversation = store.create_conversation("Long")
    store.add_message(conversation.id, "user", "First")
    store.add_message(conversation.id, "user", "Second")
    context_store.add_note(store, conversation.id, 1, "dropped", 1)
    messages = store.messages(conversation.id)
    assert [m.role for m in messages] == ["user", "developer", "user"]
    assert store.conversation(conversation.id).prompt_start == 1
    markdown = export.to_markdown(store.conversation(conversation.id), messages)
    assert "no longer read the messages above" in markdown and "First" in markdown
    document = json.loads(export.to_json(store.conversation(conversation.id), messages))
    assert document["messages"][1]["context_note"] == {"context": "dropped", "covers": 1}
    store.close()
