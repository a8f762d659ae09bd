"""Where each layer's experts live, and a bounded cache of dequantized ones.

The MoE layer never touches expert tensors directly: it asks its ``ExpertStore`` for the experts the
current tokens selected (``fetch``) and gets packed MXFP4 rows on the compute device plus the ids
mapped to those rows. Today every expert is resident on the compute device, so ``fetch`` returns all
of them unchanged (no host-device synchronization). An offloading store (VRAM budget, issue #4) keeps
some experts in pinned host memory and copies the selected ones into device slots, returning the
slots; nothing else in the model changes.

``DenseCache`` keeps dequantized (bf16) experts, keyed by (layer, expert, matrix), least recently used
first out, bounded in bytes. One gpt-oss-20b expert is 13.2 MB packed and 50 MB dequantized.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, fields

import torch


@dataclass
class PackedExperts:
    """Rows of packed experts (the leading dim: experts, or device slots of an offloading store)."""

    mlp1_blocks: torch.Tensor  # [N, 2I, H/32, 16] uint8; rows interleave gate (even) and up (odd)
    mlp1_scales: torch.Tensor  # [N, 2I, H/32] uint8
    mlp1_bias: torch.Tensor  # [N, 2I] bf16
    mlp2_blocks: torch.Tensor  # [N, H, I/32, 16] uint8
    mlp2_scales: torch.Tensor  # [N, H, I/32] uint8
    mlp2_bias: torch.Tensor  # [N, H] bf16
    keys: Sequence[Hashable] | None = None  # per row: what it holds, for DenseCache (None: do not cache)

    def nbytes(self) -> int:
        return sum(getattr(self, f.name).nbytes for f in fields(self) if f.name != "keys")

    @property
    def num_rows(self) -> int:
        return self.mlp1_blocks.shape[0]


class ExpertStore:
    """One layer's experts, all resident on the compute device."""

    def __init__(self, layer: int, packed: PackedExperts):
        self.layer = layer
        self.num_experts = packed.num_rows
        if packed.keys is None:
            packed.keys = [(layer, e) for e in range(self.num_experts)]
        self.packed = packed

    def fetch(self, expert_ids: torch.Tensor) -> tuple[PackedExperts, torch.Tensor]:
        """expert_ids: [T, k] int64 on the compute device -> (rows holding them, ids as row numbers)."""
        return self.packed, expert_ids

    def nbytes(self) -> int:
        return self.packed.nbytes()

    def devices(self) -> set[torch.device]:
        return {self.packed.mlp1_blocks.device}


class DenseCache:
    """Dequantized expert matrices, least recently used out; ``max_bytes`` 0 disables it."""

    def __init__(self, max_bytes: int):
        self.max_bytes = max_bytes
        self.nbytes = 0
        self.hits = self.misses = 0
        self._items: OrderedDict[Hashable, torch.Tensor] = OrderedDict()

    def get(self, key: Hashable, make: Callable[[], torch.Tensor]) -> torch.Tensor:
        item = self._items.get(key)
        if item is not None:
            self._items.move_to_end(key)
            self.hits += 1
            return item
        self.misses += 1
        item = make()
        if 0 < item.nbytes <= self.max_bytes:
            self._items[key] = item
            self.nbytes += item.nbytes
            while self.nbytes > self.max_bytes:
                _, old = self._items.popitem(last=False)
                self.nbytes -= old.nbytes
        return item

    def clear(self) -> None:
        self._items.clear()
        self.nbytes = 0
