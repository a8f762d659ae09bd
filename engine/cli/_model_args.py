"""Arguments shared by the commands that load a model (generate, chat): a local folder, or a server."""

from __future__ import annotations

import argparse
import os
import sys

DEFAULT_CONTEXT = 16384
KEY_ENV = "GOSSAMER_API_KEY"


def add_model_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", default=None, help="model folder (either layout); or use --remote")
    remote = parser.add_argument_group("a model on a server (vLLM, SGLang, Ollama, LM Studio, llama.cpp)")
    remote.add_argument("--remote", metavar="URL", default=None,
                        help="the server's OpenAI-compatible address, e.g. http://gpu-box:8000/v1")
    remote.add_argument("--api-key", metavar="KEY", default=None,
                        help=f"the server's API key (default: ${KEY_ENV}, kept out of shell history)")
    remote.add_argument("--remote-model", metavar="ID", default=None,
                        help="the server's model id (default: its first gpt-oss model, else its first)")
    remote.add_argument("--timeout", type=float, default=120.0, metavar="S",
                        help="seconds of silence from the server before giving up (default: 120)")
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N (default: auto)")
    parser.add_argument("--context", type=int, default=DEFAULT_CONTEXT,
                        help=f"context length in tokens (default: {DEFAULT_CONTEXT}, capped by the model)")
    add_vram_argument(parser)
    add_host_experts_argument(parser)


def add_host_experts_argument(parser: argparse.ArgumentParser, compare: bool = False) -> None:
    """--host-experts: how experts that stay in host memory are computed when no GPU slot holds them."""
    parser.add_argument(
        "--host-experts",
        default=None,
        metavar="auto|copy|cpu" + (",..." if compare else ""),
        help="experts that stay in RAM (see --vram) and are not cached on the GPU: copy them to the GPU, "
        "compute them on the CPU, or auto: per step whichever this machine does faster (default: "
        "$GOSSAMER_HOST_EXPERTS, else auto)" + ("; a comma list compares them on one model" if compare else ""),
    )


def add_vram_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--vram",
        default=None,
        help="GPU memory budget: bytes or a size such as 12GiB, 12GB, 8G, or auto (default: on CUDA what is "
        "free, less a reserve). On the CPU a size simulates a GPU of that budget (experts offloaded the same way)",
    )


def add_sampling_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--effort", choices=("low", "medium", "high"), default="medium",
                        help="reasoning effort (default: medium)")
    parser.add_argument("--temperature", type=float, default=1.0, help="0 is greedy (default: 1.0)")
    parser.add_argument("--top-p", type=float, default=1.0, help="nucleus sampling mass (default: 1.0)")
    parser.add_argument("--top-k", type=int, default=0,
                        help="sample from the k most likely tokens only (default: 0, off)")
    parser.add_argument("--max-tokens", type=int, default=4096, help="most tokens to generate (default: 4096)")
    parser.add_argument("--seed", type=int, default=None, help="seed for reproducible sampling")
    parser.add_argument("--system", default=None, help="instructions for the model (a developer message)")
    parser.add_argument(
        "--reasoning-budget", type=int, default=None, metavar="N",
        help="reasoning tokens before the model must answer (default: 2048 / 8192 / 32768 by effort; 0: "
        "none). A reasoning loop is cut either way",
    )
    parser.add_argument(
        "--overflow", choices=("drop", "summarize", "stop"), default="stop",
        help="when the conversation no longer fits the context with room for an answer: leave its oldest "
        "turns out, summarise them with the model, or stop with an error (default: stop)",
    )


def check_model(path: str) -> str | None:
    """Before loading: files that changed since they were verified are hashed again, with a progress bar
    (engine.hub.terminal). Returns the note to print once the model has loaded."""
    from engine.hub.terminal import check_on_terminal

    return check_on_terminal(path)


def load_session(args: argparse.Namespace):
    """Load the model named by ``args`` and wrap it in a ChatSession (or connect to the server it names:
    a RemoteSession, which yields the same events)."""
    from engine.errors import EngineError

    if getattr(args, "remote", None):
        return remote_session(args)
    if not args.model:
        raise EngineError(
            "Name a model: --model FOLDER for one on this computer, or --remote URL for a server."
        )
    from engine.runtime.loader import load_model
    from engine.runtime.session import ChatSession

    note = check_model(args.model)

    # load_model reads the budget's forms itself ("auto" measures the device it loads on); a bad one is an
    # EngineError that says how to write it
    model = load_model(args.model, device=args.device, vram_budget=args.vram, context_length=args.context,
                       notify=lambda notice: print(f"note: {notice.text}", file=sys.stderr),
                       host_experts=getattr(args, "host_experts", None))
    if note:
        print(f"note: {note}", file=sys.stderr)
    return ChatSession(model, context_length=min(args.context, model.context_length))


def remote_session(args: argparse.Namespace):
    from engine.remote import RemoteClient, RemoteSession

    key = args.api_key if args.api_key is not None else os.environ.get(KEY_ENV)
    client = RemoteClient(args.remote, key, timeout_s=args.timeout)
    return RemoteSession.connect(client, args.remote_model)


def describe(session) -> str:
    """One line on what answers: the local model's placement, or the server's model."""
    model = getattr(session, "model", None)
    if model is None:
        return session.describe()
    text = model.describe()
    host = getattr(model, "host_experts", None)
    if getattr(model, "offload_pool", None) is not None and host is not None:
        text += f" · {host.describe()}"
    return text


def settings_from(args: argparse.Namespace):
    from engine.runtime.session import GenerationSettings

    try:
        return GenerationSettings(effort=args.effort, temperature=args.temperature, top_p=args.top_p,
                                  top_k=args.top_k, max_tokens=args.max_tokens, seed=args.seed,
                                  reasoning_budget=args.reasoning_budget, overflow=args.overflow)
    except ValueError as error:
        from engine.errors import EngineError

        raise EngineError(f"{error}.") from None
