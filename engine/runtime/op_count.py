"""Kernels and host syncs of one decode step, counted without a GPU (``python -m engine bench --count-ops``).

The model is built on PyTorch's ``meta`` device (shapes, no data) and one step runs under a dispatch mode
that sees every aten operation. On ``meta`` a read of a value fails and a copy between host and device
shows, exactly where a GPU would make the host wait. Triton cannot run on ``meta``: inside
``engine.kernels.launch.counting`` the model takes its CUDA + Triton path there and every launch is counted
instead of run. What is counted:

- kernels: aten operations that launch work on a GPU (views, allocations and metadata do not) plus Triton
  launches, for one step as a CUDA graph holds it (``engine.runtime.decode_segments.step``; a graph removes the
  launches from the host, not the kernels);
- syncs: operations that need values on the host or move data between host and device, in the step and
  in reading the sampled id back (``sample``: greedy argmax by default, one sync).
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
from collections import Counter
from collections.abc import Callable

import torch
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_leaves

from engine import kernels
from engine.config import ModelConfig
from engine.io.checkpoint import LAYER_TENSORS, tensor_specs
from engine.kernels.launch import counting
from engine.layers.experts import DenseCache, ExpertStore, PackedExperts
from engine.model import Transformer
from engine.offload.pool import FIELDS

META = torch.device("meta")
DTYPES = {"BF16": torch.bfloat16, "U8": torch.uint8, "F32": torch.float32}
# aten operations that launch nothing on a GPU: views, metadata, allocations without a fill
NOT_KERNELS = frozenset(
    {"view", "reshape", "slice", "select", "transpose", "permute", "unsqueeze", "squeeze", "expand",
     "alias", "chunk", "split", "split_with_sizes", "unbind", "t", "detach", "_unsafe_view", "as_strided",
     "empty", "empty_like", "empty_strided", "new_empty", "new_empty_strided", "lift_fresh", "view_as",
     "_reshape_alias", "unflatten", "flatten", "narrow", "diagonal", "view_as_real", "view_as_complex",
     "_local_scalar_dense", "is_nonzero", "sym_size", "sym_stride", "sym_numel", "sym_storage_offset"}
)  # fmt: skip
# operations whose result depends on values: a device sync when the values live on a GPU
DATA_DEPENDENT = ("_local_scalar_dense", "nonzero", "unique", "bincount", "masked_select", "item", "equal")


class OpCount(TorchDispatchMode):
    """Counts aten operations by name, Triton launches by kernel (``launch``), and host syncs."""

    def __init__(self):
        super().__init__()
        self.ops: Counter[str] = Counter()
        self.launches: Counter[str] = Counter()
        self.syncs: list[str] = []

    def launch(self, name: str) -> None:
        self.launches[name] += 1

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        name = func.__name__.split(".")[0]
        self.ops[name] += 1
        inputs = {t.device.type for t in tree_leaves((args, kwargs)) if isinstance(t, torch.Tensor)}
        if "meta" in inputs and any(word in str(func) for word in DATA_DEPENDENT):  # host values are free
            self.syncs.append(str(func))
        out = func(*args, **kwargs)
        outputs = {t.device.type for t in tree_leaves(out) if isinstance(t, torch.Tensor)}
        if "cpu" in inputs | outputs and "meta" in inputs | outputs:
            self.syncs.append(f"{func} between host and device")
        return out

    @property
    def aten_kernels(self) -> int:
        return sum(n for name, n in self.ops.items() if name not in NOT_KERNELS)

    @property
    def kernels(self) -> int:
        return self.aten_kernels + sum(self.launches.values())


@contextlib.contextmanager
def watching(path: str = "triton"):
    """An OpCount over the block, with meta standing for a CUDA GPU: with Triton (path "triton", when it
    imports) or without ("torch": what a GPU without Triton runs)."""
    count = OpCount()
    previous = os.environ.get(kernels.ENV)
    os.environ[kernels.ENV] = "torch" if path == "torch" else "auto"
    try:
        with counting(count.launch), count:
            yield count
    finally:
        if previous is None:
            os.environ.pop(kernels.ENV, None)
        else:
            os.environ[kernels.ENV] = previous


def meta_model(cfg: ModelConfig, context: int = 8192) -> Transformer:
    """A resident model of shape ``cfg`` on the meta device, built from the checkpoint's tensor table."""
    specs = tensor_specs(cfg)

    def empty(name: str) -> torch.Tensor:
        shape, dtype = specs[name]
        return torch.empty(shape, dtype=DTYPES[dtype], device=META)

    n_layers = cfg.num_hidden_layers
    globals_ = {name: empty(name) for name in ("embedding", "norm", "unembedding")}
    layers = [{k: empty(f"{n}.{k}") for k in LAYER_TENSORS if k not in FIELDS} for n in range(n_layers)]
    stores = [
        ExpertStore(n, PackedExperts(**{f: empty(f"{n}.{f}") for f in FIELDS})) for n in range(n_layers)
    ]
    return Transformer(cfg, META, globals_, layers, stores, DenseCache(0), context)


def greedy_id(logits: torch.Tensor) -> int | None:
    """The default sampler: argmax on the device and the id read back (None on meta, where reads fail)."""
    token = logits.argmax(dim=-1)
    try:
        return int(token)
    except (NotImplementedError, RuntimeError):  # meta: the read was counted, there is no value
        return None


def count_step(
    model: Transformer,
    position: int,
    sample: Callable[[torch.Tensor], object] | None = greedy_id,
    path: str = "triton",
    graph: bool = True,
) -> OpCount:
    """One decode step of a meta ``model`` at ``position`` (graph: as a CUDA graph holds it, else the eager
    ``forward``), then ``sample(logits)`` (None: no sampling), counted after one uncounted warm-up step."""
    from engine.runtime import decode_segments

    cache = model.new_cache(max(position + 2, 64))
    cache.append_tokens(torch.zeros(position, dtype=torch.long, device=META))
    cache.advance(position)
    token = torch.zeros(1, dtype=torch.long, device=META)
    where = torch.full((1,), position, dtype=torch.long, device=META)
    # what a graph holds: the segment's function (its input buffers exist before the capture)
    segments = decode_segments.Segments(model, token, where)
    assert len(segments) == 1, "a resident model's step is one segment"
    held = segments.function(0, cache, cache.max_tokens)

    def step() -> torch.Tensor:
        if graph:
            return held()
        cache.num_tokens = position  # the eager step advances the cache; count the same position twice
        return model.forward(token, cache, last_only=True)

    with watching(path):  # the warm-up builds lookup tables once, as a real first step does
        step()
    with watching(path) as count, torch.inference_mode():
        logits = step()
        if sample is not None:
            sample(logits)
    return count


def _with_layers(cfg: ModelConfig, n: int) -> ModelConfig:
    return dataclasses.replace(cfg, num_hidden_layers=n, layer_types=tuple(cfg.layer_types[:n]))


def count_ops(
    cfg: ModelConfig | None = None,
    position: int = 4096,
    path: str = "triton",
    int8: bool = False,
    sample: Callable[[torch.Tensor], object] | None = greedy_id,
) -> dict:
    """The counts ``bench --count-ops`` prints: kernels of one decode step (as a CUDA graph holds it) and of
    a layer, Triton launches among them, host syncs per token (the step and reading the sampled id back)."""
    cfg = cfg or ModelConfig()
    if path == "triton" and not kernels._triton_importable():
        path = "torch"  # the count says which path it is

    def build(c: ModelConfig) -> Transformer:
        model = meta_model(c, context=position + 64)
        if int8:
            from engine.layers.int8_linear import quantize_model

            quantize_model(model)
        return model

    step = count_step(build(cfg), position, sample, path)
    eager = count_step(build(cfg), position, None, path, graph=False)
    # a layer's kernels: the difference a layer of each kind makes (layer 1 full, layer 2 sliding in gpt-oss)
    small = [count_step(build(_with_layers(cfg, n)), position, None, path).kernels for n in (1, 2, 3)]
    kinds = {cfg.layer_types[1]: small[1] - small[0], cfg.layer_types[2]: small[2] - small[1]}
    per_layer = max(kinds.values())
    return {
        "preset_layers": cfg.num_hidden_layers,
        "path": path,  # "triton": CUDA with the Triton kernels; "torch": a GPU without them
        "int8": int8,
        "position": position,
        "kernels_per_token": step.kernels,
        "kernels_per_layer": per_layer,
        "kernels_per_layer_by_kind": kinds,
        "kernels_outside_layers": step.kernels
        - sum(kinds[t] for t in cfg.layer_types[: cfg.num_hidden_layers]),
        "triton_launches_per_token": sum(step.launches.values()),
        "aten_kernels_per_token": step.aten_kernels,
        "eager_kernels_per_token": eager.kernels,
        "host_syncs_per_token": len(step.syncs),
        "syncs": sorted(set(step.syncs)),
        "triton_kernels": dict(step.launches.most_common()),
        "most_frequent_aten_ops": dict(
            Counter({k: v for k, v in step.ops.items() if k not in NOT_KERNELS}).most_common(8)
        ),
    }


def profile_step(model: Transformer, position: int = 1000) -> dict:
    """On a CUDA model: the GPU kernels (and copies) of one eager decode step at ``position`` as the CUDA
    profiler records them, by name. What the meta count cannot see shows here (cuBLAS splitting a GEMV,
    or adding a bias in a kernel of its own)."""
    from torch.profiler import ProfilerActivity, profile

    device = model.device
    cache = model.new_cache(position + 2)
    model.forward(torch.zeros(position, dtype=torch.long, device=device), cache, last_only=True)
    token = torch.zeros(1, dtype=torch.long, device=device)
    model.forward(token, cache, last_only=True)  # warm-up: compiles, picks cuBLAS kernels
    cache.truncate(position)
    torch.cuda.synchronize(device)
    with profile(activities=[ProfilerActivity.CUDA]) as prof:
        model.forward(token, cache, last_only=True)
        torch.cuda.synchronize(device)
    names = Counter(e.name for e in prof.events() if e.device_type == torch.autograd.DeviceType.CUDA)
    total = sum(names.values())
    return {
        "profiled_kernels_per_token": total,
        "profiled_kernels_per_layer": round(total / model.config.num_hidden_layers, 2),
        "profiled_kernels": dict(names.most_common(24)),
    }
