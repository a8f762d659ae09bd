"""The same model on CUDA: logits equal the CPU's (which the other tests tie to the references), in
prefill, decode, small chunks and after going back. Skipped without an NVIDIA GPU."""

from __future__ import annotations

import pytest
import torch

from engine.loader import load_model
from tests.engine.logits_check import assert_logits_close
from tests.engine.shapes import SHAPES

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")


@pytest.mark.parametrize("name", list(SHAPES))
def test_cuda_matches_cpu(name, make_checkpoint):
    cfg = SHAPES[name]
    model_dir = make_checkpoint(cfg, layout="hf", seed=1)
    ids = torch.randint(
        0, cfg.vocab_size, (12 * cfg.sliding_window,), generator=torch.Generator().manual_seed(7)
    )
    cpu, gpu = load_model(model_dir, "cpu"), load_model(model_dir, "cuda")
    expected = cpu.forward(ids, cpu.new_cache(len(ids)))
    assert gpu.device.type == "cuda" and "CUDA" in gpu.describe()

    prefill = gpu.forward(ids, gpu.new_cache(len(ids))).cpu()
    cache = gpu.new_cache(len(ids), sliding_history=5)  # rings wrap many times
    decode = torch.cat([gpu.forward(ids[i : i + 1], cache) for i in range(len(ids))]).cpu()
    gpu.prefill_chunk = 7
    chunked = gpu.forward(ids, gpu.new_cache(len(ids), sliding_history=9)).cpu()
    gpu.prefill_chunk = 512
    for logits in (prefill, decode, chunked):
        assert_logits_close(logits, expected)

    cache = gpu.new_cache(len(ids), sliding_history=16)
    gpu.forward(ids, cache)
    cache.truncate(len(ids) - 10)
    assert not cache.stale
    assert_logits_close(gpu.forward(ids[-10:], cache).cpu(), expected[-10:])
    cache.truncate(5)
    assert cache.stale  # replayed on the next step
    assert_logits_close(gpu.forward(ids[5:], cache).cpu(), expected[5:])


def test_cuda_strategies_agree(make_checkpoint):
    """On the GPU, decoding runs experts gathered (no host sync); prefill runs them grouped."""
    from engine.moe import expert_mlp

    model = load_model(make_checkpoint(SHAPES["gqa-top3"], layout="hf", seed=1), "cuda")
    moe = model.blocks[0].mlp
    x = torch.randn(3, model.config.hidden_size, device="cuda").bfloat16()
    ids, weights = moe.route(x)
    packed, rows = moe.store.fetch(ids)
    gathered = expert_mlp(x, rows, weights, packed, moe.limit, moe.alpha, strategy="gathered")
    grouped = expert_mlp(x, rows, weights, packed, moe.limit, moe.alpha, strategy="grouped")
    assert torch.allclose(gathered.float(), grouped.float(), atol=0.05, rtol=0.02)
