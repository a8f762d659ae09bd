"""Peak resident memory of loading and using a model, measured in a fresh process.

``python -m tests.engine.rss_probe MODEL_DIR [--tokens N] [--device cpu]`` prints one JSON object:
the weights' bytes and the process's peak RSS (VmHWM) before loading, after loading, and after a
forward pass plus a read of every page of every weight, with the dequantized-expert cache off (so the
figure is the weights' own footprint). docs/benchmarks.md quotes it for a 2 GB checkpoint.
"""

from __future__ import annotations

import argparse
import json
import resource


def peak() -> int:
    """This process's peak RSS. Linux's VmHWM belongs to the process image; ru_maxrss would also carry
    over the peak of the parent that forked it (the test runner)."""
    try:
        with open("/proc/self/status") as f:
            return next(int(line.split()[1]) * 1024 for line in f if line.startswith("VmHWM:"))
    except (OSError, StopIteration):
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("model")
    parser.add_argument("--tokens", type=int, default=32)
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()

    import torch

    from engine.runtime.loader import load_model

    torch.ones(1024, 1024).sum()  # torch's own start-up allocations belong to the baseline
    from engine import kernels

    if kernels.cpu_available():  # and so does numba's: its import and machine code, not the weights'
        from engine.kernels import cpu_mxfp4

        cpu_mxfp4.warm_up()
    before = peak()
    model = load_model(args.model, device=args.device, dense_cache_bytes=0)
    after_load = peak()
    with torch.inference_mode():
        model.forward(torch.arange(args.tokens) % 199998, model.new_cache(args.tokens), last_only=True)
        for tensor in list(model.buffers()) + [
            t for s in model.stores for t in vars(s.packed).values() if isinstance(t, torch.Tensor)
        ]:
            flat = tensor.reshape(-1)
            flat[:: max(1, 4096 // tensor.element_size())].float().sum()  # one read per page
    weights = model.weight_bytes()["total"]
    after_use = peak()
    print(
        json.dumps(
            {
                "weights_bytes": weights,
                "peak_rss_before": before,
                "peak_rss_after_load": after_load,
                "peak_rss_after_use": after_use,
                "load_ratio": (after_load - before) / weights,
                "use_ratio": (after_use - before) / weights,
            }
        )
    )


if __name__ == "__main__":
    main()
