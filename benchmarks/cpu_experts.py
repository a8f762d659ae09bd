"""The CPU's expert MLPs at gpt-oss-20b's shape: numba kernels (packed bytes) against the torch path.

    python benchmarks/cpu_experts.py [--tokens 1 64] [--rounds 3] [--threads N] [--layers 4]

One MoE layer's routed experts (32 experts, hidden 2880, intermediate 2880, top-4) on random packed
weights: decode (1 token) and a prefill chunk (64 tokens by default). Three paths alternate in the same run
so a busy machine slows them alike: "simd" (cpu_mxfp4_jit.moe_simd, x86 with AVX2), "portable"
(moe_float, any CPU) and "torch" (dequantize, bf16 matmul). Each timing is one call on each of ``--layers``
random layers (fresh experts for every call, as a decode step's layers: read from memory, not cache),
divided by their number. Prints one JSON line per (tokens, round) with the times, the ratios to torch and
to the portable kernels, and each path's largest difference from torch in bf16 steps of the output's
magnitude. The numba functions compile once before timing.
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
        codes(EXPERTS, 2 * INTER, HIDDEN // 32, 16),
        scales(EXPERTS, 2 * INTER, HIDDEN // 32),
        torch.randn(EXPERTS, 2 * INTER, generator=g).bfloat16(),
        codes(EXPERTS, HIDDEN, INTER // 32, 16),
        scales(EXPERTS, HIDDEN, INTER // 32),
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
    parser.add_argument("--layers", type=int, default=4, help="random layers a timing cycles through")
    args = parser.parse_args()
    from engine.kernels import cpu_mxfp4_jit, cpu_mxfp4_simd

    if args.threads:
        import numba

        torch.set_num_threads(args.threads)
        numba.set_num_threads(args.threads)
    layers = [random_layer(seed) for seed in range(args.layers)]
    kernels = {"portable": cpu_mxfp4_jit.moe_float}
    if cpu_mxfp4_simd.available():
        kernels["simd"] = cpu_mxfp4_jit.moe_simd
    g = torch.Generator().manual_seed(1)
    for tokens in args.tokens:
        x = torch.randn(tokens, HIDDEN, generator=g).bfloat16()
        calls = []
        for packed in layers:
            ids = torch.stack([torch.randperm(EXPERTS, generator=g)[:TOP_K] for _ in range(tokens)])
            ids, weights = by_expert(
                ids, torch.softmax(torch.randn(tokens, TOP_K, generator=g), -1).bfloat16()
            )
            calls.append((ids, weights, packed))

        def run(name, x=x, calls=calls):
            outs = []
            for ids, weights, packed in calls:
                if name == "torch":
                    outs.append(expert_mlp(x, ids, weights, packed, 7.0, 1.702, strategy="grouped"))
                else:
                    cpu_mxfp4_jit.moe = kernels[name]
                    outs.append(expert_mlp(x, ids, weights, packed, 7.0, 1.702, strategy="cpu"))
            return torch.stack(outs)

        for name in kernels:
            run(name)  # compile
        for r in range(args.rounds):
            seconds, outs = {}, {}
            for name in [*kernels, "torch"]:
                t, outs[name] = timed(lambda name=name: run(name))
                seconds[name] = t / len(calls)
            ref = outs["torch"].float()
            step = 2.0**-8 * ref.abs().amax()  # one bf16 step at the largest output
            line = {"tokens": tokens, "round": r, "threads": torch.get_num_threads()}
            line.update({f"{n}_s": round(t, 4) for n, t in seconds.items()})
            line.update({f"{n}_vs_torch": round(seconds["torch"] / seconds[n], 2) for n in kernels})
            if "simd" in kernels:
                line["simd_vs_portable"] = round(seconds["portable"] / seconds["simd"], 2)
            line.update(
                {
                    f"{n}_max_diff_bf16_steps": round(float((outs[n].float() - ref).abs().max() / step), 2)
                    for n in kernels
                }
            )
            print(json.dumps(line))


if __name__ == "__main__":
    main()
