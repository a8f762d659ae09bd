"""Compile Triton kernels for a CUDA architecture without a GPU (Triton's bundled LLVM and ptxas).

Used by the compile tests and by hand to read what the compiler made (registers, spills, shared memory,
SASS): ``python -m tests.kernels.aot`` prints a table for the kernels at gpt-oss-20b shapes.
"""

from __future__ import annotations

import re
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path


@dataclass
class Compiled:
    name: str
    arch: int
    ptx: str
    cubin: bytes
    shared: int  # bytes of shared memory the launch asks for
    registers: int
    spill_bytes: int  # spill stores + loads (ptxas -v)

    def sass(self) -> str:
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "k.cubin"
            path.write_bytes(self.cubin)
            return subprocess.run([_tool("cuobjdump"), "-sass", str(path)], capture_output=True, text=True,
                                  check=True).stdout


def _tool(name: str) -> str:
    import triton
    return str(Path(triton.__file__).parent / "backends" / "nvidia" / "bin" / name)


def tools_present() -> bool:
    try:
        return Path(_tool("ptxas")).exists()
    except ImportError:
        return False


def compile_kernel(fn, signature: dict[str, str], constexprs: dict, *, arch: int, num_warps: int,
                   num_stages: int = 3, aligned: tuple[str, ...] = ()) -> Compiled:
    """signature: arg name -> Triton type ("*bf16", "i32", "fp32"); aligned: args known 16-divisible."""
    import triton
    from triton.backends.compiler import GPUTarget
    from triton.compiler import ASTSource

    sig = dict(signature)
    sig.update({name: "constexpr" for name in constexprs})
    sig = {name: sig[name] for name in fn.arg_names}
    attrs = {(fn.arg_names.index(name),): [["tt.divisibility", 16]] for name in aligned}
    src = ASTSource(fn=fn, signature=sig, constexprs=constexprs, attrs=attrs)
    target = GPUTarget("cuda", arch, 32)
    backend = triton.compiler.make_backend(target)
    options = backend.parse_options({"num_warps": num_warps, "num_stages": num_stages})
    compiled = triton.compile(src, target=target, options=options.__dict__)
    ptx = compiled.asm["ptx"]
    registers, spills = _ptxas_report(ptx, arch)
    return Compiled(fn.__name__, arch, ptx, compiled.asm["cubin"], compiled.metadata.shared, registers, spills)


def _ptxas_report(ptx: str, arch: int) -> tuple[int, int]:
    suffix = "a" if arch >= 90 else ""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "k.ptx"
        path.write_text(ptx)
        ptxas = _tool("ptxas-blackwell") if arch >= 100 and Path(_tool("ptxas-blackwell")).exists() else _tool("ptxas")
        out = subprocess.run([ptxas, f"-arch=sm_{arch}{suffix}", "-v", str(path), "-o", str(Path(tmp) / "k.o")],
                             capture_output=True, text=True, check=True)
    text = out.stdout + out.stderr
    registers = int(re.search(r"Used (\d+) registers", text).group(1))
    spills = sum(int(v) for v in re.findall(r"(\d+) bytes spill (?:stores|loads)", text))
    return registers, spills


MOE_SIG = {
    "mlp1_gemv_kernel": dict(x_ptr="*bf16", ids_ptr="*i64", map_ptr="*i32", w_ptr="*i32", s_ptr="*u8",
                             b_ptr="*bf16", out_ptr="*bf16", N="i32", limit="fp32", alpha="fp32"),
    "mlp2_gemv_kernel": dict(h_ptr="*bf16", ids_ptr="*i64", map_ptr="*i32", rw_ptr="*fp32", w_ptr="*i32",
                             s_ptr="*u8", b_ptr="*bf16", out_ptr="*bf16", N="i32"),
    "mlp1_grouped_kernel": dict(x_ptr="*bf16", pairs_ptr="*i32", tile_row_ptr="*i32", tile_start_ptr="*i32",
                                tile_end_ptr="*i32", w_ptr="*i32", s_ptr="*u8", b_ptr="*bf16", out_ptr="*bf16",
                                N="i32", limit="fp32", alpha="fp32"),
    "mlp2_grouped_kernel": dict(h_ptr="*bf16", pairs_ptr="*i32", tile_row_ptr="*i32", tile_start_ptr="*i32",
                                tile_end_ptr="*i32", rw_ptr="*fp32", w_ptr="*i32", s_ptr="*u8", b_ptr="*bf16",
                                out_ptr="*bf16", N="i32"),
}


def moe_variants(hidden: int = 2880, intermediate: int = 2880, top_k: int = 4):
    """(kernel, signature, constexprs, num_warps, num_stages) for every tile config the launchers use."""
    from engine.kernels import moe_mxfp4 as M
    from engine.kernels import mxfp4_triton as K

    out = []
    for name, cfg, G in (("mlp1_gemv_kernel", M.MLP1_GEMV, hidden // 32), ("mlp2_gemv_kernel", M.MLP2_GEMV,
                                                                             intermediate // 32)):
        const = dict(G=G, TOPK=top_k, HAS_MAP=True, BN=cfg.bn, BG=cfg.bg, ASM=True)
        out.append((getattr(K, name), MOE_SIG[name], const, cfg.num_warps, 1))
    for cfg in M.GROUPED.values():
        const = dict(G=hidden // 32, TOPK=top_k, BM=cfg.bm, BN=cfg.bn, BG=cfg.bg, ASM=True, DOT_F32=False)
        out.append((K.mlp1_grouped_kernel, MOE_SIG["mlp1_grouped_kernel"], const, cfg.num_warps, cfg.num_stages))
        const = dict(G=intermediate // 32, BM=cfg.bm, BN=cfg.bn, BG=cfg.bg, ASM=True, DOT_F32=False)
        out.append((K.mlp2_grouped_kernel, MOE_SIG["mlp2_grouped_kernel"], const, cfg.num_warps, cfg.num_stages))
    return out


INT8_SIG = dict(x_ptr="*bf16", w_ptr="*i32", s_ptr="*bf16", b_ptr="*bf16", out_ptr="*bf16", N="i32",
                stride_x="i32", stride_out="i32")


def int8_variants():
    """The int8 GEMV for gpt-oss-20b's projections and unembedding, with the launcher's tiles."""
    from engine.kernels import int8_gemv as I

    out = []
    for n, k in ((5120, 2880), (4096, 2880), (512, 2880), (2880, 4096), (201088, 2880)):
        cfg = I.int8_config(n, k)
        const = dict(K=k, HAS_BIAS=True, BN=cfg.bn, BW=cfg.bw, ASM=True)
        out.append((I.int8_gemv_kernel, INT8_SIG, const, cfg.num_warps, 1))
    return out


def fused_variants():
    """The fused decode-layer and attention kernels (engine/kernels/fused.py) at gpt-oss's shapes (20b and
    120b routers), with the launchers' tiles."""
    from engine.kernels import attention_triton as A
    from engine.kernels import fused as F
    from engine.kernels import layer_triton as L

    bf, f32, i32 = "*bf16", "*fp32", "i32"
    out = []
    norm = dict(x_ptr=bf, d_ptr=bf, db_ptr=bf, w_ptr=f32, res_ptr=bf, out_ptr=bf, H=i32, eps="fp32")
    for delta, bias in ((True, True), (True, False), (False, False)):
        out.append((L.add_rms_norm_kernel, norm, dict(HAS_DELTA=delta, HAS_DBIAS=bias, BH=4096), 8, 1))
    rope = dict(qkv_ptr=bf, b_ptr=bf, cos_ptr=bf, sin_ptr=bf, pos_ptr="*i64", q_out_ptr=bf, k_ptr=bf,
                v_ptr=bf, stride_kh=i32, stride_ks=i32, ring=i32)
    for bias in (True, False):
        out.append((L.rope_kv_kernel, rope, dict(HQ=64, HKV=8, HALF=32, HAS_BIAS=bias), 1, 1))
    router = dict(x_ptr=bf, w_ptr=bf, b_ptr=bf, ids_ptr="*i64", wts_ptr=bf, H=i32, E=i32)
    for experts in (32, 128):
        out.append((L.router_kernel, router, dict(K=4, EP=experts, BH=F.router_block(experts)), 4, 1))
    partial = dict(q_ptr=bf, k_ptr=bf, v_ptr=bf, pos_ptr="*i64", acc_ptr=f32, ml_ptr=f32, stride_kh=i32,
                   stride_ks=i32, ring=i32, window=i32, scale="fp32", num_splits=i32)
    const = dict(GROUP=8, GP=16, D=64, BLOCK=F.DECODE_BLOCK, DOT_F32=False)
    out.append((A.decode_partial_kernel, partial, const, 4, 1))
    combine = dict(acc_ptr=f32, ml_ptr=f32, sinks_ptr=f32, out_ptr=bf, num_splits=i32)
    out.append((A.decode_combine_kernel, combine, dict(D=64, SP=F.MAX_SPLITS), 1, 1))
    prefill = dict(q_ptr=bf, k_ptr=bf, v_ptr=bf, sinks_ptr=f32, out_ptr=bf, T=i32, S=i32, q_start=i32,
                   key_start=i32, window=i32, scale="fp32", stride_qt=i32, stride_qh=i32, stride_kh=i32,
                   stride_ks=i32, stride_ot=i32)
    const = dict(GROUP=8, D=64, BM=F.PREFILL_BM, BN=F.PREFILL_BN, DOT_F32=False)
    out.append((A.prefill_kernel, prefill, const, 4, 1))
    return out


def all_variants():
    return moe_variants() + int8_variants() + fused_variants()


def main() -> None:
    import sys
    archs = [int(a) for a in sys.argv[1:]] or [90, 120, 86]
    for fn, sig, const, warps, stages in all_variants():
        aligned = tuple(n for n, t in sig.items() if t.startswith("*") or n.startswith("stride"))
        for arch in archs:
            c = compile_kernel(fn, sig, const, arch=arch, num_warps=warps, num_stages=stages, aligned=aligned)
            tiles = {k: v for k, v in const.items() if k in ("BM", "BN", "BG", "BW", "K")}
            print(f"sm_{arch:<4} {fn.__name__:22s} {tiles} warps={warps} regs={c.registers} "
                  f"spill={c.spill_bytes} smem={c.shared}", flush=True)


if __name__ == "__main__":
    main()
