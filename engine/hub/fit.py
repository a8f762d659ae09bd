"""Will a model fit this machine? A quick estimate for the catalog, before anything is downloaded.

``estimate_fit`` is the one place to change when ``engine.plan`` (the real VRAM planner) can answer
instead; everything else here only gathers the machine's numbers.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from engine.hub.fsutil import existing_ancestor, human_bytes

GPU = "gpu"  # every weight on the GPU
PARTIAL = "partial"  # attention, embeddings and some experts on the GPU; the other experts in RAM
CPU = "cpu"  # no usable GPU: everything in RAM
NONE = "none"  # not enough RAM (or disk) for it at all

# Room kept for what is not weights: the KV cache and activations on the GPU (plus the CUDA context),
# the OS, the app and the page cache in RAM. Rough on purpose: the planner does the exact sums.
VRAM_RESERVE = 1_500_000_000
RAM_RESERVE = 2_000_000_000


@dataclass(frozen=True)
class FitEstimate:
    verdict: str  # GPU | PARTIAL | CPU | NONE
    reason: str  # one sentence for people
    disk_ok: bool  # the download fits the free disk space (or is already there)


@dataclass(frozen=True)
class Machine:
    free_disk: int
    ram: int | None  # physical memory, None if unknown
    vram: int | None  # of the first CUDA device, None without one


def estimate_fit(
    model_bytes: int,
    expert_bytes: int,
    non_expert_bytes: int,
    free_disk: int,
    ram: int | None,
    vram: int | None = None,
) -> FitEstimate:
    """Where the weights would go; ``free_disk`` should count the model's bytes already downloaded."""
    disk_ok = free_disk >= model_bytes
    if not disk_ok:
        return FitEstimate(
            NONE, f"needs {human_bytes(model_bytes)} of disk; {human_bytes(free_disk)} is free", False
        )
    ram_ok = ram is None or ram >= RAM_RESERVE
    if vram is not None and model_bytes + VRAM_RESERVE <= vram:
        return FitEstimate(GPU, f"fits on the GPU ({human_bytes(vram)})", disk_ok)
    if (
        vram is not None
        and non_expert_bytes + VRAM_RESERVE <= vram
        and (ram is None or expert_bytes + RAM_RESERVE <= ram)
    ):
        return FitEstimate(PARTIAL, f"runs with some experts in RAM ({human_bytes(vram)} GPU)", disk_ok)
    if ram_ok and (ram is None or model_bytes + RAM_RESERVE <= ram):
        where = "no GPU found" if vram is None else f"too big for the GPU ({human_bytes(vram)})"
        return FitEstimate(CPU, f"runs on the CPU only ({where}); expect a few tokens a second", disk_ok)
    return FitEstimate(
        NONE,
        f"needs about {human_bytes(model_bytes + RAM_RESERVE)} of RAM; "
        f"this machine has {human_bytes(ram or 0)}",
        disk_ok,
    )


def expert_bytes_from_config(config: dict) -> int | None:
    """Bytes of MXFP4 experts (blocks, scales and bf16 biases) described by an HF-layout config.json."""
    try:
        layers = config["num_hidden_layers"]
        experts = config.get("num_local_experts") or config["num_experts"]
        hidden, inner = config["hidden_size"], config["intermediate_size"]
    except (KeyError, TypeError):
        return None
    # mlp1: hidden -> 2*inner, mlp2: inner -> hidden; 32 weights = 16 bytes of FP4 + 1 byte of scale.
    weights = 2 * inner * hidden + inner * hidden
    return layers * experts * (weights // 32 * 17 + (2 * inner + hidden) * 2)


def probe_machine(path: Path) -> Machine:
    """Free disk at ``path``, physical RAM, and VRAM when torch sees a CUDA device (imports torch)."""
    return Machine(shutil.disk_usage(existing_ancestor(path)).free, _physical_ram(), _vram())


def _physical_ram() -> int | None:
    if hasattr(os, "sysconf") and "SC_PHYS_PAGES" in os.sysconf_names:
        try:
            return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
        except (ValueError, OSError):
            return None
    return None  # Windows: unknown here; the planner measures it properly


def _vram() -> int | None:
    try:
        import torch
    except ImportError:
        return None
    if not torch.cuda.is_available():
        return None
    return torch.cuda.get_device_properties(0).total_memory
