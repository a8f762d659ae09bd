"""The chat window on the real engine (tiny random checkpoint): stream, persist, stop, regenerate, effort."""

from __future__ import annotations

import time

import pytest
from PySide6.QtCore import Qt, QTimer

from app import formatting, model_facts
from app import settings as keys
from app.chat_model import ContentRole
from app.store import Store
from engine.io.checkpoint import read_config
from engine.notices import Notice
from engine.text.tokenizer import load_tokenizer
from tests.app.conftest import CPU_FACTS, GPU_FACTS, send, stop_mid_answer, wait_idle, wait_loaded


def test_send_streams_and_persists(loaded_window, qtbot, settings):
    """An answer arrives in several batches while the user's message is already on disk; then all is saved."""
    window = loaded_window
    settings.set(keys.MAX_TOKENS, 72)  # random weights spend up to 32 tokens on a "header" before text shows
    lengths: list[int] = []
    model = window.controller.chat_model

    def on_changed(top, _bottom, roles):
        if ContentRole in roles:
            lengths.append(len(model.message(top.row()).content))

    model.dataChanged.connect(on_changed)
    send(qtbot, window, "Tell me about spiders.")
    assert window.controller.busy
    assert window.composer.text() == ""
    assert window.composer.send_button.text() == "Stop"
    conversation = window.controller.conversation
    on_disk = Store(window.store.path)
    committed = on_disk.messages(conversation.id)
    assert [(m.role, m.content) for m in committed] == [("user", "Tell me about spiders."), ("assistant", "")]
    assert committed[1].complete is False  # the answer is marked incomplete until the turn ends

    wait_idle(qtbot, window)
    assert len(lengths) >= 2 and lengths == sorted(lengths)  # it grew batch by batch
    answer = model.message(1)
    saved = on_disk.message(answer.id)
    assert saved.complete and saved.finish_reason in ("return", "length")
    assert saved.content == answer.content and saved.content
    assert saved.usage["completion_tokens"] <= 72 and saved.usage["context_max"] == 4096
    widget = window.chat_view.message_widgets()[1]
    assert widget.answer.text() == saved.content
    assert window.composer.send_button.text() == "Send"
    assert "tok/s" in window.status.speed_label.text()
    assert conversation.title == "Tell me about spiders."  # auto-titled from the first message
    assert window.sidebar.model.conversation(0).title == "Tell me about spiders."
    on_disk.close()


def test_escape_stops_mid_answer(loaded_window, qtbot, settings):
    """Esc during an answer stops it: the partial text is kept and marked stopped; Regenerate is offered."""
    window = loaded_window
    answer = stop_mid_answer(qtbot, window, settings)
    assert answer.finish_reason == "cancelled" and answer.complete
    assert 0 < answer.usage["completion_tokens"] < 4000
    assert answer.content == window.controller.chat_model.message(1).content
    widget = window.chat_view.message_widgets()[1]
    assert widget.status_label.isVisible() and widget.status_label.text() == "Stopped."
    assert widget.regenerate_button.isVisible()


def test_regenerate_adds_a_version_of_the_answer(loaded_window, qtbot):
    """Regenerate writes a new answer after the same user message, shown; the old one stays as a version."""
    window = loaded_window
    send(qtbot, window, "Name a colour.")
    wait_idle(qtbot, window)
    first = window.controller.chat_model.message(1)
    widget = window.chat_view.message_widgets()[1]
    assert widget.regenerate_button.isVisible()
    qtbot.mouseClick(widget.regenerate_button, Qt.MouseButton.LeftButton)
    assert window.controller.busy
    wait_idle(qtbot, window)
    messages = window.store.messages(window.controller.conversation.id)
    assert [m.role for m in messages] == ["user", "assistant"]
    assert messages[1].id != first.id and messages[1].complete
    assert messages[1].versions == (first.id, messages[1].id)
    assert window.store.message(first.id).content == first.content


def test_edit_and_resend(loaded_window, qtbot):
    """Editing a sent message shows the new text, answered, in place of the old message and its answer."""
    window = loaded_window
    send(qtbot, window, "What is 2+2?")
    wait_idle(qtbot, window)
    user_widget = window.chat_view.message_widgets()[0]
    qtbot.mouseClick(user_widget.edit_button, Qt.MouseButton.LeftButton)
    assert user_widget.editing
    user_widget.editor.setPlainText("What is 3+3?")
    qtbot.mouseClick(user_widget.send_edit_button, Qt.MouseButton.LeftButton)
    assert not user_widget.editing
    wait_idle(qtbot, window)
    messages = window.store.messages(window.controller.conversation.id)
    assert [(m.role, m.content) for m in messages][0] == ("user", "What is 3+3?")
    assert len(messages) == 2 and messages[1].complete
    assert window.chat_view.message_widgets()[0].text.toPlainText() == "What is 3+3?"


def test_effort_reaches_the_system_message(loaded_window, qtbot, settings):
    """The effort chosen in the composer is saved with the chat and rendered as "Reasoning: high"."""
    window = loaded_window
    settings.set(keys.MAX_TOKENS, 1)
    box = window.composer.effort
    box.setCurrentIndex(box.findData("high"))
    with qtbot.waitSignal(window.controller.prompt_rendered, timeout=60_000) as rendered:
        send(qtbot, window, "Think hard: why is the sky blue?")
    wait_idle(qtbot, window)
    prompt = load_tokenizer().decode(rendered.args[0])
    system = prompt.split("<|end|>")[0]
    assert system.startswith("<|start|>system<|message|>") and "Reasoning: high" in system
    conversation_id = window.controller.conversation.id
    assert window.store.conversation(conversation_id).settings["effort"] == "high"

    box.setCurrentIndex(box.findData("low"))  # changing it later is saved too, and used next turn
    assert window.store.conversation(conversation_id).settings["effort"] == "low"
    with qtbot.waitSignal(window.controller.prompt_rendered, timeout=60_000) as rendered:
        send(qtbot, window, "And now quickly?")
    wait_idle(qtbot, window)
    assert "Reasoning: low" in load_tokenizer().decode(rendered.args[0]).split("<|end|>")[0]

    window.controller.new_conversation()
    assert window.composer.current_effort() == "medium"  # the default for new chats
    window.controller.open_conversation(conversation_id)
    assert window.composer.current_effort() == "low"


def test_system_instructions_go_in_the_prompt(loaded_window, qtbot, settings):
    """System instructions from Settings become the developer message's instructions."""
    window = loaded_window
    settings.set(keys.MAX_TOKENS, 1)
    settings.set(keys.SYSTEM_INSTRUCTIONS, "Answer like a pirate.")
    with qtbot.waitSignal(window.controller.prompt_rendered, timeout=60_000) as rendered:
        send(qtbot, window, "Hello")
    wait_idle(qtbot, window)
    prompt = load_tokenizer().decode(rendered.args[0])
    assert "<|start|>developer<|message|># Instructions\n\nAnswer like a pirate." in prompt


def test_history_survives_a_restart(make_window, qtbot, tiny_model_dir):
    """A new window on the same data folder shows the conversation, its messages and its effort."""
    window = make_window(tiny_model_dir)
    wait_loaded(qtbot, window)
    window.composer.effort.setCurrentIndex(window.composer.effort.findData("high"))
    send(qtbot, window, "Remember this: 안녕하세요")
    wait_idle(qtbot, window)
    answer = window.controller.chat_model.message(1).content
    window.close()

    again = make_window(tiny_model_dir)
    assert again.controller.conversation is not None  # the last conversation reopens before any model load
    assert again.title_label.text() == "Remember this: 안녕하세요"
    widgets = again.chat_view.message_widgets()
    assert widgets[0].text.toPlainText() == "Remember this: 안녕하세요"
    assert widgets[1].answer.text() == answer
    assert again.composer.current_effort() == "high"
    assert again.sidebar.model.rowCount() == 1
    wait_loaded(qtbot, again)


def test_gui_keeps_painting_while_streaming(loaded_window, qtbot, settings):
    """A long answer streams without freezing the window: the event loop never stalls for long."""
    window = loaded_window
    settings.set(keys.MAX_TOKENS, 160)
    ticks: list[float] = []
    timer = QTimer(interval=10)
    timer.timeout.connect(lambda: ticks.append(time.monotonic()))
    timer.start()
    send(qtbot, window, "Write a long story.")
    wait_idle(qtbot, window)
    timer.stop()
    gaps = [b - a for a, b in zip(ticks, ticks[1:], strict=False)]
    assert max(gaps) < 0.5, f"the GUI thread stalled for {max(gaps):.2f} s"
    answer = window.chat_view.message_widgets()[1].answer
    # Each batch re-rendered one block at most, never the whole answer from scratch.
    assert answer.renders <= len(window.controller.chat_model.message(1).content) // 2 + 5


def test_status_bar_shows_device_and_speed(loaded_window, qtbot):
    """After loading, the status bar says in a few words where the model runs, every fact in its tooltip (the
    app's words for model.facts()); after a turn, speed and context use."""
    window = loaded_window
    window.controller.settings.set(keys.TEMPERATURE, 0.0)  # greedy: a fixed answer of several tokens (at 1.0
    # the random model sometimes stops after its first token, which leaves no decode speed to show)
    facts = window.engine.model["facts"]
    assert facts["device_type"] == "cpu" and facts["plan"] is None
    assert window.engine.model["description"].startswith("CPU (cpu)")  # the engine's English, for the log
    weights = formatting.memory(facts["weight_bytes"])
    assert window.status.device_label.text() == f"CPU · {weights} of weights"
    assert (
        window.status.device_label.toolTip()
        == window.status.device_text()
        == (
            f"Runs on: CPU\nWeights: {weights} (MXFP4 experts: {formatting.memory(facts['expert_bytes'])})\n"
            f"2 layers, 4 experts (top 2), context {formatting.count(4096)} tokens\n"
            "Dequantized-expert cache: 512 MB"  # (the CPU's fastest kernels run: no line about them)
        )
    )
    assert (
        window.status.context_label.text().endswith("4096") or "4,096" in window.status.context_label.text()
    )
    send(qtbot, window, "Hi")
    assert window.status.state_label.text().startswith("Answering")
    send(qtbot, window, "And another")  # while busy: refused with a word, the text kept
    assert "still being written" in window.notice.text() and window.composer.text() == "And another"
    wait_idle(qtbot, window)
    assert window.status.state_label.text() == "Ready"
    assert "tok/s" in window.status.speed_label.text()


@pytest.mark.parametrize(
    ("notice", "shown"),
    [
        (
            Notice(
                "The GPU ran out of memory, so Gossamer now uses at most 12.0 GiB of it: GPU 11.7 GiB · "
                "experts of 4 of 24 layers in RAM (18 cache slots). Generation may be slower.",
                "replanned",
                12 * 2**30,
            ),
            "The GPU ran out of memory, so Gossamer now uses at most 12.0 GB of it. Answers may be slower.",
        ),
        (
            Notice("(the engine's sentence)", "replanned", 12 * 2**30, 16384),
            (
                "The GPU ran out of memory, so Gossamer now uses at most 12.0 GB of it and the context is "
                f"shortened to {formatting.count(16384)} tokens. Answers may be slower."
            ),
        ),
        (Notice("A kind of notice the app has no words for."), "A kind of notice the app has no words for."),
    ],
    ids=["re-planned", "re-planned with a shorter context", "another kind"],
)
def test_an_engine_notice_shows_and_updates_the_status_bar(loaded_window, qtbot, notice, shown):
    """When the engine changes how it runs (an out-of-memory re-plan), the window says so in a notice worded
    from its facts, and the status bar shows the new placement; the notice comes from the worker thread as a
    signal. A kind of notice the app does not know is shown in the engine's words."""
    window = loaded_window
    window.engine.worker.engine_notice.emit(notice, GPU_FACTS)
    qtbot.waitUntil(lambda: window.notice.text() == shown, timeout=5000)
    assert window.notice.kind == "warning" and not window.notice.engine_text.isVisible()
    assert window.status.device_label.text() == "GPU · 11.7 GB · 4 of 24 layers in RAM"
    assert window.status.device_text() == (
        "Runs on: GPU (cuda:0)\n"
        "Weights on the GPU: 10.4 GB (MXFP4 experts: 7.9 GB)\n"
        "Weights in RAM: 2.7 GB\n"
        f"24 layers, 32 experts (top 4), context {formatting.count(16384)} tokens\n"
        "GPU memory: 11.7 GB of a 12.0 GB budget\n"
        "Experts of 4 of 24 layers in RAM, 18 cache slots for them on the GPU"
    )


@pytest.mark.parametrize(
    ("failed_set", "kernels", "fallback", "shown", "marker", "line"),
    [
        (
            "vector",
            "portable",
            "the AVX2 vector kernels failed (RuntimeError: LLVM ERROR)",
            (
                "The CPU's fast vector kernels failed on this processor, so Gossamer now uses its portable "
                "kernels. Answers may be slower; the log says why."
            ),
            " · slower portable kernels",
            "CPU kernels: portable code (slower): the AVX2 vector kernels failed (RuntimeError: LLVM ERROR)",
        ),
        (
            "numba",
            "torch",
            "the numba kernels failed (RuntimeError: no cache)",
            (
                "The CPU's fast kernels (numba) failed on this processor, so Gossamer now uses the slower "
                "PyTorch path. Answers may be slower; the log says why."
            ),
            " · slower PyTorch path",
            "CPU kernels: PyTorch path (slower): the numba kernels failed (RuntimeError: no cache)",
        ),
    ],
    ids=["vector kernels failed", "numba kernels failed"],
)
def test_a_cpu_kernel_failure_is_told_and_shown_in_the_status_bar(
    loaded_window, qtbot, failed_set, kernels, fallback, shown, marker, line
):
    """A set of the CPU's kernels failing mid-answer is a notice worded by the app (the reason stays in the
    log), and the status bar marks the slower path, its tooltip naming the kernels with the engine's reason."""
    window = loaded_window
    notice = Notice("(the engine's sentence, with the reason)", "cpu_kernels_fallback", reason=failed_set)
    facts = CPU_FACTS | {"cpu_kernels": kernels, "cpu_fallback": fallback}
    window.engine.worker.engine_notice.emit(notice, facts)
    qtbot.waitUntil(lambda: window.notice.text() == shown, timeout=5000)
    assert window.notice.kind == "warning" and "RuntimeError" not in window.notice.text()
    assert window.status.device_label.text() == "CPU · 12.8 GB of weights" + marker
    assert window.status.device_text().splitlines()[-1] == line


@pytest.mark.parametrize(
    ("kernels", "fallback", "marker", "line"),
    [
        ("avx2", None, "", None),
        ("portable", None, "", None),
        (
            "portable",
            "the AVX2 vector kernels failed (RuntimeError: boom)",
            " · slower portable kernels",
            "CPU kernels: portable code (slower): the AVX2 vector kernels failed (RuntimeError: boom)",
        ),
        (
            "torch",
            "the CPU kernels need numba, which is not installed",
            " · slower PyTorch path",
            "CPU kernels: PyTorch path (slower): the CPU kernels need numba, which is not installed",
        ),
        ("torch", None, " · slower PyTorch path", "CPU kernels: PyTorch path (slower)"),
    ],
    ids=[
        "AVX2",
        "portable on a CPU without AVX2",
        "portable after a failure",
        "torch without numba",
        "torch",
    ],
)
def test_the_cpu_kernels_in_words(qapp, kernels, fallback, marker, line):
    """Where a slower set of the CPU's expert kernels runs than the CPU could (a failure, or no numba) the bar
    marks it and the tooltip says which and why, in plain words; the fastest set this CPU has (AVX2, or the
    portable code on a CPU with nothing faster) is no news and gets no line."""
    facts = CPU_FACTS | {"cpu_kernels": kernels, "cpu_fallback": fallback}
    assert model_facts.short(facts) == "CPU · 12.8 GB of weights" + marker
    lines = model_facts.full(facts).splitlines()
    assert lines[0] == "Runs on: CPU"
    if line is None:
        assert lines[-1] == "Dequantized-expert cache: 512 MB"
    else:
        assert lines[-1] == line
    assert model_facts.short(GPU_FACTS) == "GPU · 11.7 GB · 4 of 24 layers in RAM"  # no CPU kernels named
    assert not any(text.startswith("CPU kernels") for text in model_facts.full(GPU_FACTS).splitlines())


def test_an_out_of_memory_while_loading_is_told_once_loaded(make_window, qtbot, tiny_model_dir, monkeypatch):
    """An out-of-memory while loading (a test double: the first placement fails) re-plans for a smaller
    budget; once the model is loaded the window says so in its own words, and the status bar shows the
    placement the engine chose (a GPU simulated on the CPU here)."""
    import torch

    import engine.runtime.loader as loader

    real, calls = loader.load_planned, []

    def flaky(*args, **kwargs):
        calls.append(1)
        if len(calls) == 1:
            raise torch.OutOfMemoryError("CUDA out of memory (test double)")
        return real(*args, **kwargs)

    monkeypatch.setattr(loader, "load_planned", flaky)
    monkeypatch.setattr(torch.cuda, "empty_cache", lambda: None)
    window = make_window(tiny_model_dir)
    wait_loaded(qtbot, window)
    qtbot.waitUntil(window.notice.isVisible, timeout=5000)
    budget = window.engine.model["facts"]["plan"]["budget_bytes"]
    assert len(calls) == 2 and window.notice.kind == "warning"
    assert window.notice.text() == (
        f"The GPU ran out of memory, so Gossamer now uses at most {formatting.memory(budget)} of it. "
        "Answers may be slower."
    )
    assert window.status.device_label.text().startswith("GPU (simulated) · ")
    assert f"of a {formatting.memory(budget)} budget" in window.status.device_text()


@pytest.mark.parametrize(
    ("plan", "short", "last_line"),
    [
        (
            {"num_offloaded_layers": 0, "num_slots": 0},
            "GPU · 11.7 GB",
            "All experts on the GPU, the embedding in RAM",
        ),
        (
            {"num_offloaded_layers": 0, "num_slots": 0, "embedding_in_ram": False},
            "GPU · 11.7 GB",
            "Everything on the GPU",
        ),
        (
            {},
            "GPU · 11.7 GB · 4 of 24 layers in RAM",
            "Experts of 4 of 24 layers in RAM, 18 cache slots for them on the GPU",
        ),
    ],
    ids=["the embedding in RAM", "everything on the GPU", "experts in RAM"],
)
def test_where_the_model_runs_in_words(qapp, plan, short, last_line):
    """Each placement has its own words: on the bar only what matters for speed, the rest in the tooltip."""
    facts = GPU_FACTS | {"plan": GPU_FACTS["plan"] | plan, "int8": True, "dense_cache_bytes": 2**30}
    assert model_facts.short(facts) == short
    lines = model_facts.full(facts).splitlines()
    assert lines[-1] == last_line and "Dequantized-expert cache: 1.0 GB" in lines
    assert "8-bit attention and unembedding" in lines


def test_the_engine_facts_of_a_placed_model_are_worded(tiny_model_dir, qapp):
    """The facts of a model the engine placed for a budget (simulated on the CPU) have every key the app's
    words need."""
    from engine.placement.plan import PlanOptions, make_plan
    from engine.runtime.loader import load_model

    cfg = read_config(tiny_model_dir)
    budget = make_plan(cfg, None, 512, options=PlanOptions(device="cpu")).min_budget_bytes
    facts = load_model(tiny_model_dir, "cpu", vram_budget=budget, context_length=512).facts()
    assert model_facts.short(facts).startswith("GPU (simulated) · ")
    assert f"of a {formatting.memory(budget)} budget" in model_facts.full(facts)


@pytest.mark.parametrize(
    ("num_bytes", "text"),
    [(512, "512 B"), (512 * 2**20, "512 MB"), (int(11.74 * 2**30), "11.7 GB"), (160 * 2**30, "160 GB")],
)
def test_memory_sizes_read_as_gpu_memory_is_labelled(qapp, num_bytes, text):
    """GPU memory and RAM in binary units labelled GB, as cards and the VRAM budget setting are."""
    assert formatting.memory(num_bytes) == text


def test_an_opened_chat_shows_the_context_it_used(loaded_window):
    """Opening a past chat shows the tokens its next prompt holds (counted, not its last usage); a new chat
    shows none."""
    window = loaded_window
    conversation = window.store.create_conversation("Earlier")
    window.store.add_message(conversation.id, "user", "Hello")
    answer = window.store.add_message(conversation.id, "assistant", complete=False)
    window.store.finish_message(
        answer.id, finish_reason="return", content="Hi!", usage={"context_used": 1234, "context_max": 8192}
    )
    assert window.controller.open_conversation(conversation.id)
    from engine.text.harmony import render_prompt

    prompt = render_prompt(window.controller.engine_messages(), effort=window.controller.effort)
    used, held = formatting.count(len(prompt)), formatting.count(4096)  # out of what the loaded model holds
    assert window.status.context_label.text() == f"Context {used} / {held}"
    window.new_chat()
    assert window.status.context_label.text() == f"Context 0 / {held}"
