"""Every kernel variant the launchers use compiles for the GPUs we target, without a GPU.

Triton's bundled LLVM and ptxas build for sm_80 (RTX 30, A100), sm_90 (H100) and sm_120 (RTX 50) here;
the interpreter tests cannot catch what only the compiler rejects (layouts, shared memory, registers).
"""

from __future__ import annotations

import pytest

from .aot import all_variants, compile_kernel, tools_present

SHARED_LIMIT = {80: 163 * 1024, 90: 227 * 1024, 120: 99 * 1024}  # per block, opt-in maximum

pytestmark = [pytest.mark.slow, pytest.mark.skipif(not tools_present(), reason="Triton's CUDA toolchain absent")]


@pytest.mark.parametrize("arch", [80, 90, 120])
def test_kernels_compile(arch):
    """Each variant compiles, stays within the block's shared memory, and spills at most a little."""
    problems = []
    for fn, sig, const, warps, stages in all_variants():
        aligned = tuple(n for n, t in sig.items() if t.startswith("*") or n.startswith("stride"))
        c = compile_kernel(fn, sig, const, arch=arch, num_warps=warps, num_stages=stages, aligned=aligned)
        if c.shared > SHARED_LIMIT[arch] or c.spill_bytes > 256:
            problems.append(f"{fn.__name__} {const}: smem={c.shared} spill={c.spill_bytes}")
    assert not problems, problems
