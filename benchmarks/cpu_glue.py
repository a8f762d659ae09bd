"""Where a CPU decode token goes: each numba kernel call timed, and the Python and torch between them.

    python benchmarks/cpu_glue.py [--model DIR] [--tokens 16] [--context 128] [--threads N] [--rounds 3]

Loads a checkpoint on the CPU (default: the random 4-layer gpt-oss-20b-wide checkpoint of
benchmarks/llamacpp_compare.py, written once if missing), prefills --context random tokens and decodes
--tokens greedily per round. The numba entry points (the bf16 GEMVs, the experts, the norm) and the model's
phases (attention, MoE, norms, the block loop, the unembedding) are wrapped in timers; a phase's "glue" is its
time less the time of the phases and kernels inside it. Prints one JSON line per round, in ms per token.

Between the kernels a token's Python and torch operations run with cold caches (each weight stream flushes
L2 and L3), so they cost several times what they cost in a loop on their own: this measures them where they
run (docs/benchmarks.md, "the Python between the kernels").
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path[:0] = [str(Path(__file__).resolve().parent), str(Path(__file__).resolve().parent.parent)]

KERNELS = {  # module -> numba functions the engine calls from Python
    "engine.kernels.cpu_bf16_jit": ("gemv", "gemv3", "gemv3_rotated", "gemm"),
    "engine.kernels.cpu_mxfp4_jit": ("moe",),
    "engine.kernels.cpu_norm_jit": ("add_rms_norm",),
    "engine.kernels.cpu_attend_jit": ("attend_one",),
    "engine.kernels.cpu_block_jit": ("attention_half",),  # a decode step's norm .. router logits, one call
}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Time a CPU decode token's kernels and the Python between.")
    parser.add_argument("--model", type=Path, help="a checkpoint folder (default: llamacpp_compare's)")
    parser.add_argument("--tokens", type=int, default=16, help="decode steps per round")
    parser.add_argument("--context", type=int, default=128, help="prompt tokens before decoding")
    parser.add_argument("--threads", type=int, help="torch and numba threads (default: every core)")
    parser.add_argument("--rounds", type=int, default=3)
    return parser.parse_args(argv)


class Timers:
    """Accumulated seconds by label; a phase's own time excludes the timed calls inside it."""

    def __init__(self):
        self.total: dict[str, float] = {}
        self.inner: list[float] = []

    def wrap(self, owner, name: str, label: str, kernel: bool) -> None:
        real = getattr(owner, name)

        def timed(*args, **kwargs):
            start = time.perf_counter()
            self.inner.append(0.0)
            try:
                return real(*args, **kwargs)
            finally:
                spent = time.perf_counter() - start
                nested = self.inner.pop()
                self.total[label] = self.total.get(label, 0.0) + (spent if kernel else spent - nested)
                if self.inner:
                    self.inner[-1] += spent

        setattr(owner, name, timed)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    import importlib

    import numba
    import torch

    import engine.model as model_module
    from engine.kernels import fused
    from engine.layers import attention, moe
    from engine.runtime.loader import load_model

    if args.threads:
        torch.set_num_threads(args.threads)
        numba.set_num_threads(args.threads)
    folder = args.model
    if folder is None:
        import llamacpp_compare
        import llamacpp_setup

        folder = llamacpp_setup.checkpoint(llamacpp_compare.DEFAULT_WORK, 4)
    model = load_model(folder, "cpu", context_length=args.context + args.rounds * args.tokens + 8)
    timers = Timers()
    for module_name, names in KERNELS.items():
        module = importlib.import_module(module_name)
        for name in names:
            timers.wrap(module, name, f"kernel {name}", kernel=True)
    phases = (
        (fused, "add_rms_norm", "glue norm"),
        (attention.Attention, "run", "glue attention"),
        (model_module.Block, "_cpu_attention_half", "glue attention half"),
        (moe.MoE, "forward", "glue moe"),
        (model_module.Block, "step", "glue block"),
        (model_module.Transformer, "unembed", "glue unembed"),
        (model_module.Transformer, "forward", "glue forward"),
    )
    for owner, name, label in phases:
        timers.wrap(owner, name, label, kernel=False)
    generator = torch.Generator().manual_seed(0)
    prompt = torch.randint(0, model.config.vocab_size, (args.context,), generator=generator)
    cache = model.new_cache()
    token = model.forward(prompt, cache, last_only=True).argmax(-1).view(1)
    for _ in range(2):  # first calls: numba's dispatch, torch's allocator
        token = model.forward(token, cache, last_only=True).argmax(-1).view(1)
    for round_ in range(args.rounds):
        timers.total.clear()
        start = time.perf_counter()
        for _ in range(args.tokens):
            token = model.forward(token, cache, last_only=True).argmax(-1).view(1)
        per_token = (time.perf_counter() - start) / args.tokens * 1e3
        parts = {label: round(t / args.tokens * 1e3, 3) for label, t in sorted(timers.total.items())}
        kernels_ms = sum(v for k, v in parts.items() if k.startswith("kernel"))
        print(json.dumps({
            "round": round_ + 1,
            "token_ms": round(per_token, 2),
            "kernels_ms": round(kernels_ms, 2),
            "outside_kernels_ms": round(per_token - kernels_ms, 2),
            "parts": parts,
        }), flush=True)  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
