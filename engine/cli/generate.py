"""``python -m engine generate``: one answer to one prompt, streamed as text or printed as one JSON object."""

from __future__ import annotations

import argparse
import json
import sys

from engine.cli._model_args import add_model_arguments, add_sampling_arguments, load_session, settings_from
from engine.errors import EngineError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_model_arguments(parser)
    parser.add_argument("--prompt", required=True, help="the user's message")
    add_sampling_arguments(parser)
    parser.add_argument("--json", action="store_true",
                        help="print one JSON object: tokens, analysis, final, tool_calls, finish_reason, usage")


def run(args: argparse.Namespace) -> int:
    from engine.notices import Notice
    from engine.text.harmony import TextDelta, ToolCall, TurnEnd

    settings = settings_from(args)
    session = load_session(args)
    messages = ([{"role": "developer", "content": args.system}] if args.system else [])
    messages.append({"role": "user", "content": args.prompt})
    texts = {"analysis": [], "commentary": [], "final": []}
    tool_calls, notices, finish, error = [], [], None, None
    try:
        for event in session.generate(messages, settings):
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

