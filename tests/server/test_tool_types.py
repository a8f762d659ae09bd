"""Tools that are not functions (web_search, file_search, custom, ...) are refused with a clear 400 by both
APIs, never silently dropped."""

from __future__ import annotations

import openai
import pytest

from engine.server.errors import ApiError
from engine.server.params import function_tools
from tests.server.test_chat_api import TOOLS as CHAT_TOOLS
from tests.server.test_responses_api import TOOLS as FLAT_TOOLS


def _refusal(live, path: str, body: dict) -> dict:
    status, _, answer = live.raw("POST", path, body={"model": live.model_id, **body})
    assert status == 400, answer
    return answer["error"]


@pytest.mark.parametrize(
    "others",
    [
        [{"type": "web_search"}],
        [{"type": "file_search", "vector_store_ids": ["vs_1"]}, {"type": "web_search_preview"}],
        [{"type": "code_interpreter", "container": {"type": "auto"}}, {"type": "local_shell"}],
        [{"type": "custom", "name": "apply_patch"}],
    ],
)
def test_responses_refuses_tools_that_are_not_functions_naming_each(live, others):
    """A Responses request with non-function tools beside a function gets a 400 naming every such type."""
    error = _refusal(live, "/v1/responses", {"input": "Hi", "tools": FLAT_TOOLS + others})
    assert error["type"] == "invalid_request_error"
    assert error["code"] == "unsupported_tool_type"
    assert error["param"] == "tools[1].type"
    for index, tool in enumerate(others, start=1):
        assert f"tools[{index}] ('{tool['type']}')" in error["message"]
    assert "'function'" in error["message"]


@pytest.mark.parametrize(
    "other",
    [
        {"type": "custom", "custom": {"name": "apply_patch"}},
        {"type": "web_search"},
        {"type": "retrieval"},
    ],
)
def test_chat_completions_refuses_tools_that_are_not_functions(live, other):
    """Chat completions with a non-function tool gets the same 400, before anything is queued."""
    error = _refusal(
        live,
        "/v1/chat/completions",
        {"messages": [{"role": "user", "content": "Hi"}], "tools": [other, *CHAT_TOOLS]},
    )
    assert error["code"] == "unsupported_tool_type"
    assert error["param"] == "tools[0].type"
    assert repr(other["type"]) in error["message"] and "'function'" in error["message"]


def test_the_openai_client_sees_the_refusal_as_a_bad_request(live):
    """Through the official client the refusal is a BadRequestError carrying the error object."""
    with pytest.raises(openai.BadRequestError) as caught:
        live.client().responses.create(model=live.model_id, input="Hi", tools=[{"type": "web_search"}])
    assert caught.value.body["code"] == "unsupported_tool_type"


def test_function_tools_alone_still_work_in_both_shapes():
    """Function tools come through chat-shaped from both APIs; an empty list is no tools."""
    flat = function_tools(FLAT_TOOLS, flat=True)
    assert flat == [
        {"type": "function", "function": {k: FLAT_TOOLS[0][k] for k in ("name", "description", "parameters")}}
    ]
    assert function_tools(CHAT_TOOLS, flat=False) == CHAT_TOOLS
    assert function_tools([], flat=True) is None and function_tools(None, flat=False) is None


@pytest.mark.parametrize("tools", ["web_search", {"type": "web_search"}, [["web_search"]]])
def test_tools_of_the_wrong_shape_are_a_400_naming_tools(tools):
    """tools that are not a list of objects are refused, naming the field."""
    with pytest.raises(ApiError) as caught:
        function_tools(tools, flat=True)
    assert caught.value.status == 400 and caught.value.param == "tools"
