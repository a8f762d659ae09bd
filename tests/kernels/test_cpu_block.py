"""A CPU decode step's attention half in one numba call (engine/kernels/cpu_block.py, engine/model.py Block):
the same bits as the step's calls one by one, over full layers and sliding rings that wrap."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
import torch

numba = pytest.importorskip("numba")

from engine.io.synthetic import tiny_config, write_checkpoint
from engine.kernels import cpu_attend_jit, cpu_block, cpu_block_jit
from engine.layers.attention import attend_torch
from engine.layers.kv_cache import KVCache
from engine.layers.moe import by_expert
from engine.model import Block
from engine.runtime.loader import load_model


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    # heads of 96 columns in all against a hidden size of 64; 3 layers: sliding, full, sliding
    cfg = tiny_config(num_hidden_layers=3, hidden_size=64, num_attention_heads=6, num_key_value_heads=3)
    return load_model(write_checkpoint(tmp_path_factory.mktemp("block") / "m", cfg), device="cpu")


def _decode(model, tokens, prompt: int, history: int, fused: bool, monkeypatch) -> list[torch.Tensor]:
    """Logits of a prompt, then of each further token one step at a time."""
    with monkeypatch.context() as patch:
        calls = []
        if fused:
            original = cpu_block.attention_half
            patch.setattr(cpu_block, "attention_half", lambda *a: calls.append(1) or original(*a))
        else:
            patch.setattr(Block, "_cpu_attention_half", lambda *a: None)
        cache = KVCache(model.config, 64, sliding_history=history)
        logits = [model(tokens[:prompt], cache)]
        logits += [model(tokens[t : t + 1], cache) for t in range(prompt, tokens.shape[0])]
    steps = tokens.shape[0] - prompt  # and the prompt's tokens one by one where the ring allows no more
    assert len(calls) >= steps * model.config.num_hidden_layers if fused else not calls
    return logits


@pytest.mark.parametrize("prompt, history", [(5, 1), (1, 3), (12, 4096)])
def test_decode_steps_give_the_calls_one_by_ones_bits(model, monkeypatch, prompt, history):
    """Over steps whose sliding rings wrap (a window of 8 in a ring of 8 or 10), from a prompt of one token
    or more: every logit of the fused step equals the unfused one's, and so does the cache."""
    tokens = torch.randint(
        0, model.config.vocab_size, (prompt + 14,), generator=torch.Generator().manual_seed(3)
    )
    want = _decode(model, tokens, prompt, history, False, monkeypatch)
    got = _decode(model, tokens, prompt, history, True, monkeypatch)
    for a, b in zip(got, want):
        assert torch.equal(a, b)


def test_the_cache_holds_what_the_unfused_step_writes(model, monkeypatch):
    tokens = torch.randint(0, model.config.vocab_size, (20,), generator=torch.Generator().manual_seed(5))
    caches = []
    for fused in (False, True):
        with monkeypatch.context() as patch:
            if not fused:
                patch.setattr(Block, "_cpu_attention_half", lambda *a: None)
            cache = KVCache(model.config, 32, sliding_history=2, zeroed=True)
            model(tokens[:3], cache)
            for t in range(3, 20):
                model(tokens[t : t + 1], cache)
            caches.append(cache)
    for a, b in zip(*(c.layers for c in caches)):
        assert torch.equal(a.k, b.k) and torch.equal(a.v, b.v)


@pytest.mark.parametrize("first, n, slots", [(0, 5, 5), (6, 7, 9), (8, 1, 9), (3, 9, 9)])
def test_attention_over_a_ring_is_over_the_keys_in_order(first, n, slots):
    """attend_slots reads key i at slot (first + i) % slots: the same bits as attend_torch over those keys
    gathered in order."""
    g = torch.Generator().manual_seed(first * 31 + n)
    cache_k = (torch.randn(2, slots, 16, generator=g) * 2).bfloat16().float()
    cache_v = torch.randn(2, slots, 16, generator=g).bfloat16().float()
    q = (torch.randn(1, 4, 16, generator=g) * 2).bfloat16()
    sinks = torch.randn(2, 2, 1, 1, generator=g)
    order = torch.tensor([(first + i) % slots for i in range(n)])
    want = attend_torch(q, cache_k[:, order], cache_v[:, order], sinks, 0.25, n - 1, 0, 0)
    bits = q.view(torch.int16).numpy().reshape(-1)
    got = cpu_attend_jit.attend_slots(
        bits, cache_k.numpy(), cache_v.numpy(), first, n, sinks.reshape(-1).numpy(), 0.25
    )
    assert torch.equal(torch.from_numpy(got).view(torch.bfloat16).view(1, -1), want)


def test_it_gives_way_where_it_does_not_apply(model, monkeypatch):
    """A prompt of several tokens, and the kernels turned off (GOSSAMER_KERNELS=torch), run the calls one by
    one; so does a block whose weights the kernels do not take."""
    calls = []
    original = cpu_block.attention_half
    monkeypatch.setattr(cpu_block, "attention_half", lambda *a: calls.append(1) or original(*a))
    cache = KVCache(model.config, 16)
    model(torch.arange(4), cache)
    assert not calls
    monkeypatch.setenv("GOSSAMER_KERNELS", "torch")
    model(torch.arange(4, 5), cache)
    assert not calls
    monkeypatch.delenv("GOSSAMER_KERNELS")
    model(torch.arange(5, 6), cache)
    assert len(calls) == model.config.num_hidden_layers


def test_the_compiled_step_names_the_kernels_it_compiles_in():
    """numba's disk cache keys attention_half on its own file: the kernels it calls are pinned by hash, so
    editing one without updating CALLEES_SOURCE (which recompiles) fails here, not with stale code."""
    folder = Path(cpu_block_jit.__file__).parent
    digest = hashlib.sha256(
        b"".join((folder / name).read_bytes() for name in cpu_block_jit.CALLEES)
    ).hexdigest()
    assert digest[:16] == cpu_block_jit.CALLEES_SOURCE, f"update CALLEES_SOURCE to {digest[:16]}"


def test_one_token_slots_are_the_keys_update_returns():
    """Each cache's one_token_slots names the slot update writes and the keys it returns, in order."""
    cfg = tiny_config()
    cache = KVCache(cfg, 40, sliding_history=3)
    for start in range(30):
        for layer in cache.layers:
            slot, first, count = layer.one_token_slots(start)
            k = torch.full((1, cfg.num_key_value_heads, cfg.head_dim), float(start + 1))
            keys, _, _ = layer.update(k, k, start)
            assert layer.k[0, slot, 0] == start + 1 and keys.shape[1] == count
            ring = layer.k.shape[1]
            assert torch.equal(keys, layer.k[:, [(first + i) % ring for i in range(count)]])


def _torch_routes(logits: torch.Tensor, k: int):
    top = torch.topk(logits, k, dim=-1, sorted=True)
    return by_expert(top.indices, torch.softmax(top.values.float(), dim=-1).to(torch.bfloat16))


@pytest.mark.parametrize("experts, k", [(32, 4), (4, 2), (5, 5), (128, 4), (1, 1)])
def test_top_routes_are_torchs(experts, k):
    """Experts and weights as MoE.top then by_expert give them, for logits with no tie at the k-th place: the
    same experts, and weights at most a bf16 step apart (torch's vectorised exp may differ in its last bit)."""
    g = torch.Generator().manual_seed(experts * 10 + k)
    logits = (torch.randn(3000, experts, generator=g) * 3).bfloat16()
    ids, weights = torch.empty(k, dtype=torch.int64), torch.empty(k, dtype=torch.int16)
    want_ids, want_weights = _torch_routes(logits, k)
    differ = checked = 0
    for row, (w_ids, w_weights) in enumerate(zip(want_ids, want_weights)):
        ranked = logits[row].float().sort(descending=True).values
        unambiguous = k == experts or ranked[k - 1] > ranked[k]
        routed = cpu_block_jit.top_routes(logits[row].view(torch.int16).numpy(), ids.numpy(), weights.numpy())
        assert routed == unambiguous
        if routed:
            checked += 1
            assert torch.equal(ids, w_ids)
            steps = (weights.int() - w_weights.view(torch.int16).int()).abs()
            assert steps.max() <= 1
            differ += int(steps.max())
    assert checked > 2000 and differ <= 2


def test_top_routes_leave_ties_and_nan_to_torch():
    ids, weights = torch.empty(2, dtype=torch.int64), torch.empty(2, dtype=torch.int16)
    for values in ([3.0, 1.0, 1.0, 0.5], [float("nan"), 1.0, 2.0, 0.0], [2.0, 2.0, 2.0, 1.0]):
        logits = torch.tensor(values).bfloat16().view(torch.int16).numpy()
        assert not cpu_block_jit.top_routes(logits, ids.numpy(), weights.numpy())
    logits = torch.tensor(
        [1.0, 3.0, 3.0, 0.5]
    ).bfloat16()  # a tie inside the top two: either order, one answer
    assert cpu_block_jit.top_routes(logits.view(torch.int16).numpy(), ids.numpy(), weights.numpy())
    want_ids, want_weights = _torch_routes(logits[None], 2)
    assert ids.tolist() == want_ids[0].tolist() == [1, 2]
    assert torch.equal(weights.view(torch.bfloat16), want_weights[0])


def test_a_step_whose_routes_tie_routes_with_torch_from_the_logits(model, monkeypatch):
    """Where the kernel leaves the routes to torch (None), the MoE takes them from the logits: the same bits."""
    tokens = torch.randint(0, model.config.vocab_size, (10,), generator=torch.Generator().manual_seed(9))
    want = _decode(model, tokens, 4, 4096, True, monkeypatch)
    original = cpu_block.attention_half
    monkeypatch.setattr(cpu_block, "attention_half", lambda *a: (*original(*a)[:3], None))
    cache = KVCache(model.config, 64)
    got = [model(tokens[:4], cache)] + [model(tokens[t : t + 1], cache) for t in range(4, 10)]
    for a, b in zip(got, want):
        assert torch.equal(a, b)


def test_methods_replaced_on_an_instance_are_still_called(model, monkeypatch):
    """A block whose attention's run or MoE's route is replaced on the instance (how tests inject faults and
    force experts) takes the calls one by one, so the replacement sees every step; the other blocks fuse."""
    runs, routes = [], []
    attn, mlp = model.blocks[0].attn, model.blocks[1].mlp
    real_run, real_route = attn.run, mlp.route
    monkeypatch.setattr(attn, "run", lambda *a, **k: runs.append(1) or real_run(*a, **k), raising=False)
    monkeypatch.setattr(mlp, "route", lambda x: routes.append(1) or real_route(x), raising=False)
    fused = []
    original = cpu_block.attention_half
    monkeypatch.setattr(cpu_block, "attention_half", lambda *a: fused.append(1) or original(*a))
    cache = KVCache(model.config, 16)
    model(torch.arange(3), cache)
    runs.clear(), routes.clear()
    for t in range(3, 6):
        model(torch.tensor([t]), cache)
    assert len(runs) == len(routes) == 3 and len(fused) == 3 * (model.config.num_hidden_layers - 2)
