#!/usr/bin/env python3
"""Hybrid expert placement (issue #16): decode speed with the experts left in host memory copied in (copy),
computed on the CPU (cpu) or chosen per step by the cost model (auto), at several VRAM budgets.

For each budget, one ``python -m engine bench --host-experts copy,auto,cpu`` (in this process): one load of
a full-size random gpt-oss-20b (benchmarks/gpu_bench.py writes it once to ``--checkpoint-dir``), then the
three modes in turn on it, each a JSON line with decode_tok_s, cpu_expert_fraction, the offload counters
and the numbers auto measured (host_experts.costs, microseconds). Random weights route roughly uniformly:
the expert cache's worst case, so this is where the CPU helps most.

``--tiny --device cpu`` runs the same on a tiny model with simulated budgets (a dry run: the CPU device
computes "copied" experts on the CPU too, so its speeds mean nothing).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import torch
from gpu_bench import ensure_checkpoint, model_config

from engine.__main__ import main as engine_main
from engine.cli.bench import WARMUP_TOKENS
from engine.placement.plan import PlanOptions, make_plan


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--device", default="cuda")
    p.add_argument("--tiny", action="store_true", help="a tiny model on simulated budgets (a CPU dry run)")
    p.add_argument("--checkpoint-dir", default=None, help="default /tmp/gpt-oss-20b-random (tiny: -tiny)")
    p.add_argument("--budgets", default=None, help="comma list of sizes (default 8GiB,12GiB; tiny: two)")
    p.add_argument("--modes", default="copy,auto,cpu")
    p.add_argument("--prompt-tokens", type=int, default=None, help="default 512 (tiny 12)")
    p.add_argument("--gen-tokens", type=int, default=None, help="default 64 (tiny 4)")
    p.add_argument("--out", default=None, help="also append the JSON lines to this file")
    return p.parse_args(argv)


def tiny_budgets(cfg, context: int) -> list[str]:
    """Every layer's experts in host memory, and all but two layers'."""
    low = make_plan(cfg, None, context, options=PlanOptions(device="cpu")).min_budget_bytes
    return [str(low), str(low + 2 * cfg.num_experts * cfg.expert_bytes())]


def main(argv=None) -> int:
    args = parse_args(argv)
    tiny = args.tiny
    prompt, gen = args.prompt_tokens or (12 if tiny else 512), args.gen_tokens or (4 if tiny else 64)
    directory = Path(
        args.checkpoint_dir or ("/tmp/gpt-oss-tiny-random" if tiny else "/tmp/gpt-oss-20b-random")
    )
    cfg = model_config(tiny)
    device = torch.device(args.device)
    write_s, written = ensure_checkpoint(directory, cfg, device)
    context = max(prompt + gen, WARMUP_TOKENS + 2)  # what bench plans for
    budgets = (
        args.budgets.split(",") if args.budgets else tiny_budgets(cfg, context) if tiny else ["8GiB", "12GiB"]
    )
    out = open(args.out, "a") if args.out else None  # noqa: SIM115
    print(json.dumps({"checkpoint": str(directory), "written": written, "write_s": round(write_s, 1)}))
    failed = 0
    for budget in budgets:
        started = time.perf_counter()
        text = io.StringIO()
        bench = ["bench", "--model", str(directory), "--device", args.device, "--vram", budget]
        bench += ["--prompt-tokens", str(prompt), "--gen-tokens", str(gen), "--host-experts", args.modes]
        with contextlib.redirect_stdout(text):
            code = engine_main(bench)
        if code != 0:
            failed += 1
            print(json.dumps({"budget": budget, "error": f"engine bench exited {code}"}))
            continue
        result = json.loads(text.getvalue())
        for run in result.get("variants", [result]):
            line = {
                "budget": budget,
                "mode": run["host_experts"]["mode"] if run["host_experts"] else None,
                "decode_tok_s": run["decode_tok_s"],
                "prefill_tok_s": run["prefill_tok_s"],
                "cpu_expert_fraction": run["cpu_expert_fraction"],
                "expert_hit_rate": run["expert_hit_rate"],
                "h2d_bytes_per_token": run["h2d_bytes_per_token"],
                "cuda_graphs": run["cuda_graphs"],
                "host_experts": run["host_experts"],
                "same_tokens_as_first": run.get("same_tokens_as_first"),
                "plan": result["plan"],
                "device_name": result["device_name"],
                "load_and_runs_s": round(time.perf_counter() - started, 1),
            }
            print(json.dumps(line), flush=True)
            if out is not None:
                out.write(json.dumps(line) + "\n")
    if out is not None:
        out.close()
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
