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


@dataclass
class Generation:
    """One request, ready for the engine: the conversation, its tools and how to sample and constrain."""

    messages: list[dict]
    tools: list[dict] | None  # chat-shaped, as render_prompt takes them; None: no tools offered
    effort: str = "medium"
    temperature: float = 1.0
    top_p: float = 1.0
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
