"""``python -m engine serve``: the model behind a local OpenAI-compatible API (see docs/local-api.md).

It lives in the server package, not engine/cli, because the layers keep cli and server apart (neither
imports the other); engine/__main__.py dispatches ``serve`` here. The model arguments are the same as
``generate``'s (engine/cli/_model_args.py).
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from pathlib import Path

DEFAULT_PORT = 8642
DEFAULT_CONTEXT = 16384


def add_model_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", required=True, help="model folder (either layout)")
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N (default: auto)")
    parser.add_argument(
        "--context",
        type=int,
        default=DEFAULT_CONTEXT,
        help=f"context length in tokens (default: {DEFAULT_CONTEXT}, capped by the model)",
    )
    parser.add_argument(
        "--vram",
        default=None,
        help="GPU memory budget: bytes or a size such as 12GiB, or auto (default: on CUDA what is free, less "
        "a reserve)",
    )
    parser.add_argument(
        "--host-experts",
        default=None,
        metavar="auto|copy|cpu",
        help="experts that stay in RAM and are not cached on the GPU: copy them to the GPU, compute them on "
        "the CPU, or auto: per step whichever is faster (default: $GOSSAMER_HOST_EXPERTS, else auto)",
    )


def load_session(args: argparse.Namespace):
    from engine.hub.terminal import check_on_terminal
    from engine.runtime.loader import load_model
    from engine.runtime.session import ChatSession

    note = check_on_terminal(args.model)  # files changed since verified are hashed again, as the app does
    model = load_model(
        args.model,
        device=args.device,
        vram_budget=args.vram,
        context_length=args.context,
        notify=lambda notice: print(f"note: {notice.text}", file=sys.stderr),
        host_experts=getattr(args, "host_experts", None),
    )
    if note:
        print(f"note: {note}", file=sys.stderr)
    return ChatSession(model, context_length=min(args.context, model.context_length))


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_model_arguments(parser)
    parser.add_argument(
        "--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1, this computer only)"
    )
    parser.add_argument(
        "--port", type=int, default=DEFAULT_PORT, help=f"port (default: {DEFAULT_PORT}; 0: any free)"
    )
    parser.add_argument(
        "--api-key", default=None, help="the key clients must send (default: one kept in your config folder)"
    )
    parser.add_argument(
        "--allow-origin",
        action="append",
        default=[],
        metavar="ORIGIN",
        help="a web origin allowed to call the API from a browser, e.g. http://localhost:3000 "
        "(repeatable; by default requests from web pages are refused)",
    )
    parser.add_argument(
        "--model-id", default=None, help="the model's name in the API (default: the folder's name)"
    )


def run(args: argparse.Namespace) -> int:
    from engine.errors import EngineError
    from engine.server import keys
    from engine.server.runner import LOCAL_HOSTS, ApiServer

    if not 0 <= args.port <= 65535:
        raise EngineError(f"--port must be between 0 and 65535, not {args.port}.")
    if args.host not in LOCAL_HOSTS and not args.api_key:
        raise EngineError(
            f"Listening on {args.host} lets other computers reach the model: pass --api-key with a key of "
            "your own to do that (or keep the default --host 127.0.0.1)."
        )
    key = args.api_key
    if not key:
        key = keys.load_or_create_key()
        print(f"API key: in {keys.key_path()} (readable only by you)", file=sys.stderr, flush=True)

    from engine.server.engine_thread import EngineThread

    session = load_session(args)
    model_id = args.model_id or _model_id(args.model)
    engine = EngineThread(session, model_id)
    server = ApiServer(
        engine, key=key, bind=args.host, port=args.port, allow_origins=tuple(args.allow_origin)
    )
    stop = threading.Event()
    previous = {sig: signal.signal(sig, lambda *_: stop.set()) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        server.start()
        print(f"Serving {model_id} at {server.base_url}", flush=True)
        while not stop.wait(0.5):
            if not server.running:
                raise EngineError("The API server stopped unexpectedly; see the messages above.")
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        server.stop()
        engine.stop()
    print("stopped", file=sys.stderr)
    return 0


def _model_id(folder: str) -> str:
    path = Path(folder).resolve()
    return (path.parent.name if path.name == "original" else path.name) or "gpt-oss"
