"""A whole (tiny) model on the fused path: every kernel of the decode layer and the prefill attention run by
Triton's interpreter, against the torch path's logits; the graph-held step included."""

from __future__ import annotations

import torch

from engine import kernels
from engine.layers import moe
from engine.runtime import decode_segments
from tests.engine.logits_check import assert_logits_close


def _ids(n: int, seed: int) -> torch.Tensor:
    return torch.randint(0, 199998, (n,), generator=torch.Generator().manual_seed(seed))


def test_prefill_and_decode_on_the_fused_path(interp, tiny_model_dir, monkeypatch):
    """Prefill (flash attention) and decode steps past the sliding window (norm, router, RoPE + cache write,
    flash-decode) give the torch path's logits; the fixed-shape step a CUDA graph holds agrees too."""
    from engine.runtime.loader import load_model

    model = load_model(tiny_model_dir, "cpu")  # window 8: decode at positions 12.. reads a wrapped ring
    ids = _ids(16, seed=3)

    def run(graph_step: bool) -> torch.Tensor:
        cache = model.new_cache(32, sliding_history=2)  # a ring of 9 slots: wraps during decode
        out = [model.forward(ids[:12], cache)]
        for i in range(12, 16):
            if graph_step:
                token, position = ids[i : i + 1], torch.tensor([cache.num_tokens])
                out.append(decode_segments.step(model, token, position, cache, cache.max_tokens))
                cache.append_tokens(token)
                cache.advance(1)
            else:
                out.append(model.forward(ids[i : i + 1], cache))
        return torch.cat(out)

    want = run(graph_step=False)
    for block in model.blocks:  # q, k, v as one projection, as a GPU load makes them (biases left to RoPE)
        attn = block.attn
        attn.qkv_weight = torch.cat([attn.q_weight, attn.k_weight, attn.v_weight])
        attn.qkv_bias = torch.cat([attn.q_bias, attn.k_bias, attn.v_bias])
        attn.q_weight = attn.k_weight = attn.v_weight = attn.q_bias = attn.k_bias = attn.v_bias = None
    launches: list[str] = []
    monkeypatch.setenv(kernels.ENV, "triton")  # a kernel failure raises instead of falling back to torch
    monkeypatch.setattr(kernels, "use_fused", lambda device: True)
    # the MoE kernels, slow when interpreted, have their own model test (test_model_wiring.py)
    monkeypatch.setattr(moe, "default_strategy", lambda *args: "grouped")
    with kernels.launch.counting(launches.append):
        got = run(graph_step=False)
    assert "mlp1_gemv_kernel" not in launches
    assert {
        "add_rms_norm_kernel",
        "router_kernel",
        "rope_kv_kernel",
        "decode_partial_kernel",
        "decode_combine_kernel",
        "prefill_kernel",
    } <= set(launches)
    assert_logits_close(got, want, min_cos=0.995)
    assert_logits_close(run(graph_step=True), want, min_cos=0.995)
