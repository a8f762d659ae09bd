"""The CPU's expert MLPs at gpt-oss-20b's shape: numba kernels (packed bytes) against the torch path.

    python benchmarks/cpu_experts.py [--tokens 1 64] [--rounds 3] [--threads N]

One MoE layer's routed experts (32 experts, hidden 2880, intermediate 2880, top-4) on random packed
weights: decode (1 token) and a prefill chunk (64 tokens by default), the two paths alternating in the
same run so a busy machine slows both alike. Prints one JSON line per (tokens, round) with both times and
their ratio, and checks the outputs agree. The numba functions compile once before timing.
"""

from __future__ import annotations

import argparse
import json
import time

import torch

from engine.layers.experts import PackedExperts
from engine.layers.moe import by_expert, expert_mlp

EXPERTS, HIDDEN, INTER, TOP_K = 32, 2880, 2880, 4


def random_layer(seed: int = 0) -> PackedExperts:
    g = torch.Generator().manual_seed(seed)
    codes = lambda *s: torch.randint(0, 256, s, dtype=torch.uint8, generator=g)  # noqa: E731
    scales = lambda *s: torch.randint(118, 130, s, dtype=torch.uint8, generator=g)  # noqa: E731
    return PackedExperts(
        codes(EXPERTS, 2 * INTER, HIDDEN // 32, 16), scales(EXPERTS, 2 * INTER, HIDDEN // 32),
        torch.randn(EXPERTS, 2 * INTER, generator=g).bfloat16(),
        codes(EXPERTS, HIDDEN, INTER // 32, 16), scales(EXPERTS, HIDDEN, INTER // 32),
        torch.randn(EXPERTS, HIDDEN, generator=g).bfloat16(),
    )


def timed(fn) -> tuple[float, torch.Tensor]:
    start = time.perf_counter()
    out = fn()
    return time.perf_counter() - start, out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tokens", type=int, nargs="+", default=[1, 64])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=None, help="torch and numba threads (default: all)")
    args = parser.parse_args()
    if args.threads:
        import numba

        torch.set_num_threads(args.threads)
        numba.set_num_threads(args.threads)
    packed = random_layer()
    g = torch.Generator().manual_seed(1)
    for tokens in args.tokens:
        x = torch.randn(tokens, HIDDEN, generator=g).bfloat16()
        ids = torch.stack([torch.randperm(EXPERTS, generator=g)[:TOP_K] for _ in range(tokens)])
        ids, weights = by_expert(ids, torch.softmax(torch.randn(tokens, TOP_K, generator=g), -1).bfloat16())
        run = {
            s: (lambda s=s: expert_mlp(x, ids, weights, packed, 7.0, 1.702, strategy=s))
            for s in ("cpu", "grouped")
        }
        run["cpu"]()  # compile
        for r in range(args.rounds):
            t_cpu, ours = timed(run["cpu"])
            t_torch, ref = timed(run["grouped"])
            cos = torch.nn.functional.cosine_similarity(ours.double().flatten(), ref.double().flatten(), 0)
            print(json.dumps({
                "tokens": tokens, "round": r, "numba_s": round(t_cpu, 4), "torch_s": round(t_torch, 4),
                "speedup": round(t_torch / t_cpu, 2), "cosine": round(float(cos), 7),
                "threads": torch.get_num_threads(),
            }))


if __name__ == "__main__":
    main()
