"""The CPU's MXFP4 expert kernels (numba) give the torch path's numbers, on odd shapes, at 1 and n threads."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from engine.layers.experts import PackedExperts
from engine.layers.moe import by_expert, expert_mlp

numba = pytest.importorskip("numba")

from engine.kernels import cpu_mxfp4_jit, cpu_mxfp4_simd
from engine.kernels.cpu_mxfp4 import expert_mlp_cpu

KERNELS = ["portable", "simd"]  # cpu_mxfp4_jit.moe_float (any CPU), moe_simd (x86 with AVX2)


@pytest.fixture(params=KERNELS)
def kernel(request, monkeypatch):
    """Each test of the kernels' numbers runs on both: the one this CPU would pick, and the other where it runs."""
    if request.param == "simd":
        if not cpu_mxfp4_simd.available():
            pytest.skip("the vector kernels need an x86-64 CPU with AVX2")
        monkeypatch.setattr(cpu_mxfp4_jit, "moe", cpu_mxfp4_jit.moe_simd)
    else:
        monkeypatch.setattr(cpu_mxfp4_jit, "moe", cpu_mxfp4_jit.moe_float)
    return request.param


def packed_experts(num_experts: int, hidden: int, inter: int, seed: int = 0) -> PackedExperts:
    """Random packed experts with scales near 1 (bytes 118-129), like a real checkpoint's range."""
    g = torch.Generator().manual_seed(seed)

    def codes(*shape):
        return torch.randint(0, 256, shape, dtype=torch.uint8, generator=g)

    def scales(*shape):
        return torch.randint(118, 130, shape, dtype=torch.uint8, generator=g)

    return PackedExperts(
        codes(num_experts, 2 * inter, hidden // 32, 16),
        scales(num_experts, 2 * inter, hidden // 32),
        torch.randn(num_experts, 2 * inter, generator=g).bfloat16(),
        codes(num_experts, hidden, inter // 32, 16),
        scales(num_experts, hidden, inter // 32),
        torch.randn(num_experts, hidden, generator=g).bfloat16(),
    )


def routes(tokens: int, experts: int, k: int, seed: int = 1):
    g = torch.Generator().manual_seed(seed)
    ids = torch.stack([torch.randperm(experts, generator=g)[:k] for _ in range(tokens)])
    weights = torch.softmax(torch.randn(tokens, k, generator=g), dim=-1).bfloat16()
    return by_expert(ids, weights)


def close(ours: torch.Tensor, ref: torch.Tensor) -> None:
    """Equal to bf16 tolerance: the two paths differ at most in the order a row's products are added."""
    cos = torch.nn.functional.cosine_similarity(ours.double().flatten(), ref.double().flatten(), dim=0)
    assert cos > 0.99999
    assert (ours.float() - ref.float()).abs().max() <= 2**-6 * ref.float().abs().max()


@pytest.mark.parametrize(
    "experts, hidden, inter, tokens, k",
    [
        (4, 64, 64, 1, 2),  # decode
        (8, 96, 160, 5, 4),  # sizes that are no multiple of 64 or 128: tails everywhere
        (6, 32, 96, 37, 3),  # prefill-like: many tokens per expert
        (3, 160, 32, 7, 1),  # one expert per token
        (
            1,
            96,
            96,
            13,
            1,
        ),  # every token on one expert: prefill tiles, three blocks of four routes and a tail
        (
            2,
            32,
            32,
            6,
            2,
        ),  # every token on both experts: six routes each, one block of four and a tail of two
        (5, 224, 288, 2, 3),  # decode-sized: experts with one route and with two
        (40, 64, 96, 3, 4),  # more experts than tokens use
    ],
)
def test_kernels_equal_the_torch_path(experts, hidden, inter, tokens, k, kernel):
    """expert_mlp on the CPU: the numba kernels and the torch path (dequantize, bf16 matmul) agree."""
    packed = packed_experts(experts, hidden, inter)
    x = torch.randn(tokens, hidden).bfloat16()
    ids, weights = routes(tokens, experts, k)
    ours = expert_mlp(x, ids, weights, packed, 7.0, 1.702, strategy="cpu")
    ref = expert_mlp(x, ids, weights, packed, 7.0, 1.702, strategy="grouped")
    assert ours.dtype == torch.bfloat16 and ours.shape == (tokens, hidden)
    close(ours, ref)


@pytest.mark.parametrize("tokens", [1, 2, 9])
def test_one_thread_and_all_threads_give_the_same_bits(tokens, kernel):
    """Each output row is one thread's work in a fixed order, so the thread count changes no bit (decode and
    prefill sizes)."""
    packed = packed_experts(8, 96, 160, seed=3)
    x = torch.randn(tokens, 96).bfloat16()
    ids, weights = routes(tokens, 8, 4, seed=4)
    threads = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        one = expert_mlp(x, ids, weights, packed, 7.0, 1.702, strategy="cpu")
    finally:
        numba.set_num_threads(threads)
    many = expert_mlp(x, ids, weights, packed, 7.0, 1.702, strategy="cpu")
    assert torch.equal(many, one)
    close(many, expert_mlp(x, ids, weights, packed, 7.0, 1.702, strategy="grouped"))


def test_a_token_may_name_one_expert_twice(kernel):
    """Repeated experts in a token's row (a hybrid placement may route so): each route counts once."""
    packed = packed_experts(3, 64, 64, seed=7)
    x = torch.randn(4, 64).bfloat16()
    ids = torch.tensor([[1, 1], [0, 2], [2, 2], [1, 0]])
    weights = torch.tensor([[0.5, 0.25], [0.75, 0.25], [0.5, 0.5], [0.125, 0.875]]).bfloat16()
    ours = expert_mlp(x, ids, weights, packed, 7.0, 1.702, strategy="cpu")
    close(ours, expert_mlp(x, ids, weights, packed, 7.0, 1.702, strategy="grouped"))


def test_decoded_and_tiled_experts_agree(kernel):
    """One expert's output for a token is the same whether the expert serves it alone (weights decoded in
    registers) or with other tokens (a decoded tile shared by them)."""
    packed = packed_experts(2, 96, 160, seed=8)
    x = torch.randn(7, 96).bfloat16()
    ids, weights = torch.zeros(7, 1, dtype=torch.long), torch.ones(7, 1).bfloat16()
    together = expert_mlp(x, ids, weights, packed, 7.0, 1.702, strategy="cpu")
    alone = torch.cat(
        [expert_mlp(x[t : t + 1], ids[:1], weights[:1], packed, 7.0, 1.702, strategy="cpu") for t in range(7)]
    )
    close(together, alone)


def test_every_fp4_code_decodes_to_its_value():
    """The arithmetic FP4 decode (no table) gives the e2m1 value of each of the 16 codes, signed zero too."""
    import numpy as np

    from engine.quant.mxfp4 import FP4_VALUES

    for code, value in enumerate(FP4_VALUES):
        got = float(cpu_mxfp4_jit.fp4(np.uint32(code)))
        assert got == value and np.signbit(got) == np.signbit(value), (code, got, value)
        assert cpu_mxfp4_simd.TWICE_FP4[code] == 2 * value  # the vector kernels' pshufb table


def test_the_swiglu_clamp_and_large_scales_follow_the_torch_path(kernel):
    """Activations past the SwiGLU limit and scale bytes up to 254 (2**127) give the torch path's numbers."""
    packed = packed_experts(2, 64, 64, seed=5)
    packed.mlp1_scales[0, :4] = 140  # gate and up far past the limit of 7
    packed.mlp2_scales[1, :2, 0] = 254
    x = torch.randn(3, 64).bfloat16()
    ids, weights = routes(3, 2, 2, seed=6)
    ours = expert_mlp(x, ids, weights, packed, 7.0, 1.702, strategy="cpu")
    ref = expert_mlp(x, ids, weights, packed, 7.0, 1.702, strategy="grouped")
    finite = torch.isfinite(ref)
    assert torch.equal(torch.isfinite(ours), finite)
    close(ours[finite], ref[finite])


def test_the_cpu_is_the_default_where_numba_runs(tiny_model, monkeypatch):
    """On the CPU the model's MoE layers, projections and unembedding use the numba kernels;
    GOSSAMER_KERNELS=torch turns them off, and the logits stay the same to bf16 tolerance (prefill and a
    decode step)."""
    from engine.layers.moe import default_strategy

    assert default_strategy(torch.device("cpu"), 4, None) == "cpu"
    ids = torch.tensor([200006, 1428, 200008, 9906, 11, 1495, 200007, 1428, 9906, 11, 1495])

    def run():
        cache = tiny_model.new_cache()
        prefill = tiny_model.forward(ids, cache)
        return torch.cat([prefill, tiny_model.forward(ids[-1:], cache)])

    fast = run()
    monkeypatch.setenv("GOSSAMER_KERNELS", "torch")
    assert default_strategy(torch.device("cpu"), 4, None) == "grouped"
    slow = run()
    cos = torch.nn.functional.cosine_similarity(fast.double(), slow.double(), dim=-1)
    assert cos.min() > 0.9999 and torch.equal(fast.argmax(-1), slow.argmax(-1))


def test_loading_on_the_cpu_compiles_the_kernels_before_the_first_answer(tiny_model_dir):
    """A CPU load leaves the numba functions compiled (or read from numba's cache), so the first answer
    does not stop for a minute to compile them on a fresh install. In a fresh process: in this one, earlier
    tests have compiled them already."""
    from engine import kernels

    if not kernels.cpu_available():
        pytest.skip("GOSSAMER_KERNELS=torch: the torch path compiles nothing")
    probe = (
        "import sys\n"
        "from engine.kernels import cpu_bf16_jit, cpu_mxfp4_jit\n"
        "from engine.runtime.loader import load_model\n"
        "functions = (cpu_mxfp4_jit.moe, cpu_bf16_jit.gemv, cpu_bf16_jit.gemm)\n"
        "before = [bool(f.signatures) for f in functions]\n"
        "load_model(sys.argv[1], 'cpu', context_length=512)\n"
        "print(before, [bool(f.signatures) for f in functions])\n"
    )
    root = Path(__file__).resolve().parents[2]
    run = subprocess.run(
        [sys.executable, "-c", probe, str(tiny_model_dir)],
        capture_output=True,
        text=True,
        check=False,
        cwd=root,
        env={**os.environ, "PYTHONPATH": str(root)},
    )
    assert run.returncode == 0, run.stderr[-2000:]
    assert run.stdout.split() == ["[False,", "False,", "False]", "[True,", "True,", "True]"]


def compare_where_finite(ours: torch.Tensor, ref: torch.Tensor) -> None:
    """inf and NaN where the torch path has them, and its numbers elsewhere."""
    assert torch.equal(torch.isnan(ours), torch.isnan(ref))
    assert torch.equal(torch.isinf(ours), torch.isinf(ref))
    finite = torch.isfinite(ref)
    assert finite.any()
    close(ours[finite], ref[finite])


def test_inputs_with_inf_nan_and_zeros_follow_the_torch_path(kernel):
    """A token with inf or NaN in its inputs gives what the torch path gives; so do groups of 32 zeros and
    inputs so large or small that the vector kernels' exact integer path cannot scale them."""
    packed = packed_experts(4, 160, 96, seed=11)  # 5 groups of 32: four at once, then a tail of one
    x = torch.randn(8, 160)
    x[0, 5] = float("inf")
    x[1, 70] = float("nan")
    x[2, 32:64] = 0.0  # a whole group of zeros
    x[3] = 0.0  # a token of zeros
    x[4, :32] *= 2.0**90  # one huge group: its scale times the weights' leaves the exact range
    x[5, 64:96] *= 2.0**-110  # one group too small for a normal scale
    x[6, 150] = float("-inf")  # in the tail
    x[7, 128:] *= 2.0**-120
    x = torch.cat([x, torch.randn(12, 160)]).bfloat16()  # 40 routes: blocks of eight with odd ones inside
    ids, weights = routes(20, 4, 2, seed=12)
    ours = expert_mlp(x, ids, weights, packed, 7.0, 1.702, strategy="cpu")
    ref = expert_mlp(x, ids, weights, packed, 7.0, 1.702, strategy="grouped")
    compare_where_finite(ours, ref)


def test_inputs_below_every_normal_scale_are_not_lost(kernel):
    """Tokens whose inputs are all far below 1 (2**-118: no int16 scale in float32's normal range) and no
    biases: the outputs are the torch path's tiny numbers, not the zeros a scale of 0 would give."""
    packed = packed_experts(3, 160, 96, seed=17)
    packed.mlp1_bias.zero_()
    packed.mlp2_bias.zero_()
    x = (torch.randn(12, 160, generator=torch.Generator().manual_seed(18)) * 2.0**-118).bfloat16()
    ids, weights = routes(12, 3, 2, seed=19)  # 24 routes: blocks of eight and of four
    ours = expert_mlp(x, ids, weights, packed, 7.0, 1.702, strategy="cpu")
    ref = expert_mlp(x, ids, weights, packed, 7.0, 1.702, strategy="grouped")
    assert (ref != 0).float().mean() > 0.9
    close(ours * 2.0**110, ref * 2.0**110)  # (scaled up for the check only: the outputs are near 2**-114)


@pytest.mark.parametrize("byte", [0, 1, 2, 200, 240, 254])
def test_scale_bytes_at_the_ends_follow_the_torch_path(byte, kernel):
    """E8M0 bytes 0 and 1 (2**-127 and 2**-126), 254 (2**127: weights past float32's range) and others far
    from a real checkpoint's: where the vector kernels' fast loop cannot take a group it computes the row
    again group by group. (255, E8M0's NaN, never reaches a kernel: load_model refuses bytes above 240.)"""
    packed = packed_experts(3, 288, 160, seed=13)  # 9 and 5 groups of 32: fours and a tail
    # in the vector kernels' first four groups and in the tail; a huge byte makes inf weights (and NaN, 0 *
    # inf, in the torch path's dequantized ones), so it is kept to expert 0's first matmul and to a few
    # output columns of the others
    packed.mlp1_scales[0, 3:9, 1] = byte
    packed.mlp1_scales[0, 2, 8] = byte
    packed.mlp2_scales[2, :5, 0] = byte
    packed.mlp2_scales[1, 7, 4] = byte
    x = torch.randn(16, 288).bfloat16()
    ids, weights = routes(16, 3, 2, seed=14)  # 32 routes: blocks of eight, of four and tails
    ours = expert_mlp(x, ids, weights, packed, 7.0, 1.702, strategy="cpu")
    ref = expert_mlp(x, ids, weights, packed, 7.0, 1.702, strategy="grouped")
    compare_where_finite(ours, ref)


def test_quantized_inputs_are_bf16_inputs_exactly_near_the_top_of_their_group():
    """The vector kernels' int16 inputs: a power-of-two scale per group of 32, every value within 2**7 of the
    group's largest exact (bf16 keeps 8 bits), the rest within 2**-15 of the largest."""
    import numpy as np

    g = torch.Generator().manual_seed(15)
    x = (torch.randn(3, 256, generator=g) * torch.logspace(-6, 6, 256, base=2.0)).bfloat16().float().numpy()
    xq = np.empty(x.shape, np.int16)
    xs = np.empty((3, 8), np.float32)
    cpu_mxfp4_jit.quantize(x, xq, xs)
    ok, again = np.empty(3, np.bool_), np.empty_like(xq)
    cpu_mxfp4_jit.quantize(x, again, xs, ok)  # the same numbers, and each row's flag for the fast loop
    assert np.array_equal(again, xq) and ok.all()  # every scale within 2**+-50
    back = (xq.reshape(3, 8, 32).astype(np.float64) * xs[:, :, None]).reshape(3, 256)
    top = np.abs(x).reshape(3, 8, 32).max(-1, keepdims=True)
    near = (np.abs(x).reshape(3, 8, 32) >= top / 2**7).reshape(3, 256)
    assert np.array_equal(back[near], x[near])
    assert (np.abs(back - x).reshape(3, 8, 32) <= top * 2.0**-15).all()
    assert (np.log2(xs) == np.round(np.log2(xs))).all()  # powers of two
    assert np.abs(xq).max() <= 32767


def test_quantize_flags_the_rows_the_fast_loop_cannot_scale():
    """The vector kernels' fast loop checks no input scale: quantize's flag sends a row to the checked loop
    when any group has inf or NaN, a scale outside 2**+-50, or values too small for a normal scale; a group
    of zeros adds nothing and is fine."""
    import numpy as np

    x = np.random.default_rng(16).standard_normal((7, 64)).astype(np.float32)
    x[1, 40] = np.inf
    x[2, 3] = np.nan
    x[3, :32] *= np.float32(2.0**70)  # a scale near 2**56
    x[4, 32:] *= np.float32(2.0**-60)  # near 2**-75
    x[5, 32:] = 0.0
    x[6, :32] = np.float32(2.0**-130)  # subnormal: no normal scale
    xq, xs, ok = np.empty(x.shape, np.int16), np.empty((7, 2), np.float32), np.empty(7, np.bool_)
    cpu_mxfp4_jit.quantize(x, xq, xs, ok)
    assert ok.tolist() == [True, False, False, False, False, True, False]


@pytest.mark.parametrize("tokens", [1, 6])
def test_expert_mlps_from_bits_equal_the_float_form(kernel, tokens):
    """expert_mlp_cpu hands bf16 tensors over as bits and takes bf16 bits back; with float32 routing weights
    it converts to float32 copies instead, as before. Both give the same bits."""
    packed = packed_experts(6, 96, 64, seed=3)
    x = torch.randn(tokens, 96).bfloat16()
    rows, weights = routes(tokens, 6, 3)
    from_bits = expert_mlp_cpu(x, rows, weights, packed, 7.0, 1.702)
    from_floats = expert_mlp_cpu(x, rows, weights.float(), packed, 7.0, 1.702)
    assert from_bits.dtype == torch.bfloat16 and torch.equal(from_bits, from_floats)


def test_the_compiled_kernels_name_the_vector_code_they_inline():
    """numba's disk cache keys the functions of cpu_mxfp4_jit.py on that file alone: the IR they inline from
    cpu_mxfp4_simd.py is pinned there by hash, so editing it without updating the hash (which recompiles)
    fails here instead of running stale machine code."""
    import hashlib

    source = Path(cpu_mxfp4_simd.__file__).read_bytes()
    assert hashlib.sha256(source).hexdigest()[:16] == cpu_mxfp4_jit.SIMD_SOURCE, (
        "update SIMD_SOURCE in engine/kernels/cpu_mxfp4_jit.py to the new hash of cpu_mxfp4_simd.py"
    )


def test_bench_names_the_cpu_kernels(monkeypatch):
    """kernels.cpu_kind, which bench reports: the vector kernels on x86 with AVX2, else the portable ones,
    and torch where numba is off."""
    from engine import kernels

    want = "avx2" if cpu_mxfp4_simd.available() else "portable"
    assert kernels.cpu_kind() == (want if kernels.cpu_available() else "torch")
    monkeypatch.setattr(kernels, "cpu_available", lambda: False)
    assert kernels.cpu_kind() == "torch"


def test_a_failing_vector_kernel_hands_over_to_the_portable_one(monkeypatch, caplog):
    """The vector kernels failing to compile or run (a CPU or an LLVM not tested): the log says why once,
    that call and later ones get the portable kernels' numbers, and bench names them."""
    from engine import kernels
    from engine.kernels import cpu_mxfp4

    if not cpu_mxfp4_simd.available():
        pytest.skip("the vector kernels need an x86-64 CPU with AVX2")
    monkeypatch.setattr(cpu_mxfp4, "FAILED", {})
    calls = []

    def broken(*args):
        calls.append(1)
        raise RuntimeError("LLVM ERROR: Cannot select: intrinsic %llvm.x86.avx2.pmadd.wd")

    packed = packed_experts(4, 96, 64, seed=16)
    x = torch.randn(3, 96).bfloat16()
    ids, weights = routes(3, 4, 2, seed=17)
    monkeypatch.setattr(cpu_mxfp4_jit, "moe", cpu_mxfp4_jit.moe_float)
    want = expert_mlp(x, ids, weights, packed, 7.0, 1.702, strategy="cpu")
    monkeypatch.setattr(cpu_mxfp4_jit, "moe", broken)
    for _ in range(2):
        assert torch.equal(expert_mlp(x, ids, weights, packed, 7.0, 1.702, strategy="cpu"), want)
    assert len(calls) == 1 and "Cannot select" in cpu_mxfp4.FAILED["vector"]
    assert sum("vector kernels failed" in r.getMessage() for r in caplog.records) == 1
    assert kernels.cpu_kind() == "portable" and kernels.cpu_available()
    assert "vector" in kernels.cpu_failures()


def test_failing_numba_kernels_hand_over_to_the_torch_path(monkeypatch, caplog):
    """Both numba kernel sets failing: the torch path answers (its numbers), the CPU default turns to it
    for later calls, and bench says torch with the reason."""
    from engine import kernels
    from engine.kernels import cpu_mxfp4
    from engine.layers.moe import default_strategy

    monkeypatch.setattr(cpu_mxfp4, "FAILED", {})

    def broken(*args):
        raise RuntimeError("numba: cannot load its cache")

    monkeypatch.setattr(cpu_mxfp4_jit, "moe", broken)
    monkeypatch.setattr(cpu_mxfp4_jit, "moe_float", broken)
    packed = packed_experts(4, 96, 64, seed=18)
    x = torch.randn(3, 96).bfloat16()
    ids, weights = routes(3, 4, 2, seed=19)
    want = expert_mlp(x, ids, weights, packed, 7.0, 1.702, strategy="grouped")
    assert torch.equal(expert_mlp(x, ids, weights, packed, 7.0, 1.702, strategy="cpu"), want)
    assert "cannot load" in cpu_mxfp4.FAILED["numba"] and not kernels.cpu_available()
    assert default_strategy(torch.device("cpu"), 6, None) != "cpu" and kernels.cpu_kind() == "torch"
    assert any("PyTorch path runs from now on" in r.getMessage() for r in caplog.records)
