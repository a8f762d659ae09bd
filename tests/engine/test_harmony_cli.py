"""``python -m engine render`` prints the harmony prompt as JSON token ids, fast and without torch."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from engine.__main__ import main
from engine.text.harmony import render_prompt
from tests.engine.test_harmony_oracle import oracle_render
from tests.engine.test_harmony_render import TOOL_CHAIN, WEATHER

ROOT = Path(__file__).resolve().parents[2]


def write(path, value):
    path.write_text(json.dumps(value, ensure_ascii=False), encoding="utf-8")
    return str(path)


def test_render_command_matches_harmony(tmp_path, capsys):
    """The printed ids are render_prompt's, which are openai-harmony's."""
    messages = write(tmp_path / "m.json", TOOL_CHAIN)
    tools = write(tmp_path / "t.json", [WEATHER])
    assert (
        main(["render", "--messages", messages, "--tools", tools, "--effort", "high", "--date", "2025-06-28"])
        == 0
    )
    printed = json.loads(capsys.readouterr().out)
    assert printed == render_prompt(TOOL_CHAIN, effort="high", date="2025-06-28", tools=[WEATHER])
    assert printed == oracle_render(TOOL_CHAIN, effort="high", date="2025-06-28", tools=[WEATHER])


def test_request_body_form(tmp_path, capsys):
    """A file holding {"messages": ..., "tools": ...} works like the two files."""
    body = write(tmp_path / "body.json", {"messages": TOOL_CHAIN, "tools": [WEATHER]})
    assert main(["render", "--messages", body, "--date", "2025-06-28"]) == 0
    assert json.loads(capsys.readouterr().out) == render_prompt(
        TOOL_CHAIN, date="2025-06-28", tools=[WEATHER]
    )


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "Cannot read the messages file"),
        ("[{", "not valid JSON"),
        ('[{"role": "robot", "content": "x"}]', "role must be"),
        ('{"messages": "hi"}', "messages must be a list"),
    ],
)
def test_errors_are_one_line(tmp_path, capsys, content, message):
    """Bad input exits 1 with a one-line error, not a traceback."""
    path = tmp_path / "m.json"
    if content is not None:
        path.write_text(content, encoding="utf-8")
    assert main(["render", "--messages", str(path)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: ") and message in err and "Traceback" not in err


def test_subprocess_does_not_import_torch(tmp_path):
    """The command runs in a fresh interpreter without importing torch (or Qt)."""
    messages = write(tmp_path / "m.json", [{"role": "user", "content": "안녕"}])
    code = (
        "import sys; from engine.__main__ import main; rc = main(sys.argv[1:]); "
        "assert 'torch' not in sys.modules and 'PySide6' not in sys.modules, 'heavy import'; sys.exit(rc)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code, "render", "--messages", messages, "--date", "2025-06-28"],
        check=False,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == render_prompt(
        [{"role": "user", "content": "안녕"}], date="2025-06-28"
    )
