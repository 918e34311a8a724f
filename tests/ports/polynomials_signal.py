"""Polynomials and 1-D signal processing with `jax.numpy`: `polyfit` (weighted, full
output), `polyval`, `polyder`, `polyint`, `polyadd`, `polymul`, `polydiv`, `poly` from
roots, `jnp.convolve`/`jnp.correlate` of complex and integer signals, `interp` with
`left`/`right` and `period`, `jnp.gradient` with spacing, `trapezoid`, `cumsum`/`cumprod`
with `dtype`, `cumulative_sum(include_initial=)`, `diff` with `prepend`/`append`,
`histogram` with `weights`/`density` and `histogram2d`, `digitize(right=True)`,
`bincount(weights=, length=)`, windows (`hanning`, `hamming`, `blackman`, `kaiser`) and the
gradient of a polynomial fit's residual with respect to the data."""
import jax
import jax.numpy as jnp
from jax import random


def fit_residual(y, x):
    coeffs = jnp.polyfit(x, y, 2)
    return jnp.sum((jnp.polyval(coeffs, x) - y) ** 2)


def run():
    key = random.PRNGKey(11)
    x = jnp.linspace(-1.0, 1.0, 12)
    y = 0.5 * x ** 3 - x + 0.2 + 0.05 * random.normal(key, (12,))
    c3 = jnp.polyfit(x, y, 3)
    w = jnp.linspace(0.5, 1.5, 12)
    cw = jnp.polyfit(x, y, 2, w=w)
    cfull, resid, rank, sv, rcond = jnp.polyfit(x, y, 2, full=True)
    p = jnp.array([1.0, -3.0, 2.0])
    q = jnp.array([2.0, 1.0])
    qd, rd = jnp.polydiv(jnp.array([1.0, -6.0, 11.0, -6.0]), jnp.array([1.0, -1.0]))
    sig = jnp.array([1.0, 2.0 + 1j, -1j, 0.5])
    ker = jnp.array([1.0, 0.5j, -1.0])
    ii = jnp.array([3, 1, 4, 1, 5])
    xp = jnp.array([0.0, 1.0, 2.0, 4.0])
    fp = jnp.array([1.0, 3.0, 2.0, 0.0])
    xq = jnp.array([-1.0, 0.0, 0.5, 3.0, 4.0, 5.0])
    data = jnp.array([0.1, 0.4, 0.45, 0.9, 1.0, 0.0, 0.7, 0.7])
    hist, edges = jnp.histogram(data, bins=4, range=(0.0, 1.0), weights=jnp.arange(8.0))
    dens, _ = jnp.histogram(data, bins=jnp.array([0.0, 0.2, 0.5, 1.0]), density=True)
    h2, _, _ = jnp.histogram2d(data, data[::-1], bins=3)
    t = jnp.linspace(0.0, 2.0, 7)
    return {
        "polyfit3": c3,
        "polyfit_weighted": cw,
        "polyfit_full": jnp.concatenate([cfull, resid, sv]),
        "polyfit_rank": rank,
        "polyval": jnp.polyval(c3, jnp.array([-2.0, 0.0, 0.3, 2.0])),
        "polyval_int": jnp.polyval(jnp.array([1, 2, 3]), jnp.array([2, -1])),
        "polyder": jnp.polyder(jnp.array([1.0, 2.0, 3.0, 4.0]), m=2),
        "polyint": jnp.polyint(p, k=5.0),
        "polyadd": jnp.polyadd(p, q),
        "polysub": jnp.polysub(q, p),
        "polymul": jnp.polymul(p, q),
        "polydiv_q": qd,
        "polydiv_r": rd,
        "poly": jnp.poly(jnp.array([1.0, 2.0, -3.0])),
        "convolve_full_re": jnp.real(jnp.convolve(sig, ker)),
        "convolve_full_im": jnp.imag(jnp.convolve(sig, ker)),
        "correlate_same_re": jnp.real(jnp.correlate(sig, ker, mode="same")),
        "correlate_same_im": jnp.imag(jnp.correlate(sig, ker, mode="same")),
        "convolve_int": jnp.convolve(ii, jnp.array([1, -1]), mode="valid"),
        "correlate_int_full": jnp.correlate(ii, jnp.array([2, 0, 1]), mode="full"),
        "interp": jnp.interp(xq, xp, fp),
        "interp_lr": jnp.interp(xq, xp, fp, left=-1.0, right=9.0),
        "interp_period": jnp.interp(jnp.array([-1.0, 4.5, 9.0]), xp, fp, period=5.0),
        "interp_grad": jax.grad(lambda v: jnp.sum(jnp.interp(xq, xp, v)))(fp),
        "gradient": jnp.gradient(y[:6]),
        "gradient_spacing": jnp.gradient(y[:6], 0.5),
        "gradient_coords": jnp.gradient(y[:6], x[:6] ** 2),
        "gradient_2d": jnp.stack(jnp.gradient(jnp.outer(fp, fp))),
        "trapezoid": jnp.trapezoid(y, x),
        "trapezoid_dx": jnp.trapezoid(fp, dx=0.5),
        "cumsum_int8_dtype": jnp.cumsum(jnp.array([100, 100, 100], dtype=jnp.int8),
                                        dtype=jnp.int16),
        "cumprod_float": jnp.cumprod(jnp.array([1, 2, 3, 4]), dtype=jnp.float32),
        "cumulative_sum": jnp.cumulative_sum(jnp.array([[1, 2], [3, 4]]), axis=1,
                                             include_initial=True),
        "cumprod_grad": jax.grad(lambda v: jnp.sum(jnp.cumprod(v)))(jnp.array([1.0, 2.0, 0.0,
                                                                               3.0])),
        "diff_prepend": jnp.diff(ii, prepend=0, append=jnp.array([10, 20])),
        "ediff1d": jnp.ediff1d(ii, to_begin=jnp.array([-1]), to_end=99),
        "hist_weighted": hist,
        "hist_edges": edges,
        "hist_density": dens,
        "histogram2d": h2,
        "histogram_bin_edges": jnp.histogram_bin_edges(data, bins=3),
        "digitize": jnp.digitize(data, jnp.array([0.0, 0.45, 0.7, 1.0])),
        "digitize_right": jnp.digitize(data, jnp.array([0.0, 0.45, 0.7, 1.0]), right=True),
        "digitize_desc": jnp.digitize(data, jnp.array([1.0, 0.5, 0.0])),
        "bincount_w": jnp.bincount(ii, weights=jnp.arange(5.0), length=7),
        "bincount_minlength": jnp.bincount(ii, minlength=3, length=6),
        "windows": jnp.stack([jnp.hanning(5), jnp.hamming(5), jnp.blackman(5), jnp.bartlett(5),
                              jnp.kaiser(5, 3.0)]),
        "sinc": jnp.sinc(jnp.array([0.0, 0.5, 1.0, -2.5])),
        "sinc_grad": jax.vmap(jax.grad(jnp.sinc))(jnp.array([0.0, 0.5, 1.0])),
        "unwrap": jnp.unwrap(jnp.array([0.0, 3.0, 6.5, -6.0, 0.1])),
        "fit_grad": jax.grad(fit_residual)(y, x),
        "moving_average": jnp.convolve(y, jnp.ones(3) / 3, mode="valid"),
        "vander": jnp.vander(t[:4], 3, increasing=True),
    }


if __name__ == "__main__":
    print(run())
