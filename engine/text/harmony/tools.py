"""Function tools as gpt-oss reads them: a TypeScript-like ``namespace functions { ... }`` block.

The text must match openai-harmony's renderer (``json_schema_to_typescript`` and
``template_tools_section`` in its ``src/encoding.rs``, v0.0.8) character for character, quirks
included: the model was trained on that text. Tests compare the two on many schemas.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

NAMESPACE = "functions"


@dataclass(frozen=True)
class FunctionTool:
    name: str
    description: str = ""
    parameters: dict[str, Any] | None = None  # a JSON schema; None: the function takes no arguments


def namespace_block(tools: list[FunctionTool]) -> str:
    """The ``# Tools`` section of the developer message for function tools."""
    lines = [f"## {NAMESPACE}\n", f"namespace {NAMESPACE} {{\n"]
    for tool in tools:
        lines += [f"// {line}" for line in rust_lines(tool.description)]
        if tool.parameters is None:
            lines.append(f"type {tool.name} = () => any;\n")
        else:
            lines.append(f"type {tool.name} = (_: {typescript_type(tool.parameters, '')}) => any;\n")
    lines.append(f"}} // namespace {NAMESPACE}")
    return "# Tools\n\n" + "\n".join(lines)


def rust_lines(text: str) -> list[str]:
    # Rust's str::lines: split after each "\n", drop the "\n" and one "\r" before it; a last line
    # without "\n" is kept whole. (Python's splitlines also splits at \x0b, \u2028 and others.)
    lines = text.split("\n")
    last = lines.pop()
    lines = [line.removesuffix("\r") for line in lines]
    return lines + [last] if last else lines


def typescript_type(schema: Any, indent: str) -> str:
    """The TypeScript-like type of a JSON schema, as harmony writes it (objects over several lines)."""
    if not isinstance(schema, dict):
        return "any"
    if isinstance(schema.get("oneOf"), list):
        return _union(schema["oneOf"], indent)
    kind = schema.get("type")
    if isinstance(kind, list):
        names = ["number" if name == "integer" else name for name in kind if isinstance(name, str)]
        if names:
            return " | ".join(names)
        return "any"
    if kind == "object":
        return _object(schema, indent)
    if kind == "string":
        values = schema.get("enum")
        literals = (
            [f'"{value}"' for value in values if isinstance(value, str)] if isinstance(values, list) else []
        )
        return " | ".join(literals) if literals else "string"
    if kind in ("number", "integer"):
        return "number"
    if kind == "boolean":
        return "boolean"
    if kind == "array":
        return f"{typescript_type(schema['items'], indent)}[]" if "items" in schema else "Array<any>"
    return "any"


def _union(variants: list[Any], indent: str) -> str:
    # A schema that is itself a oneOf: each variant on its own line, comments trailing.
    out = ""
    for variant in variants:
        out += f"\n{indent} | " + _nullable(variant, typescript_type(variant, indent + "   "))
        comments = []
        if isinstance(_get(variant, "description"), str):
            comments.append(variant["description"])
        if "default" in _fields(variant):
            default = variant["default"]
            if isinstance(default, str) and not _is_enum(variant):
                comments.append(f'default: "{default}"')
            else:  # here an enum's string default keeps its JSON quotes, unlike in a property
                comments.append(f"default: {json_text(default)}")
        if comments:
            out += " // " + " ".join(comments)
    return out


def _object(schema: dict[str, Any], indent: str) -> str:
    out = ""
    if isinstance(schema.get("description"), str):
        out += f"{indent}// {schema['description']}\n"
    out += "{\n"
    properties = schema.get("properties")
    if isinstance(properties, dict):
        required = schema.get("required")
        required = (
            {name for name in required if isinstance(name, str)} if isinstance(required, list) else set()
        )
        for key, value in properties.items():
            out += _property(key, value, key in required, indent)
    return out + f"{indent}}}"


def _property(key: str, value: Any, required: bool, indent: str) -> str:
    fields = _fields(value)
    mark = "" if required else "?"
    out = ""
    if isinstance(fields.get("title"), str):
        out += f"{indent}// {fields['title']}\n{indent}//\n"
    if "oneOf" not in fields and isinstance(fields.get("description"), str):
        out += f"{indent}// {fields['description']}\n"
    examples = fields.get("examples")
    if isinstance(examples, list) and examples:
        out += f"{indent}// Examples:\n"
        out += "".join(f'{indent}// - "{example}"\n' for example in examples if isinstance(example, str))
    if isinstance(fields.get("oneOf"), list):
        return out + _union_property(key, fields, mark, indent)
    out += f"{indent}{key}{mark}: " + _nullable(value, typescript_type(value, indent + "    ")) + ","
    if "oneOf" not in fields and "default" in fields:
        out += f" // default: {_default_text(fields)}"
    return out + "\n"


def _union_property(key: str, fields: dict[str, Any], mark: str, indent: str) -> str:
    variants = fields["oneOf"]
    description = fields.get("description") if isinstance(fields.get("description"), str) else None
    first_description = _get(variants[0], "description") if variants else None
    described_above = description is not None and description != first_description
    out = f"{indent}// {description}\n" if described_above else ""
    if "default" in fields:
        out += f"{indent}// default: {_default_text(fields)}\n"
    out += f"{indent}{key}{mark}:\n"
    for index, variant in enumerate(variants):
        out += f"{indent} | " + _nullable(variant, typescript_type(variant, indent + "   "))
        comments = []
        variant_description = _get(variant, "description")
        shown_above = index == 0 and described_above
        if not shown_above and isinstance(variant_description, str) and variant_description != description:
            comments.append(variant_description)
        if "default" in _fields(variant):
            comments.append(f"default: {_default_text(variant)}")
        if comments:
            out += " // " + " ".join(comments)
        out += "\n"
    return out + f"{indent},\n"


def _default_text(fields: dict[str, Any]) -> str:
    default = fields["default"]
    if isinstance(default, str):
        return default if _is_enum(fields) else f'"{default}"'
    return json_text(default)


def _nullable(schema: Any, text: str) -> str:
    if _get(schema, "nullable") is True and "null" not in text:
        return f"{text} | null"
    return text


def _is_enum(schema: Any) -> bool:
    values = _get(schema, "enum")
    return isinstance(values, list) and bool(values)


def _fields(schema: Any) -> dict[str, Any]:
    return schema if isinstance(schema, dict) else {}


def _get(schema: Any, key: str) -> Any:
    return schema.get(key) if isinstance(schema, dict) else None


def json_text(value: Any) -> str:
    """Compact JSON as serde_json prints it (harmony writes defaults this way): floats as Rust's ryu."""
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, (int, float)):
        number = _serde_number(json.dumps(value))
        return str(number) if isinstance(number, int) else _float_text(number)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, (list, tuple)):
        return "[" + ",".join(json_text(item) for item in value) + "]"
    if isinstance(value, dict):
        return "{" + ",".join(f"{json_text(str(key))}:{json_text(item)}" for key, item in value.items()) + "}"
    raise TypeError(f"not JSON: {value!r}")


_U64_MAX = 2**64 - 1
_POW10 = [float(f"1e{i}") for i in range(309)]
_NUMBER = re.compile(r"(-?)([0-9]+)(?:\.([0-9]+))?(?:[eE]([+-]?)([0-9]+))?")


def _serde_number(text: str) -> int | float:
    """The number serde_json reads from JSON ``text``, which harmony's Python binding hands it.

    Without its ``float_roundtrip`` feature serde_json reads a float as (u64 significand) * 10^exp in
    plain f64 arithmetic, which is sometimes one unit in the last place off the nearest double; those
    are the digits harmony prints, so we read the same way (serde_json 1.0.140 ``src/de.rs``).
    """
    match = _NUMBER.fullmatch(text)
    assert match, text
    sign, integer, fraction, exponent_sign, exponent_digits = match.groups()
    significand, exponent, long = 0, 0, False
    for digit in map(int, integer):
        if long or significand * 10 + digit > _U64_MAX:  # further digits only scale the number
            long, exponent = True, exponent + 1
        else:
            significand = significand * 10 + digit
    if not (long or fraction or exponent_digits):
        if not sign:
            return significand
        if 0 < significand <= 2**63:
            return -significand
        return -float(significand)
    for digit in map(int, fraction or ""):
        if significand * 10 + digit > _U64_MAX:  # the rest of the fraction is ignored
            break
        significand, exponent = significand * 10 + digit, exponent - 1
    if exponent_digits:
        exponent += -int(exponent_digits) if exponent_sign == "-" else int(exponent_digits)
    result = float(significand)
    while True:
        if abs(exponent) <= 308:
            result = result * _POW10[exponent] if exponent >= 0 else result / _POW10[-exponent]
            break
        if result == 0.0 or exponent > 0:  # (serde_json fails on overflow; keep the value)
            result = float(text)
            break
        result, exponent = result / 1e308, exponent + 308
    if math.isinf(result):
        result = float(text)
    return -result if sign else result


def _float_text(value: float) -> str:
    # Shortest round-trip digits (Python's repr and ryu agree on them), laid out as ryu's format64.
    assert math.isfinite(value), value
    sign = "-" if math.copysign(1.0, value) < 0 else ""
    if value == 0:
        return sign + "0.0"
    _, digit_tuple, exponent = Decimal(repr(abs(value))).as_tuple()
    digits = "".join(map(str, digit_tuple)).rstrip("0")
    exponent += len(digit_tuple) - len(digits)
    length = len(digits)
    point = length + exponent  # 10^(point-1) <= value < 10^point
    if 0 <= exponent and point <= 16:
        return sign + digits + "0" * exponent + ".0"
    if 0 < point <= 16:
        return sign + digits[:point] + "." + digits[point:]
    if -5 < point <= 0:
        return sign + "0." + "0" * -point + digits
    mantissa = digits if length == 1 else digits[0] + "." + digits[1:]
    return f"{sign}{mantissa}e{point - 1}"
