"""Hybrid placement: each step, the routed experts of an offloaded layer that are not in a device slot are
either copied in (engine/offload/pool.py) or computed on the CPU from their host copy, as the cost model of
engine/offload/cost.py chooses from this machine's numbers (measured once per model, ``measure``).

``HostExperts`` is the model's setting and state: the mode ("auto": the cost model, the default; "copy":
every miss copied; "cpu": every miss of a decode-sized step on the CPU and nothing prefetched for it, as
llama.cpp's --n-cpu-moe; what prefill left in the slots is still computed there), the
measured ``CostModel``, and one worker thread. ``OffloadMoE.experts`` (engine/offload/moe.py) asks it for a
``HostStep`` before fetching: the step copies the layer's input and routing weights to the host without
waiting (the pool's read of the routes, the one synchronization an offloaded layer has anyway, waits for
them), chooses when the pool knows which experts are missing, and starts the CPU's share on the worker at
once, before the pool copies the rest. The device then computes the hits and the copied experts while the
CPU computes its own; the CPU's expert outputs ([routes, H], each route as a token of weight 1) come back
in one upload into their rows of the layer's expert outputs, which the device sums with the routing weights
in expert order: the same sum as for resident experts (only the CPU kernels' own matmul order differs).
numba's functions release the GIL, so the worker and the thread feeding the device run side by side.

Without the numba kernels (not installed, or GOSSAMER_KERNELS=torch) every mode copies. A failure of the
CPU kernels while generating computes that step's CPU share with the torch path instead, logs why once,
and copies from then on.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections import Counter
from concurrent.futures import Future, ThreadPoolExecutor
from statistics import median

import torch

from engine import kernels
from engine.errors import EngineError
from engine.layers.experts import PackedExperts
from engine.layers.moe import expert_mlp
from engine.offload.cost import BATCH_COPY_TOKENS, MODES, CostModel, cpu_count

ENV = "GOSSAMER_HOST_EXPERTS"
log = logging.getLogger(__name__)


def resolve_mode(setting: str | None = None) -> str:
    """The mode for a load: ``setting`` when given (an EngineError if it is not one of MODES), else
    GOSSAMER_HOST_EXPERTS (a wrong value is logged and ignored), else "auto"."""
    if setting is not None and str(setting).strip():
        mode = str(setting).strip().lower()
        if mode not in MODES:
            raise EngineError(
                f"Host experts: {setting!r} is not a choice; use auto (the default: copy or compute on the "
                "CPU, whichever is faster), copy or cpu."
            )
        return mode
    env = os.environ.get(ENV, "").strip().lower()
    if env and env not in MODES:
        log.warning("%s=%s is not one of %s; using auto", ENV, env, ", ".join(MODES))
        return "auto"
    return env or "auto"


class HostExperts:
    """How a model computes the experts a step needs from host memory (see the module docstring)."""

    def __init__(self, mode: str = "auto"):
        assert mode in MODES, mode
        self.mode = mode
        self.costs: CostModel | None = None
        self.failed: str | None = None  # why the CPU kernels stopped being used in this model
        self.measuring: threading.Thread | None = None
        self._worker: ThreadPoolExecutor | None = None

    def unavailable(self) -> str | None:
        """Why nothing is computed on the CPU whatever the mode, or None."""
        if self.failed:
            return f"the CPU kernels failed ({self.failed})"
        if not kernels.cpu_available():
            if kernels.mode() == "torch":
                return f"{kernels.ENV}=torch turns the CPU kernels off"
            return "the CPU kernels need numba, which is not installed"
        return None

    def effective(self) -> str:
        """The mode steps follow now: "copy" whenever the CPU cannot compute, or auto has no numbers yet."""
        if self.mode == "copy" or self.unavailable():
            return "copy"
        if self.mode == "auto" and self.costs is None:
            return "copy"
        return self.mode

    def facts(self) -> dict:
        """mode (asked), effective, why_copy (None, or why every miss is copied), costs (µs, or None)."""
        why = self.unavailable()
        if why is None and self.mode == "auto" and self.costs is None:
            why = "still measuring" if self.measuring is not None else "not measured (the device is the CPU)"
        return {
            "mode": self.mode,
            "effective": self.effective(),
            "why_copy": why if self.mode != "copy" else None,
            "costs": self.costs.as_dict() if self.costs is not None else None,
        }

    def describe(self) -> str:
        """One line for the CLI: "host experts: auto (copy 0.93 ms, CPU 0.31 ms ...)"."""
        facts = self.facts()
        text = f"host experts: {self.mode}"
        if facts["why_copy"]:
            return text + f", copied: {facts['why_copy']}"
        return text + (f" ({self.costs.describe()})" if self.costs is not None else "")

    def prefetches(self, tokens: int) -> bool:
        """Whether a step of ``tokens`` copies predicted experts ahead: not in cpu mode's decode-sized steps,
        which move no expert over the bus (llama.cpp's --n-cpu-moe, the baseline that mode is)."""
        return tokens >= BATCH_COPY_TOKENS or self.effective() != "cpu"

    def step(self, layer: int, host: PackedExperts, x: torch.Tensor, limit: float, alpha: float):
        """A ``HostStep`` for one offloaded layer's step (x: [T, H], its normed input), or None when the step
        copies whatever is missing."""
        mode = self.effective()
        if mode == "copy" or x.shape[0] >= BATCH_COPY_TOKENS:
            return None
        return HostStep(self, mode, layer, host, x, limit, alpha)

    def submit(self, fn, *args) -> Future:
        if self._worker is None:
            self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="gossamer-host-experts")
        return self._worker.submit(fn, *args)

    def prepare(self, pool, limit: float, alpha: float) -> None:
        """After a placement: measure this machine's numbers once (on CUDA; the copies and the device now, the
        CPU on a thread of its own, since numba may first have to compile for the pinned rows' layout). Auto
        needs them; cpu gets its kernels compiled before the first step and the numbers for bench."""
        if (
            pool is None
            or self.mode == "copy"
            or self.costs is not None
            or self.measuring is not None
            or pool.device.type != "cuda"
            or self.unavailable()
        ):
            return
        try:
            device_side = measure_device(pool, limit, alpha)
        except Exception as error:  # noqa: BLE001  (a measurement must not fail a load: auto then copies)
            log.warning("host experts: measuring the copies failed, experts are copied: %s", error)
            return
        if device_side is None:
            return

        def run() -> None:
            try:
                cpu_s, cpu_token_s = measure_cpu(pool, limit, alpha)
                self.costs = CostModel(
                    copy_s=device_side[0], device_s=device_side[1], cpu_s=cpu_s, cpu_token_s=cpu_token_s
                )
                log.info("host experts: %s", self.costs.describe())
            except Exception as error:  # noqa: BLE001  (numba's errors are many; auto then copies, as before)
                self.failed = f"{type(error).__name__}: {error}"
                log.warning("host experts: measuring the CPU kernels failed, experts are copied: %s", error)
            finally:
                self.measuring = None

        self.measuring = threading.Thread(target=run, name="gossamer-host-experts-measure", daemon=True)
        self.measuring.start()

    def wait_measured(self, timeout: float | None = None) -> None:
        thread = self.measuring
        if thread is not None:
            thread.join(timeout)


class HostStep:
    """One offloaded layer's step with a CPU share (see the module docstring)."""

    def __init__(self, owner: HostExperts, mode: str, layer: int, host: PackedExperts, x, limit, alpha):
        self.owner, self.mode, self.layer, self.host = owner, mode, layer, host
        self.limit, self.alpha = limit, alpha
        self.x = _to_host(x)  # no wait: the pool's read of the routes waits for it
        self.ids: list[list[int]] | None = None
        self.taken: set[int] = set()
        self.routes: list[int] = []  # t * k + j of the routes the CPU computes, increasing
        self.job: Future | None = None

    def elsewhere(self, ids_cpu: torch.Tensor, present: list[int], missing: list[int]) -> list[int]:
        """The pool's callback: which missing experts the CPU computes; starts them on the worker."""
        ids = ids_cpu.tolist()
        counts = Counter(e for row in ids for e in row)
        misses = sorted(missing, key=lambda e: counts[e])  # the fewest tokens first (stable: by id)
        n = cpu_count(self.mode, self.owner.costs, [counts[e] for e in misses], len(present), len(ids))
        if not n:
            return []
        self.ids, self.taken = ids, set(misses[:n])
        k = len(ids[0])
        self.routes = [t * k + j for t, row in enumerate(ids) for j, e in enumerate(row) if e in self.taken]
        self.job = self.owner.submit(self._compute)
        return misses[:n]

    def device_routes(self, device: torch.device) -> torch.Tensor:
        """The routes (t * k + j) the device serves, increasing, on ``device``."""
        taken = set(self.routes)
        served = [r for r in range(len(self.ids) * len(self.ids[0])) if r not in taken]
        return torch.tensor(served, dtype=torch.long).to(device, non_blocking=True)

    def device_mask(self, device: torch.device) -> torch.Tensor:
        """[T, k] bool on ``device``: the routes the device serves."""
        mask = [[e not in self.taken for e in row] for row in self.ids]
        return torch.tensor(mask, dtype=torch.bool).to(device, non_blocking=True)

    def fill(self, terms: torch.Tensor) -> None:
        """Put the CPU's expert outputs into their rows of ``terms`` [T*k, H] (one upload)."""
        part = self.job.result().to(terms.device, non_blocking=True)
        index = torch.tensor(self.routes).to(terms.device, non_blocking=True)
        terms.index_copy_(0, index, part)

    def _compute(self) -> torch.Tensor:
        # each CPU route as a token of its own with weight 1: its expert's output as it is (bf16 * 1 is
        # exact), so the device adds every route's output with its weight in the resident model's order
        k = len(self.ids[0])
        tokens = torch.tensor([r // k for r in self.routes])
        x = self.x.index_select(0, tokens)
        rows = torch.tensor([[self.ids[r // k][r % k]] for r in self.routes], dtype=torch.long)
        ones = torch.ones(len(self.routes), 1, dtype=x.dtype)
        try:
            return expert_mlp(x, rows, ones, self.host, self.limit, self.alpha, strategy="cpu")
        except Exception as error:  # noqa: BLE001  (numba's errors are many) the torch path computes it instead
            if not self.owner.failed:
                self.owner.failed = f"{type(error).__name__}: {error}"
                log.warning("host experts: the CPU kernels failed, experts are copied from now on: %s", error)
            return expert_mlp(x, rows, ones, self.host, self.limit, self.alpha, strategy="grouped")


def _to_host(t: torch.Tensor) -> torch.Tensor:
    if t.device.type == "cpu":
        return t
    buffer = torch.empty(t.shape, dtype=t.dtype, pin_memory=True)
    buffer.copy_(t, non_blocking=True)
    return buffer


REPEATS = 3


def _timed(fn, sync) -> float:
    """The median of REPEATS timings of ``fn`` (run once untimed first)."""
    fn()
    sync()
    times = []
    for _ in range(REPEATS):
        started = time.perf_counter()
        fn()
        sync()
        times.append(time.perf_counter() - started)
    return median(times)


def measure_device(pool, limit: float, alpha: float) -> tuple[float, float] | None:
    """(seconds to copy one expert into a slot, seconds for the device to compute it for one token), on a
    slot no expert uses yet; None when every slot is in use."""
    free = [r for r in pool.free_rows if r >= pool.num_permanent]
    if not free:
        return None
    row, layer = free[-1], pool.first_layer
    device = pool.device

    def sync() -> None:
        if device.type == "cuda":
            torch.cuda.synchronize(device)

    copy_s = _timed(lambda: pool._copy_one(row, layer, 0, non_blocking=device.type == "cuda"), sync)
    x = torch.randn(1, pool.arena.mlp2_bias.shape[1], generator=torch.Generator().manual_seed(0))
    x = x.to(device, pool.arena.mlp2_bias.dtype)
    rows = torch.tensor([[row]], device=device)
    ones = torch.ones(1, 1, dtype=x.dtype, device=device)
    device_s = _timed(lambda: expert_mlp(x, rows, ones, pool.arena, limit, alpha), sync)
    return copy_s, device_s


def measure_cpu(pool, limit: float, alpha: float, tokens: int = 4) -> tuple[float, float]:
    """(seconds for the CPU kernels to compute one host expert for one token, seconds per further token)."""
    from engine.kernels import cpu_mxfp4

    cpu_mxfp4.warm_up()
    host = pool.host[pool.first_layer]
    x = torch.randn(tokens, host.mlp2_bias.shape[1], generator=torch.Generator().manual_seed(0))
    x = x.to(host.mlp2_bias.dtype)
    rows, ones = torch.zeros(tokens, 1, dtype=torch.long), torch.ones(tokens, 1, dtype=torch.float32)

    def run(n: int):
        return lambda: cpu_mxfp4.expert_mlp_cpu(x[:n], rows[:n], ones[:n], host, limit, alpha)

    one = _timed(run(1), lambda: None)
    more = _timed(run(tokens), lambda: None)
    return one, max(0.0, (more - one) / (tokens - 1))
