"""funcgrad.numpy.fft and the `fft` primitive: our C kernel against NumPy's pocketfft for
many sizes (called directly: no program compiles per size), the NumPy-compatible frontend
(n, axes, s, norm) eagerly and under `jit` on every backend (one program per backend),
derivatives (transposes checked against the dense pairing <ct, f(v)> = <f^T(ct), v>, and
finite differences to order 2 in float64), `vmap`, and the errors."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import funcgrad as fg
import funcgrad.numpy as fnp
from funcgrad import lax
from funcgrad.prims import fft as fft_prim
from funcgrad.prims import fft_kernel
from funcgrad.testing import check_grads

PRIMES = (2, 3, 5, 7, 11, 13, 17, 31, 37, 97, 127, 251, 257, 293)
POW2 = (1, 2, 4, 8, 16, 32, 64, 128, 256)

needs_kernel = pytest.mark.skipif(not fft_kernel.available(),
                                  reason="no C compiler for the FFT kernel")


def _crandn(rng, shape, dtype=np.complex128):
    return (rng.standard_normal(shape) + 1j * rng.standard_normal(shape)).astype(dtype)


def _tol(dtype):
    return 2e-5 if np.dtype(dtype) in (np.complex64, np.float32) else 1e-12


def _close(got, want, dtype, what):
    scale = max(1.0, float(np.max(np.abs(want))) if np.size(want) else 1.0)
    err = float(np.max(np.abs(np.asarray(got) - want))) if np.size(want) else 0.0
    assert err <= _tol(dtype) * scale * 8, f"{what}: max error {err:.3g} (scale {scale:.3g})"


# --- the C kernel, directly ------------------------------------------------------------

@needs_kernel
def test_kernel_every_size_up_to_300():
    """Complex, inverse, real-to-complex and complex-to-real transforms of every length
    1..300 (all radices, generic odd primes up to 31, Bluestein above) in both precisions."""
    rng = np.random.default_rng(0)
    for n in range(1, 301):
        for cdt, rdt in ((np.complex128, np.float64), (np.complex64, np.float32)):
            rows = 2 if n > 64 else 3
            x = _crandn(rng, (rows, n), cdt)
            x128 = x.astype(np.complex128)
            _close(fft_kernel.c2c(x), np.fft.fft(x128), cdt, f"c2c n={n} {cdt.__name__}")
            _close(fft_kernel.c2c(x, inverse=True), np.fft.ifft(x128), cdt, f"inverse n={n}")
            r = x.real.astype(rdt)
            _close(fft_kernel.r2c(r), np.fft.rfft(r.astype(np.float64)), cdt, f"r2c n={n}")
            # c2r ignores the imaginary parts of the zero and Nyquist bins, as NumPy does.
            h = x[:, :n // 2 + 1]
            _close(fft_kernel.c2r(h, n), np.fft.irfft(h.astype(np.complex128), n), cdt,
                   f"c2r n={n}")


@needs_kernel
@pytest.mark.parametrize("n", [1009, 4096, 3 * 5 * 7 * 11 * 13, 2 * 1009, 65537])
def test_kernel_large_and_prime_sizes(n):
    rng = np.random.default_rng(n)
    for cdt in (np.complex64, np.complex128):
        x = _crandn(rng, (n,), cdt)
        _close(fft_kernel.c2c(x), np.fft.fft(x.astype(np.complex128)), cdt, f"n={n}")
        r = x.real.copy()
        _close(fft_kernel.c2r(fft_kernel.r2c(r), n), r, cdt, f"round trip n={n}")


@needs_kernel
@pytest.mark.parametrize("n", [1024, 96, 97])
def test_kernel_rows_shared_by_threads_give_the_same_bits(n):
    """Calls of many rows share them between threads (each with its own scratch): every
    kind, both precisions, power-of-two, mixed-radix and Bluestein lengths give one
    thread's bits, and match NumPy."""
    rows = 2 * fft_kernel.PARALLEL_MIN // n + 3
    for cdt in (np.complex64, np.complex128):
        rng = np.random.default_rng(n)
        x = _crandn(rng, (rows, n), cdt)
        r = x.real.copy()
        h = x[:, :n // 2 + 1].copy()
        outs = {}
        for threads in (1, 2):
            with fg.config.override("cpu_threads", threads):
                assert fft_kernel._threads(rows, n) == threads
                outs[threads] = (fft_kernel.c2c(x), fft_kernel.c2c(x, inverse=True),
                                 fft_kernel.r2c(r), fft_kernel.c2r(h, n))
        for a, b in zip(*outs.values()):
            np.testing.assert_array_equal(a, b)
        _close(outs[2][0], np.fft.fft(x.astype(np.complex128)), cdt, f"c2c n={n}")
        _close(outs[2][2], np.fft.rfft(r.astype(np.float64)), cdt, f"r2c n={n}")


_FORK_CHILD = """
import multiprocessing as mp, numpy as np
import funcgrad as fg
from funcgrad.prims import fft_kernel
x = np.ones((4 * fft_kernel.PARALLEL_MIN // 256, 256), np.complex64)
with fg.config.override("cpu_threads", 2):
    fft_kernel.c2c(x)                   # the parent's pool has a worker now

def child(_):
    with fg.config.override("cpu_threads", 2):
        assert fft_kernel._threads(*x.shape) == 1       # the forking thread: on its own
        return float(fft_kernel.c2c(x)[0, 0].real)

with mp.get_context("fork").Pool(1) as pool:
    print(pool.map(child, [0]))
"""


@needs_kernel
def test_a_forked_child_transforms_on_its_own_thread():
    """A fork's child inherits libgomp's pool of the parent, whose workers are gone: its
    forking thread transforms on its own, as compiled code's regions there run on one
    thread (cdsl.runtime's `in_child`, written after a compiled two-thread region hung in
    a multiprocessing worker; this FFT region, without the runtime's wait, ran to the end
    there with gcc 12's libgomp when tried without the guard)."""
    import subprocess
    import sys
    out = subprocess.run([sys.executable, "-c", _FORK_CHILD], capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip() == "[256.0]"


@needs_kernel
def test_kernel_keeps_precision_and_rejects_bad_input():
    x = np.ones((2, 6), np.complex64)
    assert fft_kernel.c2c(x).dtype == np.complex64
    assert fft_kernel.r2c(x.real.copy()).dtype == np.complex64
    assert fft_kernel.c2r(x[:, :4], 6).dtype == np.float32
    with pytest.raises(TypeError, match="complex64 or complex128"):
        fft_kernel.c2c(np.ones(4))
    with pytest.raises(ValueError, match="takes 4 coefficients"):
        fft_kernel.c2r(x, 6)


# --- the frontend against numpy.fft ----------------------------------------------------

def _cases(rng):
    """(name, funcgrad function, numpy function, input) for every function, with n/axes/s/
    norm variations: each row runs eagerly and inside one jitted program."""
    c = _crandn(rng, (3, 5, 6), np.complex64)
    r = rng.standard_normal((3, 5, 7)).astype(np.float32)
    h = _crandn(rng, (4, 5), np.complex64)
    rows = []
    for norm in (None, "ortho", "forward"):
        kw = {"norm": norm}
        rows += [
            ("fft", lambda a, kw=kw: fnp.fft.fft(a, **kw), lambda a, kw=kw: np.fft.fft(a, **kw), c),
            ("ifft-n", lambda a, kw=kw: fnp.fft.ifft(a, n=9, axis=1, **kw),
             lambda a, kw=kw: np.fft.ifft(a, n=9, axis=1, **kw), c),
            ("rfft-n", lambda a, kw=kw: fnp.fft.rfft(a, n=4, axis=0, **kw),
             lambda a, kw=kw: np.fft.rfft(a, n=4, axis=0, **kw), r),
            ("irfft", lambda a, kw=kw: fnp.fft.irfft(a, **kw),
             lambda a, kw=kw: np.fft.irfft(a, **kw), h),
            ("irfft-n-odd", lambda a, kw=kw: fnp.fft.irfft(a, n=7, axis=0, **kw),
             lambda a, kw=kw: np.fft.irfft(a, n=7, axis=0, **kw), h),
            ("hfft", lambda a, kw=kw: fnp.fft.hfft(a, n=9, **kw),
             lambda a, kw=kw: np.fft.hfft(a, n=9, **kw), h),
            ("ihfft", lambda a, kw=kw: fnp.fft.ihfft(a, axis=1, **kw),
             lambda a, kw=kw: np.fft.ihfft(a, axis=1, **kw), r),
            ("fft2", lambda a, kw=kw: fnp.fft.fft2(a, s=(4, 8), **kw),
             lambda a, kw=kw: np.fft.fft2(a, s=(4, 8), **kw), c),
            ("ifft2", lambda a, kw=kw: fnp.fft.ifft2(a, axes=(0, 2), **kw),
             lambda a, kw=kw: np.fft.ifft2(a, axes=(0, 2), **kw), c),
            ("rfft2", lambda a, kw=kw: fnp.fft.rfft2(a, **kw),
             lambda a, kw=kw: np.fft.rfft2(a, **kw), r),
            ("irfft2", lambda a, kw=kw: fnp.fft.irfft2(a, s=(5, 7), **kw),
             lambda a, kw=kw: np.fft.irfft2(a, s=(5, 7), **kw), c),
            ("fftn", lambda a, kw=kw: fnp.fft.fftn(a, **kw),
             lambda a, kw=kw: np.fft.fftn(a, **kw), c),
            ("ifftn-s", lambda a, kw=kw: fnp.fft.ifftn(a, s=(2, 7), axes=(2, 0), **kw),
             lambda a, kw=kw: np.fft.ifftn(a, s=(2, 7), axes=(2, 0), **kw), c),
            ("rfftn", lambda a, kw=kw: fnp.fft.rfftn(a, axes=(2, 1, 0), **kw),
             lambda a, kw=kw: np.fft.rfftn(a, axes=(2, 1, 0), **kw), r),
            ("irfftn", lambda a, kw=kw: fnp.fft.irfftn(a, **kw),
             lambda a, kw=kw: np.fft.irfftn(a, **kw), c),
        ]
    rows += [
        ("fft-of-real", fnp.fft.fft, np.fft.fft, r),
        ("fftshift", fnp.fft.fftshift, np.fft.fftshift, r),
        ("ifftshift-axes", lambda a: fnp.fft.ifftshift(a, axes=(0, 2)),
         lambda a: np.fft.ifftshift(a, axes=(0, 2)), r),
    ]
    return rows


def _check_cases(results, cases):
    for (name, _, npf, a), got in zip(cases, results):
        want = npf(a.astype(np.complex128 if np.iscomplexobj(a) else np.float64))
        assert np.shape(got) == want.shape, (name, np.shape(got), want.shape)
        single = np.complex64 if np.iscomplexobj(want) else np.float32
        if name not in ("fftshift", "ifftshift-axes"):
            assert np.asarray(got).dtype == single, (name, np.asarray(got).dtype)
        _close(got, want, single, name)


def _skip_without_complex(backend):
    """OpenCL holds complex arrays only once its float2/double2 representation lands."""
    if backend == "opencl":
        try:
            fnp.ones(2, fnp.complex64) * 2
        except Exception as e:  # noqa: BLE001 -- whatever the device refuses, say why
            pytest.skip(f"complex arrays on OpenCL: {type(e).__name__}: {e}")


def test_frontend_eager_matches_numpy(backend):
    if backend == "opencl":
        pytest.skip("eager OpenCL builds a program per operation (~30 s of PoCL builds); "
                    "the jit test below covers OpenCL")
    cases = _cases(np.random.default_rng(1))
    _check_cases([f(fnp.asarray(a)) for _, f, _, a in cases], cases)


def test_frontend_jit_matches_numpy(backend):
    """Every case in one program: one compile per backend (on OpenCL, whose kernel builds
    are slow, a subset: one of each kind and every way of choosing sizes and axes)."""
    _skip_without_complex(backend)
    cases = _cases(np.random.default_rng(2))
    if backend == "opencl":
        cases = [c for c in cases[15:30] if c[0] in ("fft", "rfft-n", "irfft-n-odd", "ifftn-s",
                                                      "rfftn")]
    else:   # the default norm, the extra rows, and two rows of each other norm
        cases = cases[:15] + cases[15:17] + cases[30:32] + cases[45:]
    run = fg.jit(lambda *xs: [f(x) for (_, f, _, _), x in zip(cases, xs)])
    _check_cases(run(*[a for *_, a in cases]), cases)


def test_freqs_match_numpy():
    for n in (1, 2, 7, 8):
        for d in (1.0, 0.25):
            np.testing.assert_allclose(fnp.fft.fftfreq(n, d), np.fft.fftfreq(n, d), rtol=1e-6)
            np.testing.assert_allclose(fnp.fft.rfftfreq(n, d), np.fft.rfftfreq(n, d),
                                       rtol=1e-6)
    assert fnp.fft.fftfreq(4).dtype == np.float32


@settings(max_examples=25, deadline=None)
@given(n=st.one_of(st.integers(1, 300), st.sampled_from(PRIMES + POW2)),
       batch=st.sampled_from([(), (1,), (3,), (2, 2)]),
       norm=st.sampled_from([None, "ortho", "forward"]),
       crop=st.integers(-3, 3), single=st.booleans())
def test_hypothesis_sizes_against_numpy(n, batch, norm, crop, single):
    """Eager calls on the default (c) backend: our kernel, with n= cropping or padding."""
    rng = np.random.default_rng(n)
    cdt, rdt = (np.complex64, np.float32) if single else (np.complex128, np.float64)
    with fg.config.enable_x64(not single):
        x = _crandn(rng, batch + (n,), cdt)
        m = max(1, n + crop)
        _close(fnp.fft.fft(x, n=m, norm=norm), np.fft.fft(x, n=m, norm=norm), cdt, "fft")
        _close(fnp.fft.ifft(x, norm=norm), np.fft.ifft(x, norm=norm), cdt, "ifft")
        r = x.real.astype(rdt)
        _close(fnp.fft.rfft(r, n=m, norm=norm), np.fft.rfft(r, n=m, norm=norm), cdt, "rfft")
        _close(fnp.fft.irfft(x, n=m, norm=norm), np.fft.irfft(x, n=m, norm=norm), cdt,
               "irfft")


# --- which implementation runs ---------------------------------------------------------

@needs_kernel
def test_c_backend_runs_our_kernel_and_reference_runs_numpy(monkeypatch):
    calls = []
    real_c2c = fft_kernel.c2c
    monkeypatch.setattr(fft_kernel, "c2c", lambda *a: calls.append(1) or real_c2c(*a))
    x = _crandn(np.random.default_rng(3), (4, 6), np.complex64)
    f = lambda v: fnp.fft.fft(v) * 2.0
    ref = fg.jit(f, backend="reference")(x)
    assert calls == []
    got = fg.jit(f, backend="c")(x)
    assert calls, "the C backend did not call the C kernel"
    _close(got, np.fft.fft(x) * 2, np.complex64, "c backend")
    _close(ref, np.fft.fft(x) * 2, np.complex64, "reference")


def test_jit_on_c_follows_changing_sizes():
    """The C backend compiles a program family once with symbolic sizes; the fft host step
    must transform each call's own lengths."""
    f = fg.jit(lambda v: fnp.fft.rfft(v * 2.0) * 3.0, backend="c")
    for n in (8, 12, 9):
        x = np.random.default_rng(n).standard_normal((2, n)).astype(np.float32)
        _close(f(x), np.fft.rfft(x * 2.0) * 3.0, np.complex64, f"n={n}")


# --- derivatives -----------------------------------------------------------------------

@pytest.mark.parametrize("t,lengths", [
    ("fft", (6,)), ("ifft", (5,)), ("rfft", (6,)), ("rfft", (7,)), ("irfft", (6,)),
    ("irfft", (7,)), ("fft", (3, 4)), ("rfft", (4, 5)), ("irfft", (3, 4)), ("irfft", (1,)),
    ("rfft", (2,))])
def test_transpose_is_the_adjoint(t, lengths, x64):
    """vjp of each kind against the pairing <ct, f(v)> = Re sum(ct * f(v)) (JAX represents
    the cotangent of z = x + iy as ct_x - i ct_y)."""
    rng = np.random.default_rng(len(t) * 10 + sum(lengths))
    kind = fft_prim.canonical_fft_type(t)
    n = lengths[-1]
    if kind == lax.FftType.RFFT:
        shape, real = (2,) + lengths, True
    elif kind == lax.FftType.IRFFT:
        shape, real = (2,) + lengths[:-1] + (n // 2 + 1,), False
    else:
        shape, real = (2,) + lengths, False
    draw = (lambda: rng.standard_normal(shape)) if real else (lambda: _crandn(rng, shape))
    x, v = draw(), draw()
    out, pull = fg.vjp(lambda a: lax.fft(a, t, lengths), fnp.asarray(x))
    ct = _crandn(rng, out.shape) if np.iscomplexobj(np.asarray(out)) else \
        rng.standard_normal(out.shape)
    (g,) = pull(fnp.asarray(ct))
    lhs = np.real(np.sum(np.asarray(g) * v))
    rhs = np.real(np.sum(ct * fft_prim._numpy_fft(v, kind, lengths)))
    assert abs(lhs - rhs) <= 1e-10 * (1 + abs(rhs)), (lhs, rhs)


def test_check_grads_order_two():
    """Real-valued compositions of every kind (RFFT/IRFFT/FFT/IFFT and their transposes),
    forward and reverse to order 2 against finite differences in float64."""
    rng = np.random.default_rng(4)
    x = rng.standard_normal((3, 6))
    resample = lambda a: fnp.fft.irfft(fnp.fft.rfft(a) * 0.5, n=9) ** 2
    half = lambda a: fnp.fft.irfft(fnp.fft.fft(a)[..., :4], n=6) * a
    both = lambda a: fnp.fft.irfft2(fnp.fft.ifft2(a), s=(3, 5)) * fnp.fft.hfft(
        fnp.fft.ihfft(a, axis=0), n=3, axis=0)[:, :5]
    for f in (resample, half, both):
        check_grads(f, (x,), order=2, modes=("fwd", "rev"))


def test_check_grads_complex_inputs():
    """Complex128 inputs, order 2, both modes."""
    rng = np.random.default_rng(7)
    z = _crandn(rng, (3, 5))
    for f in (fnp.fft.fft, lambda a: fnp.fft.ifft2(a, s=(2, 6)),
              lambda a: fnp.fft.irfft(a, n=7),
              lambda a: fnp.fft.hfft(a) * fnp.fft.irfft(a, norm="ortho")):
        check_grads(f, (z,), order=2, modes=("fwd", "rev"))


def test_grad_of_a_real_loss_is_jaxs_conjugate_convention(x64):
    """grad of a real f of complex z is df/dx - i df/dy (JAX's convention), checked by
    central differences."""
    rng = np.random.default_rng(8)
    z = _crandn(rng, (2, 6))
    w = _crandn(rng, (2, 6))
    loss = lambda a: fnp.sum(fnp.real(fnp.fft.fft(a) * w) ** 2)
    g = np.asarray(fg.grad(loss)(z))
    f = lambda a: float(np.sum(np.real(np.fft.fft(a) * w) ** 2))
    eps = 1e-6
    for idx in [(0, 0), (1, 3), (0, 5)]:
        e = np.zeros_like(z)
        e[idx] = eps
        dx = (f(z + e) - f(z - e)) / (2 * eps)
        dy = (f(z + 1j * e) - f(z - 1j * e)) / (2 * eps)
        assert abs(g[idx] - (dx - 1j * dy)) < 1e-5 * (1 + abs(dx) + abs(dy)), (idx, g[idx])


def test_grad_under_jit_on_the_c_backend(x64):
    x = np.random.default_rng(5).standard_normal((4, 10))
    loss = lambda a: fnp.sum(fnp.fft.irfft(fnp.fft.rfft(a) * 2.0, n=12) ** 2)
    want = fg.grad(loss)(x)
    got = fg.jit(fg.grad(loss), backend="c")(x)
    np.testing.assert_allclose(np.asarray(got), np.asarray(want), rtol=1e-10, atol=1e-10)


# --- vmap ------------------------------------------------------------------------------

def test_vmap_matches_a_loop():
    rng = np.random.default_rng(6)
    xs = _crandn(rng, (5, 3, 4), np.complex64)
    rs = rng.standard_normal((3, 4, 5)).astype(np.float32)
    got = fg.vmap(lambda a: fnp.fft.fft2(a))(xs)
    np.testing.assert_allclose(got, np.stack([np.fft.fft2(a) for a in xs]), atol=1e-4)
    # batch axis last: moved to the front before the transform of trailing axes
    got = fg.vmap(lambda a: fnp.fft.rfft(a, axis=-1), in_axes=2)(rs)
    want = np.stack([np.fft.rfft(rs[..., i]) for i in range(5)])
    np.testing.assert_allclose(got, want, atol=1e-4)
    got = fg.vmap(lambda a: lax.fft(a, "irfft", (6,)), in_axes=1)(xs)
    want = np.stack([np.fft.irfft(xs[:, i], 6) for i in range(3)])
    np.testing.assert_allclose(got, want, atol=1e-4)


# --- errors ----------------------------------------------------------------------------

def test_errors_name_the_op_the_operand_and_the_fix():
    c = fnp.ones((2, 4), fnp.complex64)
    r = fnp.ones((2, 4))
    with pytest.raises(TypeError, match=r"fft\[FFT.*float32\(2, 4\).*astype\(complex64\)"):
        lax.fft(r, lax.FftType.FFT, (4,))
    with pytest.raises(TypeError, match=r"trailing axes \(4,\) must equal fft_lengths"):
        lax.fft(c, "fft", (5,))
    with pytest.raises(TypeError, match=r"RFFT takes a float32 or float64"):
        lax.fft(c, "rfft", (4,))
    with pytest.raises(TypeError, match=r"IRFFT to lengths \(8,\) takes trailing axes \(5,\)"):
        lax.fft(c, "irfft", (8,))
    with pytest.raises(TypeError, match="fft_type must be one of"):
        lax.fft(c, "dct", (4,))
    with pytest.raises(ValueError, match='invalid norm value .*"backward", "ortho"'):
        fnp.fft.fft(c, norm="unitary")
    with pytest.raises(ValueError, match="invalid number of data points"):
        fnp.fft.fft(c, n=0)
    with pytest.raises(TypeError, match="rfft: takes a real array"):
        fnp.fft.rfft(c)
    with pytest.raises(ValueError, match="repeated axes"):
        fnp.fft.fftn(c, axes=(1, 1))
    with pytest.raises(ValueError, match="every fft length must be at least 1"):
        lax.fft(fnp.ones((2, 0), fnp.complex64), "fft", (0,))
    assert lax.FftType.RFFT == 2 and repr(lax.FftType.IRFFT) == "FftType.IRFFT"


def test_empty_batch_and_length_one():
    assert fnp.fft.fft(np.zeros((0, 4), np.complex64)).shape == (0, 4)
    # an empty transformed axis: JAX returns the empty array (NumPy raises); rfft raises
    for f in (fnp.fft.fft, fnp.fft.ifft, fnp.fft.fft2, fnp.fft.fftn, fg.jit(fnp.fft.fft)):
        out = f(np.zeros((2, 0), np.float32))
        assert out.shape == (2, 0) and out.dtype == np.complex64
    with pytest.raises(ValueError, match="rfft: invalid number of data points"):
        fnp.fft.rfft(np.zeros((2, 0), np.float32))
    assert fnp.fft.rfft(np.zeros((3, 0, 5), np.float32)).shape == (3, 0, 3)
    x = np.array([[2.5], [-1.0]], np.float32)
    np.testing.assert_allclose(fnp.fft.irfft(fnp.fft.rfft(x), n=1), x)
    np.testing.assert_allclose(fnp.fft.fft(x), x.astype(np.complex64))
