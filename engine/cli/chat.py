"""``python -m engine chat``: an interactive chat in the terminal, streaming, with the reasoning dimmed.

Ctrl+C stops the answer being written (the part written so far stays in the conversation) and /continue
goes on with it, as it does with an answer cut at --max-tokens; Ctrl+D or /exit leaves.
/effort low|medium|high changes the reasoning effort, /new starts over.
"""

from __future__ import annotations

import argparse
import dataclasses
import signal
import sys
import threading

from engine.cli._model_args import (
    add_model_arguments,
    add_sampling_arguments,
    describe,
    load_session,
    settings_from,
)

DIM, RESET = "\x1b[2m", "\x1b[0m"
HELP = "commands: /continue, /effort low|medium|high, /new, /exit (Ctrl+C stops an answer, Ctrl+D leaves)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_model_arguments(parser)
    add_sampling_arguments(parser)


def run(args: argparse.Namespace) -> int:
    from engine.errors import ContextFullError
    from engine.remote import RemoteError

    settings = settings_from(args)
    print(f"connecting to {args.remote}..." if args.remote else "loading the model...", file=sys.stderr)
    session = load_session(args)
    print(f"{describe(session)}\n{HELP}", file=sys.stderr)
    # errors that end one turn, not the chat: the context is full, the server failed or went away
    turn_errors = (ContextFullError, RemoteError)
    color = sys.stdout.isatty()
    system = [{"role": "developer", "content": args.system}] if args.system else []
    history: list[dict] = []
    cut_short = False  # the last answer was stopped or hit the token limit: /continue can go on with it
    while True:
        try:
            line = input(f"\n[{settings.effort}] you> ")
        except EOFError:
            print()
            return 0
        text = line.strip()
        if not text:
            continue
        if text in ("/exit", "/quit"):
            return 0
        if text == "/new":
            history.clear()
            print("(new conversation)")
            continue
        if text == "/continue":
            if not cut_short:
                print("(nothing to continue: the last answer was finished)")
                continue
            answer = history.pop()
            try:
                more, cut_short = _answer(session, system + history, settings, color, continue_from=answer)
            except turn_errors as error:  # the answer filled the context, the server failed: keep chatting
                print(f"error: {error}", file=sys.stderr)
                more = {"content": ""}
            history.append(_joined(answer, more))
            continue
        if text.startswith("/effort"):
            level = text.split()[-1]
            if level in ("low", "medium", "high"):
                settings = dataclasses.replace(settings, effort=level)
            print(f"(reasoning effort: {settings.effort})")
            continue
        if text.startswith("/"):
            print(HELP)
            continue
        history.append({"role": "user", "content": text})
        try:
            answer, cut_short = _answer(session, system + history, settings, color)
        except turn_errors as error:
            print(f"error: {error}", file=sys.stderr)
            history.pop()
            continue
        history.append(answer)


def _answer(session, messages: list[dict], settings, color: bool, continue_from=None) -> tuple[dict, bool]:
    """Stream one answer (or more of ``continue_from``); returns it and whether it was cut short (stopped,
    the token limit, or a server's stream broken after some text, which is printed and kept)."""
    from engine.errors import EngineError
    from engine.notices import Notice
    from engine.text.harmony import TextDelta, TurnEnd

    cancel = threading.Event()
    previous = signal.signal(signal.SIGINT, lambda *_: cancel.set())
    parts = {"analysis": [], "commentary": [], "final": []}
    channel, reason, ended = None, "return", False
    try:
        for event in session.generate(messages, settings, cancel=cancel, continue_from=continue_from):
            if isinstance(event, TextDelta):
                if event.channel != channel:
                    channel = event.channel
                    sys.stdout.write("\n" + ("thinking: " if channel == "analysis" else "gpt-oss: "))
                parts[event.channel].append(event.text)
                text = event.text
                if color and channel == "analysis":
                    text = f"{DIM}{text}{RESET}"
                sys.stdout.write(text)
                sys.stdout.flush()
            elif isinstance(event, Notice):
                print(f"\n{DIM if color else ''}note: {event.text}{RESET if color else ''}")
            elif isinstance(event, TurnEnd):
                usage, reason, ended = event.usage, event.reason, True
                note = {
                    "cancelled": " (stopped)", "length": " (hit the token limit)", "error": " (broken off)"
                }
                context = f", context {usage.context_used}/{usage.context_max}" if usage.context_max else ""
                print(
                    f"\n{DIM if color else ''}[{usage.completion_tokens} tokens, "
                    f"{usage.decode_tok_s:.1f} tok/s"
                    f"{context}]{note.get(event.reason, '')}{RESET if color else ''}"
                )
    except EngineError as error:
        if not ended:  # nothing of this answer to keep: the caller says so and drops the question
            raise
        print(f"error: {error} (/continue goes on with it)", file=sys.stderr)
    finally:
        signal.signal(signal.SIGINT, previous)
    answer = {
        "role": "assistant",
        "content": "".join(parts["final"]),
        "reasoning": "".join(parts["analysis"]) or None,
    }
    return answer, reason in ("cancelled", "length", "error")


def _joined(answer: dict, more: dict) -> dict:
    """An answer and its continuation, as one assistant message."""
    reasoning = (answer.get("reasoning") or "") + (more.get("reasoning") or "")
    return {
        "role": "assistant",
        "content": answer["content"] + more["content"],
        "reasoning": reasoning or None,
    }
