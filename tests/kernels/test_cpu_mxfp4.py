"""The CPU's MXFP4 expert kernels (numba) give the torch path's numbers, on odd shapes, at 1 and n threads."""

from __future__ import annotations

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
    assert (ours.float() - ref.float()).abs().max() <= 2 ** -6 * ref.float().abs().max()


@pytest.mark.parametrize(
    "experts, hidden, inter, tokens, k",
    [
        (4, 64, 64, 1, 2),  # decode
        (8, 96, 160, 5, 4),  # sizes that are no multiple of 64 or 128: tails everywhere
        (6, 32, 96, 37, 3),  # prefill-like: many tokens per expert
        (3, 160, 32, 7, 1),  # one expert per token
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


def test_one_thread_and_all_threads_give_the_same_bits():
    """Each output row is one thread's work in a fixed order, so the thread count changes no bit."""
    packed = packed_experts(8, 96, 160, seed=3)
    x = torch.randn(9, 96).bfloat16()
    ids, weights = routes(9, 8, 4, seed=4)
    threads = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        one = expert_mlp(x, ids, weights, packed, 7.0, 1.702, strategy="cpu")
    finally:
        numba.set_num_threads(threads)
    assert torch.equal(expert_mlp(x, ids, weights, packed, 7.0, 1.702, strategy="cpu"), one)


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
    """On the CPU the model's MoE layers use the numba kernels; GOSSAMER_KERNELS=torch turns them off, and
    the logits stay the same to bf16 tolerance."""
    from engine.layers.moe import default_strategy

    assert default_strategy(torch.device("cpu"), 4, None) == "cpu"
    ids = torch.tensor([200006, 1428, 200008, 9906, 11, 1495, 200007])
    fast = tiny_model.forward(ids, tiny_model.new_cache())
    monkeypatch.setenv("GOSSAMER_KERNELS", "torch")
    assert default_strategy(torch.device("cpu"), 4, None) == "grouped"
    slow = tiny_model.forward(ids, tiny_model.new_cache())
    cos = torch.nn.functional.cosine_similarity(fast.double(), slow.double(), dim=-1)
    assert cos.min() > 0.9999 and torch.equal(fast.argmax(-1), slow.argmax(-1))
