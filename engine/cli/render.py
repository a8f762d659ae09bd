"""``python -m engine render``: print a conversation's harmony prompt as one JSON list of token ids.

--messages holds a JSON list of OpenAI-shaped chat messages (or an object with "messages" and, optionally,
"tools"); --tools a JSON list of OpenAI-shaped function tools. Needs neither torch nor a model.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from engine.errors import EngineError


class InputFileError(EngineError):
    """A file given on the command line cannot be read or is not the JSON expected."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--messages",
        required=True,
        metavar="FILE.json",
        help='JSON list of chat messages, e.g. [{"role": "user", "content": "Hi"}]',
    )
    parser.add_argument(
        "--effort",
        choices=("low", "medium", "high"),
        default="medium",
        help="reasoning effort (default: medium)",
    )
    parser.add_argument(
        "--date", metavar="YYYY-MM-DD", help="the system message's current date (default: today)"
    )
    parser.add_argument("--tools", metavar="FILE.json", help="JSON list of function tools (OpenAI shape)")


def run(args: argparse.Namespace) -> int:
    from engine.text.harmony import render_prompt

    messages = _read_json(args.messages, "messages")
    tools = None
    if isinstance(messages, dict):  # {"messages": [...], "tools": [...]} as an API request body has it
        tools = messages.get("tools")
        messages = messages.get("messages")
    if args.tools is not None:
        tools = _read_json(args.tools, "tools")
    print(json.dumps(render_prompt(messages, effort=args.effort, date=args.date, tools=tools)))
    return 0


def _read_json(path: str, what: str) -> Any:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as error:
        raise InputFileError(f"Cannot read the {what} file {path}: {error.strerror or error}.") from error
    except UnicodeDecodeError as error:
        raise InputFileError(f"The {what} file {path} is not UTF-8 text.") from error
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise InputFileError(
            f"The {what} file {path} is not valid JSON (line {error.lineno}, column {error.colno}: {error.msg})."
        ) from error
