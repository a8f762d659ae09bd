#!/usr/bin/env python3
"""Host time the expert pool spends per offloaded layer per decoded token: ``python3 benchmarks/pool_overhead.py``.

With decode graphs (engine/runtime/decode_segments.py) the GPU waits at every offloaded layer while the host reads
the routes, decides what to copy and issues the copies: this bookkeeping is on the critical path, once per
offloaded layer per token. It is plain Python over small tensors, so a CPU measures it as well as the GPU
machine would (the copies themselves are tiny here; on a GPU each is an asynchronous launch).

gpt-oss-20b's shape of routing (32 experts, top 4), 5 offloaded layers, 40 slots; routes drawn uniformly
(the worst case for the cache), with and without a prediction for the next layer. Prints one JSON line.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import torch

from engine.layers.experts import PackedExperts
from engine.offload.pool import ExpertPool

EXPERTS, TOP_K, LAYERS, SLOTS, STEPS = 32, 4, range(19, 24), 40, 3000


def tiny_layer() -> PackedExperts:
    """A layer of 32 experts with the real field layout and tiny rows (the bookkeeping is what is timed)."""
    e = EXPERTS
    return PackedExperts(
        mlp1_blocks=torch.zeros(e, 8, 2, 16, dtype=torch.uint8),
        mlp1_scales=torch.zeros(e, 8, 2, dtype=torch.uint8),
        mlp1_bias=torch.zeros(e, 8, dtype=torch.bfloat16),
        mlp2_blocks=torch.zeros(e, 4, 2, 16, dtype=torch.uint8),
        mlp2_scales=torch.zeros(e, 4, 2, dtype=torch.uint8),
        mlp2_bias=torch.zeros(e, 4, dtype=torch.bfloat16),
    )


def run(predict: bool) -> dict:
    pool = ExpertPool({n: tiny_layer() for n in LAYERS}, num_slots=SLOTS, device="cpu")
    g = torch.Generator().manual_seed(0)
    routes = [torch.randperm(EXPERTS, generator=g)[:TOP_K].sort().values.view(1, TOP_K) for _ in range(STEPS)]
    guesses = [torch.randperm(EXPERTS, generator=g)[:TOP_K].view(1, TOP_K) for _ in range(STEPS)]
    last = LAYERS[-1]

    def step(i: int) -> None:
        layer = LAYERS[i % len(LAYERS)]
        hint = (layer + 1, guesses[i]) if predict and layer < last else None
        groups = pool.groups(layer, routes[i], prefetch=hint)
        next(groups)
        groups.close()

    for i in range(STEPS // 10):  # warm-up
        step(i)
    started = time.perf_counter()
    for i in range(STEPS):
        step(i)
    seconds = time.perf_counter() - started
    return {
        "us_per_layer": round(seconds / STEPS * 1e6, 1),
        "hit_rate": round(pool.stats.expert_hit_rate, 3),
        "copies_per_layer": round((pool.stats.misses + pool.stats.prefetched) / (STEPS * 1.1), 2),
    }


def main() -> None:
    torch.set_num_threads(1)
    out = {"what": "ExpertPool.groups host time per offloaded layer per decode token (CPU)"}
    out["no_prediction"] = run(False)
    out["with_prediction"] = run(True)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
