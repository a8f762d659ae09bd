"""Small pieces: the fit estimate, progress numbers, repo specs, git blob ids, file selection."""

from __future__ import annotations

import pytest

from engine.hub.catalog import BUILTIN, parse_repo_spec
from engine.hub.fit import (
    CPU,
    CPU_ONLY,
    FIT_CONTEXT,
    GPU,
    NO_DISK,
    NO_RAM,
    NONE,
    ON_GPU,
    PARTIAL,
    PLANNED,
    RAM_RESERVE,
    SOME_IN_RAM,
    estimate_fit,
    expert_bytes_from_config,
)
from engine.hub.fsutil import human_bytes
from engine.hub.hashing import FileHasher, git_blob_sha1
from engine.hub.layout import HF, ORIGINAL, select_files
from engine.hub.progress import ProgressTracker

GB = 1_000_000_000
TWENTY = BUILTIN[0]


NO_FACTS = {"needed_bytes": None, "available_bytes": None, "vram": None, "plan": None, "context_length": None}


@pytest.mark.parametrize(
    "free_disk, ram, vram, verdict, kind, facts",
    [
        (100 * GB, 64 * GB, 24 * GB, GPU, ON_GPU, {"vram": 24 * GB}),
        (100 * GB, 64 * GB, 8 * GB, PARTIAL, SOME_IN_RAM, {"vram": 8 * GB}),
        (100 * GB, 32 * GB, None, CPU, CPU_ONLY, {}),
        (100 * GB, 32 * GB, 2 * GB, CPU, CPU_ONLY, {"vram": 2 * GB}),
        (
            100 * GB,
            8 * GB,
            None,
            NONE,
            NO_RAM,
            {"needed_bytes": TWENTY.download_bytes + RAM_RESERVE, "available_bytes": 8 * GB},
        ),
        (
            5 * GB,
            64 * GB,
            24 * GB,
            NONE,
            NO_DISK,
            {"needed_bytes": TWENTY.download_bytes, "available_bytes": 5 * GB},
        ),
    ],
)
def test_fit_estimate_for_gpt_oss_20b(free_disk, ram, vram, verdict, kind, facts):
    """gpt-oss-20b: on a 24 GB GPU, partly on 8 GB, CPU-only with RAM (no GPU, or one too small), nowhere
    with 8 GB RAM or 5 GB disk; each estimate names its case and carries the numbers its sentence says."""
    fit = estimate_fit(
        TWENTY.download_bytes, TWENTY.expert_bytes, TWENTY.non_expert_bytes, free_disk, ram, vram
    )
    assert fit.verdict == verdict and fit.reason
    assert fit.disk_ok == (free_disk >= TWENTY.download_bytes)
    assert fit.kind == kind
    assert {name: getattr(fit, name) for name in NO_FACTS} == NO_FACTS | facts
    for size in facts.values():
        assert human_bytes(size) in fit.reason


def test_expert_bytes_match_the_published_sizes():
    """Experts from the 20b config plus the bf16 parameters give the published shard total, headers aside."""
    config = {
        "num_hidden_layers": 24,
        "num_local_experts": 32,
        "hidden_size": 2880,
        "intermediate_size": 2880,
    }
    experts = expert_bytes_from_config(config)
    assert experts == TWENTY.expert_bytes
    bf16_bytes = 2 * 1_804_459_584 - 24 * 32 * (5760 + 2880) * 2  # expert biases are counted with experts
    assert 0 < TWENTY.download_bytes - experts - bf16_bytes < 100_000  # the safetensors headers


def test_progress_speed_and_eta():
    """Speed is measured over recent seconds of moved bytes; resumed bytes count as done but not as speed."""
    now = [0.0]
    seen = []
    tracker = ProgressTracker("m", "download", 1000, 1, seen.append, clock=lambda: now[0])
    tracker.skip(400)
    for _ in range(5):
        now[0] += 1.0
        tracker.advance(100)
    last = seen[-1]
    assert (
        last.bytes_done == 900 and last.speed_bps == pytest.approx(100.0) and last.eta_s == pytest.approx(1.0)
    )
    assert last.fraction == pytest.approx(0.9)


@pytest.mark.parametrize(
    "spec, parsed",
    [
        ("openai/gpt-oss-20b", ("openai/gpt-oss-20b", "main")),
        ("me/gpt-oss-ft@v1.2", ("me/gpt-oss-ft", "v1.2")),
        ("gpt-oss-20b", None),
        ("a/b/c", None),
    ],
)
def test_repo_specs(spec, parsed):
    """owner/name[@revision], revision main by default."""
    assert parse_repo_spec(spec) == parsed


def test_git_blob_sha1_runs_alongside_sha256():
    """The streamed git blob id equals git's own formula (e.g. the empty blob e69de29...)."""
    assert git_blob_sha1(b"") == "e69de29bb2d1d6434b8b29ae775ad8c2e48c5391"
    hasher = FileHasher(git_size=11)
    hasher.update(b"hello ")
    hasher.update(b"world")
    assert hasher.git_sha1() == git_blob_sha1(b"hello world")


def test_select_files_never_takes_two_layouts():
    """The real 20b repo's files: the HF layout and small files only, never original/ or metal/."""
    repo = [
        ".gitattributes",
        "LICENSE",
        "README.md",
        "USAGE_POLICY",
        "chat_template.jinja",
        "config.json",
        "generation_config.json",
        "metal/model.bin",
        "model-00000-of-00002.safetensors",
        "model-00001-of-00002.safetensors",
        "model-00002-of-00002.safetensors",
        "model.safetensors.index.json",
        "original/config.json",
        "original/dtypes.json",
        "original/model.safetensors",
        "special_tokens_map.json",
        "tokenizer.json",
        "tokenizer_config.json",
    ]
    layout, files = select_files(repo)
    assert layout == HF and files[0] == "config.json"
    assert set(files) == {
        "config.json",
        "generation_config.json",
        "model.safetensors.index.json",
        "LICENSE",
        "USAGE_POLICY",
        *(f"model-0000{i}-of-00002.safetensors" for i in range(3)),
    }
    only_original = [p for p in repo if not p.startswith("model") and p != "config.json"]
    assert select_files(only_original) == (ORIGINAL, ["original/config.json", "original/model.safetensors"])
    assert select_files(["README.md", "config.json"]) is None


@pytest.mark.parametrize(
    "vram, verdict, words, kind",
    [
        (24 * GB, GPU, "everything on the GPU", PLANNED),
        (12 * GB, PARTIAL, "layers in RAM", PLANNED),
        (2 * GB, CPU, "CPU only", CPU_ONLY),
    ],
)
def test_fit_estimate_asks_the_planner_when_the_shape_is_known(vram, verdict, words, kind):
    """With the model's config, the GPU answer is the engine planner's: the reason is its summary, and the
    facts are the plan's own (Plan.facts) and its context."""
    from engine.placement.plan import PRESETS, make_plan

    fit = estimate_fit(
        TWENTY.download_bytes, TWENTY.expert_bytes, TWENTY.non_expert_bytes, 100 * GB, 64 * GB, vram,
        config=PRESETS["gpt-oss-20b"],
    )
    assert fit.verdict == verdict and words in fit.reason and fit.kind == kind
    if kind != PLANNED:
        assert (fit.plan, fit.context_length, fit.vram) == (None, None, vram)
        return
    assert fit.context_length == FIT_CONTEXT and f"({FIT_CONTEXT:,} tokens of context)" in fit.reason
    plan = make_plan(PRESETS["gpt-oss-20b"], fit.plan["budget_bytes"], FIT_CONTEXT)
    assert fit.plan == plan.facts() and fit.reason.startswith(plan.summary())
    assert fit.plan["device"] == "cuda" and fit.plan["budget_bytes"] < vram
    assert (fit.plan["num_offloaded_layers"] > 0) == (verdict == PARTIAL)


def test_fit_estimate_for_gpt_oss_120b_counts_the_ram_its_experts_take():
    """gpt-oss-120b with a 16 GiB GPU: it runs with experts in RAM when the machine has 64 GiB, and is
    refused, naming the RAM its experts need, with 32 GiB."""
    from engine.hub.fit import NO_RAM_FOR_EXPERTS
    from engine.placement.plan import PRESETS

    big, gib = BUILTIN[1], 2**30
    assert big.name == "gpt-oss-120b"

    def fit(ram):
        return estimate_fit(
            big.download_bytes, big.expert_bytes, big.non_expert_bytes, 200 * GB, ram, 16 * gib,
            config=PRESETS["gpt-oss-120b"],
        )

    roomy = fit(64 * gib)
    assert roomy.verdict == PARTIAL and roomy.kind == PLANNED and roomy.plan["num_offloaded_layers"] > 0
    short = fit(32 * gib)
    assert short.verdict == NONE and short.kind == NO_RAM_FOR_EXPERTS
    assert short.needed_bytes > short.available_bytes and short.vram == 16 * gib
    assert human_bytes(short.needed_bytes) in short.reason
