"""Comparing logits of two implementations to bf16 tolerance."""

from __future__ import annotations

import torch

# bf16 pipelines that round at different places differ by up to a percent or two of a row's scale
# (the references differ from each other that much): closer top logits are a near-tie.
TIE = 0.03  # of the row's largest |logit|


def assert_logits_close(
    ours: torch.Tensor, ref: torch.Tensor, min_cos: float = 0.999, max_argmax_misses: float = 0.1
) -> None:
    """Per position: cosine similarity >= min_cos; the same argmax, except where the reference's own
    top two are near-tied (and at most ``max_argmax_misses`` of the positions)."""
    assert ours.shape == ref.shape, (ours.shape, ref.shape)
    assert torch.isfinite(ours).all(), "non-finite logits"
    cos = torch.nn.functional.cosine_similarity(ours.double(), ref.double(), dim=-1)
    worst = int(cos.argmin())
    assert cos.min() >= min_cos, f"position {worst} of {len(cos)}: cosine {cos[worst]:.6f} < {min_cos}"
    mine, theirs = ours.argmax(-1), ref.argmax(-1)
    misses = (mine != theirs).nonzero().flatten().tolist()
    for p in misses:
        gap = float(ref[p, theirs[p]] - ref[p, mine[p]])
        assert gap <= TIE * float(ref[p].abs().max()), (
            f"position {p}: argmax {int(mine[p])} vs {int(theirs[p])}, gap {gap}"
        )
    assert len(misses) <= max_argmax_misses * len(cos), (
        f"argmax differs at {len(misses)} of {len(cos)} positions"
    )
