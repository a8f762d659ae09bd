"""The output constraint on fixed token streams: which tokens it allows where, in every mode."""

from __future__ import annotations

import torch

from engine.server.constraint import OutputConstraint
from engine.server.json_schema import ANY_OBJECT, compile_schema
from engine.text.tokenizer import VOCAB_SIZE, Special, load_tokenizer

WEATHER = compile_schema(
    {"type": "object", "properties": {"unit": {"enum": ["celsius", "fahrenheit"]}}, "required": ["unit"]}
)


def allowed_after(constraint: OutputConstraint, ids: list[int]) -> set[int]:
    """The tokens the constraint leaves possible after the completion ``ids``."""
    logits = constraint(ids, torch.zeros(VOCAB_SIZE))
    return set(torch.isfinite(logits).nonzero().flatten().tolist())


def test_a_call_the_model_makes_on_its_own_follows_its_tool_parameters():
    """Auto tool choice: text and headers are free; inside a call to a known tool with <|constrain|>json,
    only the tool's JSON may come, then only <|call|>."""
    tok = load_tokenizer()
    constraint = OutputConstraint(headers=False, arguments={"get_weather": WEATHER})
    header = [Special.CHANNEL, *tok.encode("commentary to=functions.get_weather "), Special.CONSTRAIN]
    header += [*tok.encode("json"), Special.MESSAGE]
    assert len(allowed_after(constraint, [])) == VOCAB_SIZE
    ids = list(header)
    assert len(allowed_after(constraint, ids[:3])) == VOCAB_SIZE  # the header is the model's to write
    for piece in ['{"unit": ', '"celsius"', "}"]:
        allowed = allowed_after(constraint, ids)
        step = tok.encode(piece)
        assert step[0] in allowed
        assert tok.encode(" hello")[0] not in allowed
        ids += step
    assert allowed_after(constraint, ids) == {Special.CALL}


def test_a_call_to_an_unknown_tool_is_left_alone():
    """A call to a function that was not offered is not masked: it comes back as a malformed call."""
    tok = load_tokenizer()
    constraint = OutputConstraint(headers=False, arguments={"get_weather": WEATHER})
    ids = [Special.CHANNEL, *tok.encode("commentary to=functions.other "), Special.CONSTRAIN]
    ids += [*tok.encode("json"), Special.MESSAGE]
    assert len(allowed_after(constraint, ids)) == VOCAB_SIZE


def test_a_json_answer_gets_its_headers_written_and_its_body_masked():
    """json_object without tools: the header is analysis or final; the final body is JSON, then <|return|>."""
    tok = load_tokenizer()
    constraint = OutputConstraint(final=ANY_OBJECT, reasoning_budget=3)
    assert allowed_after(constraint, []) == {Special.CHANNEL}
    first = allowed_after(constraint, [Special.CHANNEL])
    assert first == {tok.encode("analysis")[0], tok.encode("final")[0]}
    ids = [Special.CHANNEL, *tok.encode("analysis"), Special.MESSAGE, *tok.encode(" a b c")]
    assert allowed_after(constraint, ids) == {Special.END}  # the reasoning budget is spent
    ids += [Special.END, Special.START, *tok.encode("assistant"), Special.CHANNEL, *tok.encode("final")]
    ids += [Special.MESSAGE]
    assert tok.encode("{")[0] in allowed_after(constraint, ids)
    assert tok.encode("hello")[0] not in allowed_after(constraint, ids)
    ids += tok.encode('{"a": 1}')
    assert allowed_after(constraint, ids) == {Special.RETURN}


def test_tool_choice_none_writes_no_call():
    """tool_choice none: headers are analysis or final, and <|call|> never comes."""
    tok = load_tokenizer()
    constraint = OutputConstraint(headers=True)
    ids = [Special.CHANNEL, *tok.encode("final"), Special.MESSAGE, *tok.encode("Hello")]
    allowed = allowed_after(constraint, ids)
    assert Special.CALL not in allowed and Special.RETURN in allowed and len(allowed) == VOCAB_SIZE - 1
