#!/usr/bin/env python3
"""Decode and prefill speed of gpt-oss-20b at several VRAM budgets, experts offloaded by the planner (issue #4).

One short run on a lent GPU, well under 10 minutes with everything included:
1. write a full-size random gpt-oss-20b checkpoint (the real shapes; values generated on the GPU) to
   ``--checkpoint-dir`` (reused when a complete one of the same shape is there);
2. load it once: non-expert weights on the GPU, every layer's experts in page-locked host memory;
3. per case (budget x context): plan, place the experts by the plan (``apply_plan``, no reload), cap the
   process with ``torch.cuda.set_per_process_memory_fraction``, prefill, decode, and print one JSON line.

Context: "context = C" means C positions are in the KV cache while decoding. The first
``--prefill-tokens`` (4096) are a real, timed prefill; the positions after it are filled with random keys
and values (documented in each line as ``kv_filled``), which costs nothing and reads the same bytes per
decoded token as real ones. Decoding feeds fixed random ids (teacher forcing), so every case computes
the same thing. Exactness check: ``--check-tokens`` decode steps after 64 random positions (no prefill, whose
float32 sums over a token's experts run in another order with slots) must equal the no-offload case's bits.
Every case uses the same prefill chunk (``--prefill-chunk``), so prefill speeds compare.

Routing on random weights is roughly uniform: the worst case for an expert cache (no expert is hotter than
another, consecutive tokens share nothing). ``--skewed`` adds cases with a synthetic popularity skew
(router bias -log(rank + 1) over a random order of each layer's experts), clearly labelled; neither is
the real model's routing.

Issue 13 (decode at the bandwidth limit): ``--kernels torch,triton`` and ``--cuda-graphs off,on`` run every
case in each combination on the one loaded model, ``--sampling`` also decodes each case as the app does
(temperature 1, top-p 1, the id read back every token, the harmony parser) beside the greedy steps, and every
case says its decode speed as a share of the card's bandwidth ceiling (benchmarks/decode_ceiling.py:
measured copy bandwidth and the published figure). ``benchmarks/gpu_run.sh`` runs it all in one call.

``--tiny --device cpu`` runs the same code on a tiny model (tests/offload/test_gpu_bench.py), so the one GPU
call cannot fail on a silly bug. Needs torch and safetensors-free engine code only (no platformdirs, no Qt).
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import shutil
import sys
import time
import traceback
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
# Fewer, growable segments: reserved memory stays close to allocated memory, which the budget counts
# (without it, fragmentation pushed 12 GiB plans over the cap on the first H200 run).
os.environ.setdefault("PYTORCH_CUDA_ALLOC_CONF", "expandable_segments:True")

import torch

from decode_ceiling import (
    bytes_per_token,
    ceiling,
    measured_bandwidth,
    nominal_bandwidth,
    sampled_steps,
    switch_ratios,
)

from engine import kernels
from engine.config import ModelConfig
from engine.offload.build import apply_plan, host_layers_of, load_planned, pinned, supports_host_embedding
from engine.offload.pool import OffloadStats
from engine.placement.memory import format_size, parse_size
from engine.placement.plan import PlanOptions, make_plan, replan_after_oom

UNIFORM = "random weights (routing roughly uniform: worst case for an expert cache)"
SKEWED = "synthetic skew (router bias -log(rank+1), random expert order per layer; not real routing)"
MARKER = "bench-checkpoint.json"


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--device", default="cuda")
    p.add_argument("--tiny", action="store_true", help="a tiny model (4 layers, 8 experts) for a CPU dry run")
    p.add_argument("--checkpoint-dir", default=None, help="default /tmp/gpt-oss-20b-random (tiny: -tiny)")
    p.add_argument("--budgets", default=None, help="comma list: all, sizes (16GiB), min, min+SIZE")
    p.add_argument("--contexts", default=None, help="comma list of context lengths (default 4096,32768)")
    p.add_argument("--prefill-tokens", type=int, default=4096, help="real prefill length, at most")
    p.add_argument("--decode-tokens", type=int, default=None, help="timed decode steps (default 64; tiny 8)")
    p.add_argument("--check-tokens", type=int, default=3, help="decode steps compared across cases (untimed)")
    p.add_argument(
        "--prefill-chunk", type=int, default=2048, help="the same for every case, for comparable numbers"
    )
    p.add_argument(
        "--deadline", type=float, default=480.0, help="seconds for everything, checkpoint included"
    )
    p.add_argument("--case-timeout", type=float, default=60.0, help="seconds a case may decode for")
    p.add_argument("--skewed", action="store_true", help="also run the offloaded budgets with skewed routing")
    p.add_argument("--out", default=None, help="also append the JSON lines to this file")
    p.add_argument(
        "--cuda-graphs",
        default="off",
        help="decode through CUDA graphs: off, on, or off,on to run every case both ways (offloaded plans: "
        "one graph per segment between offloaded layers)",
    )
    p.add_argument(
        "--kernels",
        default="auto",
        help="GOSSAMER_KERNELS per case: auto, torch, triton, or a list (torch,triton)",
    )
    p.add_argument(
        "--sampling", action="store_true", help="also decode each case as the app does, beside greedy"
    )
    args = p.parse_args(argv)
    args.graph_modes = [w.strip() for w in args.cuda_graphs.split(",") if w.strip()]
    args.kernel_modes = [w.strip() for w in args.kernels.split(",") if w.strip()]
    if not args.graph_modes or not set(args.graph_modes) <= {"off", "on"}:
        p.error(f"--cuda-graphs takes off, on or off,on, not {args.cuda_graphs!r}")
    if not args.kernel_modes or not set(args.kernel_modes) <= set(kernels.MODES):
        p.error(f"--kernels takes {', '.join(kernels.MODES)} or a list of them, not {args.kernels!r}")
    tiny = args.tiny
    args.budgets = (args.budgets or ("all,min+128KiB,min" if tiny else "all,16GiB,12GiB,8GiB")).split(",")
    args.contexts = [int(c) for c in (args.contexts or ("64,256" if tiny else "4096,32768")).split(",")]
    args.decode_tokens = args.decode_tokens or (8 if tiny else 64)
    args.checkpoint_dir = Path(
        args.checkpoint_dir or ("/tmp/gpt-oss-tiny-random" if tiny else "/tmp/gpt-oss-20b-random")
    )
    return args


class Reporter:
    def __init__(self, out: str | None):
        self.out = Path(out) if out else None

    def __call__(self, record: dict) -> None:
        line = json.dumps(record)
        print(line, flush=True)
        if self.out is not None:
            with open(self.out, "a") as f:
                f.write(line + "\n")


def model_config(tiny: bool) -> ModelConfig:
    if tiny:
        from engine.io.synthetic import tiny_config

        return tiny_config(num_hidden_layers=4, num_experts=8, experts_per_token=2)
    return ModelConfig()


def ensure_checkpoint(directory: Path, cfg: ModelConfig, device: torch.device) -> tuple[float, bool]:
    """Write the random checkpoint unless a complete one of this shape is there; (seconds, written)."""
    from engine.io.synthetic import write_checkpoint

    marker = directory / MARKER
    want = cfg.to_hf_json()
    if marker.is_file() and json.loads(marker.read_text()) == want:
        return 0.0, False
    started = time.perf_counter()
    shutil.rmtree(directory, ignore_errors=True)
    write_checkpoint(directory, cfg, layout="hf", seed=0, device=device)
    marker.write_text(json.dumps(want))
    return time.perf_counter() - started, True


def budget_of(spec: str, cfg: ModelConfig, context: int, options: PlanOptions) -> int | None:
    if spec == "all":
        return None
    if spec.startswith("min"):
        base = make_plan(cfg, None, context, options=options).min_budget_bytes
        return base + (parse_size(spec[4:]) if spec.startswith("min+") else 0)
    return parse_size(spec)


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def fill_random_kv(cache, count: int, device: torch.device, seed: int) -> None:
    """Positions num_tokens .. +count hold random keys and values (bf16 normal): decoding after them reads
    what it would read after a real prefill of that length."""
    from engine.layers.kv_cache import FullLayerCache

    g = torch.Generator(device).manual_seed(seed)
    start = cache.num_tokens
    cache.append_tokens(torch.randint(0, 199998, (count,), device=device, generator=g))
    for layer in cache.layers:
        if isinstance(layer, FullLayerCache):
            for t in (layer.k, layer.v):
                view = t[:, start : start + count]
                view.copy_(torch.randn(view.shape, generator=g, device=device, dtype=torch.float32))
        else:  # a ring: all of it is "recent history" now
            for t in (layer.k, layer.v):
                t.copy_(torch.randn(t.shape, generator=g, device=device, dtype=torch.float32))
    cache.advance(count)


def skew_routers(model, seed: int = 0) -> list[torch.Tensor]:
    """Bias every router toward a random order of its experts (new tensors: on the CPU the old ones are
    read-only views of the checkpoint; call before apply_plan, whose predictors read them); returns the old."""
    g = torch.Generator().manual_seed(seed)
    saved = []
    for block in model.blocks:
        moe = getattr(block.mlp, "base", block.mlp)
        e = moe.gate_bias.shape[0]
        order = torch.randperm(e, generator=g)
        bias = torch.empty(e)
        bias[order] = -torch.log(torch.arange(1, e + 1, dtype=torch.float32))
        saved.append(moe.gate_bias)
        moe.gate_bias = moe.gate_bias + bias.to(moe.gate_bias.device, moe.gate_bias.dtype)
    return saved


def restore_routers(model, saved: list[torch.Tensor]) -> None:
    for block, bias in zip(model.blocks, saved):
        getattr(block.mlp, "base", block.mlp).gate_bias = bias


def run_case(model, args, context: int, device: torch.device, started_case: float) -> dict:
    """Prefill, random fill, check steps, timed decode; the numbers of one case."""
    decode, check = args.decode_tokens, args.check_tokens
    sampled = decode if args.sampling else 0  # the app's way, after the greedy steps on the same cache
    prompt = max(1, min(args.prefill_tokens, context - decode - sampled - check - 1))
    fill = context - prompt - decode - sampled - check
    gen = torch.Generator().manual_seed(context)
    ids = torch.randint(0, 199998, (prompt + check + decode,), generator=gen).to(device)
    pool = getattr(model, "offload_pool", None)

    warm = model.new_cache(16, zeroed=True)  # kernels, cuBLAS handles, allocator: not part of the timings
    model.forward(ids[:8], warm, last_only=True)
    model.forward(ids[8:9], warm, last_only=True)
    del warm
    if pool is not None:
        pool.stats = OffloadStats()
    cache = model.new_cache(context, zeroed=True)  # (CUDA zeroes anyway; a CPU dry run reads masked keys)
    sync(device)
    t = time.perf_counter()
    model.forward(ids[:prompt], cache, last_only=True)
    sync(device)
    prefill_s = time.perf_counter() - t
    prefill_stats = pool.stats.as_dict() if pool is not None else None
    if fill > 0:
        fill_random_kv(cache, fill, device, seed=context)
    for i in range(check):  # untimed: the decode path settles (first misses) before the timed steps
        model.forward(ids[prompt + i : prompt + i + 1], cache, last_only=True)
    if pool is not None:
        pool.stats = OffloadStats()
    graphs = getattr(model, "decode_graphs", None)
    captured = graphs.captured() if graphs is not None else 0
    steps = 0
    sync(device)
    t = time.perf_counter()
    for i in range(decode):
        if time.perf_counter() - started_case > args.case_timeout:
            break
        j = prompt + check + i
        logits = model.forward(ids[j : j + 1], cache, last_only=True)
        steps += 1
    sync(device)
    decode_s = time.perf_counter() - t
    sampled_numbers = sampled_steps(model, cache, logits, sampled) if sampled and steps else {}
    stats = pool.stats if pool is not None else OffloadStats()
    graph_numbers = {}
    if graphs is not None:
        graph_numbers = {
            "cuda_graphs": graphs.disabled is None,
            "cuda_graphs_failed": graphs.disabled,
            "graphs_captured_in_timed_run": graphs.captured() - captured,  # must be 0
            "graph_segments": len(graphs.segments) if graphs.segments is not None else None,
        }
    # Exactness: decode steps after random keys/values only (no prefill, whose float32 sums over a token's
    # experts run in row order, slots vs expert ids): every placement must give the same bits.
    del cache
    positions = max(1, min(64, context - check - 1))
    probe = model.new_cache(positions + check, zeroed=True)
    fill_random_kv(probe, positions, device, seed=7)
    checks = [model.forward(ids[i : i + 1], probe, last_only=True).float().cpu() for i in range(check)]
    del probe
    return {
        "prefill_tokens": prompt,
        "prefill_s": round(prefill_s, 4),
        "prefill_tok_s": round(prompt / prefill_s, 1),
        "prefill_h2d_bytes": prefill_stats["h2d_bytes"] if prefill_stats else 0,
        "kv_filled": max(0, fill),
        "decode_tokens": steps,
        "decode_s": round(decode_s, 4),
        "decode_tok_s": round(steps / decode_s, 2) if steps else None,
        "expert_hit_rate": round(stats.expert_hit_rate, 4),
        "h2d_bytes_per_token": round(stats.h2d_bytes / steps) if steps else 0,
        "prefetched_per_token": round(stats.prefetched / steps, 2) if steps else 0,
        "prefetch_hits_per_token": round(stats.prefetch_hits / steps, 2) if steps else 0,
        "misses_per_token": round(stats.misses / steps, 2) if steps else 0,
        **graph_numbers,
        **sampled_numbers,
        "_checks": checks,
    }


def use_graphs(model, on: bool, cuda: bool) -> None:
    """Decode graphs for this placement (a fresh set: graphs hold the placement's tensors), or none. Off the
    GPU (the --tiny dry run) the bookkeeping runs with a stand-in capture that calls each segment."""
    from engine.runtime.decode_graph import DecodeGraphs, unsupported

    model.decode_graphs = None
    if not on or unsupported(model, need_cuda=cuda) is not None:
        return
    if cuda:
        model.decode_graphs = DecodeGraphs(model)
    else:
        model.decode_graphs = DecodeGraphs(model, capture=_call_capture)


def _call_capture(fn, device, pool):
    out = fn()
    return (lambda: out.copy_(fn()) if out is not None else fn()), out, pool


def main(argv=None) -> int:
    args = parse_args(argv)
    report = Reporter(args.out)
    t0 = time.perf_counter()
    deadline = t0 + args.deadline
    device = torch.device(args.device)
    cfg = model_config(args.tiny)
    cuda = device.type == "cuda"
    total_mem = torch.cuda.get_device_properties(device).total_memory if cuda else None
    report(
        {
            "event": "start",
            "torch": torch.__version__,
            "device": str(device),
            "device_name": torch.cuda.get_device_name(device) if cuda else "cpu",
            "total_memory": total_mem,
            "model": "tiny" if args.tiny else "gpt-oss-20b (random weights)",
            "budgets": args.budgets,
            "contexts": args.contexts,
            "host_embedding": supports_host_embedding(),
            "alloc_conf": os.environ.get("PYTORCH_CUDA_ALLOC_CONF"),
            "cuda_graphs": args.cuda_graphs,
            "kernels": args.kernels,
            "sampling": args.sampling,
        }
    )
    measured_bw = nominal_bw = None
    if cuda:  # the ceiling every case is measured against
        measured_bw, nominal_bw = (
            measured_bandwidth(device),
            nominal_bandwidth(torch.cuda.get_device_name(device)),
        )
        report(
            {
                "event": "bandwidth",
                "device_copy_gb_per_s": round(measured_bw / 1e9, 1),
                "nominal_gb_per_s": round(nominal_bw / 1e9, 1) if nominal_bw else None,
            }
        )

    write_s, written = ensure_checkpoint(args.checkpoint_dir, cfg, device)
    from engine.io.checkpoint import Checkpoint

    t = time.perf_counter()
    bandwidth = None
    checkpoint = Checkpoint.open(args.checkpoint_dir)
    host = [pinned(p) for p in host_layers_of(checkpoint)] if cuda else host_layers_of(checkpoint)
    pin_s = time.perf_counter() - t
    options = PlanOptions(
        device=device.type, host_embedding=supports_host_embedding(), prefill_chunk=args.prefill_chunk
    )
    first = make_plan(
        cfg, budget_of(args.budgets[-1], cfg, args.contexts[0], options), args.contexts[0], options=options
    )
    model = load_planned(
        args.checkpoint_dir,
        device,
        first,
        checkpoint=checkpoint,
        host_layers=host,
        pin=False,
        dense_cache_bytes=0,  # (the default on CUDA; on a CPU dry run a cache would rule graphs out)
        host_experts="copy",  # issue #4's copies, bit-exact checks; benchmarks/hybrid_bench.py compares modes
    )
    if cuda:  # the bus every miss crosses: one layer's experts, pinned host -> device
        layer = getattr(host[0], "rows", host[0].mlp1_blocks)  # packed a row per expert when pinned
        target = torch.empty_like(layer, device=device)
        target.copy_(layer, non_blocking=True)
        sync(device)
        t1 = time.perf_counter()
        target.copy_(layer, non_blocking=True)
        sync(device)
        bandwidth = layer.nbytes / (time.perf_counter() - t1)
        report({"event": "h2d_bandwidth", "bytes": layer.nbytes, "gb_per_s": round(bandwidth / 1e9, 1)})
        del target
    report(
        {
            "event": "loaded",
            "checkpoint_written": written,
            "write_s": round(write_s, 1),
            "pin_s": round(pin_s, 1),
            "load_s": round(time.perf_counter() - t, 1),
            "pinned": bool(cuda and host[0].mlp1_blocks.is_pinned()),
            "elapsed_s": round(time.perf_counter() - t0, 1),
        }
    )

    variants = [(k, g) for k in args.kernel_modes for g in args.graph_modes]
    cases = [(spec, ctx, UNIFORM, v) for ctx in args.contexts for spec in args.budgets for v in variants]
    if args.skewed:
        cases += [
            (spec, ctx, SKEWED, v) for ctx in args.contexts[:1] for spec in args.budgets for v in variants
        ]
    results, references, longest = [], {}, 0.0
    saved_bias = None
    for spec, context, routing, (kernel_mode, graph_mode) in cases:
        name = f"{spec}@{context}" + (f"/{kernel_mode}/graphs-{graph_mode}" if len(variants) > 1 else "")
        left = deadline - time.perf_counter()
        if left < max(10.0, 1.3 * longest):
            report(
                {
                    "case": name,
                    "routing": routing,
                    "skipped": f"{left:.0f} s left of the deadline",
                }
            )
            continue
        if routing == SKEWED and saved_bias is None:
            saved_bias = skew_routers(model)
        started = time.perf_counter()
        record = {"case": name, "budget": spec, "context": context, "routing": routing}
        record.update({"kernels": kernel_mode, "graphs": graph_mode})
        os.environ[kernels.ENV] = kernel_mode  # read by the engine at every step
        budget = budget_of(spec, cfg, context, options)
        plan = make_plan(cfg, budget, context, options=options, model=name)
        message = None
        for attempt in range(2):
            if not plan.fits:
                break
            try:
                if cuda:
                    torch.cuda.set_per_process_memory_fraction(
                        1.0 if budget is None else min(1.0, budget / total_mem)
                    )
                apply_plan(model, plan, host, pin=False)
                use_graphs(model, graph_mode == "on", cuda)
                if cuda:
                    torch.cuda.reset_peak_memory_stats(device)
                numbers = run_case(model, args, context, device, started)
                break
            except torch.OutOfMemoryError as error:
                gc.collect()
                torch.cuda.empty_cache()
                record["oom"] = str(error).splitlines()[0][:200]
                if attempt:
                    plan = None
                    break
                plan, message = replan_after_oom(plan)
            except Exception as error:  # noqa: BLE001 - one GPU run: report the case and go on
                traceback.print_exc()
                record["error"] = repr(error)[:500]
                plan = None
                break
        if "error" in record:
            report(record)
            continue
        if plan is None or not plan.fits:
            record["skipped"] = plan.problem if plan is not None else "out of memory twice"
            report(record)
            continue
        checks = numbers.pop("_checks")
        numbers["fused_kernels"] = kernels.use_fused(device)
        numbers["kernels_failed"] = kernels._disabled
        numbers.update(
            ceiling(numbers.get("decode_tok_s"), bytes_per_token(model, context), measured_bw, nominal_bw)
        )
        key = (context, routing, kernel_mode, graph_mode)  # other kernels round otherwise
        if spec == "all":
            references[key] = checks
        elif key in references and checks:
            diff = max((a - b).abs().max().item() for a, b in zip(checks, references[key]))
            agree = sum(int(a.argmax() == b.argmax()) for a, b in zip(checks, references[key]))
            numbers["check_max_abs_diff"] = round(diff, 5)
            numbers["check_argmax_agree"] = f"{agree}/{len(checks)}"
        record.update(numbers)
        record.update(
            {
                "plan": plan.summary(),
                "replanned": message,
                "budget_bytes": plan.budget_bytes,
                "offloaded_layers": len(plan.offloaded_layers),
                "num_slots": plan.num_slots,
                "planned_device_bytes": plan.total_device_bytes,
                "prefill_chunk": plan.prefill_chunk,
            }
        )
        if cuda:
            peak = torch.cuda.max_memory_allocated(device)
            record["peak_vram_bytes"] = peak
            record["peak_vram"] = format_size(peak, 2)
            record["within_budget"] = budget is None or peak <= budget
            record["peak_reserved"] = format_size(torch.cuda.max_memory_reserved(device), 2)
            if record.get("h2d_bytes_per_token"):  # decode speed if copies were all that mattered
                record["bus_bound_tok_s"] = round(bandwidth / record["h2d_bytes_per_token"], 1)
        record["seconds"] = round(time.perf_counter() - started, 1)
        longest = max(longest, time.perf_counter() - started)
        report(record)
        results.append(record)
    if saved_bias is not None:
        restore_routers(model, saved_bias)
    report(summary(results, args, time.perf_counter() - t0))
    return 0


def summary(results: list[dict], args, total_s: float) -> dict:
    """Ratios against the targets of issue #4 (12 GiB: half the no-offload decode speed; 8 GiB: 36 tok/s on an
    RTX-class card; the H100 numbers are only indicative for that one)."""
    out = {"event": "summary", "total_s": round(total_s, 1), "cases": len(results), "routing_note": UNIFORM}
    first = (args.kernel_modes[0], args.graph_modes[0])  # the offload ratios compare the first variant's
    by = {
        (r["budget"], r["context"], r["routing"]): r for r in results if (r["kernels"], r["graphs"]) == first
    }
    for context in args.contexts:
        base = by.get(("all", context, UNIFORM), {}).get("decode_tok_s")
        for spec in args.budgets:
            r = by.get((spec, context, UNIFORM))
            if spec != "all" and r and base and r.get("decode_tok_s"):
                out[f"decode_ratio_{spec}@{context}"] = round(r["decode_tok_s"] / base, 3)
        out.update(switch_ratios(results, context, UNIFORM))
    return out


if __name__ == "__main__":
    sys.exit(main())
