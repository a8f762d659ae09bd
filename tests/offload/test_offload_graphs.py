"""Decode graphs for models with offloaded experts (engine/runtime/decode_segments.py), on the CPU.

The graphs are stood in for by ``recorded_capture``: each segment's aten operations recorded once and
re-run on the same tensors, so anything a segment decided in Python at capture time stays baked in as in a
CUDA graph, and reading device values into Python while capturing raises. Resident experts run "gathered"
inside the segments, as on a GPU without the Triton kernels (the CPU default reads routes on the host).
"""

from __future__ import annotations

import logging

import pytest
import torch

from engine.io.checkpoint import read_config
from engine.layers import moe
from engine.offload.build import load_planned
from engine.runtime.decode_graph import DecodeGraphs
from engine.runtime.decode_segments import Segments, offloaded_layers
from tests.engine.graph_standin import Counting, eager_capture, recorded_capture
from tests.engine.logits_check import assert_logits_close
from tests.offload.test_offload_model import CTX, plans

PROMPT, DECODE = 30, 8
PLANS = [
    "none",
    "some",
    "all, fewest slots",
    "all, streaming through 2 slots",
    "some, last layers",
    "a layer partly resident",
]


@pytest.fixture(autouse=True)
def gathered(monkeypatch):
    monkeypatch.setattr(moe, "default_strategy", lambda device, routes, cache: "gathered")
    monkeypatch.setattr("engine.kernels.cpu_bf16.applies", lambda *args: False)  # nor the CPU GEMV


def ids() -> torch.Tensor:
    return torch.randint(0, 199998, (PROMPT + DECODE,), generator=torch.Generator().manual_seed(3))


def decode(model, graphs: DecodeGraphs | None) -> torch.Tensor:
    """Prefill PROMPT ids, then DECODE one-token steps (through ``graphs`` if given); -> the steps' logits."""
    model.decode_graphs = graphs
    x = ids()
    cache = type(model.new_cache(8))(model.config, CTX, "cpu", zeroed=True)
    model.forward(x[:PROMPT], cache, last_only=True)
    out = [model.forward(x[i : i + 1], cache) for i in range(PROMPT, PROMPT + DECODE)]
    assert cache.num_tokens == PROMPT + DECODE
    return torch.cat(out)


def planned(model_dir, name: str):
    cfg = read_config(model_dir)
    model = load_planned(model_dir, "cpu", plans(cfg)[name], dense_cache_bytes=0)  # no cache: graphs can run
    model.prefill_chunk = 512
    return model


@pytest.mark.parametrize("name", PLANS)
def test_segmented_graphs_decode_like_the_eager_step(offload_model_dir, name):
    """One capture per segment (offloaded layers + 1), replays after that; the same logits as eager decoding,
    the same ones as calling the segments (bit for bit), and every needed expert fetched as eagerly."""
    eager_model = planned(offload_model_dir, name)
    eager = decode(eager_model, None)

    model = planned(offload_model_dir, name)
    graphs = DecodeGraphs(model)
    graphs.capture = captures = Counting(recorded_capture, graphs)
    got = decode(model, graphs)
    assert graphs.disabled is None
    cuts = offloaded_layers(model)
    assert len(cuts) == len(model.plan.offloaded_layers)
    assert captures.positions == [PROMPT] * (len(cuts) + 1)
    assert_logits_close(got, eager, min_cos=0.99999, max_argmax_misses=0)

    called_model = planned(offload_model_dir, name)
    called = DecodeGraphs(called_model, capture=eager_capture)
    assert torch.equal(decode(called_model, called), got)  # a replay is the segment's function, exactly

    if cuts:
        s, e = model.offload_pool.stats, eager_model.offload_pool.stats
        assert s.hits + s.misses == e.hits + e.misses  # the same experts were needed
        assert s.tokens == e.tokens == PROMPT + DECODE
        assert s.h2d_bytes == (s.misses + s.prefetched) * model.offload_pool.expert_bytes


def test_the_segments_cut_at_offloaded_layers(offload_model_dir):
    """Segment i ends at the i-th offloaded layer; the last one runs the rest and the unembedding; a plan
    that keeps the embedding in host memory fills the first segment's input from there."""
    model = planned(offload_model_dir, "some, last layers")
    segments = Segments(model, torch.zeros(1, dtype=torch.long), torch.zeros(1, dtype=torch.long))
    cuts = offloaded_layers(model)
    assert cuts and cuts == sorted(cuts) and cuts[-1] == 3
    assert [list(segments.layers(i)) for i in range(len(segments))][-1] == []  # the last layer is offloaded
    assert segments.layers(0) == range(cuts[0] + 1)
    assert segments.embed_on_device == model.plan.embedding_on_device


def test_a_capture_failing_mid_step_redoes_the_step_eagerly(offload_model_dir, caplog):
    """A segment after the first cannot be captured: graphs go off, logged once, and the step runs eagerly
    from its start (its keys and values written again, the same ones): the logits stay right."""
    eager = decode(planned(offload_model_dir, "some"), None)
    model = planned(offload_model_dir, "some")
    graphs = DecodeGraphs(model)
    calls = []

    def second_fails(fn, device, pool):
        calls.append(1)
        if len(calls) == 2:
            fn()
            raise RuntimeError("operation not permitted when stream is capturing")
        return recorded_capture(fn, device, pool)

    graphs.capture = second_fails
    with caplog.at_level(logging.WARNING, logger="engine.runtime.decode_graph"):
        got = decode(model, graphs)
    assert graphs.disabled.startswith("RuntimeError") and len(caplog.records) == 1 and graphs.graphs == {}
    assert_logits_close(got, eager, min_cos=0.99999, max_argmax_misses=0)
    assert torch.equal(got, eager)  # the failed step and every one after it ran eagerly


def test_a_host_read_inside_a_segment_is_caught(offload_model_dir):
    """The stand-in refuses what a CUDA graph cannot hold: the CPU's default expert path reads the routes
    on the host, so capturing a resident layer with it fails, and graphs turn themselves off."""
    model = planned(offload_model_dir, "some")
    graphs = DecodeGraphs(model, capture=recorded_capture)
    moe_default = moe.default_strategy
    try:
        moe.default_strategy = lambda device, routes, cache: "grouped"
        decode(model, graphs)
    finally:
        moe.default_strategy = moe_default
    assert graphs.disabled is not None and "while capturing" in graphs.disabled
