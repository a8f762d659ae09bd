"""``python -m engine logits``: the float32 logits of every position of a token sequence, as .npy.

For checks against other implementations: ``--mode prefill`` runs the sequence in one call (chunked
internally), ``--mode decode`` feeds it one token at a time through the KV cache.
"""

from __future__ import annotations

import argparse
import sys
import time

from engine.cli._model_args import add_vram_argument, check_model
from engine.errors import EngineError, NonFiniteLogitsError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", required=True, help="model folder (either layout)")
    parser.add_argument("--ids", required=True, help="token ids, comma-separated: 1,2,3")
    parser.add_argument("--out", required=True, help="where to write the [T, vocab] float32 .npy")
    parser.add_argument("--device", default="cpu", help="cpu, cuda, cuda:N or auto (default: cpu)")
    parser.add_argument("--mode", choices=("prefill", "decode"), default="prefill")
    parser.add_argument("--chunk", type=int, default=None, help="prefill chunk size (positions per step)")
    add_vram_argument(parser)
    parser.add_argument(
        "--int8", action="store_true", help="8-bit attention projections and unembedding (engine/layers/int8_linear.py)"
    )


def parse_ids(text: str, vocab_size: int | None = None) -> list[int]:
    try:
        ids = [int(part) for part in text.replace(" ", "").split(",") if part]
    except ValueError:
        raise EngineError(f"--ids must be comma-separated integers, not {text!r}.") from None
    if not ids:
        raise EngineError("--ids is empty; give at least one token id.")
    if vocab_size is not None and any(not 0 <= i < vocab_size for i in ids):
        bad = next(i for i in ids if not 0 <= i < vocab_size)
        raise EngineError(f"token id {bad} is outside the model's vocabulary (0..{vocab_size - 1}).")
    return ids


def run(args: argparse.Namespace) -> int:
    import torch

    from engine.io.npy import write_npy
    from engine.placement.plan import PlanOptions
    from engine.runtime.loader import load_model

    ids = parse_ids(args.ids)
    note = check_model(args.model)
    # the context is the sequence; prefill keeps the logits of every position (the plan's working memory)
    options = PlanOptions(all_logits=args.mode == "prefill")
    model = load_model(
        args.model,
        device=args.device,
        vram_budget=args.vram,
        context_length=len(ids),
        plan_options=options,
        int8_weights=args.int8,
    )
    if note:
        print(f"note: {note}", file=sys.stderr)
    parse_ids(args.ids, model.config.vocab_size)
    if args.chunk:
        model.prefill_chunk = args.chunk
    tokens = torch.tensor(ids, dtype=torch.long)
    cache = model.new_cache(len(ids))
    started = time.perf_counter()
    if args.mode == "prefill":
        logits = model.forward(tokens, cache)
    else:
        logits = torch.cat([model.forward(tokens[i : i + 1], cache) for i in range(len(ids))])
    if not bool(torch.isfinite(logits).all()):
        bad = int((~torch.isfinite(logits)).any(dim=-1).nonzero()[0, 0])
        raise NonFiniteLogitsError(
            f"The model produced NaN or infinite logits (first at position {bad}), so {args.out} was not "
            "written. Its files may be damaged: run `python -m engine models verify NAME` (or Verify in the "
            "app's Models), or re-download the model."
        )
    write_npy(args.out, logits)
    print(
        f"wrote {args.out}: {list(logits.shape)} float32 logits ({args.mode}, "
        f"{time.perf_counter() - started:.2f} s on {model.device}; {model.plan.summary()})",
        file=sys.stderr,
    )
    return 0
