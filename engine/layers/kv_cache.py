"""Keys and values of past positions, preallocated once per conversation.

Full-attention layers keep every position. Sliding-window layers keep a ring buffer of the last
``ring_size`` positions (slot = position % ring_size): a query at position p needs only keys p-W+1..p,
so the ring holds the window, one prefill chunk, and spare history for going back.

Going back (``truncate``) is exact in both kinds of layer when the rings still hold the window before
the new end, i.e. when we go back by at most ``ring_size - W + 1`` positions since they were written.
Going back further cannot be repaired from the cache (those keys were overwritten, and recomputing them
needs the hidden states of every earlier layer), so the cache marks itself stale and the model replays
the kept token ids from position 0 before its next step: slower, never wrong. The default spare history
(4096 positions) covers going back over a long answer while costing, for gpt-oss-20b, 12 layers x 4224
positions x 2 KiB = 100 MiB, against 3 GiB for the full layers at 131072 positions.

On CPU the buffers are float32 holding bf16-rounded values (the same numbers; torch's bf16 matmuls
are slow on CPUs without bf16 instructions); elsewhere they are bf16.
"""

from __future__ import annotations

import torch

from engine.config import ModelConfig

DEFAULT_SLIDING_HISTORY = 4096  # positions a sliding layer keeps beyond its window (see above)


def _buffer(shape: tuple[int, ...], device: torch.device, dtype: torch.dtype, zeroed: bool) -> torch.Tensor:
    # zeroed: positions not written yet hold 0, not whatever memory held (a fixed-shape step masks them,
    # and a masked probability 0 times a NaN left in memory would still be NaN)
    return (torch.zeros if zeroed else torch.empty)(shape, device=device, dtype=dtype)


class FullLayerCache:
    def __init__(
        self,
        num_kv_heads: int,
        max_tokens: int,
        head_dim: int,
        device: torch.device,
        dtype: torch.dtype,
        zeroed: bool = False,
    ):
        self.k = _buffer((num_kv_heads, max_tokens, head_dim), device, dtype, zeroed)
        self.v = _buffer((num_kv_heads, max_tokens, head_dim), device, dtype, zeroed)

    def update(self, k: torch.Tensor, v: torch.Tensor, start: int) -> tuple[torch.Tensor, torch.Tensor, int]:
        # k, v: [T, kv_heads, head_dim] for positions start..start+T-1 -> keys/values [kv_heads, S, head_dim]
        # for positions key_start.. (here every position from 0)
        end = start + k.shape[0]
        self.k[:, start:end] = k.transpose(0, 1)
        self.v[:, start:end] = v.transpose(0, 1)
        return self.k[:, :end], self.v[:, :end], 0

    def one_token_slots(self, start: int) -> tuple[int, int, int]:
        """Where ``update`` writes one token at position ``start``, and the keys it returns: (slot, first
        slot, count), the keys in slots first, first + 1, .. (for a kernel that writes and reads the buffers
        itself: engine/kernels/cpu_block.py)."""
        if not 0 <= start < self.k.shape[1]:
            raise ValueError(f"position {start} is past the cache's {self.k.shape[1]}")
        return start, 0, start + 1

    def update_at(
        self, k: torch.Tensor, v: torch.Tensor, position: torch.Tensor, span: int
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """``update`` for one token at a position held in a device tensor (fixed shapes: a CUDA graph replays
        it at any position). k, v: [1, kv_heads, head_dim]; position: [1] int64; span > position: how many
        positions to return. -> keys, values [kv_heads, span, head_dim] and their positions [span]; those past
        ``position`` are for the caller to mask."""
        self.k.index_copy_(1, position, k.transpose(0, 1).to(self.k.dtype))
        self.v.index_copy_(1, position, v.transpose(0, 1).to(self.v.dtype))
        return self.k[:, :span], self.v[:, :span], torch.arange(span, device=self.k.device)


class SlidingLayerCache:
    def __init__(
        self,
        num_kv_heads: int,
        ring_size: int,
        head_dim: int,
        window: int,
        device: torch.device,
        dtype: torch.dtype,
        zeroed: bool = False,
    ):
        self.ring_size, self.window = ring_size, window
        self.k = _buffer((num_kv_heads, ring_size, head_dim), device, dtype, zeroed)
        self.v = _buffer((num_kv_heads, ring_size, head_dim), device, dtype, zeroed)

    def _span(self, lo: int, hi: int) -> slice | torch.Tensor:
        """Ring slots of positions lo..hi-1: a slice when they do not wrap, else an index tensor."""
        a = lo % self.ring_size
        if a + (hi - lo) <= self.ring_size:
            return slice(a, a + hi - lo)
        return torch.arange(lo, hi, device=self.k.device) % self.ring_size

    def update(self, k: torch.Tensor, v: torch.Tensor, start: int) -> tuple[torch.Tensor, torch.Tensor, int]:
        end = start + k.shape[0]
        lo = max(0, start - self.window + 1)  # the first key the earliest query of this step can see
        # Writing positions start..end-1 overwrites positions start-ring..end-1-ring: none may be needed.
        assert end - 1 - self.ring_size < lo, "a step larger than the ring allows (see KVCache.max_chunk)"
        slots = self._span(start, end)
        if isinstance(slots, slice):
            self.k[:, slots] = k.transpose(0, 1)
            self.v[:, slots] = v.transpose(0, 1)
        else:
            self.k.index_copy_(1, slots, k.transpose(0, 1).to(self.k.dtype))
            self.v.index_copy_(1, slots, v.transpose(0, 1).to(self.v.dtype))
        slots = self._span(lo, end)
        if isinstance(slots, slice):
            return self.k[:, slots], self.v[:, slots], lo
        return self.k.index_select(1, slots), self.v.index_select(1, slots), lo

    def one_token_slots(self, start: int) -> tuple[int, int, int]:
        """FullLayerCache.one_token_slots for the ring: the keys of the window up to ``start``, which may wrap
        (slots first .. ring - 1, then 0 ..)."""
        lo = max(0, start - self.window + 1)
        assert start - self.ring_size < lo, "a ring shorter than the window (see KVCache)"
        return start % self.ring_size, lo % self.ring_size, start + 1 - lo

    def update_at(
        self, k: torch.Tensor, v: torch.Tensor, position: torch.Tensor, span: int
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """FullLayerCache.update_at for the ring: keys of the window position-W+1..position ([W] positions,
        negative ones before the start to be masked); ``span`` is not needed here."""
        slot = position % self.ring_size
        self.k.index_copy_(1, slot, k.transpose(0, 1).to(self.k.dtype))
        self.v.index_copy_(1, slot, v.transpose(0, 1).to(self.v.dtype))
        key_pos = position - (self.window - 1) + torch.arange(self.window, device=self.k.device)  # [W]
        # distinct slots, none overwritten since written: the ring holds at least the window, or the whole
        # context when that is shorter (then the negative positions share slots, all of them masked)
        slots = key_pos % self.ring_size  # remainder: never negative
        return self.k.index_select(1, slots), self.v.index_select(1, slots), key_pos


class KVCache:
    """All layers' keys and values, the token ids they came from, and how far back they can go."""

    def __init__(
        self,
        cfg: ModelConfig,
        max_tokens: int,
        device: torch.device | str = "cpu",
        dtype: torch.dtype | None = None,
        sliding_history: int = DEFAULT_SLIDING_HISTORY,
        zeroed: bool | None = None,
    ):
        device = torch.device(device)
        if dtype is None:
            dtype = torch.float32 if device.type == "cpu" else torch.bfloat16
        if zeroed is None:  # on accelerators, where one-token steps may run with fixed shapes (CUDA graphs)
            zeroed = device.type != "cpu"
        assert max_tokens > 0, max_tokens
        self.config, self.device, self.dtype = cfg, device, dtype
        self.max_tokens = max_tokens
        self.window = cfg.sliding_window
        # Enough for the window plus history; never more than the context (then it never wraps).
        self.ring_size = min(max_tokens, self.window - 1 + max(1, sliding_history)) if self.window > 0 else 0
        nkv, d = cfg.num_key_value_heads, cfg.head_dim
        self.layers: list[FullLayerCache | SlidingLayerCache] = [
            SlidingLayerCache(nkv, self.ring_size, d, self.window, device, dtype, zeroed)
            if cfg.is_sliding(i)
            else FullLayerCache(nkv, max_tokens, d, device, dtype, zeroed)
            for i in range(cfg.num_hidden_layers)
        ]
        self._has_sliding = any(cfg.is_sliding(i) for i in range(cfg.num_hidden_layers))
        self.tokens = torch.zeros(max_tokens, dtype=torch.long, device=device)  # ids, for a replay
        self.num_tokens = 0
        self._ring_low = 0  # the first position whose keys the rings still hold
        self.stale = False  # the rings lost positions still needed: replay tokens[:num_tokens] first

    @property
    def max_chunk(self) -> int:
        """The most positions one step may add (the rings must not overwrite keys the step still reads)."""
        if not self._has_sliding or self.ring_size >= self.max_tokens:
            return self.max_tokens
        return self.ring_size - self.window + 1

    def reset(self) -> None:
        self.num_tokens = 0
        self._ring_low = 0
        self.stale = False

    def truncate(self, n: int) -> None:
        """Keep the first ``n`` positions, e.g. a prefix shared with the next prompt."""
        if not 0 <= n <= self.num_tokens:
            raise ValueError(f"cannot truncate a cache of {self.num_tokens} positions to {n}")
        if n == 0:
            self.reset()
            return
        if self._has_sliding and max(0, n - self.window + 1) < self._ring_low:
            self.stale = True
        self.num_tokens = n

    def can_truncate_cheaply(self, n: int) -> bool:
        """Whether ``truncate(n)`` keeps the cache usable without a replay from position 0."""
        return (
            n == 0
            or not self._has_sliding
            or (not self.stale and max(0, n - self.window + 1) >= self._ring_low)
        )

    def append_tokens(self, tokens: torch.Tensor) -> int:
        """Record ids for positions num_tokens..; returns the first position. Call ``advance`` after."""
        start = self.num_tokens
        self.tokens[start : start + tokens.shape[0]] = tokens
        return start

    def advance(self, count: int) -> None:
        """Positions up to num_tokens + count now hold keys and values."""
        self.num_tokens += count
        self.note_written(self.num_tokens)

    def note_written(self, end: int) -> None:
        """The rings were written up to position ``end``: older positions may be gone."""
        if self._has_sliding:
            self._ring_low = max(self._ring_low, end - self.ring_size)

    def take_replay(self) -> torch.Tensor:
        """The ids to run again after the cache went stale; empties the cache."""
        replay = self.tokens[: self.num_tokens].clone()
        self.reset()
        return replay

    def nbytes(self) -> int:
        return sum(layer.k.nbytes + layer.v.nbytes for layer in self.layers)
