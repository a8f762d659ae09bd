"""The harmony chat format of gpt-oss: render conversations into prompts, parse the model's output.

Rendering matches openai-harmony (the reference library) token for token; parsing agrees with it on
well-formed output and, unlike it, shows malformed output instead of raising.
"""

from __future__ import annotations

from engine.text.harmony.events import Event, MessageEnd, MessageStart, TextDelta, ToolCall, TurnEnd
from engine.text.harmony.messages import ConversationError, continuation
from engine.text.harmony.parser import StreamParser
from engine.text.harmony.render import STOP_TOKENS, render_continuation, render_prompt

__all__ = [
    "STOP_TOKENS",
    "ConversationError",
    "Event",
    "MessageEnd",
    "MessageStart",
    "StreamParser",
    "TextDelta",
    "ToolCall",
    "TurnEnd",
    "continuation",
    "render_continuation",
    "render_prompt",
]
