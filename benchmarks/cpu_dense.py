"""The CPU's bf16 projections at gpt-oss-20b's shapes: numba GEMV/GEMM (engine/kernels/cpu_bf16.py) against torch.

    python benchmarks/cpu_dense.py [--tokens 1 128] [--rounds 3] [--threads N] [--no-unembedding]

The attention's QKV (5120 x 2880) and output (2880 x 4096) projections and the unembedding (201088 x 2880,
1.16 GB; decode only) on random bf16 weights; torch's side is engine.quant.mxfp4.linear, the path
GOSSAMER_KERNELS=torch takes (F.linear for a few rows, float32 blocks above). The two alternate in one run so
a busy machine slows both alike. One JSON line per (shape, tokens, round): both times, the ratio, the
weight bytes per second of ours, and the largest difference relative to the output's largest value.
"""

from __future__ import annotations

import argparse
import json
import time

import torch

from engine.kernels import cpu_bf16
from engine.quant import mxfp4

SHAPES = {"qkv": (5120, 2880), "out": (2880, 4096), "unembedding": (201088, 2880)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tokens", type=int, nargs="+", default=[1, 128])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=None, help="torch and numba threads (default: all)")
    parser.add_argument("--no-unembedding", action="store_true", help="skip the 1.16 GB unembedding")
    args = parser.parse_args()
    if args.threads:
        import numba

        torch.set_num_threads(args.threads)
        numba.set_num_threads(args.threads)
    g = torch.Generator().manual_seed(0)
    for name, (rows, width) in SHAPES.items():
        if name == "unembedding" and args.no_unembedding:
            continue
        w = torch.randn(rows, width, generator=g).bfloat16()
        bias = None if name == "unembedding" else torch.randn(rows, generator=g).bfloat16()
        for tokens in args.tokens:
            if name == "unembedding" and tokens > 1:
                continue  # prefill unembeds its last token only
            x = torch.randn(tokens, width, generator=g).bfloat16()
            ours = cpu_bf16.linear(x, w, bias)  # compile (or load from numba's cache)
            ref = mxfp4.linear(x, w, bias)
            diff = float((ours.float() - ref.float()).abs().max() / ref.float().abs().max())
            for r in range(args.rounds):
                started = time.perf_counter()
                cpu_bf16.linear(x, w, bias)
                t_ours = time.perf_counter() - started
                started = time.perf_counter()
                mxfp4.linear(x, w, bias)
                t_torch = time.perf_counter() - started
                print(json.dumps({
                    "shape": name, "tokens": tokens, "round": r, "numba_s": round(t_ours, 4),
                    "torch_s": round(t_torch, 4), "speedup": round(t_torch / t_ours, 2),
                    "numba_gb_s": round(w.numel() * 2 / t_ours / 1e9, 2), "max_rel_diff": round(diff, 5),
                    "threads": torch.get_num_threads(),
                }), flush=True)


if __name__ == "__main__":
    main()
