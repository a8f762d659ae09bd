"""benchmarks/llamacpp_compare.py's pure parts: arguments, llama-bench's JSON, the summary and table, the
cached setup steps' bookkeeping, and the tokenizer export; nothing is downloaded or built."""

from __future__ import annotations

import importlib.util
import io
import json
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _load(name: str):
    spec = importlib.util.spec_from_file_location(name, ROOT / "benchmarks" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


compare = _load("llamacpp_compare")
setup = sys.modules["llamacpp_setup"]

# What this llama-bench build prints with -o json (one test, trimmed of nothing but the sample lists).
LLAMA_BENCH_JSON = """[
  {
    "build_commit": "0c1e57098",
    "build_number": 0,
    "cpu_info": "AMD EPYC",
    "gpu_info": "",
    "backends": "CPU",
    "model_filename": "/w/gpt-oss-4layer-mxfp4-bf16.gguf",
    "model_type": "gpt-oss ?B BF16",
    "model_size": 2433815040,
    "model_n_params": 4000000000,
    "n_batch": 2048,
    "n_ubatch": 512,
    "n_threads": 2,
    "flash_attn": -1,
    "n_prompt": 0,
    "n_gen": 16,
    "n_depth": 128,
    "test_time": "2026-12-03T13:40:00Z",
    "avg_ns": 400000000,
    "stddev_ns": 0,
    "avg_ts": 40.000000,
    "stddev_ts": 0.000000,
    "samples_ns": [ 400000000 ],
    "samples_ts": [ 40.0 ]
  }
]
"""


def test_arguments_default_and_refusals():
    """Defaults are 4 layers, 3 rounds and every core; nonsense counts stop with a usage error."""
    args = compare.parse_args([])
    assert (args.layers, args.rounds, args.version) == (4, 3, setup.LLAMA_CPP_PYTHON_VERSION)
    assert args.threads >= 1 and args.jobs >= 1
    args = compare.parse_args(["--threads", "2", "--layers", "6", "--work", "/tmp/w"])
    assert (args.threads, args.layers, args.work) == (2, 6, Path("/tmp/w"))
    for bad in (["--threads", "0"], ["--rounds", "0"], ["--layers", "25"], ["--layers", "x"]):
        with pytest.raises(SystemExit):
            compare.parse_args(bad)


def test_parse_llama_bench_json_names_the_test_and_skips_noise():
    """The decode test after a 128-token context is tg16@d128, its speed avg_ts; log lines before it are skipped."""
    tests = compare.parse_llama_bench_json("load_backend: loaded CPU\n" + LLAMA_BENCH_JSON)
    assert len(tests) == 1
    assert tests[0]["test"] == "tg16@d128" and tests[0]["tok_s"] == 40.0
    assert tests[0]["build_commit"] == "0c1e57098" and tests[0]["threads"] == 2
    prefill = json.loads(LLAMA_BENCH_JSON)
    prefill[0].update(n_prompt=128, n_gen=0, n_depth=0, avg_ts=250.5)
    assert compare.parse_llama_bench_json(json.dumps(prefill))[0]["test"] == "pp128"
    with pytest.raises(ValueError):
        compare.parse_llama_bench_json("error: failed to load model\n")


def test_llama_bench_commands_match_ours():
    """Prefill of 128 tokens, and 16 tokens decoded at depth 128, on the same threads as ours."""
    commands = compare.llama_bench_commands(Path("/b/llama-bench"), Path("/m.gguf"), 3)
    assert commands["prefill"][-4:] == ["-p", "128", "-n", "0"]
    assert commands["decode"][-6:] == ["-p", "0", "-n", "16", "-d", "128"]
    ours = compare.ours_command(Path("/ckpt"), 3)
    assert ours[ours.index("--threads") + 1] == "3" and "-t" in commands["decode"]
    assert ours[ours.index("--prompt-tokens") + 1] == "128" and ours[ours.index("--gen-tokens") + 1] == "16"
    assert compare.ours_env(3)["NUMBA_NUM_THREADS"] == "3"


def test_parse_ours_takes_the_last_json_line():
    """engine bench's report is the JSON object on its last line; warnings before it are ignored."""
    assert (
        compare.parse_ours('numba: warming up\n{"decode_tok_s": 1.5, "prefill_tok_s": 3}\n')["decode_tok_s"]
        == 1.5
    )
    with pytest.raises(ValueError):
        compare.parse_ours("Traceback ...\n")


def _round(ours_decode: float, theirs_decode: float) -> dict:
    return {
        "gossamer": {"decode_tok_s": ours_decode, "prefill_tok_s": 10.0, "peak_rss_bytes": 3 * 2**30},
        "llama.cpp": {"decode_tok_s": theirs_decode, "prefill_tok_s": 100.0, "peak_rss_bytes": 2 * 2**30},
    }


def test_summary_takes_medians_and_ratios():
    """Each metric is the median over rounds with its range; ratios are ours over llama.cpp's."""
    rounds = [_round(1.0, 10.0), _round(3.0, 20.0), _round(2.0, 40.0)]
    summary = compare.summarize(rounds, {"gossamer": 4 * 2**30, "llama.cpp": 2 * 2**30})
    assert summary["gossamer"]["decode_tok_s"] == {"median": 2.0, "min": 1.0, "max": 3.0}
    assert summary["llama.cpp"]["decode_tok_s"]["median"] == 20.0
    assert summary["ratio_ours_over_llamacpp"] == {
        "decode_tok_s": 0.1,
        "prefill_tok_s": 0.1,
        "peak_rss_bytes": 1.5,
        "file_bytes": 2.0,
    }
    text = compare.table(summary)
    lines = text.splitlines()
    assert summary["ratio_same_round"]["decode_tok_s"] == {
        "median": 0.1,
        "min": 0.05,
        "max": 0.15,
        "rounds": [0.1, 0.15, 0.05],
    }
    assert lines[0].startswith("| engine | decode tok/s") and len(lines) == 6
    assert "| gossamer | 2.00 (1.00-3.00) | 10.00 | 3.00 GiB | 4.00 GiB |" in lines
    assert lines[-2] == "| ours / llama.cpp | 0.100 | 0.100 | 1.500 | 2.000 |"
    assert lines[-1] == "| ours / llama.cpp, same round | 0.100 (0.050-0.150) | 0.100 | | |"


def test_run_measured_reports_the_childs_peak_memory():
    """The peak RSS is the child's own (a 300 MB allocation shows), with its exit code and output. Measured
    from a fresh, small interpreter: ru_maxrss also counts the parent's image the child was forked from,
    which late in a long pytest run is itself over a gigabyte (the compare script stays small)."""
    child = "import sys; b = bytearray(300 * 2**20); print('ok'); sys.exit(3)"
    probe = (
        "import importlib.util, json, sys\n"
        f"spec = importlib.util.spec_from_file_location('c', {str(ROOT / 'benchmarks' / 'llamacpp_compare.py')!r})\n"
        "c = importlib.util.module_from_spec(spec); sys.modules['c'] = c; spec.loader.exec_module(c)\n"
        f"print(json.dumps(c.run_measured([sys.executable, '-c', {child!r}])))\n"
    )
    run = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=False, cwd=ROOT)
    assert run.returncode == 0, run.stderr[-2000:]
    code, out, _err, peak = json.loads(run.stdout.strip().splitlines()[-1])
    assert (code, out.strip()) == (3, "ok")
    assert 300 * 2**20 <= peak < 2**31


def test_vendored_commit_and_cmake_flags(tmp_path):
    """llama.cpp's commit comes from the sdist's CHANGELOG and is handed to cmake; the build is CPU-only."""
    llama = tmp_path / "pkg" / "vendor" / "llama.cpp"
    llama.mkdir(parents=True)
    assert setup.vendored_commit(llama) is None
    (tmp_path / "pkg" / "CHANGELOG.md").write_text(
        "## [0.3.36]\n\n- feat: update llama.cpp to ggml-org/llama.cpp@0c1e57098\n"
    )
    assert setup.vendored_commit(llama) == "0c1e57098"
    command = setup.cmake_configure_command(llama, tmp_path / "build", "0c1e57098", ninja=False)
    assert {
        "-DGGML_NATIVE=ON",
        "-DGGML_CUDA=OFF",
        "-DLLAMA_BUILD_TESTS=OFF",
        "-DLLAMA_BUILD_COMMIT=0c1e57098",
    } <= set(command)
    assert "-G" not in command and "Ninja" in setup.cmake_configure_command(llama, tmp_path, None, ninja=True)


def test_build_without_cmake_says_what_to_install(tmp_path, monkeypatch):
    """With no cmake or compiler on PATH the build stops with a message naming what to install."""
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(setup.SetupError, match="cmake.*install"):
        setup.build_llama_bench(tmp_path / "llama.cpp", tmp_path / "work", "0.0.0", 1)


def test_cached_build_is_reused(tmp_path):
    """A finished build (binary and stamp) is returned without running cmake again."""
    binary = tmp_path / "build-9.9.9" / "bin" / "llama-bench"
    binary.parent.mkdir(parents=True)
    binary.write_text("")
    (tmp_path / "build-9.9.9" / "built.ok").write_text("built\n")
    assert setup.build_llama_bench(tmp_path / "nowhere", tmp_path, "9.9.9", 1) == binary


def test_fetch_source_unpacks_an_archive_already_there(tmp_path):
    """An sdist already in the work folder is unpacked, not downloaded again; one without llama.cpp is refused."""
    src = tmp_path / "src"
    src.mkdir()
    with tarfile.open(src / "llama_cpp_python-9.9.9.tar.gz", "w:gz") as tar:
        for name in ("CMakeLists.txt", "convert_hf_to_gguf.py"):
            data = b"# stand-in\n"
            info = tarfile.TarInfo(f"llama_cpp_python-9.9.9/vendor/llama.cpp/{name}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    llama = setup.fetch_source(tmp_path, "9.9.9")
    assert llama == src / "llama_cpp_python-9.9.9" / "vendor" / "llama.cpp"
    assert (llama / "convert_hf_to_gguf.py").is_file()
    with tarfile.open(src / "llama_cpp_python-8.8.8.tar.gz", "w:gz"):
        pass
    with pytest.raises(setup.SetupError, match="no vendor/llama.cpp"):
        setup.fetch_source(tmp_path, "8.8.8")


def test_staged_model_links_the_checkpoint_untouched(tiny_model_dir, tmp_path):
    """The converter's input folder links each checkpoint file; the checkpoint itself gains nothing."""
    before = sorted(p.name for p in tiny_model_dir.iterdir())
    stage = tmp_path / f"convert-input-{tiny_model_dir.name}"
    stage.mkdir()
    (stage / "tokenizer.json").write_text("{}")  # already exported: not redone here
    assert setup.staged_model(tmp_path, tiny_model_dir) == stage
    assert sorted(p.name for p in tiny_model_dir.iterdir()) == before
    for name in before:
        assert (stage / name).is_symlink() and (stage / name).resolve() == (tiny_model_dir / name).resolve()


def test_exported_tokenizer_matches_ours_and_llamacpps_hash(tmp_path):
    """tokenizer.json gives our ids for text and every special token, and the pre-tokenizer hash the
    converter knows as gpt-4o's (o200k), which gpt-oss uses."""
    pytest.importorskip("tokenizers")
    transformers = pytest.importorskip("transformers")
    from hashlib import sha256

    from engine.text.tokenizer import load_tokenizer

    setup.write_hf_tokenizer(tmp_path)
    fast = transformers.AutoTokenizer.from_pretrained(str(tmp_path))
    assert fast.convert_tokens_to_ids("<|return|>") == 200002
    assert fast.convert_tokens_to_ids("<|reserved_201087|>") == 201087
    assert fast.eos_token == "<|return|>"
    # convert_hf_to_gguf.py's check text (get_vocab_base_pre) and its hash for "gpt-4o".
    chktxt = (
        "\n \n\n \n\n\n \t \t\t \t\n  \n   \n    \n     \n🚀 (normal) 😶\u200d🌫️ (multiple emojis concatenated) "
        "✅ 🦙🦙 3 33 333 3333 33333 333333 3333333 33333333 3.3 3..3 3...3 កាន់តែពិសេសអាច😁 ?我想在apple工作1314151天～ "
        "------======= нещо на Български ''''''```````\"\"\"\"......!!!!!!?????? I've been 'told he's there, "
        "'RE you sure? 'M not sure I'll make it, 'D you like some tea? We'Ve a'lL"
    )
    ids = fast.encode(chktxt)
    assert ids == load_tokenizer().encode(chktxt)
    assert (
        sha256(str(ids).encode()).hexdigest()
        == "ccc2ef013c104be7bae2965776d611e1d7a8a2a9c547dd93a682c9a9fc80352e"
    )


def test_engine_commit_names_this_checkout():
    """The setup line names our commit (a short hash, "+changes" when tracked files differ from it)."""
    commit = compare.engine_commit()
    if (ROOT / ".git").exists():
        assert commit is not None and len(commit.split("+")[0]) >= 7


def test_each_engine_can_start_with_its_weights_read_through(tmp_path):
    """read_through reads every byte of each file (so the next run finds them in the page cache) and says how
    long it took; --cold turns it off, and the default keeps it on."""
    files = [tmp_path / "a.safetensors", tmp_path / "b.safetensors"]
    files[0].write_bytes(b"x" * (3 << 20))
    files[1].write_bytes(b"")
    assert compare.read_through(files, chunk=1 << 20) >= 0.0
    assert compare.parse_args([]).cold is False
    assert compare.parse_args(["--cold"]).cold is True
    with pytest.raises(FileNotFoundError):
        compare.read_through([tmp_path / "missing"])
