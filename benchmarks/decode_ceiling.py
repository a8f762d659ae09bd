"""The bandwidth ceiling of a decode step, and decoding as the app does, for benchmarks/gpu_bench.py.

A decode token must read every dense weight (the embedding's one row aside), the routed experts of every
layer and the keys and values its attention spans; nothing faster is possible on a card whose memory moves
B bytes a second than B / those bytes. ``ceiling`` reports it twice: against the copy bandwidth measured on
this card (a device-to-device copy: what kernels can reach) and against the card's published figure.
"""

from __future__ import annotations

import time

import torch

# Published memory bandwidth (bytes/s) by a piece of the device name; the first match wins.
NOMINAL_BANDWIDTH = (
    ("H200", 4.8e12),
    ("H100 NVL", 3.9e12),
    ("H100 PCIe", 2.0e12),
    ("H100", 3.35e12),  # SXM5 80GB HBM3
    ("A100-SXM4-80GB", 2.039e12),
    ("A100", 1.555e12),
    ("RTX 5090", 1.792e12),
    ("RTX 5080", 0.96e12),
    ("RTX 4090", 1.008e12),
    ("L40S", 0.864e12),
)


def nominal_bandwidth(device_name: str) -> float | None:
    return next((bw for key, bw in NOMINAL_BANDWIDTH if key in device_name), None)


def measured_bandwidth(device: torch.device, size: int = 1 << 30, repeats: int = 5) -> float:
    """Bytes a second a device-to-device copy moves (read plus write), once warmed up."""
    a = torch.empty(size, dtype=torch.uint8, device=device)
    b = torch.empty_like(a)
    b.copy_(a)
    torch.cuda.synchronize(device)
    started = time.perf_counter()
    for _ in range(repeats):
        b.copy_(a)
    torch.cuda.synchronize(device)
    return 2 * size * repeats / (time.perf_counter() - started)


def bytes_per_token(model, context: int) -> int:
    """Bytes one decode token at ``context`` positions must read: dense weights on the device (less the
    embedding, of which one row is read), the routed experts of every layer, and the keys and values."""
    cfg, sizes = model.config, model.weight_bytes()
    embedding = model.embedding.nbytes if model.embedding.device == model.device else 0
    experts = cfg.num_hidden_layers * cfg.experts_per_token * cfg.expert_bytes()
    kv_row = cfg.num_key_value_heads * cfg.head_dim * 2 * 2  # keys and values, bf16
    kv = sum(
        (min(context, cfg.sliding_window) if cfg.is_sliding(n) else context) * kv_row
        for n in range(cfg.num_hidden_layers)
    )
    return sizes["dense"] - embedding + experts + kv


def ceiling(
    decode_tok_s: float | None, per_token: int, measured: float | None, nominal: float | None
) -> dict:
    """The decode speed as a share of what each bandwidth allows."""
    out: dict = {"bytes_per_token": per_token}
    for name, bandwidth in (("measured", measured), ("nominal", nominal)):
        if bandwidth:
            limit = bandwidth / per_token
            out[f"ceiling_tok_s_{name}"] = round(limit, 1)
            if decode_tok_s:
                out[f"ceiling_ratio_{name}"] = round(decode_tok_s / limit, 4)
    return out


def sampled_steps(model, cache, logits, count: int) -> dict:
    """``count`` steps as the app decodes (engine/cli/_bench_sampling.py: temperature 1, top-p 1, the id read
    back each token, the harmony parser); without tiktoken on the machine, the same without the parser."""
    from engine.cli._bench_sampling import sampled_decode

    try:
        seconds, tokens = sampled_decode(model, cache, logits, count)
        parser = True
    except ImportError:  # the tokenizer needs tiktoken; the draw and the read are what matter most
        seconds, tokens = sampled_decode(model, cache, logits, count, tokenizer=False)
        parser = False
    return {
        "sampled_decode_tok_s": round(count / seconds, 2) if count else None,
        "sampled_parser": parser,
        "sampled_distinct_tokens": len(set(tokens)),
    }


def switch_ratios(results: list[dict], context: int, routing: str) -> dict:
    """For the no-offload cases at ``context``: each switch against its alternative (graphs on / off,
    Triton / torch kernels, the app's sampled decode / greedy) and the fastest case's share of the ceiling."""
    whole = {
        (r["kernels"], r["graphs"]): r
        for r in results
        if r["budget"] == "all" and r["context"] == context and r["routing"] == routing
    }
    out: dict = {}
    for label, axis, sides in (
        ("graphs_on_vs_off", 1, ("on", "off")),
        ("triton_vs_torch", 0, ("triton", "torch")),
    ):
        for variant, record in whole.items():
            if variant[axis] != sides[0]:
                continue
            other = whole.get(tuple(sides[1] if i == axis else part for i, part in enumerate(variant)))
            if other and record.get("decode_tok_s") and other.get("decode_tok_s"):
                out[f"{label}@{context}/{'/'.join(variant)}"] = round(
                    record["decode_tok_s"] / other["decode_tok_s"], 3
                )
    for variant, record in whole.items():
        if record.get("decode_tok_s") and record.get("sampled_decode_tok_s"):
            ratio = record["sampled_decode_tok_s"] / record["decode_tok_s"]
            out[f"sampled_vs_greedy@{context}/{'/'.join(variant)}"] = round(ratio, 3)
    timed = [r for r in whole.values() if r.get("decode_tok_s")]
    if timed:
        best = max(timed, key=lambda r: r["decode_tok_s"])
        keys = (
            "case",
            "decode_tok_s",
            "sampled_decode_tok_s",
            "ceiling_ratio_measured",
            "ceiling_ratio_nominal",
        )
        out[f"best@{context}"] = {key: best.get(key) for key in keys}
    return out
