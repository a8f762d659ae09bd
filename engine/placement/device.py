"""Which device the model runs on: a user's device name checked against what this machine has.

Below the offload and runtime layers, which both build models for a device.
"""

from __future__ import annotations

import torch

from engine.errors import EngineError

DEFAULT_DENSE_CACHE_BYTES = {"cpu": 512 * 1024 * 1024}  # other devices: 0


def resolve_device(device: str | torch.device | None) -> torch.device:
    """ "auto" (or None) picks CUDA when there is one; raises EngineError for a device torch cannot use."""
    if device is None or device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(device)
    except (RuntimeError, TypeError):
        raise EngineError(f"{device!r} is not a device name; use cpu, cuda or cuda:N.") from None
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise EngineError(
                "CUDA was asked for, but this PyTorch build or machine has no usable NVIDIA GPU. "
                "Use the CPU, or install the CUDA build of PyTorch and a current driver."
            )
        if device.index is None:
            device = torch.device("cuda", torch.cuda.current_device())
        elif device.index >= torch.cuda.device_count():
            raise EngineError(
                f"There is no {device}; this machine has {torch.cuda.device_count()} CUDA device(s)."
            )
    elif device.type != "cpu":
        raise EngineError(f"Device {device} is not supported; use cpu or cuda.")
    return device
