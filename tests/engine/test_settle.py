"""A CPU model's streamed weights move from the file's mapping into huge pages (engine/runtime/settle.py,
engine/io/huge_pages.py): the same numbers, before the first step or when asked, and only where it fits."""

from __future__ import annotations

import torch

from engine.io import huge_pages
from engine.runtime import settle as settle_module
from engine.runtime.loader import load_model
from engine.runtime.settle import settle


def _mapped(model, tensor) -> bool:
    """Whether ``tensor`` is a view of one of the checkpoint's mapped tensors."""
    checkpoint = model.checkpoint
    return any(checkpoint.get(name).data_ptr() == tensor.data_ptr() for name in checkpoint.names())


def _streamed(model) -> list[torch.Tensor]:
    weights = [model.unembedding]
    for block in model.blocks:
        weights += [getattr(block.attn, f) for f in ("q_weight", "k_weight", "v_weight", "out_weight")]
        weights += [t for t in vars(block.mlp.store.packed).values() if isinstance(t, torch.Tensor)]
    return weights


def _logits(model, tokens) -> list[torch.Tensor]:
    cache = model.new_cache(32)
    out = [model(tokens[:5], cache)]
    return out + [model(tokens[t : t + 1], cache) for t in range(5, tokens.shape[0])]


def test_settling_copies_the_streamed_weights_and_changes_no_number(tiny_model_dir, monkeypatch):
    monkeypatch.setattr(
        huge_pages, "supported", lambda: True
    )  # copy even where THP is off (then in 4 KiB pages)
    tokens = torch.randint(0, 200000, (9,), generator=torch.Generator().manual_seed(4))
    reference = load_model(tiny_model_dir, "cpu")
    reference.before_first_step = None  # stays mapped
    want = _logits(reference, tokens)
    model = load_model(tiny_model_dir, "cpu")
    assert all(_mapped(model, t) for t in _streamed(model))
    done = settle(model)
    expected = sum(t.numel() * t.element_size() for t in _streamed(reference))
    assert done.why_not is None and done.bytes == expected
    assert not any(_mapped(model, t) for t in _streamed(model))
    assert _mapped(model, model.embedding)  # a token reads one row of it: it stays mapped
    assert all(t.is_contiguous() for t in _streamed(model))
    for a, b in zip(_logits(model, tokens), want):
        assert torch.equal(a, b)
    assert settle(model).bytes == 0  # nothing left to copy


def test_the_first_step_settles_once(tiny_model_dir, monkeypatch):
    """The loader leaves the weights mapped (loading reads nothing) and settles them before the first step."""
    monkeypatch.setattr(huge_pages, "supported", lambda: True)
    model = load_model(tiny_model_dir, "cpu")
    assert model.before_first_step is not None and all(_mapped(model, t) for t in _streamed(model))
    cache = model.new_cache(8)
    model(torch.arange(3), cache)
    assert model.before_first_step is None and not any(_mapped(model, t) for t in _streamed(model))
    copies = [t.data_ptr() for t in _streamed(model)]
    model(torch.arange(3, 4), cache)
    assert [t.data_ptr() for t in _streamed(model)] == copies


def test_nothing_moves_without_room_or_huge_pages(tiny_model_dir, monkeypatch):
    """Copies that would not fit the memory free now, or a system without transparent huge pages: the model
    keeps its mappings, and says why."""
    monkeypatch.setattr(huge_pages, "supported", lambda: True)
    monkeypatch.setattr(settle_module, "_room", lambda: 1024)
    model = load_model(tiny_model_dir, "cpu")
    done = settle(model)
    assert done.bytes == 0 and "memory" in done.why_not
    assert all(_mapped(model, t) for t in _streamed(model))
    monkeypatch.setattr(huge_pages, "supported", lambda: False)
    assert "huge pages" in settle(model).why_not and all(_mapped(model, t) for t in _streamed(model))


def test_huge_page_memory_is_aligned_writable_and_lives_with_its_tensor():
    t = huge_pages.empty(3 * huge_pages.HUGE_PAGE + 5)
    assert t.dtype == torch.uint8 and t.numel() == 3 * huge_pages.HUGE_PAGE + 5
    assert t.data_ptr() % huge_pages.HUGE_PAGE == 0
    view = t[7:]
    del t
    view.fill_(3)
    assert int(view.sum()) == 3 * view.numel()
    source = torch.randn(3, 1000).bfloat16()
    chunks = []
    copy = huge_pages.copy_of(source, chunk_bytes=1000, after_chunk=lambda lo, hi: chunks.append((lo, hi)))
    assert torch.equal(copy, source) and copy.data_ptr() != source.data_ptr()
    assert chunks[0] == (0, 1000) and chunks[-1][1] == 6000 and len(chunks) == 6
    assert huge_pages.empty(0).numel() == 0


def test_settling_between_steps_changes_no_number(tiny_model_dir, monkeypatch):
    """Weights moved after some decode steps (the CPU step's cached views of them remade): the same logits
    as a model that never moved them."""
    monkeypatch.setattr(huge_pages, "supported", lambda: True)
    tokens = torch.randint(0, 200000, (12,), generator=torch.Generator().manual_seed(6))
    reference = load_model(tiny_model_dir, "cpu")
    reference.before_first_step = None
    want = _logits(reference, tokens)
    model = load_model(tiny_model_dir, "cpu")
    model.before_first_step = None
    cache = model.new_cache(32)
    got = [model(tokens[:5], cache)] + [model(tokens[t : t + 1], cache) for t in range(5, 8)]
    assert settle(model).bytes > 0
    got += [model(tokens[t : t + 1], cache) for t in range(8, 12)]
    for a, b in zip(got, want):
        assert torch.equal(a, b)
    for block in model.blocks:  # the step reads the copies, not views of the released file pages
        if block._cpu_weights is not None:
            assert block._cpu_weights.tensors[0] is block.attn.q_weight
