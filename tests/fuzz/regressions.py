"""Shrunk fuzz findings kept as regression tests (tests/test_fuzz.py runs each one).

Each value is a standalone reproducer (from FINDINGS.md): it raises while funcgrad disagrees
with the oracle (NumPy float64 / JAX's documented semantics) and runs silently once the bug
is fixed. Keep them small; the name says what is checked.

`REPROS` must pass. `OPEN` holds reproducers of open frontend bugs (see known.py and
FINDINGS.md): the test suite expects each to fail (a strict xfail), so a fix shows up as a
test to move the reproducer into `REPROS`. Reproducers of backend bugs stay in FINDINGS.md
until they pass.
"""
from __future__ import annotations

REPROS: dict[str, str] = {
    # C (issue 9, FINDINGS #8): jit(grad) of a scan that stacks an unused function of a
    # differentiated constant gave 8.0 (2 per step). The reverse scan (a passthrough carry
    # and the literal seed 1.0) ran as a Python loop that passed the body the NumPy scalars
    # x[i], whose addresses are of temporaries freed at once: two residuals aliased.
    "c_grad_scan_unused_stacked_output": """
import numpy as np
import funcgrad as fg
import funcgrad.numpy as fnp
from funcgrad import lax

def f(c0, w):
    return lax.scan(lambda c, _: (fnp.log1p(c * c), fnp.sin(w)), c0, None, length=3)[0]

g = fg.jit(fg.grad(f, argnums=(0, 1)), backend='c')(np.float32(0.5), np.ones(2, np.float32))
c, d = 0.5, 1.0
for _ in range(3):
    c, d = np.log1p(c * c), d * 2 * c / (1 + c * c)
np.testing.assert_allclose(float(g[0]), d, rtol=2e-5)
assert not np.asarray(g[1]).any(), g[1]
""",
    # C: a host-driven loop (fori_loop with a traced bound) next to nanvar in one program:
    # the loop's result is read from the wrong buffer (bits of the integer 1 -> 1.4e-45).
    "c_while_loop_with_nanvar": """
import numpy as np
import funcgrad as fg
import funcgrad.numpy as fnp
from funcgrad import lax

def f(x, n):
    v = lax.fori_loop(0, n, lambda i, v: v, -x)
    return fnp.nanvar(x), fnp.arctanh(v)

x = fnp.asarray(np.array(0.5, dtype=np.float32))
n = fnp.asarray(np.array(0, dtype=np.int32))
var, out = fg.jit(f, backend="c")(x, n)
assert float(var) == 0.0
np.testing.assert_allclose(float(out), np.arctanh(-0.5), rtol=1e-6)
""",
    # OpenCL: the same program shape raises "DeviceBuffer() float32 was released".
    "opencl_while_loop_with_nanvar": """
import numpy as np
import funcgrad as fg
import funcgrad.numpy as fnp
from funcgrad import lax

def f(x, n):
    return fnp.nanvar(x), lax.fori_loop(0, n, lambda i, v: v, -x) + 1.0

x = fnp.asarray(np.array(2.5, dtype=np.float32))
n = fnp.asarray(np.array(0, dtype=np.int32))
var, out = fg.jit(f, backend="opencl")(x, n)
assert float(var) == 0.0 and float(out) == -1.5, (var, out)
""",
    # grad through x.at[idx].multiply(y) w.r.t. x raises NotImplementedError (JAX: y at idx).
    "grad_scatter_multiply": """
import numpy as np
import funcgrad as fg
import funcgrad.numpy as fnp

idx = fnp.asarray(np.array([0, 2], dtype=np.int32))
g = fg.grad(lambda x: fnp.sum(x.at[idx].multiply(3.0)))(fnp.ones(4))
np.testing.assert_allclose(np.asarray(g), [3.0, 1.0, 3.0, 1.0])
""",
    # `import funcgrad` does not make funcgrad.nn available (after `import jax`, jax.nn is).
    "nn_attribute_after_import": """
import funcgrad as fg
fg.nn.relu
""",
    # grad through checkpoint of a function containing lax.scan: NotImplementedError
    # "mul is not linear in both operands at once" (without checkpoint it works).
    "grad_checkpoint_scan": """
import numpy as np
import funcgrad as fg
import funcgrad.numpy as fnp
from funcgrad import lax

f = lambda x: lax.scan(lambda c, _: (fnp.sin(c), None), x, None, length=2)[0]
x = fnp.asarray(np.float32(0.7))
g = fg.grad(fg.checkpoint(f))(x)
np.testing.assert_allclose(float(g), float(fg.grad(f)(x)), rtol=1e-6)
""",
    # grad of a gather from an array with another axis of size 0: ValueError in reshape.
    "grad_gather_zero_size": """
import numpy as np
import funcgrad as fg
import funcgrad.numpy as fnp

idx = fnp.asarray(np.array([1, 0], dtype=np.int32))
g = fg.grad(lambda y: fnp.sum(y[:, idx]))(fnp.ones((0, 3)))
assert np.asarray(g).shape == (0, 3)
""",
    # jax.nn.softmax/log_softmax of a slice with a +inf entry is NaN throughout (JAX's
    # documented rule); funcgrad gave 0s around a NaN (the max was replaced by 0).
    "softmax_inf_slice_is_nan": """
import numpy as np
import funcgrad as fg
import funcgrad.numpy as fnp

x = fnp.asarray(np.array([[1.0, np.inf, 2.0], [0.0, -np.inf, 1.0]], dtype=np.float32))
for f in (fg.nn.softmax, fg.nn.log_softmax):
    for g in (f, fg.jit(f)):
        out = np.asarray(g(x))
        assert np.isnan(out[0]).all(), out
        assert np.isfinite(out[1, [0, 2]]).all(), out
""",
    # grad of x.at[idx].multiply(y) w.r.t. y with a repeated index: the rule assumed unique
    # indices (d out / d y_k = x, not x times the other factors); JAX refuses this gradient.
    "grad_scatter_multiply_repeated_index": """
import numpy as np
import funcgrad as fg
import funcgrad.numpy as fnp

x = fnp.asarray(np.array([0.5, -1.5, 2.0], dtype=np.float32))
idx = fnp.asarray(np.array([0, 0, 2, 0, 1], dtype=np.int32))
y = fnp.asarray(np.array([2.0, -3.0, 0.5, 0.0, 4.0], dtype=np.float32))
f = lambda y: fnp.sum(x.at[idx].multiply(y) * fnp.asarray([1.0, 2.0, 3.0]))
# out[0] = x0*y0*y1*y3, out[1] = x1*y4, out[2] = x2*y2
want = [0.0, 0.0, 6.0, 0.5 * 2.0 * -3.0, -3.0]
for g in (fg.grad(f), fg.jit(fg.grad(f))):
    np.testing.assert_allclose(np.asarray(g(y)), want, rtol=1e-6)
""",
    # einsum with a repeated index in one operand (a diagonal) raised NotImplementedError
    # (fixed by 17cf024).
    "einsum_diagonal": """
import numpy as np
import funcgrad.numpy as fnp

a = np.arange(9, dtype=np.float32).reshape(3, 3)
np.testing.assert_allclose(np.asarray(fnp.einsum("ii->i", fnp.asarray(a))), np.diag(a))
np.testing.assert_allclose(float(fnp.einsum("ii->", fnp.asarray(a))), np.trace(a))
""",
    # x.at[idx].add(...) on an empty array: JAX drops every (out-of-bounds) update; funcgrad
    # raised IndexError from the gather that maps indices to flat positions (fixed by
    # 35813dd).
    "scatter_into_empty_array": """
import numpy as np
import funcgrad.numpy as fnp

x = fnp.zeros((0,))
idx = fnp.asarray(np.array([0, 0], dtype=np.int32))
assert x.at[idx].add(fnp.ones(2)).shape == (0,)
assert x.at[idx].set(fnp.ones(2)).shape == (0,)
""",
    # C: a while_loop's result, read through a transpose alias at the program's output, was
    # overwritten by a later intermediate (the loop never runs here: y is x).
    "c_loop_result_through_transpose": """
import numpy as np
import funcgrad as fg
import funcgrad.numpy as fnp
from funcgrad import lax

def f(x):
    y = lax.while_loop(lambda c: fnp.sum(c) < 0.0, lambda c: c - 1.0, x)
    return y, fnp.trunc(lax.rsqrt(x * x + 0.25))

y, _ = fg.jit(fg.vmap(f, in_axes=-1, out_axes=-1), backend='c')(fnp.full((1, 1), 5.0))
assert float(np.asarray(y).ravel()[0]) == 5.0, y
""",
    # OpenCL: a while_loop whose initial value is a transpose of an input raised
    # "DeviceBuffer ... was released".
    "opencl_loop_init_transpose": """
import numpy as np
import funcgrad as fg
import funcgrad.numpy as fnp
from funcgrad import lax

f = lambda x: lax.while_loop(lambda c: fnp.sum(c) < 0.0, lambda c: c - 1.0, x.T)
out = fg.jit(f, backend='opencl')(fnp.full((2, 3), 5.0))
np.testing.assert_array_equal(np.asarray(out), np.full((3, 2), 5.0))
""",
    # C jit (FINDINGS, seed 456 #2): a convolution with lhs_dilation skipped the dilation's
    # zeros, so an infinite weight on one gave no NaN (XLA and the reference: 0 * inf).
    "c_conv_lhs_dilation_infinite_weight_on_a_hole": """
import numpy as np
import funcgrad as fg
from funcgrad import lax

x = np.array([[[1.0], [2.0]]], np.float32)
w = np.array([[[np.inf]], [[1.0]]], np.float32)
f = lambda x, w: lax.conv_general_dilated(x, w, (1,), ((0, 0),), lhs_dilation=(2,),
                                          dimension_numbers=('NWC', 'WIO', 'NWC'))
out = np.asarray(fg.jit(f, backend='c')(x, w)).ravel()
assert out[0] == np.inf and np.isnan(out[1]), out
""",
    # fnp.exp2 computed exp(x * ln 2): ~30 ulps off for |x| ~ 100 (JAX's exp2 is accurate).
    "exp2_precision": """
import numpy as np
import funcgrad.numpy as fnp

x = np.array([109.5, -120.25], dtype=np.float32)
got = np.asarray(fnp.exp2(fnp.asarray(x)), np.float64)
want = np.exp2(x.astype(np.float64))
np.testing.assert_allclose(got, want, rtol=4 * 2.0 ** -23)
""",
    # logaddexp2 of float16 and int32: JAX promotes both to float16 first; funcgrad scaled
    # the int operand by ln 2 on its own (the default float) and returned float32.
    "logaddexp2_float16_int32_dtype": """
import numpy as np
import funcgrad.numpy as fnp

h = fnp.asarray(np.array([1.0, 3.0], dtype=np.float16))
i = fnp.asarray(np.array([2, -1], dtype=np.int32))
for out in (fnp.logaddexp2(h, i), fnp.logaddexp2(i, h)):
    assert out.dtype == np.float16, out.dtype
    np.testing.assert_allclose(np.asarray(out, np.float64), np.logaddexp2([1.0, 3.0], [2, -1]),
                               rtol=2e-3)
""",
    # An unsigned index past 2^31: JAX 0.10.2 does not count an unsigned index from the end;
    # converted to int32 it is negative, and .at[] drops it, segment_sum drops it, x[i] (i of
    # rank >= 1) clamps it to element 0. funcgrad counted 2^32 - 1 from the end (element
    # 4 of 5). Found by the index dtypes of the fuzzer; fixed in funcgrad/ alongside.
    "unsigned_index_past_2_31_is_not_counted_from_the_end": """
import numpy as np
import funcgrad as fg
import funcgrad.numpy as fnp

x = fnp.arange(5.0, dtype=np.float32)
i = fnp.asarray(np.array([2**32 - 1], np.uint32))
np.testing.assert_array_equal(np.asarray(x.at[i].set(-1.0)), [0, 1, 2, 3, 4])
np.testing.assert_array_equal(np.asarray(fg.ops.segment_sum(fnp.ones(1), i, num_segments=5)),
                              [0, 0, 0, 0, 0])
""",
    # funcgrad.ops.segment_sum with int8 ids and more than 127 segments: a negative id is
    # dropped in JAX (ids outside [0, num_segments)); funcgrad added it to segment 44 (300
    # as int8) on every backend. Found by the index dtypes of the fuzzer; fixed (ops._segment widens
    # the ids first, prims.indexing.signed_index).
    "segment_sum_int8_ids_past_127_segments": """
import numpy as np
import funcgrad as fg
import funcgrad.numpy as fnp

out = fg.ops.segment_sum(fnp.asarray(np.array([10.0, 1.0], np.float32)),
                         fnp.asarray(np.array([-5, 1], np.int8)), num_segments=300)
np.testing.assert_array_equal(np.asarray(out)[[1, 44]], [1.0, 0.0])
""",
    # vmap of x[:, i] with a batched 0-d uint64 index (64-bit types on) raised "TypeError:
    # gather: indices must be integers, got float64" on every backend; JAX gives x[:, i]
    # per element. Found by the index dtypes of the fuzzer; fixed (dynamic_slice's starts are
    # signed types that hold their axis, prims.indexing._as_index_scalars).
    "vmap_of_a_uint64_scalar_index": """
import numpy as np
import funcgrad as fg
import funcgrad.numpy as fnp

with fg.config.enable_x64(True):
    x = fnp.asarray(np.arange(6.0).reshape(2, 3))
    out = fg.vmap(lambda i: x[:, i])(fnp.asarray(np.array([2, 0], np.uint64)))
    np.testing.assert_array_equal(np.asarray(out), [[2.0, 5.0], [0.0, 3.0]])
""",
    # C: jit(grad) of `where(arange(n) == i, a, b)`, a one-element write, gave two scatters
    # of one update each, whose statements shared the function's scope: "redefinition of
    # 'vt1'", a CompileError (fuzz run 122, seed 20262021; fixed: the update of a scatter
    # without a loop around it is a block of its own, codegen.emit_scatter_kernel).
    "c_grad_of_a_where_on_an_index_compiles": """
import numpy as np
import funcgrad as fg
import funcgrad.numpy as fnp

def f(a, b, i):
    return fnp.sum(fnp.sin(fnp.where(fnp.arange(7) == i, a, b)))

x = np.arange(7, dtype=np.float32) / 7
for i in (3, -4):
    ga, gb = fg.jit(fg.grad(f, argnums=(0, 1)), backend='c')(x, x * 2, np.int8(i))
    hit = np.arange(7) == i
    np.testing.assert_allclose(np.asarray(ga), np.where(hit, np.cos(x), 0), rtol=1e-6)
    np.testing.assert_allclose(np.asarray(gb), np.where(hit, 0, np.cos(x * 2)), rtol=1e-6)
""",
    # C: two reduce_windows of rank-0 operands in one program declared `acc` twice in the
    # function's scope ("redefinition of 'acc'", a CompileError), and the reference's
    # reduce_window with SAME padding on a scalar failed in np.pad (an empty list of pads);
    # found by an audit of the emitters without a loop around their statements (fixed: a
    # rank-0 output nest is a block, codegen._output_nest; prims.windows._pad_signed).
    "c_two_reduce_windows_of_scalars_compile": """
import numpy as np
import funcgrad as fg
from funcgrad import lax

def f(a):
    w1 = lax.reduce_window(a, np.float32(0), lax.add, (), (), 'VALID')
    w2 = lax.reduce_window(a * 2, np.float32(-np.inf), lax.max, (), (), 'SAME')
    return w1 * w2

x = np.float32(1.5)
np.testing.assert_allclose(np.asarray(f(x)), 4.5)
np.testing.assert_allclose(np.asarray(fg.jit(f, backend='c')(x)), 4.5)
np.testing.assert_allclose(np.asarray(fg.jit(fg.grad(f), backend='c')(x)), 6.0)
""",
}


OPEN: dict[str, str] = {}
