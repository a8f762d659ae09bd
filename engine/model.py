"""The gpt-oss transformer: embedding, blocks of (attention, MoE) with pre-norm residuals, final norm,
unembedding. Weights arrive ready (engine/runtime/loader.py); this file only computes.

Activations are bf16 like the reference; norms, softmaxes and the MoE's weighted sum are float32.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

from engine import kernels
from engine.config import ModelConfig
from engine.errors import ContextFullError
from engine.kernels import cpu_bf16, cpu_block, fused, fused_ref
from engine.kernels.cpu_bf16 import linear  # numba on the CPU up to 32 rows, else quant's
from engine.layers.attention import Attention
from engine.layers.experts import DenseCache, ExpertStore
from engine.layers.kv_cache import DEFAULT_SLIDING_HISTORY, KVCache
from engine.layers.moe import MoE
from engine.layers.rotary import Rotary

DEFAULT_PREFILL_CHUNK = 512  # positions per step of a long prompt: bounds activations, not results


rms_norm = fused_ref.rms_norm  # x [T, H] bf16, scale [H] float32 -> [T, H] bf16, computed in float32


class Block(nn.Module):
    def __init__(
        self,
        cfg: ModelConfig,
        layer: int,
        weights: dict[str, torch.Tensor],
        store: ExpertStore,
        dense_cache: DenseCache | None,
    ):
        super().__init__()
        self.eps = cfg.rms_norm_eps
        self.register_buffer("attn_norm", weights["attn_norm"].float(), persistent=False)
        self.register_buffer("mlp_norm", weights["mlp_norm"].float(), persistent=False)
        self.attn = Attention(cfg, layer, weights)
        self.mlp = MoE(cfg, weights, store, dense_cache)
        self._cpu_weights: cpu_block.Weights | None = None  # made at the first CPU decode step taking them
        self._cpu_views = cpu_block.Views()  # of this layer's cache, for those steps

    def forward(
        self, x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor, cache, start: int
    ) -> torch.Tensor:
        x, out = self.step(x, None, cos, sin, cache, start)
        return x + out

    def step(
        self,
        x: torch.Tensor,
        delta: torch.Tensor | None,
        cos: torch.Tensor,
        sin: torch.Tensor,
        cache,
        start: int,
        positions: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """The block on the residual stream x plus the previous block's MoE output ``delta`` (None: nothing
        to add), whose addition is fused into this block's first norm. -> (residual stream after attention,
        this block's MoE output, for the next block or the final norm to add)."""
        if x.shape[0] == 1:
            half = self._cpu_attention_half(x, delta, cos, sin, cache, start)
            if half is not None:
                x, normed, logits, routes = half
                return x, self.mlp(normed, logits, routes)
        x, normed = fused.add_rms_norm(x, delta, self.attn_norm, self.eps)
        out, bias = self.attn.run(
            normed, cos, sin, cache, start, positions
        )  # bias: left for the norm's kernel
        x, normed = fused.add_rms_norm(x, out, self.mlp_norm, self.eps, bias)
        return x, self.mlp(normed)

    def _cpu_attention_half(self, x, delta, cos, sin, cache, start: int):
        """One token's norm, attention, norm and router logits in one numba call (engine/kernels/cpu_block.py),
        the same numbers as ``step``'s calls one by one: where the CPU kernels run now, on bf16 weights (the
        checkpoint's three q/k/v matrices), a float32 cache and a plain MoE. -> (x, normed, logits, routes or None:
        MoE.forward's) or None."""
        attn, mlp = self.attn, self.mlp
        if x.device.type != "cpu" or kernels.use_fused(x.device) or not kernels.cpu_runs_now():
            return None
        if attn.qkv_weight is not None or attn.int8 is not None or not isinstance(mlp, MoE):
            return None
        if _REPLACEABLE[0] & vars(attn).keys() or _REPLACEABLE[1] & vars(mlp).keys():
            return None  # a method this call stands in for, replaced on the instance (a test's seam): its way
        if not _cpu_cache(cache):
            return None
        if delta is not None and (delta.shape != x.shape or delta.dtype != x.dtype):
            return None
        if cos.dtype != torch.bfloat16 or cos.numel() * 2 != attn.head_dim or sin.shape != cos.shape:
            return None
        a, m = attn._buffers, mlp._buffers  # (nn.Module's own dicts: its __getattr__ costs here)
        tensors = (
            *(a.get(name) for name in _ATTENTION_TENSORS),
            m.get("gate_weight"),
            m.get("gate_bias"),
            a.get("sinks"),
            self._buffers.get("attn_norm"),
            self._buffers.get("mlp_norm"),
        )
        weights = self._cpu_weights
        if weights is None or not weights.current(tensors):
            if any(t is None for t in tensors[0:10:2] + tensors[10:]):
                return None
            weights = cpu_block.Weights.of(x, tensors, attn.scale)
            self._cpu_weights = weights
        if weights is None or not cpu_bf16.applies(x, tensors[0], tensors[1]):  # (tests turn the GEMVs off)
            return None
        slots = cache.one_token_slots(start)
        return cpu_block.attention_half(
            weights, x, delta, self.eps, cos, sin, cache.k, cache.v, *slots, mlp.top_k, self._cpu_views
        )


_ATTENTION_TENSORS = tuple(f"{n}_{kind}" for n in ("q", "k", "v", "out") for kind in ("weight", "bias"))
# what Block._cpu_attention_half does instead of calling these methods of the attention and the MoE
_REPLACEABLE = (
    frozenset({"forward", "run", "qkv", "project", "decode"}),
    frozenset({"route", "routes", "router_logits", "top"}),
)


def _cpu_cache(cache) -> bool:
    return all(
        t.device.type == "cpu" and t.dtype == torch.float32 and t.is_contiguous() for t in (cache.k, cache.v)
    )


class Transformer(nn.Module):
    supports_host_embedding = True  # the embedding table may live in host memory (see _embed)

    def __init__(
        self,
        cfg: ModelConfig,
        device: torch.device,
        globals_: dict[str, torch.Tensor],
        layers: list[dict[str, torch.Tensor]],
        stores: list[ExpertStore],
        dense_cache: DenseCache | None,
        context_length: int | None = None,
        source: str = "",
    ):
        super().__init__()
        self.config, self.device, self.source = cfg, device, source
        self.context_length = min(context_length or cfg.max_position_embeddings, cfg.max_position_embeddings)
        self.register_buffer("embedding", globals_["embedding"], persistent=False)  # [V, H]
        self.register_buffer("norm", globals_["norm"].float(), persistent=False)
        self.register_buffer("unembedding", globals_["unembedding"], persistent=False)  # [V, H]
        self.blocks = nn.ModuleList(
            Block(cfg, n, layers[n], stores[n], dense_cache) for n in range(cfg.num_hidden_layers)
        )
        self.stores, self.dense_cache = stores, dense_cache
        self.rotary = Rotary(cfg, device)
        self.prefill_chunk = DEFAULT_PREFILL_CHUNK
        self.plan = None  # engine.placement.plan.Plan once placed by one (engine.offload.build.attach)
        self.offload_pool = None  # engine.offload.pool.ExpertPool when some experts live in host memory
        self.checkpoint = None  # the open engine.io.checkpoint.Checkpoint the weights come from (loader)
        self.unembedding_int8: nn.Module | None = (
            None  # engine.layers.int8_linear.Int8Linear in place of unembedding
        )
        self.decode_graphs = None  # engine.runtime.decode_graph.DecodeGraphs: one-token steps as CUDA graphs
        # called once, before the first step, then cleared (the loader's engine.runtime.settle.settle)
        self.before_first_step: Callable[[], object] | None = None
        self._token_buffer: torch.Tensor | None = None  # [1] int64 on the device (see _to_device)

    def new_cache(
        self,
        max_tokens: int | None = None,
        sliding_history: int = DEFAULT_SLIDING_HISTORY,
        zeroed: bool | None = None,
    ) -> KVCache:
        """zeroed: positions not written yet hold 0 (None: on accelerators, where decode graphs read them)."""
        max_tokens = self.context_length if max_tokens is None else min(max_tokens, self.context_length)
        return KVCache(self.config, max_tokens, self.device, sliding_history=sliding_history, zeroed=zeroed)

    @torch.inference_mode()
    def forward(self, tokens: torch.Tensor, cache: KVCache, last_only: bool = False) -> torch.Tensor:
        """tokens: [T] ids for positions cache.num_tokens.. -> float32 logits [T, vocab] ([1, vocab] if last_only).

        Ids may be on the host (a session's) or on the device (a benchmark's greedy loop): neither costs a
        host-device synchronization in a one-token step; ids on the host are checked for range for free."""
        tokens = torch.as_tensor(tokens).view(-1)
        count = tokens.shape[0]
        host = tokens if tokens.device.type == "cpu" else None
        if count and host is not None:
            # (one id, a decode step's: read it, no reductions)
            low, high = (int(host[0]),) * 2 if count == 1 else (int(host.min()), int(host.max()))
            if not 0 <= low <= high < self.config.vocab_size:
                raise ValueError(f"token ids must be in 0..{self.config.vocab_size - 1}")
        tokens = self._to_device(tokens)
        if cache.num_tokens + count > cache.max_tokens:
            raise ContextFullError(
                f"The conversation needs {cache.num_tokens + count} tokens but the context holds "
                f"{cache.max_tokens}. Start a new conversation or shorten it."
            )
        if cache.stale:  # the sliding layers went back further than their rings remember
            self._run(cache.take_replay(), cache, want_logits=None)
        if count == 0:
            return torch.empty(0, self.config.vocab_size, dtype=torch.float32, device=self.device)
        if count == 1 and self.decode_graphs is not None:
            logits = self.decode_graphs.step(tokens, cache, host)  # None: not for this step (or no longer)
            if logits is not None:
                return logits
        return self._run(tokens, cache, want_logits="last" if last_only else "all", host=host)

    def _to_device(self, tokens: torch.Tensor) -> torch.Tensor:
        # tokens: [T] anywhere -> int64 on the device. One host id becomes a fill of a device buffer (a kernel
        # with the id as its argument) rather than a copy from pageable memory, which waits for the stream.
        if tokens.device == self.device:
            return tokens.long()
        if tokens.shape[0] == 1 and tokens.device.type == "cpu" and self.device.type != "cpu":
            if self._token_buffer is None:
                self._token_buffer = torch.zeros(1, dtype=torch.long, device=self.device)
            return self._token_buffer.fill_(int(tokens[0]))
        return tokens.to(device=self.device, dtype=torch.long)

    def _run(
        self, tokens: torch.Tensor, cache: KVCache, want_logits: str | None, host: torch.Tensor | None = None
    ) -> torch.Tensor | None:
        step = max(1, min(self.prefill_chunk, cache.max_chunk))
        logits = []
        for c0 in range(0, tokens.shape[0], step):
            chunk_host = None if host is None else host[c0 : c0 + step]
            hidden = self._step(tokens[c0 : c0 + step], cache, chunk_host)  # [t, H]
            if want_logits == "all":
                logits.append(self.unembed(hidden))
            elif want_logits == "last" and c0 + step >= tokens.shape[0]:
                logits.append(self.unembed(hidden[-1:]))
        if not logits:
            return None
        return logits[0] if len(logits) == 1 else torch.cat(logits)  # (one piece: no copy of [1, vocab])

    def _step(self, tokens: torch.Tensor, cache: KVCache, host: torch.Tensor | None = None) -> torch.Tensor:
        # tokens: [t] on the device (host: the same ids in host memory, or None) -> final-normed hidden [t, H]
        if self.before_first_step is not None:
            hook, self.before_first_step = self.before_first_step, None
            hook()
        start = cache.append_tokens(tokens)
        try:
            positions = torch.arange(start, start + tokens.shape[0], device=self.device)
            cos, sin = self.rotary.cos_sin(positions, self.embedding.dtype)
            x, delta = self._embed(tokens, host), None
            for block, layer_cache in zip(self.blocks, cache.layers):
                x, delta = block.step(x, delta, cos, sin, layer_cache, start, positions)
        except BaseException:
            cache.note_written(start + tokens.shape[0])  # a failed step may still have overwritten ring slots
            raise
        cache.advance(tokens.shape[0])
        return fused.add_rms_norm(x, delta, self.norm, self.config.rms_norm_eps)[1]

    def unembed(self, hidden: torch.Tensor) -> torch.Tensor:
        # hidden: [t, H] final-normed -> float32 logits [t, V]; 8-bit weights after engine.layers.int8_linear.quantize_model
        if self.unembedding_int8 is not None:
            return self.unembedding_int8(hidden).float()
        return linear(hidden, self.unembedding).float()

    def _embed(self, tokens: torch.Tensor, host: torch.Tensor | None = None) -> torch.Tensor:
        # tokens: [t] -> [t, H]. The table may stay in host memory while the model runs on a GPU (offload
        # plans, issue #4): look rows up where the table is (with the host's copy of the ids when there is
        # one: reading them back from the device would wait for it) and move only the rows.
        if self.embedding.device == tokens.device:
            return F.embedding(tokens, self.embedding)
        ids = (
            host
            if host is not None and host.device == self.embedding.device
            else tokens.to(self.embedding.device)
        )
        rows = F.embedding(ids.long(), self.embedding)
        return rows.to(self.device, non_blocking=True)

    # Memory and description.
    def weight_bytes(self) -> dict[str, int]:
        """Bytes of weights by where they live: on the device ("experts": resident experts, "expert_slots":
        the offload pool's cache slots, "dense": everything else; "total" is their sum) and in host memory
        beside it ("host": offloaded experts and an embedding looked up there; 0 when nothing is offloaded)."""
        pool = self.offload_pool
        host_embedding = self.plan is not None and not self.plan.embedding_on_device
        seen: set[int] = set()  # a tensor shared by two modules (a router and its predictor) counts once
        dense = host = 0
        for name, buffer in self.named_buffers():
            if buffer.data_ptr() in seen:
                continue
            seen.add(buffer.data_ptr())
            if name == "embedding" and (host_embedding or buffer.device != self.device):
                host += buffer.nbytes
            else:
                dense += buffer.nbytes
        experts = sum(store.nbytes() for store in self.stores)
        slots = 0
        if pool is not None:
            slots = pool.nbytes() - pool.num_permanent * pool.expert_bytes
            host += pool.host_nbytes()
        return {
            "experts": experts,
            "expert_slots": slots,
            "dense": dense,
            "host": host,
            "total": experts + slots + dense,
        }

    def facts(self) -> dict:
        """Where and how the model runs, as plain numbers: what ``describe`` says, for callers that word it
        themselves (the app, in the user's language). plan: the placement's facts (``Plan.facts``) when the
        model was placed for a memory budget, else None."""
        cfg, sizes = self.config, self.weight_bytes()
        placed = self.plan is not None and self.plan.budget_bytes is not None
        return {
            "device_type": self.device.type,  # "cpu" | "cuda"
            "device": str(self.device),  # "cpu", "cuda:0"
            "weight_bytes": sizes["total"],  # on the device (see weight_bytes)
            "expert_bytes": sizes["experts"],  # of which resident MXFP4 experts
            "host_bytes": sizes["host"],
            "num_layers": cfg.num_hidden_layers,
            "num_experts": cfg.num_experts,
            "experts_per_token": cfg.experts_per_token,
            "context_length": self.context_length,
            "dense_cache_bytes": self.dense_cache.max_bytes if self.dense_cache is not None else 0,
            "int8": self.unembedding_int8 is not None,  # 8-bit attention and unembedding
            "plan": self.plan.facts() if placed else None,
        }

    def describe(self) -> str:
        facts, gib = self.facts(), 1024**3
        text = (
            f"{facts['device_type'].upper()} ({facts['device']}) · {facts['weight_bytes'] / gib:.2f} GiB of "
            f"weights ({facts['expert_bytes'] / gib:.2f} GiB MXFP4 experts) · {facts['num_layers']} layers, "
            f"{facts['num_experts']} experts (top {facts['experts_per_token']}), "
            f"context {facts['context_length']}"
        )
        if facts["dense_cache_bytes"]:
            text += f" · dequantized-expert cache {facts['dense_cache_bytes'] / gib:.2f} GiB"
        if facts["int8"]:
            text += " · 8-bit attention and unembedding"
        if facts["plan"] is not None:  # placed for a memory budget: the plan's own words for its facts
            text += f" · {self.plan.summary()}"
        return text
