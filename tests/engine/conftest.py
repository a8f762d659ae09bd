"""Engine-test fixtures: random checkpoints of any shape, written once per run and shared."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def make_checkpoint(tmp_path_factory):
    """``make_checkpoint(cfg, layout="both", seed=0) -> Path``: a model folder, written once per run."""
    from engine.synthetic import write_checkpoint

    made = {}

    def make(cfg, layout: str = "both", seed: int = 0):
        key = (repr(cfg), layout, seed)
        if key not in made:
            made[key] = write_checkpoint(tmp_path_factory.mktemp("ckpt"), cfg, layout=layout, seed=seed)
        return made[key]

    return make
