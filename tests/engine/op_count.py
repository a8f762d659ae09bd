"""Operations one decode step dispatches, counted without a GPU: ``python -m tests.engine.op_count [--int8]``.

The full gpt-oss-20b shape on PyTorch's ``meta`` device (shapes, no data), one resident decode step at
position 1000, every aten operation counted by a TorchDispatchMode (see docs/benchmarks.md, "Decode").
"""

from __future__ import annotations

import argparse
from collections import Counter

import torch
from torch.utils._python_dispatch import TorchDispatchMode

from engine.config import ModelConfig
from engine.io.checkpoint import LAYER_TENSORS, tensor_specs
from engine.layers.experts import DenseCache, ExpertStore, PackedExperts
from engine.layers.int8_linear import quantize_model
from engine.model import Transformer
from engine.offload.pool import FIELDS

DTYPES = {"BF16": torch.bfloat16, "U8": torch.uint8, "F32": torch.float32}
VIEWS = {"view", "reshape", "slice", "select", "transpose", "permute", "unsqueeze", "squeeze", "expand",
         "alias", "chunk", "split", "t", "detach", "_unsafe_view", "as_strided"}  # fmt: skip


class Count(TorchDispatchMode):
    def __init__(self):
        super().__init__()
        self.ops: Counter[str] = Counter()

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        self.ops[func.__name__.split(".")[0]] += 1
        return func(*args, **(kwargs or {}))


def meta_model(cfg: ModelConfig, context: int = 4096) -> Transformer:
    specs = tensor_specs(cfg)

    def empty(name: str) -> torch.Tensor:
        shape, dtype = specs[name]
        return torch.empty(shape, dtype=DTYPES[dtype], device="meta")

    n_layers = cfg.num_hidden_layers
    globals_ = {name: empty(name) for name in ("embedding", "norm", "unembedding")}
    layers = [{k: empty(f"{n}.{k}") for k in LAYER_TENSORS if k not in FIELDS} for n in range(n_layers)]
    stores = [
        ExpertStore(n, PackedExperts(**{f: empty(f"{n}.{f}") for f in FIELDS})) for n in range(n_layers)
    ]
    return Transformer(cfg, torch.device("meta"), globals_, layers, stores, DenseCache(0), context)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--int8", action="store_true", help="8-bit attention and unembedding (torch path)")
    args = parser.parse_args()
    model = meta_model(ModelConfig())
    if args.int8:
        quantize_model(model)
    cache = model.new_cache()
    cache.append_tokens(torch.zeros(1000, dtype=torch.long, device="meta"))
    cache.advance(1000)
    token = torch.zeros(1, dtype=torch.long, device="meta")
    model.forward(token, cache, last_only=True)  # lookup tables built on first use
    count = Count()
    with count:
        model.forward(token, cache, last_only=True)
    total = sum(count.ops.values())
    views = sum(v for k, v in count.ops.items() if k in VIEWS)
    print(f"dispatched ops per decode step: {total}, of them views/metadata {views}")
    print("most frequent:", count.ops.most_common(10))


if __name__ == "__main__":
    main()
