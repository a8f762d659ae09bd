"""Where the model runs, in the user's language: the status bar's words for the engine's facts.

The engine describes a loaded model in English (``Transformer.describe``, for the CLI and the log) and as
plain facts (``Transformer.facts``: the device, sizes, shape, context and, when it was placed for a memory
budget, the placement). The worker sends the facts; here they become a short line for the status bar and
every fact, a line each, for its tooltip.

Before a model is loaded, the model manager and the welcome screen say where it would run: the engine's
``FitEstimate`` (engine/hub/fit.py) has an English ``reason`` for the CLI and its facts (which case, the
sizes, the planner's placement), which ``fit_estimate`` words.
"""

from __future__ import annotations

from PySide6.QtCore import QCoreApplication

from app import formatting

translate = QCoreApplication.translate


def short(facts: dict) -> str:
    """The status bar's line: "GPU · 11.7 GB · 5 of 24 layers in RAM", "CPU · 12.8 GB of weights"."""
    plan = facts.get("plan")
    if plan is None:
        text = _fill(
            translate("ModelFacts", "%1 · %2 of weights"),
            _where(facts),
            formatting.memory(facts["weight_bytes"]),
        )
    else:
        text = f"{_where(facts)} · {formatting.memory(plan['device_bytes'])}"
        if plan["num_offloaded_layers"]:
            text += " · " + _fill(
                translate("ModelFacts", "%1 of %2 layers in RAM"),
                formatting.count(plan["num_offloaded_layers"]),
                formatting.count(plan["num_layers"]),
            )
    if facts.get("torch_fallback") or facts.get("cpu_kernels") == "torch":
        text += " · " + translate("ModelFacts", "slower PyTorch path")
    elif facts.get("cpu_kernels") == "portable" and facts.get("cpu_fallback"):  # the vector kernels failed
        text += " · " + translate("ModelFacts", "slower portable kernels")
    return text


def remote_short(server: str) -> str:
    """The status bar's line for a model on a server: "Server gpu-box:8000 · the conversation is sent
    there"."""
    return _fill(translate("ModelFacts", "Server %1 · the conversation is sent there"), server)


def remote_full(server: str, url: str, model: str, context_length: int | None) -> str:
    """Every fact of a model on a server, a line each (the status bar's tooltip)."""
    lines = [
        _fill(translate("ModelFacts", "Runs on the server %1 (%2)"), server, url),
        _fill(translate("ModelFacts", "Model: %1"), model),
    ]
    if context_length:
        lines.append(
            _fill(translate("ModelFacts", "Context: %1 tokens"), formatting.count(context_length))
        )
    lines.append(translate("ModelFacts", "Each message is sent there with the conversation before it."))
    lines.append(translate("ModelFacts", "The chats stay saved on this computer only."))
    return "\n".join(lines)


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
    if facts.get("torch_fallback"):
        # the engine's reason stays in English: it names packages and GPUs, and the log has the same words
        lines.append(
            _fill(
                translate("ModelFacts", "Without the Triton GPU kernels, so answers are slower: %1"),
                facts["torch_fallback"],
            )
        )
    if facts.get("cpu_fallback") or facts.get("cpu_kernels") == "torch":  # only a slower set is news
        lines.append(_cpu_kernels(facts["cpu_kernels"], facts.get("cpu_fallback")))
    return "\n".join(lines)


def _cpu_kernels(kind: str, fallback: str | None) -> str:
    """The tooltip's line for the experts' kernels on the CPU (engine/runtime/cpu_kernels.py's facts); the
    reason a slower set runs stays in English, like the Triton one."""
    if kind == "portable" and fallback:
        return _fill(translate("ModelFacts", "CPU kernels: portable code (slower): %1"), fallback)
    if kind == "torch" and fallback:
        return _fill(translate("ModelFacts", "CPU kernels: PyTorch path (slower): %1"), fallback)
    if kind == "torch":
        return translate("ModelFacts", "CPU kernels: PyTorch path (slower)")
    return _fill(translate("ModelFacts", "CPU kernels: %1"), kind)  # a set added to the engine later


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


def catalog_description(entry) -> str:
    """A catalog entry's one line (engine.hub.catalog.CatalogEntry), in the user's language for the built-in
    models; the catalog's own English for any other."""
    words = {
        "gpt-oss-20b": translate(
            "ModelFacts", "21B parameters, 3.6B active; runs on a 16 GB GPU, or with experts in RAM on less"
        ),
        "gpt-oss-120b": translate(
            "ModelFacts", "117B parameters, 5.1B active; needs an 80 GB GPU, or experts in a lot of RAM"
        ),
    }
    if entry.builtin and entry.name in words:
        return words[entry.name]
    return entry.description


def fit_estimate(estimate) -> str:
    """Where a model would run on this machine (an engine.hub.fit.FitEstimate), as a sentence or two: "Fits
    on the GPU: 14.0 GB of GPU memory at 16,384 tokens of context.", "Needs 13.8 GB of disk space; ..."."""
    from engine.hub.fit import (  # loaded with the estimate
        CPU_ONLY,
        NO_DISK,
        NO_RAM,
        NO_RAM_FOR_EXPERTS,
        ON_GPU,
        PLANNED,
        SOME_IN_RAM,
    )

    if estimate.kind == PLANNED:
        return _planned(estimate.plan, estimate.context_length)
    if estimate.kind == ON_GPU:
        return _fill(translate("ModelFacts", "Fits on the GPU (%1)."), formatting.memory(estimate.vram))
    if estimate.kind == SOME_IN_RAM:
        return _fill(
            translate("ModelFacts", "Runs on the GPU (%1) with some experts in RAM."),
            formatting.memory(estimate.vram),
        )
    if estimate.kind == CPU_ONLY:
        where = (
            translate("ModelFacts", "Runs on the CPU only: no GPU was found.")
            if estimate.vram is None
            else _fill(
                translate("ModelFacts", "Runs on the CPU only: it is too big for the GPU (%1)."),
                formatting.memory(estimate.vram),
            )
        )
        return where + " " + translate("ModelFacts", "Expect a few tokens a second.")
    if estimate.kind == NO_RAM:
        return _fill(
            translate("ModelFacts", "Needs about %1 of RAM; this computer has %2."),
            formatting.memory(estimate.needed_bytes),
            formatting.memory(estimate.available_bytes),
        )
    if estimate.kind == NO_RAM_FOR_EXPERTS:
        return _fill(
            translate(
                "ModelFacts",
                "Does not fit: with this GPU (%1) about %2 of experts stay in RAM, and this computer can spare "
                "%3 of RAM for them.",
            ),
            formatting.memory(estimate.vram),
            formatting.memory(estimate.needed_bytes),
            formatting.memory(estimate.available_bytes),
        )
    if estimate.kind == NO_DISK:  # disk space in decimal units, as disks and downloads are labelled
        return _fill(
            translate("ModelFacts", "Needs %1 of disk space; %2 is free."),
            formatting.size(estimate.needed_bytes),
            formatting.size(estimate.available_bytes),
        )
    return estimate.reason[:1].upper() + estimate.reason[1:] + "."  # a case added later: the engine's words


def fit_planned(plan: dict, context_length: int) -> str:
    """The planner's placement at a context length, in the words of ``fit_estimate`` (Settings' lengths)."""
    return _planned(plan, context_length)


def _planned(plan: dict, context_length: int) -> str:
    """The planner's placement at a context length (engine.placement.plan.Plan.facts)."""
    memory, context = formatting.memory(plan["device_bytes"]), formatting.count(context_length)
    if plan["num_offloaded_layers"]:
        return _fill(
            translate(
                "ModelFacts",
                "Runs on the GPU with the experts of %1 of %2 layers in RAM: %3 of GPU memory at %4 tokens "
                "of context.",
            ),
            formatting.count(plan["num_offloaded_layers"]),
            formatting.count(plan["num_layers"]),
            memory,
            context,
        )
    if plan["embedding_in_ram"]:
        text = translate(
            "ModelFacts", "Fits on the GPU, the embedding in RAM: %1 of GPU memory at %2 tokens of context."
        )
    else:
        text = translate("ModelFacts", "Fits on the GPU: %1 of GPU memory at %2 tokens of context.")
    return _fill(text, memory, context)


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
