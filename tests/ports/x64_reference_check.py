"""Checking a single-precision pipeline against a double-precision reference, as
numerical code does with `jax.enable_x64(True)` scoped to the reference computation: a
float64 reference (a series summed in `lax.fori_loop`, an ODE solution, `expm` of a
generator, a `jnp.linalg.solve`) computed inside the context, the float32 computation
outside it, and the errors measured outside: float64 results mixed with float32 arrays
(`ref - approx` gives float32 under x64-off), reductions of them, `astype` back to
float32, `jnp.stack`, `jnp.asarray` (which keeps float64), a jitted function traced again
when the context changes (float64 inside, float32 outside), and the dtypes on both
sides."""
import jax
import jax.numpy as jnp
import jax.scipy.linalg as jsl
from jax import lax


def exp_series(x, n):
    def body(k, c):
        term, total = c
        term = term * x / k
        return term, total + term
    return lax.fori_loop(1, n, body, (jnp.ones_like(x), jnp.ones_like(x)))[1]


def euler(y0, rate, steps):
    dt = 1.0 / steps
    return lax.fori_loop(0, steps, lambda i, y: y + dt * rate * y, y0)


@jax.jit
def kernel(x):
    return jnp.sin(x) * jnp.exp(-x) + 1.0


def run():
    x = [0.5, 1.0, 2.0, -3.0]
    m = [[2.0, 0.3, 0.0], [0.3, 1.5, -0.2], [0.0, -0.2, 1.0]]
    gen = [[0.0, 1.0], [-2.0, -0.3]]
    with jax.enable_x64(True):
        x64 = jnp.array(x)
        ref_series = exp_series(x64, 30)
        ref_euler = euler(jnp.ones(3), jnp.array([-0.5, 0.1, 1.0]), 4096)
        ref_expm = jsl.expm(jnp.array(gen))
        ref_solve = jnp.linalg.solve(jnp.array(m), jnp.array([1.0, 2.0, 3.0]))
        ref_kernel = kernel(x64)
        worst = jnp.argsort(jnp.abs(x64))
        inside = " ".join(str(a.dtype) for a in (x64, ref_series, ref_expm, ref_kernel))

    x32 = jnp.array(x)
    approx_series = exp_series(x32, 6)
    approx_euler = euler(jnp.ones(3), jnp.array([-0.5, 0.1, 1.0]), 64)
    approx_expm = jsl.expm(jnp.array(gen))
    approx_solve = jnp.linalg.solve(jnp.array(m), jnp.array([1.0, 2.0, 3.0]))
    approx_kernel = kernel(x32)

    err_series = jnp.abs(ref_series - approx_series)
    err_euler = jnp.abs(ref_euler - approx_euler)
    return {
        "ref_series": ref_series,
        "ref_euler": ref_euler,
        "ref_expm": ref_expm,
        "ref_solve": ref_solve,
        "ref_kernel": ref_kernel,
        "err_series_rel": err_series / jnp.abs(ref_series.astype(jnp.float32)),
        "err_euler": err_euler,
        "err_euler_max": jnp.max(err_euler),
        "err_expm_small": jnp.max(jnp.abs(ref_expm - approx_expm)) < 1e-5,
        "err_solve_small": jnp.all(jnp.abs(ref_solve - approx_solve) < 1e-5),
        "kernel_agree": jnp.max(jnp.abs(ref_kernel - approx_kernel)) < 1e-6,
        "stacked": jnp.stack([ref_euler, approx_euler]),
        "asarray_keeps": jnp.asarray(ref_series),
        "sum_ref": jnp.sum(ref_series),
        "ref_plus_one": ref_series + 1.0,
        "where_mixed": jnp.where(ref_series > 2.0, ref_series, 0.0),
        "jit_on_f64": kernel(x64),
        "int64_index": approx_series[worst],
        "inside_dtypes": inside,
        "outside_dtypes": " ".join(str(a.dtype) for a in (
            x32, approx_series, err_series, err_euler, ref_series.astype(jnp.float32),
            jnp.stack([ref_euler, approx_euler]), jnp.asarray(ref_series), jnp.sum(ref_series),
            approx_kernel, jnp.abs(ref_expm), jnp.sqrt(ref_series))),
    }


if __name__ == "__main__":
    print(run())
