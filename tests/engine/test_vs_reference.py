"""Our logits against OpenAI's reference PyTorch model (PyPI gpt-oss, gpt_oss/torch/model.py).

The package declares Python >= 3.12 but its torch model runs on 3.11; install it with
``pip install --no-deps --ignore-requires-python gpt-oss``. Without it these tests are skipped.
Routing near-ties are handled as in test_vs_transformers.py.
"""

from __future__ import annotations

import pytest
import torch

from engine.runtime.loader import load_model
from tests.engine.logits_check import assert_logits_close
from tests.engine.routing_check import forced_logits
from tests.engine.shapes import REFERENCE_SHAPES

reference = pytest.importorskip(
    "gpt_oss.torch.model",
    reason="the gpt-oss reference is not installed: pip install --no-deps --ignore-requires-python gpt-oss",
)


def run_reference(original_dir, ids: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
    """The reference's logits [T, V] and router logits per layer [T, E] (read off its gate layers)."""
    model = reference.Transformer.from_checkpoint(str(original_dir), device="cpu")
    router_logits: list[torch.Tensor] = []
    for block in model.block:
        block.mlp.gate.register_forward_hook(lambda module, args, out: router_logits.append(out.detach()))
    with torch.inference_mode():
        logits = model(ids).float()
    return logits, router_logits


@pytest.mark.parametrize("name", list(REFERENCE_SHAPES))
def test_logits_match_reference(name, make_checkpoint):
    """Prefill logits agree with the reference model reading the original layout, from either layout."""
    cfg = REFERENCE_SHAPES[name]
    root = make_checkpoint(cfg, layout="both", seed=3)
    ids = torch.randint(
        0, cfg.vocab_size, (10 * cfg.sliding_window,), generator=torch.Generator().manual_seed(11)
    )
    theirs, their_routing = run_reference(root / "original", ids)
    for layout_dir in (root, root / "original"):
        ours = forced_logits(load_model(layout_dir), ids, their_routing, cfg.experts_per_token)
        assert_logits_close(ours, theirs)


def test_unforced_logits_match_reference(make_checkpoint):
    """Without imposing its routing, we agree with the reference at every position of this sequence
    (our rounding follows the reference's, so near-ties break alike)."""
    cfg = REFERENCE_SHAPES["tiny"]
    root = make_checkpoint(cfg, layout="both", seed=3)
    ids = torch.randint(0, cfg.vocab_size, (64,), generator=torch.Generator().manual_seed(1))
    theirs, _ = run_reference(root / "original", ids)
    model = load_model(root)
    assert_logits_close(model.forward(ids, model.new_cache(len(ids))), theirs)
