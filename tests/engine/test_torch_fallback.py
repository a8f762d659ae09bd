"""Where a CUDA model takes the slower PyTorch path instead of the Triton kernels, the log says so once with
the reason, the facts carry it for the app's status bar, and a Triton failure during a turn is a Notice."""

from __future__ import annotations

import logging
import types

import torch

from engine import kernels
from engine.notices import Notice
from engine.runtime import loader
from engine.runtime.session import ChatSession, GenerationSettings
from engine.text.harmony import TurnEnd


def test_a_cuda_model_without_triton_says_why_once(monkeypatch, caplog):
    """On a CUDA device without the kernels (here GOSSAMER_KERNELS=torch) the reason is logged once per
    device and reason; a CPU model has no fallback to tell."""
    monkeypatch.setenv(kernels.ENV, "torch")
    monkeypatch.setattr(loader, "_fallbacks_told", set())
    on_cuda = types.SimpleNamespace(device=torch.device("cuda", 0))
    with caplog.at_level(logging.WARNING, logger="engine.runtime.loader"):
        assert loader.tell_torch_fallback(on_cuda) == "GOSSAMER_KERNELS=torch turns them off"
        loader.tell_torch_fallback(on_cuda)  # a reload of the same model
    said = [r.getMessage() for r in caplog.records if "PyTorch path" in r.getMessage()]
    assert len(said) == 1 and "GOSSAMER_KERNELS=torch" in said[0] and "cuda:0" in said[0]
    assert loader.torch_fallback(types.SimpleNamespace(device=torch.device("cpu"))) is None


def test_a_triton_failure_during_a_turn_is_one_notice(tiny_model, monkeypatch):
    """When the kernels turn themselves off mid-turn (engine.kernels.run_with_fallback), the turn yields one
    "torch_fallback" Notice with the reason, goes on, and the next turn does not repeat it."""
    session = ChatSession(tiny_model, context_length=256)
    monkeypatch.setattr(kernels, "_disabled", "RuntimeError: PTX too new for the driver")
    settings = GenerationSettings(temperature=0.0, max_tokens=4)
    events = list(session.generate([{"role": "user", "content": "Hi"}], settings))
    notices = [e for e in events if isinstance(e, Notice)]
    assert [n.kind for n in notices] == ["torch_fallback"] and "PTX too new" in notices[0].text
    assert isinstance(events[-1], TurnEnd)
    again = list(session.generate([{"role": "user", "content": "Hi again"}], settings))
    assert not any(isinstance(e, Notice) for e in again)
