"""gpt-oss attention: grouped-query attention with biases, YaRN rotary embeddings, a learned "sink"
logit per head, and a sliding window on some layers.

The sink joins each row's softmax denominator and is dropped from the output, so a head can attend to
"nothing" (gpt-oss reference ``sdpa``). Values are rounded to bf16 where the reference rounds them
(scores, probabilities, outputs), so the two agree to the bit in most places; the softmax itself runs
in float32, as torch's bf16 softmax does internally. Queries are processed in pieces so the score matrix stays under ``SCORE_BUDGET_BYTES``
however long the context.
"""

from __future__ import annotations

import torch
from torch import nn

from engine import kernels
from engine.config import ModelConfig
from engine.kernels import cpu_bf16, fused
from engine.kernels.cpu_bf16 import linear  # numba on the CPU up to 32 rows, else quant's
from engine.layers.kv_cache import FullLayerCache, SlidingLayerCache
from engine.layers.rotary import apply_rotary

SCORE_BUDGET_BYTES = 256 * 1024 * 1024


class Attention(nn.Module):
    def __init__(self, cfg: ModelConfig, layer: int, weights: dict[str, torch.Tensor]):
        super().__init__()
        self.num_heads, self.num_kv_heads, self.head_dim = (
            cfg.num_attention_heads,
            cfg.num_key_value_heads,
            cfg.head_dim,
        )
        self.window = cfg.sliding_window if cfg.is_sliding(layer) else 0
        self.scale = cfg.head_dim**-0.5
        self.fusable = fusable(cfg.head_dim)
        names = ("q_weight", "q_bias", "k_weight", "k_bias", "v_weight", "v_bias")
        if weights["q_weight"].device.type == "cpu":
            # CPU weights are views of the checkpoint's mmap: three projections, nothing copied
            for name in names:
                self.register_buffer(name, weights[name], persistent=False)
            self.qkv_weight = self.qkv_bias = None
        else:
            # one GEMV reads q, k and v together (one kernel, not three); rows q, then k, then v, as the
            # original checkpoint stacks them. The checkpoint's q/k/v tensors are these rows.
            qkv = torch.cat([weights["q_weight"], weights["k_weight"], weights["v_weight"]])
            bias = torch.cat([weights["q_bias"], weights["k_bias"], weights["v_bias"]])
            self.register_buffer("qkv_weight", qkv, persistent=False)
            self.register_buffer("qkv_bias", bias, persistent=False)
            for name in names:
                setattr(self, name, None)
        self.register_buffer("out_weight", weights["out_weight"], persistent=False)
        self.register_buffer("out_bias", weights["out_bias"], persistent=False)
        # sinks: [heads] -> [kv_heads, group, 1, 1], float32 for the softmax
        sinks = weights["sinks"].float().view(self.num_kv_heads, cfg.num_query_groups, 1, 1)
        self.register_buffer("sinks", sinks, persistent=False)
        self.int8: nn.ModuleDict | None = (
            None  # engine.layers.int8_linear.quantize_model: qkv (or q, k, v), out
        )

    def project(self, name: str, x: torch.Tensor) -> torch.Tensor:
        """x [T, in] through the projection ``name`` (q, k, v, qkv or out): bf16 weights, or 8-bit ones."""
        if self.int8 is not None:
            return self.int8[name](x)
        return linear(x, getattr(self, f"{name}_weight"), getattr(self, f"{name}_bias"))

    def project_qkv(self, x: torch.Tensor) -> torch.Tensor:
        """x [T, hidden] -> [T, (heads + 2 kv_heads) * head_dim]: queries, keys, values side by side."""
        fused = self.qkv_weight is not None or (self.int8 is not None and "qkv" in self.int8)
        if fused:
            return self.project("qkv", x)
        return torch.cat(self._three(x), dim=-1)

    def _three(self, x: torch.Tensor) -> list[torch.Tensor]:
        # q, k and v from the checkpoint's three matrices: in one numba call where it applies (decode on
        # the CPU: cpu_bf16.linear3), else one projection at a time
        names = ("q", "k", "v")
        if self.int8 is None:
            weights = [(getattr(self, f"{n}_weight"), getattr(self, f"{n}_bias")) for n in names]
            three = cpu_bf16.linear3(x, *weights)
            if three is not None:
                return three
        return [self.project(name, x) for name in names]

    def _rotated_qkv(self, x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor):
        # q (rotated), k (rotated), v from one numba call where it applies (a few rows on the CPU, the
        # checkpoint's three matrices: cpu_bf16.linear3 with rotary), else None
        if self.qkv_weight is not None or self.int8 is not None:
            return None
        weights = [(getattr(self, f"{n}_weight"), getattr(self, f"{n}_bias")) for n in ("q", "k", "v")]
        three = cpu_bf16.linear3(x, *weights, rotary=(cos, sin))
        if three is None:
            return None
        t, d = x.shape[0], self.head_dim
        q, k, v = three
        return q.view(t, self.num_heads, d), k.view(t, self.num_kv_heads, d), v.view(t, self.num_kv_heads, d)

    def qkv(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        # x: [T, hidden] -> q [T, heads, d], k and v [T, kv_heads, d]
        t, d = x.shape[0], self.head_dim
        if self.qkv_weight is None and (self.int8 is None or "qkv" not in self.int8):
            q, k, v = self._three(x)
            heads, kv_heads = self.num_heads, self.num_kv_heads
            return q.view(t, heads, d), k.view(t, kv_heads, d), v.view(t, kv_heads, d)
        qkv = self.project("qkv", x)
        nq, nk = self.num_heads * d, self.num_kv_heads * d
        return (
            qkv[:, :nq].view(t, self.num_heads, d),
            qkv[:, nq : nq + nk].view(t, self.num_kv_heads, d),
            qkv[:, nq + nk :].view(t, self.num_kv_heads, d),
        )

    def forward(
        self,
        x: torch.Tensor,
        cos: torch.Tensor,
        sin: torch.Tensor,
        cache: FullLayerCache | SlidingLayerCache,
        start: int,
        positions: torch.Tensor | None = None,
    ) -> torch.Tensor:
        # x: [T, hidden] (normed) -> [T, hidden]; positions: [T] int64 on the device (start..), or None
        return _with_bias(*self.run(x, cos, sin, cache, start, positions))

    def run(
        self,
        x: torch.Tensor,
        cos: torch.Tensor,
        sin: torch.Tensor,
        cache: FullLayerCache | SlidingLayerCache,
        start: int,
        positions: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """``forward`` as (output, the output projection's bias when still to be added, else None): a one-token
        step on the fused path leaves the bias to the next norm's kernel (``Block.step``)."""
        if x.shape[0] == 1 and positions is not None and self.fusable and kernels.use_fused(x.device):
            return self.decode(x, cos, sin, cache, positions)
        rotated = self._rotated_qkv(x, cos, sin)
        if rotated is None:
            q, k, v = self.qkv(x)
            q, k = apply_rotary(q, cos, sin), apply_rotary(k, cos, sin)
        else:
            q, k, v = rotated
        keys, values, key_start = cache.update(k, v, start)
        out = attend(q, keys, values, self.sinks, self.scale, start, key_start, self.window)
        return self.project("out", out), None

    def forward_at(
        self,
        x: torch.Tensor,
        cos: torch.Tensor,
        sin: torch.Tensor,
        cache: FullLayerCache | SlidingLayerCache,
        position: torch.Tensor,
        span: int,
    ) -> torch.Tensor:
        """``forward`` for one token whose position is a device tensor [1], with shapes fixed by ``span``
        (see engine/runtime/decode_graph.py): keys past the position, or before 0, are masked instead of sliced off.
        With the Triton kernels ``span`` does not matter: they read the live keys of any position."""
        return _with_bias(*self.run_at(x, cos, sin, cache, position, span))

    def run_at(
        self,
        x: torch.Tensor,
        cos: torch.Tensor,
        sin: torch.Tensor,
        cache: FullLayerCache | SlidingLayerCache,
        position: torch.Tensor,
        span: int,
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """``forward_at`` as (output, bias still to be added or None), like ``run``."""
        if self.fusable and kernels.use_fused(x.device):
            return self.decode(x, cos, sin, cache, position)
        q, k, v = self.qkv(x)
        q, k = apply_rotary(q, cos, sin), apply_rotary(k, cos, sin)
        keys, values, key_pos = cache.update_at(k, v, position, span)
        masked = (key_pos > position) | (key_pos < 0)  # [S]: not written yet, or before the first token
        out = attend(q, keys, values, self.sinks, self.scale, 0, 0, 0, masked=masked)
        return self.project("out", out), None

    def decode(
        self,
        x: torch.Tensor,
        cos: torch.Tensor,
        sin: torch.Tensor,
        cache: FullLayerCache | SlidingLayerCache,
        position: torch.Tensor,
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """One token through the fused kernels (engine/kernels/fused.py): one QKV projection, RoPE fused with
        the cache write, flash-decode attention over the live keys only, the output projection.
        position: [1] int64 on the device; no host sync, fixed shapes (a CUDA graph replays it anywhere).
        bf16 projections run without their biases: for one row cuBLAS would add a bias in a kernel of its
        own, so the RoPE kernel adds q/k/v's and the output's is returned for the next norm's kernel."""
        if self.int8 is None and self.qkv_weight is not None:
            qkv, qkv_bias = linear(x, self.qkv_weight), self.qkv_bias  # [1, (heads + 2 kv_heads) * d]
        else:  # 8-bit weights: the GEMV adds the bias itself (or the CPU's three projections, in tests)
            qkv, qkv_bias = self.project_qkv(x), None
        if isinstance(cache, SlidingLayerCache):
            ring, capacity = cache.ring_size, min(self.window, cache.ring_size)
        else:  # a full layer: slot = position (the remainder by the cache's length)
            ring = capacity = cache.k.shape[1]
        q = fused.rope_kv_write(
            qkv,
            cos.reshape(-1),
            sin.reshape(-1),
            position,
            cache.k,
            cache.v,
            ring,
            self.num_heads,
            self.num_kv_heads,
            bias=qkv_bias,
        )
        out = fused.decode_attention(
            q,
            cache.k,
            cache.v,
            position,
            ring,
            self.window,
            self.sinks.view(-1),
            self.scale,
            fused.decode_splits(capacity),
        )
        if self.int8 is None:
            return linear(out, self.out_weight), self.out_bias
        return self.project("out", out), None


def _with_bias(out: torch.Tensor, bias: torch.Tensor | None) -> torch.Tensor:
    return out if bias is None else out + bias


def fusable(head_dim: int) -> bool:
    """The Triton attention kernels take power-of-two head sizes of at least 16 (gpt-oss: 64)."""
    return head_dim >= 16 and head_dim & (head_dim - 1) == 0


def matmul_dtype(device: torch.device, dtype: torch.dtype) -> torch.dtype:
    """float32 on CPU (bf16 matmuls are slow there; same products, float32 sums either way), else bf16."""
    return torch.float32 if device.type == "cpu" else dtype


def attend(
    q: torch.Tensor,
    keys: torch.Tensor,
    values: torch.Tensor,
    sinks: torch.Tensor,
    scale: float,
    q_start: int,
    key_start: int,
    window: int,
    masked: torch.Tensor | None = None,
) -> torch.Tensor:
    """Causal (and, with window > 0, sliding-window) attention with sinks.

    q: [T, heads, d] at positions q_start..; keys, values: [kv_heads, S, d] at positions key_start..;
    sinks: [kv_heads, group, 1, 1] float32. Returns [T, heads*d] in q's dtype. masked: [S] bool, keys no
    query sees (one token with a fixed number of keys: decode_graph), besides the causal mask.

    Prompts on CUDA with Triton go through the flash-attention kernel (engine/kernels/attention_triton.py:
    no score matrix, memory linear in T); this torch path is its reference and the CPU's.
    """
    if q.shape[0] > 1 and masked is None and fusable(q.shape[-1]) and kernels.use_fused(q.device):
        return kernels.run_with_fallback(
            kernels.backend(),
            q.device,
            lambda: fused.prefill_attention(
                q, keys, values, sinks.view(-1), scale, q_start, key_start, window
            ),
            lambda: attend_torch(q, keys, values, sinks, scale, q_start, key_start, window),
        )
    if q.shape[0] == 1 and masked is None and _cpu_attends(q, keys, values, sinks):
        return _attend_cpu(q, keys, values, sinks, scale)
    return attend_torch(q, keys, values, sinks, scale, q_start, key_start, window, masked)


def _cpu_attends(q, keys, values, sinks) -> bool:
    """One token on the CPU with a float32 cache (engine/kernels/cpu_attend_jit.py), where numba runs now
    (kernels.cpu_runs_now)."""
    if q.device.type != "cpu" or q.dtype != torch.bfloat16 or keys.dtype != torch.float32:
        return False
    if values.dtype != torch.float32 or sinks.dtype != torch.float32 or keys.shape[1] == 0:
        return False
    return kernels.cpu_runs_now()


def _attend_cpu(q, keys, values, sinks, scale: float) -> torch.Tensor:
    from engine.kernels import cpu_attend_jit, cpu_mxfp4  # numba compiles on first use (warm_up does)

    bits = cpu_mxfp4.tensor_bits(q).reshape(-1)
    with cpu_mxfp4.NUMBA_LOCK:
        out = cpu_attend_jit.attend_one(bits, keys.numpy(), values.numpy(), sinks.reshape(-1).numpy(), scale)
    return torch.from_numpy(out).view(torch.bfloat16).view(1, -1)


def attend_torch(q, keys, values, sinks, scale, q_start, key_start, window, masked=None) -> torch.Tensor:
    # Queries go in pieces whose fp32 scores stay under SCORE_BUDGET_BYTES, each against only the keys its
    # queries can see (the causal band, and the window): a long prompt never holds [heads, T, T] scores.
    t, num_heads, d = q.shape
    num_kv, s, _ = keys.shape
    group = num_heads // num_kv
    act_dtype = q.dtype
    mm_dtype = matmul_dtype(q.device, act_dtype)
    keys_t = keys.to(mm_dtype).transpose(1, 2)  # [kv, d, S]
    values = values.to(mm_dtype)
    q = q.view(t, num_kv, group, d).permute(1, 2, 0, 3).to(mm_dtype)  # [kv, group, T, d]
    out = torch.empty(t, num_heads * d, dtype=act_dtype, device=q.device)
    piece = max(1, SCORE_BUDGET_BYTES // (4 * num_heads * s))
    key_pos = torch.arange(key_start, key_start + s, device=q.device) if t > 1 else None
    for t0 in range(0, t, piece):
        tq = min(piece, t - t0)
        qp = q[:, :, t0 : t0 + tq].reshape(num_kv, group * tq, d)
        lo, hi = 0, s  # keys [lo, hi) are the ones this piece's queries may see
        if key_pos is not None:
            hi = min(s, q_start + t0 + tq - key_start)
            lo = max(0, q_start + t0 - window + 1 - key_start) if window else 0
        n = hi - lo
        # scores are rounded to bf16 and scaled there, as the reference computes them
        scores = (torch.bmm(qp, keys_t[:, :, lo:hi]).to(act_dtype) * scale).float().view(num_kv, group, tq, n)
        if key_pos is not None:  # one new position sees every key the cache returned: no mask needed
            q_pos = torch.arange(q_start + t0, q_start + t0 + tq, device=q.device)[:, None]
            band = key_pos[lo:hi]
            hidden = band[None, :] > q_pos
            if window:
                hidden |= band[None, :] <= q_pos - window
            scores.masked_fill_(hidden, float("-inf"))
        if masked is not None:
            scores.masked_fill_(masked, float("-inf"))
        top = torch.maximum(scores.amax(dim=-1, keepdim=True), sinks)
        probs = (scores - top).exp_()
        probs /= probs.sum(dim=-1, keepdim=True) + (sinks - top).exp()
        probs = probs.to(act_dtype).to(mm_dtype)  # bf16 probabilities, as the reference's bf16 softmax gives
        o = torch.bmm(probs.view(num_kv, group * tq, n), values[:, lo:hi])  # [kv, group*tq, d]
        out[t0 : t0 + tq] = o.view(num_kv, group, tq, d).permute(2, 0, 1, 3).reshape(tq, num_heads * d)
    return out
