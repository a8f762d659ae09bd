"""Remote models in the app: add a server in Models, chat with its model, stop, and a cut stream kept."""

from __future__ import annotations

import logging
import stat

from PySide6.QtCore import Qt

from app import export
from app import settings as keys
from app.widgets.server_dialog import ServerDialog
from engine.remote.client import RemoteClient
from engine.remote.servers import ServerStore
from tests.app.conftest import send, wait_idle, wait_loaded
from tests.remote.fake_server import ANSWER, REASONING, FakeServer, refused_url

KEY = "sk-test-0123456789abcdef"


def saved_model(server: FakeServer, key: str | None = None) -> str:
    """The server saved as the Models window saves it; -> the key of its first model."""
    models = RemoteClient(server.url, key).list_models()
    return ServerStore().save(server.url, key, models).model_key(models[0].id)


def test_add_a_server_then_chat_with_its_model(make_window, qtbot, app_dirs, caplog):
    """Add a server (test, save), Use its model, chat: answer and thinking streamed; the key nowhere else."""
    caplog.set_level(logging.DEBUG)  # every logger, httpx2's and httpcore2's too
    with FakeServer("vllm", key=KEY) as server:
        window = make_window()
        manager = window.open_model_manager()
        dialog = manager.remote.add_server()
        dialog.url_edit.setText(server.url)
        dialog.key_edit.setText("wrong")
        qtbot.mouseClick(dialog.test_button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: "API key" in dialog.result.text(), timeout=10_000)
        dialog.key_edit.setText(KEY)
        qtbot.mouseClick(dialog.test_button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: "Connected" in dialog.result.text(), timeout=10_000)
        assert "openai/gpt-oss-120b" in dialog.result.text()
        qtbot.mouseClick(dialog.save_button, Qt.MouseButton.LeftButton)
        assert not dialog.isVisible()

        section = manager.remote
        host = server.url.split("//")[1].split("/")[0]
        assert section.model.rowCount() == 1
        assert section.model.item(0, 0).text() == "openai/gpt-oss-120b"
        assert section.model.item(0, 1).text() == host
        qtbot.mouseClick(section.use_button, Qt.MouseButton.LeftButton)
        wait_loaded(qtbot, window)
        assert window.engine.model["remote"] == host

        window.composer.effort.setCurrentIndex(window.composer.effort.findData("high"))
        send(qtbot, window, "Hello")
        wait_idle(qtbot, window)
        answer = window.controller.chat_model.message(1)
        assert answer.content == ANSWER and answer.reasoning == REASONING
        body = server.chat_bodies()[-1]
        assert body["reasoning_effort"] == "high"
        assert body["messages"][-1] == {"role": "user", "content": "Hello"}
        stored = window.store.message(answer.id)
        assert stored.complete and stored.usage["completion_tokens"] > 0

        send(qtbot, window, "Again")
        wait_idle(qtbot, window)
        sent = server.chat_bodies()[-1]["messages"]
        assert [m["role"] for m in sent] == ["user", "assistant", "user"] and "reasoning" not in sent[1]

        conversation = window.controller.conversation
        exported = export.to_markdown(conversation, window.store.messages(conversation.id))
        assert ANSWER in exported
    assert window.settings.get(keys.MODEL_PATH).startswith("remote:")
    key_files = list((app_dirs / "config" / "keys").iterdir())
    assert len(key_files) == 1 and stat.S_IMODE(key_files[0].stat().st_mode) == 0o600
    for path in app_dirs.rglob("*"):
        if path.is_file() and path not in key_files:
            assert KEY.encode() not in path.read_bytes(), path
    assert KEY not in exported
    assert KEY not in caplog.text


def test_stop_ends_a_remote_answer_at_once(make_window, qtbot, settings):
    """Esc while a server streams: the turn ends as stopped, the text so far kept, the stream closed."""
    with FakeServer("ollama", models=("gpt-oss:20b",), chunk_delay_s=0.3) as server:
        window = make_window(saved_model(server))
        wait_loaded(qtbot, window)
        send(qtbot, window, "Hello")
        model = window.controller.chat_model
        qtbot.waitUntil(lambda: model.rowCount() == 2 and len(model.message(1).reasoning) > 0, timeout=10_000)
        qtbot.keyClick(window.composer.edit, Qt.Key.Key_Escape)
        qtbot.waitUntil(lambda: not window.controller.busy, timeout=1_000)
        stored = window.store.message(model.message(1).id)
        assert stored.finish_reason == "cancelled" and stored.reasoning
        assert REASONING.startswith(stored.reasoning) and stored.reasoning != REASONING
        assert server.disconnected.wait(3)


def test_a_cut_stream_keeps_the_partial_answer_and_continues(make_window, qtbot, settings):
    """A stream cut mid-answer: the partial answer stays, marked, with Continue and Regenerate offered."""
    with FakeServer("llamacpp", cut_after=12) as server:
        window = make_window(saved_model(server))
        wait_loaded(qtbot, window)
        send(qtbot, window, "Hello")
        wait_idle(qtbot, window)
        model = window.controller.chat_model
        stored = window.store.message(model.message(1).id)
        assert stored.reasoning == REASONING
        assert stored.content and ANSWER.startswith(stored.content) and stored.content != ANSWER
        assert stored.finish_reason == "error" and "answer so far is kept" in (stored.error or "")
        widget = window.chat_view.message_widgets()[1]
        assert widget.continue_button.isVisible() and widget.regenerate_button.isVisible()
        assert "broke off" in widget.status_label.text() and "kept" in widget.status_label.text()

        server.cut_after = None
        qtbot.mouseClick(widget.continue_button, Qt.MouseButton.LeftButton)
        wait_idle(qtbot, window)
        body = server.chat_bodies()[-1]
        assert body["messages"][-1]["content"] == stored.content and body["continue_final_message"] is True
        again = window.store.message(stored.id)
        assert again.complete and again.content == stored.content + ANSWER


def test_a_server_that_is_down_fails_to_load_in_words(make_window, qtbot):
    """Choosing a model on a server that has gone: the load fails with words about reaching the server."""
    with FakeServer() as server:
        key = saved_model(server)
    window = make_window(key)
    qtbot.waitUntil(lambda: window.notice.isVisible() and window.notice.kind == "error", timeout=20_000)
    assert "could not be reached" in window.notice.text()
    assert window.engine.model is None


def test_test_connection_says_why_not(qtbot, settings):
    """Test connection against an address where nothing listens says the server could not be reached."""
    dialog = ServerDialog()
    qtbot.addWidget(dialog)
    dialog.url_edit.setText(refused_url())
    qtbot.mouseClick(dialog.test_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "could not be reached" in dialog.result.text(), timeout=10_000)
    assert "refused" in dialog.result.text()
    qtbot.mouseClick(dialog.save_button, Qt.MouseButton.LeftButton)  # Save tests again, and saves nothing
    qtbot.waitUntil(lambda: dialog.test_button.isEnabled(), timeout=10_000)
    assert ServerStore().servers() == []


def test_top_k_goes_to_the_server_only_when_on(make_window, qtbot, settings):
    """A remote turn sends the Settings' top-k (servers such as vLLM read it); off (0) sends no field."""
    with FakeServer("vllm") as server:
        window = make_window(saved_model(server))
        wait_loaded(qtbot, window)
        send(qtbot, window, "Hello")
        wait_idle(qtbot, window)
        assert "top_k" not in server.chat_bodies()[-1]
        settings.set(keys.TOP_K, 40)
        send(qtbot, window, "Again")
        wait_idle(qtbot, window)
        assert server.chat_bodies()[-1]["top_k"] == 40


def test_the_status_bar_says_which_server_gets_the_conversation(make_window, qtbot, settings):
    """A remote model's "where it runs": the server's name on the bar, its address and that the conversation
    is sent there in the tooltip; a new chat says so too, and a local model's words come back after."""
    with FakeServer("vllm") as server:
        key = saved_model(server)
        host = server.url.split("//")[1].split("/")[0]
        window = make_window(key)
        wait_loaded(qtbot, window)
        status = window.status
        qtbot.waitUntil(lambda: "sent there" in status.device_label.text(), timeout=5_000)  # laid out
        assert host in status.device_label.text()
        assert server.url in status.device_text() and "openai/gpt-oss-120b" in status.device_text()
        assert "131,072" in status.device_text()
        assert "sent there" in window.chat_view.empty_label.text()
        window.engine.unload()
        qtbot.waitUntil(lambda: window.engine.model is None, timeout=5_000)
        assert status.device_label.text() == "" and "this computer" in window.chat_view.empty_label.text()


def test_edit_a_saved_server_name_address_and_key(make_window, qtbot, settings):
    """Edit server…: the dialog holds the saved values; a new name alone saves at once, a new address and key
    are tested first (a wrong key refused in words), and the model in use connects again with them."""
    with FakeServer("vllm", key=KEY) as old, FakeServer("vllm", key="sk-new-key") as new:
        key = saved_model(old, KEY)
        window = make_window(key)
        wait_loaded(qtbot, window)
        section = window.open_model_manager().remote
        section.table.selectRow(0)
        dialog = section.edit_server()
        assert (dialog.url_edit.text(), dialog.key_edit.text(), dialog.name_edit.text()) == (old.url, KEY, "")
        assert dialog.windowTitle() == "Edit server"
        dialog.name_edit.setText("Lab GPU")
        dialog.key_edit.setText("wrong")  # a wrong key tried first, then the saved one again
        qtbot.mouseClick(dialog.save_button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: "API key" in dialog.result.text(), timeout=10_000)
        dialog.key_edit.setText(KEY + "  ")
        qtbot.mouseClick(dialog.save_button, Qt.MouseButton.LeftButton)
        assert not dialog.isVisible() and section.model.item(0, 1).text() == "Lab GPU"
        assert section.model.item(0, 0).text().startswith("openai/gpt-oss-120b")  # its models kept
        wait_loaded(qtbot, window)
        qtbot.waitUntil(lambda: "Lab GPU" in window.status.device_label.text(), timeout=10_000)

        dialog = section.edit_server()
        assert dialog.name_edit.text() == "Lab GPU"
        dialog.url_edit.setText(new.url)
        qtbot.mouseClick(dialog.save_button, Qt.MouseButton.LeftButton)  # the old key: refused by the new one
        qtbot.waitUntil(lambda: "API key" in dialog.result.text(), timeout=10_000)
        assert dialog.isVisible() and ServerStore().servers()[0].url == old.url
        dialog.key_edit.setText("sk-new-key \n")
        qtbot.mouseClick(dialog.save_button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: not dialog.isVisible(), timeout=10_000)
        saved = ServerStore().servers()
        assert len(saved) == 1 and (saved[0].url, saved[0].name) == (new.url, "Lab GPU")
        assert ServerStore().api_key(saved[0]) == "sk-new-key"
        qtbot.waitUntil(lambda: new.requests and window.engine.model is not None, timeout=10_000)
        wait_loaded(qtbot, window)
        assert window.engine.model["path"] == key  # the same model key: the chat goes on with it
        send(qtbot, window, "Hello")
        wait_idle(qtbot, window)
        assert new.chat_bodies() and not old.chat_bodies()


def test_an_edit_to_another_servers_address_is_refused(qtbot, settings):
    """Two saved servers: editing one to the other's address says which server has it, and saves nothing."""
    with FakeServer() as first, FakeServer() as second:
        saved_model(first)
        saved_model(second)
        servers = ServerStore().servers()
        dialog = ServerDialog(server=servers[0])
        qtbot.addWidget(dialog)
        dialog.url_edit.setText(second.url)
        qtbot.mouseClick(dialog.save_button, Qt.MouseButton.LeftButton)
        assert "saved already" in dialog.result.text() and servers[1].name in dialog.result.text()
        assert [s.url for s in ServerStore().servers()] == [first.url, second.url]


def test_moving_the_server_in_use_to_one_without_its_model_says_so(make_window, qtbot, settings):
    """The server in use edited to an address that lacks its model: the model connects again and fails in
    words, rather than the chat going on at the old address."""
    with FakeServer("vllm") as old, FakeServer("ollama", models=("gpt-oss:20b",)) as new:
        window = make_window(saved_model(old))
        wait_loaded(qtbot, window)
        section = window.open_model_manager().remote
        section.table.selectRow(0)
        dialog = section.edit_server()
        dialog.url_edit.setText(new.url)
        qtbot.mouseClick(dialog.save_button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: not dialog.isVisible(), timeout=10_000)
        qtbot.waitUntil(lambda: window.notice.isVisible() and window.notice.kind == "error", timeout=10_000)
        assert window.engine.model is None and "no longer has this model" in window.notice.text()


def test_removing_the_server_in_use_lets_its_model_go(make_window, qtbot, settings):
    """Remove server on the server in use: the model is let go (no more turns go there), and the next start
    does not try to connect to the server that was removed."""
    with FakeServer("vllm") as server:
        window = make_window(saved_model(server))
        wait_loaded(qtbot, window)
        section = window.open_model_manager().remote
        section.table.selectRow(0)
        qtbot.mouseClick(section.remove_button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: window.engine.model is None, timeout=5_000)
        assert ServerStore().servers() == [] and window.status.device_label.text() == ""
        assert window.settings.get(keys.MODEL_PATH).startswith("remote:")
        again = make_window()
        assert again._model_to_start_with() is None  # nothing to load: no server, no local model
