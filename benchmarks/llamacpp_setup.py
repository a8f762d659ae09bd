"""The setup steps of benchmarks/llamacpp_compare.py: llama.cpp's source and build, and the two model files.

Each step is cached under the work folder, so a second run only measures:
- fetch_source: llama-cpp-python's source distribution from PyPI, which vendors llama.cpp (vendor/llama.cpp,
  with convert_hf_to_gguf.py and gguf-py);
- build_llama_bench: llama.cpp's CPU ``llama-bench`` alone (cmake, native, Release);
- checkpoint: engine.io.synthetic's random weights at gpt-oss-20b's width (the team's shared 4-layer copy
  when it is complete);
- convert_to_gguf: the same weights through the vendored converter (MXFP4 experts kept, the rest bf16).
  The converter reads a Hugging Face tokenizer.json, which write_hf_tokenizer makes from our own
  o200k_harmony tokenizer (tiktoken's ranks in resources/) with transformers' tiktoken converter, checked
  token for token against ours; the converter then checks it against its known pre-tokenizer hashes.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
LLAMA_CPP_PYTHON_VERSION = "0.3.36"  # vendors llama.cpp 0c1e57098 (its CHANGELOG)
SHARED_CHECKPOINT = Path("/work/ckpt/gpt-oss-4layer")  # the team's 4-layer checkpoint, when complete


class SetupError(Exception):
    """A step could not run; the message says what to install or fix."""


def say(message: str) -> None:
    print(f"[llamacpp-compare] {message}", file=sys.stderr, flush=True)


def run_checked(command: list[str], what: str, log: Path | None = None, **kwargs) -> None:
    """Run ``command``; on failure a SetupError naming ``what`` and the output's tail (or the log)."""
    say(" ".join(str(c) for c in command))
    if log is not None:
        with open(log, "w") as out:
            code = subprocess.run(
                command, check=False, stdout=out, stderr=subprocess.STDOUT, **kwargs
            ).returncode
        if code:
            tail = log.read_text(errors="replace")[-3000:]
            raise SetupError(f"{what} failed (exit {code}); the last lines of {log}:\n{tail}")
        return
    done = subprocess.run(command, check=False, capture_output=True, text=True, **kwargs)
    if done.returncode:
        raise SetupError(f"{what} failed (exit {done.returncode}):\n{(done.stdout + done.stderr)[-3000:]}")


# --- 1. source ---------------------------------------------------------------------------------------


def fetch_source(work: Path, version: str) -> Path:
    """The vendored llama.cpp folder of llama-cpp-python ``version``'s sdist, downloaded once."""
    src = work / "src"
    tree = src / f"llama_cpp_python-{version}"
    llama = tree / "vendor" / "llama.cpp"
    if (llama / "CMakeLists.txt").is_file() and (llama / "convert_hf_to_gguf.py").is_file():
        return llama
    src.mkdir(parents=True, exist_ok=True)
    archive = src / f"llama_cpp_python-{version}.tar.gz"
    if not archive.is_file():
        say(f"downloading llama-cpp-python {version}'s source from PyPI (about 75 MB)")
        # pip reads the sdist's metadata through its build backend (scikit-build-core, fetched into a
        # throwaway build environment); nothing is built or installed.
        command = [
            sys.executable,
            "-m",
            "pip",
            "download",
            f"llama-cpp-python=={version}",
            "--no-binary",
            ":all:",
            "--no-deps",
            "-d",
            str(src),
        ]
        try:
            run_checked(command, "downloading llama-cpp-python's source distribution")
        except SetupError as error:
            raise SetupError(f"{error}\nCheck the network and PyPI, or put {archive.name} in {src} by hand.")
        if not archive.is_file():
            raise SetupError(f"pip reported success but {archive} is not there.")
    say(f"unpacking {archive.name}")
    with tarfile.open(archive) as tar:
        tar.extractall(src, filter="data")
    if not (llama / "CMakeLists.txt").is_file():
        raise SetupError(f"{archive.name} has no vendor/llama.cpp; pick another --version.")
    return llama


def vendored_commit(llama: Path) -> str | None:
    """llama.cpp's commit as the sdist's CHANGELOG records it (its first "update llama.cpp to ...@HASH")."""
    changelog = llama.parent.parent / "CHANGELOG.md"
    if not changelog.is_file():
        return None
    found = re.search(r"llama\.cpp@([0-9a-f]{7,40})", changelog.read_text(errors="replace"))
    return found.group(1) if found else None


# --- 2. build ----------------------------------------------------------------------------------------


def cmake_configure_command(llama: Path, build: Path, commit: str | None, ninja: bool) -> list[str]:
    """CPU only, native instructions, static, and none of the tools but what llama-bench needs."""
    command = [
        "cmake",
        "-S",
        str(llama),
        "-B",
        str(build),
        "-DCMAKE_BUILD_TYPE=Release",
        "-DGGML_NATIVE=ON",
        "-DBUILD_SHARED_LIBS=OFF",
        "-DLLAMA_BUILD_TESTS=OFF",
        "-DLLAMA_BUILD_EXAMPLES=OFF",
        "-DLLAMA_BUILD_SERVER=OFF",
        "-DLLAMA_BUILD_APP=OFF",
        "-DLLAMA_OPENSSL=OFF",
        "-DGGML_CUDA=OFF",
        "-DGGML_VULKAN=OFF",
        "-DGGML_METAL=OFF",
    ]
    if commit:
        command.append(f"-DLLAMA_BUILD_COMMIT={commit}")  # the sdist has no .git to read it from
    if ninja:
        command += ["-G", "Ninja"]
    return command


def build_llama_bench(llama: Path, work: Path, version: str, jobs: int) -> Path:
    """``llama-bench``, built once per version under ``work``; a finished build is reused as it is."""
    build = work / f"build-{version}"
    binary = build / "bin" / "llama-bench"
    stamp = build / "built.ok"
    if binary.is_file() and stamp.is_file():
        return binary
    missing = [tool for tool in ("cmake", "c++", "cc") if shutil.which(tool) is None]
    if missing:
        raise SetupError(
            f"building llama.cpp needs {' and '.join(missing)}, which is not on PATH; install CMake and a C/C++ "
            "compiler (Debian/Ubuntu: apt-get install cmake g++; Fedora: dnf install cmake gcc-c++)."
        )
    build.mkdir(parents=True, exist_ok=True)
    ninja = shutil.which("ninja") is not None and not (build / "Makefile").exists()
    run_checked(
        cmake_configure_command(llama, build, vendored_commit(llama), ninja),
        "configuring llama.cpp (cmake)",
        log=build / "configure.log",
    )
    say(f"building llama-bench with {jobs} jobs (minutes; log: {build / 'build.log'})")
    started = time.perf_counter()
    run_checked(
        ["cmake", "--build", str(build), "--target", "llama-bench", "-j", str(jobs)],
        "building llama-bench",
        log=build / "build.log",
    )
    if not binary.is_file():
        raise SetupError(f"the build finished but {binary} is not there; see {build / 'build.log'}.")
    stamp.write_text(f"built in {time.perf_counter() - started:.0f} s\n")
    return binary


# --- 3. the checkpoint and its GGUF ------------------------------------------------------------------


def checkpoint(work: Path, layers: int) -> Path:
    """gpt-oss-20b's shape with ``layers`` layers, random weights (HF layout), written once."""
    if layers == 4 and (SHARED_CHECKPOINT / ".done").is_file():
        return SHARED_CHECKPOINT
    folder = work / f"ckpt-gpt-oss-{layers}layer"
    if (folder / ".done").is_file():
        return folder
    from engine.io.synthetic import write_checkpoint
    from engine.placement.plan import PRESETS

    base = PRESETS["gpt-oss-20b"]
    cfg = dataclasses.replace(base, num_hidden_layers=layers, layer_types=base.layer_types[:layers])
    say(
        f"writing a random {layers}-layer gpt-oss-20b-wide checkpoint to {folder} (about {cfg.total_bytes() / 1e9:.1f} GB)"
    )
    if folder.exists():
        shutil.rmtree(folder)  # an interrupted write
    write_checkpoint(folder, cfg, layout="hf")
    (folder / ".done").write_text("ok\n")
    return folder


def checkpoint_bytes(folder: Path) -> int:
    return sum(f.stat().st_size for f in folder.glob("*.safetensors"))


TOKENIZER_CONFIG = {  # gpt-oss's own choices of these tokens
    "tokenizer_class": "PreTrainedTokenizerFast",
    "bos_token": "<|startoftext|>",
    "eos_token": "<|return|>",
    "pad_token": "<|endoftext|>",
    "model_max_length": 131072,
}
CHECK_TEXTS = [
    "Hello, world! It's a test of 12345 numbers and 'quotes' they'll keep.",
    "  leading spaces,\ttabs\r\nand newlines\n\n\nДобрый день, 你好世界 🚀🦙 ---=== ...!!!",
    "def f(x):\n    return x ** 2  # comment\n",
]


def write_hf_tokenizer(folder: Path) -> None:
    """tokenizer.json and tokenizer_config.json for our o200k_harmony tokenizer, checked against it.

    transformers' TikTokenConverter turns tiktoken's ranks into a byte-level BPE (the merges recovered from
    the ranks) with tiktoken's split pattern; the special tokens are added in id order after the 199998
    ordinary ones, so each gets its o200k_harmony id (200018 under the name tiktoken decodes it to)."""
    try:
        from tokenizers import Tokenizer
        from transformers.convert_slow_tokenizer import TikTokenConverter
    except ImportError as error:
        raise SetupError(
            f"writing tokenizer.json needs transformers and tokenizers ({error}); pip install them."
        )
    from engine.text.tokenizer import NUM_ORDINARY_TOKENS, PATTERN, VOCAB_SIZE, load_tokenizer, ranks_path

    ours = load_tokenizer()  # checks the ranks file's hash
    names = [ours.token_bytes(i).decode() for i in range(NUM_ORDINARY_TOKENS, VOCAB_SIZE)]
    converted = TikTokenConverter(vocab_file=str(ranks_path()), pattern=PATTERN, extra_special_tokens=names)
    fast = converted.converted()
    for i, name in enumerate(names):
        if fast.token_to_id(name) != NUM_ORDINARY_TOKENS + i:
            raise SetupError(
                f"the exported tokenizer gives {name} id {fast.token_to_id(name)}, not {NUM_ORDINARY_TOKENS + i}."
            )
    path = folder / "tokenizer.json"
    fast.save(str(path))
    reread = Tokenizer.from_file(str(path))
    for text in CHECK_TEXTS:
        theirs = reread.encode(text, add_special_tokens=False).ids
        if theirs != ours.encode(text):
            raise SetupError(f"the exported tokenizer.json splits {text!r} unlike ours; it cannot be used.")
    (folder / "tokenizer_config.json").write_text(json.dumps(TOKENIZER_CONFIG, indent=2) + "\n")


def staged_model(work: Path, ckpt: Path) -> Path:
    """A folder for the converter: the checkpoint's files linked (never copied or changed) and our tokenizer."""
    stage = work / f"convert-input-{ckpt.name}"
    stage.mkdir(parents=True, exist_ok=True)
    for item in ckpt.iterdir():
        if item.is_file() and not item.name.startswith("."):
            link = stage / item.name
            if link.is_symlink() or link.exists():
                link.unlink()
            link.symlink_to(item.resolve())
    if not (stage / "tokenizer.json").is_file():
        say("writing tokenizer.json from our o200k_harmony tokenizer (a minute)")
        write_hf_tokenizer(stage)
    return stage


def convert_to_gguf(llama: Path, work: Path, ckpt: Path, version: str) -> Path:
    """The checkpoint as GGUF by the vendored converter: MXFP4 experts repacked as they are, the rest bf16."""
    out = work / f"{ckpt.name}-mxfp4-bf16.gguf"
    stamp = out.with_suffix(".gguf.ok")
    source = {"checkpoint": str(ckpt.resolve()), "bytes": checkpoint_bytes(ckpt), "llama-cpp-python": version}
    if out.is_file() and stamp.is_file() and json.loads(stamp.read_text()) == source:
        return out
    stage = staged_model(work, ckpt)
    partial = out.with_suffix(".gguf.partial")
    env = dict(os.environ)  # the converter puts its own gguf-py first on its path
    env.pop("NO_LOCAL_GGUF", None)
    say(f"converting {ckpt} to GGUF with llama.cpp's convert_hf_to_gguf.py (minutes)")
    run_checked(
        [
            sys.executable,
            str(llama / "convert_hf_to_gguf.py"),
            str(stage),
            "--outtype",
            "bf16",
            "--outfile",
            str(partial),
        ],
        "llama.cpp's convert_hf_to_gguf.py",
        log=work / "convert.log",
        env=env,
    )
    partial.replace(out)
    stamp.write_text(json.dumps(source))
    return out
