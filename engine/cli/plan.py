"""``python -m engine plan``: where the weights go for a VRAM budget and a context length.

The model comes from a folder (``--model``, either layout), a config.json (``--config``), or a built-in
shape (``--preset gpt-oss-20b``), so a plan can be made before downloading. ``--vram`` takes bytes or
units (12GiB, 12GB, 12000MB, 8G) or "auto" (this machine's free GPU memory less a reserve; needs CUDA).
Exit status 0 when the plan fits, 1 when it does not (the text says what would).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from engine.errors import EngineError
from engine.io.checkpoint import read_config


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from engine.placement.plan import PRESETS

    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--model", help="model folder (either layout)")
    source.add_argument("--config", help="a gpt-oss config.json (either layout)")
    source.add_argument("--preset", choices=sorted(PRESETS), help="a built-in model shape")
    parser.add_argument(
        "--vram",
        default=None,
        help="GPU memory budget: bytes, 12GiB, 12GB, 12000MB, 8G, or auto (default: no limit)",
    )
    parser.add_argument(
        "--ram",
        default=None,
        help="RAM of the machine to plan for: a size such as 64GiB, or auto (this machine's); experts that "
        "stay in host memory must fit it, less a reserve for everything else (default: not checked)",
    )
    parser.add_argument(
        "--context", type=int, default=None, help="context length in tokens (default: the model's)"
    )
    parser.add_argument(
        "--device",
        choices=("cuda", "cpu"),
        default="cuda",
        help="plan for a GPU, or for the CPU with a simulated budget (default: cuda)",
    )
    parser.add_argument("--prefill-chunk", type=int, default=None, help="positions per prefill step")
    parser.add_argument(
        "--all-logits", action="store_true", help="working memory for logits of every position"
    )
    parser.add_argument(
        "--fused-kernels",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="plan for the Triton kernels (MXFP4 experts, flash attention: less working memory), as on CUDA "
        "8.0+ with Triton (default: with --vram auto, what this machine runs; otherwise not)",
    )
    parser.add_argument("--offload-order", choices=("spread", "last"), default="spread")
    parser.add_argument("--json", action="store_true", help="print the plan as one JSON object")
    from engine.cli._model_args import add_host_experts_argument

    add_host_experts_argument(parser)


def _config(args):
    from engine.config import ModelConfig
    from engine.placement.plan import PRESETS

    if args.preset:
        return PRESETS[args.preset], args.preset
    if args.config:
        return ModelConfig.from_json_file(Path(args.config)), Path(args.config).resolve().parent.name
    return read_config(args.model), Path(args.model).resolve().name


def resolve_budget(setting: str | int | None, device: str = "cuda") -> tuple[int | None, str]:
    """A --vram / settings value -> (bytes or None, source). Raises EngineError with what to write instead."""
    from engine.placement.memory import parse_size
    from engine.placement.plan import auto_budget

    if setting is None or setting == "":
        return None, "none"
    if isinstance(setting, str) and setting.strip().lower() == "auto":
        import torch

        if device != "cuda" or not torch.cuda.is_available():
            raise EngineError("--vram auto needs a CUDA GPU; give a size such as 12GiB to plan for one.")
        return auto_budget()[0], "auto"
    try:
        return parse_size(setting), "user"
    except ValueError as error:
        raise EngineError(f"--vram: {error}.") from None


def _machine_runs_fused() -> bool:
    import torch

    from engine import kernels

    return kernels.use_fused(torch.device("cuda"))


def resolve_host_memory(setting: str | None) -> int | None:
    """A --ram value -> the bytes a plan may keep in host memory (None: not checked)."""
    from engine.placement.host_memory import auto_host_memory, host_memory_for
    from engine.placement.memory import parse_size

    if setting is None or setting == "":
        return None
    if setting.strip().lower() == "auto":
        available = auto_host_memory()
        if available is None:
            raise EngineError("--ram auto: this machine's RAM cannot be read; give a size such as 64GiB.")
        return available
    try:
        return host_memory_for(parse_size(setting))
    except ValueError as error:
        raise EngineError(f"--ram: {error}.") from None


def run(args: argparse.Namespace) -> int:
    from engine.placement.plan import PlanOptions, make_plan

    cfg, name = _config(args)
    if args.context is not None and args.context < 1:
        raise EngineError("--context must be at least 1.")
    if args.prefill_chunk is not None and args.prefill_chunk < 1:
        raise EngineError("--prefill-chunk must be at least 1.")
    budget, source = resolve_budget(args.vram, args.device)
    fused = args.fused_kernels
    if fused is None:  # the machine's own choice only when planning for its own GPU
        fused = source == "auto" and _machine_runs_fused()
    options = PlanOptions(
        device=args.device,
        prefill_chunk=args.prefill_chunk,
        all_logits=args.all_logits,
        fused_kernels=fused,
        offload_order=args.offload_order,
        host_memory=resolve_host_memory(args.ram),
    )
    plan = make_plan(cfg, budget, args.context, options=options, budget_source=source, model=name)
    host = host_experts_choice(args.host_experts, cfg, plan)
    if args.json:
        print(json.dumps({**plan.to_dict(), "host_experts": host}))
    else:
        print(plan.summary())
        print(plan.describe())
        if host is not None:
            from engine.offload.cost import describe_choice

            print(describe_choice(host))
    return 0 if plan.fits else 1


def host_experts_choice(setting: str | None, cfg, plan) -> dict | None:
    """How the experts the plan leaves in host memory will be computed (engine/offload/cost.py ``choice``,
    with assumed numbers: the real ones are measured when a model loads), or None when none are there."""
    from engine.offload.cost import assumed, choice, expert_flops
    from engine.offload.hybrid import resolve_mode

    mode = resolve_mode(setting)
    if not plan.offloads:
        return None
    costs = assumed(cfg.expert_bytes(), expert_flops(cfg.hidden_size, cfg.intermediate_size))
    return choice(mode, costs, cfg.experts_per_token)
