"""The plan's working memory follows the attention that will run: no score matrix where the Triton flash
kernels do a prompt's attention, so a 16 GiB card gets that memory back for experts and context."""

from __future__ import annotations

import dataclasses

import pytest

from engine.hub.fit import FIT_CONTEXT, estimate_fit
from engine.placement.host_memory import host_memory_for
from engine.placement.memory import (
    FLASH_DECODE_SPLITS,
    GATHER_MAX_ROUTES,
    SCORE_BUDGET_BYTES,
    GiB,
    MiB,
    attention_workspace_bytes,
    flash_attention,
    workspace_bytes,
)
from engine.placement.plan import AUTO_RESERVE_FRACTION, AUTO_RESERVE_MIN, PRESETS, PlanOptions, make_plan

CFG = PRESETS["gpt-oss-20b"]
CARD_16 = 16 * GiB - max(AUTO_RESERVE_MIN, int(AUTO_RESERVE_FRACTION * 16 * GiB))  # "auto" on a 16 GiB card


def _activations(cfg, chunk: int, act: int = 2) -> int:
    h, two_i = cfg.hidden_size, 2 * cfg.intermediate_size
    q, kv = cfg.num_attention_heads * cfg.head_dim, cfg.num_key_value_heads * cfg.head_dim
    return chunk * act * (12 * h + 4 * q + 2 * kv + 3 * two_i + cfg.num_experts)


def test_flash_decode_splits_mirror_the_kernels():
    """The planner's copy of the flash-decode piece count equals the kernels' own."""
    from engine.kernels import fused

    assert FLASH_DECODE_SPLITS == fused.MAX_SPLITS


@pytest.mark.parametrize("head_dim", [8, 16, 48, 64, 96, 128])
def test_flash_attention_runs_where_the_kernels_take_the_head_size(head_dim):
    """The plan assumes flash attention exactly where the model's attention would call the Triton kernels."""
    from engine.layers.attention import fusable

    cfg = dataclasses.replace(CFG, head_dim=head_dim)
    assert flash_attention(cfg, True) == fusable(head_dim)
    assert flash_attention(cfg, False) is False


@pytest.mark.parametrize("context", [4096, 16384, 131072])
def test_the_torch_path_reserves_score_pieces_and_the_flash_path_does_not(context):
    """gpt-oss-20b, 512-token chunks: 2.5 score pieces of 256 MiB on the torch path, the decode pieces' partial
    sums on the flash path; the workspace is the activations plus the largest of attention, logits, experts."""
    chunk, logits = 512, CFG.vocab_size * (4 + 2)
    torch_scores = attention_workspace_bytes(CFG, context, chunk, flash=False)
    assert torch_scores == int(2.5 * min(SCORE_BUDGET_BYTES, 4 * CFG.num_attention_heads * chunk * context))
    flash_scores = attention_workspace_bytes(CFG, context, chunk, flash=True)
    assert flash_scores == CFG.num_attention_heads * FLASH_DECODE_SPLITS * (CFG.head_dim + 2) * 4
    two_i, h = 2 * CFG.intermediate_size, CFG.hidden_size
    routes = min(CFG.experts_per_token, GATHER_MAX_ROUTES)
    scratch = 3 * max(routes * two_i * h, (two_i + CFG.intermediate_size) * h) * 2
    assert workspace_bytes(CFG, context, chunk) == _activations(CFG, chunk) + max(
        torch_scores, logits, scratch
    )
    fused = workspace_bytes(CFG, context, chunk, fused_kernels=True)
    assert fused == _activations(CFG, chunk) + max(flash_scores, logits)


def test_a_head_size_the_kernels_cannot_take_keeps_the_scores_with_fused_kernels():
    """Fused expert kernels with a head size flash attention does not take: the scores are still reserved."""
    cfg = dataclasses.replace(CFG, head_dim=48)
    assert workspace_bytes(cfg, 16384, 512, fused_kernels=True) - _activations(cfg, 512) == (
        attention_workspace_bytes(cfg, 16384, 512, flash=False)
    )


def test_a_16_gib_card_gets_the_score_memory_back_for_experts_and_context():
    """On a 16 GiB card the flash path's plan holds about 640 MiB less working memory: at 64k tokens the
    embedding comes back to the GPU, and at the full 131k one layer of experts stays in RAM instead of three."""
    torch_path = {n: make_plan(CFG, CARD_16, n) for n in (16384, 65536, 131072)}
    flash = {n: make_plan(CFG, CARD_16, n, options=PlanOptions(fused_kernels=True)) for n in torch_path}
    for n in torch_path:
        saved = torch_path[n].device_bytes["workspace"] - flash[n].device_bytes["workspace"]
        assert 600 * MiB < saved < 700 * MiB
    assert not torch_path[65536].embedding_on_device and flash[65536].embedding_on_device
    assert len(torch_path[131072].offloaded_layers) == 3 and len(flash[131072].offloaded_layers) == 1
    assert flash[131072].num_resident_experts > torch_path[131072].num_resident_experts


def test_the_cpu_plan_never_assumes_flash_attention():
    """A simulated CPU budget counts the torch path's scores: the kernels never run there."""
    cpu = make_plan(CFG, CARD_16, 16384, options=PlanOptions(device="cpu"))
    assert cpu.device_bytes["workspace"] > 2.5 * SCORE_BUDGET_BYTES


def test_the_fit_estimate_plans_for_the_kernels_the_machine_runs():
    """The catalog's estimate on a card that runs the Triton kernels is the loader's plan for them."""
    args = (
        CFG.total_bytes(),
        CFG.expert_bytes() * CFG.num_experts * CFG.num_hidden_layers,
        0,
        10**12,
        64 * GiB,
    )
    with_flash = estimate_fit(*args, vram=16 * GiB, config=CFG, fused_kernels=True)
    without = estimate_fit(*args, vram=16 * GiB, config=CFG)
    options = PlanOptions(fused_kernels=True, host_memory=host_memory_for(64 * GiB))
    plan = make_plan(CFG, CARD_16, FIT_CONTEXT, options=options)
    assert with_flash.plan["device_bytes"] == plan.facts()["device_bytes"]
    assert with_flash.plan["device_bytes"] < without.plan["device_bytes"]


def test_engine_plan_takes_the_kernels_to_plan_for(capsys):
    """`engine plan --fused-kernels` plans the flash path, `--no-fused-kernels` (the default for a given
    budget) the torch path."""
    import json

    from engine.__main__ import main as engine_main

    def workspace(*flags: str) -> int:
        argv = ["plan", "--preset", "gpt-oss-20b", "--vram", "15GiB", "--context", "16384", "--json", *flags]
        assert engine_main(argv) == 0
        return json.loads(capsys.readouterr().out)["device_bytes"]["workspace"]

    assert workspace() == workspace("--no-fused-kernels") == workspace_bytes(CFG, 16384, 512)
    assert workspace("--fused-kernels") == workspace_bytes(CFG, 16384, 512, fused_kernels=True)
