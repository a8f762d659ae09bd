"""Constrained generation: a logits processor (ChatSession.generate's hook) that masks tokens so that

- the final channel's text is JSON, of a schema's shape when one is given (``response_format``), and
- a tool call the model makes on its own has arguments of its tool's shape, and
- a tool call is made when the request demands one (``tool_choice`` "required" or a named function):
  the headers are written for the model (an analysis message may come first, then a commentary message
  to ``functions.NAME`` with ``<|constrain|>json``), and the arguments follow the tool's parameters.

It follows the turn with its own StreamParser (the same the session uses) to know which channel the next
token goes to, and with the raw ids for the headers it writes. Masking never reorders the allowed tokens'
logits, so temperature 0 is the greedy choice among the allowed.
"""

from __future__ import annotations

import torch

from engine.server import json_grammar
from engine.server.json_schema import Node
from engine.server.token_mask import GrammarMask
from engine.text.harmony import MessageEnd, MessageStart, StreamParser
from engine.text.tokenizer import VOCAB_SIZE, Special, load_tokenizer


class OutputConstraint:
    """``logits_processor(completion_ids, logits) -> logits``; one per turn (it keeps the turn's state).

    ``final``: the shape of the final answer (None: free text). ``call``: when a tool call is required,
    the tools it may call, name -> the shape of its arguments. ``headers``: write the message headers for
    the model (always for a required call; for a JSON answer only when no tool call may come; alone, with
    neither ``final`` nor ``call``, it only keeps the model from calling the tools it was shown:
    ``tool_choice: "none"``). ``reasoning_budget``: the most tokens of reasoning before ``<|end|>`` is
    written for it, so that the answer or the call still fits in the turn's tokens.
    """

    def __init__(
        self,
        final: Node | None = None,
        call: dict[str, Node] | None = None,
        *,
        headers: bool = True,
        arguments: dict[str, Node] | None = None,
        reasoning_budget: int | None = None,
        tokenizer=None,
    ) -> None:
        assert final is not None or call or headers or arguments, "nothing to constrain"
        self.tok = tokenizer or load_tokenizer()
        self.reasoning_budget = reasoning_budget
        self.reasoning = 0  # tokens in the open analysis message
        self.final = final
        self.call = call or {}
        self.arguments = arguments or {}  # tools the model may call on its own: their arguments' shapes
        self.parser = StreamParser(self.tok)
        self.masks: dict[int, GrammarMask] = {}  # per shape, by id(Node)
        self.seen = 0  # completion ids taken in
        self.grammar: json_grammar.State | None = None  # the open JSON body's state, when there is one
        self.node: Node | None = None
        self.wrote_analysis = False
        self.script: list[list[int]] | None = None  # token sequences being written for the model
        self.script_pos = 0
        self.in_call_body = False
        self._last: tuple = (None, None)  # (the last mask, its negation on the logits' device)
        self.forced_headers = bool(self.call) or headers
        if self.forced_headers:
            self.script = self._headers(first=True)

    def __call__(self, completion_ids: list[int], logits: torch.Tensor) -> torch.Tensor:
        for token in completion_ids[self.seen :]:
            self._take(token)
        self.seen = len(completion_ids)
        allowed = self._allowed()
        if allowed is None:
            return logits
        if allowed is not self._last[0] or self._last[1].device != logits.device:
            # masks repeat (a free string's state, the reasoning mask): copy each to the device once
            self._last = (allowed, (~allowed).to(logits.device))
        return logits.masked_fill(self._last[1], float("-inf"))

    # following the turn
    def _take(self, token: int) -> None:
        in_body = self.grammar is not None and not self.tok.is_special(token)
        if in_body:
            self.grammar = json_grammar.feed(self.grammar, self.tok.token_bytes(token))
        if self.script is not None:
            self._advance_script(token)
        before = self.parser.current_channel
        events = self.parser.feed(token)
        after = self.parser.current_channel
        self.reasoning = self.reasoning + 1 if before == "analysis" and after == "analysis" else 0
        if self.forced_headers and token == Special.END and before == "analysis":
            self.wrote_analysis = True
            self.script = self._headers(first=False)
        if self.call:
            return
        if self.arguments and self._follow_calls(events):
            return
        if after == "final" and before != "final" and self.final is not None:
            self._open_body(self.final)
        elif after != "final":
            self.grammar = None

    def _follow_calls(self, events: list) -> bool:
        """A call the model writes on its own to one of the tools (``<|constrain|>json``) has its arguments
        masked to the tool's parameters; True while inside one."""
        for event in events:
            if isinstance(event, MessageStart) and (event.recipient or "").startswith("functions."):
                node = self.arguments.get(event.recipient.removeprefix("functions."))
                if node is not None and "json" in (event.content_type or ""):
                    self.in_call_body = True
                    self._open_body(node)
            elif isinstance(event, MessageEnd) and self.in_call_body:
                self.in_call_body = False
                self.grammar = None
        return self.in_call_body

    def _advance_script(self, token: int) -> None:
        pos = self.script_pos
        matching = [seq for seq in self.script if len(seq) > pos and seq[pos] == token]
        if not matching:  # cannot happen while masked; let the model go on unforced
            self.script = None
            return
        self.script, self.script_pos = matching, pos + 1
        done = [seq for seq in matching if len(seq) == pos + 1]
        if done:
            self.script = None
            name = self._call_names.get(tuple(done[0]))
            if name is not None:
                self.in_call_body = True
                self._open_body(self.call[name])

    def _open_body(self, node: Node) -> None:
        self.node = node
        self.grammar = json_grammar.start(node)

    # what may come next
    def _allowed(self) -> torch.Tensor | None:
        if self.script is not None:
            return _only({seq[self.script_pos] for seq in self.script if len(seq) > self.script_pos})
        if self.grammar is not None and self.node is not None:
            ends = (Special.CALL,) if self.in_call_body else (Special.RETURN,)
            masks = self._mask(self.node)
            mask = masks.allowed(self.grammar)
            if json_grammar.is_complete(self.grammar) or masks.is_dead_end(self.grammar):
                mask = mask.clone()
                for end in ends:
                    mask[end] = True
            return mask
        if self.forced_headers and self.parser.current_channel == "analysis":
            if self.reasoning_budget is not None and self.reasoning >= self.reasoning_budget:
                return _only({Special.END})
            # reasoning ends with <|end|>, not the turn: the answer or the call comes after it
            return _NOT_TURN_END
        if self.forced_headers and not self.call:
            return _NO_CALL  # tool_choice "none" (or a JSON answer): no message of this turn is a call
        return None

    def _mask(self, node: Node) -> GrammarMask:
        mask = self.masks.get(id(node))
        if mask is None:
            mask = self.masks[id(node)] = GrammarMask()
        return mask

    def _headers(self, first: bool) -> list[list[int]]:
        """The headers the model may write next: analysis (once, first), then the call to one of the tools
        or (no call demanded) the final answer."""
        encode = self.tok.encode
        start = [] if first else [Special.START, *encode("assistant")]
        self._call_names: dict[tuple[int, ...], str] = {}
        options = []
        if first:
            options.append([Special.CHANNEL, *encode("analysis"), Special.MESSAGE])
        for name in self.call:
            sequence = [
                *start,
                Special.CHANNEL,
                *encode("commentary"),
                *encode(f" to=functions.{name}"),
                *encode(" "),
                Special.CONSTRAIN,
                *encode("json"),
                Special.MESSAGE,
            ]
            self._call_names[tuple(sequence)] = name
            options.append(sequence)
        if not self.call:
            options.append([*start, Special.CHANNEL, *encode("final"), Special.MESSAGE])
        self.script_pos = 0
        return [[int(token) for token in option] for option in options]


_NOT_TURN_END = torch.ones(VOCAB_SIZE, dtype=torch.bool)
_NOT_TURN_END[[Special.RETURN, Special.CALL]] = False
_NO_CALL = torch.ones(VOCAB_SIZE, dtype=torch.bool)
_NO_CALL[Special.CALL] = False


def _only(tokens: set[int]) -> torch.Tensor:
    mask = torch.zeros(VOCAB_SIZE, dtype=torch.bool)
    mask[list(tokens)] = True
    return mask
