"""The planner: bytes per category, placement by budget, what fits and what would, re-planning after OOM."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

import engine.placement.plan as plan_module
from engine.errors import OutOfMemoryError
from engine.io.synthetic import tiny_config
from engine.placement.memory import GiB, format_size, parse_size
from engine.placement.plan import (
    PRESETS,
    PlanOptions,
    kv_cache_bytes,
    make_plan,
    replan_after_oom,
    weight_bytes,
)

CFG = PRESETS["gpt-oss-20b"]
EXPERT = 13_236_480  # one gpt-oss-20b expert: MXFP4 mlp1 + mlp2 with scales, bf16 biases


def test_constants_mirror_the_model_code():
    """plan.py copies a few numbers to stay torch-free; they must equal the model code's."""
    import engine.layers.attention
    import engine.layers.kv_cache
    import engine.layers.moe
    import engine.model
    from engine.placement import plan

    assert plan.SCORE_BUDGET_BYTES == engine.layers.attention.SCORE_BUDGET_BYTES
    assert plan.DEFAULT_SLIDING_HISTORY == engine.layers.kv_cache.DEFAULT_SLIDING_HISTORY
    assert plan.DEFAULT_PREFILL_CHUNK == engine.model.DEFAULT_PREFILL_CHUNK
    assert plan.GATHER_MAX_ROUTES == engine.layers.moe.GATHER_MAX_ROUTES


def test_plan_module_does_not_import_torch():
    """python -m engine plan --preset is instant: planning needs no torch."""
    code = "import sys, engine.placement.plan, engine.cli.plan; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_sizes_of_gpt_oss_20b():
    """Weights and KV cache bytes match the published shapes."""
    assert CFG.expert_bytes() == EXPERT
    w = weight_bytes(CFG)
    assert w["embedding"] == w["unembedding"] == 201088 * 2880 * 2
    per_layer = ((4096 + 512 + 512) * 2880 + 4096 + 512 + 512 + 2880 * 4096 + 2880) * 2 + 64 * 4
    assert w["attention"] == 24 * per_layer
    # 12 full layers x 2 KiB per token, 12 sliding layers x (128 - 1 + 4096) positions, token ids
    assert kv_cache_bytes(CFG, 32768) == 12 * 2048 * 32768 + 12 * 2048 * 4223 + 8 * 32768
    assert kv_cache_bytes(CFG, 100) == 24 * 2048 * 100 + 800  # shorter than a ring: rings hold the context
    assert kv_cache_bytes(CFG, 100, device="cpu") == 24 * 4096 * 100 + 800  # float32 on the CPU


@pytest.mark.parametrize("budget", ["4.5GiB", "6GiB", "8GiB", "10GiB", "12GiB", "14GiB", "16GiB", "64GiB"])
@pytest.mark.parametrize("context", [4096, 32768])
def test_plan_stays_within_budget(budget, context):
    """Every category adds up, stays under the budget, and layers are either whole on the device or in RAM."""
    budget = parse_size(budget)
    plan = make_plan(CFG, budget, context)
    assert plan.fits, plan.problem
    assert plan.total_device_bytes <= budget
    d = plan.device_bytes
    assert d["experts"] == plan.num_resident_experts * EXPERT
    assert d["expert_slots"] == plan.num_slots * EXPERT
    assert d["kv_cache"] == kv_cache_bytes(CFG, context)
    n_off = len(plan.offloaded_layers)
    assert plan.host_bytes["experts"] == n_off * 32 * EXPERT
    assert plan.num_resident_experts + n_off * 32 == 24 * 32
    if n_off:
        assert 2 * 4 <= plan.num_slots <= n_off * 32
        assert not plan.embedding_on_device  # the embedding leaves before any expert does
        assert plan.prefill_chunk == 2048
    else:
        assert plan.num_slots == 0


def test_more_budget_never_offloads_more():
    """Placement is monotonic in the budget."""
    offloaded = [len(make_plan(CFG, b * GiB // 4, 32768).offloaded_layers) for b in range(18, 64)]
    assert offloaded == sorted(offloaded, reverse=True)
    assert offloaded[0] == 24 and offloaded[-1] == 0


def test_examples_from_the_issue():
    """12 GiB / 32k keeps most layers on a 16 GB card's budget; 8 GiB / 4k offloads more than half."""
    p12 = make_plan(CFG, 12 * GiB, 32768, model="gpt-oss-20b")
    assert 3 <= len(p12.offloaded_layers) <= 8
    assert p12.summary().startswith("GPU 11.") and "of 24 layers in RAM" in p12.summary()
    p8 = make_plan(CFG, 8 * GiB, 4096)
    assert 12 <= len(p8.offloaded_layers) <= 16
    everything = make_plan(CFG, 16 * GiB, 32768)
    assert not everything.offloads and everything.embedding_on_device
    assert everything.summary().endswith("everything on the GPU")


def test_offloaded_layers_spread_or_last():
    """'spread' puts offloaded layers evenly apart (each prefetch overlaps a resident layer); 'last' at the end."""
    spread = make_plan(CFG, 12 * GiB, 32768)
    gaps = {b - a for a, b in zip(spread.offloaded_layers, spread.offloaded_layers[1:])}
    assert max(gaps) - min(gaps) <= 1 and min(gaps) > 1
    last = make_plan(CFG, 12 * GiB, 32768, options=PlanOptions(offload_order="last"))
    n = len(last.offloaded_layers)
    assert last.offloaded_layers == tuple(range(24 - n, 24)) and n == len(spread.offloaded_layers)


def test_too_small_budget_says_what_would_fit():
    """A budget below the non-expert weights + KV + slots is refused with the budget needed and the context
    that fits; those numbers are exact (the next byte or token no longer fits)."""
    plan = make_plan(CFG, 4 * GiB, 32768)
    assert not plan.fits and plan.summary().startswith("Does not fit")
    assert "at least" in plan.problem and f"at most {plan.max_context} tokens" in plan.problem
    assert make_plan(CFG, plan.min_budget_bytes, 32768).fits
    assert not make_plan(CFG, plan.min_budget_bytes - 1, 32768).fits
    assert make_plan(CFG, 4 * GiB, plan.max_context).fits
    assert not make_plan(CFG, 4 * GiB, plan.max_context + 1).fits
    nothing = make_plan(CFG, 1 * GiB, 4096)
    assert nothing.max_context == 0 and "No context fits" in nothing.problem


def test_no_budget_puts_everything_on_the_device():
    """Without a budget nothing is offloaded and the context defaults to the model's."""
    plan = make_plan(CFG, None)
    assert plan.fits and not plan.offloads and plan.context_length == 131072 and plan.budget_source == "none"
    slack = max(plan_module.SLACK_MIN, int(plan_module.SLACK_FRACTION * plan.total_device_bytes))
    assert plan.total_device_bytes == plan.full_budget_bytes - slack


def test_embedding_may_be_the_only_thing_in_ram():
    """Between 'everything' and 'everything but the embedding' only the embedding moves."""
    full = make_plan(CFG, None, 8192)
    plan = make_plan(CFG, full.full_budget_bytes - 1, 8192)
    assert plan.fits and not plan.offloads and not plan.embedding_on_device
    assert "embedding in RAM" in plan.summary()
    pinned = make_plan(CFG, full.full_budget_bytes - 1, 8192, options=PlanOptions(host_embedding=False))
    assert pinned.embedding_on_device and pinned.offloads


def test_describe_and_json():
    """describe() names every category and the layers; to_dict() is JSON with the same numbers."""
    plan = make_plan(CFG, 8 * GiB, 4096, model="gpt-oss-20b")
    text = plan.describe()
    for word in (
        "attention",
        "unembedding",
        "embedding",
        "experts",
        "expert cache",
        "KV cache",
        "working memory",
        "host memory",
        "layers with experts in host memory",
    ):
        assert word in text
    data = json.loads(json.dumps(plan.to_dict()))
    assert data["num_slots"] == plan.num_slots and data["summary"] == plan.summary()
    assert len(data["layers"]) == 24 and data["total_device_bytes"] == plan.total_device_bytes


def test_gpt_oss_120b_preset():
    """The 120b shape plans too (36 layers, 128 experts)."""
    plan = make_plan(PRESETS["gpt-oss-120b"], 24 * GiB, 32768)
    assert plan.fits and len(plan.layers) == 36 and len(plan.layers[0].resident) in (0, 128)
    assert plan.host_bytes["experts"] > 35 * GiB


def test_simulated_cpu_budget_has_no_slack():
    """On the CPU the budget is counted exactly (no allocator slack), KV in float32."""
    cfg = tiny_config(num_hidden_layers=4, num_experts=8)
    full = make_plan(cfg, None, 256, options=PlanOptions(device="cpu"))
    assert full.total_device_bytes == full.full_budget_bytes
    plan = make_plan(cfg, full.full_budget_bytes - cfg.expert_bytes(), 256, options=PlanOptions(device="cpu"))
    assert plan.fits and plan.total_device_bytes <= full.full_budget_bytes - cfg.expert_bytes()


def test_replan_after_oom_offloads_more_then_shortens_the_context():
    """Each out-of-memory lowers the budget; when nothing fits the context shrinks; at the end it raises."""
    plan = make_plan(CFG, 16 * GiB, 32768)
    seen = []
    for _ in range(30):
        try:
            plan, message = replan_after_oom(plan)
        except OutOfMemoryError as error:
            assert "run on the CPU" in str(error)
            break
        assert plan.fits and "ran out of memory" in message
        seen.append((len(plan.offloaded_layers), plan.context_length))
    else:
        pytest.fail("replan_after_oom never gave up")
    assert [n for n, _ in seen] == sorted(n for n, _ in seen)
    assert any(ctx < 32768 for _, ctx in seen) and seen[0] == (seen[0][0], 32768)


@pytest.mark.parametrize("budget, context", [(-1, 16), (GiB, -1)])
def test_bad_inputs(budget, context):
    """Negative budgets and contexts are programming errors."""
    with pytest.raises(ValueError):
        make_plan(CFG, budget, context)


@pytest.mark.parametrize("device", ["cuda", "cpu"])
@pytest.mark.parametrize("context", [64, 2048])
def test_min_budget_and_max_context_are_exact_for_a_tiny_model_too(device, context):
    """In a tiny model the experts weigh less than an offloading prefill chunk's working memory, so the
    smallest plan may keep every expert on the device (the embedding in host memory): min_budget_bytes and
    max_context still name the exact edge of what fits."""
    cfg = tiny_config(num_hidden_layers=4, num_experts=8, experts_per_token=2)
    opts = PlanOptions(device=device)
    least = make_plan(cfg, None, context, options=opts).min_budget_bytes
    assert make_plan(cfg, least, context, options=opts).fits
    assert not make_plan(cfg, least - 1, context, options=opts).fits
    short = make_plan(cfg, least - 1, context, options=opts)
    assert 0 < short.max_context < context and make_plan(cfg, least - 1, short.max_context, options=opts).fits


@pytest.mark.parametrize(
    "cfg, budget",
    [(tiny_config(), 300 * 2**20), (CFG, 2 * GiB), (CFG, 3 * GiB)],
    ids=["tiny-300MiB", "20b-2GiB", "20b-3GiB"],
)
def test_a_refusal_names_every_part_and_they_add_up(cfg, budget):
    """When nothing fits on a GPU budget, the parts the message names (the CUDA reserve too) add up to
    the least budget it gives."""
    import re

    plan = make_plan(cfg, budget, 8192, options=PlanOptions(device="cuda"))
    assert not plan.fits
    sizes = [parse_size(s.replace(" ", "")) for s in re.findall(r"\((\d+(?:\.\d+)? [KMGT]?i?B)\)", plan.problem)]
    needed = re.search(r"needs at least (\d+(?:\.\d+)? [KMGT]?i?B)", plan.problem).group(1)
    assert "reserve" in plan.problem
    assert sum(sizes) == pytest.approx(parse_size(needed.replace(" ", "")), rel=0.02)
    assert parse_size(needed.replace(" ", "")) == pytest.approx(plan.min_budget_bytes, rel=0.01)


BIG = PRESETS["gpt-oss-120b"]


def test_120b_on_a_16_gib_card_with_64_gib_of_ram_keeps_most_experts_in_ram():
    """gpt-oss-120b on a 16 GiB card (less the desktop's share) and 64 GiB of RAM: the experts of most
    layers live in RAM, within what the machine can spare for them."""
    from engine.placement.host_memory import host_memory_for

    plan = make_plan(BIG, 15 * GiB, 16384, options=PlanOptions(host_memory=host_memory_for(64 * GiB)))
    assert plan.fits and not plan.ram_short
    assert 0 < len(plan.offloaded_layers) < BIG.num_hidden_layers
    assert plan.total_device_bytes <= 15 * GiB
    assert 40 * GiB < plan.total_host_bytes <= host_memory_for(64 * GiB)
    assert "layers in RAM" in plan.summary()


def test_120b_with_32_gib_of_ram_is_refused_with_the_reason():
    """With 32 GiB of RAM the same card's placement would pin more experts than the machine can spare:
    refused, and the words name the RAM needed and the RAM there is."""
    from engine.placement.host_memory import host_memory_for

    spare = host_memory_for(32 * GiB)
    plan = make_plan(BIG, 15 * GiB, 16384, options=PlanOptions(host_memory=spare))
    assert not plan.fits and plan.ram_short
    assert "RAM" in plan.problem and format_size(plan.total_host_bytes) in plan.problem
    assert format_size(spare) in plan.problem
    assert plan.summary().startswith("Does not fit:") and "of RAM needed" in plan.summary()


def test_120b_on_a_24_gib_card_keeps_fewer_layers_in_ram():
    """A 24 GiB card holds more layers whole than a 16 GiB one; 64 GiB of RAM holds the rest."""
    from engine.placement.host_memory import host_memory_for

    options = PlanOptions(host_memory=host_memory_for(64 * GiB))
    small = make_plan(BIG, 15 * GiB, 16384, options=options)
    large = make_plan(BIG, 23 * GiB, 16384, options=options)
    assert large.fits and len(large.offloaded_layers) < len(small.offloaded_layers)
    assert large.total_host_bytes < small.total_host_bytes


def test_the_ram_reserve_leaves_the_desktop_room():
    """A plan may pin all of the RAM but a reserve: at least 4 GiB, a tenth of a large machine."""
    from engine.placement.host_memory import host_memory_for

    assert host_memory_for(16 * GiB) == 12 * GiB
    assert host_memory_for(128 * GiB) == 128 * GiB - int(0.1 * 128 * GiB)
    assert host_memory_for(2 * GiB) == 0


def test_cli_plan_takes_the_machines_ram():
    """`engine plan --ram` checks the experts in RAM against it: exit 1 and the reason when they do not fit."""
    args = ["--preset", "gpt-oss-120b", "--vram", "15GiB", "--context", "16384"]
    short = subprocess.run(
        [sys.executable, "-m", "engine", "plan", *args, "--ram", "32GiB"], capture_output=True, text=True
    )
    assert short.returncode == 1 and "of RAM needed" in short.stdout
    enough = subprocess.run(
        [sys.executable, "-m", "engine", "plan", *args, "--ram", "64GiB"], capture_output=True, text=True
    )
    assert enough.returncode == 0 and "layers in RAM" in enough.stdout
