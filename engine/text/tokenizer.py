"""The o200k_harmony tokenizer of gpt-oss, on tiktoken, from the ranks file bundled in ``resources/``.

The pattern and special tokens are those of tiktoken's own ``o200k_harmony`` definition
(``tiktoken_ext/openai_public.py``); its constructor would download the ranks, so we build the same
``tiktoken.Encoding`` from our copy and check the copy's sha256 first.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Iterable
from enum import IntEnum
from pathlib import Path

from engine.errors import ModelFilesError
from engine.paths import RESOURCES_DIR

RANKS_FILE = "o200k_base.tiktoken"
# The hash tiktoken itself expects for o200k_base.tiktoken.
RANKS_SHA256 = "446a9538cb6c348e3516120d7c08b09f57c36495e2acfffe59a5bf8b0cfb1a2d"

NUM_ORDINARY_TOKENS = 199998  # ranks 0..199997
VOCAB_SIZE = 201088  # ordinary ranks plus specials 199998..201087


class Special(IntEnum):
    """The named special tokens of o200k_harmony (every other id from 200000 up is ``<|reserved_N|>``)."""

    STARTOFTEXT = 199998
    ENDOFTEXT = 199999
    RETURN = 200002
    CONSTRAIN = 200003
    CHANNEL = 200005
    START = 200006
    END = 200007
    MESSAGE = 200008
    CALL = 200012
    ENDOFPROMPT = 200018


# o200k_base's pattern, unchanged in o200k_harmony.
PATTERN = "|".join(  # noqa: FLY002  (one alternative a line, as tiktoken writes it)
    [
        r"""[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?""",
        r"""[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?""",
        r"""\p{N}{1,3}""",
        r""" ?[^\s\p{L}\p{N}]+[\r\n/]*""",
        r"""\s*[\r\n]+""",
        r"""\s+(?!\S)""",
        r"""\s+""",
    ]
)


def _special_tokens() -> dict[str, int]:
    # Same construction as tiktoken's o200k_harmony: o200k_base's two specials, the harmony names,
    # then a reserved name for every id from 200013 up. Id 200018 therefore has two names,
    # <|endofprompt|> and <|reserved_200018|>; tiktoken decodes it as <|endofprompt|>.
    specials = {"<|endoftext|>": 199999, "<|endofprompt|>": 200018}
    specials |= {
        "<|startoftext|>": 199998,
        "<|endoftext|>": 199999,
        "<|reserved_200000|>": 200000,
        "<|reserved_200001|>": 200001,
        "<|return|>": 200002,
        "<|constrain|>": 200003,
        "<|reserved_200004|>": 200004,
        "<|channel|>": 200005,
        "<|start|>": 200006,
        "<|end|>": 200007,
        "<|message|>": 200008,
        "<|reserved_200009|>": 200009,
        "<|reserved_200010|>": 200010,
        "<|reserved_200011|>": 200011,
        "<|call|>": 200012,
    }
    specials |= {f"<|reserved_{i}|>": i for i in range(200013, VOCAB_SIZE)}
    return specials


SPECIAL_TOKENS: dict[str, int] = _special_tokens()  # name -> id


class Tokenizer:
    """o200k_harmony: ``encode`` treats all text as ordinary text, so typed ``<|end|>`` stays text."""

    def __init__(self, encoding):  # encoding: tiktoken.Encoding
        assert encoding.n_vocab == VOCAB_SIZE, f"{encoding.n_vocab=} != {VOCAB_SIZE}"
        self.encoding = encoding
        self.n_vocab = encoding.n_vocab
        # id -> name, for showing special tokens; 200018 keeps the name tiktoken decodes it to.
        self._special_names = {
            token: name for name, token in SPECIAL_TOKENS.items() if name != "<|reserved_200018|>"
        }

    def encode(self, text: str) -> list[int]:
        # encode_ordinary never produces special tokens: user text cannot inject harmony structure.
        return self.encoding.encode_ordinary(text)

    def decode(self, ids: Iterable[int]) -> str:
        return self.decode_bytes(ids).decode("utf-8", errors="replace")

    def decode_bytes(self, ids: Iterable[int]) -> bytes:
        return self.encoding.decode_bytes(list(ids))

    def token_bytes(self, token: int) -> bytes:
        """The bytes of one token: a piece of UTF-8 (maybe incomplete), or a special token's name."""
        return self.encoding.decode_single_token_bytes(token)

    def is_special(self, token: int) -> bool:
        return token >= NUM_ORDINARY_TOKENS

    def special_name(self, token: int) -> str:
        return self._special_names[token]


def ranks_path() -> Path:
    return RESOURCES_DIR / RANKS_FILE


def build_tokenizer(path: Path | str | None = None) -> Tokenizer:
    """Read and check the ranks file (``resources/o200k_base.tiktoken`` by default); not cached."""
    import tiktoken
    import tiktoken.load

    path = Path(path) if path is not None else ranks_path()
    try:
        data = path.read_bytes()
    except OSError as error:
        raise ModelFilesError(
            f"The tokenizer file {path} cannot be read ({error.strerror or error}). "
            "Reinstall the app to restore it."
        ) from error
    if hashlib.sha256(data).hexdigest() != RANKS_SHA256:
        raise ModelFilesError(
            f"The tokenizer file {path} is damaged (its sha256 is not the expected {RANKS_SHA256}). "
            "Reinstall the app to restore it."
        )
    try:
        # Checks the hash again, and parses; we checked first so a missing file gets our message.
        ranks = tiktoken.load.load_tiktoken_bpe(str(path), expected_hash=RANKS_SHA256)
    except (OSError, ValueError) as error:
        raise ModelFilesError(
            f"The tokenizer file {path} cannot be loaded ({error}). Reinstall the app to restore it."
        ) from error
    encoding = tiktoken.Encoding(
        name="o200k_harmony", pat_str=PATTERN, mergeable_ranks=ranks, special_tokens=SPECIAL_TOKENS
    )
    return Tokenizer(encoding)


@functools.cache
def load_tokenizer() -> Tokenizer:
    """The shared tokenizer (loaded once per process); raises ModelFilesError if the file is bad."""
    return build_tokenizer()
