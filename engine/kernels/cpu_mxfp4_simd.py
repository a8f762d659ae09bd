"""x86 vector code for the CPU's MXFP4 experts: numba intrinsics that write LLVM IR (AVX2 + SSSE3).

LLVM does not find these instructions in plain loops, so the inner loop is written as IR here, and the
numba functions of engine/kernels/cpu_mxfp4_jit.py call it like a function (it is inlined into them).

One output row, one to four or eight routes at once (``dot_rows``). For each group of 32 weights (16 bytes):
- ``pshufb`` looks the 32 FP4 codes up in a 16-byte table of twice their values (integers -12..12): two
  instructions, where the float decode took ~10 per 8 weights;
- each route's inputs come quantized per group of 32 to int16 with a power-of-two scale (``quantize`` in
  cpu_mxfp4_jit), in the same split order as the codes (16 even columns, then 16 odd ones), so ``pmaddwd``
  multiplies 16 pairs and adds neighbours: weights 4i and 4i+2 pair up, which is as good as any order;
- the group's integer sum is exact (|sum| <= 32 * 12 * 32767 < 2**24, so its float32 is exact too) and is
  multiplied by the group's scale (the weights' E8M0 and the inputs', both powers of two: exact) into eight
  float32 partial sums, added at the row's end.
So the only rounding before the row's float32 sum is the inputs' to 16 bits, at most 2**-15 of the
group's largest; bf16 inputs within 2**7 of it are exact.

Scales the exact path cannot take (a weight scale byte outside 127 +- 50, 255 included; an input group with
inf or NaN, or a scale outside 2**+-50, which ``quantize`` flags per input row) are computed in float32 from
the float inputs instead, as the portable kernel does, so inf and NaN come out as the torch path's. The fast
loop checks only the weights' bytes, four at a time; the caller checks the inputs' flags once per call, so
no per-route test runs in the loop. ``checked_rows`` decides group by group (2**-100 .. 2**100 for the
product of the two scales).

The fast loop also asks for the row's bytes ``PREFETCH_BYTES`` ahead (the next row's, in a run of rows):
decode is bound by arithmetic and memory in turn, and the hardware's prefetcher alone left 5-8% of the
decode time measured (Zen 3, 2 threads) waiting for memory.

``available()`` says whether this CPU runs it; elsewhere (ARM, x86 without AVX2) the portable float
kernels of cpu_mxfp4_jit run.
"""

from __future__ import annotations

import functools
import platform

from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic

I8, I16, I32, I64, F32 = ir.IntType(8), ir.IntType(16), ir.IntType(32), ir.IntType(64), ir.FloatType()
V16I8, V16I16, V8I32 = ir.VectorType(I8, 16), ir.VectorType(I16, 16), ir.VectorType(I32, 8)
V8F, V4I8, V4I32, V4F = (
    ir.VectorType(F32, 8),
    ir.VectorType(I8, 4),
    ir.VectorType(I32, 4),
    ir.VectorType(F32, 4),
)
TWICE_FP4 = [0, 1, 2, 3, 4, 6, 8, 12, 0, -1, -2, -3, -4, -6, -8, -12]  # e2m1 code -> 2 * value
SAFE_LOW, SAFE_HIGH = 2.0**-100, 2.0**100  # checked_rows: a group scale outside this takes the float path
# the fast loop: weight scale bytes 127 - 50 .. 127 + 50, input scales 2**-50 .. 2**50 (quantize's flags),
# so every product of the two lies in 2**-101 .. 2**99 (a normal float32: the integer sums scale exactly)
SAFE_EXPONENT = 50
WEIGHT_BYTES = (127 - SAFE_EXPONENT, 127 + SAFE_EXPONENT)
PREFETCH_BYTES = 2048  # the best of 1024-4096 measured with gpt-oss's 1440-byte rows
NEEDED = ("avx2", "ssse3")


@functools.cache
def available() -> bool:
    """An x86-64 CPU with AVX2 (every x86 desktop since 2013-2015), as LLVM sees the host."""
    if platform.machine().lower() not in ("x86_64", "amd64"):
        return False
    try:
        import llvmlite.binding as llvm

        features = llvm.get_host_cpu_features()
    except (ImportError, OSError, RuntimeError):
        return False
    return all(features.get(name, False) for name in NEEDED)


def _splat(builder, value, ty):
    v = builder.insert_element(ir.Constant(ty, ir.Undefined), value, ir.Constant(I32, 0))
    mask = ir.Constant(ir.VectorType(I32, ty.count), [0] * ty.count)
    return builder.shuffle_vector(v, ir.Constant(ty, ir.Undefined), mask)


def _halves(builder, v):
    """<16 x i8> -> its two <8 x i8> halves, each widened to <8 x float>."""
    out = []
    for first in (0, 8):
        mask = ir.Constant(ir.VectorType(I32, 8), list(range(first, first + 8)))
        out.append(builder.sitofp(builder.shuffle_vector(v, ir.Constant(V16I8, ir.Undefined), mask), V8F))
    return out


def _vector_load(builder, data, index, ty, align):
    return builder.load(builder.bitcast(builder.gep(data, [index]), ty.as_pointer()), align=align)


def _hsum(builder, v):
    total = builder.extract_element(v, ir.Constant(I32, 0))
    for i in range(1, 8):
        total = builder.fadd(total, builder.extract_element(v, ir.Constant(I32, i)))
    return total


class _Row:
    """The arrays of one call and the IR that reads them (shared by both loops below)."""

    def __init__(self, context, builder, signature, args, routes):
        pairs = [pair for i, pair in enumerate(zip(signature.args, args)) if i not in INDICES]
        arrays = [context.make_array(ty)(context, builder, value) for ty, value in pairs]
        blocks, scales, self.table, self.xq, self.xs, self.xf, src, self.out = arrays
        e, r, first = (context.cast(builder, args[i], signature.args[i], types.int64) for i in INDICES)
        self.builder = builder
        # row r of expert e: its groups are 16 bytes apart, its scales 1 (the caller checks), but experts and
        # rows may lie anywhere (host experts packed a row per expert: engine/offload/build.py pack_rows)
        self.blocks, self.scales = (self._row(a, e, r) for a in (blocks, scales))
        self.groups = cgutils.unpack_tuple(builder, scales.shape)[2]
        width = cgutils.unpack_tuple(builder, self.xq.shape)[1]
        module = builder.module
        self.pshufb = cgutils.get_or_insert_function(
            module, ir.FunctionType(V16I8, [V16I8, V16I8]), "llvm.x86.ssse3.pshuf.b.128"
        )
        self.pmaddwd = cgutils.get_or_insert_function(
            module, ir.FunctionType(V8I32, [V16I16, V16I16]), "llvm.x86.avx2.pmadd.wd"
        )
        # each route's input row: where its values start, and where its group scales do
        self.starts, self.scale_rows = [], []
        for r in range(routes):
            index = builder.load(builder.gep(src.data, [builder.add(first, I64(r))]))
            self.starts.append(builder.mul(index, width))
            self.scale_rows.append(builder.mul(index, self.groups))

    def _row(self, array, e, r):
        b = self.builder
        stride_e, stride_r = cgutils.unpack_tuple(b, array.strides)[:2]
        return b.gep(array.data, [b.add(b.mul(e, stride_e), b.mul(r, stride_r))])  # uint8: strides are bytes

    def prefetch(self, g):
        """Ask for the bytes PREFETCH_BYTES past group g's (a hint: never faults, even past the array)."""
        b = self.builder
        fn = cgutils.get_or_insert_function(
            b.module, ir.FunctionType(ir.VoidType(), [I8.as_pointer(), I32, I32, I32]), "llvm.prefetch.p0i8"
        )
        address = b.gep(self.blocks, [b.add(b.mul(g, g.type(16)), g.type(PREFETCH_BYTES))])
        b.call(fn, [address, I32(0), I32(3), I32(1)])  # read, keep in every cache level, data

    def codes(self, g):
        """Group g's 32 weights, twice their values, as int8: the even columns' and the odd ones'."""
        b = self.builder
        packed = _vector_load(b, self.blocks, b.mul(g, g.type(16)), V16I8, 1)
        table, low4, four = (ir.Constant(V16I8, v) for v in (TWICE_FP4, [15] * 16, [4] * 16))
        even = b.call(self.pshufb, [table, b.and_(packed, low4)])
        return even, b.call(self.pshufb, [table, b.lshr(packed, four)])

    def dots(self, even16, odd16, r, g):
        """Route r's group g: eight int32 partial sums of twice-weight times quantized input."""
        b = self.builder
        at = b.add(self.starts[r], b.mul(g, g.type(32)))
        q_even = _vector_load(b, self.xq.data, at, V16I16, 2)
        q_odd = _vector_load(b, self.xq.data, b.add(at, g.type(16)), V16I16, 2)
        return b.add(b.call(self.pmaddwd, [even16, q_even]), b.call(self.pmaddwd, [odd16, q_odd]))

    def half_scale(self, g):
        b = self.builder
        return b.load(b.gep(self.table.data, [b.zext(b.load(b.gep(self.scales, [g])), g.type)]))

    def input_scale(self, r, g):
        b = self.builder
        return b.load(b.gep(self.xs.data, [b.add(self.scale_rows[r], g)]))

    def floats(self, even, odd, r, g, half_scale):
        """Route r's group g in float32 from the float inputs, each weight scaled before it multiplies (as
        the torch path's dequantized weights: a weight past float32's range is inf, a zero times inf NaN)."""
        b = self.builder
        at = b.add(self.starts[r], b.mul(g, g.type(32)))
        x = [_vector_load(b, self.xf.data, b.add(at, g.type(8 * i)), V8F, 4) for i in range(4)]
        scale = _splat(b, half_scale, V8F)
        (e0, e1), (o0, o1) = ([b.fmul(w, scale) for w in _halves(b, v)] for v in (even, odd))
        return b.fadd(b.fadd(b.fmul(e0, x[0]), b.fmul(o0, x[2])), b.fadd(b.fmul(e1, x[1]), b.fmul(o1, x[3])))


def _in_range(builder, value, low, high):
    """low <= value <= high (false for NaN), for a float or a vector of them."""
    return builder.and_(builder.fcmp_ordered(">=", value, low), builder.fcmp_ordered("<=", value, high))


def _outside_bytes(builder, value, ty):
    """Scale bytes (one, or a vector of them) outside WEIGHT_BYTES, as i1s."""
    vector = isinstance(ty, ir.VectorType)
    low, high = (ir.Constant(ty, [v] * ty.count if vector else v) for v in WEIGHT_BYTES)
    return builder.or_(builder.icmp_unsigned("<", value, low), builder.icmp_unsigned(">", value, high))


def _hadd(builder, a, b):
    """vphaddd's sums of neighbours, as shuffles LLVM lowers as it sees fit."""
    even = builder.shuffle_vector(a, b, ir.Constant(ir.VectorType(I32, 8), [0, 2, 8, 10, 4, 6, 12, 14]))
    odd = builder.shuffle_vector(a, b, ir.Constant(ir.VectorType(I32, 8), [1, 3, 9, 11, 5, 7, 13, 15]))
    return builder.add(even, odd)


def _sum4(builder, pairs):
    """Four <8 x i32> folded pairwise by _hadd (two vectors) -> <4 x i32> of the four's sums."""
    h = _hadd(builder, *pairs)
    undef = ir.Constant(V8I32, ir.Undefined)
    lo = builder.shuffle_vector(h, undef, ir.Constant(ir.VectorType(I32, 4), [0, 1, 2, 3]))
    hi = builder.shuffle_vector(h, undef, ir.Constant(ir.VectorType(I32, 4), [4, 5, 6, 7]))
    return builder.add(lo, hi)


def _checked_codegen(routes: int):
    """Any scales: each group takes the exact integer path where its scale allows, else the float one."""

    def codegen(context, builder, signature, args):
        row = _Row(context, builder, signature, args, routes)
        accs = [cgutils.alloca_once_value(builder, ir.Constant(V8F, None)) for _ in range(routes)]
        low, high = ir.Constant(F32, SAFE_LOW), ir.Constant(F32, SAFE_HIGH)
        with cgutils.for_range(builder, row.groups) as loop:
            g = loop.index
            even, odd = row.codes(g)
            even16, odd16 = builder.sext(even, V16I16), builder.sext(odd, V16I16)
            half_scale = row.half_scale(g)
            for r in range(routes):
                factor = builder.fmul(half_scale, row.input_scale(r, g))
                with builder.if_else(_in_range(builder, factor, low, high), likely=True) as (
                    integer,
                    floating,
                ):
                    with integer:
                        dots = builder.sitofp(row.dots(even16, odd16, r, g), V8F)
                        term = builder.fmul(dots, _splat(builder, factor, V8F))
                        builder.store(builder.fadd(builder.load(accs[r]), term), accs[r])
                    with floating:
                        term = row.floats(even, odd, r, g, half_scale)
                        builder.store(builder.fadd(builder.load(accs[r]), term), accs[r])
        for r in range(routes):
            builder.store(_hsum(builder, builder.load(accs[r])), builder.gep(row.out.data, [I64(r)]))
        return context.get_dummy_value()

    return codegen


def _fast_codegen(routes: int):
    """Four groups at a time, their integer sums gathered into one vector and scaled together, no branches.
    The inputs' scales must be in range (quantize's flags: the caller checks). Returns whether every weight
    scale byte was in WEIGHT_BYTES: where not, the numbers written are wrong and the caller computes the row
    again with the checked loop."""

    def codegen(context, builder, signature, args):
        row = _Row(context, builder, signature, args, routes)
        accs = [cgutils.alloca_once_value(builder, ir.Constant(V4F, None)) for _ in range(routes)]
        tails = [cgutils.alloca_once_value(builder, ir.Constant(F32, 0.0)) for _ in range(routes)]
        # the smallest and the largest scale byte seen, lane by lane: two byte min/max a quad (a mask of
        # out-of-range flags carried across the loop cost a quarter of the decode loop's time on AVX-512
        # hardware, where LLVM keeps it in mask registers)
        lowest = cgutils.alloca_once_value(builder, ir.Constant(V4I8, [127] * 4))  # (in range: no groups)
        highest = cgutils.alloca_once_value(builder, ir.Constant(V4I8, [127] * 4))
        bad_tail = cgutils.alloca_once_value(builder, ir.Constant(ir.IntType(1), 0))
        module = builder.module
        umin, umax = (
            cgutils.get_or_insert_function(module, ir.FunctionType(V4I8, [V4I8, V4I8]), f"llvm.{op}.v4i8")
            for op in ("umin", "umax")
        )
        quads = builder.udiv(row.groups, row.groups.type(4))
        with cgutils.for_range(builder, quads) as loop:
            g0 = builder.mul(loop.index, loop.index.type(4))
            row.prefetch(g0)
            # each route's four groups folded pairwise as they come (vphaddd), so that few vectors are live
            pairs = [[] for _ in range(routes)]
            for k in range(4):
                g = builder.add(g0, g0.type(k))
                even, odd = row.codes(g)
                even16, odd16 = builder.sext(even, V16I16), builder.sext(odd, V16I16)
                for r in range(routes):
                    pairs[r].append(row.dots(even16, odd16, r, g))
                    if k % 2:
                        pairs[r][-2:] = [_hadd(builder, *pairs[r][-2:])]
            # half of 2**(byte - 127) is the float32 whose exponent field is byte - 1
            bytes4 = _vector_load(builder, row.scales, g0, V4I8, 1)
            exponents = builder.sub(builder.zext(bytes4, V4I32), ir.Constant(V4I32, [1] * 4))
            # byte 0 gives -inf and 1 gives 0: both out of range; 255 (E8M0's NaN) is caught by name
            half_scales = builder.bitcast(builder.shl(exponents, ir.Constant(V4I32, [23] * 4)), V4F)
            builder.store(builder.call(umin, [builder.load(lowest), bytes4]), lowest)
            builder.store(builder.call(umax, [builder.load(highest), bytes4]), highest)
            for r in range(routes):
                inputs = _vector_load(builder, row.xs.data, builder.add(row.scale_rows[r], g0), V4F, 4)
                factors = builder.fmul(half_scales, inputs)
                term = builder.fmul(builder.sitofp(_sum4(builder, pairs[r]), V4F), factors)
                builder.store(builder.fadd(builder.load(accs[r]), term), accs[r])
        reduce_add = cgutils.get_or_insert_function(
            builder.module, ir.FunctionType(I32, [V8I32]), "llvm.vector.reduce.add.v8i32"
        )
        tail_start = builder.mul(quads, quads.type(4))
        with cgutils.for_range(builder, builder.sub(row.groups, tail_start)) as loop:
            g = builder.add(tail_start, loop.index)
            even, odd = row.codes(g)
            even16, odd16 = builder.sext(even, V16I16), builder.sext(odd, V16I16)
            half_scale = row.half_scale(g)
            byte = builder.load(builder.gep(row.scales, [g]))
            builder.store(builder.or_(builder.load(bad_tail), _outside_bytes(builder, byte, I8)), bad_tail)
            for r in range(routes):
                total = builder.sitofp(builder.call(reduce_add, [row.dots(even16, odd16, r, g)]), F32)
                factor = builder.fmul(half_scale, row.input_scale(r, g))
                builder.store(builder.fadd(builder.load(tails[r]), builder.fmul(total, factor)), tails[r])
        for r in range(routes):
            v = builder.load(accs[r])
            total = builder.load(tails[r])
            for i in range(4):
                total = builder.fadd(total, builder.extract_element(v, I32(i)))
            builder.store(total, builder.gep(row.out.data, [I64(r)]))
        reduce_min, reduce_max = (
            cgutils.get_or_insert_function(module, ir.FunctionType(I8, [V4I8]), f"llvm.vector.reduce.{op}")
            for op in ("umin.v4i8", "umax.v4i8")
        )
        low = builder.call(reduce_min, [builder.load(lowest)])
        high = builder.call(reduce_max, [builder.load(highest)])
        inside = builder.not_(builder.or_(_outside_bytes(builder, low, I8), _outside_bytes(builder, high, I8)))
        return builder.and_(inside, builder.not_(builder.load(bad_tail)))

    return codegen


# dot_rows' arrays: (dtype, dimensions) of blocks, scales, table, xq, xs, xf, src, out; and where its
# integers (e, r, first) are among its arguments
ARGUMENTS = (
    (types.uint8, 4), (types.uint8, 3), (types.float32, 1), (types.int16, 2),
    (types.float32, 2), (types.float32, 2), (types.int64, 1), (types.float32, 1),
)  # fmt: skip
INDICES = (2, 3, 9)


def _dot_rows_intrinsic(routes: int, checked: bool):
    @intrinsic
    def dot_rows(typingctx, blocks, scales, e, r, table, xq, xs, xf, src, first, out):
        """out[j] = sum_c W[c] * x_i[c], i = src[first + j], for row W = (blocks[e, r], scales[e, r]) of packed
        experts (blocks [E, R, G, 16] uint8, scales [E, R, G] uint8, each row's groups contiguous; table:
        half of 2**(byte - 127) by byte) and ``routes`` input rows of xq [N, 32G] int16 and xs [N, G] float32
        (from quantize) and xf [N, 32G] float32, all in split order and C-contiguous. e, r, src[first:first +
        routes] must name rows that exist and out hold ``routes`` (not checked here: the caller's loops make
        sure)."""
        arrays = (blocks, scales, table, xq, xs, xf, src, out)
        if not all(isinstance(i, types.Integer) for i in (e, r, first)):
            return None
        if not all(isinstance(a, types.Array) for a in arrays):
            return None
        if any(a.layout != "C" for a in arrays[2:]) or tuple((a.dtype, a.ndim) for a in arrays) != ARGUMENTS:
            return None
        args = (blocks, scales, e, r, table, xq, xs, xf, src, first, out)
        if checked:
            return types.void(*args), _checked_codegen(routes)
        return types.boolean(*args), _fast_codegen(routes)

    return dot_rows


# by the number of routes a call takes: eight or four for whole blocks, one to three for an expert's last
dot_rows1, dot_rows2, dot_rows3, dot_rows4, dot_rows8 = (
    _dot_rows_intrinsic(n, checked=False) for n in (1, 2, 3, 4, 8)
)
checked_rows1, checked_rows2, checked_rows3, checked_rows4, checked_rows8 = (
    _dot_rows_intrinsic(n, checked=True) for n in (1, 2, 3, 4, 8)
)
