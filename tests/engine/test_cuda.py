"""The same model on CUDA: logits equal the CPU's (which the other tests tie to the references), in
prefill, decode, small chunks and after going back. Skipped without an NVIDIA GPU."""

from __future__ import annotations

import pytest
import torch

from engine.runtime.loader import load_model
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
    from engine.layers.moe import expert_mlp

    model = load_model(make_checkpoint(SHAPES["gqa-top3"], layout="hf", seed=1), "cuda")
    moe = model.blocks[0].mlp
    x = torch.randn(3, model.config.hidden_size, device="cuda").bfloat16()
    ids, weights = moe.route(x)
    packed, rows = moe.store.fetch(ids)
    gathered = expert_mlp(x, rows, weights, packed, moe.limit, moe.alpha, strategy="gathered")
    grouped = expert_mlp(x, rows, weights, packed, moe.limit, moe.alpha, strategy="grouped")
    assert torch.allclose(gathered.float(), grouped.float(), atol=0.05, rtol=0.02)


def _decode_logits(model, ids: torch.Tensor, prompt: int) -> torch.Tensor:
    """Prefill ``prompt`` ids, then one-token steps over the rest (greedy inputs fixed: teacher forcing)."""
    cache = model.new_cache()  # the model's context
    out = [model.forward(ids[:prompt], cache, last_only=True)]
    out += [model.forward(ids[i : i + 1], cache) for i in range(prompt, len(ids))]
    return torch.cat(out).cpu()


@pytest.mark.parametrize("name", ["gqa-top3", "mqa-top1"])
def test_cuda_graphs_match_eager_decode(name, make_checkpoint):
    """load_model(cuda_graphs=True): decode steps replay CUDA graphs (one per span: 256 and 512 here) and
    give the eager steps' logits; the graphs survive a second cache and fall back for a stale one."""
    from engine.runtime.decode_graph import unsupported

    model_dir = make_checkpoint(SHAPES[name], layout="hf", seed=1)
    ids = torch.randint(0, SHAPES[name].vocab_size, (270,), generator=torch.Generator().manual_seed(3)).cuda()
    eager = load_model(model_dir, "cuda", context_length=600)
    graphed = load_model(model_dir, "cuda", context_length=600, cuda_graphs=True)
    assert unsupported(graphed) is None and graphed.decode_graphs is not None
    want = _decode_logits(eager, ids, 250)
    got = _decode_logits(graphed, ids, 250)
    graphs = graphed.decode_graphs
    assert graphs.disabled is None, graphs.disabled
    assert sorted(key[1] for key in graphs.graphs) == [256, 512]
    assert_logits_close(got, want, min_cos=0.9999, max_argmax_misses=0.05)
    again = _decode_logits(graphed, ids, 250)  # a new cache: new graphs, the same numbers
    assert_logits_close(again, want, min_cos=0.9999, max_argmax_misses=0.05)
    assert graphs.disabled is None and len(graphs.graphs) >= 2


def test_cuda_kernels_match_the_torch_path(make_checkpoint, monkeypatch):
    """The Triton MXFP4 kernels (when they run here) give the torch path's logits to bf16 tolerance, in
    prefill (grouped GEMM) and decode (GEMV)."""
    from engine import kernels

    if not kernels.available("cuda"):
        pytest.skip(f"Triton kernels: {kernels.why_unavailable('cuda')}")
    model_dir = make_checkpoint(SHAPES["gqa-top3"], layout="hf", seed=1)
    ids = torch.randint(0, 512, (40,), generator=torch.Generator().manual_seed(4)).cuda()
    model = load_model(model_dir, "cuda", context_length=64)
    monkeypatch.setenv(kernels.ENV, "torch")
    want = _decode_logits(model, ids, 24)
    monkeypatch.setenv(kernels.ENV, "triton")  # a failure raises rather than falling back
    assert kernels.use_fused(model.device)
    got = _decode_logits(model, ids, 24)
    assert_logits_close(got, want, min_cos=0.999)


def test_cuda_int8_weights_close_to_bf16(make_checkpoint):
    """int8_weights=True on the GPU: fewer bytes on the device, logits close to bf16 (random models are
    chaotic at router near-ties: loose bounds; docs/benchmarks.md has the CPU agreement numbers)."""
    model_dir = make_checkpoint(SHAPES["tiny"], layout="hf", seed=1)
    ids = torch.randint(0, 512, (48,), generator=torch.Generator().manual_seed(5)).cuda()
    bf16 = load_model(model_dir, "cuda", context_length=64)
    int8 = load_model(model_dir, "cuda", context_length=64, int8_weights=True)
    assert int8.weight_bytes()["dense"] < bf16.weight_bytes()["dense"]
    a, b = _decode_logits(bf16, ids, 32).double(), _decode_logits(int8, ids, 32).double()
    assert torch.nn.functional.cosine_similarity(a, b, dim=-1).mean() > 0.99
