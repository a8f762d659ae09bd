"""The context the card can hold: each usual context length's plan, and the default a first load takes.

Apps that pick a small context without saying so (Ollama: 4k below 24 GB) leave most cards' memory unused;
apps that pick the model's 131,072 tokens push experts into RAM and run slower. The default here is the
largest of ``CHOICES`` whose plan keeps every expert on the GPU; when even the smallest offloads, the smallest
(every token of context costs experts then). Without a budget (the CPU: no card to fit) it is
``UNBUDGETED_CONTEXT``: the CPU prefills a few hundred tokens a second, so a longer context only costs RAM
until a conversation is hours long. The app shows every choice with its plan (``Plan.facts``) in Settings.
"""

from __future__ import annotations

from dataclasses import dataclass

from engine.config import ModelConfig
from engine.placement.plan import PlanOptions, make_plan

CHOICES = (8192, 16384, 32768, 65536, 131072)
UNBUDGETED_CONTEXT = 16384


@dataclass(frozen=True)
class ContextChoice:
    context_length: int
    fits: bool  # some placement works at this budget
    offloads: bool  # experts of some layers would live in host memory
    device_bytes: int  # what the plan puts in device memory
    kv_cache_bytes: int  # of that, the KV cache for this context
    plan: dict  # Plan.facts(), for words (app/model_facts.py)

    def as_dict(self) -> dict:
        return {
            "context_length": self.context_length,
            "fits": self.fits,
            "offloads": self.offloads,
            "device_bytes": self.device_bytes,
            "kv_cache_bytes": self.kv_cache_bytes,
            "plan": self.plan,
        }


def context_choices(
    cfg: ModelConfig, budget: int | None, options: PlanOptions | None = None
) -> list[ContextChoice]:
    """The plan at each of ``CHOICES`` the model supports (its own longest context when shorter than all)."""
    lengths = [n for n in CHOICES if n <= cfg.max_position_embeddings] or [cfg.max_position_embeddings]
    choices = []
    for length in lengths:
        plan = make_plan(cfg, budget, length, options=options)
        choices.append(
            ContextChoice(
                length,
                plan.fits,
                plan.fits and plan.offloads,
                plan.total_device_bytes,
                plan.device_bytes["kv_cache"],
                plan.facts(),
            )
        )
    return choices


def default_context(cfg: ModelConfig, budget: int | None, options: PlanOptions | None = None) -> int:
    """The context a first load takes for ``budget`` bytes of device memory (see the module's words)."""
    choices = context_choices(cfg, budget, options)
    if budget is None:
        return min(UNBUDGETED_CONTEXT, choices[-1].context_length)
    resident = [c.context_length for c in choices if c.fits and not c.offloads]
    return resident[-1] if resident else choices[0].context_length
