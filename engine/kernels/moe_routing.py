"""Group routed (token, expert) pairs by weight row, for the grouped expert GEMM of prefill.

Pure torch on the pairs' device, with no host synchronisation (so a CUDA graph can hold it): the tile
count is bounded from shapes alone and tiles past the real count are marked empty (slot -1), which the
kernels skip. A pair is p = t * k + j for token t and its j-th routed expert; ``rows`` are the indices
into the first dimension of the blocks/scales/bias tensors (expert ids, or cache slots after the map).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class ExpertSchedule:
    block_m: int                # pairs per tile (the M of the grouped GEMM)
    sorted_pairs: torch.Tensor  # int32 [P]: pair ids ordered by weight row (stable: by token within a row)
    tile_row: torch.Tensor      # int32 [num_tiles]: weight row of each tile, -1 for an empty tile
    tile_start: torch.Tensor    # int32 [num_tiles]: first index into sorted_pairs
    tile_end: torch.Tensor      # int32 [num_tiles]: end of the row's pairs in sorted_pairs (exclusive)

    @property
    def num_tiles(self) -> int:
        return self.tile_row.shape[0]


def expert_rows(expert_ids: torch.Tensor, expert_to_slot: torch.Tensor | None) -> torch.Tensor:
    """[T, k] expert ids -> [T, k] int32 rows of the weight tensors (through the slot map if given)."""
    if expert_to_slot is None:
        return expert_ids.to(torch.int32)
    return expert_to_slot.to(torch.int32)[expert_ids.long()]


def build_schedule(rows: torch.Tensor, num_rows: int, block_m: int) -> ExpertSchedule:
    """rows [T, k] (or [P]) weight rows in [0, num_rows) -> tiles of at most block_m pairs of one row."""
    flat = rows.reshape(-1).long()
    num_pairs = flat.shape[0]
    device = flat.device
    sorted_pairs = torch.argsort(flat, stable=True)
    counts = torch.bincount(flat, minlength=num_rows)[:num_rows]
    ends = torch.cumsum(counts, 0)
    starts = ends - counts
    tiles = (counts + block_m - 1) // block_m
    tiles_end = torch.cumsum(tiles, 0)
    # sum over used rows of ceil(c/bm) <= P/bm + (number of used rows): a bound known without a sync
    num_tiles = max(1, (num_pairs + block_m - 1) // block_m + min(num_rows, num_pairs))
    tile = torch.arange(num_tiles, device=device)
    row = torch.searchsorted(tiles_end, tile, right=True)  # num_rows past the last real tile
    valid = row < num_rows
    row_c = row.clamp(max=num_rows - 1)
    local = tile - (tiles_end - tiles)[row_c]
    tile_start = starts[row_c] + local * block_m
    tile_end = ends[row_c]
    return ExpertSchedule(
        block_m=block_m,
        sorted_pairs=sorted_pairs.to(torch.int32),
        tile_row=torch.where(valid, row_c, -1).to(torch.int32),
        tile_start=torch.where(valid, tile_start, 0).to(torch.int32),
        tile_end=torch.where(valid, tile_end, 0).to(torch.int32),
    )
