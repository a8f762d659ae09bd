"""The gpt-oss inference engine: weights, model, tokenizer, harmony format, sessions, model manager.

Never imports Qt: the desktop app in ``app/`` depends on this package, not the other way round.
"""

import os as _os
import sys as _sys

# CUDA's caching allocator in growable segments: reserved memory stays close to allocated memory, which a
# VRAM plan counts (fixed segments fragmented 12 GiB plans past their cap on an H200: benchmarks/gpu_bench.py).
# torch reads this at its first CUDA allocation, so it is set here, before any engine module imports torch
# (this file imports nothing heavy). A setting of the user's wins (PYTORCH_ALLOC_CONF is the newer name, which
# torch reads first). Linux only: elsewhere torch has no expandable segments and would warn.
if (
    _sys.platform.startswith("linux")
    and "PYTORCH_ALLOC_CONF" not in _os.environ
    and "PYTORCH_CUDA_ALLOC_CONF" not in _os.environ
):
    _os.environ["PYTORCH_CUDA_ALLOC_CONF"] = "expandable_segments:True"
