"""Decode steps with fixed shapes (engine.runtime.decode_segments.step) and their CUDA-graph bookkeeping
(engine.runtime.decode_graph), on the CPU: the graphs themselves need a GPU, so stand-ins that rerun or record the
step stand for them (tests/engine/graph_standin.py)."""

from __future__ import annotations

import logging

import pytest
import torch

from engine.io.checkpoint import read_config
from engine.runtime import decode_graph, decode_segments
from engine.runtime.decode_graph import DecodeGraphs, span_for, unsupported
from engine.runtime.loader import load_model
from tests.engine.graph_standin import Counting, eager_capture, recorded_capture
from tests.engine.logits_check import assert_logits_close

PROMPT, DECODE = 250, 12  # the decode crosses position 256: two spans


def ids(n: int, seed: int = 0) -> torch.Tensor:
    return torch.randint(0, 199998, (n,), generator=torch.Generator().manual_seed(seed))


@pytest.fixture(scope="module")
def model(tiny_model_dir):
    return load_model(tiny_model_dir, "cpu", context_length=1024, dense_cache_bytes=0)


@pytest.fixture(scope="module")
def reference(model):
    """Eager logits of a prefill of PROMPT ids and DECODE one-token steps."""
    x = ids(PROMPT + DECODE)
    cache = model.new_cache(1024)
    out = [model.forward(x[:PROMPT], cache, last_only=True)]
    out += [model.forward(x[i : i + 1], cache) for i in range(PROMPT, PROMPT + DECODE)]
    return torch.cat(out)


def decode(model) -> tuple[torch.Tensor, object]:
    """The logits of a prefill of PROMPT ids and DECODE one-token steps through model.forward (whatever
    decode graphs the model has) on a zeroed cache; -> (logits, the cache)."""
    x = ids(PROMPT + DECODE)
    cache = type(model.new_cache(8))(model.config, 1024, "cpu", zeroed=True)
    out = [model.forward(x[:PROMPT], cache, last_only=True)]
    out += [model.forward(x[i : i + 1], cache) for i in range(PROMPT, PROMPT + DECODE)]
    return torch.cat(out), cache


def test_spans_are_powers_of_two_within_the_context():
    assert [span_for(p, 5000) for p in (0, 255, 256, 511, 512, 4097)] == [256, 256, 512, 512, 1024, 5000]
    assert span_for(10, 100) == 100


def test_the_fixed_shape_step_equals_the_eager_step(model, reference):
    """Keys past the position masked instead of sliced off, sliding windows gathered from the ring by a
    device-held position: the same logits as the eager step (the rings have wrapped many times here)."""
    x = ids(PROMPT + DECODE)
    # zeroed: masked keys are read too (never on the CPU by default)
    cache = type(model.new_cache(8))(model.config, 1024, "cpu", sliding_history=5, zeroed=True)
    out = [model.forward(x[:PROMPT], cache, last_only=True)]
    with torch.inference_mode():
        for i in range(PROMPT, PROMPT + DECODE):
            position = torch.tensor([cache.num_tokens])
            span = span_for(cache.num_tokens, 1024)
            out.append(decode_segments.step(model, x[i : i + 1], position, cache, span))
            cache.advance(1)
    got = torch.cat(out)
    assert_logits_close(got, reference, min_cos=0.99999, max_argmax_misses=0)
    assert torch.equal(cache.tokens[: PROMPT + DECODE], x)


def test_graph_bookkeeping_with_a_stand_in_capture(model, reference, monkeypatch):
    """Through model.forward: one capture per (cache, span), replays for the other steps, the cache
    advanced once per step, logits equal to eager decoding."""
    graphs = DecodeGraphs(model)
    graphs.capture = captures = Counting(eager_capture, graphs)
    monkeypatch.setattr(model, "decode_graphs", graphs)
    logits, cache = decode(model)
    assert captures.positions == [250, 256] and cache.num_tokens == PROMPT + DECODE
    assert_logits_close(logits, reference, min_cos=0.99999, max_argmax_misses=0)
    x = ids(PROMPT + DECODE)
    other = type(cache)(model.config, 1024, "cpu", zeroed=True)
    model.forward(x[:3], other)
    model.forward(x[3:4], other)
    assert captures.positions == [250, 256, 3]  # graphs belong to one cache's buffers
    short = type(cache)(model.config, 64, "cpu", sliding_history=5, zeroed=True)
    model.forward(x[:30], short)
    short.truncate(10)
    assert short.stale and graphs.step(x[:1], short) is None  # a replay from position 0 runs eagerly first


def test_recorded_graphs_hold_the_resident_step(model, reference, monkeypatch):
    """With a stand-in that records each graph's operations once and re-runs them on the same tensors (host
    values baked in, host reads refused: tests/engine/graph_standin.py), decoding across two spans gives the
    eager logits. Experts run gathered, as on a GPU without the Triton kernels."""
    from engine.layers import moe

    monkeypatch.setattr(moe, "default_strategy", lambda device, routes, cache: "gathered")
    monkeypatch.setattr("engine.kernels.cpu_bf16.applies", lambda *args: False)  # nor the CPU GEMV
    eager, _ = decode(model)  # the same experts' path without graphs (the fixture's ran the numba kernels)
    graphs = DecodeGraphs(model)
    graphs.capture = captures = Counting(recorded_capture, graphs)
    monkeypatch.setattr(model, "decode_graphs", graphs)
    logits, _ = decode(model)
    assert graphs.disabled is None and captures.positions == [250, 256]
    assert_logits_close(logits, eager, min_cos=0.99999, max_argmax_misses=0)
    assert_logits_close(logits, reference)


def test_a_failed_capture_turns_graphs_off_and_decodes_eagerly(model, reference, monkeypatch, caplog):
    """Any exception while capturing: logged once, graphs off for the model, the step runs eagerly."""

    def broken(fn, device, pool):
        fn()
        raise RuntimeError("operation not permitted when stream is capturing")

    graphs = DecodeGraphs(model, capture=broken)
    monkeypatch.setattr(model, "decode_graphs", graphs)
    x = ids(PROMPT + DECODE)
    cache = type(model.new_cache(8))(model.config, 1024, "cpu", zeroed=True)
    out = [model.forward(x[:PROMPT], cache, last_only=True)]
    with caplog.at_level(logging.WARNING, logger="engine.runtime.decode_graph"):
        out += [model.forward(x[i : i + 1], cache) for i in range(PROMPT, PROMPT + DECODE)]
    assert graphs.disabled.startswith("RuntimeError") and len(caplog.records) == 1
    assert torch.equal(torch.cat(out), reference)


@pytest.fixture(scope="module")
def offload_model_dir(make_checkpoint):
    from engine.io.synthetic import tiny_config

    return make_checkpoint(tiny_config(num_hidden_layers=4, num_experts=8, experts_per_token=2), layout="hf")


def test_which_models_can_have_graphs(offload_model_dir):
    """Models on CUDA without a dequantized-expert cache, offloaded or not (tests/offload/
    test_offload_graphs.py);
    load_model(cuda_graphs=True) elsewhere loads as usual, without graphs."""
    from engine.placement.plan import PlanOptions, make_plan

    resident = load_model(offload_model_dir, "cpu", context_length=64, dense_cache_bytes=0, cuda_graphs=True)
    assert resident.decode_graphs is None and unsupported(resident) == "CUDA graphs need a CUDA device"
    assert unsupported(resident, need_cuda=False) is None
    cached = load_model(offload_model_dir, "cpu", context_length=64)
    assert "dequantized-expert cache" in unsupported(cached, need_cuda=False)
    cfg = read_config(offload_model_dir)
    budget = make_plan(cfg, None, 64, options=PlanOptions(device="cpu")).min_budget_bytes
    offloaded = load_model(
        offload_model_dir, "cpu", vram_budget=budget, context_length=64, dense_cache_bytes=0
    )
    assert offloaded.offload_pool is not None and unsupported(offloaded, need_cuda=False) is None
    assert not decode_graph.enable(offloaded) and offloaded.decode_graphs is None  # (no CUDA here)


def test_a_new_placement_forgets_the_graphs(offload_model_dir):
    """Re-placing the experts (replan after an out-of-memory) drops every graph: they read the old tensors."""
    from engine.offload.build import apply_plan, host_layers_of

    model = load_model(offload_model_dir, "cpu", context_length=64, dense_cache_bytes=0)
    graphs = model.decode_graphs = DecodeGraphs(model, capture=eager_capture)
    cache = type(model.new_cache(8))(model.config, 64, "cpu", zeroed=True)
    model.forward(ids(5), cache)
    model.forward(ids(1), cache)
    assert len(graphs.graphs) == 1
    apply_plan(model, model.plan, host_layers_of(model.checkpoint))
    assert graphs.graphs == {}


def test_graphs_on_request_from_the_environment(monkeypatch):
    """Graphs are on by default; GOSSAMER_CUDA_GRAPHS=0 turns them off for a caller that passes nothing;
    an explicit value wins."""
    monkeypatch.delenv(decode_graph.ENV, raising=False)
    assert decode_graph.requested(None) is True and decode_graph.requested(False) is False
    for value, want in (("1", True), ("on", True), ("0", False), ("off", False), ("No", False), ("", True)):
        monkeypatch.setenv(decode_graph.ENV, value)
        assert decode_graph.requested(None) is want
        assert decode_graph.requested(False) is False


def test_a_graph_that_kept_its_capture_is_caught_by_the_check(model, reference, monkeypatch, caplog):
    """A graph whose replay does not follow its inputs (here: it hands back what the capture computed) is
    caught by the first replay at a new position, compared with the same step called directly: graphs go
    off, logged, and every step's logits are still the eager ones."""

    def frozen(fn, device, pool):
        out = fn()
        return (lambda: None), out, pool  # replays leave the capture's output as it was

    graphs = DecodeGraphs(model, capture=frozen)
    monkeypatch.setattr(model, "decode_graphs", graphs)
    with caplog.at_level(logging.WARNING, logger="engine.runtime.decode_graph"):
        logits, _ = decode(model)
    assert graphs.disabled.startswith("a replayed step disagreed") and len(caplog.records) == 1
    assert_logits_close(logits, reference, min_cos=0.99999, max_argmax_misses=0)


def test_the_check_runs_once_per_cache_and_span(model, monkeypatch):
    """One direct step per set of graphs (its first replay), not one per token."""
    checks = []
    real = decode_graph.disagreement
    monkeypatch.setattr(decode_graph, "disagreement", lambda a, b: checks.append(1) or real(a, b))
    graphs = DecodeGraphs(model, capture=eager_capture)
    monkeypatch.setattr(model, "decode_graphs", graphs)
    decode(model)  # positions 250..261: spans 256 (captured at 250, checked at 251) and 512 (256, 257)
    assert graphs.disabled is None and len(checks) == 2


def test_graphs_by_default_only_where_they_exist(offload_model_dir, monkeypatch):
    """load_model's default asks for graphs, but on the CPU it quietly loads without them (no device to
    capture on); GOSSAMER_CUDA_GRAPHS=0 or cuda_graphs=False are the ways to turn them off on CUDA."""
    monkeypatch.delenv(decode_graph.ENV, raising=False)
    model = load_model(offload_model_dir, "cpu", context_length=64, dense_cache_bytes=0)
    assert decode_graph.requested(None) and model.decode_graphs is None
