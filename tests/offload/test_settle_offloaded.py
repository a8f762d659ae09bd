"""engine/runtime/settle.py leaves an offloaded model's experts where its pool keeps them."""

from __future__ import annotations

from engine.io import huge_pages
from engine.runtime.loader import load_model
from engine.runtime.settle import settle
from tests.offload.test_session_oom import some_budget


def test_offloaded_experts_stay_where_the_pool_keeps_them(offload_model_dir, monkeypatch):
    monkeypatch.setattr(huge_pages, "supported", lambda: True)
    model = load_model(
        offload_model_dir, "cpu", vram_budget=some_budget(offload_model_dir, 256), context_length=256
    )
    assert model.offload_pool is not None, "the budget should leave some experts in host memory"
    done = settle(model)
    assert done.bytes == 0 and "offloaded" in done.why_not
