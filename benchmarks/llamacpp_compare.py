"""Our CPU engine against llama.cpp's on the same random gpt-oss checkpoint, in one run.

    python benchmarks/llamacpp_compare.py [--threads N] [--layers 4] [--rounds 3] [--work DIR]

1. llama.cpp's source: llama-cpp-python's source distribution on PyPI (LLAMA_CPP_PYTHON_VERSION below)
   vendors it, with its convert_hf_to_gguf.py and gguf-py; ``pip download`` fetches it.
2. llama.cpp's CPU ``llama-bench``, built alone (cmake, native, Release, -j the core count).
3. A random checkpoint at gpt-oss-20b's full width and real 201088-token vocabulary with --layers layers
   (engine.io.synthetic; /work/ckpt/gpt-oss-4layer when complete and --layers is 4), and the same weights
   as GGUF by the vendored converter: MXFP4 experts kept as they are, the rest bf16 (the tokenizer it reads
   is exported from ours and checked: benchmarks/llamacpp_setup.py).
4. --rounds rounds, alternating so a busy machine slows both alike: llama.cpp's ``llama-bench`` (pp128, then
   tg16 after a 128-token context: ``-d 128``) and ``python -m engine bench`` (prompt 128, greedy gen 16),
   both with --threads threads. Before each run the engine's model file is read through once, so that each
   starts with its weights in the page cache (as on a desktop after a first answer): on a machine whose
   cache cannot hold both files (this project's VMs keep 5-7 GB) the other engine's run just before would
   otherwise leave part of them on disk, and the first tokens would wait for it. --cold skips this.
Each step is cached under --work (source, build, checkpoint, GGUF), so a second run only measures.

Prints one JSON line per measurement and a summary JSON line to stdout, then a Markdown table: decode and
prefill tok/s (the median of the rounds, with their range), peak RSS of each process (from wait4, so both
are measured alike) and the model file's size, with the ratios ours / llama.cpp.
Progress and setup messages go to stderr. Exits 1 with a message saying what to do when a step cannot run.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

# The setup module beside this script (benchmarks/ is not a package), and this repository's engine, which
# the setup steps import (the tokenizer export, the checkpoint writer) whatever the current folder is.
sys.path[:0] = [str(Path(__file__).resolve().parent), str(Path(__file__).resolve().parent.parent)]
import llamacpp_setup as setup

PROMPT_TOKENS = 128
GEN_TOKENS = 16
DEFAULT_WORK = Path.home() / ".cache" / "gossamer-llamacpp-compare"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    cores = os.cpu_count() or 1
    parser = argparse.ArgumentParser(
        description="Compare llama.cpp's CPU speed with ours on one random gpt-oss checkpoint."
    )
    parser.add_argument(
        "--threads", type=int, default=cores, help="CPU threads for both (default: every core)"
    )
    parser.add_argument(
        "--layers", type=int, default=4, help="layers of the gpt-oss-20b-wide model (default 4)"
    )
    parser.add_argument(
        "--rounds", type=int, default=3, help="alternating rounds of both engines (default 3)"
    )
    parser.add_argument(
        "--work",
        type=Path,
        default=DEFAULT_WORK,
        help=f"cache of source, build and models (default {DEFAULT_WORK})",
    )
    parser.add_argument("--jobs", type=int, default=cores, help="compile jobs (default: the core count)")
    parser.add_argument(
        "--cold",
        action="store_true",
        help="do not read each engine's model file through before its run (see above)",
    )
    parser.add_argument(
        "--version",
        default=setup.LLAMA_CPP_PYTHON_VERSION,
        help="the llama-cpp-python sdist to take llama.cpp from",
    )
    args = parser.parse_args(argv)
    for name in ("threads", "layers", "rounds", "jobs"):
        if getattr(args, name) < 1:
            parser.error(f"--{name} must be at least 1")
    if args.layers > 24:
        parser.error("--layers is at most 24 (gpt-oss-20b has 24)")
    return args


# --- running a process and its peak memory -------------------------------------------------------------


def read_through(paths: list[Path], chunk: int = 16 << 20) -> float:
    """Read every file once from start to end (into the page cache), discarding the bytes -> seconds taken."""
    start = time.perf_counter()
    buffer = bytearray(chunk)
    for path in paths:
        with open(path, "rb", buffering=0) as f:
            while f.readinto(buffer):
                pass
    return round(time.perf_counter() - start, 3)


def run_measured(command: list[str], env: dict | None = None) -> tuple[int, str, str, int]:
    """(exit code, stdout, stderr, peak RSS bytes) of ``command``; the peak is the kernel's count for that
    process (wait4's ru_maxrss, KiB on Linux), taken the same way for both engines. ru_maxrss also counts
    the image the child was forked from, so it reads max(this script's size, the child's peak): this script
    imports nothing large, and both engines' peaks are gigabytes."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        process = subprocess.Popen(command, stdout=out, stderr=err, env=env)
        _, status, usage = os.wait4(process.pid, 0)
        process.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        return (
            process.returncode,
            out.read().decode(errors="replace"),
            err.read().decode(errors="replace"),
            usage.ru_maxrss * 1024,
        )


# --- llama.cpp -----------------------------------------------------------------------------------------


def llama_bench_commands(binary: Path, gguf: Path, threads: int) -> dict[str, list[str]]:
    """Prefill of 128 tokens, and 16 tokens decoded after a 128-token context (as ours decodes after its
    prompt), each measured once per round after llama-bench's own warm-up run."""
    common = [str(binary), "-m", str(gguf), "-t", str(threads), "-r", "1", "-o", "json"]
    return {
        "prefill": common + ["-p", str(PROMPT_TOKENS), "-n", "0"],
        "decode": common + ["-p", "0", "-n", str(GEN_TOKENS), "-d", str(PROMPT_TOKENS)],
    }


def parse_llama_bench_json(text: str) -> list[dict]:
    """llama-bench's ``-o json`` array (anything printed before it is skipped), one dict per test:
    name (pp128, tg16@d128), tok_s, and the settings it ran with."""
    start = text.find("[")
    if start < 0:
        raise ValueError("llama-bench printed no JSON array")
    tests, _ = json.JSONDecoder().raw_decode(text[start:])
    results = []
    for test in tests:
        n_prompt, n_gen, depth = (
            int(test.get("n_prompt", 0)),
            int(test.get("n_gen", 0)),
            int(test.get("n_depth", 0)),
        )
        name = f"pp{n_prompt}" if n_prompt else f"tg{n_gen}"
        if depth:
            name += f"@d{depth}"
        results.append(
            {
                "test": name,
                "tok_s": float(test["avg_ts"]),
                "n_prompt": n_prompt,
                "n_gen": n_gen,
                "n_depth": depth,
                "threads": test.get("n_threads"),
                "build_commit": test.get("build_commit"),
                "cpu_info": test.get("cpu_info"),
                "model_type": test.get("model_type"),
                "model_size": test.get("model_size"),
                "flash_attn": test.get("flash_attn"),
                "n_batch": test.get("n_batch"),
                "n_ubatch": test.get("n_ubatch"),
            }
        )
    return results


def run_llama(binary: Path, gguf: Path, threads: int) -> dict:
    """One round of llama-bench: {"prefill_tok_s", "decode_tok_s", "peak_rss_bytes", "tests"}; the peak
    is the larger of its two processes' (each test lists its own)."""
    result: dict = {"engine": "llama.cpp", "tests": []}
    peaks = []
    for what, command in llama_bench_commands(binary, gguf, threads).items():
        code, out, err, peak = run_measured(command)
        if code:
            raise setup.SetupError(f"llama-bench ({what}) failed (exit {code}):\n{(out + err)[-3000:]}")
        tests = parse_llama_bench_json(out)
        if len(tests) != 1:
            raise setup.SetupError(f"llama-bench ({what}) reported {len(tests)} tests, not 1:\n{out[-2000:]}")
        result[f"{what}_tok_s"] = tests[0]["tok_s"]
        result["tests"].append(tests[0] | {"peak_rss_bytes": peak})
        peaks.append(peak)
    result["peak_rss_bytes"] = max(peaks)
    return result


# --- ours ----------------------------------------------------------------------------------------------


def ours_command(ckpt: Path, threads: int) -> list[str]:
    return [
        sys.executable,
        "-m",
        "engine",
        "bench",
        "--model",
        str(ckpt),
        "--prompt-tokens",
        str(PROMPT_TOKENS),
        "--gen-tokens",
        str(GEN_TOKENS),
        "--threads",
        str(threads),
    ]


def ours_env(threads: int) -> dict:
    """This repository's engine, and numba's and OpenMP's pools limited to the same threads as torch's."""
    path = os.pathsep.join(p for p in (str(setup.REPO), os.environ.get("PYTHONPATH", "")) if p)
    return dict(os.environ, PYTHONPATH=path, NUMBA_NUM_THREADS=str(threads), OMP_NUM_THREADS=str(threads))


def parse_ours(text: str) -> dict:
    """The JSON object ``python -m engine bench`` prints last."""
    for line in reversed(text.strip().splitlines()):
        if line.startswith("{"):
            return json.loads(line)
    raise ValueError("engine bench printed no JSON")


def run_ours(ckpt: Path, threads: int) -> dict:
    code, out, err, peak = run_measured(ours_command(ckpt, threads), env=ours_env(threads))
    if code:
        raise setup.SetupError(f"python -m engine bench failed (exit {code}):\n{(out + err)[-3000:]}")
    report = parse_ours(out)
    return {
        "engine": "gossamer",
        "prefill_tok_s": report["prefill_tok_s"],
        "decode_tok_s": report["decode_tok_s"],
        "peak_rss_bytes": peak,
        "own_peak_rss_bytes": report.get("peak_rss_bytes"),  # VmHWM, as the engine reports it itself
        "threads": report.get("threads"),
        "load_s": report.get("load_s"),
        "dense_cache_bytes": report.get("dense_cache_bytes"),
    }


# --- the summary ---------------------------------------------------------------------------------------

METRICS = ("decode_tok_s", "prefill_tok_s", "peak_rss_bytes")


def summarize(rounds: list[dict], sizes: dict[str, int]) -> dict:
    """Medians and ranges of each engine's rounds, the file sizes, and ours / llama.cpp for each."""
    summary: dict = {"rounds": len(rounds)}
    for engine in ("gossamer", "llama.cpp"):
        runs = [r[engine] for r in rounds]
        summary[engine] = {
            metric: {
                "median": statistics.median(r[metric] for r in runs),
                "min": min(r[metric] for r in runs),
                "max": max(r[metric] for r in runs),
            }
            for metric in METRICS
        }
        summary[engine]["file_bytes"] = sizes[engine]
    summary["ratio_ours_over_llamacpp"] = {
        metric: round(summary["gossamer"][metric]["median"] / summary["llama.cpp"][metric]["median"], 3)
        for metric in METRICS
    } | {"file_bytes": round(sizes["gossamer"] / sizes["llama.cpp"], 3)}
    # The two runs of one round are neighbours in time, so their ratio cancels most of a shared machine's
    # swings; the ratio of medians can pair a quiet run of one engine with a busy run of the other.
    per_round = {
        metric: [round(r["gossamer"][metric] / r["llama.cpp"][metric], 3) for r in rounds]
        for metric in ("decode_tok_s", "prefill_tok_s")
    }
    summary["ratio_same_round"] = {
        metric: {
            "median": statistics.median(values),
            "min": min(values),
            "max": max(values),
            "rounds": values,
        }
        for metric, values in per_round.items()
    }
    return summary


def _speed(cell: dict) -> str:
    text = f"{cell['median']:.2f}"
    return text if cell["min"] == cell["max"] else f"{text} ({cell['min']:.2f}-{cell['max']:.2f})"


def _ratio(cell: dict) -> str:
    text = f"{cell['median']:.3f}"
    return text if cell["min"] == cell["max"] else f"{text} ({cell['min']:.3f}-{cell['max']:.3f})"


def _gib(count: float) -> str:
    return f"{count / 2**30:.2f} GiB"


def table(summary: dict) -> str:
    """The summary as a Markdown table: one row per engine, then ours / llama.cpp as a ratio of the medians
    and as the median (range) of each round's own ratio."""
    lines = [
        "| engine | decode tok/s | prefill tok/s | peak RSS | model file |",
        "| --- | --- | --- | --- | --- |",
    ]
    for engine in ("gossamer", "llama.cpp"):
        row = summary[engine]
        lines.append(
            f"| {engine} | {_speed(row['decode_tok_s'])} | {_speed(row['prefill_tok_s'])} | "
            f"{_gib(row['peak_rss_bytes']['median'])} | {_gib(row['file_bytes'])} |"
        )
    ratio = summary["ratio_ours_over_llamacpp"]
    lines.append(
        f"| ours / llama.cpp | {ratio['decode_tok_s']:.3f} | {ratio['prefill_tok_s']:.3f} | "
        f"{ratio['peak_rss_bytes']:.3f} | {ratio['file_bytes']:.3f} |"
    )
    paired = summary["ratio_same_round"]
    lines.append(
        f"| ours / llama.cpp, same round | {_ratio(paired['decode_tok_s'])} | {_ratio(paired['prefill_tok_s'])} | | |"
    )
    return "\n".join(lines)


def engine_commit() -> str | None:
    """This repository's commit (and "+changes" when the work tree differs), so figures name their engine."""
    def git(*args: str) -> str:
        run = subprocess.run(["git", "-C", str(setup.REPO), *args], capture_output=True, text=True, check=True)
        return run.stdout.strip()

    try:
        head = git("rev-parse", "--short", "HEAD")
        dirty = git("status", "--porcelain", "--untracked-files=no")
    except (OSError, subprocess.CalledProcessError):
        return None  # not a git checkout (an installed copy), or no git
    return head + ("+changes" if dirty else "")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    work = args.work.expanduser().resolve()
    try:
        work.mkdir(parents=True, exist_ok=True)
        llama = setup.fetch_source(work, args.version)
        binary = setup.build_llama_bench(llama, work, args.version, args.jobs)
        ckpt = setup.checkpoint(work, args.layers)
        gguf = setup.convert_to_gguf(llama, work, ckpt, args.version)
        header = {
            "gossamer_commit": engine_commit(),
            "llama-cpp-python": args.version,
            "llama.cpp": setup.vendored_commit(llama),
            "llama_bench": str(binary),
            "checkpoint": str(ckpt),
            "gguf": str(gguf),
            "layers": args.layers,
            "threads": args.threads,
            "prompt_tokens": PROMPT_TOKENS,
            "gen_tokens": GEN_TOKENS,
            "cores": os.cpu_count(),
            "load_average": os.getloadavg()[0],
        }
        print(json.dumps({"setup": header}), flush=True)
        rounds = []
        for index in range(args.rounds):
            # Alternate which engine goes first, so neither always runs on the warmer (or busier) machine.
            order = ("llama.cpp", "gossamer") if index % 2 == 0 else ("gossamer", "llama.cpp")
            this: dict = {}
            for engine in order:
                setup.say(f"round {index + 1}/{args.rounds}: {engine}")
                files = [gguf] if engine == "llama.cpp" else sorted(ckpt.glob("*.safetensors"))
                warmed = None if args.cold else read_through(files)
                this[engine] = (
                    run_llama(binary, gguf, args.threads)
                    if engine == "llama.cpp"
                    else run_ours(ckpt, args.threads)
                ) | {"read_through_s": warmed}
                print(json.dumps({"round": index + 1, **this[engine]}), flush=True)
            rounds.append(this)
    except setup.SetupError as error:
        print(f"llamacpp_compare: {error}", file=sys.stderr)
        return 1
    except OSError as error:  # a work folder that cannot be written, a full disk, a binary gone
        print(f"llamacpp_compare: {error}. Check --work ({work}) and the free disk space.", file=sys.stderr)
        return 1
    summary = summarize(rounds, {"gossamer": setup.checkpoint_bytes(ckpt), "llama.cpp": gguf.stat().st_size})
    print(json.dumps({"summary": summary, "load_average_after": os.getloadavg()[0]}))
    print(table(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
