"""Will a model fit this machine? An estimate for the catalog, before anything is downloaded.

Where the model's shape is known (a ``ModelConfig``), the GPU part of the answer is the engine's own
planner (``engine.placement.plan``) at ``FIT_CONTEXT`` tokens of context; otherwise a rough sum of sizes.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from engine.config import ModelConfig
from engine.hub.fsutil import existing_ancestor, human_bytes
from engine.placement.host_memory import physical_ram

GPU = "gpu"  # every weight on the GPU
PARTIAL = "partial"  # attention, embeddings and some experts on the GPU; the other experts in RAM
CPU = "cpu"  # no usable GPU: everything in RAM
NONE = "none"  # not enough RAM (or disk) for it at all

# Which sentence an estimate's ``reason`` is (``FitEstimate.kind``), and so which of its facts are set.
NO_DISK = "no_disk"  # needed_bytes of disk, available_bytes free
NO_RAM = "no_ram"  # about needed_bytes of RAM, available_bytes in the machine
ON_GPU = "on_gpu"  # by the sizes alone: every weight on a GPU of vram bytes
SOME_IN_RAM = "some_in_ram"  # by the sizes alone: some experts in RAM, the rest on a GPU of vram bytes
CPU_ONLY = "cpu_only"  # no GPU (vram None), or one of vram bytes too small for the model
NO_RAM_FOR_EXPERTS = "no_ram_for_experts"  # with a GPU of vram bytes, needed_bytes of experts stay in RAM,
#                                            available_bytes of the machine's RAM may hold them
PLANNED = "planned"  # the planner's placement: plan (Plan.facts()) at context_length tokens

# Room kept for what is not weights: the KV cache and activations on the GPU (plus the CUDA context),
# the OS, the app and the page cache in RAM. Rough on purpose: the planner does the exact sums.
VRAM_RESERVE = 1_500_000_000
RAM_RESERVE = 2_000_000_000
# The context the planned estimates are made at, and the one their sentence names. 16,384 is the CLI's
# default (engine/cli/_model_args.py) and what the app's Automatic context takes without a GPU
# (engine.placement.context_choice.UNBUDGETED_CONTEXT). On a GPU the app's Automatic context is instead the
# largest that keeps every expert on the card for the memory free when the model loads
# (engine.runtime.auto_context), where this estimate plans for the whole card less the desktop's reserve.
FIT_CONTEXT = 16384


@dataclass(frozen=True)
class FitEstimate:
    """Where a model would run on this machine.

    reason: the English sentence (the CLI prints it); kind and the fields after it are its facts, for
    callers that word it themselves (the app, in the user's language). Sizes are bytes.
    """

    verdict: str  # GPU | PARTIAL | CPU | NONE
    reason: str  # one sentence for people, in English
    disk_ok: bool  # the download fits the free disk space (or is already there)
    kind: str = ""  # NO_DISK | NO_RAM | ON_GPU | SOME_IN_RAM | CPU_ONLY | PLANNED
    needed_bytes: int | None = None  # NO_DISK: the download; NO_RAM: the RAM it needs
    available_bytes: int | None = None  # NO_DISK: the free disk; NO_RAM: the machine's RAM
    vram: int | None = None  # ON_GPU, SOME_IN_RAM, CPU_ONLY: the GPU's memory (None: no GPU found)
    plan: dict | None = None  # PLANNED: the placement's facts (engine.placement.plan.Plan.facts)
    context_length: int | None = None  # PLANNED: FIT_CONTEXT, or the model's longest context if shorter


@dataclass(frozen=True)
class Machine:
    free_disk: int
    ram: int | None  # physical memory, None if unknown
    vram: int | None  # of the first CUDA device, None without one
    fused_kernels: bool = False  # the Triton kernels run on it (engine.kernels.use_fused)


def estimate_fit(
    model_bytes: int,
    expert_bytes: int,
    non_expert_bytes: int,
    free_disk: int,
    ram: int | None,
    vram: int | None = None,
    config: ModelConfig | None = None,
    fused_kernels: bool = False,
) -> FitEstimate:
    """Where the weights would go; ``free_disk`` should count the model's bytes already downloaded.
    With ``config`` and a GPU, the planner decides what fits on the GPU, for the kernels that run there
    (``fused_kernels``: the Triton ones, as ``Machine.fused_kernels`` says), as the loader plans."""
    disk_ok = free_disk >= model_bytes
    if not disk_ok:
        return FitEstimate(
            NONE,
            f"needs {human_bytes(model_bytes)} of disk; {human_bytes(free_disk)} is free",
            False,
            NO_DISK,
            needed_bytes=model_bytes,
            available_bytes=free_disk,
        )
    ram_ok = ram is None or ram >= RAM_RESERVE
    if vram is not None and config is not None:
        planned = _planned_fit(config, vram, ram, fused_kernels)
        if planned is not None:
            return planned
    elif vram is not None:
        if model_bytes + VRAM_RESERVE <= vram:
            return FitEstimate(GPU, f"fits on the GPU ({human_bytes(vram)})", disk_ok, ON_GPU, vram=vram)
        if non_expert_bytes + VRAM_RESERVE <= vram and (ram is None or expert_bytes + RAM_RESERVE <= ram):
            return FitEstimate(
                PARTIAL,
                f"runs with some experts in RAM ({human_bytes(vram)} GPU)",
                disk_ok,
                SOME_IN_RAM,
                vram=vram,
            )
    if ram_ok and (ram is None or model_bytes + RAM_RESERVE <= ram):
        where = "no GPU found" if vram is None else f"too big for the GPU ({human_bytes(vram)})"
        return FitEstimate(
            CPU, f"runs on the CPU only ({where}); expect a few tokens a second", disk_ok, CPU_ONLY, vram=vram
        )
    return FitEstimate(
        NONE,
        f"needs about {human_bytes(model_bytes + RAM_RESERVE)} of RAM; "
        f"this machine has {human_bytes(ram or 0)}",
        disk_ok,
        NO_RAM,
        needed_bytes=model_bytes + RAM_RESERVE,
        available_bytes=ram or 0,
    )


def _planned_fit(config: ModelConfig, vram: int, ram: int | None, fused_kernels: bool) -> FitEstimate | None:
    """The planner's verdict for a card of ``vram`` bytes, less what the desktop keeps, and this machine's
    RAM for the experts that stay in host memory; None when not even a partial plan fits the GPU (then the
    caller's RAM-only answers apply)."""
    from engine.placement.host_memory import host_memory_for
    from engine.placement.plan import AUTO_RESERVE_FRACTION, AUTO_RESERVE_MIN, PlanOptions, make_plan

    vram = int(vram)
    budget = vram - max(AUTO_RESERVE_MIN, int(AUTO_RESERVE_FRACTION * vram))
    host_memory = None if ram is None else host_memory_for(ram)
    options = PlanOptions(host_memory=host_memory, fused_kernels=fused_kernels)
    plan = make_plan(config, budget, FIT_CONTEXT, options=options)
    if plan.ram_short:
        return FitEstimate(
            NONE,
            f"with this GPU ({human_bytes(vram)}) it keeps {human_bytes(plan.total_host_bytes)} of experts in "
            f"RAM; this machine has {human_bytes(host_memory or 0)} of RAM to spare for them",
            True,
            NO_RAM_FOR_EXPERTS,
            needed_bytes=plan.total_host_bytes,
            available_bytes=host_memory,
            vram=vram,
        )
    if not plan.fits:
        return None
    verdict = PARTIAL if plan.offloaded_layers else GPU
    return FitEstimate(
        verdict,
        f"{plan.summary()} ({plan.context_length:,} tokens of context)",
        True,
        PLANNED,
        plan=plan.facts(),
        context_length=plan.context_length,
    )


def config_from_json(config: dict) -> ModelConfig | None:
    """The shape of a model from either layout's config.json, or None if it is not a usable gpt-oss one."""
    try:
        return (
            ModelConfig.from_hf_json(config)
            if "model_type" in config
            else ModelConfig.from_original_json(config)
        )
    except (KeyError, TypeError, ValueError, AttributeError):
        return None


def expert_bytes_from_config(config: dict) -> int | None:
    """Bytes of MXFP4 experts (blocks, scales and bf16 biases) described by an HF-layout config.json."""
    try:
        layers = config["num_hidden_layers"]
        experts = config.get("num_local_experts") or config["num_experts"]
        shape = ModelConfig(hidden_size=config["hidden_size"], intermediate_size=config["intermediate_size"])
    except (KeyError, TypeError, ValueError):
        return None
    return layers * experts * shape.expert_bytes()


def probe_machine(path: Path) -> Machine:
    """Free disk at ``path``, physical RAM, and VRAM when torch sees a CUDA device (imports torch)."""
    vram = _vram()
    return Machine(
        shutil.disk_usage(existing_ancestor(path)).free, physical_ram(), vram, vram is not None and _fused()
    )


def _vram() -> int | None:
    try:
        import torch
    except ImportError:
        return None
    if not torch.cuda.is_available():
        return None
    return torch.cuda.get_device_properties(0).total_memory


def _fused() -> bool:
    import torch

    from engine import kernels

    return kernels.use_fused(torch.device("cuda"))
