"""The context a model gets when none was chosen: the largest the card holds without offloading experts.

``automatic_context`` plans before loading, for the budget ``load_model`` would use (the caller's, or on
CUDA what is free less a reserve), with the same planner options; ``choices_for`` lists every usual length's
plan for a loaded model's own budget (the app's Settings show them). See engine/placement/context_choice.py.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from engine.placement.context_choice import ContextChoice, context_choices, default_context


def automatic_context(path: str | Path, device="auto", vram_budget: int | str | None = None) -> int:
    """The default context for the model folder ``path`` loaded on ``device`` for ``vram_budget``."""
    import torch

    from engine import kernels
    from engine.io.checkpoint import read_config
    from engine.placement.host_memory import auto_host_memory
    from engine.placement.plan import PlanOptions, auto_budget
    from engine.runtime.loader import budget_bytes, resolve_device

    cfg = read_config(path)  # raises ModelFilesError / UnsupportedModelError
    device = resolve_device(device)
    budget, _ = budget_bytes(vram_budget)
    if device.type == "cuda" and budget is None:
        torch.cuda.empty_cache()
        budget, _ = auto_budget(device)
    options = PlanOptions(device=device.type, fused_kernels=kernels.use_fused(device))
    if device.type == "cuda":  # as load_model plans: pinned experts must leave the desktop room
        options = replace(options, host_memory=auto_host_memory())
    return default_context(cfg, budget, options)


def choices_for(model) -> list[ContextChoice]:
    """Every usual context length's plan at the budget ``model`` was placed for (none on an unbudgeted CPU)."""
    plan = getattr(model, "plan", None)
    budget = plan.budget_bytes if plan is not None else None
    options = replace(plan.options) if plan is not None else None
    return context_choices(model.config, budget, options)
