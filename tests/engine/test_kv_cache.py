"""The KV cache through the model: chunking, decoding, going back (truncate) and going on."""

from __future__ import annotations

import pytest
import torch

from engine.config import FULL
from engine.errors import ContextFullError
from engine.io.synthetic import tiny_config
from engine.layers.kv_cache import KVCache
from engine.runtime.loader import load_model
from tests.engine.logits_check import assert_logits_close

CFG = tiny_config(vocab_size=512, num_hidden_layers=3, sliding_window=8)


@pytest.fixture(scope="module")
def model(make_checkpoint):
    return load_model(make_checkpoint(CFG, layout="hf"))


def ids(n: int, seed: int = 0) -> torch.Tensor:
    return torch.randint(0, CFG.vocab_size, (n,), generator=torch.Generator().manual_seed(seed))


def same(a: torch.Tensor, b: torch.Tensor) -> None:
    """Equal up to float32 summation order (different chunk shapes pick different matmul kernels)."""
    assert a.shape == b.shape
    assert torch.allclose(a, b, atol=0.05, rtol=0), float((a - b).abs().max())
    assert_logits_close(a, b, min_cos=0.99999, max_argmax_misses=0.0)


def run(model, tokens, cache, chunk=None, decode=False):
    if chunk is not None:
        model.prefill_chunk = chunk
    try:
        if decode:
            return torch.cat([model.forward(tokens[i : i + 1], cache) for i in range(len(tokens))])
        return model.forward(tokens, cache)
    finally:
        model.prefill_chunk = 512


def test_chunked_prefill_equals_unchunked(model):
    """Prefill in chunks of 5 (crossing window and chunk edges everywhere) equals one step."""
    x = ids(70)
    whole = run(model, x, model.new_cache(70))
    same(run(model, x, model.new_cache(70), chunk=5), whole)
    same(run(model, x, model.new_cache(70), decode=True), whole)


def test_last_only_and_empty(model):
    x = ids(20)
    full = model.forward(x, model.new_cache(20))
    last = model.forward(x, model.new_cache(20), last_only=True)
    assert last.shape == (1, CFG.vocab_size) and torch.equal(last[0], full[-1])
    cache = model.new_cache(4)
    assert model.forward(torch.tensor([], dtype=torch.long), cache).shape == (0, CFG.vocab_size)
    assert cache.num_tokens == 0


@pytest.mark.parametrize("history", [16, 4096])
def test_truncate_and_continue_equals_fresh(model, history):
    """Going back a few positions (ring still holds the window) and on equals a fresh run of the prefix."""
    a, b = ids(60, 1), ids(30, 2)
    cache = model.new_cache(100, sliding_history=history)
    run(model, a, cache)
    assert cache.can_truncate_cheaply(50)
    cache.truncate(50)
    assert not cache.stale and cache.num_tokens == 50
    continued = run(model, b, cache)
    fresh = model.new_cache(100, sliding_history=history)
    run(model, a[:50], fresh)
    same(continued, run(model, b, fresh))
    assert cache.num_tokens == fresh.num_tokens == 80


def test_truncate_past_the_ring_replays(model):
    """Going back further than the sliding rings remember marks the cache stale; the next step replays
    the kept tokens first and the result is still exact."""
    a, b = ids(60, 3), ids(12, 4)
    cache = model.new_cache(100, sliding_history=16)  # ring of 23 positions, chunks of at most 16
    run(model, a, cache)
    assert not cache.can_truncate_cheaply(20)
    cache.truncate(20)
    assert cache.stale and cache.num_tokens == 20
    continued = run(model, b, cache)
    assert not cache.stale and cache.num_tokens == 32
    fresh = model.new_cache(100)
    run(model, a[:20], fresh)
    same(continued, run(model, b, fresh))


def test_decode_far_past_the_ring(model):
    """Decoding long after the ring wrapped many times matches a prefill with a ring that never wraps."""
    x = ids(90, 5)
    small = model.new_cache(90, sliding_history=3)  # ring of 10: wraps nine times
    assert small.ring_size == 10 and small.max_chunk == 3
    same(run(model, x, small, decode=True), run(model, x, model.new_cache(90)))


def test_truncate_to_zero_and_reset(model):
    x = ids(30, 6)
    cache = model.new_cache(40, sliding_history=4)
    first = run(model, x, cache)
    cache.truncate(0)
    assert cache.num_tokens == 0 and not cache.stale
    same(run(model, x, cache), first)
    cache.reset()
    same(run(model, x, cache), first)


def test_session_pattern_prompt_answer_then_shared_prefix(model):
    """A chat turn: prefill a prompt, decode an answer, go back to the shared prefix, prefill the next
    prompt: the next answer's logits equal a fresh run's."""
    prompt, answer, follow_up = ids(40, 7), ids(25, 8), ids(15, 9)
    cache = model.new_cache(120)
    run(model, prompt, cache)
    run(model, answer, cache, decode=True)
    cache.truncate(45)  # keep the prompt and the answer's first 5 tokens
    continued = run(model, follow_up, cache)
    fresh = model.new_cache(120)
    run(model, torch.cat([prompt, answer[:5]]), fresh)
    same(continued, run(model, follow_up, fresh))


def test_all_full_attention_never_goes_stale(make_checkpoint):
    cfg = tiny_config(vocab_size=512, layer_types=(FULL, FULL))
    model = load_model(make_checkpoint(cfg, layout="hf"))
    cache = model.new_cache(50, sliding_history=1)
    model.forward(ids(40), cache)
    cache.truncate(1)
    assert not cache.stale and cache.max_chunk == 50


def test_context_full(model):
    cache = model.new_cache(10)
    model.forward(ids(8), cache)
    with pytest.raises(ContextFullError, match="10"):
        model.forward(ids(3), cache)
    assert cache.num_tokens == 8


def test_failed_step_leaves_the_cache_consistent(model, monkeypatch):
    """An error inside a step (out of memory, say) neither advances the cache nor corrupts it."""
    cache = model.new_cache(60, sliding_history=4)
    first = run(model, ids(20), cache)
    block = model.blocks[2]
    monkeypatch.setattr(block, "step", lambda *a, **k: (_ for _ in ()).throw(RuntimeError("boom")))
    with pytest.raises(RuntimeError):
        model.forward(ids(5, 1), cache)
    monkeypatch.undo()
    assert cache.num_tokens == 20
    cache.truncate(19)  # the failed step overwrote ring slots: going back far is now a replay
    more = run(model, ids(5, 1), cache)
    fresh = model.new_cache(60)
    same(run(model, ids(20)[:19], fresh), first[:19])
    same(more, run(model, ids(5, 1), fresh))


def test_cache_arguments():
    cache = KVCache(CFG, 16, "cpu")
    with pytest.raises(ValueError):
        cache.truncate(1)
    assert cache.nbytes() > 0 and cache.dtype == torch.float32


def test_accelerator_numerics_on_cpu(model, monkeypatch):
    """The CUDA code path's numerics (bf16 cache and attention matmuls, experts gathered per route when
    decoding) run here on the CPU and agree with the CPU path: what test_cuda.py checks on a GPU."""
    import engine.layers.attention
    import engine.layers.moe

    x = ids(40, 10)
    expected = run(model, x, model.new_cache(40))
    monkeypatch.setattr(engine.layers.attention, "matmul_dtype", lambda device, dtype: dtype)
    monkeypatch.setattr(engine.layers.moe, "default_strategy", lambda device, routes, cache: "gathered")
    monkeypatch.setattr("engine.kernels.cpu_bf16.applies", lambda *args: False)  # nor the CPU GEMV
    for decode in (False, True):
        cache = KVCache(CFG, 40, "cpu", dtype=torch.bfloat16, sliding_history=5)
        assert_logits_close(
            run(model, x, cache, decode=decode), expected, min_cos=0.9999, max_argmax_misses=0.05
        )
