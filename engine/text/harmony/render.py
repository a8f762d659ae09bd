"""Render a conversation into the harmony prompt that gpt-oss completes, token for token as openai-harmony.

Layout of one message (openai-harmony ``Render<Message>``): ``<|start|>`` HEADER ``<|message|>`` CONTENT
then ``<|call|>`` for an assistant message to a recipient, else ``<|end|>``. The header is the role (a
tool's name for tool messages), `` to=RECIPIENT``, ``<|channel|>CHANNEL`` and `` CONTENT_TYPE`` where
``<|constrain|>`` is the special token. Each text piece is tokenized on its own, as harmony does, so
the token boundaries match and not only the text.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from engine.text.harmony.messages import (
    DROP_ANALYSIS_MODES,
    ConversationError,
    HarmonyMessage,
    continuation,
    conversation,
    drop_old_analysis,
    function_tools,
    instructions,
)
from engine.text.harmony.tools import NAMESPACE, FunctionTool, namespace_block
from engine.text.tokenizer import Special, Tokenizer, load_tokenizer

MODEL_IDENTITY = "You are ChatGPT, a large language model trained by OpenAI."
KNOWLEDGE_CUTOFF = "2024-06"
EFFORTS = ("low", "medium", "high")
CHANNELS = ("analysis", "commentary", "final")

# Generation of one assistant turn stops at these (openai-harmony's stop_tokens_for_assistant_actions).
# <|end|> only closes one message inside the turn (analysis, then final), so it is not a stop token
# here; harmony's plain stop_tokens() adds it for sampling a single message at a time.
STOP_TOKENS: tuple[int, ...] = (int(Special.RETURN), int(Special.CALL))

_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def render_prompt(
    messages: list[dict[str, Any]],
    effort: str = "medium",
    date: str | dt.date | None = None,
    tools: list[dict[str, Any]] | None = None,
    *,
    drop_analysis: str = "harmony",
    continue_from: dict[str, Any] | None = None,
    knowledge_cutoff: str = KNOWLEDGE_CUTOFF,
    model_identity: str = MODEL_IDENTITY,
    tokenizer: Tokenizer | None = None,
) -> list[int]:
    """The prompt for the assistant's next turn, ending in ``<|start|>assistant``.

    ``messages`` and ``tools`` are OpenAI-shaped (see engine/text/harmony/messages.py); ``date`` is
    YYYY-MM-DD (default today); ``drop_analysis`` chooses which earlier reasoning is left out
    ("harmony" is openai-harmony's default). ``continue_from``, an assistant message cut short (its
    ``reasoning`` and ``content`` so far), goes after ``<|start|>assistant`` with its last message left
    open (see ``render_continuation``). Raises ConversationError for malformed input.
    """
    if effort not in EFFORTS:
        raise ConversationError(f"Reasoning effort must be low, medium or high, not {effort!r}.")
    if drop_analysis not in DROP_ANALYSIS_MODES:
        raise ConversationError(
            f"drop_analysis must be one of {', '.join(DROP_ANALYSIS_MODES)}, not {drop_analysis!r}."
        )
    date = _date_text(date)
    functions = function_tools(tools)
    developer_instructions = instructions(messages)
    turns = drop_old_analysis(conversation(messages), drop_analysis)
    partial = continuation(continue_from)

    tok = tokenizer or load_tokenizer()
    ids: list[int] = []
    ids += _message(
        tok, "system", system_text(effort, date, bool(functions), knowledge_cutoff, model_identity)
    )
    developer = developer_text(developer_instructions, functions)
    if developer is not None:
        ids += _message(tok, "developer", developer)
    for message in turns:
        ids += render_message(tok, message)
    ids.append(Special.START)
    ids += tok.encode("assistant")
    ids += render_continuation(partial, tok)
    return [int(token) for token in ids]


def render_continuation(parts: list[HarmonyMessage], tokenizer: Tokenizer | None = None) -> list[int]:
    """What follows the prompt's ``<|start|>assistant`` when an answer is continued: its finished messages
    whole, then the open one without ``<|end|>``, as the model writes them (so the model goes on with that
    message's text). ``parts`` comes from ``messages.continuation``; [] renders nothing.

    The answer's own analysis stays even where ``drop_analysis`` would drop it: it is part of the turn being
    written, which the model saw whole when it wrote it.
    """
    if not parts:
        return []
    tok = tokenizer or load_tokenizer()
    ids: list[int] = []
    for part in parts:
        ids += render_message(tok, part)
    head = [Special.START, *tok.encode("assistant")]  # the prompt already ends with it
    assert ids[: len(head)] == head and ids[-1] == Special.END, tok.decode(ids)
    return [int(token) for token in ids[len(head) : -1]]


def system_text(
    effort: str,
    date: str,
    has_function_tools: bool,
    knowledge_cutoff: str = KNOWLEDGE_CUTOFF,
    model_identity: str = MODEL_IDENTITY,
) -> str:
    """The system message: identity, dates, reasoning effort, channels (harmony's ``SystemContent``)."""
    channels = f"# Valid channels: {', '.join(CHANNELS)}. Channel must be included for every message."
    if has_function_tools:
        channels += f"\nCalls to these tools must go to the commentary channel: '{NAMESPACE}'."
    return "\n\n".join(
        [
            f"{model_identity}\nKnowledge cutoff: {knowledge_cutoff}\nCurrent date: {date}",
            f"Reasoning: {effort}",
            channels,
        ]
    )


def developer_text(developer_instructions: str | None, functions: list[FunctionTool]) -> str | None:
    """The developer message (``# Instructions``, ``# Tools``), or None when there is neither."""
    sections = []
    if developer_instructions is not None:
        sections += ["# Instructions", developer_instructions]
    if functions:
        sections.append(namespace_block(functions))
    return "\n\n".join(sections) if sections else None


def render_message(tok: Tokenizer, message: HarmonyMessage) -> list[int]:
    ids: list[int] = [Special.START]
    ids += tok.encode(message.name if message.role == "tool" else message.role)
    if message.recipient is not None and message.recipient != "all":
        ids += tok.encode(f" to={message.recipient}")
    if message.channel is not None:
        ids.append(Special.CHANNEL)
        ids += tok.encode(message.channel)
    if message.content_type is not None:
        if message.content_type.startswith("<|constrain|>"):
            ids += tok.encode(" ")
            ids.append(Special.CONSTRAIN)
            ids += tok.encode(message.content_type.removeprefix("<|constrain|>"))
        else:
            ids += tok.encode(f" {message.content_type}")
    ids.append(Special.MESSAGE)
    ids += tok.encode(message.content)
    to_tool = message.role == "assistant" and message.recipient is not None
    ids.append(Special.CALL if to_tool else Special.END)
    return ids


def _message(tok: Tokenizer, role: str, text: str) -> list[int]:
    return render_message(tok, HarmonyMessage(role, text))


def _date_text(date: str | dt.date | None) -> str:
    if date is None:
        return dt.date.today().isoformat()
    if isinstance(date, dt.datetime):
        date = date.date()
    if isinstance(date, dt.date):
        return date.isoformat()
    if isinstance(date, str) and _DATE.fullmatch(date):
        try:
            dt.date.fromisoformat(date)
            return date
        except ValueError:
            pass
    raise ConversationError(f"The date must be a real day written YYYY-MM-DD, not {date!r}.")
