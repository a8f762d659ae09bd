"""A full context: what a turn does when the conversation would no longer fit with room for an answer.

A turn "would overflow" when its prompt (plus an answer being continued) and ``answer_room`` tokens for the
answer do not fit the context. Then the policy decides:
- "drop": leave the oldest turns out of the prompt. System and developer messages are always kept, and so
  is the last turn (the user's message being answered and what followed it); a turn is a user message and
  everything after it up to the next one.
- "summarize": the same turns, summarised by the model itself into a developer message that takes their
  place (its text starts with ``SUMMARY_HEADING``; a later summary folds an earlier one in).
- "stop": raise ContextFullError, saying what the user can do.
Only the prompt changes: the caller's messages are not touched. ``ContextFitted`` (yielded by the session
before the answer's events) says which messages were left out, by index, and the summary, so a caller that
keeps the history (the app, ``python -m engine chat``) can show where and send the shorter conversation
next time. It leaves out ``slack`` more than it must, so the following turns fit without dropping again and
the KV cache of their shared prefix is reused.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from engine.errors import ContextFullError

POLICIES = ("drop", "summarize", "stop")
ANSWER_ROOM_FRACTION = 4  # room for the answer: its max_tokens, at most a quarter of the context
SLACK_FRACTION = 8  # when it acts, a policy frees an eighth of the context more than it must
SUMMARY_HEADING = "Summary of the earlier conversation"
SUMMARY_FRACTION = 8  # a summary takes at most an eighth of the context ...
SUMMARY_MAX_TOKENS = 1024  # ... and at most this many tokens
SUMMARY_REASONING = 256  # the summary turn reasons briefly, then answers (engine/runtime/reasoning_guard.py)
SUMMARY_INSTRUCTIONS = (
    "Summarize the conversation the user gives you so that the summary can replace it. Keep every fact, "
    "name, number, decision, open question and preference of the user that a later answer may need. Write "
    "plain sentences in the conversation's language, at most about {words} words, and nothing else."
)


@dataclass(frozen=True)
class ContextFitted:
    """The prompt left out some of the conversation (indexes into the messages the turn was given)."""

    policy: str  # "drop" | "summarize"
    dropped: tuple[int, ...]  # left out of the prompt (summarised ones too)
    summarized: tuple[int, ...]  # of those, the ones the summary stands for
    summary: str | None  # the summary's developer message text (with SUMMARY_HEADING), or None
    prompt_tokens_before: int  # the whole conversation's prompt
    prompt_tokens: int  # the prompt after the policy (without an answer being continued)

    def as_dict(self) -> dict:
        return dataclasses.asdict(self) | {"dropped": list(self.dropped), "summarized": list(self.summarized)}


def answer_room(context_length: int, max_tokens: int) -> int:
    return max(1, min(max_tokens, context_length // ANSWER_ROOM_FRACTION))


def is_summary(message: dict) -> bool:
    """A developer message a summarize policy wrote (earlier summaries are folded into the next one)."""
    content = message.get("content")
    return (
        message.get("role") == "developer"
        and isinstance(content, str)
        and content.startswith(SUMMARY_HEADING)
    )


def summary_message(summary: str) -> dict:
    return {"role": "developer", "content": f"{SUMMARY_HEADING}:\n{summary.strip()}"}


def turns(messages: list[dict]) -> tuple[list[int], list[list[int]]]:
    """(the indexes always kept: system and developer messages that are not summaries, the turns in order)."""
    kept, groups = [], []
    for index, message in enumerate(messages):
        role = message.get("role") if isinstance(message, dict) else None
        if role in ("system", "developer") and not is_summary(message):
            kept.append(index)
        elif role == "user" or not groups or is_summary(message):
            groups.append([index])
        else:
            groups[-1].append(index)
    return kept, groups


def choose_dropped(
    messages: list[dict], count: Callable[[list[dict]], int], limit: int, target: int
) -> list[int] | None:
    """The indexes of the fewest oldest turns to leave out so the rest counts at most ``target`` tokens (else
    at most ``limit``); None when even the last turn alone does not fit ``limit``. Counts are prompts rendered
    by ``count``: binary search, so a long conversation is rendered a handful of times."""
    _, groups = turns(messages)

    def without(n: int) -> tuple[list[int], int]:
        left_out = [i for group in groups[:n] for i in group]
        gone = set(left_out)
        return left_out, count([m for i, m in enumerate(messages) if i not in gone])

    droppable = max(0, len(groups) - 1)  # the last turn stays
    low, high = 0, droppable
    while low < high:  # the fewest turns whose removal reaches target
        middle = (low + high) // 2
        if without(middle)[1] <= target:
            high = middle
        else:
            low = middle + 1
    left_out, tokens = without(low)
    return left_out if tokens <= limit else None


def fit(session, messages: list[dict], settings, tools, continue_from: dict | None, cancel) -> Iterator:
    """The messages a turn's prompt is rendered from, under ``settings.overflow`` (a generator: ``yield from``
    it; it yields a ContextFitted, and a Notice while a summary is written, when the policy acted)."""
    from engine.text.harmony import continuation, render_continuation

    policy = settings.overflow
    if policy not in POLICIES:
        raise ValueError(f"overflow must be one of {POLICIES}, got {policy!r}")

    def count(kept: list[dict]) -> int:
        return len(session.render(kept, settings, tools))

    context = session.context_length
    parts = continuation(continue_from)
    extra = len(render_continuation(parts, session.tokenizer)) if parts else 0
    limit = context - answer_room(context, settings.max_tokens) - extra
    before = count(messages)
    _, groups = turns(messages)
    if before <= limit or len(groups) <= 1:  # fits, or there is only the last turn: the session decides
        return messages
    earlier = [i for group in groups[:-1] for i in group]
    if count([m for i, m in enumerate(messages) if i not in set(earlier)]) > limit:
        # the last turn alone leaves no room: no summary fits, nothing else helps; the session's own error
        # says what to do when the prompt is past the context, else the answer gets the room there is
        if policy == "stop":
            return messages
        left_out, policy = earlier, "drop"
    elif policy == "stop":
        raise ContextFullError(
            f"The conversation is {before:,} tokens long; with room for an answer it does not fit the "
            f"context of {context:,} tokens. Start a new conversation, drop or summarise its oldest turns, "
            "or raise the context length in Settings."
        )
    else:
        summary_tokens = min(SUMMARY_MAX_TOKENS, context // SUMMARY_FRACTION) if policy == "summarize" else 0
        target = max(1, limit - context // SLACK_FRACTION - summary_tokens)
        left_out = choose_dropped(messages, count, limit - summary_tokens, target) or earlier
    gone = set(left_out)
    kept = [m for i, m in enumerate(messages) if i not in gone]
    summary = None
    if policy == "summarize":
        from engine.notices import Notice

        yield Notice(
            f"The conversation no longer fits the context: summarising its oldest {len(left_out)} messages.",
            "summarizing",
        )
        text = summarize(session, [messages[i] for i in left_out], settings, summary_tokens, cancel)
        if cancel is not None and cancel.is_set():  # stopped while summarising: the turn ends at once, and a
            return kept  # summary cut short is not one to keep (the next turn summarises again)
        first = sum(1 for i in range(left_out[0]) if i not in gone)  # where the turns it replaces were
        ids = session.tokenizer.encode(text)
        while ids:  # a summary longer than asked for is cut to the room there is
            summary = summary_message(session.tokenizer.decode(ids))["content"]
            over = count(kept[:first] + [{"role": "developer", "content": summary}] + kept[first:]) - limit
            if over <= 0:
                kept.insert(first, {"role": "developer", "content": summary})
                break
            ids, summary = ids[: len(ids) - over], None
    yield ContextFitted(
        policy, tuple(left_out), tuple(left_out) if summary else (), summary, before, count(kept)
    )
    return kept


def summarize(session, messages: list[dict], settings, max_tokens: int, cancel=None) -> str:
    """The model's summary of ``messages`` (a low-effort turn of its own on the same session), or "" when it
    wrote none (stopped). A transcript longer than the context keeps its end."""
    from engine.text.harmony import TextDelta

    words = max(20, max_tokens * 3 // 5)
    instructions = {"role": "developer", "content": SUMMARY_INSTRUCTIONS.format(words=words)}
    reasoning = min(SUMMARY_REASONING, session.context_length // SUMMARY_FRACTION)
    turn = dataclasses.replace(
        settings, effort="low", max_tokens=max_tokens + reasoning, reasoning_budget=reasoning, overflow=None
    )
    transcript = _transcript(messages)
    room = session.context_length - turn.max_tokens - len(session.render([instructions], turn, None)) - 16
    ids = session.tokenizer.encode(transcript)
    if len(ids) > room:
        transcript = "…" + session.tokenizer.decode(ids[len(ids) - max(1, room) :])
    final = []
    for event in session.generate(
        [instructions, {"role": "user", "content": transcript}], turn, cancel=cancel
    ):
        if isinstance(event, TextDelta) and event.channel == "final":
            final.append(event.text)
    return "".join(final).strip()


def _transcript(messages: list[dict]) -> str:
    """The messages as plain text: "User: ...", "Assistant: ...", a tool's result, an earlier summary."""
    lines = []
    for message in messages:
        role, content = message.get("role"), message.get("content")
        if isinstance(content, list):  # text parts
            content = "".join(part.get("text", "") for part in content if isinstance(part, dict))
        content = (content or "").strip()
        if role == "assistant":
            for call in message.get("tool_calls") or ():
                function = call.get("function", {}) if isinstance(call, dict) else {}
                content += f"\n(called {function.get('name')} with {function.get('arguments')})"
        if not content:
            continue
        label = {
            "user": "User",
            "assistant": "Assistant",
            "tool": f"Tool {message.get('name') or ''}".strip(),
        }
        lines.append(f"{label.get(role, 'Earlier summary')}: {content.strip()}")
    return "\n\n".join(lines)
