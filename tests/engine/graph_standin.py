"""Stand-ins for ``engine.runtime.decode_graph.cuda_capture`` that run on the CPU.

``eager_capture``: the "graph" calls the function again (bookkeeping only).

``recorded_capture`` behaves like a CUDA graph where it matters for correctness: it records every aten
operation of one call (a TorchDispatchMode) and a replay re-runs those operations on the very tensors they
ran on, refreshing each recorded output in place. So whatever the function decided in Python at capture
time (a position read into an int, a shape, a list of experts) is baked in exactly as a real graph bakes it
in, and a replay at another position gives wrong numbers if the step depends on such a value. Reading a
tensor's values into Python while recording (item, tolist, bool, ...; a device sync on a GPU, forbidden
while capturing) raises.
"""

from __future__ import annotations

import torch
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_leaves

READS = ("item", "tolist", "__bool__", "__int__", "__float__", "__index__", "numpy", "cpu")
SYNC_OPS = ("_local_scalar_dense", "nonzero", "unique", "bincount", "masked_select", "equal")


class HostReadInGraph(RuntimeError):
    """What CUDA raises when a captured stream would need the host to wait for the device."""


def eager_capture(fn, device, pool):
    """The "graph" reruns the step and writes its output in place."""
    out = fn()
    return (lambda: out.copy_(fn()) if out is not None else fn()), out, pool


class _Recorder(TorchDispatchMode):
    def __init__(self):
        super().__init__()
        self.calls: list = []

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        if any(name in str(func) for name in SYNC_OPS):
            raise HostReadInGraph(f"{func} needs values on the host while capturing")
        out = func(*args, **kwargs)
        self.calls.append((func, args, kwargs, out))
        return out


class _NoHostReads:
    """Tensor methods that read values into Python raise while a function is being recorded."""

    def __enter__(self):
        self.saved = {name: getattr(torch.Tensor, name) for name in READS}
        for name in READS:

            def refuse(self, *args, _name=name, **kwargs):
                raise HostReadInGraph(f"Tensor.{_name}() while capturing")

            setattr(torch.Tensor, name, refuse)

    def __exit__(self, *exc):
        for name, method in self.saved.items():
            setattr(torch.Tensor, name, method)


def recorded_capture(fn, device, pool, warmups: int = 2):
    """Warm up like cuda_capture, then record one call; -> (replay, output, pool)."""
    for _ in range(warmups):
        fn()
    recorder = _Recorder()
    with torch.inference_mode(), _NoHostReads(), recorder:
        out = fn()

    def replay() -> None:
        with torch.inference_mode():
            for func, args, kwargs, old in recorder.calls:
                new = func(*args, **kwargs)
                for before, now in zip(tree_leaves(old), tree_leaves(new)):
                    if not isinstance(before, torch.Tensor) or before is now:
                        continue
                    if before.data_ptr() != now.data_ptr() or before.stride() != now.stride():
                        before.copy_(now)  # a fresh result: into the tensor later operations read

    return replay, out, pool


class Counting:
    """Wraps a capture to remember at which cache position each capture happened."""

    def __init__(self, capture, graphs):
        self.capture, self.graphs, self.positions = capture, graphs, []

    def __call__(self, fn, device, pool):
        self.positions.append(int(self.graphs.position[0]))
        return self.capture(fn, device, pool)
