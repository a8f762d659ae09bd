"""Runaway reasoning: a loop in the analysis channel, or more reasoning than the turn's budget.

Users of other gpt-oss apps report that at high effort the model sometimes reasons in circles and never
answers (ollama #12606, #13410). ``ReasoningGuard`` watches the analysis channel of one turn, fed one
token at a time with the channel it was written in, and says when to stop reasoning:
- "loop": the same ``ngram`` tokens came back ``repeats`` times, each occurrence apart from the last one
  counted (so a run of one repeated token must be ``repeats * ngram`` long before it counts);
- "budget": the turn spent its reasoning budget.
The session then ends the analysis message and opens the final channel itself (``FORCE_FINAL``), so the
model writes an answer from what it has reasoned so far.

Default budgets are a backstop, not a normal limit: they sit far above what a chat answer usually takes at
each effort (the model card's CoT lengths grow from hundreds of tokens at low effort to thousands at high)
and bound a runaway to about 20 s / 80 s / 5 min at 100 tokens a second (a 16 GB card). The loop detector
catches the common failure much sooner. Pure Python, no torch: tests feed it scripted token streams.
"""

from __future__ import annotations

from dataclasses import dataclass

from engine.notices import Notice
from engine.text.tokenizer import Special

# reasoning tokens allowed per turn, by effort (see above); 0 or None turns the budget off
DEFAULT_BUDGETS = {"low": 2048, "medium": 8192, "high": 32768}
LOOP_NGRAM = 32  # tokens: about two sentences; shorter phrases recur in healthy reasoning ("Let's check")
LOOP_REPEATS = 4  # a 32-token passage written four times over is a loop, never a recap
# What the session appends to end the analysis message and open the answer (harmony's own tokens):
# <|end|><|start|>assistant<|channel|>final<|message|>
ASSISTANT, FINAL = 173781, 17196  # "assistant", "final" in o200k_harmony
FORCE_FINAL = (Special.END, Special.START, ASSISTANT, Special.CHANNEL, FINAL, Special.MESSAGE)
# Room kept for the answer when the budget is near the turn's token limit: without it a long reasoning
# would end at the limit ("length") with no answer at all.
ANSWER_ROOM_MAX = 1024
ANSWER_ROOM_FRACTION = 4  # at most a quarter of the turn's tokens


@dataclass(frozen=True)
class Cut:
    """Reasoning was cut: ``reason`` "loop" or "budget", after ``reasoning_tokens`` tokens of it."""

    reason: str
    reasoning_tokens: int


def cut_notice(cut: Cut) -> Notice:
    """What the session yields when it cuts the reasoning (the CLI prints its text; the app words its facts)."""
    why = "it went round in a loop" if cut.reason == "loop" else "it reached its budget"
    text = f"Reasoning was cut after {cut.reasoning_tokens:,} tokens ({why}); the model answers now."
    return Notice(text, "reasoning_cut", reason=cut.reason, tokens=cut.reasoning_tokens)


def default_budget(effort: str) -> int:
    return DEFAULT_BUDGETS.get(effort, DEFAULT_BUDGETS["medium"])


def turn_budget(budget: int | None, max_new: int) -> int | None:
    """The budget for a turn of at most ``max_new`` tokens: ``budget``, lowered to leave room for an answer
    (a quarter of the turn, at most ANSWER_ROOM_MAX tokens). None: no budget."""
    room = min(ANSWER_ROOM_MAX, max_new // ANSWER_ROOM_FRACTION)
    limits = [max_new - room] + ([budget] if budget else [])
    return max(1, min(limits)) if max_new > room + len(FORCE_FINAL) else None


class ReasoningGuard:
    """Feed it every generated token with the channel it was written in; ``feed`` returns a Cut once."""

    def __init__(self, budget: int | None, *, ngram: int = LOOP_NGRAM, repeats: int = LOOP_REPEATS) -> None:
        assert ngram >= 1 and repeats >= 2, (ngram, repeats)
        self.budget = budget if budget and budget > 0 else None
        self.ngram, self.repeats = ngram, repeats
        self.reasoning_tokens = 0
        self.cut: Cut | None = None
        self._tokens: list[int] = []  # the analysis tokens so far, every analysis message of the turn
        # the end positions of each n-gram's counted occurrences, by the n-gram (hash-collision safe: a dict)
        self._seen: dict[tuple[int, ...], list[int]] = {}

    def feed(self, token: int, channel: str | None) -> Cut | None:
        """``channel``: the channel ``token`` was written in (None in a header). A Cut when reasoning must
        stop now; after one, the guard says nothing more."""
        if self.cut is not None or channel != "analysis":
            return None
        self.reasoning_tokens += 1
        self._tokens.append(token)
        if self._looping():
            self.cut = Cut("loop", self.reasoning_tokens)
        elif self.budget is not None and self.reasoning_tokens >= self.budget:
            self.cut = Cut("budget", self.reasoning_tokens)
        return self.cut

    def _looping(self) -> bool:
        end = len(self._tokens)
        if end < self.ngram:
            return False
        key = tuple(self._tokens[end - self.ngram :])
        ends = self._seen.setdefault(key, [])
        if ends and end - ends[-1] < self.ngram:  # overlaps the last occurrence: one run, not a repeat
            return False
        ends.append(end)
        return len(ends) >= self.repeats
