"""``load_model``: a validated checkpoint becomes a ready ``Transformer`` on the chosen device, its weights
placed by a plan (engine/placement/plan.py) for the device's memory.

Nothing is allocated twice: on CPU every weight is a view of the memory-mapped files (pages come in
as they are first used and belong to the page cache), on CUDA each tensor is copied from its mapping
to the device and its pages are dropped again, so host memory stays flat. Expert weights stay packed
as MXFP4 everywhere; ``DenseCache`` keeps a bounded number of dequantized ones (512 MiB by default on
CPU, none on CUDA where dequantizing on the fly is cheap next to the memory it would take).

On CUDA the plan is made for a budget: the caller's, or what is free on the device less a reserve. Experts
that do not fit stay in (pinned) host memory and are copied to the device when routed (engine/offload/pool.py).
On the CPU a budget is simulated: the same placement and copies, counted in bytes (tests, planning).
"""

from __future__ import annotations

import functools
import gc
import logging
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import torch

from engine import kernels
from engine.errors import EngineError, OutOfMemoryError
from engine.io.checkpoint import Checkpoint
from engine.kernels import cpu_mxfp4
from engine.layers.int8_linear import quantize_model
from engine.model import Transformer
from engine.notices import Notice
from engine.offload.build import load_planned
from engine.offload.hybrid import resolve_mode
from engine.placement.device import DEFAULT_DENSE_CACHE_BYTES, resolve_device  # noqa: F401  (callers' names)
from engine.placement.host_memory import auto_host_memory
from engine.placement.memory import parse_size
from engine.placement.plan import Plan, PlanOptions, auto_budget, make_plan, replan_after_oom
from engine.runtime import decode_graph
from engine.runtime.settle import settle

log = logging.getLogger(__name__)
_fallbacks_told: set[tuple[str, str]] = set()  # (device, reason) already in the log: said once a process


def load_model(
    path: str | Path,
    device: str | torch.device | None = "cpu",
    vram_budget: int | str | None = None,
    context_length: int | None = None,
    dense_cache_bytes: int | None = None,
    *,
    notify: Callable[[Notice], None] | None = None,
    plan_options: PlanOptions | None = None,
    int8_weights: bool = False,
    cuda_graphs: bool | None = None,
    host_experts: str | None = None,
) -> Transformer:
    """Validate every tensor of the model folder ``path``, plan where the weights go, build the model.

    vram_budget: bytes (or a size such as "12GiB") of device memory the model may use; None or "auto" on
    CUDA: what is free now less a reserve; on the CPU, a size simulates a GPU of that budget, None places
    everything in memory. Raises OutOfMemoryError (saying what would fit) when the weights cannot be placed.
    notify(notice): told (an engine.notices.Notice) when an out-of-memory while loading made the plan
    offload more.
    plan_options: PlanOptions for the planner (its device and fused_kernels are set here).
    int8_weights: quantize the attention projections and the unembedding to 8 bits on the device
    (engine/layers/int8_linear.py; off by default until measured on GPUs). The plan still counts them in bf16.
    cuda_graphs: decode steps as CUDA graphs (engine/runtime/decode_graph.py) where the placement allows; None
    (the default): on, on CUDA, unless GOSSAMER_CUDA_GRAPHS=0. True on another device logs why not.
    host_experts: experts in host memory that a step needs and no device slot holds are "copy" (copied in),
    "cpu" (computed on the CPU) or "auto" (whichever this machine computes faster, per step:
    engine/offload/hybrid.py); None: GOSSAMER_HOST_EXPERTS, else auto. A wrong value is an EngineError.
    """
    host_experts = resolve_mode(host_experts)  # before the long part: a typo fails at once
    device = resolve_device(device)
    checkpoint = Checkpoint.open(path)  # raises ModelFilesError / UnsupportedModelError
    try:
        checkpoint.check_scales()  # bytes the fused kernels cannot hold mean damaged files
        plan = plan_model(checkpoint, device, vram_budget, context_length, plan_options, Path(path).name)
        if not plan.fits:
            raise OutOfMemoryError(plan.problem)
        # the checkpoint stays open with the model: replan_model re-reads experts from its mappings
        model = load_with_replan(
            path, device, plan, checkpoint=checkpoint, dense_cache_bytes=dense_cache_bytes, notify=notify,
            host_experts=host_experts,
        )
        if int8_weights:
            quantize_model(model)
        tell_torch_fallback(model)
        if device.type == "cpu":  # the streamed weights into huge pages, before the first step (or sooner)
            model.before_first_step = functools.partial(settle, model)
        if device.type == "cpu" and kernels.cpu_available():
            # numba compiles the CPU kernels on their first call (about a minute on a fresh install, then
            # read from its disk cache in a second): here, while the app says the model is loading, rather
            # than silently inside the first answer
            try:
                cpu_mxfp4.warm_up()
            except Exception:
                if cpu_mxfp4.available():
                    raise
                # the kernels failed on this machine (logged): the torch path answers instead
        # the default asks only where graphs exist; an explicit True elsewhere logs why not
        if decode_graph.requested(cuda_graphs) and (cuda_graphs or device.type == "cuda"):
            decode_graph.enable(model)  # logs why not, when the placement does not allow it
        return model
    except BaseException:
        checkpoint.close()
        raise


def load_with_replan(
    path: str | Path,
    device,
    plan: Plan,
    *,
    max_tries: int = 3,
    notify: Callable[[Notice], None] | None = None,
    **kwargs,
):
    """``load_planned``; after a CUDA out-of-memory, free what was allocated, re-plan with more offload (or a
    shorter context), tell ``notify`` why, and try again. Raises engine.errors.OutOfMemoryError at the end.
    The notices compare with the plan asked for: a context shortened by an earlier try stays shortened."""
    asked = plan
    for attempt in range(max_tries + 1):
        try:
            return load_planned(path, device, plan, **kwargs)
        except torch.OutOfMemoryError:
            gc.collect()
            torch.cuda.empty_cache()
            if attempt == max_tries:
                raise OutOfMemoryError(
                    f"The GPU ran out of memory {max_tries + 1} times loading the model. Close "
                    "other programs using the GPU, lower the memory setting, or use the CPU."
                ) from None
            plan, message = replan_after_oom(plan)
            if notify is not None:
                notify(Notice.replanned(asked, plan, message))
    raise AssertionError("unreachable")


def plan_model(
    checkpoint: Checkpoint,
    device: torch.device,
    vram_budget: int | str | None,
    context_length: int | None,
    options: PlanOptions | None = None,
    name: str = "gpt-oss",
) -> Plan:
    """The plan ``load_model`` follows (see there for the budget's forms)."""
    budget, source = budget_bytes(vram_budget)
    if device.type == "cuda" and budget is None:
        torch.cuda.empty_cache()  # memory our allocator caches counts as used in mem_get_info
        budget, _ = auto_budget(device)
        source = "auto"
    options = replace(options or PlanOptions(), device=device.type, fused_kernels=kernels.use_fused(device))
    if device.type == "cuda" and options.host_memory is None:  # pinned experts must leave the desktop room
        options = replace(options, host_memory=auto_host_memory())
    return make_plan(
        checkpoint.config, budget, context_length, options=options, budget_source=source, model=name
    )


def budget_bytes(vram_budget: int | str | None) -> tuple[int | None, str]:
    """A budget as callers give it -> (bytes or None for automatic / none, source for the plan)."""
    if vram_budget is None or (isinstance(vram_budget, str) and vram_budget.strip().lower() in ("", "auto")):
        return None, "none"
    try:
        return parse_size(vram_budget), "user"
    except ValueError as error:
        raise EngineError(f"GPU memory budget: {error}.") from None


def torch_fallback(model) -> str | None:
    """Why the model's steps on its CUDA device take the slower PyTorch path instead of the Triton kernels
    (no Triton, an old GPU, a Triton failure in this process, GOSSAMER_KERNELS=torch), or None: they do
    not, or the model is not on CUDA (where the PyTorch path is the only one)."""
    device = getattr(model, "device", None)  # (a remote model has none)
    if not isinstance(device, torch.device) or device.type != "cuda":
        return None
    return kernels.why_unavailable(device)


def tell_torch_fallback(model) -> str | None:
    """Log ``torch_fallback``'s reason once per device and reason (a reload does not repeat it); return it."""
    why = torch_fallback(model)
    if why is not None and (str(model.device), why) not in _fallbacks_told:
        _fallbacks_told.add((str(model.device), why))
        log.warning(
            "Triton kernels not used on %s, so the model runs the slower PyTorch path: %s", model.device, why
        )
    return why
