"""JAX's parameters of the top-level transforms and JAX's config keys, with JAX's semantics
(issue 11: a JAX program ports by changing its imports): vmap(sum_match=), vjp(reduce_axes=),
make_jaxpr(axis_env=, return_shape=), checkpoint(static_argnames=, concrete=),
device_put(src=, donate=, may_alias=), float0, and the config keys tutorials set."""
from __future__ import annotations

import os
import warnings

import numpy as np
import pytest

import funcgrad as fg
import funcgrad.numpy as fnp
from funcgrad import config, lax


@pytest.fixture(autouse=True)
def _restore_config():
    """Every test leaves the options it sets as it found them."""
    keys = ["numpy_rank_promotion", "numpy_dtype_promotion", "default_matmul_precision",
            "default_prng_impl", "enable_checks", "traceback_filtering",
            "compilation_cache_dir"]
    saved = {k: config.options[k].value for k in keys}
    yield
    for k, v in saved.items():
        config.update(k, v)


def _f32(*shape):
    return np.arange(1, 1 + int(np.prod(shape)), dtype=np.float32).reshape(shape)


# ---------------------------------------------------------------------------------------
# vmap(sum_match=), vjp(reduce_axes=)


def test_vmap_sum_match_sums_mapped_outputs_given_out_axes_none():
    x = _f32(4, 3)
    f = lambda v, c: (v * 2.0, c + 1.0, v.sum())
    a, b, s = fg.vmap(f, in_axes=(0, None), out_axes=(0, None, None), sum_match=True)(x, 5.0)
    np.testing.assert_allclose(np.asarray(a), x * 2)
    assert float(b) == 6.0                       # unmapped: passed through, not summed
    assert float(s) == pytest.approx(x.sum())    # mapped, out_axes None: summed
    with pytest.raises(ValueError, match="out_axes=None"):
        fg.vmap(f, in_axes=(0, None), out_axes=(0, None, None))(x, 5.0)
    # composes with grad: the sum over examples of per-example gradients
    g = fg.vmap(fg.grad(lambda w, xi: fnp.sum(w * xi) ** 2), in_axes=(None, 0),
                out_axes=None, sum_match=True)(np.ones(3, np.float32), x)
    want = sum(2 * (x[i].sum()) * x[i] for i in range(4))
    np.testing.assert_allclose(np.asarray(g), want, rtol=1e-6)
    with pytest.raises(TypeError, match="sum_match must be a bool"):
        fg.vmap(f, sum_match="yes")


def test_vjp_reduce_axes_is_jaxs_deprecated_argument():
    out, f_vjp = fg.vjp(lambda x: x * 3.0, 2.0, reduce_axes=())
    assert float(f_vjp(1.0)[0]) == 3.0
    with pytest.raises(NotImplementedError, match="reduce_axes"):
        fg.vjp(lambda x: x, 1.0, reduce_axes=("i",))


# ---------------------------------------------------------------------------------------
# float0


def test_float0_is_jaxs_integer_tangent_dtype():
    assert fg.float0 is fg.dtypes.float0
    assert fg.float0 == np.dtype([("float0", np.void, 0)])
    f = lambda x, n: fnp.sum(x * n)
    x, n = np.ones(3, np.float32), np.arange(3, dtype=np.int32)
    gx, gn = fg.grad(f, argnums=(0, 1), allow_int=True)(x, n)
    np.testing.assert_allclose(np.asarray(gx), [0, 1, 2])
    assert isinstance(gn, np.ndarray) and gn.dtype == fg.float0 and gn.shape == (3,)
    with pytest.raises(TypeError):
        fg.grad(f, argnums=1)(x, n)             # without allow_int: refused, as in JAX
    # inside a transform the zeros keep the integer dtype (a program cannot hold float0)
    g = fg.grad(f, argnums=(0, 1), allow_int=True)
    jx, jn = fg.jit(g)(x, n)
    np.testing.assert_allclose(np.asarray(jx), [0, 1, 2])
    assert jn.dtype == np.int32 and not np.asarray(jn).any()
    vx, vn = fg.vmap(g)(np.ones((2, 3), np.float32), np.ones((2, 3), np.int32))
    assert vx.shape == vn.shape == (2, 3) and not np.asarray(vn).any()
    _, f_vjp = fg.vjp(f, x, n)
    vx, vn = f_vjp(1.0)
    np.testing.assert_allclose(np.asarray(vx), [0, 1, 2])
    assert vn.dtype == fg.float0 and vn.shape == (3,)
    # a float0 tangent stands for zero for an integer primal; refused for a float one
    y, t = fg.jvp(f, (x, n), (np.ones(3, np.float32), np.zeros(3, fg.float0)))
    assert float(y) == 3.0 and float(t) == 3.0
    with pytest.raises(TypeError, match="float0"):
        fg.jvp(f, (x, n), (np.zeros(3, fg.float0), np.zeros(3, fg.float0)))
    # an integer output's cotangent may be float0
    _, g_vjp = fg.vjp(lambda v: (v * 2.0, fnp.argmax(v)), x)
    (gv,) = g_vjp((np.ones(3, np.float32), np.zeros((), fg.float0)))
    np.testing.assert_allclose(np.asarray(gv), 2 * np.ones(3))


# ---------------------------------------------------------------------------------------
# make_jaxpr(axis_env=, return_shape=)


def test_make_jaxpr_return_shape_and_axis_env():
    f = lambda x, y: {"s": fnp.sum(x), "p": (x @ y.T, x.astype("int32"))}
    ir, shapes = fg.make_jaxpr(f, return_shape=True)(_f32(2, 3), _f32(4, 3))
    assert "dot_general" in str(ir) and "reduce_sum" in str(ir)
    assert isinstance(shapes["s"], fg.ShapeDtypeStruct)
    assert (shapes["s"].shape, shapes["s"].dtype) == ((), np.float32)
    assert (shapes["p"][0].shape, shapes["p"][1].dtype) == ((2, 4), np.int32)
    assert not isinstance(fg.make_jaxpr(f)(_f32(2, 3), _f32(4, 3)), tuple)

    g = lambda x: lax.psum(x, "i") * 2.0
    with pytest.raises(NameError, match="unbound axis name"):
        fg.make_jaxpr(g)(1.0)
    text = str(fg.make_jaxpr(g, axis_env=[("i", 4)])(1.0))
    assert "psum[axis_name=i]" in text
    for bad in ([("i", 0)], [("i",)], [("i", 2.5)], 3):
        with pytest.raises((ValueError, TypeError), match="axis_env"):
            fg.make_jaxpr(g, axis_env=bad)


# ---------------------------------------------------------------------------------------
# checkpoint(static_argnums=, static_argnames=, concrete=)


def _loop(x, n, *, mode="sin"):
    for _ in range(n):
        x = fnp.sin(x) if mode == "sin" else fnp.cos(x)
    return fnp.sum(x)


def test_checkpoint_static_arguments_reach_python_control_flow():
    x = _f32(3) / 4
    want = fg.grad(lambda v: _loop(v, 2, mode="cos"))(x)
    by_num = fg.grad(fg.checkpoint(_loop, static_argnums=1, static_argnames="mode"))
    np.testing.assert_allclose(np.asarray(by_num(x, 2, mode="cos")), np.asarray(want),
                               rtol=1e-6)
    by_name = fg.grad(fg.remat(_loop, static_argnums=(), static_argnames=("n", "mode")))
    np.testing.assert_allclose(np.asarray(by_name(x, n=2, mode="cos")), np.asarray(want),
                               rtol=1e-6)
    np.testing.assert_allclose(np.asarray(by_name(x, 2, mode="cos")), np.asarray(want),
                               rtol=1e-6)
    # n traced: Python's range() cannot use it (JAX's class for __index__ of a tracer)
    with pytest.raises(fg.errors.TracerIntegerConversionError):
        fg.grad(fg.checkpoint(_loop))(x, 2)
    jitted = fg.jit(fg.checkpoint(_loop, static_argnums=1), static_argnums=1)
    assert float(jitted(x, 3)) == pytest.approx(float(_loop(x, 3)), rel=1e-6)
    with pytest.raises(ValueError, match="static_argnames"):
        fg.checkpoint(_loop, static_argnames="nope")
    with pytest.raises(ValueError, match="static_argnums"):
        fg.grad(fg.checkpoint(_loop, static_argnums=5))(x, 2)
    with pytest.raises(NotImplementedError, match="concrete"):
        fg.checkpoint(_loop, concrete=False)
    with pytest.raises(TypeError, match="prevent_cse"):
        fg.checkpoint(_loop, prevent_cse="no")


# ---------------------------------------------------------------------------------------
# device_put(src=, donate=, may_alias=)


def test_device_put_donate_may_alias_src():
    y = fnp.ones(3)
    assert fg.device_put(y) is y and fg.device_put(y, may_alias=True) is y
    z = fg.device_put(y, may_alias=False)
    assert z is not y and not y.is_deleted()
    assert not np.shares_memory(np.asarray(z), np.asarray(y))
    z = fg.device_put(y, donate=True)
    assert y.is_deleted() and z is not y
    np.testing.assert_array_equal(np.asarray(z), np.ones(3))
    with pytest.raises(RuntimeError, match="donated"):
        y + 1
    with pytest.raises(RuntimeError):
        fg.device_put(y)                          # a donated array cannot be placed again
    a, b = fnp.ones(2), fnp.zeros(2)
    out = fg.device_put({"a": a, "b": b}, donate={"a": True, "b": False})
    assert a.is_deleted() and not b.is_deleted()
    np.testing.assert_array_equal(np.asarray(out["a"]), np.ones(2))
    with pytest.raises(ValueError, match="may_alias and donate"):
        fg.device_put(b, donate=True, may_alias=True)
    host = np.ones(2, np.float32)               # not funcgrad's to delete: donation no-op
    np.testing.assert_array_equal(np.asarray(fg.device_put(host, donate=True)), host)
    assert fg.device_put(b, src=fg.devices()[0]) is b
    assert fg.device_put(b, src=fg.default_backend()) is b
    with pytest.raises(ValueError, match="unknown backend"):
        fg.device_put(b, src="nowhere")
    with pytest.raises(TypeError, match="src"):
        fg.device_put(b, src=3)
    with pytest.raises(ValueError, match="donate"):
        fg.device_put((a, b), donate=(True,))


# ---------------------------------------------------------------------------------------
# config keys JAX tutorials set


def test_rank_promotion_allow_warn_raise():
    m, v = fnp.ones((2, 3)), fnp.ones(3)
    assert (m + v).shape == (2, 3)             # allow: the default
    config.update("jax_numpy_rank_promotion", "warn")
    with pytest.warns(UserWarning, match=r"rank promotion for add on shapes \(2, 3\) \(3,\)") \
            as rec:
        m + v
    assert rec[0].filename == __file__           # points at the user's line
    config.update("jax_numpy_rank_promotion", "raise")
    for op in (lambda: m + v, lambda: fnp.maximum(m, v), lambda: fnp.where(m > 0, m, v)):
        with pytest.raises(ValueError, match="jax_numpy_rank_promotion='raise'"):
            op()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert (m + 1.0).shape == (2, 3)        # scalars are not rank promotion
        assert (m * fnp.ones(())).shape == (2, 3)
        assert (m + fnp.ones((1, 3))).shape == (2, 3)   # same rank: plain broadcasting
    # jit keys its traces on the option, as JAX does: no stale program after a change
    add = fg.jit(lambda a, b: a + b)
    with pytest.raises(ValueError, match="rank_promotion"):
        add(m, v)
    with fg.numpy_rank_promotion("allow"):
        assert add(m, v).shape == (2, 3)
    with pytest.raises(ValueError, match="rank_promotion"):
        add(m, v)
    with pytest.raises(ValueError, match="'allow', 'warn', 'raise'"):
        config.update("jax_numpy_rank_promotion", "sometimes")


def test_dtype_promotion_strict():
    i, x, h = fnp.ones(3, "int32"), fnp.ones(3), fnp.ones(3, "float16")
    assert (x + i).dtype == np.float32           # standard: JAX's lattice
    config.update("jax_numpy_dtype_promotion", "strict")
    for op in (lambda: x + i, lambda: x + h, lambda: i + 1.0, lambda: fnp.where(True, x, i),
               lambda: i + fnp.ones(3, "int8"), lambda: fnp.ones(3, bool) + i):
        with pytest.raises(fg.config.TypePromotionError, match="strict"):
            op()
    assert issubclass(fg.config.TypePromotionError, ValueError)
    assert (x + 1).dtype == np.float32 and (x * 2.0).dtype == np.float32
    assert (i + 1).dtype == np.int32 and (h + 1.0).dtype == np.float16
    assert (i / 2).dtype == np.float32 and (x > 1).dtype == np.bool_
    assert (x + x.astype("float32")).dtype == np.float32
    f = fg.jit(lambda a, b: a + b)
    with pytest.raises(fg.config.TypePromotionError):
        f(x, i)
    with fg.numpy_dtype_promotion("standard"):
        assert f(x, i).dtype == np.float32
    # not only elementwise: JAX raises for products and joins of mixed dtypes too
    for op in (lambda: x @ i, lambda: fnp.dot(x, i), lambda: fnp.einsum("i,i->", x, i),
               lambda: fnp.concatenate([x, i]), lambda: fnp.outer(x, h)):
        with pytest.raises(fg.config.TypePromotionError, match="strict"):
            op()
    assert (x @ x).dtype == np.float32 and fnp.concatenate([i, i]).dtype == np.int32
    with pytest.raises(ValueError, match="'standard', 'strict'"):
        config.update("jax_numpy_dtype_promotion", "loose")


def test_matmul_precision_prng_impl_and_checks():
    a = _f32(4, 5) / 7
    ref = np.asarray(fnp.asarray(a) @ a.T)
    for p in ("highest", "bfloat16", "tensorfloat32", "F32_F32_F32", None):
        config.update("jax_default_matmul_precision", p)
        np.testing.assert_array_equal(np.asarray(fnp.asarray(a) @ a.T), ref)
    with fg.default_matmul_precision("float32"):
        assert config.read("jax_default_matmul_precision") == "float32"
    with pytest.raises(ValueError, match="'highest'"):
        config.update("jax_default_matmul_precision", "fast")

    config.update("jax_default_prng_impl", "threefry2x32")
    with pytest.raises(ValueError, match="only 'threefry2x32'"):
        config.update("jax_default_prng_impl", "rbg")
    with pytest.raises(ValueError, match="must be one of"):
        config.update("jax_default_prng_impl", "mersenne")
    assert config.read("jax_default_prng_impl") == "threefry2x32"

    with fg.enable_checks():
        f = fg.jit(lambda x: lax.scan(lambda c, y: (c + y, c * y), x[0], x)[1].sum())
        assert float(f(_f32(3))) == pytest.approx(1 * 1 + 2 * 2 + 4 * 3)
        assert "cos" in str(fg.make_jaxpr(fg.grad(lambda x: fnp.sum(fnp.sin(x))))(_f32(3)))


def test_enable_checks_finds_a_broken_program():
    from funcgrad.api import check_program
    from funcgrad.ir import Eqn
    program = fg.make_jaxpr(lambda x: fnp.sin(x) * 2.0)(_f32(3)).program
    check_program(program)
    eqn = program.eqns[0]
    bad_type = Eqn(eqn.prim, eqn.inputs, eqn.params,
                   [type(eqn.outputs[0])(fg.ShapedArray((4,), np.float32, False))])
    program.eqns[0] = bad_type
    with pytest.raises(AssertionError, match=r"shape rule gives f32\[3\]"):
        check_program(program)
    program.eqns[0] = eqn
    program.eqns.reverse()
    with pytest.raises(AssertionError, match="before it is defined"):
        check_program(program)


def test_traceback_filtering_option():
    from funcgrad import traceback_util

    def boom(x):
        return fnp.reshape(x, (7,))

    def frames(exc):
        tb, names = exc.__traceback__, []
        while tb is not None:
            names.append(tb.tb_frame.f_code.co_filename)
            tb = tb.tb_next
        return names

    for value, many in (("off", True), ("remove_frames", False), ("auto", False),
                        ("quiet_remove_frames", False), ("tracebackhide", False)):
        config.update("jax_traceback_filtering", value)
        with pytest.raises(Exception) as info:
            fg.jit(boom)(np.ones(3, np.float32))
        internal = [f for f in frames(info.value) if f.startswith(traceback_util._INTERNAL)]
        # filtered: at most the one frame that re-raises is left
        assert (len(internal) > 3) == many, (value, internal)
    with pytest.raises(ValueError, match="'tracebackhide'"):
        config.update("jax_traceback_filtering", "sometimes")


def test_compilation_cache_dir_sets_the_compilers_directory(tmp_path):
    from cdsl import compile as cc
    before = os.environ.get("FUNCGRAD_CACHE_DIR")
    config.update("jax_compilation_cache_dir", str(tmp_path))
    assert cc.cache_root() == str(tmp_path)
    assert config.read("jax_compilation_cache_dir") == str(tmp_path)
    config.update("jax_compilation_cache_dir", None)
    assert os.environ.get("FUNCGRAD_CACHE_DIR") == before
    with config.override("jax_compilation_cache_dir", str(tmp_path / "x")):
        assert cc.cache_root() == str(tmp_path / "x")
    assert os.environ.get("FUNCGRAD_CACHE_DIR") == before
    with pytest.raises(ValueError, match="directory"):
        config.update("jax_compilation_cache_dir", "")


def test_jax_top_level_signatures_now_match():
    """The names tutorials use take JAX's parameters (the coverage doc's comparison)."""
    import inspect
    for fun, params in ((fg.vmap, "sum_match"), (fg.vjp, "reduce_axes"),
                        (fg.make_jaxpr, "axis_env return_shape"),
                        (fg.checkpoint, "static_argnames concrete"),
                        (fg.remat, "static_argnames concrete"),
                        (fg.device_put, "src donate may_alias")):
        have = inspect.signature(fun).parameters
        assert all(p in have for p in params.split()), (fun, params)
    for key in ("jax_default_matmul_precision", "jax_numpy_rank_promotion",
                "jax_numpy_dtype_promotion", "jax_default_prng_impl", "jax_enable_checks",
                "jax_traceback_filtering", "jax_compilation_cache_dir"):
        config.read(key)
