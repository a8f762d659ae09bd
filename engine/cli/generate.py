"""``python -m engine generate``: one answer to one prompt or a whole conversation, streamed as text or
printed as one JSON object.

--messages takes a conversation in the format of ``python -m engine render`` (a JSON list of chat messages, or
an object with "messages" and "tools"); the answer continues it. With --json, ``overflow`` says which of its
messages (by index) the --overflow policy left out of the prompt or summarised, when it acted.
"""

from __future__ import annotations

import argparse
import json
import sys

from engine.cli._model_args import add_model_arguments, add_sampling_arguments, load_session, settings_from
from engine.errors import EngineError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_model_arguments(parser)
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--prompt", help="the user's message")
    source.add_argument("--messages", metavar="FILE.json",
                        help="a whole conversation to answer, as `python -m engine render` takes it")
    add_sampling_arguments(parser)
    parser.add_argument("--json", action="store_true",
                        help="print one JSON object: tokens, analysis, final, tool_calls, finish_reason, "
                        "usage, overflow")


def run(args: argparse.Namespace) -> int:
    from engine.notices import Notice
    from engine.runtime.overflow import ContextFitted
    from engine.text.harmony import TextDelta, ToolCall, TurnEnd

    settings = settings_from(args)
    messages, tools = _conversation(args)  # read before the model loads: a bad file fails at once
    session = load_session(args)
    texts = {"analysis": [], "commentary": [], "final": []}
    tool_calls, notices, finish, fitted, error = [], [], None, None, None
    try:
        for event in session.generate(messages, settings, tools=tools):
            if isinstance(event, TextDelta):
                texts[event.channel].append(event.text)
                if not args.json:
                    stream = sys.stdout if event.channel == "final" else sys.stderr
                    stream.write(event.text)
                    stream.flush()
            elif isinstance(event, ToolCall):
                tool_calls.append({"id": event.call_id, "name": event.name, "arguments": event.arguments})
            elif isinstance(event, Notice):
                notices.append(event.text)
                print(f"note: {event.text}", file=sys.stderr)
            elif isinstance(event, ContextFitted):
                fitted = event
                print(f"note: {_fitted_text(event)}", file=sys.stderr)
            elif isinstance(event, TurnEnd):
                finish = event
    except EngineError as caught:  # a remote stream broke after TurnEnd("error"): print what arrived, fail
        if finish is None:
            raise
        error = caught
    usage = finish.usage
    if args.json:
        print(json.dumps({
            "tokens": session.last_turn.completion_ids,
            "analysis": "".join(texts["analysis"]),
            "commentary": "".join(texts["commentary"]),
            "final": "".join(texts["final"]),
            "tool_calls": tool_calls,
            "finish_reason": finish.reason,
            "notices": notices,
            "usage": usage.as_dict(),
            "overflow": _indexes_in_file(fitted.as_dict(), args) if fitted is not None else None,
            **({"error": str(error)} if error is not None else {}),
        }, ensure_ascii=False))
    else:
        print()
        print(f"[{finish.reason}: {usage.completion_tokens} tokens, {usage.decode_tok_s:.1f} tok/s, "
              f"first token after {usage.ttft_s:.2f} s]", file=sys.stderr)
    if error is not None:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


def _conversation(args: argparse.Namespace) -> tuple[list, list | None]:
    if args.messages is None:
        messages = [{"role": "developer", "content": args.system}] if args.system else []
        return messages + [{"role": "user", "content": args.prompt}], None
    from engine.cli.render import InputFileError, _read_json

    messages, tools = _read_json(args.messages, "messages"), None
    if isinstance(messages, dict):  # {"messages": [...], "tools": [...]} as an API request body has it
        messages, tools = messages.get("messages"), messages.get("tools")
    if not isinstance(messages, list) or not messages:
        raise InputFileError(f'The messages file {args.messages} must hold a non-empty JSON list of messages '
                             '(or an object with "messages").')
    if args.system:
        messages = [{"role": "developer", "content": args.system}, *messages]
    return messages, tools


def _indexes_in_file(fitted: dict, args: argparse.Namespace) -> dict:
    """The policy's indexes as the messages file counts them (--system adds a message before them)."""
    shift = 1 if args.system else 0
    return fitted | {key: [i - shift for i in fitted[key]] for key in ("dropped", "summarized")}


def _fitted_text(fitted) -> str:
    """One line for the terminal: what the overflow policy did to the prompt."""
    count = len(fitted.dropped)
    what = "summarised" if fitted.summary else "left out"
    what = f"{what} the oldest {count} messages"
    return (f"the conversation did not fit the context: {what} "
            f"({fitted.prompt_tokens_before:,} -> {fitted.prompt_tokens:,} prompt tokens)")
