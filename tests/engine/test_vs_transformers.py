"""Our logits against transformers' GptOssForCausalLM on the same random checkpoints.

Where the two routers meet a near-tie they may choose different experts, so logits are compared with
transformers' expert choices imposed on us, and our own choices are checked against them separately
(tests/engine/routing_check.py).
"""

from __future__ import annotations

import pytest
import torch

from engine.runtime.loader import load_model
from tests.engine.logits_check import assert_logits_close
from tests.engine.routing_check import forced_logits
from tests.engine.shapes import SHAPES

transformers = pytest.importorskip("transformers")


def run_transformers(model_dir, ids: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
    """transformers' logits [T, V] and router logits per layer [T, E]."""
    from transformers import GptOssForCausalLM, Mxfp4Config

    transformers.logging.set_verbosity_error()
    # On CPU transformers runs MXFP4 checkpoints dequantized to bf16 (its MXFP4 kernels need a GPU).
    model = GptOssForCausalLM.from_pretrained(
        str(model_dir), dtype=torch.bfloat16, quantization_config=Mxfp4Config(dequantize=True)
    )
    with torch.inference_mode():
        out = model(ids[None], output_router_logits=True)
    return out.logits[0].float(), list(out.router_logits)


@pytest.mark.parametrize("name", list(SHAPES))
def test_logits_match_transformers(name, make_checkpoint):
    """Prefill logits agree with transformers over a sequence several sliding windows long."""
    cfg = SHAPES[name]
    model_dir = make_checkpoint(cfg, layout="hf", seed=1)
    ids = torch.randint(
        0, cfg.vocab_size, (12 * cfg.sliding_window,), generator=torch.Generator().manual_seed(7)
    )
    theirs, their_routing = run_transformers(model_dir, ids)
    model = load_model(model_dir)
    assert_logits_close(forced_logits(model, ids, their_routing, cfg.experts_per_token), theirs)


def test_decode_matches_transformers(make_checkpoint):
    """Token-by-token decoding through our KV cache agrees with transformers' full-sequence logits."""
    cfg = SHAPES["gqa-top3"]
    model_dir = make_checkpoint(cfg, layout="hf", seed=2)
    ids = torch.randint(0, cfg.vocab_size, (40,), generator=torch.Generator().manual_seed(3))
    theirs, their_routing = run_transformers(model_dir, ids)
    model = load_model(model_dir)
    ours = forced_logits(model, ids, their_routing, cfg.experts_per_token, decode=True)
    assert_logits_close(ours, theirs)


def test_real_vocabulary_model_matches_transformers(tiny_model_dir):
    """The shared tiny model (real 201088-token vocabulary) agrees with transformers too."""
    ids = torch.randint(0, 200000, (24,), generator=torch.Generator().manual_seed(5))
    theirs, their_routing = run_transformers(tiny_model_dir, ids)
    model = load_model(tiny_model_dir)
    assert_logits_close(forced_logits(model, ids, their_routing, model.config.experts_per_token), theirs)
