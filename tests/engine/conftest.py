"""Engine-test fixtures: random checkpoints of any shape, written once per run and shared."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def make_checkpoint(tmp_path_factory):
    """``make_checkpoint(cfg, layout="both", seed=0) -> Path``: a model folder, written once per run."""
    from engine.io.synthetic import write_checkpoint

    made = {}

    def make(cfg, layout: str = "both", seed: int = 0):
        key = (repr(cfg), layout, seed)
        if key not in made:
            made[key] = write_checkpoint(tmp_path_factory.mktemp("ckpt"), cfg, layout=layout, seed=seed)
        return made[key]

    return make


@pytest.fixture(autouse=True, scope="session")
def _one_torch_thread():
    """Engine tests run their tiny models on one thread: on a small shared machine, torch's worker
    threads wait on each other far longer than these small matrices take (measured 5-50x)."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
