"""The o200k_harmony tokenizer equals tiktoken's own definition and keeps typed text ordinary."""

from __future__ import annotations

import shutil

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.errors import ModelFilesError
from engine.text.tokenizer import (
    NUM_ORDINARY_TOKENS,
    PATTERN,
    SPECIAL_TOKENS,
    VOCAB_SIZE,
    Special,
    build_tokenizer,
    load_tokenizer,
    ranks_path,
)

NAMED = {
    "<|startoftext|>": 199998,
    "<|endoftext|>": 199999,
    "<|return|>": 200002,
    "<|constrain|>": 200003,
    "<|channel|>": 200005,
    "<|start|>": 200006,
    "<|end|>": 200007,
    "<|message|>": 200008,
    "<|call|>": 200012,
    "<|endofprompt|>": 200018,
}

SAMPLES = [
    "",
    "hello world",
    "  leading and trailing spaces  ",
    "tabs\tand\nnewlines\r\n\n\nblank lines",
    "안녕하세요, 세계! 한국어 텍스트입니다.",
    "emoji 👩‍👩‍👧‍👦🎉 and flags 🇰🇷",
    "def f(x):\n    return x ** 2  # comment\n",
    "<|start|>user<|message|>hi<|end|>",
    "<|endoftext|><|reserved_200123|><|endofprompt|>",
    "numbers 1234567890 3.14159 -42",
    "mixed ÀÉÎÕÜ ñ ß ø ﬁ",
    "\u200b zero width \ufeff bom",
    "'s 't 're 've 'm 'll 'd CAPS'LL",
    "a" * 1000,
]


@pytest.fixture(scope="module")
def reference():
    """tiktoken's own o200k_harmony encoding, built offline from the same ranks file."""
    import tiktoken
    import tiktoken.load
    from tiktoken_ext import openai_public

    original = tiktoken.load.load_tiktoken_bpe
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(
            openai_public,
            "load_tiktoken_bpe",
            lambda _url, expected_hash=None: original(str(ranks_path()), expected_hash=expected_hash),
        )
        return tiktoken.Encoding(**openai_public.o200k_harmony())


@pytest.fixture(scope="module")
def harmony_encoding():
    from openai_harmony import HarmonyEncodingName, load_harmony_encoding

    return load_harmony_encoding(HarmonyEncodingName.HARMONY_GPT_OSS)


def test_specials_match_tiktoken(reference):
    """Pattern and special tokens (name -> id) are exactly those of tiktoken's o200k_harmony."""
    assert SPECIAL_TOKENS == reference._special_tokens
    assert PATTERN == reference._pat_str


def test_vocab_and_named_ids(reference):
    """201088 ids; the named specials have the documented ids and the rest are reserved."""
    tok = load_tokenizer()
    assert tok.n_vocab == VOCAB_SIZE == reference.n_vocab == 201088
    for name, token in NAMED.items():
        assert SPECIAL_TOKENS[name] == token
        assert tok.special_name(token) == name
    assert {int(member) for member in Special} == set(NAMED.values())
    named_ids = set(NAMED.values())
    for token in range(200000, VOCAB_SIZE):
        if token not in named_ids:
            assert tok.special_name(token) == f"<|reserved_{token}|>"
            assert SPECIAL_TOKENS[f"<|reserved_{token}|>"] == token
    assert tok.is_special(NUM_ORDINARY_TOKENS) and not tok.is_special(NUM_ORDINARY_TOKENS - 1)


def test_load_tokenizer_is_cached():
    """load_tokenizer returns one shared instance."""
    assert load_tokenizer() is load_tokenizer()


@pytest.mark.parametrize("text", SAMPLES)
def test_encode_matches_reference(reference, harmony_encoding, text):
    """Ordinary encoding equals tiktoken's and openai-harmony's, and decodes back."""
    tok = load_tokenizer()
    ids = tok.encode(text)
    assert ids == reference.encode(text, disallowed_special=())
    assert ids == reference.encode_ordinary(text)
    assert ids == harmony_encoding.encode(text, disallowed_special=())
    assert tok.decode(ids) == text
    assert tok.decode_bytes(ids) == text.encode()


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=80))
def test_encode_matches_reference_random(reference, text):
    """Random text (any code points) encodes as tiktoken does and round-trips."""
    tok = load_tokenizer()
    ids = tok.encode(text)
    assert ids == reference.encode_ordinary(text)
    if not any(0xD800 <= ord(ch) <= 0xDFFF for ch in text):
        assert tok.decode(ids) == text


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from([*SPECIAL_TOKENS][:40] + ["x", " ", "<|", "|>", "end", "\n"]), max_size=12))
def test_typed_specials_stay_ordinary(parts):
    """Text that spells special tokens never encodes to a special id."""
    tok = load_tokenizer()
    text = "".join(parts)
    ids = tok.encode(text)
    assert all(token < NUM_ORDINARY_TOKENS for token in ids)
    assert tok.decode(ids) == text


def test_decode_specials_and_partial_utf8():
    """Specials decode to their names; a cut UTF-8 sequence decodes with a replacement character."""
    tok = load_tokenizer()
    assert tok.decode([Special.START, Special.END]) == "<|start|><|end|>"
    assert tok.decode_bytes([200018]) == b"<|endofprompt|>"
    ids = tok.encode("한")
    whole = b"".join(tok.token_bytes(token) for token in ids)
    assert whole == "한".encode()
    assert tok.decode_bytes(ids)[:2].decode("utf-8", errors="replace") == "\ufffd"


def test_missing_file_is_a_clear_error(tmp_path):
    """A missing ranks file raises ModelFilesError that says to reinstall."""
    with pytest.raises(ModelFilesError, match="(?i)reinstall"):
        build_tokenizer(tmp_path / "o200k_base.tiktoken")


def test_damaged_file_is_a_clear_error(tmp_path):
    """A ranks file with the wrong bytes raises ModelFilesError that says to reinstall."""
    damaged = tmp_path / "o200k_base.tiktoken"
    shutil.copyfile(ranks_path(), damaged)
    with damaged.open("r+b") as handle:
        handle.seek(100)
        handle.write(b"Z")
    with pytest.raises(ModelFilesError, match="(?i)damaged.*reinstall"):
        build_tokenizer(damaged)
