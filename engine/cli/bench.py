"""``python -m engine bench``: load, prefill and decode speed and peak memory, as one JSON object.

Decoding is greedy from a seeded random prompt. A short warm-up on a throwaway cache runs first (on
CPU it pages in the memory-mapped weights; on CUDA it builds kernels), and is reported on its own.
``--compare-transformers`` then loads the same checkpoint (Hugging Face layout) into transformers'
GptOssForCausalLM (MXFP4 dequantized to bf16, as transformers runs it without Triton kernels) and
decodes the same way in the same process, so the ratio comes from one run on one machine.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time

from engine.errors import EngineError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", required=True, help="model folder (either layout)")
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


def _decode_loop(step, first, count: int, device) -> float:
    """Time ``count`` greedy steps; ``step(ids) -> logits [1, V]``. Returns seconds."""
    _sync(device)
    started = time.perf_counter()
    token = first
    for _ in range(count):
        token = step(token).argmax(dim=-1).view(1)  # stays on the device: no sync per token
    _sync(device)
    return time.perf_counter() - started


def bench_ours(args, prompt) -> tuple[dict, object]:
    import torch

    from engine.loader import load_model

    started = time.perf_counter()
    cache_bytes = None if args.dense_cache_mib is None else args.dense_cache_mib * 2**20
    model = load_model(args.model, device=args.device, dense_cache_bytes=cache_bytes)
    load_s = time.perf_counter() - started
    device, n, g = model.device, prompt.shape[0], args.gen_tokens
    prompt = prompt.to(device)
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)

    started = time.perf_counter()
    warm = model.new_cache(min(n, 16) + 2)
    logits = model.forward(prompt[: min(n, 16)], warm, last_only=True)
    _decode_loop(lambda t: model.forward(t, warm, last_only=True), logits.argmax(-1).view(1), 2, device)
    warmup_s = time.perf_counter() - started

    cache = model.new_cache(n + g)
    _sync(device)
    started = time.perf_counter()
    logits = model.forward(prompt, cache, last_only=True)
    _sync(device)
    prefill_s = time.perf_counter() - started
    decode_s = _decode_loop(
        lambda t: model.forward(t, cache, last_only=True), logits.argmax(-1).view(1), g, device
    )
    cfg, sizes = model.config, model.weight_bytes()
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
        "dense_cache_bytes": model.dense_cache.max_bytes if model.dense_cache else 0,
        "prompt_tokens": n,
        "gen_tokens": g,
        "load_s": round(load_s, 4),
        "warmup_s": round(warmup_s, 4),
        "prefill_s": round(prefill_s, 4),
        "prefill_tok_s": round(n / prefill_s, 2),
        "decode_s": round(decode_s, 4),
        "decode_tok_s": round(g / decode_s, 2) if g else None,
        "peak_rss_bytes": peak_rss_bytes(),
    }
    if device.type == "cuda":
        result["peak_vram_bytes"] = torch.cuda.max_memory_allocated(device)
    return result, model


def bench_transformers(args, prompt, device) -> dict:
    """transformers' decode speed on the same checkpoint, or why it could not run."""
    import torch

    from engine.checkpoint import find_layout

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


def run(args: argparse.Namespace) -> int:
    import torch

    if args.prompt_tokens < 1 or args.gen_tokens < 0:
        raise EngineError("--prompt-tokens must be at least 1 and --gen-tokens at least 0.")
    from engine.config import ModelConfig

    vocab = min(ModelConfig.from_model_dir(args.model).vocab_size, 199998)  # ordinary tokens only
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
    print(json.dumps(ours))
    return 0
