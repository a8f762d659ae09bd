"""Tiny random checkpoints with enough layers and experts to offload some of them."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def offload_model_dir(tmp_path_factory):
    """4 layers of 8 experts, top-2, in the Hugging Face layout."""
    from engine.io.synthetic import tiny_config, write_checkpoint

    cfg = tiny_config(num_hidden_layers=4, num_experts=8, experts_per_token=2)
    return write_checkpoint(tmp_path_factory.mktemp("models") / "offload-tiny", cfg, layout="hf")


@pytest.fixture(scope="session")
def offload_model_dir_k4(tmp_path_factory):
    """4 layers of 8 experts, top-4 (the order in which routes are summed could matter), original layout."""
    from engine.io.synthetic import tiny_config, write_checkpoint

    cfg = tiny_config(num_hidden_layers=4, num_experts=8, experts_per_token=4)
    return write_checkpoint(tmp_path_factory.mktemp("models") / "offload-tiny-k4", cfg, layout="original")
