"""On a CUDA device (skipped elsewhere): copies on the side stream from page-locked memory, events and
prefetch give decode logits equal to the all-resident model's, bit for bit (decode sums a token's experts
in route order, whatever rows they sit in)."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from engine.io.checkpoint import read_config
from engine.offload.build import load_planned
from engine.placement.plan import LayerPlacement, PlanOptions, make_plan

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")


@pytest.mark.parametrize("offloaded, slots", [((1, 3), 4), ((0, 1, 2, 3), 4), ((0, 1, 2, 3), 5)])
def test_cuda_decode_identical_with_offload(offload_model_dir, offloaded, slots):
    """Random keys and values, then decode steps: offloaded placements equal the resident one exactly."""
    cfg = read_config(offload_model_dir)
    full = make_plan(cfg, None, 64, options=PlanOptions(device="cuda", host_embedding=False))
    layers = tuple(LayerPlacement(n, () if n in offloaded else tuple(range(8)), 8) for n in range(4))
    plans = [full, dataclasses.replace(full, layers=layers, num_slots=slots)]
    ids = torch.randint(0, 199998, (12,), generator=torch.Generator().manual_seed(3)).cuda()
    outs = []
    for plan in plans:
        model = load_planned(offload_model_dir, "cuda", plan)
        cache = model.new_cache(64)
        g = torch.Generator("cuda").manual_seed(5)
        cache.append_tokens(ids[:1].repeat(16))
        for layer in cache.layers:
            layer.k.copy_(torch.randn(layer.k.shape, generator=g, device="cuda"))
            layer.v.copy_(torch.randn(layer.v.shape, generator=g, device="cuda"))
        cache.advance(16)
        outs.append(
            torch.cat([model.forward(ids[i : i + 1], cache, last_only=True) for i in range(12)]).cpu()
        )
        if plan.offloads:
            stats = model.offload_pool.stats
            assert stats.misses > 0 and stats.h2d_bytes > 0
            assert model.offload_pool.host[offloaded[0]].mlp1_blocks.is_pinned()
    assert torch.equal(outs[0], outs[1])


@pytest.mark.parametrize("mode", ["torch", "auto"])
def test_cuda_prefill_with_offload_streaming(offload_model_dir, monkeypatch, mode):
    """A prefill chunk streamed through 3 slots (groups) equals the resident model's prefill: bit for bit on
    the torch path (expert outputs summed in expert order), to bf16 rounding with the Triton kernels (the
    resident grouped kernel weights each route before rounding; streamed groups round each output first)."""
    from tests.engine.logits_check import assert_logits_close

    monkeypatch.setenv("GOSSAMER_KERNELS", mode)
    cfg = read_config(offload_model_dir)
    full = make_plan(cfg, None, 64, options=PlanOptions(device="cuda", host_embedding=False))
    layers = tuple(LayerPlacement(n, (), 8) for n in range(4))
    plans = [full, dataclasses.replace(full, layers=layers, num_slots=3)]
    ids = torch.randint(0, 199998, (40,), generator=torch.Generator().manual_seed(6)).cuda()
    outs = []
    for plan in plans:
        model = load_planned(offload_model_dir, "cuda", plan)
        outs.append(model.forward(ids, model.new_cache(64)).cpu())
        if plan.offloads:
            assert model.offload_pool.stats.groups >= 4
    if mode == "torch":
        assert torch.equal(outs[0], outs[1])
    else:
        assert_logits_close(outs[1], outs[0], min_cos=0.999)


@pytest.mark.parametrize("host_embedding", [False, True])
def test_cuda_graphs_with_offloaded_experts(offload_model_dir, host_embedding):
    """Decode graphs cut at the offloaded layers (engine/runtime/decode_segments.py): one capture per segment, the
    eager offloaded decode's logits (to bf16 noise: graphs attend over a fixed span, keys past it masked)."""
    from engine.runtime import decode_graph
    from engine.runtime.decode_segments import offloaded_layers
    from tests.engine.logits_check import assert_logits_close

    cfg = read_config(offload_model_dir)
    options = PlanOptions(device="cuda", host_embedding=host_embedding)
    low = make_plan(cfg, make_plan(cfg, None, 64, options=options).min_budget_bytes, 64, options=options)
    assert low.embedding_on_device != host_embedding
    layers = tuple(LayerPlacement(n, () if n in (1, 2) else tuple(range(8)), 8) for n in range(4))
    plan = dataclasses.replace(low, layers=layers, num_slots=4)
    ids = torch.randint(0, 199998, (40,), generator=torch.Generator().manual_seed(7))
    outs = []
    for graphs in (False, True):
        model = load_planned(offload_model_dir, "cuda", plan, dense_cache_bytes=0)
        if graphs:
            assert decode_graph.enable(model)
        cache = model.new_cache(64)
        model.forward(ids[:24], cache, last_only=True)
        outs.append(torch.cat([model.forward(ids[i : i + 1], cache) for i in range(24, 40)]).cpu())
    assert offloaded_layers(model) == [1, 2]
    assert model.decode_graphs.disabled is None, model.decode_graphs.disabled
    assert model.decode_graphs.captured() == 3  # one span (the context is 64), three segments
    assert_logits_close(outs[1], outs[0], min_cos=0.9999, max_argmax_misses=0.05)
