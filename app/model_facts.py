"""Where the model runs, in the user's language: the status bar's words for the engine's facts.

The engine describes a loaded model in English (``Transformer.describe``, for the CLI and the log) and as
plain facts (``Transformer.facts``: the device, sizes, shape, context and, when it was placed for a memory
budget, the placement). The worker sends the facts; here they become a short line for the status bar and
every fact, a line each, for its tooltip.
"""

from __future__ import annotations

from PySide6.QtCore import QCoreApplication

from app import formatting

translate = QCoreApplication.translate


def short(facts: dict) -> str:
    """The status bar's line: "GPU · 11.7 GB · 5 of 24 layers in RAM", "CPU · 12.8 GB of weights"."""
    plan = facts.get("plan")
    if plan is None:
        return _fill(
            translate("ModelFacts", "%1 · %2 of weights"),
            _where(facts),
            formatting.memory(facts["weight_bytes"]),
        )
    text = f"{_where(facts)} · {formatting.memory(plan['device_bytes'])}"
    if plan["num_offloaded_layers"]:
        text += " · " + _fill(
            translate("ModelFacts", "%1 of %2 layers in RAM"),
            formatting.count(plan["num_offloaded_layers"]),
            formatting.count(plan["num_layers"]),
        )
    return text


def full(facts: dict) -> str:
    """Every fact, a line each (the status bar's tooltip)."""
    lines = [
        _fill(
            translate("ModelFacts", "Runs on: %1"),
            f"{_where(facts)} ({facts['device']})" if facts["device_type"] == "cuda" else _where(facts),
        ),
        _fill(
            # placed for a budget: the weights in GPU memory, the others (host_bytes) in RAM
            translate("ModelFacts", "Weights on the GPU: %1 (MXFP4 experts: %2)")
            if facts.get("plan") is not None
            else translate("ModelFacts", "Weights: %1 (MXFP4 experts: %2)"),
            formatting.memory(facts["weight_bytes"]),
            formatting.memory(facts["expert_bytes"]),
        ),
    ]
    if facts["host_bytes"]:
        lines.append(
            _fill(translate("ModelFacts", "Weights in RAM: %1"), formatting.memory(facts["host_bytes"]))
        )
    lines.append(
        _fill(
            translate("ModelFacts", "%1 layers, %2 experts (top %3), context %4 tokens"),
            formatting.count(facts["num_layers"]),
            formatting.count(facts["num_experts"]),
            formatting.count(facts["experts_per_token"]),
            formatting.count(facts["context_length"]),
        )
    )
    if facts["dense_cache_bytes"]:
        lines.append(
            _fill(
                translate("ModelFacts", "Dequantized-expert cache: %1"),
                formatting.memory(facts["dense_cache_bytes"]),
            )
        )
    if facts["int8"]:
        lines.append(translate("ModelFacts", "8-bit attention and unembedding"))
    plan = facts.get("plan")
    if plan is not None:
        lines += _placement(plan)
    return "\n".join(lines)


def _placement(plan: dict) -> list[str]:
    lines = [
        _fill(
            translate("ModelFacts", "GPU memory: %1 of a %2 budget"),
            formatting.memory(plan["device_bytes"]),
            formatting.memory(plan["budget_bytes"]),
        )
    ]
    if plan["num_offloaded_layers"]:
        lines.append(
            _fill(
                translate(
                    "ModelFacts", "Experts of %1 of %2 layers in RAM, %3 cache slots for them on the GPU"
                ),
                formatting.count(plan["num_offloaded_layers"]),
                formatting.count(plan["num_layers"]),
                formatting.count(plan["num_slots"]),
            )
        )
    elif plan["embedding_in_ram"]:
        lines.append(translate("ModelFacts", "All experts on the GPU, the embedding in RAM"))
    else:
        lines.append(translate("ModelFacts", "Everything on the GPU"))
    return lines


def _where(facts: dict) -> str:
    """CPU, GPU, or on the CPU a GPU simulated for a budget (a tool for tests)."""
    if facts["device_type"] == "cuda":
        return translate("ModelFacts", "GPU")
    if facts.get("plan") is not None:
        return translate("ModelFacts", "GPU (simulated)")
    return translate("ModelFacts", "CPU")


def _fill(text: str, *values: str) -> str:
    """A translated sentence with %1, %2, ... filled in."""
    for number, value in enumerate(values, start=1):
        text = text.replace(f"%{number}", value)
    return text
