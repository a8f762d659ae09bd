"""--host-experts on the command line: plan says how experts in host memory will be computed, bench
compares the modes on one model and reports cpu_expert_fraction."""

from __future__ import annotations

import json

import pytest

from engine.__main__ import main
from engine.kernels import cpu_available
from tests.offload.test_cli_vram import budgets


@pytest.mark.parametrize(
    "mode, words",
    [
        (None, "host experts: auto"),
        ("auto", "computes 3 on the CPU and copies 1"),
        ("copy", "host experts: copy"),
        ("cpu", "host experts: cpu"),
    ],
)
def test_plan_shows_the_choice(capsys, monkeypatch, mode, words):
    """The plan's last line names the mode; auto shows what it would do with the assumed numbers."""
    monkeypatch.delenv("GOSSAMER_HOST_EXPERTS", raising=False)
    args = ["plan", "--preset", "gpt-oss-20b", "--vram", "8GiB", "--context", "4096"]
    assert main(args + (["--host-experts", mode] if mode else [])) == 0
    last = capsys.readouterr().out.splitlines()[-1]
    assert last.startswith("host experts:") and words in last
    assert "assumed numbers (copy 0.9" in last or mode in ("copy", "cpu")


def test_plan_json_and_the_environment(capsys, monkeypatch):
    """--json carries the choice; GOSSAMER_HOST_EXPERTS sets it, an explicit argument wins; nothing offloaded:
    no choice; a wrong mode exits 1 with the choices."""
    monkeypatch.setenv("GOSSAMER_HOST_EXPERTS", "cpu")
    args = ["plan", "--preset", "gpt-oss-20b", "--vram", "12GiB", "--json"]
    assert main(args) == 0
    assert json.loads(capsys.readouterr().out)["host_experts"]["mode"] == "cpu"
    assert main([*args, "--host-experts", "copy"]) == 0
    data = json.loads(capsys.readouterr().out)["host_experts"]
    assert data["mode"] == "copy" and data["cpu_of_all_missing"] == 0 and data["costs"]["source"] == "assumed"
    assert main(["plan", "--preset", "gpt-oss-20b", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["host_experts"] is None
    assert main([*args, "--host-experts", "gpu"]) == 1
    assert "copy or cpu" in capsys.readouterr().err


@pytest.mark.skipif(not cpu_available(), reason="the CPU kernels need numba")
def test_bench_compares_host_expert_modes(offload_model_dir, capsys):
    """bench --host-experts copy,cpu: one run each on the same model; copy computes nothing on the CPU, cpu
    every miss of the decode; the same greedy tokens."""
    budget = budgets(offload_model_dir, context=12 + 4 + 2, all_logits=False)["all"]
    args = ["bench", "--model", str(offload_model_dir), "--prompt-tokens", "12", "--gen-tokens", "4"]
    assert main([*args, "--vram", str(budget), "--host-experts", "copy,cpu"]) == 0
    result = json.loads(capsys.readouterr().out)
    copy, cpu = result["variants"]
    assert result["cpu_expert_fraction"] == copy["cpu_expert_fraction"] == 0
    assert copy["host_experts"]["mode"] == "copy" and cpu["host_experts"]["mode"] == "cpu"
    assert 0 < cpu["cpu_expert_fraction"] <= 1 and cpu["offload"]["misses"] == 0
    assert cpu["cpu_expert_fraction"] == cpu["offload"]["cpu_expert_fraction"]
    assert cpu["same_tokens_as_first"] == 4
    assert main([*args, "--host-experts", "sometimes"]) == 1


@pytest.mark.skipif(not cpu_available(), reason="the CPU kernels need numba")
def test_generate_with_the_cpu_computing_gives_the_same_answer(offload_model_dir, capsys):
    """generate (and chat, through the same arguments) --host-experts cpu with a budget: the same greedy
    tokens as everything resident; chat's first line names the mode."""
    from types import SimpleNamespace

    from engine.cli._model_args import describe
    from engine.runtime.loader import load_model

    args = ["generate", "--model", str(offload_model_dir), "--prompt", "Hi", "--max-tokens", "4",
            "--temperature", "0", "--device", "cpu", "--context", "128", "--json"]  # fmt: skip
    assert main(args) == 0
    want = json.loads(capsys.readouterr().out)["tokens"]
    budget = budgets(offload_model_dir, context=128, all_logits=False)["all"]
    assert main([*args, "--vram", str(budget), "--host-experts", "cpu"]) == 0
    assert json.loads(capsys.readouterr().out)["tokens"] == want
    assert main([*args, "--host-experts", "never"]) == 1
    assert "copy or cpu" in capsys.readouterr().err
    model = load_model(offload_model_dir, "cpu", budget, 128, host_experts="cpu")
    assert "host experts: cpu" in describe(SimpleNamespace(model=model))
