"""When a set of the CPU's expert kernels fails during a turn, the session tells the user once per set with a
Notice; the load's facts say which kernels a CPU model runs and why a slower set does."""

from __future__ import annotations

import types

import pytest
import torch

from engine import kernels
from engine.notices import Notice
from engine.runtime import cpu_kernels
from engine.runtime.session import ChatSession, GenerationSettings
from engine.text.harmony import TurnEnd

pytest.importorskip("numba")

from engine.kernels import cpu_mxfp4, cpu_mxfp4_jit  # after the skip: cpu_mxfp4_jit needs numba

SETTINGS = GenerationSettings(temperature=0.0, max_tokens=3)


@pytest.fixture
def no_failures(monkeypatch):
    """No kernel set has failed in this process, and whatever a test breaks is put back after it."""
    monkeypatch.delenv(kernels.ENV, raising=False)
    monkeypatch.setattr(cpu_mxfp4, "FAILED", {})
    return monkeypatch


def _broken(message: str):
    def broken(*args):  # a kernel that fails to compile or run, as numba's and LLVM's errors do
        raise RuntimeError(message)

    return broken


def _turn(session: ChatSession, text: str = "Hi") -> list:
    events = list(session.generate([{"role": "user", "content": text}], SETTINGS))
    assert isinstance(events[-1], TurnEnd)
    return [event for event in events if isinstance(event, Notice)]


def test_each_failed_set_is_one_notice_once(tiny_model, no_failures):
    """The vector kernels failing mid-session are one "cpu_kernels_fallback" notice (reason "vector") and the
    turn goes on; the next turn says nothing; the numba kernels failing later are a second notice."""
    session = ChatSession(tiny_model, context_length=256)
    no_failures.setattr(cpu_mxfp4_jit, "moe", _broken("LLVM ERROR: Cannot select: intrinsic pmadd.wd"))
    [notice] = _turn(session)
    assert (notice.kind, notice.reason) == ("cpu_kernels_fallback", "vector")
    assert "portable kernels" in notice.text and "Cannot select" in notice.text
    assert _turn(session, "Hi again") == [] and kernels.cpu_kind() == "portable"
    no_failures.setattr(cpu_mxfp4_jit, "moe_float", _broken("numba: cannot load its cache"))
    [notice] = _turn(session, "And again")
    assert (notice.kind, notice.reason) == ("cpu_kernels_fallback", "numba")
    assert "slower PyTorch path" in notice.text and "cannot load its cache" in notice.text
    assert _turn(session, "Once more") == [] and kernels.cpu_kind() == "torch"


def test_both_sets_failing_in_one_step_are_two_notices(tiny_model, no_failures):
    """The portable kernels failing right after the vector ones (the same step): a notice for each, the
    vector one first, and the answer comes from the PyTorch path."""
    session = ChatSession(tiny_model, context_length=256)
    no_failures.setattr(cpu_mxfp4_jit, "moe", _broken("vector: boom"))
    no_failures.setattr(cpu_mxfp4_jit, "moe_float", _broken("portable: boom"))
    notices = _turn(session)
    assert [(n.kind, n.reason) for n in notices] == [
        ("cpu_kernels_fallback", "vector"),
        ("cpu_kernels_fallback", "numba"),
    ]
    assert "vector: boom" in notices[0].text and "portable: boom" in notices[1].text


def test_a_failure_before_the_session_is_not_told_again(tiny_model, no_failures):
    """A set that failed while the model loaded (or in an earlier session) is in the facts and the log, not
    a notice of this session; a set failing later still is."""
    cpu_mxfp4.FAILED["vector"] = "RuntimeError: failed in the warm-up"
    session = ChatSession(tiny_model, context_length=256)
    assert _turn(session) == []
    no_failures.setattr(cpu_mxfp4_jit, "moe_float", _broken("numba: boom"))
    assert [n.reason for n in _turn(session, "Hi again")] == ["numba"]


@pytest.mark.parametrize(
    ("failed", "env", "kind", "why"),
    [
        (
            {"vector": "RuntimeError: LLVM"},
            None,
            "portable",
            "the AVX2 vector kernels failed (RuntimeError: LLVM)",
        ),
        (
            {"vector": "RuntimeError: LLVM", "numba": "RuntimeError: cache"},
            None,
            "torch",
            "the numba kernels failed (RuntimeError: cache)",
        ),
        ({}, "torch", "torch", "GOSSAMER_KERNELS=torch turns the numba kernels off"),
    ],
    ids=["vector failed", "numba failed", "turned off"],
)
def test_the_facts_say_which_kernels_run_and_why_slower(tiny_model, no_failures, failed, env, kind, why):
    """A CPU model's facts name its kernels and, when a slower set runs than the CPU could, why."""
    cpu_mxfp4.FAILED.update(failed)
    if env is not None:
        no_failures.setenv(kernels.ENV, env)
    assert cpu_kernels.facts(tiny_model) == {"cpu_kernels": kind, "cpu_fallback": why}


def test_the_facts_of_a_healthy_cpu_and_of_a_gpu_model(tiny_model, no_failures):
    """With no failure the CPU's fastest set runs and nothing is slower; a model on another device has no CPU
    kernels to name."""
    assert cpu_kernels.facts(tiny_model) == {"cpu_kernels": kernels.cpu_kind(), "cpu_fallback": None}
    assert kernels.cpu_kind() in ("avx2", "portable")
    on_cuda = types.SimpleNamespace(device=torch.device("cuda", 0))
    assert cpu_kernels.facts(on_cuda) == {"cpu_kernels": None, "cpu_fallback": None}


def test_a_failure_while_loading_is_in_the_facts(tiny_model_dir, no_failures):
    """The vector kernels failing in the loader's warm-up: the model loads, runs the portable kernels, and its
    facts say so with the reason (the app's status bar shows them)."""
    from engine.runtime.loader import load_model

    no_failures.setattr(cpu_mxfp4_jit, "moe", _broken("LLVM ERROR: out of registers"))
    model = load_model(tiny_model_dir, device="cpu")
    assert cpu_kernels.facts(model) == {
        "cpu_kernels": "portable",
        "cpu_fallback": "the AVX2 vector kernels failed (RuntimeError: LLVM ERROR: out of registers)",
    }


def test_the_command_line_prints_the_notice(tiny_model_dir, no_failures, capsys):
    """``python -m engine generate`` prints the notice's sentence when the vector kernels fail on the model's
    first step (they pass the loader's warm-up, a one-expert layer, here)."""
    from engine.__main__ import main

    real = cpu_mxfp4_jit.moe

    def fails_on_the_model(*args):  # args[6]: mlp1_blocks [experts, ...]; the warm-up's layer has one
        if args[6].shape[0] > 1:
            raise RuntimeError("LLVM ERROR: Cannot select")
        return real(*args)

    no_failures.setattr(cpu_mxfp4_jit, "moe", fails_on_the_model)
    args = [
        "generate",
        "--model",
        str(tiny_model_dir),
        "--device",
        "cpu",
        "--prompt",
        "Hi",
        "--max-tokens",
        "2",
    ]
    assert main(args) == 0
    err = capsys.readouterr().err
    assert err.count("note: The CPU's fast vector kernels failed") == 1 and "Cannot select" in err
