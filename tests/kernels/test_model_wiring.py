"""The MoE layers of the model reach the kernels through engine.layers.moe (issue #8 wiring): the seam's arguments,
the choice of strategy, and a whole model run by the Triton kernels under the interpreter."""

from __future__ import annotations

import pytest
import torch

from engine import kernels
from engine.layers.experts import PackedExperts
from engine.layers.moe import by_expert, default_strategy, expert_mlp, expert_terms, weighted_sum
from tests.engine.logits_check import assert_logits_close

from .synth import random_experts, rel_err


def _routes(t: int, k: int, e: int, seed: int):
    g = torch.Generator().manual_seed(seed)
    ids = torch.stack([torch.randperm(e, generator=g)[:k] for _ in range(t)])
    w = torch.softmax(torch.randn(t, k, generator=g), -1).to(torch.bfloat16)
    return by_expert(ids, w)


@pytest.mark.parametrize("value", ["", "auto", "torch", "triton"])
def test_the_cpu_never_takes_the_kernels(monkeypatch, value):
    """Whatever GOSSAMER_KERNELS says, a CPU tensor never goes to the Triton kernels: to the CPU's numba
    kernels where numba runs and the setting is not "torch", else the torch way (grouped); mode() reads it."""
    monkeypatch.setenv(kernels.ENV, value)
    assert not kernels.use_fused(torch.device("cpu"))
    cpu = "cpu" if value != "torch" and kernels.cpu_available() else "grouped"
    assert default_strategy(torch.device("cpu"), 4, None) == cpu
    assert kernels.mode() == (value or "auto")
    assert kernels.why_unavailable("cpu")


def test_fused_strategy_passes_the_seams_arguments(monkeypatch):
    """strategy="fused" hands x, rows, weights and the packed rows to kernels.expert_mlp (here its torch
    reference, as on a GPU without Triton) and agrees with the grouped torch path to bf16 rounding; so does
    expert_terms' fused branch, used by offloaded prefill groups."""
    ex = random_experts(6, 64, 96, seed=2)
    packed = PackedExperts(**vars(ex))
    x = torch.randn(9, 64, generator=torch.Generator().manual_seed(3)).to(torch.bfloat16)
    rows, w = _routes(9, 4, 6, seed=4)
    want = expert_mlp(x, rows, w, packed, 7.0, 1.702, strategy="grouped")
    assert rel_err(expert_mlp(x, rows, w, packed, 7.0, 1.702, strategy="fused"), want) < 1e-2
    terms = torch.full((9 * 4, 64), float("nan"), dtype=torch.bfloat16)
    for group in ([0, 1, 2], [3, 4, 5]):
        mask = torch.isin(rows, torch.tensor(group))
        expert_terms(terms, x, rows, packed, 7.0, 1.702, None, mask=mask, fused=True)
    assert not terms.isnan().any()
    assert rel_err(weighted_sum(terms.view(9, 4, 64), w), want) < 1e-2


def test_model_logits_with_interpreted_kernels(interp, tiny_model_dir, monkeypatch):
    """The tiny model's MoE layers through the Triton kernels (interpreted on the CPU): prefill (grouped
    GEMM) and decode (GEMV) logits agree with the torch path."""
    from engine.runtime.loader import load_model

    model = load_model(tiny_model_dir, "cpu")
    ids = torch.randint(0, 199998, (10,), generator=torch.Generator().manual_seed(5))

    def run() -> torch.Tensor:
        cache = model.new_cache(16)
        out = [model.forward(ids[:8], cache)]
        out += [model.forward(ids[i : i + 1], cache) for i in (8, 9)]
        return torch.cat(out)

    want = run()
    calls = []
    real = interp.moe_mxfp4.moe_experts
    monkeypatch.setattr(
        interp.moe_mxfp4, "moe_experts", lambda *a, **k: calls.append(a[0].shape[0]) or real(*a, **k)
    )
    monkeypatch.setenv(kernels.ENV, "triton")  # a failure raises instead of falling back to torch
    monkeypatch.setattr(kernels, "use_fused", lambda device: True)
    got = run()
    assert sorted(set(calls)) == [1, 8]  # decode steps and the prefill went through the kernels
    assert_logits_close(got, want, min_cos=0.995)
