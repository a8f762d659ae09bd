"""Fuzzing the readers of a user's model folder: any safetensors header or config.json gives either a usable
result (a file whose spans tile its data; a ModelConfig within gpt-oss's ranges) or the engine's own error.
Never another exception, never a hang, never memory beyond a bound. Bounded in examples and time."""

from __future__ import annotations

import json
import math
import shutil
import tracemalloc

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from engine.config import SIZE_RANGES, VALUE_RANGES, ModelConfig
from engine.errors import EngineError
from engine.io.checkpoint import Checkpoint
from engine.io.synthetic import tiny_config, write_checkpoint
from engine.io.weights import DTYPE_SIZES, SafetensorsFile

FUZZ = settings(
    max_examples=120,
    deadline=3000,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    database=None,
)
MEMORY_BOUND = (
    64 * 1024 * 1024
)  # far above what a few-kB input needs; a shape-sized allocation is far above it

# ---- safetensors headers -----------------------------------------------------------------------------------

NUMBERS = st.one_of(
    st.integers(min_value=-2, max_value=600),
    st.integers(min_value=2**31, max_value=2**70),
    st.sampled_from([0, 1, 2, 64, 128, 2**63 - 1, 10**40]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
    st.none(),
)
JSON = st.recursive(
    st.one_of(NUMBERS, st.text(max_size=8)),
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=6), inner, max_size=4)
    ),
    max_leaves=12,
)
ENTRY = st.one_of(
    st.fixed_dictionaries(
        {
            "dtype": st.one_of(st.sampled_from(sorted(DTYPE_SIZES)), JSON),
            "shape": st.one_of(st.lists(NUMBERS, max_size=4), JSON),
            "data_offsets": st.one_of(st.lists(NUMBERS, min_size=2, max_size=2), JSON),
        }
    ),
    JSON,
)


@st.composite
def safetensors_files(draw) -> bytes:
    """A file that is a valid one, a mutated valid one, or structured noise."""
    kind = draw(st.sampled_from(["valid", "mutated", "noise", "raw"]))
    if kind == "raw":
        return draw(st.binary(max_size=400))
    tensors = {}
    offset = 0
    for i in range(draw(st.integers(0, 5))):
        dtype = draw(st.sampled_from(["BF16", "U8", "F32"]))
        shape = draw(st.lists(st.integers(0, 6), max_size=3))
        size = math.prod(shape) * DTYPE_SIZES[dtype]
        tensors[f"t{i}"] = {"dtype": dtype, "shape": shape, "data_offsets": [offset, offset + size]}
        offset += size
    if kind == "mutated" and tensors:
        name = draw(st.sampled_from(sorted(tensors)))
        field = draw(st.sampled_from(["dtype", "shape", "data_offsets", "entry"]))
        if field == "entry":
            tensors[name] = draw(ENTRY)
        elif field == "data_offsets":
            tensors[name]["data_offsets"] = draw(st.lists(NUMBERS, min_size=2, max_size=2))
        else:
            tensors[name][field] = draw(JSON)
    if kind == "noise":
        tensors = draw(st.dictionaries(st.text(max_size=6), ENTRY, max_size=4))
    header = json.dumps(tensors, allow_nan=True).encode()
    header += b" " * draw(st.integers(0, 7))
    declared = draw(st.one_of(st.just(len(header)), st.integers(0, 2**64 - 1)))
    data = bytes(draw(st.integers(0, 2)) * 7 for _ in range(offset + draw(st.integers(-3, 3))))
    return declared.to_bytes(8, "little") + header + data


def _valid_file() -> bytes:
    """Two tensors whose spans tile the data: the happy path, tried on every run."""
    header = json.dumps(
        {
            "a": {"dtype": "BF16", "shape": [2, 3], "data_offsets": [0, 12]},
            "b": {"dtype": "U8", "shape": [4], "data_offsets": [12, 16]},
        }
    ).encode()
    return len(header).to_bytes(8, "little") + header + bytes(16)


OPENED: list[int] = []  # tensors of each file that opened: the fuzzing reaches the happy path too


def tiles(file: SafetensorsFile) -> bool:
    """The spans cover the bytes after the header exactly, without overlap or gap."""
    with open(file.path, "rb") as f:
        at = 8 + int.from_bytes(f.read(8), "little")
    for info in sorted(file.tensors.values(), key=lambda t: (t.start, t.end)):
        if info.start != at:
            return False
        at = info.end
    return at == file.size


@FUZZ
@given(raw=safetensors_files())
@example(raw=_valid_file())
def test_safetensors_header_reader(tmp_path, raw):
    path = tmp_path / "model.safetensors"
    path.write_bytes(raw)
    tracemalloc.start()
    try:
        try:
            file = SafetensorsFile(path)
        except EngineError:
            return
        OPENED.append(len(file.tensors))
        assert tiles(file), file.tensors
        file.close()
    finally:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        assert peak < MEMORY_BOUND, peak


# ---- config.json -------------------------------------------------------------------------------------------

BASE = tiny_config(vocab_size=512).to_hf_json()
KEYS = sorted(set(BASE) | set(BASE["rope_scaling"]) | {"rope_parameters", "layer_types", "unused"})


@st.composite
def configs(draw) -> bytes:
    kind = draw(st.sampled_from(["mutated", "mutated", "raw", "deep"]))
    if kind == "raw":
        return draw(st.binary(max_size=300))
    if kind == "deep":
        depth = draw(st.integers(1, 3000))
        return b'{"a": ' + b"[" * depth + b"]" * depth + b"}"
    data = json.loads(json.dumps(BASE))
    for _ in range(draw(st.integers(1, 4))):
        key = draw(st.sampled_from(KEYS))
        rope = data.get("rope_scaling")
        target = (
            rope if isinstance(rope, dict) and key in BASE["rope_scaling"] and draw(st.booleans()) else data
        )
        if draw(st.integers(0, 9)) == 0:
            target.pop(key, None)
        else:
            target[key] = draw(JSON)
    text = json.dumps(data, allow_nan=True)
    if draw(st.booleans()):  # a number longer than Python's int() takes
        text = text[:-1] + ', "long": ' + "9" * draw(st.integers(1, 6000)) + "}"
    return text.encode()


@FUZZ
@given(raw=configs())
def test_config_reader(tmp_path, raw):
    path = tmp_path / "config.json"
    path.write_bytes(raw)
    try:
        cfg = ModelConfig.from_json_file(path)
    except EngineError:
        return
    for name, (low, high) in {**SIZE_RANGES, **VALUE_RANGES}.items():
        assert low <= getattr(cfg, name) <= high, name
    assert len(cfg.layer_types) == cfg.num_hidden_layers


@pytest.fixture(scope="module")
def small_model(tmp_path_factory):
    return write_checkpoint(tmp_path_factory.mktemp("fuzz") / "m", tiny_config(vocab_size=512), layout="hf")


@settings(
    max_examples=60, deadline=5000, suppress_health_check=[HealthCheck.function_scoped_fixture], database=None
)
@given(raw=configs())
def test_a_folder_with_a_fuzzed_config_opens_or_says_why(small_model, tmp_path, raw):
    """A whole folder: a fuzzed config.json beside real weights opens, its spans tiling, or raises ours."""
    folder = tmp_path / "model"
    if not folder.exists():
        shutil.copytree(small_model, folder)
    (folder / "config.json").write_bytes(raw)
    try:
        checkpoint = Checkpoint.open(folder)
    except EngineError:
        return
    assert all(tiles(f) for f in checkpoint.files.values())
    checkpoint.close()


def test_the_fuzzing_opened_files_with_tensors():
    """Run after the header fuzz: some inputs were valid files with tensors, not only refusals."""
    if not OPENED:
        pytest.skip("run with test_safetensors_header_reader")
    assert any(n > 0 for n in OPENED)
