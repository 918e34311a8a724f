"""Indices past 2^31: an index computed in int32 wrapped and gave a wrong answer silently
(`argmax` of 2^31 + 77 elements under x64: -2147483643 for 2147483653; `x.at[2**31 + 6]
.set(3)` left x unchanged; `top_k` indices negative). Each op now computes its indices in
int64 where they need it (as JAX does) or raises an error naming the op, the shape and the
fix. Checked on abstract shapes (`ShapeDtypeStruct`), so nothing of that size is allocated;
the values were checked by hand on 2 GiB arrays on the C and reference backends."""
from __future__ import annotations

import numpy as np
import pytest

import funcgrad as fg
import funcgrad.numpy as fnp
from funcgrad import lax
from funcgrad.prims import indexing as ix

BIG = fg.ShapeDtypeStruct((2**31 + 77,), np.uint8)
SMALL = fg.ShapeDtypeStruct((2**31 - 1,), np.uint8)


def _dtypes(f, *args):
    return [str(e.params.get("index_dtype", e.params.get("dtype")))
            for e in fg.make_jaxpr(f)(*args).jaxpr.eqns
            if e.primitive.name in ("argmax", "argmin", "iota")]


@pytest.mark.parametrize("name", ["argmax", "argmin"])
def test_argmax_past_int32(name, x64):
    f = getattr(fnp, name)
    assert _dtypes(f, BIG) == ["int64"]
    assert fg.eval_shape(f, BIG).dtype == np.int64


@pytest.mark.parametrize("name", ["argmax", "argmin"])
def test_argmax_past_int32_without_x64_is_an_error(name):
    with pytest.raises(ValueError, match=name + r".*2147483725.*jax_enable_x64"):
        fg.eval_shape(getattr(fnp, name), BIG)
    assert fg.eval_shape(getattr(fnp, name), SMALL).dtype == np.int32
    with pytest.raises(ValueError, match="index_dtype int32"):
        fg.eval_shape(lambda x: lax.argmax(x, 0, np.int32), BIG)


def test_an_update_of_a_position_past_int32(x64):
    f = lambda x: x.at[2**31 + 6].set(3)
    assert _dtypes(f, BIG) == ["int64"]
    assert _dtypes(lambda x: x.at[2**31 - 2].set(3), SMALL) == ["int32"]
    assert _dtypes(lambda x: x.at[np.array([5, -1])].add(1), BIG) == ["int64"]


def test_an_update_past_int32_without_x64_is_an_error():
    for f in (lambda x: x.at[5].set(3), lambda x: x.at[1:4].add(1),
              lambda x: x.at[0].apply(lambda v: v + 1)):
        with pytest.raises(ValueError, match=r"at\[\.\.\.\]\.\w+: shape \(2147483725,\).*x64"):
            fg.eval_shape(f, BIG)
    fg.eval_shape(lambda x: x.at[5].set(3), SMALL)


def test_searchsorted_past_int32(x64):
    v = fg.ShapeDtypeStruct((3,), np.uint8)
    assert fg.eval_shape(fnp.searchsorted, BIG, v).dtype == np.int64
    assert fg.eval_shape(fnp.searchsorted, SMALL, v).dtype == np.int32
    with fg.config.enable_x64(False):
        with pytest.raises(ValueError, match="searchsorted.*x64"):
            fg.eval_shape(fnp.searchsorted, BIG, fg.ShapeDtypeStruct((3,), np.uint8))


def test_top_k_past_int32_is_an_error():
    # (its indices are int32 whatever the x64 switch, as JAX's are)
    with pytest.raises(ValueError, match="top_k.*beyond int32"):
        fg.eval_shape(lambda x: lax.top_k(x, 3), BIG)
    assert fg.eval_shape(lambda x: lax.top_k(x, 3), SMALL)[1].dtype == np.int32


def test_make_jaxpr_takes_shape_dtype_structs():
    """As JAX's make_jaxpr does: nothing is computed or allocated."""
    prog = fg.make_jaxpr(lambda x, y: x @ y)(fg.ShapeDtypeStruct((2, 3), np.float32),
                                             fg.ShapeDtypeStruct((3, 4), np.float32))
    assert [str(a.aval) for a in prog.jaxpr.invars] == ["float32[2,3]", "float32[3,4]"]
    assert str(prog.jaxpr.outvars[0].aval) == "float32[2,4]"


_NARROW_INDEX_CASES = {
    "getitem scalar": (lambda x, i: x[i[0]], lambda x, i: x[i[0]]),
    "getitem array": (lambda x, i: x[i], lambda x, i: x[i]),
    "take": (lambda x, i: fnp.take(x, i), lambda x, i: np.take(x, i)),
    "take fill": (lambda x, i: fnp.take(x, i, mode="fill", fill_value=-7.0),
                  lambda x, i: np.take(x, i)),
    "take_along_axis": (lambda x, i: fnp.take_along_axis(x, i, 0),
                        lambda x, i: np.take_along_axis(x, i.astype(np.int64), 0)),
    "dynamic_slice": (lambda x, i: lax.dynamic_slice(x, (i[0],), (2,)),
                      lambda x, i: x[int(i[0]) % 300:][:2]),
    "dynamic_update_slice": (
        lambda x, i: lax.dynamic_update_slice(x, np.array([-1.0, -2.0], np.float32), (i[0],)),
        lambda x, i: np.concatenate([x[:int(i[0]) % 300], [-1.0, -2.0],
                                     x[int(i[0]) % 300 + 2:]]).astype(np.float32)),
    "at set": (lambda x, i: x.at[i].set(-1.0),
               lambda x, i: np.where(np.isin(np.arange(300), np.asarray(i, np.int64) % 300),
                                     -1.0, x).astype(np.float32)),
    "at add rows": (lambda x, i: x.reshape(300, 1).at[i].add(1.0),
                    lambda x, i: (x + np.isin(np.arange(300), np.asarray(i, np.int64) % 300)
                                  ).reshape(300, 1).astype(np.float32)),
}


@pytest.mark.parametrize("case", sorted(_NARROW_INDEX_CASES))
@pytest.mark.parametrize("index", [np.array([-5, -100], np.int8), np.array([255, 250], np.uint8),
                                   np.array([-3, 7], np.int16)])
def test_narrow_index_types_on_a_longer_axis(backend, case, index):
    """An index whose type cannot hold the axis length: int8(-5) on an axis of 300 was
    normalized by adding 300 as int8 (44) and read element 39, or element 0 after the
    clamp -- x[i], dynamic_slice, dynamic_update_slice, take_along_axis, .at (JAX raises
    an OverflowError instead). The index is widened before it is normalized."""
    f, want = _NARROW_INDEX_CASES[case]
    x = np.arange(300, dtype=np.float32)
    got = fg.jit(f)(x, index)
    np.testing.assert_array_equal(np.asarray(got), want(x, index))
    np.testing.assert_array_equal(np.asarray(f(fnp.asarray(x), fnp.asarray(index))),
                                  want(x, index))


@pytest.mark.parametrize("itype", [np.uint8, np.int8])
def test_take_along_a_short_axis_with_narrow_indices_and_a_long_other_axis(backend, itype):
    """Regression (fuzz seed 20261966): take_along_axis built the positions along the
    other axes as iotas of the indices' type, so uint8 indices into a (2, 300) array read
    column c - 256 for the columns 256-299, on every backend."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 300)).astype(np.float32)
    i = rng.integers(0, 2, (7, 300)).astype(itype)
    want = np.take_along_axis(x, i.astype(np.int64), axis=0)
    f = lambda a, b: fnp.take_along_axis(a, b, axis=0)       # noqa: E731
    np.testing.assert_array_equal(np.asarray(fg.jit(f)(x, i)), want)
    np.testing.assert_array_equal(np.asarray(f(fnp.asarray(x), fnp.asarray(i))), want)


_INDEX_TYPES = [np.int8, np.uint8, np.int16, np.uint16, np.int32, np.uint32, np.int64,
                np.uint64]


def _extremes(t):
    info = np.iinfo(t)
    return np.array([info.max, info.min, 3, info.max - 1], t)


def _clip(v, hi):
    return min(max(int(v), 0), hi)


_PRIM_CASES = {
    # (program, its value from Python integers: the primitives clamp indices, scatter drops)
    "dynamic_slice": (
        lambda x, i: ix.dynamic_slice(x, [i[0]], [2]),
        lambda x, i: x[_clip(i[0], 8):][:2]),
    "dynamic_update_slice": (
        lambda x, i: ix.dynamic_update_slice(x, np.array([-1.0, -2.0], np.float32), [i[0]]),
        lambda x, i: np.concatenate([x[:_clip(i[0], 8)], [-1.0, -2.0],
                                     x[_clip(i[0], 8) + 2:]])),
    "gather": (
        lambda x, i: ix.gather(x, i.reshape(-1, 1), axes=(0,)),
        lambda x, i: x[[_clip(v, 9) for v in i]]),
    "scatter": (
        lambda x, i: ix.scatter(x, i.reshape(-1, 1), np.ones(len(i), np.float32), axes=(0,)),
        lambda x, i: x + np.bincount([int(v) for v in i if 0 <= int(v) < 10], minlength=10)),
}


@pytest.mark.parametrize("case", sorted(_PRIM_CASES))
@pytest.mark.parametrize("itype", _INDEX_TYPES, ids=lambda t: np.dtype(t).name)
def test_the_extremes_of_every_index_type(backend, x64, case, itype):
    """Each integer type's largest and smallest values as indices of the indexing
    primitives, on every backend against their value. The C and OpenCL backends cast a
    uint64 index to int64 before clamping it: 2^63 + 5 became negative and read element 0,
    where the reference read the last."""
    f, want = _PRIM_CASES[case]
    x = np.arange(10, dtype=np.float32)
    i = _extremes(itype)
    np.testing.assert_array_equal(np.asarray(fg.jit(f)(x, i)),
                                  np.asarray(want(x, i), np.float32))


@pytest.mark.parametrize("start", [np.uint64(2**63 + 5), np.uint64(2**64 - 1), 2**40])
def test_a_static_start_past_int64_is_clamped(backend, x64, start):
    """lax.dynamic_slice / dynamic_update_slice with a NumPy uint64 start past INT64_MAX
    raised OverflowError converting it to an int64 index; JAX clamps it to the end."""
    x = fnp.arange(10.0)
    np.testing.assert_array_equal(np.asarray(lax.dynamic_slice(x, [start], [2])), [8.0, 9.0])
    np.testing.assert_array_equal(
        np.asarray(lax.dynamic_update_slice(x, fnp.zeros(2), (start,))),
        [0, 1, 2, 3, 4, 5, 6, 7, 0, 0])


@pytest.mark.parametrize("shift", [np.int8(1), np.int8(-128), np.uint8(255), np.int16(-301),
                                   np.uint32(2**32 - 1)], ids=repr)
def test_a_traced_shift_of_a_narrow_type_rolls_a_longer_axis(backend, shift):
    """jnp.roll with a traced shift computed (arange(n) - shift) mod n in the shift's type:
    jnp.roll(x, np.int8(1)) on 300 elements read x[43] first, and uint8 255 rolled by -1."""
    x = np.arange(300, dtype=np.float32)
    want = np.roll(x, int(shift))
    np.testing.assert_array_equal(np.asarray(fg.jit(fnp.roll)(x, shift)), want)
    np.testing.assert_array_equal(np.asarray(fnp.roll(x, shift)), want)


def test_a_traced_shift_of_int64_extremes(backend, x64):
    x = np.arange(10.0)
    for s in (np.int64(-2**63), np.uint64(2**64 - 1), np.int64(2**62 + 3)):
        np.testing.assert_array_equal(np.asarray(fg.jit(fnp.roll)(x, s)), np.roll(x, int(s) % 10))


def test_segment_ids_of_a_narrow_type_with_more_segments_than_it_holds(backend):
    """segment_sum moved a negative id to "num_segments" in the ids' type: int8 -5 with 300
    segments became 44 there, and its row was added to segment 44 (JAX drops it)."""
    d = np.array([10.0, 1.0, 2.0], np.float32)
    ids = np.array([-5, 1, 127], np.int8)
    for f in (lambda d, i: fg.ops.segment_sum(d, i, num_segments=300),
              fg.jit(lambda d, i: fg.ops.segment_sum(d, i, num_segments=300))):
        got = np.asarray(f(d, ids))
        want = np.zeros(300, np.float32)
        want[1], want[127] = 1.0, 2.0
        np.testing.assert_array_equal(got, want)


_UNSIGNED_PAST = {
    "uint32": np.array([2**32 - 1, 2**31, 5], np.uint32),
    "uint64": np.array([2**64 - 1, 2**63, 5], np.uint64),
}


@pytest.mark.parametrize("itype", sorted(_UNSIGNED_PAST))
def test_unsigned_indices_past_the_axis_are_out_of_range(backend, x64, itype):
    """An unsigned index past the axis is out of range: dropped by `.at[].set` and by
    segment_sum, clamped to the last element by a gather and `mode='clip'`, the fill with
    mode='fill'. The advanced-indexing path cast uint32/uint64 to int32 first: 2^64 - 1
    became -1, counted from the end, and `x.at[i].set(v)` wrote the last element (JAX's
    cast wraps the same way; docs/porting-from-jax.md)."""
    i = _UNSIGNED_PAST[itype]
    x = fnp.arange(10.0)
    cases = {
        "set": (lambda x, i: x.at[i].set(-1.0), [0, 1, 2, 3, 4, -1, 6, 7, 8, 9]),
        "add clip": (lambda x, i: x.at[i].add(100.0, mode="clip"),
                     [0, 1, 2, 3, 4, 105, 6, 7, 8, 209]),
        "get": (lambda x, i: x[i], [9, 9, 5]),
        "get fill": (lambda x, i: x.at[i].get(mode="fill", fill_value=-1.0), [-1, -1, 5]),
        "segment_sum": (lambda x, i: fg.ops.segment_sum(fnp.ones(3), i, 4), [0, 0, 0, 0]),
        "segment_sum in range": (lambda x, i: fg.ops.segment_sum(fnp.ones(3), i, 6),
                                 [0, 0, 0, 0, 0, 1]),
    }
    for name, (f, want) in cases.items():
        np.testing.assert_array_equal(np.asarray(fg.jit(f)(x, i)), want, err_msg=name)
        np.testing.assert_array_equal(np.asarray(f(x, fnp.asarray(i))), want, err_msg=name)


def test_vmap_of_a_uint64_scalar_index(x64):
    """vmap of x[:, i] with a 0-d uint64 i raised "gather: indices must be integers, got
    float64": the start of the other axis (an int64 0) promoted with uint64 to float64."""
    x = np.arange(6.0).reshape(2, 3)
    i = np.array([2, 0], np.uint64)
    np.testing.assert_array_equal(np.asarray(fg.vmap(lambda i: fnp.asarray(x)[:, i])(i)),
                                  [[2, 5], [0, 3]])


def test_vmap_of_dynamic_slice_with_a_narrow_start_on_a_longer_axis(backend):
    """The batching rule clamped an int8 start to [0, 300 - 3] in int8 (297 wrapped to 41):
    start 127 read elements 41-43. Starts are now signed types that hold the axis."""
    x = np.arange(300.0, dtype=np.float32)
    s = np.array([127, -5, 100], np.int8)
    f = fg.vmap(lambda s: ix.dynamic_slice(x, [s], [3]))
    want = [[127, 128, 129], [0, 1, 2], [100, 101, 102]]
    np.testing.assert_array_equal(np.asarray(fg.jit(f)(s)), want)
    np.testing.assert_array_equal(np.asarray(f(s)), want)


def test_a_numpy_array_of_shifts_rolls_each_axis():
    """jnp.roll(x, np.array([-128, 127], np.int8), axis=(0, 1)) raised a TypeError (the
    NumPy array was taken for one shift); JAX and NumPy roll each axis by its shift."""
    x = np.arange(300.0, dtype=np.float32).reshape(20, 15)
    shift = np.array([-128, 127], np.int8)
    want = np.roll(x, shift.astype(np.int64), axis=(0, 1))
    np.testing.assert_array_equal(np.asarray(fnp.roll(x, shift, axis=(0, 1))), want)
    np.testing.assert_array_equal(
        np.asarray(fg.jit(lambda x: fnp.roll(x, shift, axis=(0, 1)))(x)), want)
