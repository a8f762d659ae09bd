"""The fused kernels compiled on a real GPU (skipped without one): against their torch references at
gpt-oss-20b shapes, and a tiny model's logits with them against the torch path, eager and as CUDA graphs."""

from __future__ import annotations

import pytest
import torch

from engine import kernels
from engine.kernels import fused, fused_ref
from tests.engine.logits_check import assert_logits_close

from .synth import rel_err

pytestmark = pytest.mark.skipif(
    not torch.cuda.is_available() or not kernels.available("cuda"), reason="needs a CUDA GPU with Triton"
)
CUDA = torch.device("cuda")
TOL = 1e-2  # bf16 rounding in other places than the torch path (flash order), nothing more


def _bf16(*shape: int) -> torch.Tensor:
    return torch.randn(*shape, device=CUDA).to(torch.bfloat16)


@pytest.mark.parametrize("window,slots,position", [(0, 40000, 32767), (0, 4096, 5), (128, 4223, 9000)])
def test_decode_attention_on_the_gpu(window, slots, position):
    """Flash-decode with pieces along the sequence against the masked torch reference."""
    torch.manual_seed(0)
    q, k, v = _bf16(64, 64), _bf16(8, slots, 64), _bf16(8, slots, 64)
    sinks, pos = torch.randn(64, device=CUDA), torch.tensor([position], device=CUDA)
    splits = fused.decode_splits(window or slots)
    out = fused.decode_attention(q, k, v, pos, slots, window, sinks, 0.125, splits)
    assert rel_err(out, fused_ref.decode_attention(q, k, v, pos, slots, window, sinks, 0.125)) < TOL


@pytest.mark.parametrize("t,window", [(1000, 0), (1000, 128), (4097, 0)])
def test_prefill_attention_on_the_gpu(t, window):
    """Flash prefill against the model's torch attention."""
    from engine.layers.attention import attend_torch

    torch.manual_seed(1)
    q, k, v = _bf16(t, 64, 64), _bf16(8, t, 64), _bf16(8, t, 64)
    sinks = torch.randn(64, device=CUDA)
    out = fused.prefill_attention(q, k, v, sinks, 0.125, 0, 0, window)
    assert rel_err(out, attend_torch(q, k, v, sinks.view(8, 8, 1, 1), 0.125, 0, 0, window)) < TOL


def test_small_kernels_on_the_gpu():
    """Add + RMSNorm, the router and RoPE with the cache write against their references."""
    torch.manual_seed(2)
    x, d, scale = _bf16(1, 2880), _bf16(1, 2880), torch.rand(2880, device=CUDA) + 0.5
    assert (
        rel_err(fused.add_rms_norm(x, d, scale, 1e-5)[1], fused_ref.add_rms_norm(x, d, scale, 1e-5)[1]) < TOL
    )
    w, b = _bf16(32, 2880) * 0.02, _bf16(32)
    ids, weights = fused.route(x, w, b, 4)
    want_ids, want = fused_ref.route(x, w, b, 4)
    assert torch.equal(ids, want_ids) and rel_err(weights, want) < TOL
    qkv, cos, sin = _bf16(1, 80 * 64), _bf16(32), _bf16(32)
    k1, v1 = _bf16(8, 4096, 64), _bf16(8, 4096, 64)
    k2, v2 = k1.clone(), v1.clone()
    pos = torch.tensor([777], device=CUDA)
    bias = _bf16(80 * 64)
    q = fused.rope_kv_write(qkv, cos, sin, pos, k1, v1, 4096, 64, 8, bias=bias)
    assert rel_err(q, fused_ref.rope_kv_write(qkv, cos, sin, pos, k2, v2, 4096, 64, 8, bias=bias)) < TOL
    assert rel_err(k1, k2) < TOL and torch.equal(v1, v2)


def test_tiny_model_with_the_fused_kernels(tiny_model_dir, monkeypatch):
    """The tiny model on the GPU: logits with the fused kernels (eager, then CUDA graphs) agree with the
    torch path's on the same GPU."""
    from engine.runtime.loader import load_model

    model = load_model(tiny_model_dir, "cuda")
    ids = torch.randint(0, 199998, (40,), generator=torch.Generator().manual_seed(3))

    def run() -> torch.Tensor:
        cache = model.new_cache(64)
        out = [model.forward(ids[:30], cache)]
        out += [model.forward(ids[i : i + 1], cache) for i in range(30, 40)]
        return torch.cat(out).float().cpu()

    monkeypatch.setenv(kernels.ENV, "torch")
    want = run()
    monkeypatch.setenv(kernels.ENV, "triton")
    assert_logits_close(run(), want, min_cos=0.999)
    from engine.runtime import decode_graph

    assert decode_graph.enable(model)
    assert_logits_close(run(), want, min_cos=0.999)
    assert model.decode_graphs.disabled is None and model.decode_graphs.captured() >= 1
