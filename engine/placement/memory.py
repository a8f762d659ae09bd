"""Memory sizes as people write them ("12GiB", "12 GB", "12000MB", "8G", bytes) and as we print them, and
the bytes each part of a gpt-oss model takes on a device (weights, KV cache, working memory).

Binary units (KiB, MiB, GiB, TiB) are powers of 1024, decimal ones (kB, MB, GB, TB) powers of 1000;
single letters (K, M, G, T) are binary, as in ``free -h``, Docker and llama.cpp, since GPU memory is
sold in binary gibibytes ("16 GB" cards have 16 GiB). We always print binary units (``format_size``).

Nothing here imports torch, so planning is instant; the constants that mirror the model's code are checked
equal to it by tests/offload/test_plan.py.
"""

from __future__ import annotations

import math
import re

from engine.config import ModelConfig

KiB, MiB, GiB, TiB = 1024, 1024**2, 1024**3, 1024**4

# Mirrors of the engine's own numbers (see the module docstring).
DEFAULT_PREFILL_CHUNK = 512  # engine.model
SCORE_BUDGET_BYTES = (
    256 * MiB
)  # engine.layers.attention: the attention score matrix is computed in pieces this big
DEFAULT_SLIDING_HISTORY = 4096  # engine.layers.kv_cache: positions a sliding layer keeps beyond its window
GATHER_MAX_ROUTES = 16  # engine.layers.moe: decode dequantizes up to this many routed experts at once
FLASH_DECODE_SPLITS = 32  # engine.kernels.fused.MAX_SPLITS: pieces of one flash-decode step at most

_UNITS = {
    "": 1,
    "b": 1,
    "byte": 1,
    "bytes": 1,
    "k": KiB,
    "kib": KiB,
    "kb": 1000,
    "m": MiB,
    "mib": MiB,
    "mb": 1000**2,
    "g": GiB,
    "gib": GiB,
    "gb": 1000**3,
    "t": TiB,
    "tib": TiB,
    "tb": 1000**4,
}
_SIZE = re.compile(r"^\s*(\d+(?:\.\d*)?|\.\d+)\s*([a-zA-Z]*)\s*$")


def parse_size(text: str | int) -> int:
    """ "12GiB" -> 12884901888; an int passes through. Raises ValueError with the accepted forms."""
    if isinstance(text, bool):
        raise ValueError(f"not a size: {text!r}")  # noqa: TRY004 - callers catch ValueError for any bad size
    if isinstance(text, int):
        if text < 0:
            raise ValueError(f"a size cannot be negative: {text}")
        return text
    match = _SIZE.match(str(text))
    unit = match and _UNITS.get(match.group(2).lower())
    if not match or unit is None:
        raise ValueError(
            f"{text!r} is not a size; write bytes or a number with a unit, e.g. 12GiB, 12GB, "
            "12000MB, 8G (K/M/G/T alone are binary)"
        )
    value = float(match.group(1)) * unit
    if not math.isfinite(value):
        raise ValueError(f"{text!r} is too large")
    return round(value)


def format_size(nbytes: float, digits: int = 1) -> str:
    """Bytes in the largest binary unit that keeps the number at least 1: "11.8 GiB", "512 MiB"."""
    sign, n = ("-" if nbytes < 0 else ""), abs(nbytes)
    for unit, size in (("TiB", TiB), ("GiB", GiB), ("MiB", MiB), ("KiB", KiB)):
        if n >= size:
            value = n / size
            text = f"{value:.{digits}f}" if value < 100 else f"{value:.0f}"
            return f"{sign}{text} {unit}"
    return f"{sign}{int(n)} B"


def format_gib(nbytes: float, digits: int = 2) -> str:
    """Always GiB, for columns that must line up: "11.80 GiB", "0.21 GiB"."""
    return f"{nbytes / GiB:.{digits}f} GiB"


# ---- Bytes of a model's parts ---------------------------------------------------------------------------------------------------


def weight_bytes(cfg: ModelConfig, device: str = "cuda") -> dict[str, int]:
    """Bytes of the non-expert weights by category, as the model holds them (norms and sinks in float32)."""
    from engine.io.checkpoint import tensor_specs  # no torch: header arithmetic only

    out = {"attention": 0, "norms_routers": 0, "unembedding": 0, "embedding": 0}
    for name, (shape, dtype) in tensor_specs(cfg).items():
        kind = name.split(".")[-1]
        size = math.prod(shape) * (1 if dtype == "U8" else 2)
        if kind.startswith(("mlp1_", "mlp2_")):
            continue
        if kind in ("embedding", "unembedding"):
            out[kind] += size
        elif kind in ("attn_norm", "mlp_norm", "norm", "gate_weight", "gate_bias"):
            out["norms_routers"] += size * (2 if kind.endswith("norm") else 1)
        else:
            out["attention"] += size * (2 if kind == "sinks" else 1)
    # offloading adds, per layer, a float32 ratio of norm scales to predict the next layer's routing
    out["norms_routers"] += cfg.num_hidden_layers * cfg.hidden_size * 4
    return out


def kv_cache_bytes(
    cfg: ModelConfig, context: int, device: str = "cuda", sliding_history: int = DEFAULT_SLIDING_HISTORY
) -> int:
    """engine.layers.kv_cache.KVCache: full layers hold the context, sliding ones a ring of window + history."""
    itemsize = 4 if device == "cpu" else 2  # the CPU cache is float32 holding bf16 values
    per_position = 2 * cfg.num_key_value_heads * cfg.head_dim * itemsize
    ring = min(context, cfg.sliding_window - 1 + max(1, sliding_history)) if cfg.sliding_window > 0 else 0
    positions = sum(ring if cfg.is_sliding(n) else context for n in range(cfg.num_hidden_layers))
    return positions * per_position + 8 * context  # + the int64 token ids kept for replays


def flash_attention(cfg: ModelConfig, fused_kernels: bool) -> bool:
    """Attention runs the Triton flash kernels: the kernels run on the device (``fused_kernels``, what
    engine.kernels.use_fused says there) and take the model's head size (engine.layers.attention.fusable)."""
    d = cfg.head_dim
    return fused_kernels and d >= 16 and d & (d - 1) == 0


def attention_workspace_bytes(cfg: ModelConfig, context: int, chunk: int, flash: bool) -> int:
    """Working memory of attention beyond its output, for a prefill chunk at the end of the context."""
    if flash:
        # A prompt's flash attention writes only its output (an activation): no score matrix. Decode keeps
        # float32 partial outputs with their max and sum per head and piece until the merge.
        return cfg.num_attention_heads * FLASH_DECODE_SPLITS * (cfg.head_dim + 2) * 4
    # engine.layers.attention.attend_torch: float32 scores in pieces of at most SCORE_BUDGET_BYTES, their
    # probabilities and bf16 roundings: about 2.5 pieces alive at once
    keys = min(context, chunk + context)
    return int(2.5 * min(SCORE_BUDGET_BYTES, 4 * cfg.num_attention_heads * min(chunk, context) * keys))


def workspace_bytes(
    cfg: ModelConfig,
    context: int,
    chunk: int,
    device: str = "cuda",
    all_logits: bool = False,
    fused_kernels: bool = False,
) -> int:
    """Working memory of the largest step: a prefill chunk at the end of the context, or a decode step.

    ``fused_kernels``: the Triton kernels run (engine.kernels.use_fused on the device): the experts are not
    dequantized, and attention is the flash kernels' (``flash_attention``), which hold no score matrix."""
    h, two_i, v = cfg.hidden_size, 2 * cfg.intermediate_size, cfg.vocab_size
    q, kv = cfg.num_attention_heads * cfg.head_dim, cfg.num_key_value_heads * cfg.head_dim
    act = 4 if device == "cpu" else 2
    scores = attention_workspace_bytes(cfg, context, chunk, flash_attention(cfg, fused_kernels))
    activations = chunk * act * (12 * h + 4 * q + 2 * kv + 3 * two_i + cfg.num_experts)
    logits = (chunk if all_logits else 1) * v * (4 + act)  # float32 logits and the matmul's output
    scratch = 0
    if not fused_kernels:
        # the torch path dequantizes experts: k at once in decode (gathered), one at a time in prefill; with
        # the byte->int32 index and the unscaled values, about three copies are alive at the peak
        routes = min(cfg.experts_per_token, GATHER_MAX_ROUTES)
        scratch = 3 * max(routes * two_i * h, (two_i + cfg.intermediate_size) * h) * 2
    # attention, the experts and the unembedding run one after another: only the largest counts
    return int(activations + max(scores, logits, scratch))
