#!/usr/bin/env bash
# The prepared GPU measurements (docs/benchmarks.md, "GPU: what to measure next"), in device calls of
# under 10 minutes each: `bash benchmarks/gpu_run.sh 1`, then `bash benchmarks/gpu_run.sh 2` on the same
# warm machine (part 2 rewrites the random checkpoint only if part 1's is gone). Results go to $OUT.
# Part 3 (issue #13, about 5 minutes; run it first when only one call fits): the fused decode-layer and
# attention kernels against the torch path, the kernels a step launches, and the whole model with them.
set -euo pipefail
OUT=${OUT:-/tmp/gossamer-gpu-out}
mkdir -p "$OUT"
MODEL=/tmp/gpt-oss-20b-random
case "${1:-}" in
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
*)  echo "usage: bash benchmarks/gpu_run.sh 1|2|3" >&2; exit 2 ;;
esac
