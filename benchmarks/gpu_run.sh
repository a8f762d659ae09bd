#!/usr/bin/env bash
# The prepared GPU measurements (docs/benchmarks.md). Results go to $OUT.
#   bash benchmarks/gpu_run.sh       issue 13, one device call of at most 8 minutes: a full-size random
#                                    gpt-oss-20b at 4k and 32k context, CUDA graphs off/on x Triton/torch
#                                    kernels, the app's sampled decode beside greedy, each as a share of the
#                                    card's bandwidth ceiling; then the engine's own bench of the same
#   bash benchmarks/gpu_run.sh 1|2   issue 4's offload budgets, in two calls on the same warm machine
#   bash benchmarks/gpu_run.sh 3     issue 13's fused kernels (about 5 minutes): the decode-layer and attention
#                                    kernels against the torch path, the kernels a step launches, the model
#   bash benchmarks/gpu_run.sh 4     issue 16's hybrid expert placement (about 4 minutes): its tests, CUDA
#                                    included, then a random full-size gpt-oss-20b at 8 and 12 GiB, decode with
#                                    host experts copied / chosen per step / on the CPU (benchmarks/hybrid_bench.py);
#                                    DRY=1 runs it on the CPU with a tiny model first (no GPU needed)
set -euo pipefail
OUT=${OUT:-/tmp/gossamer-gpu-out}
mkdir -p "$OUT"
MODEL=/tmp/gpt-oss-20b-random
case "${1:-13}" in
13) # (~7.5 min at most: every step has its own limit, and a step that fails leaves the rest to run)
    # CUDA tests first, briefly: a wrong answer shows before the timings (sampling on the GPU included).
    timeout 50 python -m pytest tests/engine/test_cuda.py tests/engine/test_sampling.py -q -x \
        || echo "gpu_run: CUDA tests failed or ran out of time (exit $?)"
    # Writes the checkpoint (~30 s with pinning and loading), then 8 cases (2 contexts x kernels x graphs),
    # each 64 greedy and 64 sampled steps; cases that would pass the deadline are skipped, and said so.
    timeout 340 python3 benchmarks/gpu_bench.py --budgets all --contexts 4096,32768 --kernels triton,torch \
        --cuda-graphs on,off --sampling --decode-tokens 64 --case-timeout 30 --deadline 320 \
        --out "$OUT/gpu_bench_13.jsonl" || echo "gpu_run: gpu_bench stopped (exit $?)"
    # What a user runs: `engine bench`, Triton, graphs off and on, --sampling, a 2k prompt.
    [ -f "$MODEL/bench-checkpoint.json" ] && timeout 60 python -m engine bench --model "$MODEL" \
        --device cuda --prompt-tokens 2048 --gen-tokens 64 --cuda-graphs off,on --sampling \
        | tee "$OUT/engine_bench_13.jsonl" || echo "gpu_run: engine bench stopped (exit $?)"
    ;;
1)  # CUDA tests first: a bug shows before the timings. Then offload budgets, eager and with graphs (~6 min).
    python -m pytest tests/engine/test_cuda.py tests/offload/test_offload_cuda.py -q -x
    python3 benchmarks/gpu_bench.py --deadline 150 --out "$OUT/gpu_bench.jsonl"
    python3 benchmarks/gpu_bench.py --deadline 110 --contexts 4096 --cuda-graphs on --out "$OUT/gpu_bench.jsonl"
    ;;
2)  # Kernels x graphs x int8 without offload, then a 12 GiB budget both ways (~5 min).
    [ -f "$MODEL/bench-checkpoint.json" ] || python3 benchmarks/gpu_bench.py --budgets all --contexts 4096 \
        --decode-tokens 4 --deadline 120
    for extra in "" "--int8"; do
        python -m engine bench --model "$MODEL" --device cuda --prompt-tokens 1024 --gen-tokens 128 \
            --kernels torch,triton --cuda-graphs off,on $extra
    done | tee "$OUT/engine_bench.jsonl"
    python -m engine bench --model "$MODEL" --device cuda --prompt-tokens 1024 --gen-tokens 64 \
        --vram 12GiB --kernels triton --cuda-graphs off,on | tee -a "$OUT/engine_bench.jsonl"
    ;;
3)  # Fused kernels: GPU correctness first, then per-kernel timings (4k, 32k), the profiler's count of one
    # step, and the model at 4k context with graphs and Triton against the fallback (~5 min).
    python -m pytest tests/kernels/test_fused_cuda.py tests/engine/test_cuda.py -q -x
    python3 benchmarks/bench_fused.py | tee "$OUT/bench_fused.jsonl"
    python -m engine bench --preset gpt-oss-20b --count-ops | tee "$OUT/count_ops.jsonl"
    [ -f "$MODEL/bench-checkpoint.json" ] || python3 benchmarks/gpu_bench.py --budgets all --contexts 4096 \
        --decode-tokens 4 --deadline 120
    python -m engine bench --model "$MODEL" --device cuda --prompt-tokens 4096 --count-ops \
        | tee -a "$OUT/count_ops.jsonl"
    python -m engine bench --model "$MODEL" --device cuda --prompt-tokens 4096 --gen-tokens 128 \
        --kernels torch,triton --cuda-graphs off,on | tee "$OUT/engine_bench_fused.jsonl"
    ;;
4)  # Hybrid placement. gpt-oss-120b (65 GB) is left out: its random checkpoint does not fit the machine's disk
    # beside 20b's, and writing it would take most of the call.
    if [ "${DRY:-0}" = 1 ]; then
        python3 benchmarks/hybrid_bench.py --tiny --device cpu --out "$OUT/hybrid_bench_dry.jsonl"
        exit 0
    fi
    timeout 60 python -m pytest tests/offload/test_hybrid.py tests/offload/test_cost.py \
        tests/offload/test_offload_cuda.py -q -x || echo "gpu_run: hybrid tests failed or ran out of time (exit $?)"
    timeout 240 python3 benchmarks/hybrid_bench.py --budgets 8GiB,12GiB --gen-tokens 64 \
        --out "$OUT/hybrid_bench.jsonl" || echo "gpu_run: hybrid_bench stopped (exit $?)"
    ;;
*)  echo "usage: bash benchmarks/gpu_run.sh [13|1|2|3|4]" >&2; exit 2 ;;
esac
