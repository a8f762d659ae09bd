"""Long conversations in the user's language: a cut reasoning, the engine's notices about it and about a
summary, and the context lengths Settings offers with what each costs on this GPU."""

from __future__ import annotations

from PySide6.QtCore import QCoreApplication

from app import formatting, model_facts

translate = QCoreApplication.translate


def reasoning_cut(usage: dict) -> str:
    """The status line of an answer whose reasoning the engine cut ("loop" | "budget")."""
    if usage.get("reasoning_cut") == "loop":
        return translate(
            "LongContext",
            "Reasoning was cut: it went round in circles. The answer is from what it had worked out. "
            "Continue reasoning lets it think on.",
        )
    return translate(
        "LongContext",
        "Reasoning was cut: it used its budget for this effort (Settings). The answer is from what it had "
        "worked out. Continue reasoning lets it think on.",
    )


def notice(notice) -> str | None:
    """An engine.runtime.session.Notice of this feature's kinds, worded; None for another kind."""
    if notice.kind == "reasoning_cut":
        return reasoning_cut({"reasoning_cut": notice.reason})
    if notice.kind == "summarizing":
        return translate(
            "LongContext", "This chat outgrew the context: the model is summarising its oldest turns first."
        )
    return None


def context_choice(length: int, choice: dict | None) -> str:
    """A context length as Settings lists it: "32,768 tokens — Fits on the GPU: 13.3 GB of GPU memory ..."
    (the planner's placement at that length, in the words of the model manager's fit estimates)."""
    name = translate("LongContext", "%1 tokens").replace("%1", formatting.count(length))
    if choice is None:
        return name
    plan = choice["plan"]
    if not choice["fits"]:
        return name + " — " + translate("LongContext", "does not fit this GPU")
    if plan["budget_bytes"] is None:  # no card: the cache lives in RAM
        return (
            name
            + " — "
            + translate("LongContext", "%1 of memory for the context").replace(
                "%1", formatting.memory(choice["kv_cache_bytes"])
            )
        )
    return name + " — " + model_facts.fit_planned(plan, length)


def context_plan(choice: dict) -> str:
    """What a context length costs on this GPU, as a sentence (beneath Settings' box)."""
    if not choice["fits"]:
        return translate("LongContext", "Does not fit this GPU, even with every expert in RAM.")
    if choice["plan"]["budget_bytes"] is None:
        return translate("LongContext", "%1 of memory for the context").replace(
            "%1", formatting.memory(choice["kv_cache_bytes"])
        )
    return model_facts.fit_planned(choice["plan"], choice["context_length"])


def context_item(length: int, choice: dict | None) -> str:
    """A context length in Settings' box, short: "32,768 tokens · 13.5 GB", "· experts in RAM" when it offloads."""
    name = translate("LongContext", "%1 tokens").replace("%1", formatting.count(length))
    if choice is None:
        return name
    if not choice["fits"]:
        return name + " · " + translate("LongContext", "does not fit")
    if choice["plan"]["budget_bytes"] is None:
        return name + " · " + formatting.memory(choice["kv_cache_bytes"])
    text = name + " · " + formatting.memory(choice["device_bytes"])
    return text + (" · " + translate("LongContext", "experts in RAM") if choice["offloads"] else "")


def automatic(length: int | None) -> str:
    """The box's first item: the largest length that keeps every expert on the GPU (the one loaded now)."""
    if length:
        return translate("LongContext", "Automatic (now %1 tokens)").replace("%1", formatting.count(length))
    return translate("LongContext", "Automatic")
