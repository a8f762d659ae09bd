"""``load_model``: a validated checkpoint becomes a ready ``Transformer`` on the chosen device.

Nothing is allocated twice: on CPU every weight is a view of the memory-mapped files (pages come in
as they are first used and belong to the page cache), on CUDA each tensor is copied from its mapping
to the device and its pages are dropped again, so host memory stays flat. Expert weights stay packed
as MXFP4 everywhere; ``DenseCache`` keeps a bounded number of dequantized ones (512 MiB by default on
CPU, none on CUDA where dequantizing on the fly is cheap next to the memory it would take).
"""

from __future__ import annotations

from pathlib import Path

import torch

from engine.checkpoint import LAYER_TENSORS, Checkpoint
from engine.errors import EngineError, OutOfMemoryError
from engine.experts import DenseCache, ExpertStore, PackedExperts
from engine.model import Transformer

DEFAULT_DENSE_CACHE_BYTES = {"cpu": 512 * 1024 * 1024}  # other devices: 0
EXPERT_TENSORS = ("mlp1_blocks", "mlp1_scales", "mlp1_bias", "mlp2_blocks", "mlp2_scales", "mlp2_bias")


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


def load_model(
    path: str | Path,
    device: str | torch.device | None = "cpu",
    vram_budget: int | None = None,
    context_length: int | None = None,
    dense_cache_bytes: int | None = None,
) -> Transformer:
    """Validate every tensor of the model folder ``path``, then build the model on ``device``."""
    device = resolve_device(device)
    checkpoint = Checkpoint.open(path)  # raises ModelFilesError / UnsupportedModelError
    cfg = checkpoint.config
    needed = cfg.total_bytes()
    if vram_budget is not None and device.type == "cuda" and needed > vram_budget:
        # Offloading experts to host memory arrives with issue #4; until then the weights must fit.
        raise OutOfMemoryError(
            f"The model needs {needed / 2**30:.1f} GiB of GPU memory for its weights, the budget "
            f"is {vram_budget / 2**30:.1f} GiB. Raise the budget or use the CPU."
        )
    try:
        model = _build(checkpoint, device, context_length, dense_cache_bytes)
    except torch.OutOfMemoryError:
        checkpoint.close()
        raise OutOfMemoryError(
            f"{device} ran out of memory loading {needed / 2**30:.1f} GiB of weights. Close "
            "other programs using the GPU, or use the CPU."
        ) from None
    if device.type != "cpu":
        checkpoint.close()  # every tensor was copied; the mappings can go
    model.checkpoint = checkpoint  # CPU weights are views of its mappings: keep them alive with the model
    return model


def _build(
    checkpoint: Checkpoint, device: torch.device, context_length: int | None, dense_cache_bytes: int | None
) -> Transformer:
    cfg = checkpoint.config

    def take(name: str) -> torch.Tensor:
        tensor = checkpoint.get(name)
        if device.type != "cpu":
            tensor = tensor.to(device)
            checkpoint.release(name)
        return tensor

    globals_ = {name: take(name) for name in ("embedding", "norm", "unembedding")}
    layers, stores = [], []
    for n in range(cfg.num_hidden_layers):
        weights = {name: take(f"{n}.{name}") for name in LAYER_TENSORS}
        packed = PackedExperts(**{name: weights.pop(name) for name in EXPERT_TENSORS})
        stores.append(ExpertStore(n, packed))
        layers.append(weights)
    if dense_cache_bytes is None:
        dense_cache_bytes = DEFAULT_DENSE_CACHE_BYTES.get(device.type, 0)
    source = f"{checkpoint.layout.directory} ({checkpoint.layout.kind} layout)"
    return Transformer(
        cfg, device, globals_, layers, stores, DenseCache(dense_cache_bytes), context_length, source
    )
