"""``--vram`` on the commands that load a model: on the CPU it simulates a GPU budget, offloading experts
exactly as a GPU would, and changes no number."""

from __future__ import annotations

import json

import numpy as np
import pytest

from engine.__main__ import main
from engine.io.checkpoint import read_config
from engine.placement.plan import PlanOptions, make_plan

IDS = "200006,1428,200008,13225,11,1495,553,481,30,200007,200006,173781,200005,35644,200008,976,1825,382,4376"


def budgets(model_dir, context: int = len(IDS.split(",")), all_logits: bool = True) -> dict[str, int]:
    """Budgets whose plans offload the experts of no, some and all layers (default: logits of IDS)."""
    cfg = read_config(model_dir)
    opts = PlanOptions(device="cpu", all_logits=all_logits)
    full = make_plan(cfg, None, context, options=opts)
    out = {
        "none": full.full_budget_bytes - 1,  # all experts on the "GPU", the embedding in host memory
        "some": full.min_budget_bytes + 2 * cfg.num_experts * cfg.expert_bytes(),
        "all": full.min_budget_bytes,
    }
    offloaded = {
        name: len(make_plan(cfg, b, context, options=opts).offloaded_layers) for name, b in out.items()
    }
    assert offloaded["none"] == 0 and 0 < offloaded["some"] < cfg.num_hidden_layers
    assert offloaded["all"] == cfg.num_hidden_layers
    return out


@pytest.mark.parametrize("mode", ["prefill", "decode"])
def test_logits_with_a_budget_equal_logits_without(offload_model_dir, tmp_path, capsys, mode):
    """python -m engine logits --vram SIZE: bit-identical logits whether no, some or all experts are offloaded."""
    want = tmp_path / "none.npy"
    args = ["logits", "--model", str(offload_model_dir), "--ids", IDS, "--mode", mode]
    assert main([*args, "--out", str(want)]) == 0
    for name, budget in budgets(offload_model_dir).items():
        got = tmp_path / f"{name}.npy"
        assert main([*args, "--out", str(got), "--vram", str(budget)]) == 0, name
        assert "GPU (simulated)" in capsys.readouterr().err
        np.testing.assert_array_equal(np.load(got), np.load(want), err_msg=name)


def test_logits_with_a_budget_too_small(offload_model_dir, tmp_path, capsys):
    """A budget below the smallest plan fails with the plan's explanation, not a traceback."""
    small = budgets(offload_model_dir)["all"] // 2
    code = main(["logits", "--model", str(offload_model_dir), "--ids", IDS, "--out", str(tmp_path / "x.npy"),
                 "--vram", str(small)])  # fmt: skip
    err = capsys.readouterr().err
    assert code == 1 and err.startswith("error: A budget of") and "Traceback" not in err


def test_bench_reports_the_plan_and_the_expert_cache(offload_model_dir, capsys):
    """bench --vram: the JSON has the plan, the decode's expert hit rate and host-to-device bytes per token."""
    budget = budgets(offload_model_dir, context=12 + 4 + 2, all_logits=False)["all"]  # bench's context
    args = ["bench", "--model", str(offload_model_dir), "--prompt-tokens", "12", "--gen-tokens", "4"]
    assert main([*args, "--vram", str(budget), "--kernels", "torch"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert "experts of 4 of 4 layers in RAM" in result["plan"] and result["budget_bytes"] == budget
    assert 0 <= result["expert_hit_rate"] <= 1 and result["h2d_bytes_per_token"] > 0
    assert result["offload"]["tokens"] == 4 and result["offload_prefill"]["tokens"] == 12
    assert result["kernels"] == "torch" and result["fused_kernels"] is False
    assert main(args) == 0
    plain = json.loads(capsys.readouterr().out)
    assert plain["plan"] == "everything on cpu" and plain["h2d_bytes_per_token"] == 0


def test_bench_compares_kernel_modes_on_one_model(offload_model_dir, capsys):
    """--kernels torch,auto: one run each on the same model, the same greedy tokens (on a CPU, auto is the numba
    kernels: the same numbers up to the order of float32 additions and, on AVX2, the experts' inputs rounded
    to 16 bits, so logits within a bf16 step or two: 0.0625 at this model's logits of 8 to 16)."""
    args = ["bench", "--model", str(offload_model_dir), "--prompt-tokens", "8", "--gen-tokens", "3"]
    assert main([*args, "--kernels", "torch,auto"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert [v["kernels"] for v in result["variants"]] == ["torch", "auto"]
    assert result["variants"][1]["same_tokens_as_first"] == 3
    assert result["variants"][1]["prefill_logits_max_abs_diff"] <= 0.125


@pytest.mark.parametrize("args, words", [(["--kernels", "cuda"], "--kernels takes"),
                                         (["--kernels", "triton"], "need a CUDA GPU"),
                                         (["--vram", "lots"], "GPU memory budget")])  # fmt: skip
def test_bench_errors(offload_model_dir, capsys, args, words):
    assert main(["bench", "--model", str(offload_model_dir), *args]) == 1
    assert words in capsys.readouterr().err


def test_generate_with_a_budget_gives_the_same_answer(offload_model_dir, capsys):
    """generate (and chat, through the same arguments) takes --vram, bytes or units: same greedy tokens."""
    args = ["generate", "--model", str(offload_model_dir), "--prompt", "Hi", "--max-tokens", "4",
            "--temperature", "0", "--device", "cpu", "--context", "128", "--json"]  # fmt: skip
    assert main(args) == 0
    want = json.loads(capsys.readouterr().out)["tokens"]
    budget = budgets(offload_model_dir, context=128, all_logits=False)["some"]
    assert main([*args, "--vram", f"{budget / 2**20:.4f}MiB"]) == 0
    assert json.loads(capsys.readouterr().out)["tokens"] == want
    assert main([*args, "--vram", "auto"]) == 0  # no GPU to measure: nothing offloaded
    assert main([*args, "--vram", "12 apples"]) == 1
    assert "GPU memory budget" in capsys.readouterr().err


def test_bench_cuda_graphs_variants(offload_model_dir, capsys, monkeypatch):
    """--cuda-graphs off,on: both runs on one model (graphs stood in for by eager reruns on the CPU: the
    real ones need a GPU); the graphs are captured in the warm-up, none while timing; same greedy tokens."""
    from engine.cli import bench
    from engine.runtime import decode_graph
    from tests.engine.test_decode_graph import eager_capture

    def use_graphs(model, on):
        model.decode_graphs = decode_graph.DecodeGraphs(model, capture=eager_capture) if on else None

    args = ["bench", "--model", str(offload_model_dir), "--prompt-tokens", "8", "--gen-tokens", "4"]
    assert main([*args, "--cuda-graphs", "on"]) == 1  # the real thing on a CPU: no
    assert "CUDA graphs need a CUDA device" in capsys.readouterr().err
    monkeypatch.setattr(bench, "use_graphs", use_graphs)
    assert main([*args, "--cuda-graphs", "off,on", "--dense-cache-mib", "0"]) == 0
    off, on = json.loads(capsys.readouterr().out)["variants"]
    assert (off["cuda_graphs"], on["cuda_graphs"]) == (False, True)
    assert on["graphs_captured_in_timed_run"] == 0 and on["same_tokens_as_first"] == 4
