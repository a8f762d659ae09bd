"""The resident decode step never waits for the device (issue: 22-27 tok/s on an H200).

No GPU here, so the model runs on PyTorch's ``meta`` device: tensors with shapes and no data, where every
operation that needs a tensor's values on the host (.item(), .tolist(), nonzero, unique, bool(t), a copy
to or from host memory: exactly what synchronizes a GPU) fails or shows up. The accelerator code paths
are the ones taken (meta is not "cpu": bf16 attention matmuls, experts gathered per route). A dispatch
mode records every operation, so a copy between host and device is caught too.
"""

from __future__ import annotations

import pytest
import torch
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_leaves

from engine.io.checkpoint import LAYER_TENSORS, Checkpoint
from engine.layers.experts import DenseCache, ExpertStore, PackedExperts
from engine.layers.int8_linear import quantize_model
from engine.model import Transformer
from engine.offload.pool import FIELDS
from engine.runtime import decode_segments
from engine.runtime.op_count import OpCount, watching
from engine.runtime.sampling import SamplingParams
from engine.runtime.session import ChatSession

META = torch.device("meta")
# operations whose result depends on values (a device sync when the values live on a GPU)
DATA_DEPENDENT = ("_local_scalar_dense", "nonzero", "unique", "bincount", "masked_select", "item", "equal")


class SyncWatch(TorchDispatchMode):
    """Records operations that move data between host and device, or need values on the host."""

    def __init__(self):
        super().__init__()
        self.syncs: list[str] = []
        self.ops = 0

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        self.ops += 1
        inputs = {t.device.type for t in tree_leaves((args, kwargs)) if isinstance(t, torch.Tensor)}
        if "meta" in inputs and any(name in str(func) for name in DATA_DEPENDENT):  # host values are free
            self.syncs.append(str(func))  # before the call: on meta it raises
        out = func(*args, **kwargs)
        outputs = {t.device.type for t in tree_leaves(out) if isinstance(t, torch.Tensor)}
        devices = inputs | outputs
        if "cpu" in devices and "meta" in devices:
            self.syncs.append(f"{func} between host and device")
        return out


@pytest.fixture
def python_reads(monkeypatch):
    """Counts Tensor methods that read values into Python (they raise on meta tensors, but a caller could
    catch that)."""
    seen: list[str] = []
    for name in ("item", "tolist", "__bool__", "__int__", "__float__", "__index__", "numpy", "cpu"):
        real = getattr(torch.Tensor, name)

        def spy(self, *args, _real=real, _name=name, **kwargs):
            if self.device.type == "meta":
                seen.append(_name)
            return _real(self, *args, **kwargs)

        monkeypatch.setattr(torch.Tensor, name, spy)
    return seen


def meta_model(model_dir, context: int = 64) -> Transformer:
    """The checkpoint's model with every weight on the meta device, placed as on a GPU with room."""
    checkpoint = Checkpoint.open(model_dir)
    cfg = checkpoint.config

    def meta(name: str) -> torch.Tensor:
        return checkpoint.get(name).to(META)

    globals_ = {name: meta(name) for name in ("embedding", "norm", "unembedding")}
    layers = [
        {name: meta(f"{n}.{name}") for name in LAYER_TENSORS if name not in FIELDS}
        for n in range(cfg.num_hidden_layers)
    ]
    stores = [
        ExpertStore(n, PackedExperts(**{f: meta(f"{n}.{f}") for f in FIELDS}))
        for n in range(cfg.num_hidden_layers)
    ]
    model = Transformer(cfg, META, globals_, layers, stores, DenseCache(0), context)
    checkpoint.close()
    return model


def prefilled(model, count: int = 40):
    """A cache that holds ``count`` positions (no values on meta: only the bookkeeping matters)."""
    cache = model.new_cache()
    cache.append_tokens(torch.zeros(count, dtype=torch.long, device=META))
    cache.advance(count)
    return cache


def run_watched(step) -> OpCount:
    step()  # once first: lookup tables built on first use are not part of a steady decode step
    watch = OpCount()
    with watch:
        step()
    return watch


@pytest.mark.parametrize("int8", [False, True], ids=["bf16", "int8"])
def test_resident_decode_step_does_not_sync(tiny_model_dir, python_reads, int8):
    """One decode step (attention over a cache that has wrapped its sliding rings, routing, experts of
    four routes, unembedding) runs without a single host-device copy or value read."""
    model = meta_model(tiny_model_dir)
    if int8:
        quantize_model(model)
    cache = prefilled(model, 40)  # > the tiny model's window (8): the rings have wrapped
    token = torch.zeros(1, dtype=torch.long, device=META)
    watch = run_watched(lambda: model.forward(token, cache, last_only=True))
    assert watch.syncs == [] and python_reads == []
    assert watch.kernels > 100 and cache.num_tokens == 42


def test_fixed_shape_step_does_not_sync(tiny_model_dir, python_reads):
    """The fixed-shape step (what a CUDA graph holds: engine.runtime.decode_segments.step) reads its position from a
    device tensor: no sync."""
    model = meta_model(tiny_model_dir)
    cache = prefilled(model, 40)
    token = torch.zeros(1, dtype=torch.long, device=META)
    position = torch.full((1,), 40, dtype=torch.long, device=META)
    watch = run_watched(lambda: decode_segments.step(model, token, position, cache, 64))
    assert watch.syncs == [] and python_reads == []


def test_a_sessions_decode_step_copies_nothing_from_host_memory(tiny_model_dir, python_reads):
    """The session hands the model its next id as a host tensor; the model checks it on the host and puts
    it on the device as a fill of a device buffer (a kernel argument), not a copy from pageable memory.
    Its one sync per token is reading the sampled id back (engine.runtime.sampling), outside this step."""
    session = ChatSession(meta_model(tiny_model_dir), context_length=64)
    session.cache.append_tokens(torch.zeros(40, dtype=torch.long, device=META))
    session.cache.advance(40)
    session._cached_ids = [0] * 40
    watch = run_watched(lambda: session._forward_once([200005]))
    assert watch.syncs == [] and python_reads == []


@pytest.mark.parametrize(
    "params",
    [SamplingParams(temperature=0.0), SamplingParams(), SamplingParams(temperature=0.8, top_p=0.9, top_k=40)],
    ids=["greedy", "t1-p1", "t0.8-p0.9-k40"],
)
def test_a_sampled_token_costs_exactly_one_host_sync(tiny_model_dir, python_reads, params):
    """host_syncs_per_token is exactly 1 with sampling on: the session's step and draw (temperature, top-p,
    top-k, the finiteness check) run on the device, and reading the id back is the one sync; the 201,088
    probabilities never come to the host. (On meta the read itself fails, after it was counted.)"""
    session = ChatSession(meta_model(tiny_model_dir), context_length=64)
    session.cache.append_tokens(torch.zeros(40, dtype=torch.long, device=META))
    session.cache.advance(40)
    session._cached_ids = [0] * 40

    def step():
        logits = session._forward_once([200005])
        with pytest.raises(RuntimeError, match="meta"):
            session._pick(logits, params, None)

    step()  # lookup tables built on first use are not part of a steady step
    python_reads.clear()
    watch = SyncWatch()
    with watch:
        step()
    assert len(watch.syncs) == 1 and "_local_scalar_dense" in watch.syncs[0], watch.syncs
    assert python_reads == ["item"]
@pytest.mark.parametrize("graph", [False, True], ids=["eager", "graph-held"])
def test_fused_decode_step_does_not_sync(tiny_model_dir, python_reads, graph):
    """On the CUDA + Triton path (meta standing for the GPU, Triton launches counted, not run) a decode step,
    eager or as a graph holds it, reads nothing back and copies nothing between host and device."""
    model = meta_model(tiny_model_dir)
    cache = prefilled(model, 40)
    token = torch.zeros(1, dtype=torch.long, device=META)
    position = torch.full((1,), 40, dtype=torch.long, device=META)

    def step():
        if graph:
            return decode_segments.step(model, token, position, cache, 64)
        cache.num_tokens = 40
        return model.forward(token, cache, last_only=True)

    with watching("triton"):
        step()
    with watching("triton") as count:
        step()
    assert count.syncs == [] and python_reads == []
    assert count.launches["decode_partial_kernel"] == model.config.num_hidden_layers
