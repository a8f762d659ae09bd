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
def test_kernels_equal_the_torch_path(experts, hidden, inter, tokens, k):
    """expert_mlp on the CPU: the numba kernels and the torch path (dequantize, bf16 matmul) agree."""
    packed = packed_experts(experts, hidden, inter)
    x = torch.randn(tokens, hidden).bfloat16()
    ids, weights = routes(tokens, experts, k)
    ours = expert_mlp(x, ids, weights, packed, 7.0, 1.702, strategy="cpu")
    ref = expert_mlp(x, ids, weights, packed, 7.0, 1.702, strategy="grouped")
    assert ours.dtype == torch.bfloat16 and ours.shape == (tokens, hidden)
    close(ours, ref)


@pytest.mark.parametrize("tokens", [1, 2, 9])
def test_one_thread_and_all_threads_give_the_same_bits(tokens):
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


def test_a_token_may_name_one_expert_twice():
    """Repeated experts in a token's row (a hybrid placement may route so): each route counts once."""
    packed = packed_experts(3, 64, 64, seed=7)
    x = torch.randn(4, 64).bfloat16()
    ids = torch.tensor([[1, 1], [0, 2], [2, 2], [1, 0]])
    weights = torch.tensor([[0.5, 0.25], [0.75, 0.25], [0.5, 0.5], [0.125, 0.875]]).bfloat16()
    ours = expert_mlp(x, ids, weights, packed, 7.0, 1.702, strategy="cpu")
    close(ours, expert_mlp(x, ids, weights, packed, 7.0, 1.702, strategy="grouped"))


def test_decoded_and_tiled_experts_agree():
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

    from engine.kernels import cpu_mxfp4_jit
    from engine.quant.mxfp4 import FP4_VALUES

    for code, value in enumerate(FP4_VALUES):
        got = float(cpu_mxfp4_jit.fp4(np.uint32(code)))
        assert got == value and np.signbit(got) == np.signbit(value), (code, got, value)


def test_the_swiglu_clamp_and_large_scales_follow_the_torch_path():
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
