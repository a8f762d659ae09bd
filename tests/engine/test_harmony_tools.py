"""Function tools are declared exactly as openai-harmony declares them (TypeScript-like types)."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.text.harmony.tools import json_text, rust_lines
from tests.engine.test_harmony_render import assert_same, function

USER = [{"role": "user", "content": "go"}]


def obj(properties, required=(), **extra):
    return {"type": "object", "properties": properties, "required": list(required), **extra}


SCHEMAS = {
    "no_parameters": None,
    "empty_schema": {},
    "empty_object": {"type": "object", "properties": {}},
    "object_without_properties": {"type": "object"},
    "scalars": obj(
        {
            "s": {"type": "string"},
            "n": {"type": "number"},
            "i": {"type": "integer"},
            "b": {"type": "boolean"},
            "z": {"type": "null"},
            "u": {},
        },
        required=["s", "i"],
    ),
    "enums": obj(
        {
            "unit": {"type": "string", "enum": ["celsius", "fahrenheit"], "default": "celsius"},
            "mixed": {"type": "string", "enum": ["a", 1, None, "b"]},
            "numbers_only": {"type": "string", "enum": [1, 2]},
            "empty_enum": {"type": "string", "enum": [], "default": "x"},
            "int_enum": {"type": "integer", "enum": [1, 2, 3], "default": 2},
        }
    ),
    "defaults": obj(
        {
            "s": {"type": "string", "default": 'say "hi"\n'},
            "n": {"type": "number", "default": 0.5},
            "tiny": {"type": "number", "default": 1e-7},
            "small": {"type": "number", "default": 0.0001},
            "big": {"type": "number", "default": 1e21},
            "bigger": {"type": "number", "default": 1.5e300},
            "sixteen": {"type": "number", "default": 1e16},
            "fifteen": {"type": "number", "default": 123456789012345.6},
            "whole": {"type": "number", "default": 3.0},
            "negzero": {"type": "number", "default": -0.0},
            "neg": {"type": "number", "default": -2.5e-12},
            "int": {"type": "integer", "default": -12},
            "u64": {"type": "integer", "default": 18446744073709551615},
            "huge_int": {"type": "integer", "default": 2**70},
            "bool": {"type": "boolean", "default": False},
            "null": {"type": "string", "default": None},
            "list": {"type": "array", "items": {"type": "integer"}, "default": [1, 2.5, "x", None, True]},
            "dict": {"type": "object", "default": {"k": "v\t", "한": [1, {"n": None}]}},
        }
    ),
    "nested_objects": obj(
        {
            "user": obj(
                {
                    "name": {"type": "string", "description": "Full name"},
                    "address": obj(
                        {"city": {"type": "string"}, "zip": {"type": "string", "description": "Postal code"}},
                        required=["city"],
                        description="Where they live",
                    ),
                },
                required=["name"],
                description="The user",
            ),
        },
        required=["user"],
        description="Top-level description",
    ),
    "arrays": obj(
        {
            "tags": {"type": "array", "items": {"type": "string"}, "description": "Tags"},
            "matrix": {"type": "array", "items": {"type": "array", "items": {"type": "number"}}},
            "anything": {"type": "array"},
            "null_items": {"type": "array", "items": None},
            "rows": {
                "type": "array",
                "items": obj(
                    {"id": {"type": "integer"}, "label": {"type": "string", "enum": ["x", "y"]}}, ["id"]
                ),
            },
        }
    ),
    "type_lists_and_nullable": obj(
        {
            "a": {"type": ["string", "null"]},
            "b": {"type": ["integer", "number"], "nullable": True},
            "c": {"type": "string", "nullable": True, "description": "maybe"},
            "d": {"type": ["null"], "nullable": True},
            "e": {"type": [], "default": 1},
            "f": {"type": [1, 2]},
        }
    ),
    "one_of": obj(
        {
            "value": {
                "description": "A value",
                "default": 20,
                "oneOf": [
                    {"type": "string", "default": "default_string"},
                    {"type": "number", "description": "numbers too"},
                    {"type": "string", "enum": ["x", "y"], "default": "x"},
                    {"type": "boolean", "nullable": True, "description": "A value"},
                    obj({"k": {"type": "string"}}, ["k"], description="an object"),
                ],
            },
            "same_description": {
                "description": "Shared",
                "oneOf": [
                    {"type": "string", "description": "Shared"},
                    {"type": "integer", "description": "Other"},
                ],
            },
            "no_description": {"oneOf": [{"type": "string", "description": "first"}, {"type": "null"}]},
            "string_default": {"default": "d", "oneOf": [{"type": "string"}]},
            "enum_default": {"enum": ["p", "q"], "default": "p", "oneOf": [{"type": "string"}]},
            "empty": {"oneOf": []},
            "not_a_list": {
                "oneOf": {"type": "string"},
                "type": "string",
                "description": "ignored",
                "default": "z",
            },
        },
        required=["value"],
    ),
    "top_level_one_of": {
        "oneOf": [
            obj({"a": {"type": "string"}}, ["a"], description="first shape"),
            {"type": "string", "enum": ["e1", "e2"], "default": "e1", "description": "enum form"},
            {"type": "string", "default": "plain"},
            {"type": "number", "nullable": True, "default": 1.25},
        ]
    },
    "any_of_all_of_ref": obj(
        {
            "any": {
                "anyOf": [{"type": "string"}, {"type": "number"}],
                "description": "anyOf is not rendered",
            },
            "all": {"allOf": [{"type": "string"}]},
            "ref": {"$ref": "#/definitions/x"},
            "const": {"const": "fixed"},
        },
        definitions={"x": {"type": "string"}},
    ),
    "titles_and_examples": obj(
        {
            "q": {
                "type": "string",
                "title": "Query",
                "description": "What to search",
                "examples": ["cats", 3, "dogs"],
            },
            "e": {"type": "string", "examples": []},
            "t": {"type": "string", "title": "Only a title"},
        }
    ),
    "descriptions": obj(
        {
            "multi": {"type": "string", "description": "line one\nline two\r\n  indented"},
            "korean": {"type": "string", "description": "도시 이름 🏙️"},
            "specials": {"type": "string", "description": "<|end|> is text here"},
            "not_a_string": {"type": "string", "description": 42},
        },
        description="multi\nline object",
    ),
    "odd_properties": obj(
        {"weird key": {"type": "string"}, "yes": True, "list": [1], "num": 3}, required=["yes", 7]
    ),
    "required_not_a_list": {"type": "object", "properties": {"a": {"type": "string"}}, "required": "a"},
    "properties_not_a_dict": {"type": "object", "properties": ["a"]},
}


@pytest.mark.parametrize("name", sorted(SCHEMAS))
def test_schema(name):
    """Each JSON schema feature renders as in openai-harmony."""
    assert_same(USER, tools=[function(f"tool_{name}", f"Tool for {name}.", SCHEMAS[name])])


def test_all_schemas_together():
    """Many tools in one namespace, in the order given."""
    tools = [function(f"t{i}", f"Tool {name}", schema) for i, (name, schema) in enumerate(SCHEMAS.items())]
    assert_same(USER, tools=tools)


DESCRIPTIONS = [
    "",
    "one line",
    "two\nlines",
    "crlf\r\nlines",
    "trailing newline\n",
    "\n",
    "a\n\nb",
    "ends in cr\r",
    "bare\rcr",
    "vertical\x0btab",
    "line\u2028separator",
    "  padded  ",
    "\n\nlead",
]


@pytest.mark.parametrize("description", DESCRIPTIONS)
def test_tool_descriptions(description):
    """Tool descriptions become // lines split as Rust's str::lines splits them."""
    assert_same(USER, tools=[function("f", description, {"type": "object", "properties": {}})])
    assert_same(USER, tools=[function("g", description)])


def test_rust_lines():
    """rust_lines follows Rust's str::lines on the cases that differ from Python's splitlines."""
    assert rust_lines("") == []
    assert rust_lines("a\n") == ["a"]
    assert rust_lines("a\r\nb\n\n") == ["a", "b", ""]
    assert rust_lines("a\x0bb\u2028c") == ["a\x0bb\u2028c"]
    assert rust_lines("a\r") == ["a\r"]


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (0.5, "0.5"),
        (1e21, "1e21"),
        (1e16, "1e16"),
        (1e15, "1000000000000000.0"),
        (1e-5, "0.00001"),
        (1e-6, "1e-6"),
        (3.7971741034945116e68, "3.797174103494512e68"),
        (1e-4, "0.0001"),
        (-0.0, "-0.0"),
        (2**70, "1.1805916207174113e21"),
        ({"a": [None, True]}, '{"a":[null,true]}'),
        ("é\n", '"é\\n"'),
    ],
)
def test_json_text(value, text):
    """Defaults print as serde_json reads and prints them (ryu float layout, compact, non-ASCII kept)."""
    assert json_text(value) == text


# -- hypothesis: random schemas -----------------------------------------------------------------------

json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(-(2**80), 2**80)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=8)
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3),
    max_leaves=6,
)
words = st.text(st.characters(codec="utf-8", exclude_characters="\r"), max_size=12)
keys = st.sampled_from(
    [
        "type",
        "description",
        "default",
        "enum",
        "nullable",
        "title",
        "examples",
        "items",
        "properties",
        "required",
        "oneOf",
        "anyOf",
    ]
)


def schema_strategy():
    def extend(inner):
        return st.fixed_dictionaries(
            {},
            optional={
                "type": st.sampled_from(["object", "string", "number", "integer", "boolean", "array", "null"])
                | st.lists(st.sampled_from(["string", "integer", "null"]), max_size=3),
                "description": words,
                "title": words,
                "default": json_values,
                "enum": st.lists(st.text(max_size=5) | st.integers(), max_size=3),
                "nullable": st.booleans(),
                "examples": st.lists(words | st.integers(), max_size=3),
                "items": inner,
                "properties": st.dictionaries(
                    st.from_regex(r"[a-z_]{1,6}", fullmatch=True), inner, max_size=4
                ),
                "required": st.lists(st.sampled_from(["a", "b", "x", "y_z", "name"]), max_size=3),
                "oneOf": st.lists(inner, max_size=3),
            },
        )

    return st.recursive(
        st.fixed_dictionaries({"type": st.sampled_from(["string", "number", "boolean"])}),
        extend,
        max_leaves=10,
    )


@pytest.mark.slow
@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(schema_strategy(), min_size=1, max_size=3), words)
def test_random_schemas(schemas, description):
    """Random schemas (every keyword harmony reads, nested, with odd values) render as in openai-harmony."""
    tools = [function(f"f{i}", description, schema) for i, schema in enumerate(schemas)]
    assert_same(USER, tools=tools)


@settings(max_examples=300, deadline=None)
@given(json_values)
def test_random_defaults(value):
    """Any JSON default prints as openai-harmony prints it."""
    assert_same(USER, tools=[function("f", "", obj({"v": {"type": "number", "default": value}}))])
