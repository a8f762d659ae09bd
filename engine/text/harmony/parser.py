"""A streaming parser for the assistant's harmony output: token ids in, events out.

Well-formed output (after the prompt's ``<|start|>assistant``) looks like
``<|channel|>analysis<|message|>...<|end|><|start|>assistant<|channel|>final<|message|>...<|return|>``
or ends in a tool call ``<|start|>assistant<|channel|>commentary to=functions.f <|constrain|>json
<|message|>{...}<|call|>``. On that, events agree with openai-harmony's StreamableParser.

Unlike it, this parser never raises and never drops text. Malformed output is shown:
- a header without a known channel goes to "final" ("commentary" when it has a recipient);
- header words it cannot read, and a "header" that runs on (more than MAX_HEADER_TOKENS tokens, or
  a line break) without ``<|message|>``, come out as text of that message;
- ``<|start|>`` or ``<|channel|>`` inside a message ends it and starts the next one;
- any other special token inside a message comes out as its name, e.g. ``<|reserved_200013|>``;
- output cut short is flushed by ``finish()``.
Every byte of ordinary text ends up, once and in order, in ``MessageStart.header``,
``TextDelta.text`` or ``ToolCall.arguments``.
"""

from __future__ import annotations

import codecs
import re
import secrets
from collections.abc import Callable

from engine.text.harmony.events import Event, MessageEnd, MessageStart, TextDelta, ToolCall, TurnEnd
from engine.text.harmony.tools import NAMESPACE
from engine.text.tokenizer import NUM_ORDINARY_TOKENS, VOCAB_SIZE, Special, Tokenizer, load_tokenizer

CHANNELS = ("analysis", "commentary", "final")
ROLES = ("assistant", "user", "system", "developer", "tool")
MAX_HEADER_TOKENS = 32  # real headers take under 20; longer means the model never wrote <|message|>

_EXPECT, _HEADER, _CONTENT = "expect", "header", "content"
_LEXEME = re.compile(r"\s+|\S+")


def _new_call_id() -> str:
    return "call_" + secrets.token_hex(12)


class StreamParser:
    """Feed it one token at a time; it starts right after the prompt's ``<|start|>assistant``."""

    def __init__(
        self,
        tokenizer: Tokenizer | None = None,
        *,
        role: str | None = "assistant",
        new_call_id: Callable[[], str] = _new_call_id,
    ) -> None:
        # role=None starts before a ``<|start|>`` (to parse whole rendered conversations).
        self._tok = tokenizer or load_tokenizer()
        self._new_call_id = new_call_id
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._state = _EXPECT
        self._header: list[str | int] = []  # text pieces and special token ids
        self._header_tokens = 0
        self._implied_role: str | None = None
        self._channel = "final"
        self._recipient: str | None = None
        self._arguments: list[str] | None = None  # set while inside a tool call: its text is held back
        if role is not None:
            self._begin_header(role)

    @property
    def current_channel(self) -> str | None:
        """The channel of the message being generated, once its header is complete; else None."""
        return self._channel if self._state == _CONTENT else None

    def feed(self, token: int) -> list[Event]:
        events: list[Event] = []
        if 0 <= token < NUM_ORDINARY_TOKENS:
            self._text(self._decoder.decode(self._tok.token_bytes(token)), events)
        else:
            self._flush(events)
            self._special(token, events)
        return events

    def finish(self) -> list[Event]:
        """Flush what is pending at the end of generation; the session adds the TurnEnd."""
        events: list[Event] = []
        self._flush(events)
        if self._state == _HEADER and self._header:
            self._open(strict=False, events=events)
        if self._state == _CONTENT:
            self._close(events, call=False)
        self._state = _EXPECT
        return events

    # -- tokens ------------------------------------------------------------------------------

    def _flush(self, events: list[Event]) -> None:
        # Special tokens end a run of text: a cut UTF-8 sequence becomes U+FFFD here.
        self._text(self._decoder.decode(b"", final=True), events)
        self._decoder.reset()

    def _text(self, text: str, events: list[Event]) -> None:
        if not text:
            return
        if self._state == _EXPECT:  # text where <|start|> belongs: a message without a header
            self._begin_header("assistant")
        if self._state == _HEADER:
            if self._header and isinstance(self._header[-1], str):
                self._header[-1] += text
            else:
                self._header.append(text)
            self._header_tokens += 1
            if self._header_tokens > MAX_HEADER_TOKENS or "\n" in self._header[-1]:
                self._open(strict=False, events=events)
        else:
            self._content(text, events)

    def _special(self, token: int, events: list[Event]) -> None:
        if self._state == _EXPECT:
            if token == Special.START:
                self._begin_header(None)
            elif token in (Special.RETURN, Special.CALL):
                events.append(TurnEnd("return"))  # nothing was left open to call
            elif token != Special.END:  # a stray <|end|> carries nothing
                self._begin_header("assistant")
                self._special(token, events)
        elif self._state == _HEADER:
            if token == Special.MESSAGE:
                self._open(strict=True, events=events)
            elif token in (Special.START, Special.END, Special.RETURN, Special.CALL):
                if self._header:  # a header that never reached <|message|>: a message without content
                    self._open(strict=False, events=events)
                else:
                    self._state = _EXPECT
                self._special(token, events)
            else:
                self._header.append(token)
                self._header_tokens += 1
                if self._header_tokens > MAX_HEADER_TOKENS:
                    self._open(strict=False, events=events)
        else:
            if token in (Special.END, Special.RETURN, Special.CALL):
                called = self._close(events, call=token == Special.CALL)
                if token != Special.END:
                    events.append(TurnEnd("call" if called else "return"))
            elif token == Special.START:
                self._close(events, call=False)
                self._begin_header(None)
            elif token == Special.CHANNEL:  # the model skipped <|end|><|start|>assistant
                self._close(events, call=False)
                self._begin_header("assistant")
                self._special(token, events)
            else:
                self._content(self._name(token), events)

    def _name(self, token: int) -> str:
        if 0 <= token < VOCAB_SIZE:
            return self._tok.special_name(token)
        return f"<|invalid_{token}|>"

    # -- messages ----------------------------------------------------------------------------

    def _begin_header(self, implied_role: str | None) -> None:
        self._state = _HEADER
        self._header = []
        self._header_tokens = 0
        self._implied_role = implied_role

    def _open(self, strict: bool, events: list[Event]) -> None:
        role, channel, recipient, content_type, header, leftover = self._parse_header(strict)
        if recipient == "all":  # harmony's "everyone", not a tool
            recipient = None
        if channel not in CHANNELS:
            channel = "commentary" if recipient is not None else "final"
        self._state = _CONTENT
        self._channel = channel
        self._recipient = recipient
        self._arguments = [] if role == "assistant" and recipient is not None else None
        events.append(MessageStart(role, channel, recipient, content_type, header))
        if leftover:
            self._content(leftover, events)

    def _content(self, text: str, events: list[Event]) -> None:
        if self._arguments is not None:
            self._arguments.append(text)
        else:
            events.append(TextDelta(self._channel, text))

    def _close(self, events: list[Event], call: bool) -> bool:
        """End the open message; True when it was a tool call ended by ``<|call|>``."""
        called = False
        if self._arguments is not None:
            arguments = "".join(self._arguments)
            if call:
                name = self._recipient.removeprefix(NAMESPACE + ".")
                events.append(ToolCall(name, arguments, self._new_call_id()))
                called = True
            elif arguments:  # not sent to the tool, so show it
                events.append(TextDelta(self._channel, arguments))
        events.append(MessageEnd(self._channel))
        self._state = _EXPECT
        self._arguments = None
        return called

    def _parse_header(self, strict: bool) -> tuple[str, str | None, str | None, str | None, str, str]:
        """(role, channel, recipient, content type, header text read, leftover text).

        Grammar: [role] then, in any order, ``<|channel|>NAME``, ``to=RECIPIENT`` and a content type
        (``<|constrain|>TYPE``, or a plain last word when ``<|message|>`` ended the header). Whatever
        follows the first lexeme outside that grammar is leftover: the message's text.
        """
        lexemes: list[str | int] = []
        for item in self._header:
            lexemes += _LEXEME.findall(item) if isinstance(item, str) else [item]
        count = len(lexemes)

        def word(index: int) -> str | None:
            if index < count and isinstance(lexemes[index], str) and not lexemes[index].isspace():
                return lexemes[index]
            return None

        def skip_space(index: int) -> int:
            while index < count and isinstance(lexemes[index], str) and lexemes[index].isspace():
                index += 1
            return index

        i = skip_space(0)
        first = word(i)
        if self._implied_role is not None:
            role = self._implied_role
            if first == role:
                i += 1
        elif first is not None and not first.startswith("to=") and (first in ROLES or "." in first):
            role = first
            i += 1
        else:
            role = "assistant"
        channel = recipient = content_type = None
        while True:
            i = skip_space(i)
            if i >= count:
                break
            lexeme, following = lexemes[i], word(i + 1)
            if lexeme == Special.CHANNEL and channel is None and following is not None:
                channel, i = following, i + 2
            elif lexeme == Special.CONSTRAIN and content_type is None and following is not None:
                content_type, i = "<|constrain|>" + following, i + 2
            elif (
                isinstance(lexeme, str) and lexeme.startswith("to=") and len(lexeme) > 3 and recipient is None
            ):
                recipient, i = lexeme[3:], i + 1
            elif isinstance(lexeme, str) and strict and content_type is None and skip_space(i + 1) == count:
                content_type, i = lexeme, i + 1
            else:
                break
        return role, channel, recipient, content_type, self._join(lexemes[:i]), self._join(lexemes[i:])

    def _join(self, lexemes: list[str | int]) -> str:
        return "".join(item if isinstance(item, str) else self._name(item) for item in lexemes)
