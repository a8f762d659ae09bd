"""The JSON grammar and its token mask: every JSON text of a schema is accepted, nothing else is."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.server import json_grammar as grammar
from engine.server.errors import ApiError
from engine.server.json_schema import ANY, compile_schema

SCHEMA = {
    "type": "object",
    "properties": {
        "name": {"type": "string"},
        "age": {"type": "integer"},
        "score": {"type": ["number", "null"]},
        "tags": {"type": "array", "items": {"enum": ["a", "b", 10]}},
        "address": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
        "ok": {"type": "boolean"},
    },
    "required": ["name", "age"],
}

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)


def accepts(node, text: str) -> bool:
    state = grammar.feed(grammar.start(node), text.encode("utf-8"))
    return state is not None and grammar.is_complete(state)


@settings(max_examples=150, deadline=None)
@given(json_values, st.booleans())
def test_any_json_value_is_accepted_compact_or_indented(value, indent):
    """Every JSON text json.dumps writes, compact or indented, passes the schema-free grammar."""
    text = json.dumps(value, indent=2 if indent else None, ensure_ascii=bool(indent))
    assert accepts(ANY, text)


@pytest.mark.parametrize(
    "text",
    [
        '{"name": "Ann", "age": 3}',
        '{"age": -0, "name": "x\\"y\\u00e9", "tags": ["a", 10, "b"], "ok": true}',
        '{"name": "", "age": 1, "score": null, "address": {"city": "Seoul"}}',
        '{"name":"n","age":0,"score":1.5e-3}',
    ],
)
def test_texts_of_the_schema_are_accepted(text):
    """Objects with the required keys and values of the declared types pass."""
    assert accepts(compile_schema(SCHEMA), text)


@pytest.mark.parametrize(
    "text",
    [
        '{"name": "Ann"}',  # age is required
        '{"name": "Ann", "age": 3.5}',  # an integer
        '{"name": "Ann", "age": 3, "extra": 1}',  # no other keys
        '{"name": "Ann", "age": 3, "tags": ["c"]}',  # not in the enum
        '{"name": "Ann", "age": 3, "address": {}}',  # city is required
        '{"name": "Ann", "age": 03}',
        '{"name": "Ann", "age": 3,}',
        '{"name": "Ann", "age": 3} x',
        '["name"]',
    ],
)
def test_texts_outside_the_schema_are_refused(text):
    """Missing required keys, wrong types, unknown keys, values outside an enum and bad JSON are refused."""
    assert not accepts(compile_schema(SCHEMA), text)


def test_whitespace_runs_are_capped():
    """A run of whitespace longer than MAX_SPACES is refused, so a model cannot loop on blank lines."""
    assert grammar.feed(grammar.json_object_start(), b"{" + b" " * grammar.MAX_SPACES) is not None
    assert grammar.feed(grammar.json_object_start(), b"{" + b" " * (grammar.MAX_SPACES + 1)) is None


@pytest.mark.parametrize(
    "schema",
    [
        [1],
        {"type": "thing"},
        {"enum": []},
        {"$ref": "http://x"},
        {"properties": {}, "required": ["a"], "additionalProperties": False},
    ],
)
def test_schemas_that_cannot_be_followed_are_a_400(schema):
    """A schema that is not one, or that nothing could satisfy, is refused with a 400."""
    with pytest.raises(ApiError) as caught:
        compile_schema(schema)
    assert caught.value.status == 400


def test_local_refs_are_followed():
    """$ref into $defs is followed."""
    node = compile_schema(
        {
            "$defs": {"n": {"type": "integer"}},
            "type": "object",
            "properties": {"n": {"$ref": "#/$defs/n"}},
            "required": ["n"],
        }
    )
    assert accepts(node, '{"n": 4}') and not accepts(node, '{"n": "4"}')


@pytest.mark.parametrize(
    "prefix", [b"", b"{", b'{"name": "Bo', b'{"name": "Bob", "age": 4', b'{"name":"B","age":1,"tags":[']
)
def test_the_mask_allows_exactly_the_tokens_the_grammar_takes(prefix):
    """The mask over the vocabulary agrees with feeding each token's bytes to the grammar (sampled)."""
    import random

    from engine.server.token_mask import GrammarMask, vocabulary
    from engine.text.tokenizer import NUM_ORDINARY_TOKENS, load_tokenizer

    tok = load_tokenizer()
    state = grammar.feed(grammar.start(compile_schema(SCHEMA)), prefix)
    mask = GrammarMask(vocabulary()).allowed(state)
    allowed = mask.nonzero().flatten().tolist()
    sample = random.Random(0).sample(range(NUM_ORDINARY_TOKENS), 3000) + allowed[:3000]
    for token in sample:
        assert bool(mask[token]) == (grammar.feed(state, tok.token_bytes(token)) is not None), (
            tok.token_bytes(token)
        )
    assert not mask[NUM_ORDINARY_TOKENS:].any()  # special tokens are the constraint's business
