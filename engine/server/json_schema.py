"""JSON Schema, the common subset, compiled into the shapes the JSON grammar (json_grammar.py) enforces.

Enforced: ``type`` (one or a list), ``properties``, ``required``, ``additionalProperties`` (false, true or a
schema), ``items``, ``enum``, ``const``, ``anyOf``/``oneOf``, nested objects and arrays, and local ``$ref``s
into ``$defs``/``definitions``. An object with ``properties`` takes only those keys unless
``additionalProperties`` allows more (as OpenAI's strict structured outputs do). Everything else (string
formats and patterns, lengths, minimum and maximum, ``allOf``, ``not``, ...) is accepted and not enforced;
docs/local-api.md lists it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from engine.server.errors import invalid

MAX_REF_DEPTH = 8  # a recursive $ref deeper than this takes any value
SCALAR_TYPES = ("string", "number", "integer", "boolean", "null")


@dataclass(frozen=True, eq=False)
class Node:
    """One value's shape. eq=False: grammar states hold nodes and compare them by identity (fast)."""

    kind: str  # "any" | "object" | "array" | "literals" | "union" | one of SCALAR_TYPES
    properties: dict[str, Node] = field(default_factory=dict)
    required: frozenset[str] = frozenset()
    additional: Node | None = None  # the shape of keys beyond ``properties``; None: no other keys
    items: Node | None = None
    literals: tuple[bytes, ...] = ()  # enum/const values, each as compact JSON in UTF-8
    options: tuple[Node, ...] = ()


ANY = Node("any")
ANY_OBJECT = Node("object", additional=ANY)


def compile_schema(schema: Any, param: str = "response_format.json_schema.schema") -> Node:
    """The Node for a JSON Schema; raises ApiError (400) when it is not a schema at all."""
    if not isinstance(schema, dict | bool):
        raise invalid("The JSON schema must be an object.", param)
    return _Compiler(schema if isinstance(schema, dict) else {}, param).node(schema, 0)


class _Compiler:
    def __init__(self, root: dict, param: str) -> None:
        self.root = root
        self.param = param

    def node(self, schema: Any, depth: int) -> Node:
        if schema is True or schema is None or schema == {}:
            return ANY
        if schema is False:
            raise invalid(
                "A JSON schema of false allows no value; the model could write nothing.", self.param
            )
        if not isinstance(schema, dict):
            raise invalid(f"Every part of the JSON schema must be an object, not {schema!r}.", self.param)
        if "$ref" in schema:
            return self.ref(schema["$ref"], depth)
        if "const" in schema:
            return Node("literals", literals=(_literal(schema["const"]),))
        if "enum" in schema:
            values = schema["enum"]
            if not isinstance(values, list) or not values:
                raise invalid("A JSON schema's enum must be a non-empty list.", self.param)
            return Node("literals", literals=tuple(dict.fromkeys(_literal(value) for value in values)))
        for key in ("anyOf", "oneOf"):
            if key in schema:
                options = schema[key]
                if not isinstance(options, list) or not options:
                    raise invalid(f"A JSON schema's {key} must be a non-empty list.", self.param)
                return _union([self.node(option, depth) for option in options])
        kind = schema.get("type")
        if isinstance(kind, list):
            return _union([self.typed(schema, one, depth) for one in kind])
        if kind is None:
            if "properties" in schema or "additionalProperties" in schema:
                kind = "object"
            elif "items" in schema:
                kind = "array"
            else:
                return ANY
        return self.typed(schema, kind, depth)

    def typed(self, schema: dict, kind: Any, depth: int) -> Node:
        if kind in SCALAR_TYPES:
            return Node(kind)
        if kind == "array":
            return Node("array", items=self.node(schema.get("items"), depth))
        if kind != "object":
            raise invalid(f"Unknown JSON schema type {kind!r}.", self.param)
        properties = schema.get("properties") or {}
        if not isinstance(properties, dict):
            raise invalid("A JSON schema's properties must be an object.", self.param)
        required = schema.get("required") or []
        if not isinstance(required, list) or not all(isinstance(name, str) for name in required):
            raise invalid("A JSON schema's required must be a list of property names.", self.param)
        extra = schema.get("additionalProperties", None if properties else True)
        if extra is None or extra is False:
            additional = None
        else:
            additional = self.node(extra, depth)
        compiled = {name: self.node(sub, depth) for name, sub in properties.items()}
        if additional is None:
            missing = [name for name in required if name not in compiled]
            if missing:
                raise invalid(f"The JSON schema requires {missing[0]!r} but does not allow it.", self.param)
        return Node("object", properties=compiled, required=frozenset(required), additional=additional)

    def ref(self, ref: Any, depth: int) -> Node:
        if depth >= MAX_REF_DEPTH:
            return ANY
        if not isinstance(ref, str) or not ref.startswith("#/"):
            raise invalid(f"Only local $refs (#/$defs/...) are supported, not {ref!r}.", self.param)
        target: Any = self.root
        for part in ref[2:].split("/"):
            part = part.replace("~1", "/").replace("~0", "~")
            if not isinstance(target, dict) or part not in target:
                raise invalid(f"The JSON schema's $ref {ref!r} points nowhere.", self.param)
            target = target[part]
        return self.node(target, depth + 1)


def _union(options: list[Node]) -> Node:
    if any(option.kind == "any" for option in options):
        return ANY
    return options[0] if len(options) == 1 else Node("union", options=tuple(options))


def _literal(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
