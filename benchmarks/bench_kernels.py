"""GPU micro-benchmark of the fused kernels at gpt-oss-20b shapes: one JSON line per measurement.

    python benchmarks/bench_kernels.py            (from the repository root; about 40 s on an H100)

Needs torch (CUDA) and triton only; weights are random packed bytes made on the GPU. Each case is
checked against a float32 torch reference (``rel_err``) and timed with triton.testing.do_bench (median,
L2 flushed between runs), next to the torch fallback the model would otherwise run (dequantize to bf16,
then cuBLAS). ``gbps`` is the bytes the kernel must read (packed weights, scales, biases) over its time;
``frac_copy`` compares it with a device-to-device copy measured first. A case that fails to compile or
run prints its error and the others go on. Set BENCH_DEADLINE_S to change the 50 s budget: optional
cases (tile sweeps) are skipped when it runs short.
"""

from __future__ import annotations

import json
import os
import sys
import time
import traceback
from itertools import cycle
from pathlib import Path

import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # run as a script from anywhere

# BENCH_SMOKE=1 (with TRITON_INTERPRET=1): the same script on the CPU at toy shapes, to test the script
SMOKE = os.environ.get("BENCH_SMOKE") == "1"
DEV = "cpu" if SMOKE else "cuda"
H, I, E, K_TOP = (64, 96, 8, 4) if SMOKE else (2880, 2880, 32, 4)
START = time.monotonic()
DEADLINE = float(os.environ.get("BENCH_DEADLINE_S", "45"))
COPY_GBPS = None


def emit(**row) -> None:
    row["t_s"] = round(time.monotonic() - START, 1)
    print(json.dumps(row), flush=True)


def bench_ms(fn) -> float:
    if SMOKE:
        t = time.perf_counter()
        fn()
        return (time.perf_counter() - t) * 1e3
    from triton.testing import do_bench
    return do_bench(fn, warmup=5, rep=25, return_mode="median")


def rel_err(a: torch.Tensor, b: torch.Tensor) -> float:
    a, b = a.float(), b.float()
    if not torch.isfinite(a).all():
        return float("nan")
    return float((a - b).norm() / b.norm().clamp_min(1e-30))


def case(name: str, optional: bool = False):
    def wrap(fn):
        def run(*args, **kwargs):
            if optional and time.monotonic() - START > DEADLINE * 0.7:
                emit(case=name, skipped="time budget")
                return
            if time.monotonic() - START > DEADLINE:
                emit(case=name, skipped="time budget")
                return
            try:
                fn(*args, **kwargs)
            except Exception as e:  # report and go on with the other cases
                emit(case=name, error=f"{type(e).__name__}: {e}"[:2000],
                     where=traceback.format_exc().strip().splitlines()[-3:])
        return run
    return wrap


def random_experts(gen: torch.Generator):
    dev = DEV

    def packed(rows: int, cols: int):
        blocks = torch.randint(0, 256, (E, rows, cols // 32, 16), dtype=torch.uint8, device=dev, generator=gen)
        scales = torch.randint(117, 124, (E, rows, cols // 32), dtype=torch.uint8, device=dev, generator=gen)
        bias = (torch.randn(E, rows, device=dev, generator=gen) * 0.1).to(torch.bfloat16)
        return blocks, scales, bias

    return (*packed(2 * I, H), *packed(H, I))


def expert_bytes(ex, rows: torch.Tensor) -> int:
    """Bytes of the distinct experts in ``rows``: what any implementation must read."""
    n = len(set(rows.reshape(-1).tolist()))
    return n * sum(t[0].numel() * t.element_size() for t in ex)


def routes(T: int, gen: torch.Generator, sets: int = 8):
    """``sets`` routings of T tokens; decode sets use distinct experts (so L2 never holds the next one)."""
    out = []
    for s in range(sets):
        if T == 1:
            ids = torch.arange(4 * s, 4 * s + 4, device=DEV).view(1, 4) % E
        else:
            ids = torch.stack([torch.randperm(E, device=DEV, generator=gen)[:K_TOP] for _ in range(T)])
        w = torch.softmax(torch.randn(T, K_TOP, device=DEV, generator=gen), -1).to(torch.bfloat16)
        out.append((ids, w))
    return out


def fallback_moe(x, ids, w, ex, limit=7.0, alpha=1.702):
    """The model's torch path: bf16 dequantize per expert, cuBLAS matmuls (engine/layers/moe.py's strategies)."""
    from engine.kernels.torch_ref import dequantize_mxfp4, swiglu
    b1, s1, c1, b2, s2, c2 = ex
    T, k = ids.shape
    if T * k <= 16:  # "gathered": every route's expert dequantized and run batched
        sel = ids.reshape(-1)
        w1 = dequantize_mxfp4(b1[sel], s1[sel])
        h = torch.bmm(w1, x.repeat_interleave(k, 0)[:, :, None]).squeeze(-1) + c1[sel]
        w2 = dequantize_mxfp4(b2[sel], s2[sel])
        y = torch.bmm(w2, swiglu(h, limit, alpha)[:, :, None]).squeeze(-1) + c2[sel]
        return (y.float().view(T, k, -1) * w[:, :, None].float()).sum(1).to(x.dtype)
    flat = ids.reshape(-1)
    order = torch.argsort(flat, stable=True)
    counts = torch.bincount(flat, minlength=E).tolist()
    out = torch.zeros(T, H, dtype=torch.float32, device=x.device)
    pos = 0
    for e, n in enumerate(counts):
        if n:
            sel = order[pos:pos + n]
            tok = sel // k
            h = F.linear(x[tok], dequantize_mxfp4(b1[e], s1[e])) + c1[e]
            y = F.linear(swiglu(h, limit, alpha), dequantize_mxfp4(b2[e], s2[e])) + c2[e]
            out.index_add_(0, tok, y.float() * w.reshape(-1)[sel, None].float())
            pos += n
    return out.to(x.dtype)


@case("copy_bandwidth")
def copy_bandwidth():
    global COPY_GBPS
    src = torch.empty(1 << (20 if SMOKE else 30), dtype=torch.uint8, device=DEV)
    dst = torch.empty_like(src)
    ms = bench_ms(lambda: dst.copy_(src))
    COPY_GBPS = 2 * src.numel() / ms / 1e6
    emit(case="copy_bandwidth", bytes=2 * src.numel(), ms=round(ms, 4), gbps=round(COPY_GBPS, 1))


def _frac(gbps: float):
    return round(gbps / COPY_GBPS, 3) if COPY_GBPS else None


@case("moe_decode")
def moe_decode(ex, gen):
    from engine.kernels import moe_mxfp4 as M
    from engine.kernels.torch_ref import moe_experts_torch
    sets = routes(1, gen)
    xs = [torch.randn(1, H, device=DEV, generator=gen).to(torch.bfloat16) for _ in sets]
    ids, w = sets[0]
    ref = moe_experts_torch(xs[0], ids, w, *ex)
    got = M.moe_experts(xs[0], ids, w, *ex)
    err = rel_err(got, ref)
    it = cycle(range(len(sets)))

    def fused():
        i = next(it)
        M.moe_experts(xs[i], sets[i][0], sets[i][1], *ex)

    def torch_path():
        i = next(it)
        fallback_moe(xs[i], sets[i][0], sets[i][1], ex)

    nbytes = expert_bytes(ex, ids)
    ms, ms_fb = bench_ms(fused), bench_ms(torch_path)
    emit(case="moe_decode", T=1, k=K_TOP, kernel="triton mlp1+mlp2", ms=round(ms, 4), bytes=nbytes,
         gbps=round(nbytes / ms / 1e6, 1), frac_copy=_frac(nbytes / ms / 1e6), fallback_ms=round(ms_fb, 4),
         speedup=round(ms_fb / ms, 2), rel_err=err)
    # each kernel alone
    h = M.moe_mlp1(xs[0], ids, *ex[:3])
    for name, fn, rows in (("mlp1", lambda i: M.moe_mlp1(xs[i], sets[i][0], *ex[:3]), slice(0, 3)),
                           ("mlp2", lambda i: M.moe_mlp2(h, sets[i][0], sets[i][1], *ex[3:]), slice(3, 6))):
        nb = expert_bytes(ex[rows], ids)
        ms = bench_ms(lambda: fn(next(it)))
        emit(case=f"moe_decode_{name}", T=1, ms=round(ms, 4), bytes=nb, gbps=round(nb / ms / 1e6, 1),
             frac_copy=_frac(nb / ms / 1e6))


@case("moe_decode_graph")
def moe_decode_graph(ex, gen, layers: int = 8):
    """``layers`` MoE layers (distinct experts each) captured in one CUDA graph: launch gaps included."""
    from engine.kernels import moe_mxfp4 as M
    sets = routes(1, gen, sets=layers)
    x = torch.randn(1, H, device=DEV, generator=gen).to(torch.bfloat16)

    def step():
        y = x
        for ids, w in sets:
            y = M.moe_experts(y, ids, w, *ex)
        return y

    if SMOKE:
        emit(case="moe_decode_graph", skipped="no CUDA graphs on the CPU", out_ok=bool(step().isfinite().all()))
        return
    step()
    torch.cuda.synchronize()
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(graph):
        step()
    ms = bench_ms(graph.replay)
    nbytes = sum(expert_bytes(ex, ids) for ids, _ in sets)
    emit(case="moe_decode_graph", layers=layers, ms=round(ms, 4), ms_per_layer=round(ms / layers, 4),
         gbps=round(nbytes / ms / 1e6, 1), frac_copy=_frac(nbytes / ms / 1e6),
         moe_ms_per_token_24_layers=round(24 * ms / layers, 3))


@case("moe_decode_tiles", optional=True)
def moe_decode_tiles(ex, gen):
    """A few other decode tiles and the plain-Triton fp16 unpacking, to tune the defaults."""
    from engine.kernels import moe_mxfp4 as M
    sets = routes(1, gen)
    x = torch.randn(1, H, device=DEV, generator=gen).to(torch.bfloat16)
    h = M.moe_mlp1(x, sets[0][0], *ex[:3])
    it = cycle(range(len(sets)))
    variants = [("mlp1", M.GemvConfig(32, 16, 4)), ("mlp1", M.GemvConfig(8, 32, 2)),
                ("mlp2", M.GemvConfig(4, 64, 2)), ("mlp2", M.GemvConfig(16, 32, 4)), ("mlp1", "noasm"),
                ("mlp2", "noasm")]
    for which, cfg in variants:
        if time.monotonic() - START > DEADLINE * 0.8:
            emit(case="moe_decode_tiles", skipped="time budget")
            return
        try:
            if cfg == "noasm":
                os.environ["GOSSAMER_MXFP4_ASM"] = "0"
            c = None if cfg == "noasm" else cfg
            if which == "mlp1":
                fn = lambda i: M.moe_mlp1(x, sets[i][0], *ex[:3], config=c)  # noqa: E731
                ref, got = M.moe_mlp1(x, sets[0][0], *ex[:3]), M.moe_mlp1(x, sets[0][0], *ex[:3], config=c)
            else:
                fn = lambda i: M.moe_mlp2(h, sets[i][0], sets[i][1], *ex[3:], config=c)  # noqa: E731
                ref = M.moe_mlp2(h, sets[0][0], sets[0][1], *ex[3:])
                got = M.moe_mlp2(h, sets[0][0], sets[0][1], *ex[3:], config=c)
            nb = expert_bytes(ex[:3] if which == "mlp1" else ex[3:], sets[0][0])
            ms = bench_ms(lambda: fn(next(it)))
            emit(case=f"moe_decode_{which}_variant", config=str(cfg), ms=round(ms, 4),
                 gbps=round(nb / ms / 1e6, 1), frac_copy=_frac(nb / ms / 1e6), diff_vs_default=rel_err(got, ref))
        except Exception as e:
            emit(case=f"moe_decode_{which}_variant", config=str(cfg), error=f"{type(e).__name__}: {e}"[:1000])
        finally:
            os.environ.pop("GOSSAMER_MXFP4_ASM", None)


@case("moe_prefill")
def moe_prefill(ex, gen, T: int, configs=(None,), fallback=True):
    from engine.kernels import moe_mxfp4 as M
    from engine.kernels.torch_ref import moe_experts_torch
    (ids, w), = routes(T, gen, sets=1)
    x = torch.randn(T, H, device=DEV, generator=gen).to(torch.bfloat16)
    ref = moe_experts_torch(x, ids, w, *ex)
    flops = 2 * T * K_TOP * (H * 2 * I + I * H)
    ms_fb = bench_ms(lambda: fallback_moe(x, ids, w, ex)) if fallback else float("nan")
    for cfg in configs:
        if cfg is not None and time.monotonic() - START > DEADLINE * 0.8:
            emit(case="moe_prefill", T=T, config=str(cfg), skipped="time budget")
            continue
        try:
            if cfg is None:
                run = lambda: M.moe_experts(x, ids, w, *ex)  # noqa: E731
            else:
                sched = M.plan(ids, E, config=cfg)
                run = lambda: M.moe_mlp2(M.moe_mlp1(x, ids, *ex[:3], schedule=sched, config=cfg),  # noqa: E731
                                         ids, w, *ex[3:], schedule=sched, config=cfg)
            err = rel_err(run(), ref)
            ms = bench_ms(run)
            emit(case="moe_prefill", T=T, config=str(cfg or M.grouped_config(T * K_TOP, E)), ms=round(ms, 3),
                 tflops=round(flops / ms / 1e9, 1), fallback_ms=round(ms_fb, 3), speedup=round(ms_fb / ms, 2),
                 rel_err=err)
        except Exception as e:
            emit(case="moe_prefill", T=T, config=str(cfg), error=f"{type(e).__name__}: {e}"[:1000])


@case("int8_gemv")
def int8_gemv_case(gen, N: int, K: int):
    from engine.kernels.int8_gemv import int8_gemv
    from engine.quant.int8 import dequantize_linear, quantize_linear
    w = (torch.randn(N, K, device=DEV, generator=gen) * 0.02).to(torch.bfloat16)
    bias = torch.randn(N, device=DEV, generator=gen).to(torch.bfloat16)
    q, s = quantize_linear(w)
    del w
    xs = [torch.randn(1, K, device=DEV, generator=gen).to(torch.bfloat16) for _ in range(4)]
    exact = F.linear(xs[0].float(), dequantize_linear(q, s, torch.float32), bias.float())
    err = rel_err(int8_gemv(xs[0], q, s, bias), exact)
    del exact
    w_deq = dequantize_linear(q, s)  # bf16: what the unquantized model multiplies, for the timing
    it = cycle(range(len(xs)))
    ms = bench_ms(lambda: int8_gemv(xs[next(it)], q, s, bias))
    ms_bf16 = bench_ms(lambda: F.linear(xs[next(it)], w_deq, bias))
    nb, nb16 = N * K + 4 * N, 2 * N * K + 2 * N
    emit(case="int8_gemv", N=N, K=K, ms=round(ms, 4), gbps=round(nb / ms / 1e6, 1), frac_copy=_frac(nb / ms / 1e6),
         bf16_ms=round(ms_bf16, 4), bf16_gbps=round(nb16 / ms_bf16 / 1e6, 1), speedup=round(ms_bf16 / ms, 2),
         rel_err=err)


def main() -> int:
    import triton
    if not (SMOKE or torch.cuda.is_available()):
        emit(case="setup", error="no CUDA device")
        return 1
    if not SMOKE:
        props = torch.cuda.get_device_properties(0)
        emit(case="setup", device=props.name, capability=list(torch.cuda.get_device_capability(0)),
             sms=props.multi_processor_count, torch=torch.__version__, triton=triton.__version__)
    gen = torch.Generator(device=DEV).manual_seed(0)
    big_t, vocab = (40, 1000) if SMOKE else (4096, 201088)
    copy_bandwidth()
    ex = random_experts(gen)
    moe_decode(ex, gen)
    int8_gemv_case(gen, 4096 // (64 if SMOKE else 1), H)
    int8_gemv_case(gen, H, 4096 // (64 if SMOKE else 1))
    int8_gemv_case(gen, vocab, H)
    moe_prefill(ex, gen, 512 // (64 if SMOKE else 1))
    moe_prefill(ex, gen, big_t)
    moe_decode_graph(ex, gen)
    moe_decode_tiles(ex, gen)
    from engine.kernels.moe_mxfp4 import GemmConfig
    moe_prefill(ex, gen, big_t, configs=(GemmConfig(128, 128, 1, 8, 3), GemmConfig(64, 128, 2, 4, 3)),
                fallback=False)
    emit(case="done", total_s=round(time.monotonic() - START, 1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
