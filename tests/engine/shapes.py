"""Model shapes the comparisons run over: small, but each varies what a bug could hide behind."""

from __future__ import annotations

from engine.config import FULL, SLIDING
from engine.io.synthetic import tiny_config

VOCAB = 512  # comparisons do not need the real vocabulary, and bf16 unembedding is slow in the references

SHAPES = {
    # the default tiny model: GQA 2 queries per key, top-2 of 4, window 8
    "tiny": tiny_config(vocab_size=VOCAB),
    # 3 layers, GQA of 2, top-3 of 8, head_dim 32, wider hidden size, window 16
    "gqa-top3": tiny_config(
        vocab_size=VOCAB,
        num_hidden_layers=3,
        num_experts=8,
        experts_per_token=3,
        hidden_size=96,
        intermediate_size=64,
        head_dim=32,
        num_attention_heads=6,
        num_key_value_heads=3,
        sliding_window=16,
    ),
    # multi-query attention, top-1, head_dim 8, window 4, layer types not alternating, swiglu limit 5
    "mqa-top1": tiny_config(
        vocab_size=VOCAB,
        num_hidden_layers=4,
        num_experts=6,
        experts_per_token=1,
        hidden_size=64,
        intermediate_size=96,
        head_dim=8,
        num_attention_heads=8,
        num_key_value_heads=1,
        sliding_window=4,
        swiglu_limit=5.0,
        layer_types=(FULL, SLIDING, SLIDING, FULL),
    ),
    # multi-head (no grouping), every expert chosen, head_dim 64 as in gpt-oss, rounded YaRN ramp, theta 10000
    "mha-all-experts": tiny_config(
        vocab_size=VOCAB,
        num_experts=4,
        experts_per_token=4,
        hidden_size=128,
        intermediate_size=32,
        head_dim=64,
        num_attention_heads=2,
        num_key_value_heads=2,
        sliding_window=16,
        rope_truncate=True,
        rope_theta=10000.0,
    ),
}

# The reference (gpt_oss.torch) takes only what its config.json can say: alternating layers, eps 1e-5,
# no rounding of the YaRN ramp.
REFERENCE_SHAPES = {name: cfg for name, cfg in SHAPES.items() if name in ("tiny", "gqa-top3")}
REFERENCE_SHAPES["mha-all-experts"] = SHAPES["mha-all-experts"].replace(rope_truncate=False)
