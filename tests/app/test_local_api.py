"""The Local API switch in Settings: off by default; on, the loaded model answers other programs over HTTP
on the app's engine thread, without touching the chats; off again, the server is gone."""

from __future__ import annotations

import threading

import openai
import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication

from app import settings as keys
from tests.app.conftest import send, wait_idle


def set_api(window, on: bool, port: int = 0):
    dialog = window.open_settings()
    dialog.api_page.enabled.setChecked(on)
    dialog.api_page.port.setValue(port)
    shown = (dialog.api_page.url.text(), dialog.api_page.key.text())
    dialog.accept()
    return shown


def test_the_local_api_is_off_by_default(make_window):
    """A new install serves nothing: the switch is off and the status bar shows no API."""
    window = make_window()
    assert not window.settings.get(keys.API_ENABLED)
    assert not window.local_api.running and not window.local_api.indicator.isVisible()
    dialog = window.open_settings()
    assert not dialog.api_page.enabled.isChecked() and dialog.api_page.key.text() == ""
    dialog.reject()


def test_the_switch_starts_and_stops_a_server_that_shares_the_loaded_model(loaded_window, qtbot):
    """On: the URL and key shown in Settings answer with the loaded model, the status bar counts the requests
    and no chat is saved; off: the server stops and the address refuses connections."""
    window = loaded_window
    _, key = set_api(window, True)
    api = window.local_api
    assert api.running and key.startswith("gsm-")
    dialog = window.open_settings()
    panel = dialog.api_page
    assert panel.url.text() == api.base_url  # the running server's real port
    for field in (panel.url, panel.key):
        qtbot.mouseClick(field.copy_button, Qt.MouseButton.LeftButton)
        assert QGuiApplication.clipboard().text() == field.text()
    dialog.reject()

    client = openai.OpenAI(base_url=api.base_url, api_key=key, max_retries=0, timeout=120)
    model = client.models.list().data[0]
    assert model.id == "gpt-oss-tiny" and model.model_extra["context_length"] == 4096
    answer = client.chat.completions.create(
        model=model.id, messages=[{"role": "user", "content": "Hi"}], max_tokens=5, temperature=0
    )
    assert answer.choices[0].finish_reason == "length" and answer.usage.completion_tokens == 5
    with pytest.raises(openai.AuthenticationError):
        openai.OpenAI(base_url=api.base_url, api_key="wrong", max_retries=0).models.list()
    qtbot.waitUntil(lambda: api.served == 2, timeout=10_000)
    assert api.indicator.isVisible() and "2" in api.indicator.text()
    assert window.store.conversations() == []  # API requests are not chats

    url = api.base_url
    set_api(window, False)
    assert not api.running and not api.indicator.isVisible()
    with pytest.raises(openai.APIConnectionError):
        openai.OpenAI(base_url=url, api_key=key, max_retries=0, timeout=5).models.list()


def test_chats_and_api_requests_queue_for_the_same_engine(loaded_window, qtbot):
    """A chat turn and an API request sent together both finish; the chat keeps only its own messages."""
    window = loaded_window
    _, key = set_api(window, True)
    client = openai.OpenAI(base_url=window.local_api.base_url, api_key=key, max_retries=0, timeout=120)
    answers = []
    thread = threading.Thread(
        target=lambda: answers.append(
            client.chat.completions.create(
                model="gpt-oss-tiny", messages=[{"role": "user", "content": "From the API"}], max_tokens=8
            )
        )
    )
    thread.start()
    send(qtbot, window, "From the chat")
    wait_idle(qtbot, window)
    qtbot.waitUntil(lambda: not thread.is_alive(), timeout=120_000)
    assert answers and answers[0].usage.completion_tokens > 0
    conversations = window.store.conversations()
    assert len(conversations) == 1
    texts = [message.content for message in window.store.messages(conversations[0].id)]
    assert texts[0] == "From the chat" and "From the API" not in texts


def test_without_a_model_the_api_says_so(make_window):
    """With no model loaded the server answers 503 with an OpenAI error object that says to load one."""
    window = make_window()
    _, key = set_api(window, True)
    client = openai.OpenAI(base_url=window.local_api.base_url, api_key=key, max_retries=0, timeout=30)
    assert client.models.list().data == []
    with pytest.raises(openai.InternalServerError) as caught:
        client.chat.completions.create(model="gpt-oss-tiny", messages=[{"role": "user", "content": "Hi"}])
    assert caught.value.status_code == 503 and "Load a model" in caught.value.message


def test_a_port_in_use_is_explained(make_window):
    """A port another program holds: the server does not start and Settings and the status bar say why."""
    import socket

    holder = socket.socket()
    holder.bind(("127.0.0.1", 0))
    holder.listen()
    try:
        window = make_window()
        set_api(window, True, port=holder.getsockname()[1])
        api = window.local_api
        assert not api.running and "port" in api.error
        assert api.indicator.isVisible() and api.indicator.toolTip() == api.error
        dialog = window.open_settings()
        assert dialog.api_page.note.text() == api.error
        dialog.reject()
    finally:
        holder.close()
