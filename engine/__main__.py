"""``python -m engine <command>``: the engine's command line, for people debugging and for our checks.

Each command lives in ``engine/cli/<name>.py`` (``serve`` in ``engine/server/command.py``: cli and server are
layers apart) with ``add_arguments(parser)`` and ``run(args) -> int``; modules are imported only when their
command runs, so ``render`` never pays for torch.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from engine.errors import EngineError, NonFiniteLogitsError

COMMANDS = {
    "logits": "write the logits of a token sequence to a .npy file",
    "bench": "measure load, prefill and decode speed; print one JSON object",
    "plan": "show where the weights go for a VRAM budget and context length",
    "render": "print a conversation's harmony prompt as token ids",
    "generate": "generate one answer and print it (or JSON)",
    "chat": "chat in the terminal",
    "models": "list, download, verify, remove and import models",
    "serve": "serve the model over a local OpenAI-compatible API",
}
MODULES = {"serve": "engine.server.command"}  # commands outside engine/cli


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser = argparse.ArgumentParser(prog="python -m engine", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, help_text in COMMANDS.items():
        sub.add_parser(name, help=help_text, add_help=False)
    if not argv or argv[0] not in COMMANDS:
        parser.parse_args(argv)  # prints usage and exits
        return 2
    name = argv[0]
    module = importlib.import_module(MODULES.get(name, f"engine.cli.{name}"))
    command_parser = argparse.ArgumentParser(prog=f"python -m engine {name}", description=COMMANDS[name])
    module.add_arguments(command_parser)
    args = command_parser.parse_args(argv[1:])
    try:
        return int(module.run(args) or 0)
    except EngineError as error:
        print(f"error: {error}", file=sys.stderr)
        if isinstance(error, NonFiniteLogitsError) and "verify" not in str(error):
            print(
                "The model's files may be damaged: check them with `python -m engine models verify NAME` "
                "(a model in the models folder), or download the model again.",
                file=sys.stderr,
            )
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
