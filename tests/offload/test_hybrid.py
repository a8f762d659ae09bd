"""Hybrid placement on the CPU with a simulated budget: missing host experts computed on the CPU (a worker
thread, the numba kernels) give the logits and greedy tokens of copying them in and of keeping every expert
resident, to bf16 tolerance (the CPU's part is summed in another order and added in once more)."""

from __future__ import annotations

import threading

import pytest
import torch

from engine.errors import EngineError
from engine.io.checkpoint import read_config
from engine.offload import hybrid
from engine.offload.build import load_planned
from engine.offload.cost import CostModel
from engine.offload.hybrid import ENV, HostExperts, resolve_mode
from engine.offload.pool import OffloadStats
from engine.runtime.loader import load_model
from tests.engine.logits_check import assert_logits_close
from tests.offload.test_offload_model import CTX, logits_of, plans

pytestmark = pytest.mark.skipif(
    not hybrid.kernels.cpu_available(), reason="the CPU kernels need numba (GOSSAMER_KERNELS=torch, or none)"
)
SLOW_BUS = CostModel(copy_s=1e-3, cpu_s=0.3e-3, cpu_token_s=0.25e-3, device_s=2e-5)
GREEDY = 5


def planned(model_dir, name: str, mode: str, costs: CostModel | None = None):
    model = load_planned(model_dir, "cpu", plans(read_config(model_dir))[name], host_experts=mode)
    model.prefill_chunk = 512
    model.host_experts.costs = costs
    return model


def greedy(model, prompt: int = 12) -> list[int]:
    """GREEDY tokens after a seeded random prompt, one step at a time."""
    ids = torch.randint(0, 199998, (prompt,), generator=torch.Generator().manual_seed(5))
    cache = model.new_cache(CTX)
    token = model.forward(ids, cache, last_only=True).argmax(-1)
    out = [int(token)]
    for _ in range(GREEDY - 1):
        token = model.forward(token.view(1), cache, last_only=True).argmax(-1)
        out.append(int(token))
    return out


@pytest.fixture(scope="module")
def resident(offload_model_dir):
    model = load_model(offload_model_dir, device="cpu")
    return logits_of(model), greedy(model)


@pytest.mark.parametrize(
    "mode, name",
    [
        (mode, name)
        for mode in ("cpu", "auto")
        for name in ("all, fewest slots", "some", "a layer partly resident")
    ]
    + [("copy", "a layer partly resident"), ("auto", "all, streaming through 2 slots")],
)  # (copying is tested with every plan in test_offload_model.py)
def test_hybrid_logits_and_tokens_match_resident_and_copying(offload_model_dir, resident, name, mode):
    """Prefill (30 tokens: under the batch size, so the CPU takes part in it too) and decode logits are close
    to the all-resident model's; copy stays bit-identical; greedy tokens agree; the counters add up."""
    want_logits, want_tokens = resident
    model = planned(offload_model_dir, name, mode, SLOW_BUS if mode == "auto" else None)
    got = logits_of(model)
    s = model.offload_pool.stats
    if mode == "copy":
        assert torch.equal(got, want_logits) and s.cpu_experts == 0
    else:
        assert_logits_close(got, want_logits)
        assert s.cpu_experts > 0
    if mode == "cpu":
        assert s.misses == 0  # every miss went to the CPU; prefetched experts were hits
    if name == "all, streaming through 2 slots":
        assert (
            s.groups > 0 and s.misses > 0
        )  # the prefill's busiest experts streamed through, the rest on the CPU
    assert s.expert_hit_rate + s.cpu_expert_fraction <= 1.0
    model.offload_pool.stats = OffloadStats()
    assert greedy(model) == want_tokens


def test_cpu_expert_fraction_counts_every_expert_a_step_needed(offload_model_dir):
    """Each decode step of a top-2 model needs two distinct experts per offloaded layer: hits, misses and
    CPU computations add up to exactly that, and the fraction is the CPU's share of it; cpu mode neither
    copies nor prefetches while decoding."""
    model = planned(offload_model_dir, "all, fewest slots", "cpu")
    cache = model.new_cache(CTX)
    ids = torch.randint(0, 199998, (10 + GREEDY,), generator=torch.Generator().manual_seed(7))
    model.forward(ids[:10], cache)
    model.offload_pool.stats = stats = OffloadStats()
    for i in range(10, 10 + GREEDY):
        model.forward(ids[i : i + 1], cache)
    layers, k = len(model.plan.offloaded_layers), model.config.experts_per_token
    assert stats.hits + stats.misses + stats.cpu_experts == GREEDY * layers * k
    assert stats.h2d_bytes == stats.prefetched == stats.misses == 0  # cpu mode's decode: nothing over the bus
    assert stats.cpu_expert_fraction == pytest.approx(stats.cpu_experts / (GREEDY * layers * k))
    assert stats.as_dict()["cpu_expert_fraction"] == round(stats.cpu_expert_fraction, 4)
    assert OffloadStats(hits=1, misses=1, cpu_experts=2).cpu_expert_fraction == 0.5
    assert OffloadStats().cpu_expert_fraction == 0.0


def test_the_cpu_share_runs_on_a_worker_thread(offload_model_dir, monkeypatch):
    """The CPU's experts are computed off the thread that drives the device, so the two overlap."""
    model = planned(offload_model_dir, "all, fewest slots", "cpu")
    threads = set()
    compute = hybrid.HostStep._compute

    def spy(self):
        threads.add(threading.current_thread().name)
        return compute(self)

    monkeypatch.setattr(hybrid.HostStep, "_compute", spy)
    greedy(model)
    assert threads and all(name.startswith("gossamer-host-experts") for name in threads)


def test_without_the_cpu_kernels_every_mode_copies(offload_model_dir, resident, monkeypatch):
    """GOSSAMER_KERNELS=torch (as when numba is missing): cpu and auto copy, with no error and the resident
    model's bits (the resident model on the torch path too: numba also runs its bf16 projections); the facts
    say why."""
    monkeypatch.setenv("GOSSAMER_KERNELS", "torch")
    model = planned(offload_model_dir, "a layer partly resident", "cpu")
    assert torch.equal(logits_of(model), logits_of(load_model(offload_model_dir, device="cpu")))
    assert model.offload_pool.stats.cpu_experts == 0
    for mode in ("cpu", "auto"):
        model.host_experts.mode, model.host_experts.costs = mode, SLOW_BUS
        facts = model.host_experts.facts()
        assert facts["effective"] == "copy" and "GOSSAMER_KERNELS=torch" in facts["why_copy"]


def test_a_failing_cpu_kernel_falls_back_to_torch_then_copies(
    offload_model_dir, resident, monkeypatch, caplog
):
    """The numba kernels raising mid-step: that step's CPU share runs on the torch path (right numbers), the
    log says why once, and later steps copy."""
    from engine.kernels import cpu_mxfp4

    def broken(*args, **kwargs):
        raise RuntimeError("no LLVM today")

    model = planned(offload_model_dir, "all, fewest slots", "cpu")
    monkeypatch.setattr(cpu_mxfp4, "expert_mlp_cpu", broken)
    monkeypatch.setattr("engine.layers.moe.default_strategy", lambda device, routes, cache: "grouped")
    got = logits_of(model)
    assert_logits_close(got, resident[0])
    assert "no LLVM today" in model.host_experts.failed and model.host_experts.effective() == "copy"
    assert sum("CPU kernels failed" in r.getMessage() for r in caplog.records) == 1


def test_the_mode_setting(monkeypatch):
    """An explicit mode wins over GOSSAMER_HOST_EXPERTS, which wins over auto; a wrong one says the choices."""
    monkeypatch.delenv(ENV, raising=False)
    assert resolve_mode(None) == "auto"
    monkeypatch.setenv(ENV, "cpu")
    assert resolve_mode(None) == "cpu" and resolve_mode("Copy") == "copy"
    monkeypatch.setenv(ENV, "fastest")
    assert resolve_mode(None) == "auto"  # a wrong environment is logged, not fatal
    with pytest.raises(EngineError, match="auto .*copy or cpu"):
        resolve_mode("gpu")


def test_load_model_takes_the_mode_and_the_environment(offload_model_dir, monkeypatch):
    """load_model(host_experts=) and GOSSAMER_HOST_EXPERTS (the app's way) set the model's mode."""
    monkeypatch.setenv(ENV, "cpu")
    budget = plans(read_config(offload_model_dir))["some"].budget_bytes
    assert load_model(offload_model_dir, "cpu", budget, CTX).host_experts.mode == "cpu"
    assert load_model(offload_model_dir, "cpu", budget, CTX, host_experts="copy").host_experts.mode == "copy"
    with pytest.raises(EngineError):
        load_model(offload_model_dir, "cpu", budget, CTX, host_experts="sometimes")


def test_auto_waits_for_numbers_and_measures_them(offload_model_dir):
    """Auto copies until it has numbers (on the CPU device nothing is measured at load); measuring this
    machine gives positive times for the copy, the device and the CPU."""
    model = planned(offload_model_dir, "all, fewest slots", "auto")
    assert (
        model.host_experts.effective() == "copy" and "not measured" in model.host_experts.facts()["why_copy"]
    )
    pool, moe = model.offload_pool, model.blocks[0].mlp.base
    copy_s, device_s = hybrid.measure_device(pool, moe.limit, moe.alpha)
    cpu_s, cpu_token_s = hybrid.measure_cpu(pool, moe.limit, moe.alpha)
    assert copy_s > 0 and device_s > 0 and cpu_s > 0 and cpu_token_s >= 0
    assert all(r not in pool.where.values() for r in pool.free_rows)  # the slot it used holds nothing


def test_host_experts_words():
    """describe() names the mode and, when every miss is copied whatever it says, why."""
    host = HostExperts("cpu")
    assert host.describe().startswith("host experts: cpu")
    host.costs = SLOW_BUS
    host.mode = "auto"
    assert "copy 1.00 ms" in host.describe() and host.facts()["costs"]["copy_us"] == 1000.0


def test_decode_graph_segments_with_the_cpu_computing(offload_model_dir, monkeypatch):
    """Segmented decode graphs (engine/runtime/decode_segments.py) call the offloaded layers' experts
    between segments: with the CPU computing the misses, graphs capture, replay and give the eager step's
    logits, and the CPU did compute."""
    from engine.layers import moe
    from engine.runtime.decode_graph import DecodeGraphs
    from tests.engine.graph_standin import recorded_capture
    from tests.offload.test_offload_graphs import decode
    from tests.offload.test_offload_graphs import planned as graph_planned

    monkeypatch.setattr(moe, "default_strategy", lambda device, routes, cache: "gathered")  # as on a GPU
    monkeypatch.setattr("engine.kernels.cpu_bf16.applies", lambda *args: False)  # nor the CPU GEMV
    eager_model = graph_planned(offload_model_dir, "some")
    eager_model.host_experts.mode = "cpu"
    eager = decode(eager_model, None)
    model = graph_planned(offload_model_dir, "some")
    model.host_experts.mode = "cpu"
    graphs = DecodeGraphs(model, capture=recorded_capture)
    got = decode(model, graphs)
    assert graphs.disabled is None and graphs.captured() > 0
    assert torch.equal(got, eager)
    s, e = model.offload_pool.stats, eager_model.offload_pool.stats
    assert s.hits + s.misses + s.cpu_experts == e.hits + e.misses + e.cpu_experts  # the same experts needed
    assert s.cpu_experts > 0 and s.misses == 0  # (fewer prefetches inside segments: more on the CPU)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
@pytest.mark.parametrize("mode", ["cpu", "auto"])
def test_cuda_hybrid_decode_matches_resident(offload_model_dir, mode):
    """On a GPU: the load measures the copy, the device and (on a thread) the CPU; decode with the CPU taking
    misses (cpu; auto with a slow bus forced) stays within bf16 rounding of the resident model, same tokens."""
    cfg = read_config(offload_model_dir)
    from engine.placement.plan import PlanOptions, make_plan

    full = make_plan(cfg, None, CTX, options=PlanOptions(device="cuda", host_embedding=False))
    low = make_plan(cfg, full.min_budget_bytes, CTX, options=PlanOptions(device="cuda", host_embedding=False))
    ids = torch.randint(0, 199998, (20,), generator=torch.Generator().manual_seed(3)).cuda()
    outs = []
    for plan in (full, low):
        model = load_planned(offload_model_dir, "cuda", plan, host_experts=mode)
        if plan.offloads:
            model.host_experts.wait_measured(60)
            assert mode != "auto" or model.host_experts.costs.source == "measured"
            model.host_experts.costs = SLOW_BUS if mode == "auto" else model.host_experts.costs
        cache = model.new_cache(CTX)
        model.forward(ids[:8], cache)
        outs.append(torch.cat([model.forward(ids[i : i + 1], cache) for i in range(8, 20)]).float().cpu())
    assert_logits_close(outs[1], outs[0], min_cos=0.9999)
    assert model.offload_pool.stats.cpu_experts > 0


def test_host_experts_packed_by_rows(offload_model_dir, resident):
    """Pinned host experts are packed a row per expert (engine.offload.build.pack_rows: strided fields); the
    CPU kernels read them in place and give the same logits as from the checkpoint's layout."""
    from engine.io.checkpoint import Checkpoint
    from engine.offload.build import host_layers_of, pack_rows

    host = [pack_rows(p) for p in host_layers_of(Checkpoint.open(offload_model_dir))]
    plan = plans(read_config(offload_model_dir))["all, fewest slots"]
    model = load_planned(offload_model_dir, "cpu", plan, host_layers=host, host_experts="cpu")
    model.prefill_chunk = 512
    assert not model.offload_pool.host[0].mlp1_blocks.is_contiguous()
    assert_logits_close(logits_of(model), resident[0], min_cos=0.99999)
    assert model.offload_pool.stats.cpu_experts > 0


@pytest.mark.parametrize("mode", ["cpu", "auto"])
def test_top4_routing_with_the_cpu_computing(offload_model_dir_k4, mode):
    """Four routes a token, four slots: the CPU's and the device's routes interleave within a token, and
    their outputs still meet in the resident model's sum."""
    import dataclasses

    from engine.placement.plan import LayerPlacement, PlanOptions, make_plan

    reference = logits_of(load_model(offload_model_dir_k4, device="cpu"))
    cfg = read_config(offload_model_dir_k4)
    plan = dataclasses.replace(
        make_plan(cfg, 0, CTX, options=PlanOptions(device="cpu")), num_slots=4, fits=True
    )
    plan = dataclasses.replace(plan, layers=tuple(LayerPlacement(n, (), 8) for n in range(4)))
    model = load_planned(offload_model_dir_k4, "cpu", plan, host_experts=mode)
    model.prefill_chunk = 512
    model.host_experts.costs = SLOW_BUS
    assert_logits_close(logits_of(model), reference, min_cos=0.99999)
    s = model.offload_pool.stats
    assert s.cpu_experts > 0 and (mode == "cpu" or s.misses > 0)
