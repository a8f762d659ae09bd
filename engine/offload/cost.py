"""When an expert that lives in host memory is not in a device slot: copy it in, or compute it on the CPU.

Copying moves the expert's packed bytes over the bus (13 MB for gpt-oss-20b: about 0.9 ms over PCIe 4 x8
at 14 GB/s); computing it on the CPU reads the same bytes from RAM (60-90 GB/s on DDR5) and moves only the
activations. Copying wins when the step has many tokens per expert (the CPU's work grows with the tokens,
the copy does not) and the copied expert may be hit again later; the CPU wins for a cold expert of a
decode step on a slow bus. ``cpu_count`` chooses per step from a ``CostModel`` of this machine's numbers
(measured at load: engine/offload/hybrid.py ``measure``; or assumed, for ``engine plan``).

The step's time is modelled as the slower of two sides that run at once: the device copies its share of
the misses (one after another on the copy stream) and then computes them with the hits; a worker thread
computes the CPU's share. The misses with the fewest tokens go to the CPU first. A tie goes to copying
(a copied expert stays cached for later steps; one computed on the CPU does not).

Pure arithmetic on given numbers (no torch), so tests can drive it with a slow or a fast bus.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass

MODES = ("auto", "copy", "cpu")
# A step of this many tokens or more (a prefill chunk) copies its experts in every mode: each expert then
# serves many tokens, which the device computes far faster than the CPU (llama.cpp moves batches of 32+
# tokens to the GPU for the same reason)
BATCH_COPY_TOKENS = 32
HANDOFF_S = 60e-6  # assumed: waking the worker thread, uploading its [T, H] part, adding it in


@dataclass(frozen=True)
class CostModel:
    """Seconds for one expert of this model on this machine."""

    copy_s: float  # host -> device copy of one expert's packed bytes
    cpu_s: float  # the CPU computing one expert for one token
    cpu_token_s: float  # ... and for each further token routed to the same expert
    device_s: float  # the device computing one expert for a decode step
    source: str = "measured"  # or "assumed"
    handoff_s: float = HANDOFF_S  # fixed cost of a step that computes anything on the CPU

    def cpu_seconds(self, tokens: int) -> float:
        return self.cpu_s + max(0, tokens - 1) * self.cpu_token_s

    def as_dict(self) -> dict:
        """The numbers in microseconds ("copy_us", ...), and the source."""
        return {
            (k[:-2] + "_us" if k.endswith("_s") else k): (round(v * 1e6, 1) if k.endswith("_s") else v)
            for k, v in asdict(self).items()
        }

    def describe(self) -> str:
        """One line: "copy 0.93 ms, CPU 0.31 ms (+0.05 ms a token), device 0.02 ms an expert (measured)"."""
        return (
            f"copy {_ms(self.copy_s)}, CPU {_ms(self.cpu_s)} (+{_ms(self.cpu_token_s)} a token), device "
            f"{_ms(self.device_s)} an expert ({self.source})"
        )


def assumed(
    expert_bytes: int,
    expert_flops: float,
    bus_bytes_s: float = 14e9,
    ram_bytes_s: float = 60e9,
    cpu_flops_s: float = 200e9,
    device_bytes_s: float = 1e12,
) -> CostModel:
    """Numbers from bandwidths when nothing was measured: PCIe 4 x8, DDR5 dual channel, a desktop CPU's
    float32 throughput, a mid-range GPU's memory bandwidth. ``expert_flops``: one token through one expert."""
    return CostModel(
        copy_s=expert_bytes / bus_bytes_s,
        cpu_s=expert_bytes / ram_bytes_s + expert_flops / cpu_flops_s,
        cpu_token_s=expert_flops / cpu_flops_s,
        device_s=10e-6 + expert_bytes / device_bytes_s,
        source="assumed",
    )


def step_seconds(costs: CostModel, miss_tokens: Sequence[int], hits: int, num_cpu: int) -> float:
    """Modelled time of a step whose first ``num_cpu`` misses (tokens each: ``miss_tokens``) run on the CPU."""
    copied = len(miss_tokens) - num_cpu
    device = copied * costs.copy_s + (hits + copied) * costs.device_s
    if not num_cpu:
        return device
    cpu = costs.handoff_s + sum(costs.cpu_seconds(t) for t in miss_tokens[:num_cpu])
    return max(device, cpu)


def cpu_count(mode: str, costs: CostModel | None, miss_tokens: Sequence[int], hits: int, tokens: int) -> int:
    """How many of a step's misses to compute on the CPU: the first n of ``miss_tokens`` (the tokens routed
    to each missed expert, fewest first, as the caller orders them). hits: routed experts already on the
    device; tokens: the step's tokens. "copy": none; "cpu": all of a decode-sized step's; "auto": the count
    with the least modelled time (none without costs)."""
    assert mode in MODES, mode
    if mode == "copy" or tokens >= BATCH_COPY_TOKENS or not miss_tokens:
        return 0
    if mode == "cpu":
        return len(miss_tokens)
    if costs is None:
        return 0
    best, best_s = 0, step_seconds(costs, miss_tokens, hits, 0)
    for n in range(1, len(miss_tokens) + 1):
        seconds = step_seconds(costs, miss_tokens, hits, n)
        if seconds < best_s:
            best, best_s = n, seconds
    return best


def _ms(seconds: float) -> str:
    return f"{seconds * 1e3:.2f} ms"


def expert_flops(hidden_size: int, intermediate_size: int) -> float:
    """One token through one expert: mlp1 [2I, H] and mlp2 [H, I], two flops a weight."""
    return 2.0 * 3 * hidden_size * intermediate_size


def choice(mode: str, costs: CostModel | None, experts_per_token: int) -> dict:
    """What a mode does, for ``engine plan``: the mode, the numbers, and how many of a decode step's
    experts the CPU computes when none of them is cached (cpu_of_all_missing; None: decided when measured)."""
    n = cpu_count(mode, costs, [1] * experts_per_token, 0, 1) if mode != "auto" or costs else None
    return {
        "mode": mode,
        "costs": costs.as_dict() if costs is not None else None,
        "experts_per_token": experts_per_token,
        "cpu_of_all_missing": n,
    }


def describe_choice(facts: dict) -> str:
    """``choice`` in one English line."""
    mode, k, n = facts["mode"], facts["experts_per_token"], facts["cpu_of_all_missing"]
    if mode == "copy":
        return "host experts: copy (each one a step needs that no GPU slot holds is copied in)"
    if mode == "cpu":
        return (
            "host experts: cpu (each one a decode step needs that no GPU slot holds is computed on the CPU, "
            f"none prefetched; steps of {BATCH_COPY_TOKENS}+ tokens copy)"
        )
    text = (
        "host experts: auto (per step, each one no GPU slot holds is copied in or computed on the CPU, "
        f"whichever is faster by this machine's numbers, measured at load; steps of {BATCH_COPY_TOKENS}+ "
        "tokens copy)"
    )
    if facts["costs"] is None:
        return text
    c = facts["costs"]
    return text + (
        f"; with {c['source']} numbers (copy {c['copy_us'] / 1e3:.2f} ms, CPU {c['cpu_us'] / 1e3:.2f} ms an "
        f"expert) a decode step missing all {k} of its experts computes {n} on the CPU and copies {k - n}"
    )
