"""A conversation-level API: one turn of chat as a stream of events, reusing the KV cache between turns.

One turn: render the conversation with harmony -> keep the longest prefix already in the KV cache ->
prefill only the rest -> decode token by token -> parse -> events. The GUI, the CLI and a future
local API server all drive the engine through this class.

A turn may also continue an answer that was cut short (Stop, the token limit, a crash): the answer so far
goes after ``<|start|>assistant`` with its last message left open, and the model goes on writing it.

Besides the harmony events (engine/text/harmony/events.py) a turn may yield a ``Notice``: something the user
should know that is not the model's text: the GPU ran out of memory while generating, so the model was
placed again with more experts in host memory (or a shorter context) and the step repeated; the reasoning
was cut (engine/runtime/reasoning_guard.py: a loop or the budget; the session then opens the final channel
itself); a kernel failed (Triton on a GPU, a set of the CPU's kernels: engine/runtime/cpu_kernels.py), so
a slower path runs now; the conversation no longer fits and is being summarised (engine/runtime/overflow.py,
whose ``ContextFitted`` event says which messages the prompt left out).
"""

from __future__ import annotations

import gc
import logging
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import torch

from engine import kernels
from engine.errors import ContextFullError, NonFiniteLogitsError, OutOfMemoryError
from engine.notices import Notice
from engine.offload.build import replan_model
from engine.runtime import cpu_kernels, overflow
from engine.runtime.reasoning_guard import (
    FORCE_FINAL,
    Cut,
    ReasoningGuard,
    cut_notice,
    default_budget,
    turn_budget,
)
from engine.runtime.sampling import NON_FINITE, NON_FINITE_MESSAGE, SamplingParams, draw, make_generator
from engine.text.harmony import STOP_TOKENS, StreamParser, continuation, render_continuation, render_prompt
from engine.text.harmony.events import Event, TextDelta, TurnEnd
from engine.text.tokenizer import load_tokenizer

EFFORTS = ("low", "medium", "high")

# (completion ids so far, logits [V]) -> logits [V]: a caller's say in the next token (engine/server)
LogitsProcessor = Callable[[list[int], torch.Tensor], torch.Tensor]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class GenerationSettings:
    effort: str = "medium"
    temperature: float = 1.0
    top_p: float = 1.0
    top_k: int = 0  # sample from the k most likely tokens only; 0: off
    max_tokens: int = 4096  # completion tokens, analysis included
    seed: int | None = None
    date: str | None = None  # the system message's current date; today when None
    # reasoning tokens before the answer is forced (engine/runtime/reasoning_guard.py): None the effort's
    # default, 0 no budget (a loop is still cut)
    reasoning_budget: int | None = None
    overflow: str | None = None  # "drop" | "summarize" | "stop" (engine/runtime/overflow.py); None: neither

    def __post_init__(self) -> None:
        if self.effort not in EFFORTS:
            raise ValueError(f"effort must be one of {EFFORTS}, got {self.effort!r}")
        if self.max_tokens < 1:
            raise ValueError(f"max_tokens must be >= 1, got {self.max_tokens}")
        SamplingParams(self.temperature, self.top_p, self.top_k)  # validates
        if self.reasoning_budget is not None and self.reasoning_budget < 0:
            raise ValueError(f"reasoning_budget must be >= 0, got {self.reasoning_budget}")
        if self.overflow is not None and self.overflow not in overflow.POLICIES:
            raise ValueError(f"overflow must be one of {overflow.POLICIES}, got {self.overflow!r}")


@dataclass
class Usage:
    prompt_tokens: int = 0
    cached_tokens: int = 0  # prompt tokens whose KV was reused from the previous turn
    completion_tokens: int = 0
    reasoning_tokens: int = 0  # completion tokens spent in the analysis channel
    ttft_s: float = 0.0  # from the call to the first generated token
    prefill_s: float = 0.0
    decode_s: float = 0.0
    context_used: int = 0
    context_max: int = 0
    reasoning_cut: str | None = None  # "loop" | "budget": the engine ended the reasoning, forced the answer

    @property
    def decode_tok_s(self) -> float:
        # The first token comes from prefill; the rest are decode steps.
        steps = self.completion_tokens - 1
        return steps / self.decode_s if steps > 0 and self.decode_s > 0 else 0.0

    def as_dict(self) -> dict:
        return {
            "prompt_tokens": self.prompt_tokens,
            "cached_tokens": self.cached_tokens,
            "completion_tokens": self.completion_tokens,
            "reasoning_tokens": self.reasoning_tokens,
            "ttft_s": round(self.ttft_s, 4),
            "prefill_s": round(self.prefill_s, 4),
            "decode_s": round(self.decode_s, 4),
            "decode_tok_s": round(self.decode_tok_s, 2),
            "context_used": self.context_used,
            "context_max": self.context_max,
            "reasoning_cut": self.reasoning_cut,
        }


@dataclass
class TurnRecord:
    """What the last turn did, for callers that inspect it (tests, the GUI's prompt view)."""

    prompt_ids: list[int] = field(default_factory=list)
    completion_ids: list[int] = field(default_factory=list)


class ChatSession:
    """Holds a loaded model and its KV cache; not thread-safe: one turn at a time, from one thread."""

    def __init__(self, model, tokenizer=None, context_length: int | None = None) -> None:
        self.model = model
        self.tokenizer = tokenizer or load_tokenizer()
        self.context_length = int(context_length or model.context_length)
        self.cache = model.new_cache(self.context_length)
        self._cached_ids: list[int] = []  # the tokens whose keys and values the cache holds, in order
        self.last_usage = Usage(context_max=self.context_length)
        self.last_turn = TurnRecord()
        self._stop_ids = set(STOP_TOKENS)
        self._notices: list[Notice] = []  # raised by _forward, yielded by generate
        self._kernels_failed = kernels._disabled  # a Triton failure seen already (a notice is given once)
        self._cpu_kernels = cpu_kernels.FailureWatch()  # the CPU's kernel sets whose failure was told

    def reset(self) -> None:
        self.cache.reset()
        self._cached_ids = []

    def render(self, messages: list[dict], settings: GenerationSettings, tools: list[dict] | None = None):
        return render_prompt(messages, effort=settings.effort, date=settings.date, tools=tools)

    def generate(
        self,
        messages: list[dict],
        settings: GenerationSettings | None = None,
        tools: list[dict] | None = None,
        cancel: threading.Event | None = None,
        *,
        continue_from: dict | None = None,
        logits_processor: LogitsProcessor | None = None,
    ) -> Iterator[Event | Notice]:
        """Yield harmony events as tokens arrive (and a Notice when the engine had to change how it runs);
        the last event is always a TurnEnd carrying the usage.

        ``continue_from`` goes on with an answer cut short instead of starting a new one: the assistant
        message as written so far (``reasoning`` and ``content``), which is not in ``messages``. The events
        then carry only the new text, starting in the channel the answer stopped in (no MessageStart for
        it), and the usage counts only new tokens. An answer with no text is answered anew.

        ``logits_processor(completion_ids, logits) -> logits``, when given, sees each step's logits [V]
        before sampling, with the tokens generated so far this turn; the API server masks tokens with it
        (JSON output, forced tool calls). Greedy and seeded sampling stay exact on what it returns.
        """
        settings = settings or GenerationSettings()
        started = time.perf_counter()
        if settings.overflow is not None:  # a conversation too long drops or summarises its oldest turns
            messages = yield from overflow.fit(self, messages, settings, tools, continue_from, cancel)
        prompt = self.render(messages, settings, tools)
        parts = continuation(continue_from)  # checked before any compute, like the messages
        answer = self._answer_so_far(prompt, parts) if parts else []
        prompt += answer
        if len(prompt) >= self.context_length:
            raise ContextFullError(
                f"The conversation is {len(prompt):,} tokens long but the context holds {self.context_length:,}. "
                "Start a new conversation, delete earlier messages, or raise the context length in Settings."
            )
        max_new = min(settings.max_tokens, self.context_length - len(prompt))
        usage = Usage(prompt_tokens=len(prompt), context_max=self.context_length)
        record = TurnRecord(prompt_ids=list(prompt))
        self.last_usage, self.last_turn = usage, record

        reused = self._reuse_prefix(prompt)
        usage.cached_tokens = reused
        params = SamplingParams(settings.temperature, settings.top_p, settings.top_k)
        generator = make_generator(settings.seed, self.model.device)  # draws stay on the model's device
        parser = StreamParser(self.tokenizer)
        for token in answer:  # the parser starts where the answer stopped: inside its open message
            parser.feed(token)
        reason = "length"
        budget = settings.reasoning_budget
        budget = default_budget(settings.effort) if budget is None else budget
        guard = ReasoningGuard(turn_budget(budget, max_new))
        try:
            logits = self._forward(prompt[reused:])
            yield from self._take_notices()
            usage.prefill_s = time.perf_counter() - started
            decode_started = time.perf_counter()
            for step in range(max_new):
                if cancel is not None and cancel.is_set():
                    reason = "cancelled"
                    break
                model_logits = logits
                if logits_processor is not None:  # its -inf masks are no fault of the model's
                    logits = logits_processor(record.completion_ids, logits)
                token = self._pick(logits, params, generator, model_logits)
                if step == 0:
                    usage.ttft_s = time.perf_counter() - started
                    decode_started = time.perf_counter()
                record.completion_ids.append(token)
                usage.completion_tokens += 1
                if parser.current_channel == "analysis":
                    usage.reasoning_tokens += 1
                turn_end = None
                for event in parser.feed(token):
                    if isinstance(event, TurnEnd):
                        turn_end = event
                    else:
                        yield event
                if turn_end is not None or token in self._stop_ids:
                    reason = turn_end.reason if turn_end is not None else "return"
                    break
                if step + 1 < max_new:
                    cut = guard.feed(token, parser.current_channel)
                    forced = (yield from self._cut_reasoning(cut, parser, usage)) if cut else []
                    if self.cache.num_tokens + 1 + len(forced) > self.cache.max_tokens:  # an OOM shrank it
                        break
                    record.completion_ids += forced
                    logits = self._forward([token, *forced])
                    yield from self._take_notices()
            usage.decode_s = time.perf_counter() - decode_started
        except torch.cuda.OutOfMemoryError as error:
            self.reset()
            raise OutOfMemoryError(
                "The GPU ran out of memory while generating. Lower the context length or the VRAM budget "
                "in Settings, or close other programs that use the GPU."
            ) from error
        except Exception:
            # A forward pass may have stopped half-way through the cache: start the next turn clean.
            self.reset()
            raise
        finally:
            usage.context_used = self.cache.num_tokens
            usage.context_max = self.context_length
        for event in parser.finish():
            if not isinstance(event, TurnEnd):
                yield event
        yield TurnEnd(reason=reason, usage=usage)

    def _cut_reasoning(self, cut: Cut, parser: StreamParser, usage: Usage) -> Iterator[Event | Notice]:
        """The guard cut the reasoning: end the analysis message and open the final one, as if the model had
        (a generator: yields a Notice and the parser's events, returns the tokens to add; [] without room)."""
        if self.cache.num_tokens + 1 + len(FORCE_FINAL) > self.cache.max_tokens:
            return []
        usage.reasoning_cut = cut.reason
        log.info("reasoning cut (%s) after %d tokens", cut.reason, cut.reasoning_tokens)
        yield cut_notice(cut)
        for token in FORCE_FINAL:
            yield from parser.feed(token)
        return list(FORCE_FINAL)

    def _answer_so_far(self, base: list[int], parts: list) -> list[int]:
        """The tokens of a partial answer, to follow ``base`` (which ends in ``<|start|>assistant``).

        When the last turn wrote it (it was stopped or hit the token limit just now), the model's own tokens
        are the answer so far, exactly as written: a model's tokens need not be the ones the tokenizer would
        choose, nor its headers well-formed. The cache still holds them, so almost nothing is prefilled.
        Otherwise (another turn came between, the app was restarted, it stopped inside a header) the answer
        is rendered from its text.
        """
        rendered = render_continuation(parts, self.tokenizer)
        seen = self.last_turn.prompt_ids + self.last_turn.completion_ids
        if seen and seen[-1] in self._stop_ids:  # a finished answer: go on from before its <|return|>
            seen = seen[:-1]
        written = seen[len(base) :]
        if (
            written
            and seen[: len(base)] == base
            and _read(written, self.tokenizer) == _read(rendered, self.tokenizer)
        ):
            return written
        return rendered

    def _reuse_prefix(self, prompt: list[int]) -> int:
        """Truncate the cache to the longest prefix it shares with ``prompt``; return its length."""
        shared = 0
        limit = min(len(self._cached_ids), len(prompt) - 1)  # prefill needs at least one new token
        while shared < limit and self._cached_ids[shared] == prompt[shared]:
            shared += 1
        self.cache.truncate(shared)
        del self._cached_ids[shared:]
        return shared

    def _forward(self, ids: list[int]) -> torch.Tensor:
        """Logits [V] after ``ids``; on a GPU out-of-memory in a model placed for a budget, place it again with
        less on the device (a Notice says so) and repeat the step once."""
        try:
            return self._forward_once(ids)
        except torch.OutOfMemoryError:
            if not self._can_replan():
                raise
        # Out of the except block: the traceback, which holds the failed step's tensors, is gone.
        return self._forward_once(self._recover(ids))

    def _note_kernel_failure(self) -> None:
        """A Triton kernel failed during this step (engine.kernels fell back to PyTorch for the process, and
        logged why): a Notice tells the user once, since answers now come more slowly."""
        if kernels._disabled is not None and self._kernels_failed is None:
            self._kernels_failed = kernels._disabled
            self._notices.append(
                Notice(
                    "The GPU kernels (Triton) failed, so Gossamer now uses the slower PyTorch path on the "
                    f"GPU ({kernels._disabled}). Answers may be slower.",
                    "torch_fallback",
                )
            )

    def _forward_once(self, ids: list[int]) -> torch.Tensor:
        # ids stay in host memory: the model checks them there and moves them without waiting on the device
        tokens = torch.tensor(ids, dtype=torch.long)
        logits = self.model.forward(tokens, self.cache, last_only=True)
        self._note_kernel_failure()
        if self.model.device.type == "cpu":  # a CPU kernel set failed in this step: a Notice each, once
            self._notices += self._cpu_kernels.new_notices()
        self._cached_ids.extend(ids)
        return logits[-1]

    def _pick(self, logits: torch.Tensor, params: SamplingParams, generator, model_logits=None) -> int:
        """The next id, drawn on the device; reading it is the step's one host sync, and it carries the check
        that the model's logits were finite (a NaN or an infinity stops the turn: NonFiniteLogitsError)."""
        token = int(draw(logits, params, generator, model_logits).item())
        if token == NON_FINITE:
            raise NonFiniteLogitsError(NON_FINITE_MESSAGE.format(name=self._model_name()))
        return token

    def _model_name(self) -> str:
        """The model's folder name, as the model manager knows it (an original/ layout's parent)."""
        checkpoint = getattr(self.model, "checkpoint", None)
        directory = getattr(getattr(checkpoint, "layout", None), "directory", None)
        if directory is None:
            return "NAME"
        return directory.parent.name if directory.name == "original" else directory.name

    def _can_replan(self) -> bool:
        plan = getattr(self.model, "plan", None)
        checkpoint = getattr(self.model, "checkpoint", None)  # replan_model reads experts from its mappings
        return plan is not None and plan.budget_bytes is not None and checkpoint is not None

    def _recover(self, ids: list[int]) -> list[int]:
        """Re-place the model after an out-of-memory in a step that was to add ``ids``; returns the ids to run
        again (more than ``ids`` when the cache had to be rebuilt). Raises OutOfMemoryError (engine.errors,
        worded for the user) when no placement fits, ContextFullError when the conversation no longer does."""

        gc.collect()
        notice = replan_model(self.model)  # frees the old placement first, then places anew
        log.warning("out of memory while generating; re-planned: %s", notice.text)
        self._notices.append(notice)
        kept = len(self._cached_ids)  # what the cache held before the failed step
        if self.model.context_length < self.cache.max_tokens:  # a shorter context: a new, smaller cache
            if kept + len(ids) > self.model.context_length:
                raise ContextFullError(
                    f"The GPU ran out of memory and the context is now {self.model.context_length:,} tokens, "
                    f"shorter than this conversation ({kept + len(ids):,}). Start a new conversation."
                )
            self.cache = None
            gc.collect()
            self.context_length = self.model.context_length
            self.cache = self.model.new_cache(self.context_length)
            replay, self._cached_ids = self._cached_ids + ids, []
            return replay
        if self.cache.num_tokens >= kept:  # drop what the failed step wrote (exact: see KVCache.truncate)
            self.cache.truncate(kept)
            return ids
        replay, self._cached_ids = self._cached_ids + ids, []  # it failed inside a replay from position 0
        self.cache.reset()
        return replay

    def _take_notices(self) -> list[Notice]:
        notices, self._notices = self._notices, []
        return notices


def _read(tokens: list[int], tokenizer) -> tuple[str, str]:
    """(analysis, other text) that the stream has shown after ``tokens``, before any ``finish()``.

    Without finish: text it would add (a header cut short read as text, a cut UTF-8 character) was saved by
    the reader but would come again, or differently, once the model goes on; such an answer must not be
    continued from these tokens.
    """
    parser = StreamParser(tokenizer)
    texts = [event for token in tokens for event in parser.feed(token) if isinstance(event, TextDelta)]
    analysis = "".join(event.text for event in texts if event.channel == "analysis")
    return analysis, "".join(event.text for event in texts if event.channel != "analysis")
