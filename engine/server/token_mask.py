"""Which tokens of the vocabulary a JSON grammar state allows next: a mask over the tokenizer's ids.

The ordinary tokens are kept sorted by their bytes, which makes the sorted list a trie without building
one: the tokens that share a prefix are one slice of it, found with bisect. Walking it depth first and
stepping the grammar one byte at a time, a byte the grammar refuses drops every token under that prefix
at once. Inside a free string almost every token is allowed, so there the walk covers only the tokens
with a quote, a backslash or a control byte, and the rest come from one precomputed mask.
"""

from __future__ import annotations

import functools
from bisect import bisect_left

import torch

from engine.server import json_grammar
from engine.text.tokenizer import NUM_ORDINARY_TOKENS, VOCAB_SIZE, load_tokenizer

CACHE_STATES = 512  # masks kept per constraint (the states of a free string repeat)


class Vocabulary:
    """The ordinary tokens' bytes, sorted, with their ids; and the free-string tokens as a mask."""

    def __init__(self, tokenizer) -> None:
        ranks = getattr(tokenizer.encoding, "_mergeable_ranks", None)  # tiktoken's own table: much faster
        if isinstance(ranks, dict) and len(ranks) == NUM_ORDINARY_TOKENS:
            pieces = sorted(ranks.items())
        else:
            pieces = sorted((tokenizer.token_bytes(token), token) for token in range(NUM_ORDINARY_TOKENS))
        pieces = [piece for piece in pieces if piece[0]]
        self.all = _Sorted(pieces)
        special = bytes([0x22, 0x5C, *range(0x20)])
        plain_ids, others = [], []
        for data, token in pieces:
            if data.translate(None, special) == data:
                plain_ids.append(token)
            else:
                others.append((data, token))
        plain = torch.zeros(VOCAB_SIZE, dtype=torch.bool)
        plain[torch.tensor(plain_ids, dtype=torch.long)] = True
        self.plain = plain  # tokens a free string takes whole, leaving its state as it was
        self.others = _Sorted(others)


class _Sorted:
    def __init__(self, pieces: list[tuple[bytes, int]]) -> None:
        self.data = [data for data, _ in pieces]
        self.ids = [token for _, token in pieces]


@functools.cache
def vocabulary() -> Vocabulary:
    """Built once per process (about a second)."""
    return Vocabulary(load_tokenizer())


class GrammarMask:
    """Masks for the states of one grammar, cached by state."""

    def __init__(self, vocab: Vocabulary | None = None) -> None:
        self.vocab = vocab or vocabulary()
        self._cache: dict = {}
        self._empty: set = set()  # states no token may follow (the value must end there)

    def is_dead_end(self, state: json_grammar.State) -> bool:
        """No ordinary token may come next in ``state`` (known once ``allowed(state)`` was asked)."""
        return state in self._empty

    def allowed(self, state: json_grammar.State) -> torch.Tensor:
        """A bool mask [VOCAB_SIZE] of the ordinary tokens that may come next (special tokens: False)."""
        mask = self._cache.get(state)
        if mask is not None:
            return mask
        if json_grammar.in_free_string(state):
            mask = self.vocab.plain.clone()
            ids = _walk(self.vocab.others, state)
        else:
            mask = torch.zeros(VOCAB_SIZE, dtype=torch.bool)
            ids = _walk(self.vocab.all, state)
        if ids:
            mask[torch.tensor(ids, dtype=torch.long)] = True
        elif not json_grammar.in_free_string(state):
            self._empty.add(state)
        if len(self._cache) >= CACHE_STATES:
            self._cache.clear()
            self._empty.clear()
        self._cache[state] = mask
        return mask


def _walk(sorted_tokens: _Sorted, state: json_grammar.State) -> list[int]:
    found: list[int] = []
    data = sorted_tokens.data
    _visit(data, sorted_tokens.ids, 0, len(data), 0, state, found)
    return found


def _visit(data: list[bytes], ids: list[int], lo: int, hi: int, depth: int, state, found: list[int]) -> None:
    # data[lo:hi] all share data[lo][:depth], and ``state`` is the grammar after those bytes
    i = lo
    while i < hi and len(data[i]) == depth:  # a token that ends here (sorted before its extensions)
        found.append(ids[i])
        i += 1
    while i < hi:
        byte = data[i][depth]
        end = hi if byte == 255 else bisect_left(data, data[i][:depth] + bytes([byte + 1]), i, hi)
        following = json_grammar.step(state, byte)
        if following is not None:
            _visit(data, ids, i, end, depth + 1, following, found)
        i = end
