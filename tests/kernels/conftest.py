"""Triton kernels on the CPU: tests that take the ``interp`` fixture run under Triton's interpreter.

Triton decides at import and decoration time whether kernels (its own ``tl.zeros`` and ``tl.sum`` too)
are compiled or interpreted, so TRITON_INTERPRET=1 must be set before ``import triton``. Setting it in
this process would leak into every other test folder; instead the ``interp`` tests run once in a child
pytest process whose environment has it (one Python start for all of them), and each test here reports
its child's outcome. With TRITON_INTERPRET=1 already set (``TRITON_INTERPRET=1 pytest tests/kernels``)
they run in-process, which is handy for debugging.
"""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from types import SimpleNamespace

import pytest

KERNEL_MODULES = ("mxfp4_triton", "moe_mxfp4", "int8_gemv", "layer_triton", "attention_triton", "fused")
IN_CHILD = os.environ.get("TRITON_INTERPRET") == "1"
REPORT_ENV = "GOSSAMER_INTERP_REPORT"
ROOT = Path(__file__).resolve().parents[2]

_interp_items: list[str] = []
_child_results: dict[str, dict] | None = None


def _triton_importable() -> bool:
    try:
        import triton  # noqa: F401
    except ImportError:
        return False
    return True


@pytest.fixture(scope="session")
def interp() -> SimpleNamespace | None:
    """The kernel modules (mxfp4_triton, moe_mxfp4, int8_gemv), interpreted: they run on CPU tensors."""
    if not IN_CHILD:
        return None  # the test body runs in the child process (see pytest_pyfunc_call)
    from engine.kernels.launch import patch_interpreter_index

    patch_interpreter_index()  # the launchers do it too; direct kernel launches in tests need it as well
    return SimpleNamespace(**{name: importlib.import_module(f"engine.kernels.{name}") for name in KERNEL_MODULES})


def pytest_collection_modifyitems(config, items):
    _interp_items.extend(item.nodeid for item in items if "interp" in getattr(item, "fixturenames", ()))


def _run_child() -> dict[str, dict]:
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "report.json"
        env = dict(os.environ, TRITON_INTERPRET="1", **{REPORT_ENV: str(report)})
        cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:randomly", *_interp_items]
        proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
        if not report.exists():
            raise RuntimeError(f"the interpreter child run failed to start:\n{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}")
        return json.loads(report.read_text())


@pytest.hookimpl(tryfirst=True)
def pytest_pyfunc_call(pyfuncitem):
    global _child_results
    if IN_CHILD or "interp" not in pyfuncitem.fixturenames:
        return None
    if not _triton_importable():
        pytest.skip("triton is not installed")
    if _child_results is None:
        _child_results = _run_child()
    result = _child_results.get(pyfuncitem.nodeid)
    if result is None:
        pytest.fail("the interpreter child run did not report this test", pytrace=False)
    if result["outcome"] == "skipped":
        pytest.skip(result["text"])
    if result["outcome"] != "passed":
        pytest.fail(f"under TRITON_INTERPRET=1 (child process):\n{result['text']}", pytrace=False)
    return True  # the body ran (and passed) in the child


def pytest_runtest_logreport(report):
    path = os.environ.get(REPORT_ENV)
    if not (IN_CHILD and path) or (report.when != "call" and report.passed):
        return
    results = json.loads(Path(path).read_text()) if Path(path).exists() else {}
    previous = results.get(report.nodeid, {}).get("outcome")
    if previous in (None, "passed"):  # keep the first failure (setup, call or teardown)
        text = str(report.longrepr) if report.longrepr else ""
        if report.skipped and isinstance(report.longrepr, tuple):
            text = report.longrepr[2]
        results[report.nodeid] = {"outcome": report.outcome, "text": text}
    Path(path).write_text(json.dumps(results))
