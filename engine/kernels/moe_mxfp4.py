"""Fused MXFP4 expert MLPs of gpt-oss on Triton: launchers, tile choices, decode/prefill dispatch.

Two shapes of work (``decode_path`` picks by the number of tokens T):
- decode (T <= DECODE_MAX_TOKENS): GEMV kernels, one program per (pair, BN rows) for mlp1 and per
  (token, BN rows) for mlp2, which sums its token's k experts in a fixed order (deterministic, no atomics).
  Each program streams its rows' packed bytes once; the expert row comes from ``expert_ids`` (and the slot
  map) inside the kernel, so a decode MoE layer is exactly two launches.
- prefill: pairs are grouped by weight row (``moe_routing.build_schedule``, no host sync) and a grouped
  GEMM dequantizes each weight tile in registers once per tile of BM pairs, then a bf16 tensor-core dot.

Layouts (S = rows of the weight tensors: experts, or cache slots when ``expert_to_slot`` is given):
  mlp1 blocks [S, 2I, H/32, 16] uint8, scales [S, 2I, H/32] uint8, bias [S, 2I]; gate/up rows interleaved
  mlp2 blocks [S, H, I/32, 16] uint8, scales [S, H, I/32] uint8, bias [S, H]
Every tensor indexed by expert is indexed by the same row: ``expert_to_slot[expert_id]`` when a map is given.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch

from . import mxfp4_triton as K
from .launch import launch
from .moe_routing import ExpertSchedule, build_schedule, expert_rows
from .torch_ref import SWIGLU_ALPHA

DECODE_MAX_TOKENS = 4  # up to this many tokens the GEMV kernels win (no sort, weights read per pair)


@dataclass(frozen=True)
class GemvConfig:
    bn: int  # output rows per program
    bg: int  # 32-weight groups per loop step (bg * 32 inputs)
    num_warps: int


@dataclass(frozen=True)
class GemmConfig:
    bm: int  # routed pairs per tile
    bn: int
    bg: int
    num_warps: int
    num_stages: int


# Decode (both loops prefetch one K step ahead): mlp1 has 2I = 5760 rows per pair, 16-row programs give
# 1440 for 4 experts; mlp2 has H = 2880 rows per token, 8-row programs (360) with long K steps keep
# ~40 KB in flight per SM. 164-166 registers: 3 programs of 4 warps per SM on sm_90.
MLP1_GEMV = GemvConfig(bn=16, bg=32, num_warps=4)
MLP2_GEMV = GemvConfig(bn=8, bg=64, num_warps=4)


# Prefill tiles by BM. Register use checked offline (tests/kernels/aot.py): no spills on sm_90, and
# shared memory within the 99 KB of sm_86/89/120. K steps of 32 keep the big tiles under 255 registers.
GROUPED = {
    16: GemmConfig(bm=16, bn=64, bg=4, num_warps=4, num_stages=3),
    32: GemmConfig(bm=32, bn=128, bg=4, num_warps=4, num_stages=3),
    64: GemmConfig(bm=64, bn=128, bg=1, num_warps=4, num_stages=3),
    128: GemmConfig(bm=128, bn=64, bg=1, num_warps=4, num_stages=3),  # BN 128 spills in mlp2
}


def grouped_config(num_pairs: int, num_rows: int) -> GemmConfig:
    """Tile for the grouped GEMM by the mean number of pairs per weight row."""
    per_row = num_pairs / max(1, min(num_rows, num_pairs))
    bm = 16 if per_row <= 16 else 32 if per_row <= 48 else 64 if per_row <= 96 else 128
    return GROUPED[bm]


def _grouped(config, schedule: ExpertSchedule | None, num_pairs: int, num_rows: int) -> GemmConfig:
    if isinstance(config, GemmConfig):
        return config
    if schedule is not None:
        return GROUPED[schedule.block_m]
    return grouped_config(num_pairs, num_rows)


def decode_path(num_tokens: int) -> bool:
    return num_tokens <= DECODE_MAX_TOKENS


def _check_weights(blocks: torch.Tensor, scales: torch.Tensor, bias: torch.Tensor, in_features: int) -> None:
    assert blocks.dtype == torch.uint8 and scales.dtype == torch.uint8, (blocks.dtype, scales.dtype)
    assert blocks.dim() == 4 and blocks.shape[-1] == 16, blocks.shape
    assert scales.shape == blocks.shape[:3] and bias.shape == blocks.shape[:2], (scales.shape, bias.shape)
    assert blocks.shape[2] * 32 == in_features, (blocks.shape, in_features)
    assert blocks.is_contiguous() and scales.is_contiguous() and bias.is_contiguous()


def _slot_map(expert_to_slot: torch.Tensor | None, expert_ids: torch.Tensor) -> torch.Tensor:
    # without a map the kernel never reads the pointer (HAS_MAP=False): pass any tensor, allocate nothing
    return expert_ids if expert_to_slot is None else expert_to_slot.contiguous()


def plan(expert_ids: torch.Tensor, num_rows: int, *, expert_to_slot: torch.Tensor | None = None,
         config: GemmConfig | None = None) -> ExpertSchedule:
    """The prefill schedule, built once and shared by ``moe_mlp1`` and ``moe_mlp2`` of a layer."""
    config = config or grouped_config(expert_ids.numel(), num_rows)
    return build_schedule(expert_rows(expert_ids, expert_to_slot), num_rows, config.bm)


def moe_mlp1(x: torch.Tensor, expert_ids: torch.Tensor, blocks: torch.Tensor, scales: torch.Tensor,
             bias: torch.Tensor, *, limit: float = 7.0, alpha: float = SWIGLU_ALPHA,
             expert_to_slot: torch.Tensor | None = None, schedule: ExpertSchedule | None = None,
             config: GemvConfig | GemmConfig | None = None) -> torch.Tensor:
    """x [T, H] bf16, expert_ids [T, k] -> swiglu(x @ W1[row]^T + b1[row]) as [T, k, I] bf16."""
    T, H = x.shape
    k = expert_ids.shape[1]
    _check_weights(blocks, scales, bias, H)
    x = x.contiguous()
    N, G = blocks.shape[1], blocks.shape[2]
    out = torch.empty(T, k, N // 2, dtype=x.dtype, device=x.device)
    words = blocks.view(torch.int32)
    if schedule is None and decode_path(T) and not isinstance(config, GemmConfig):
        cfg = config or MLP1_GEMV
        grid = (T * k, triton_cdiv(N, cfg.bn))
        launch(K.mlp1_gemv_kernel, grid,
            x, expert_ids.contiguous(), _slot_map(expert_to_slot, expert_ids), words, scales, bias, out,
            N, float(limit), float(alpha), G=G, TOPK=k, HAS_MAP=expert_to_slot is not None,
            BN=cfg.bn, BG=cfg.bg, ASM=_use_asm(x), num_warps=cfg.num_warps)
        return out
    cfg = _grouped(config, schedule, T * k, blocks.shape[0])
    if schedule is None:
        schedule = plan(expert_ids, blocks.shape[0], expert_to_slot=expert_to_slot, config=cfg)
    assert schedule.block_m == cfg.bm, (schedule.block_m, cfg.bm)
    grid = (triton_cdiv(N, cfg.bn), schedule.num_tiles)
    launch(K.mlp1_grouped_kernel, grid,
        x, schedule.sorted_pairs, schedule.tile_row, schedule.tile_start, schedule.tile_end,
        words, scales, bias, out, N, float(limit), float(alpha),
        G=G, TOPK=k, BM=cfg.bm, BN=cfg.bn, BG=cfg.bg, ASM=_use_asm(x), DOT_F32=_interpreted(x), num_warps=cfg.num_warps,
        num_stages=cfg.num_stages)
    return out


def moe_mlp2(h: torch.Tensor, expert_ids: torch.Tensor, weights: torch.Tensor, blocks: torch.Tensor,
             scales: torch.Tensor, bias: torch.Tensor, *, expert_to_slot: torch.Tensor | None = None,
             schedule: ExpertSchedule | None = None,
             config: GemvConfig | GemmConfig | None = None) -> torch.Tensor:
    """h [T, k, I] bf16, routing weights [T, k] -> sum_j weights[:, j] * (h[:, j] @ W2^T + b2) as [T, H]."""
    T, k, I = h.shape
    _check_weights(blocks, scales, bias, I)
    assert expert_ids.shape == (T, k) and weights.shape == (T, k), (expert_ids.shape, weights.shape)
    h = h.contiguous()
    N, G = blocks.shape[1], blocks.shape[2]
    words = blocks.view(torch.int32)
    if schedule is None and decode_path(T) and not isinstance(config, GemmConfig):
        cfg = config or MLP2_GEMV
        out = torch.empty(T, N, dtype=h.dtype, device=h.device)
        grid = (T, triton_cdiv(N, cfg.bn))
        launch(K.mlp2_gemv_kernel, grid,
            h, expert_ids.contiguous(), _slot_map(expert_to_slot, expert_ids), weights.contiguous(),
            words, scales, bias, out, N, G=G, TOPK=k, HAS_MAP=expert_to_slot is not None,
            BN=cfg.bn, BG=cfg.bg, ASM=_use_asm(h), num_warps=cfg.num_warps)
        return out
    cfg = _grouped(config, schedule, T * k, blocks.shape[0])
    if schedule is None:
        schedule = plan(expert_ids, blocks.shape[0], expert_to_slot=expert_to_slot, config=cfg)
    assert schedule.block_m == cfg.bm, (schedule.block_m, cfg.bm)
    per_pair = torch.empty(T, k, N, dtype=h.dtype, device=h.device)
    grid = (triton_cdiv(N, cfg.bn), schedule.num_tiles)
    launch(K.mlp2_grouped_kernel, grid,
        h, schedule.sorted_pairs, schedule.tile_row, schedule.tile_start, schedule.tile_end,
        weights.contiguous(), words, scales, bias, per_pair, N,
        G=G, BM=cfg.bm, BN=cfg.bn, BG=cfg.bg, ASM=_use_asm(h), DOT_F32=_interpreted(h), num_warps=cfg.num_warps,
        num_stages=cfg.num_stages)
    return per_pair.sum(dim=1, dtype=torch.float32).to(h.dtype)


def moe_experts(x: torch.Tensor, expert_ids: torch.Tensor, weights: torch.Tensor,
                mlp1_blocks: torch.Tensor, mlp1_scales: torch.Tensor, mlp1_bias: torch.Tensor,
                mlp2_blocks: torch.Tensor, mlp2_scales: torch.Tensor, mlp2_bias: torch.Tensor, *,
                limit: float = 7.0, alpha: float = SWIGLU_ALPHA,
                expert_to_slot: torch.Tensor | None = None) -> torch.Tensor:
    """One MoE layer's experts: x [T, H] -> [T, H]; prefill shares one schedule between both matmuls."""
    schedule = None
    if not decode_path(x.shape[0]):
        schedule = plan(expert_ids, mlp1_blocks.shape[0], expert_to_slot=expert_to_slot)
    h = moe_mlp1(x, expert_ids, mlp1_blocks, mlp1_scales, mlp1_bias, limit=limit, alpha=alpha,
                 expert_to_slot=expert_to_slot, schedule=schedule)
    return moe_mlp2(h, expert_ids, weights, mlp2_blocks, mlp2_scales, mlp2_bias,
                    expert_to_slot=expert_to_slot, schedule=schedule)


def dequantize(blocks: torch.Tensor, scales: torch.Tensor, dtype: torch.dtype = torch.bfloat16) -> torch.Tensor:
    """blocks [..., G, 16] uint8, scales [..., G] uint8 -> [..., G*32] (exact for scale bytes <= 240)."""
    assert blocks.shape[:-1] == scales.shape and blocks.shape[-1] == 16, (blocks.shape, scales.shape)
    *lead, G, _ = blocks.shape
    rows = blocks.reshape(-1, G, 16).contiguous()
    out = torch.empty(rows.shape[0], G * 32, dtype=dtype, device=blocks.device)
    bn, bg = 32, 8
    grid = (triton_cdiv(rows.shape[0], bn), triton_cdiv(G, bg))
    launch(K.dequant_kernel, grid, rows.view(torch.int32), scales.reshape(-1, G).contiguous(), out, rows.shape[0],
                           G=G, BN=bn, BG=bg, ASM=_use_asm(blocks), num_warps=4)
    return out.view(*lead, G * 32)


def _interpreted(t: torch.Tensor) -> bool:
    return t.device.type == "cpu"  # only Triton's interpreter runs kernels on CPU tensors


def _use_asm(t: torch.Tensor) -> bool:
    # PTX for the fp16 halves (see mxfp4_triton._halves); the interpreter runs the plain-Triton twin
    return not _interpreted(t) and os.environ.get("GOSSAMER_MXFP4_ASM", "1") != "0"


def triton_cdiv(a: int, b: int) -> int:
    return (a + b - 1) // b
