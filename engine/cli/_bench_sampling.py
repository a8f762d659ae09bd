"""Decode steps as a chat turn runs them, for ``bench --sampling`` and benchmarks/gpu_bench.py.

A greedy benchmark loop keeps the argmax on the device and never waits for it; the app cannot: every token
is drawn (temperature 1, top-p 1: gpt-oss's defaults), read back to the host (the one sync a token),
fed to the harmony parser, and handed back to the model from host memory. These steps run exactly
ChatSession's per-token code (``_pick``, ``_forward``) on a cache the caller has filled, so the figure
is what a user sees, less the GUI.
"""

from __future__ import annotations

import time

from engine.runtime.sampling import SamplingParams, make_generator
from engine.runtime.session import ChatSession
from engine.text.harmony import StreamParser

APP_DEFAULTS = SamplingParams(temperature=1.0, top_p=1.0)


def sampled_decode(
    model, cache, logits, count: int, seed: int = 0, params: SamplingParams = APP_DEFAULTS, tokenizer=None
):
    """``count`` steps after ``logits`` ([V] or [1, V]: the last position of ``cache``), as a session decodes.
    -> (seconds, the ids drawn). The cache advances by ``count``; the stop tokens do not end the loop (a
    random model says anything), so every call times the same number of steps. tokenizer=False: no parser
    (a benchmark machine without tiktoken)."""
    import torch

    # its own cache is replaced by the caller's; a stand-in tokenizer when there is to be no parser
    session = ChatSession(
        model, tokenizer=tokenizer if tokenizer is not False else object(), context_length=1
    )
    session.cache, session._cached_ids = cache, [0] * cache.num_tokens
    generator = make_generator(seed, model.device)
    parser = StreamParser(session.tokenizer) if tokenizer is not False else None
    tokens: list[int] = []
    logits = logits.reshape(-1)
    if model.device.type == "cuda":
        torch.cuda.synchronize(model.device)
    started = time.perf_counter()
    for step in range(count):
        token = session._pick(logits, params, generator)  # the draw on the device and its one read
        tokens.append(token)
        if parser is not None:
            parser.feed(token)
        if step + 1 < count:
            logits = session._forward([token])
    if model.device.type == "cuda":
        torch.cuda.synchronize(model.device)
    return time.perf_counter() - started, tokens
