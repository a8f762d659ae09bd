"""A byte-level JSON state machine that follows a schema (json_schema.Node): which bytes may come next.

A state is an immutable tuple ``(frames, spaces)``: the stack of open values, innermost last, and how
many whitespace bytes came in a row (capped, so a constrained model cannot loop on blank lines). Being
immutable, a state can be stepped down many paths at once, which is what the token mask (token_mask.py)
does over the vocabulary; equal states are equal tuples, so masks can be cached per state.

Frames (tuples, first item the frame's kind):
  ("V", node)                 a value of shape ``node`` is expected
  ("L", candidates, pos)      inside one of some literal texts (enum, const, true/false/null, a key)
  ("S", escape)               inside a free string; escape: 0 none, 1 after ``\\``, 2..5 hex digits to go
  ("N", phase, integer, n)    inside a number; n counts its bytes
  ("O", node, phase, seen, key)  inside an object: 0 after ``{``, 1 after a key, 2 after a value,
                                 3 after ``,``; seen: keys written; key: the last key (or None)
  ("A", node, phase)          inside an array: 0 after ``[``, 2 after a value, 3 after ``,``
"""

from __future__ import annotations

from engine.server.json_schema import ANY, ANY_OBJECT, Node

MAX_SPACES = 16  # whitespace bytes in a row outside strings (pretty-printing a few levels deep fits)
MAX_NUMBER = 40  # bytes in one number

State = tuple[tuple, int]
_WS = frozenset(b" \t\n\r")
_DIGITS = frozenset(b"0123456789")
_HEX = frozenset(b"0123456789abcdefABCDEF")
_ESCAPES = frozenset(b'"\\/bfnrt')
_QUOTE, _BACKSLASH = 0x22, 0x5C
_NUMBER_ENDS = frozenset(("zero", "int", "frac", "exp"))


def start(node: Node) -> State:
    return ((("V", node),), 0)


def json_object_start() -> State:
    """``response_format: json_object``: any JSON object."""
    return start(ANY_OBJECT)


def feed(state: State | None, data: bytes) -> State | None:
    """The state after ``data``, or None when ``data`` cannot come next."""
    for byte in data:
        if state is None:
            return None
        state = step(state, byte)
    return state


def is_complete(state: State) -> bool:
    """The text so far is a whole value of the schema (a number may still go on)."""
    frames = state[0]
    if not frames:
        return True
    if len(frames) == 1:
        top = frames[0]
        if top[0] == "N":
            return top[1] in _NUMBER_ENDS
        if top[0] == "L":
            return any(len(literal) == top[2] for literal in top[1])
    return False


def in_free_string(state: State) -> bool:
    """Inside a string whose text is free (no escape pending): every ordinary character keeps the state."""
    frames = state[0]
    return bool(frames) and frames[-1] == ("S", 0)


def step(state: State, byte: int) -> State | None:
    frames, spaces = state
    if not frames:
        return None  # the value is complete: nothing may follow
    top = frames[-1]
    kind = top[0]
    if kind == "S":
        return _string(frames, top, byte)
    if kind == "L":
        return _literal(frames, top, byte, spaces)
    if kind == "N":
        return _number(frames, top, byte, spaces)
    if byte in _WS:
        return (frames, spaces + 1) if spaces < MAX_SPACES else None
    if kind == "V":
        return _value(frames[:-1], top[1], byte)
    if kind == "O":
        return _object(frames, top, byte)
    return _array(frames, top, byte)


def _value(below: tuple, node: Node, byte: int) -> State | None:
    """Open a value of shape ``node`` with its first byte (whitespace was handled by the caller)."""
    kind = node.kind
    if kind == "union":
        for option in node.options:  # the first shape its first byte can start
            result = _value(below, option, byte)
            if result is not None:
                return result
        return None
    if kind == "literals":
        return _literal(below + (("L", node.literals, 0),), ("L", node.literals, 0), byte, 0)
    if byte == 0x7B and kind in ("object", "any"):  # {
        return (below + (("O", node if kind == "object" else ANY_OBJECT, 0, frozenset(), None),), 0)
    if byte == 0x5B and kind in ("array", "any"):  # [
        return (below + (("A", node if kind == "array" else Node("array", items=ANY), 0),), 0)
    if byte == _QUOTE and kind in ("string", "any"):
        return (below + (("S", 0),), 0)
    if (byte in _DIGITS or byte == 0x2D) and kind in ("number", "integer", "any"):
        phase = "sign" if byte == 0x2D else "zero" if byte == 0x30 else "int"
        return (below + (("N", phase, kind == "integer", 1),), 0)
    if kind in ("boolean", "any") and byte in b"tf":
        literals = (b"true", b"false")
    elif kind in ("null", "any") and byte == 0x6E:  # n
        literals = (b"null",)
    else:
        return None
    frame = ("L", literals, 0)
    return _literal(below + (frame,), frame, byte, 0)


def _string(frames: tuple, top: tuple, byte: int) -> State | None:
    escape = top[1]
    if escape == 0:
        if byte == _QUOTE:
            return _close(frames[:-1], None)
        if byte == _BACKSLASH:
            return (frames[:-1] + (("S", 1),), 0)
        if byte < 0x20:
            return None  # JSON strings hold no raw control characters
        return (frames, 0)
    if escape == 1:
        if byte == 0x75:  # \u
            return (frames[:-1] + (("S", 5),), 0)
        return (frames[:-1] + (("S", 0),), 0) if byte in _ESCAPES else None
    if byte not in _HEX:
        return None
    return (frames[:-1] + (("S", 0 if escape == 2 else escape - 1),), 0)


def _literal(frames: tuple, top: tuple, byte: int, spaces: int) -> State | None:
    _, candidates, pos = top
    going = tuple(literal for literal in candidates if len(literal) > pos and literal[pos] == byte)
    if going:
        done = [literal for literal in going if len(literal) == pos + 1]
        if done and len(going) == 1:
            return _close(frames[:-1], done[0])
        return (frames[:-1] + (("L", going, pos + 1),), 0)
    finished = [literal for literal in candidates if len(literal) == pos]
    if finished:  # a literal that another one extends (1 and 10) ended: the byte belongs to the parent
        closed = _close(frames[:-1], finished[0])
        return step(closed, byte) if closed is not None else None
    return None


def _number(frames: tuple, top: tuple, byte: int, spaces: int) -> State | None:
    _, phase, integer, length = top
    following = _NUMBER_STEPS.get((phase, byte in _DIGITS, bytes([byte])))
    if following is None and byte not in _DIGITS:
        following = _NUMBER_STEPS.get((phase, False, bytes([byte])))
    if following is not None and not (integer and following in ("frac0", "exp0")):
        if length >= MAX_NUMBER:
            return None
        return (frames[:-1] + (("N", following, integer, length + 1),), 0)
    if phase in _NUMBER_ENDS:
        closed = _close(frames[:-1], None)
        return step(closed, byte) if closed is not None else None
    return None


def _number_steps() -> dict:
    table = {}
    for digit in b"0123456789":
        d = bytes([digit])
        table[("sign", True, d)] = "zero" if digit == 0x30 else "int"
        table[("int", True, d)] = "int"
        table[("frac0", True, d)] = "frac"
        table[("frac", True, d)] = "frac"
        table[("exp0", True, d)] = "exp"
        table[("expsign", True, d)] = "exp"
        table[("exp", True, d)] = "exp"
    for phase in ("zero", "int"):
        table[(phase, False, b".")] = "frac0"
    for phase in ("zero", "int", "frac"):
        table[(phase, False, b"e")] = table[(phase, False, b"E")] = "exp0"
    table[("exp0", False, b"+")] = table[("exp0", False, b"-")] = "expsign"
    return table


_NUMBER_STEPS = _number_steps()


def _close(frames: tuple, literal: bytes | None) -> State | None:
    """A value (or a key) ended; its parent moves on."""
    if not frames:
        return ((), 0)
    parent = frames[-1]
    if parent[0] == "O" and parent[2] == 1 and parent[4] is None and literal is not None:
        name = literal[1:-1].decode("utf-8")  # a key matched from the schema's names
        return (frames[:-1] + (("O", parent[1], 1, parent[3], name),), 0)
    return (frames, 0)


def _object(frames: tuple, top: tuple, byte: int) -> State | None:
    _, node, phase, seen, key = top
    below = frames[:-1]
    if phase in (0, 3) and byte == _QUOTE:
        if node.additional is not None:  # free keys (a known name is a free key too)
            return (below + (("O", node, 1, seen, None), ("S", 0)), 0)
        names = tuple(_key(name) for name in node.properties if name not in seen)
        if not names:
            return None
        return (below + (("O", node, 1, seen, None), ("L", names, 1)), 0)
    if phase == 0 and byte == 0x7D:  # } right after {
        return _close(below, None) if node.required <= seen else None
    if phase == 1 and byte == 0x3A:  # :
        child = node.properties.get(key) if key is not None else None
        if child is None:
            child = node.additional or ANY
        seen = seen | {key} if key is not None else seen
        return (below + (("O", node, 2, seen, None), ("V", child)), 0)
    if phase == 2 and byte == 0x2C:  # ,
        if node.additional is None and all(name in seen for name in node.properties):
            return None  # nothing is left to write: the object must close
        return (below + (("O", node, 3, seen, None),), 0)
    if phase == 2 and byte == 0x7D:  # }
        return _close(below, None) if node.required <= seen else None
    return None


def _array(frames: tuple, top: tuple, byte: int) -> State | None:
    _, node, phase = top
    below = frames[:-1]
    if phase == 0 and byte == 0x5D:  # ]
        return _close(below, None)
    if phase in (0, 3):
        return _value(below + (("A", node, 2),), node.items or ANY, byte)
    if phase == 2 and byte == 0x2C:
        return (below + (("A", node, 3),), 0)
    if phase == 2 and byte == 0x5D:
        return _close(below, None)
    return None


def _key(name: str) -> bytes:
    import json

    return json.dumps(name, ensure_ascii=False).encode("utf-8")
