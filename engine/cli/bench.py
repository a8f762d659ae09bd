"""``python -m engine bench``: load, prefill and decode speed and peak memory, as one JSON object.

Decoding is greedy from a seeded random prompt. A short warm-up on a throwaway cache runs first (on
CPU it pages in the memory-mapped weights; on CUDA it builds kernels), and is reported on its own.
``--vram`` places the weights for a budget (on the CPU a simulated one) and the JSON says where they went
and what the expert cache did while decoding. ``--kernels torch,triton`` and ``--cuda-graphs off,on``
measure each combination on the one loaded model (each a run of its own under "variants", the first also
at the top level); so does ``--host-experts copy,auto,cpu`` (how experts left in host memory are computed:
engine/offload/hybrid.py; each run has ``cpu_expert_fraction``, the share of the experts offloaded layers
needed that the CPU computed, and ``host_experts``, the mode and the measured numbers).
``--int8`` loads 8-bit attention and unembedding weights.
``--sampling`` also times decoding as the app runs it (temperature 1, top-p 1, the id read back each token,
the harmony parser, the session's per-token work) beside greedy: "sampling" in each run, with its ratio.
``--compare-transformers`` then loads the same checkpoint (Hugging Face layout) into transformers'
GptOssForCausalLM (MXFP4 dequantized to bf16, as transformers runs it without Triton kernels) and
decodes the same way in the same process, so the ratio comes from one run on one machine.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import sys
import time

from engine.cli._model_args import add_host_experts_argument, add_vram_argument, check_model
from engine.errors import EngineError
from engine.io.checkpoint import read_config


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", help="model folder (either layout); --count-ops may take --preset instead")
    parser.add_argument(
        "--count-ops",
        action="store_true",
        help="count the kernels and host syncs of one decode step at position --prompt-tokens on the meta "
        "device (no GPU, no weights; engine/runtime/op_count.py) and print them as JSON; with --model and "
        "--device cuda, also the kernels the CUDA profiler records in one eager step",
    )
    parser.add_argument(
        "--preset", choices=("gpt-oss-20b", "gpt-oss-120b"), help="a built-in model shape for --count-ops"
    )
    parser.add_argument("--device", default="cpu", help="cpu, cuda, cuda:N or auto (default: cpu)")
    parser.add_argument("--prompt-tokens", type=int, default=128)
    parser.add_argument("--gen-tokens", type=int, default=32)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--dense-cache-mib",
        type=int,
        default=None,
        help="dequantized-expert cache size (default: 512 on CPU, 0 on CUDA)",
    )
    parser.add_argument(
        "--threads", type=int, default=None, help="torch CPU threads (default: torch's choice)"
    )
    add_vram_argument(parser)
    add_host_experts_argument(parser, compare=True)
    parser.add_argument(
        "--kernels",
        default="auto",
        help="expert matmuls: auto (Triton where it runs), torch, triton, or a comma list to compare, e.g. "
        "torch,triton (sets GOSSAMER_KERNELS for each run)",
    )
    parser.add_argument(
        "--cuda-graphs",
        default="auto",
        help="decode steps as CUDA graphs: auto (default: on on CUDA, as the app runs), off, on, or off,on "
        "to compare on one loaded model",
    )
    parser.add_argument(
        "--int8",
        action="store_true",
        help="8-bit attention projections and unembedding, quantized at load (engine/layers/int8_linear.py)",
    )
    parser.add_argument(
        "--sampling",
        action="store_true",
        help="also decode as the app does (temperature 1, top-p 1, the parser, one host read a token) "
        "beside greedy",
    )
    parser.add_argument(
        "--compare-transformers",
        action="store_true",
        help="also time transformers' GptOssForCausalLM on the same checkpoint",
    )


def peak_rss_bytes() -> int:
    """Peak resident memory of this process. On Linux VmHWM, which (unlike ru_maxrss) does not inherit
    the peak of the process that started us."""
    try:
        with open("/proc/self/status") as f:
            return next(int(line.split()[1]) * 1024 for line in f if line.startswith("VmHWM:"))
    except (OSError, StopIteration):
        import resource  # not on Windows; neither is /proc

        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return peak if sys.platform == "darwin" else peak * 1024  # Linux reports KiB


def _sync(device) -> None:
    import torch

    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _decode_loop(step, first, count: int, device, tokens: list | None = None) -> float:
    """Time ``count`` greedy steps; ``step(ids) -> logits [1, V]``. Returns seconds; the tokens fed in go to
    ``tokens`` (device tensors, read after the clock stops)."""
    _sync(device)
    started = time.perf_counter()
    token = first
    for _ in range(count):
        if tokens is not None:
            tokens.append(token)
        token = step(token).argmax(dim=-1).view(1)  # stays on the device: no sync per token
    _sync(device)
    return time.perf_counter() - started


def bench_ours(args, prompt) -> tuple[dict, object]:
    import torch

    from engine.runtime.loader import load_model
    from engine.runtime.settle import settle

    notices: list[str] = []
    started = time.perf_counter()
    cache_bytes = None if args.dense_cache_mib is None else args.dense_cache_mib * 2**20
    n, g = prompt.shape[0], args.gen_tokens
    model = load_model(
        args.model,
        device=args.device,
        vram_budget=args.vram,
        context_length=max(n + g, WARMUP_TOKENS + 2),
        dense_cache_bytes=cache_bytes,
        notify=lambda notice: notices.append(notice.text),
        int8_weights=args.int8,
        # a mode that computes on the CPU, if any is asked: the load then measures the numbers auto needs
        host_experts=next((m for m in args.host_modes if m in ("auto", "cpu")), args.host_modes[0]),
    )
    load_s = time.perf_counter() - started
    # a CPU model's streamed weights into huge pages, as the app does while its loading screen shows (else
    # the warm-up's first step would, unreported)
    settled = settle(model)
    device = model.device
    prompt = prompt.to(device)
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    runs = []
    model.host_experts.wait_measured(120.0)  # auto's numbers (numba may compile first, on a fresh machine)
    for mode in args.kernel_modes:
        for graphs in args.graph_modes:
            for host in args.host_modes:
                model.host_experts.mode = host or model.host_experts.mode
                with kernels_mode(mode, device):
                    use_graphs(model, graphs_where_possible(model) if graphs is None else graphs)
                    runs.append(measure(model, prompt, g, sampling=getattr(args, "sampling", False)))
    use_graphs(model, False)
    first = runs[0]
    for run_ in runs[1:]:  # the same greedy tokens and logits, up to the rounding of other kernels
        run_["prefill_logits_max_abs_diff"] = round(
            float((run_["_logits"] - first["_logits"]).abs().max()), 5
        )
        run_["same_tokens_as_first"] = sum(a == b for a, b in zip(run_["_tokens"], first["_tokens"]))
    for run_ in runs:
        del run_["_logits"], run_["_tokens"]
    cfg, sizes, plan = model.config, model.weight_bytes(), model.plan
    result = {
        "engine": "gossamer",
        "device": str(device),
        "device_name": torch.cuda.get_device_name(device)
        if device.type == "cuda"
        else platform.processor() or platform.machine(),
        "threads": torch.get_num_threads(),
        "model": str(args.model),
        "source": model.source,
        "layers": cfg.num_hidden_layers,
        "experts": cfg.num_experts,
        "top_k": cfg.experts_per_token,
        "hidden_size": cfg.hidden_size,
        "heads": cfg.num_attention_heads,
        "kv_heads": cfg.num_key_value_heads,
        "vocab_size": cfg.vocab_size,
        "weights_bytes": sizes["total"],
        "expert_bytes": sizes["experts"],
        "host_weights_bytes": sizes["host"],
        "dense_cache_bytes": model.dense_cache.max_bytes if model.dense_cache else 0,
        "int8_weights": model.unembedding_int8 is not None,
        "plan": plan.summary() if plan.budget_bytes is not None else f"everything on {device}",
        "budget_bytes": plan.budget_bytes,
        "budget_source": plan.budget_source,
        "offloaded_layers": len(plan.offloaded_layers),
        "replanned": notices,
        "prompt_tokens": n,
        "gen_tokens": g,
        "load_s": round(load_s, 4),
        "huge_pages_bytes": settled.bytes,
        "huge_pages_s": round(settled.seconds, 3),
        **({"huge_pages_not": settled.why_not} if settled.why_not and device.type == "cpu" else {}),
        **first,
        "peak_rss_bytes": peak_rss_bytes(),
    }
    if len(runs) > 1:
        result["variants"] = runs
    if device.type == "cuda":
        result["peak_vram_bytes"] = torch.cuda.max_memory_allocated(device)
    return result, model


WARMUP_TOKENS = 16


def measure(model, prompt, gen: int, sampling: bool = False) -> dict:
    """Warm-up, then a timed prefill of ``prompt`` and ``gen`` greedy decode steps, with the expert cache's
    counters of each (offloaded models); with ``sampling`` also ``gen`` steps as the app decodes."""
    from engine import kernels
    from engine.offload.pool import OffloadStats

    device, n = model.device, prompt.shape[0]
    pool, graphs = model.offload_pool, model.decode_graphs
    cache = model.new_cache(n + gen)
    started = time.perf_counter()
    if graphs is None:  # a short warm-up on a throwaway cache
        warm = model.new_cache(min(n, WARMUP_TOKENS) + 2)
        logits = model.forward(prompt[: min(n, WARMUP_TOKENS)], warm, last_only=True)
        _decode_loop(lambda t: model.forward(t, warm, last_only=True), logits.argmax(-1).view(1), 2, device)
    else:  # the whole run once on the timed cache: graphs belong to a cache and the spans its steps read
        logits = model.forward(prompt, cache, last_only=True)
        _decode_loop(
            lambda t: model.forward(t, cache, last_only=True), logits.argmax(-1).view(1), gen, device
        )
        cache.reset()
    warmup_s = time.perf_counter() - started
    captured = graphs.captured() if graphs is not None else 0

    if pool is not None:
        pool.stats = OffloadStats()
    _sync(device)
    started = time.perf_counter()
    logits = model.forward(prompt, cache, last_only=True)
    _sync(device)
    prefill_s = time.perf_counter() - started
    prefill_stats = pool.stats if pool is not None else OffloadStats()
    if pool is not None:
        pool.stats = OffloadStats()
    tokens: list = []
    decode_s = _decode_loop(
        lambda t: model.forward(t, cache, last_only=True), logits.argmax(-1).view(1), gen, device, tokens
    )
    stats = pool.stats if pool is not None else OffloadStats()
    sampled = measure_sampled(model, prompt, cache, gen) if sampling and gen else None
    if sampled is not None and gen:
        sampled["vs_greedy"] = round(sampled["decode_tok_s"] / (gen / decode_s), 3)
    return {
        "kernels": kernels.mode(),
        "cpu_kernels": kernels.cpu_kind(),  # the experts' on the CPU (device cpu, or host experts)
        "cpu_kernels_failed": kernels.cpu_failures(),
        "fused_kernels": kernels.use_fused(device),
        "kernels_failed": kernels._disabled,
        "cuda_graphs": graphs is not None and graphs.disabled is None and bool(graphs.graphs),  # used
        "cuda_graphs_failed": graphs.disabled if graphs is not None else None,
        "graphs_captured_in_timed_run": graphs.captured() - captured if graphs is not None else 0,
        "warmup_s": round(warmup_s, 4),
        "prefill_s": round(prefill_s, 4),
        "prefill_tok_s": round(n / prefill_s, 2),
        "decode_s": round(decode_s, 4),
        "decode_tok_s": round(gen / decode_s, 2) if gen else None,
        "expert_hit_rate": round(stats.expert_hit_rate, 4),
        "cpu_expert_fraction": round(stats.cpu_expert_fraction, 4),
        "host_experts": model.host_experts.facts() if pool is not None else None,
        "h2d_bytes_per_token": round(stats.h2d_bytes_per_token, 1),
        "offload": stats.as_dict(),
        "offload_prefill": prefill_stats.as_dict(),
        **({"sampling": sampled} if sampled is not None else {}),
        "_logits": logits.float().cpu(),
        "_tokens": [int(t) for t in tokens],
    }


def measure_sampled(model, prompt, cache, gen: int) -> dict:
    """``gen`` steps as a chat turn decodes (engine/cli/_bench_sampling.py) after the same prefill, on the
    same cache (its graphs already captured), once untimed first."""
    from engine.cli._bench_sampling import APP_DEFAULTS, sampled_decode

    for _ in ("untimed", "timed"):
        cache.reset()
        logits = model.forward(prompt, cache, last_only=True)
        seconds, tokens = sampled_decode(model, cache, logits, gen, seed=0)
    return {
        "temperature": APP_DEFAULTS.temperature,
        "top_p": APP_DEFAULTS.top_p,
        "decode_s": round(seconds, 4),
        "decode_tok_s": round(gen / seconds, 2),
        "distinct_tokens": len(set(tokens)),
    }


def host_modes(setting: str | None) -> list[str | None]:
    """--host-experts: one mode or a comma list (None: the load's default, GOSSAMER_HOST_EXPERTS or auto)."""
    from engine.offload.hybrid import resolve_mode

    words = [w.strip().lower() for w in (setting or "").split(",") if w.strip()]
    return [resolve_mode(w) for w in words] or [None]


def graphs_where_possible(model) -> bool:
    """--cuda-graphs auto: as load_model decides by default (on CUDA when the placement allows)."""
    from engine.runtime import decode_graph

    return decode_graph.unsupported(model) is None


def use_graphs(model, on: bool) -> None:
    """Decode through CUDA graphs (engine/runtime/decode_graph.py) or eagerly; an EngineError if they cannot be."""
    from engine.runtime import decode_graph

    if not on:
        model.decode_graphs = None
        return
    why = decode_graph.unsupported(model)
    if why is not None:
        raise EngineError(f"--cuda-graphs: {why}.")
    model.decode_graphs = decode_graph.DecodeGraphs(model)


@contextlib.contextmanager
def kernels_mode(mode: str, device):
    """GOSSAMER_KERNELS=mode for the duration (engine.kernels reads it at every call)."""
    from engine import kernels

    previous = os.environ.get(kernels.ENV)
    os.environ[kernels.ENV] = mode
    try:
        if mode == "triton" and (why := kernels.why_unavailable(device)):
            raise EngineError(f"--kernels triton: the Triton kernels cannot run here: {why}.")
        yield
    finally:
        if previous is None:
            os.environ.pop(kernels.ENV, None)
        else:
            os.environ[kernels.ENV] = previous


def bench_transformers(args, prompt, device) -> dict:
    """transformers' decode speed on the same checkpoint, or why it could not run."""
    import torch

    from engine.io.checkpoint import find_layout

    layout = find_layout(args.model)
    if layout.kind != "hf":
        return {"error": "transformers reads only the Hugging Face layout; this folder has the original one"}
    try:
        import transformers
        from transformers import GptOssForCausalLM, Mxfp4Config
    except ImportError as error:
        return {"error": f"transformers is not installed ({error})"}
    transformers.logging.set_verbosity_error()
    started = time.perf_counter()
    # device_map needs accelerate; without it, load on the CPU and move the dequantized model over
    model = GptOssForCausalLM.from_pretrained(
        str(layout.directory), dtype=torch.bfloat16, quantization_config=Mxfp4Config(dequantize=True)
    )
    model.to(device).eval()
    load_s = time.perf_counter() - started
    prompt = prompt.to(device)
    cache_kw = _cache_keyword(model)

    def run(ids, state):
        out = model(ids.view(1, -1), use_cache=True, **{cache_kw: state["cache"]})
        state["cache"] = getattr(out, "cache", None) or getattr(out, "past_key_values", None)
        return out.logits[0, -1:].float()

    with torch.inference_mode():
        warm = {"cache": None}
        _decode_loop(
            lambda t: run(t, warm),
            run(prompt[: min(16, prompt.shape[0])], warm).argmax(-1).view(1),
            2,
            device,
        )
        state = {"cache": None}
        _sync(device)
        started = time.perf_counter()
        logits = run(prompt, state)
        _sync(device)
        prefill_s = time.perf_counter() - started
        decode_s = _decode_loop(lambda t: run(t, state), logits.argmax(-1).view(1), args.gen_tokens, device)
    return {
        "version": transformers.__version__,
        "load_s": round(load_s, 4),
        "prefill_tok_s": round(prompt.shape[0] / prefill_s, 2),
        "decode_tok_s": round(args.gen_tokens / decode_s, 2) if args.gen_tokens else None,
    }


def _cache_keyword(model) -> str:
    import inspect

    params = inspect.signature(model.forward).parameters
    return "cache" if "cache" in params else "past_key_values"


def count_ops(args: argparse.Namespace) -> int:
    """--count-ops: the CUDA + Triton path unless --kernels torch (a GPU without Triton)."""
    from engine.config import ModelConfig
    from engine.placement.plan import PRESETS
    from engine.runtime.op_count import count_ops as count

    if args.model:
        cfg = ModelConfig.from_model_dir(args.model)
    else:
        cfg = PRESETS[args.preset or "gpt-oss-20b"]
    path = "torch" if args.kernels.strip().lower() == "torch" else "triton"
    result = count(cfg, position=args.prompt_tokens, path=path, int8=args.int8)
    if args.model and args.device != "cpu":  # a GPU too: what its profiler sees in one eager step
        from engine.runtime.loader import load_model
        from engine.runtime.op_count import profile_step

        note = check_model(args.model)
        with kernels_mode(args.kernels.strip().lower(), args.device):
            model = load_model(
                args.model, device=args.device, context_length=args.prompt_tokens + 64, int8_weights=args.int8
            )
            if model.device.type == "cuda":
                result.update(profile_step(model, position=args.prompt_tokens))
        if note:
            print(f"note: {note}", file=sys.stderr)
    print(json.dumps({"model": args.model or args.preset or "gpt-oss-20b", **result}))
    return 0


def run(args: argparse.Namespace) -> int:
    import torch

    if args.count_ops:
        return count_ops(args)
    if not args.model:
        raise EngineError("bench needs --model FOLDER (only --count-ops runs without one).")
    if args.prompt_tokens < 1 or args.gen_tokens < 0:
        raise EngineError("--prompt-tokens must be at least 1 and --gen-tokens at least 0.")
    from engine.kernels import MODES

    args.kernel_modes = [m.strip().lower() for m in args.kernels.split(",") if m.strip()]
    if not args.kernel_modes or any(m not in MODES for m in args.kernel_modes):
        raise EngineError(
            f"--kernels takes {', '.join(MODES)} or a comma list of them, not {args.kernels!r}."
        )
    words = [w.strip().lower() for w in args.cuda_graphs.split(",") if w.strip()]
    if not words or any(w not in ("on", "off", "auto") for w in words):
        raise EngineError(f"--cuda-graphs takes auto, on, off or off,on, not {args.cuda_graphs!r}.")
    args.graph_modes = [None if w == "auto" else w == "on" for w in words]  # None: on where it is CUDA
    args.host_modes = host_modes(args.host_experts)

    # files changed since verified are hashed again before anything reads them, as the app and generate do
    note = check_model(args.model)
    vocab = min(read_config(args.model).vocab_size, 199998)  # ordinary tokens only
    prompt = torch.randint(
        0, vocab, (args.prompt_tokens,), generator=torch.Generator().manual_seed(args.seed)
    )
    threads = torch.get_num_threads()
    if args.threads:
        torch.set_num_threads(args.threads)
    try:
        ours, model = bench_ours(args, prompt)
        if args.compare_transformers:
            device = model.device
            del model
            theirs = bench_transformers(args, prompt, device)
            ours["transformers"] = theirs
            if theirs.get("decode_tok_s") and ours.get("decode_tok_s"):
                ours["decode_speedup_vs_transformers"] = round(
                    ours["decode_tok_s"] / theirs["decode_tok_s"], 3
                )
    finally:
        torch.set_num_threads(threads)
    if note:
        print(f"note: {note}", file=sys.stderr)
    print(json.dumps(ours))
    return 0
