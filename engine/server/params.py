"""The request fields that both APIs share, checked and turned into what the engine takes.

Chat completions and responses name some fields differently (``max_tokens`` against
``max_output_tokens``, ``response_format`` against ``text.format``, nested or flat function tools); the
endpoint modules pick them out and hand them here. Every wrong value is a 400 naming the field.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from engine.server.errors import ApiError, invalid
from engine.server.json_schema import ANY, ANY_OBJECT, Node, compile_schema

EFFORT_NAMES = {"low": "low", "medium": "medium", "high": "high", "minimal": "low", "none": "low"}
MAX_STOPS = 4
SUPPORTED_TOOL_TYPES = ("function",)  # the engine runs no tools of its own: the client runs the functions


@dataclass
class Generation:
    """One request, ready for the engine: the conversation, its tools and how to sample and constrain."""

    messages: list[dict]
    tools: list[dict] | None  # chat-shaped, as render_prompt takes them; None: no tools offered
    effort: str = "medium"
    temperature: float = 1.0
    top_p: float = 1.0
    top_k: int = 0  # 0: off (an extension vLLM, SGLang and llama.cpp's server read too)
    max_tokens: int | None = None  # None: as many as the context has room for
    seed: int | None = None
    stop: list[str] = field(default_factory=list)
    final_schema: Node | None = None  # the answer must be JSON of this shape
    forced_tools: list[str] | None = None  # the answer must call one of these
    no_calls: bool = False  # tool_choice "none": the tools stay in the prompt, and no call may be made

    @property
    def tool_names(self) -> set[str]:
        return {tool["function"]["name"] for tool in self.tools or []}

    def settings(self, room: int):
        """GenerationSettings for a prompt that leaves ``room`` tokens of context."""
        from engine.runtime.session import GenerationSettings

        limit = max(1, room if self.max_tokens is None else min(self.max_tokens, room))
        return GenerationSettings(
            effort=self.effort,
            temperature=self.temperature,
            top_p=self.top_p,
            top_k=self.top_k,
            max_tokens=limit,
            seed=self.seed,
        )

    def constraint(self, max_tokens: int):
        """The logits processor for this request, or None when nothing is constrained."""
        if self.final_schema is None and not self.tools:
            return None
        from engine.server.constraint import OutputConstraint

        shapes = {
            tool["function"]["name"]: _arguments_shape(
                tool["function"].get("parameters"), tool["function"]["name"]
            )
            for tool in self.tools or []
        }
        call = {name: shapes[name] for name in self.forced_tools} if self.forced_tools else None
        # Reasoning may use half the turn, so the JSON answer (or the call) still fits after it.
        budget = max(1, max_tokens // 2) if self.final_schema is not None or call else None
        return OutputConstraint(
            final=self.final_schema,
            call=call,
            headers=not self.tools or self.no_calls,
            arguments=shapes if not self.no_calls and not call else None,
            reasoning_budget=budget,
        )


def generation(
    body: dict,
    messages: list[dict],
    tools: list[dict] | None,
    *,
    flat: bool,
    max_tokens: int | None,
    final_schema: Node | None,
    stop: list[str] | None = None,
) -> Generation:
    """The Generation both APIs make of a request, from the fields they name alike (effort, temperature,
    top_p, seed, tool_choice) and those each endpoint picked out (``tools`` chat-shaped, as
    ``function_tools`` gives them; ``flat``: the Responses API's tool_choice shape)."""
    # a malformed chat tool is render_prompt's to refuse (in prepare), with its words
    names = {
        tool["function"]["name"]
        for tool in tools or []
        if isinstance(tool.get("function"), dict) and isinstance(tool["function"].get("name"), str)
    }
    choice = tool_choice(body.get("tool_choice"), names, flat=flat)
    return Generation(
        messages=messages,
        tools=tools,
        effort=effort(body),
        temperature=number(body, "temperature", 1.0, 0.0, 2.0),
        top_p=number(body, "top_p", 1.0, 0.0, 1.0, low_open=True),
        top_k=max(0, integer(body, "top_k", -1) or 0),  # vLLM's -1 and 0 both mean off
        max_tokens=max_tokens,
        seed=integer(body, "seed"),
        stop=stop or [],
        final_schema=final_schema,
        forced_tools=choice if isinstance(choice, list) else None,
        # tool_choice "none": the prompt keeps the tools (as `engine render` has them), calls are masked
        no_calls=choice == "none",
    )


def function_tools(tools: Any, *, flat: bool) -> list[dict] | None:
    """``tools`` as the chat-shaped function tools render_prompt takes (None: no tools offered).

    ``flat``: the Responses API's ``{"type": "function", "name", "description", "parameters"}``; else
    chat's ``{"type": "function", "function": {...}}`` (passed on as it is: render_prompt checks its
    fields). A tool of another type (web_search, file_search, code_interpreter, custom, ...) is a 400
    naming every such tool: the engine runs no tools itself, and a client left to believe it offered a
    web search would wait for results that never come."""
    if tools is None:
        return None
    if not isinstance(tools, list):
        raise invalid("tools must be a list of function tools.", "tools")
    unsupported: list[tuple[int, Any]] = []
    for index, tool in enumerate(tools):
        if not isinstance(tool, dict):
            raise invalid(f"tools[{index}] must be an object.", "tools")
        kind = tool.get("type", "function")  # chat clients that leave the type out mean a function
        if kind not in SUPPORTED_TOOL_TYPES:
            unsupported.append((index, kind))
    if unsupported:
        named = ", ".join(f"tools[{index}] ({kind!r})" for index, kind in unsupported)
        kinds = sorted({repr(kind) for _, kind in unsupported})
        raise invalid(
            f"This server runs no tools of its own, so tools of type {' and '.join(kinds)} are not supported: "
            f"{named}. Only tools of type 'function' are (your client runs them); leave the others out "
            "or turn them off in the client.",
            f"tools[{unsupported[0][0]}].type",
            "unsupported_tool_type",
        )
    if not flat:
        return tools or None
    out = []
    for tool in tools:
        function = {
            key: tool[key] for key in ("name", "description", "parameters") if tool.get(key) is not None
        }
        out.append({"type": "function", "function": function})
    return out or None


def effort(body: dict) -> str:
    """``reasoning_effort`` (chat) or ``reasoning.effort`` (both); "minimal" and "none" read as low."""
    value = body.get("reasoning_effort")
    param = "reasoning_effort"
    reasoning = body.get("reasoning")
    if value is None and reasoning is not None:
        if not isinstance(reasoning, dict):
            raise invalid('reasoning must be an object such as {"effort": "high"}.', "reasoning")
        value, param = reasoning.get("effort"), "reasoning.effort"
    if value is None:
        return "medium"
    if value not in EFFORT_NAMES:
        raise invalid(f"{param} must be low, medium or high, not {value!r}.", param)
    return EFFORT_NAMES[value]


def number(
    body: dict, name: str, default: float, low: float, high: float, *, low_open: bool = False
) -> float:
    value = body.get(name)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise invalid(f"{name} must be a number.", name)
    if value < low or value > high or (low_open and value == low):
        raise invalid(f"{name} must be between {low:g} and {high:g}, not {value:g}.", name)
    return float(value)


def integer(body: dict, name: str, low: int | None = None) -> int | None:
    value = body.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise invalid(f"{name} must be an integer.", name)
    if low is not None and value < low:
        raise invalid(f"{name} must be at least {low}, not {value}.", name)
    return value


def stops(body: dict) -> list[str]:
    value = body.get("stop")
    if value is None:
        return []
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise invalid("stop must be a string or a list of strings.", "stop")
    if len(value) > MAX_STOPS:
        raise invalid(f"stop takes at most {MAX_STOPS} strings.", "stop")
    return [item for item in value if item]


def tool_choice(value: Any, names: set[str], *, flat: bool) -> str | list[str] | None:
    """ "auto" | "none" -> that; "required" or a named function -> the names a call must go to.

    ``flat``: the Responses API's shape ``{"type": "function", "name": ...}``; else chat's
    ``{"type": "function", "function": {"name": ...}}``."""
    if value is None or value == "auto":
        return "auto"
    if value == "none":
        return "none"
    if value == "required":
        if not names:
            raise invalid("tool_choice is required but no tools were given.", "tool_choice")
        return sorted(names)
    if isinstance(value, dict) and value.get("type") == "function":
        name = value.get("name") if flat else (value.get("function") or {}).get("name")
        if name not in names:
            raise invalid(
                f"tool_choice names the function {name!r}, which is not among the tools.", "tool_choice"
            )
        return [name]
    raise invalid('tool_choice must be "auto", "none", "required" or a function to call.', "tool_choice")


def response_format(value: Any, param: str) -> Node | None:
    """``{"type": "text" | "json_object" | "json_schema", ...}`` -> the answer's shape (None: free text).

    Chat nests the schema (``json_schema: {name, schema}``); the Responses API's ``text.format`` has it
    flat (``{type, name, schema}``); both are read."""
    if value is None:
        return None
    if not isinstance(value, dict):
        raise invalid(f'{param} must be an object such as {{"type": "json_object"}}.', param)
    kind = value.get("type")
    if kind == "text":
        return None
    if kind == "json_object":
        return ANY_OBJECT
    if kind == "json_schema":
        holder = value.get("json_schema", value)
        if not isinstance(holder, dict):
            raise invalid(f"{param}.json_schema must be an object with a schema.", param)
        schema = holder.get("schema")
        return ANY if schema is None else compile_schema(schema, f"{param}.json_schema.schema")
    raise invalid(f"{param}.type must be text, json_object or json_schema, not {kind!r}.", param)


def _arguments_shape(parameters: Any, name: str) -> Node:
    if parameters is None or parameters == {}:
        return ANY_OBJECT
    try:
        return compile_schema(parameters, f"tools ({name}).parameters")
    except ApiError:
        return ANY_OBJECT  # a schema we cannot follow still gets a JSON object
