"""Logits of 8-bit attention/unembedding weights against bf16's: ``python -m tests.kernels.int8_agreement DIR [N]``.

One prefill of N random ids (default 256). Prints one Markdown row: bytes of the weights besides experts
before and after, then cosine (worst / mean) and argmax agreement for int8 with its own routing and with the
bf16 model's expert choices imposed, and the same two for a bf16 pipeline that only rounds elsewhere (the
GPU's numerics on the CPU) as a scale. See docs/benchmarks.md.
"""

from __future__ import annotations

import argparse

import torch

import engine.layers.attention
import engine.layers.moe
from engine.layers.int8_linear import quantize_model
from engine.layers.kv_cache import KVCache
from engine.runtime.loader import load_model
from tests.engine.routing_check import ForcedRouting


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model")
    parser.add_argument("positions", type=int, nargs="?", default=256)
    args = parser.parse_args()
    torch.set_num_threads(1)
    n = args.positions
    ids = torch.randint(0, 199998, (n,), generator=torch.Generator().manual_seed(0))
    model = load_model(args.model, "cpu", context_length=n, dense_cache_bytes=0)
    seen = [[] for _ in model.blocks]
    for layer, block in enumerate(model.blocks):
        real = block.mlp.router_logits
        block.mlp.router_logits = lambda x, real=real, layer=layer: (
            seen[layer].append(real(x)) or seen[layer][-1]
        )
    ref = model.forward(ids, model.new_cache(n)).double()
    for block in model.blocks:
        del block.mlp.router_logits
    choices = [torch.cat(s).topk(model.config.experts_per_token, -1).indices for s in seen]

    def stats(got: torch.Tensor) -> str:
        got = got.double()
        cos = torch.nn.functional.cosine_similarity(ref, got, dim=-1)
        agree = (ref.argmax(-1) == got.argmax(-1)).double().mean() * 100
        return f"{cos.min():.6f} / {cos.mean():.6f}, {agree:.1f}%"

    def both(new_cache) -> tuple[str, str]:
        own = stats(model.forward(ids, new_cache()))
        with ForcedRouting(model, choices):
            forced = stats(model.forward(ids, new_cache()))
        return own, forced

    real_mm, real_strategy = engine.layers.attention.matmul_dtype, engine.layers.moe.default_strategy
    engine.layers.attention.matmul_dtype = lambda device, dtype: dtype
    engine.layers.moe.default_strategy = lambda device, routes, cache: "gathered"
    try:
        base = both(lambda: KVCache(model.config, n, "cpu", dtype=torch.bfloat16))
    finally:
        engine.layers.attention.matmul_dtype, engine.layers.moe.default_strategy = real_mm, real_strategy
    before = model.weight_bytes()["dense"]
    quantize_model(model)
    after = model.weight_bytes()["dense"]
    own, forced = both(lambda: model.new_cache(n))
    print(
        f"| {args.model} | {before / 1e6:.1f} MB -> {after / 1e6:.1f} MB | {own} | {forced} | {base[0]} | {base[1]} |"
    )


if __name__ == "__main__":
    main()
