"""Complex analysis in double precision (`jax.enable_x64(True)`, so complex128): contour
integrals by the trapezoid rule on a circle (residues of a rational function, Cauchy's
formula for a derivative, the argument principle counting zeros inside the contour,
rounded to integers), Newton's method in the complex plane from a grid of starting points
(`vmap` of `fori_loop`; basin labels by `argmin` over the roots), `jax.grad(...,
holomorphic=True)` and `jacfwd` of analytic functions against the exact derivatives, the
gradient of a real loss of complex parameters (JAX's conjugate convention), branch cuts of
`log`/`sqrt`/`power`/`arctan` on the negative real axis with signed zeros, `angle` with
`deg=True`, `unwrap` with `period=` and `discont=`, complex128 `eigh`/`solve`/`det`, and
the complex dtypes that mixing Python complex scalars with float32/float64 gives."""
import jax
import jax.numpy as jnp
from jax import lax


def f_rational(z):
    return (z ** 2 + 1.0) / ((z - 0.5) * (z + 0.3j) * (z - 2.0))


def contour_integral(fun, center, radius, n=256):
    theta = jnp.linspace(0.0, 2.0 * jnp.pi, n, endpoint=False)
    z = center + radius * jnp.exp(1j * theta)
    dz = 1j * radius * jnp.exp(1j * theta)
    return jnp.sum(fun(z) * dz) * (2.0 * jnp.pi / n)


def poly(z):
    return z ** 3 - 1.0


def dpoly(z):
    return 3.0 * z ** 2


def newton(z0):
    return lax.fori_loop(0, 40, lambda i, z: z - poly(z) / dpoly(z), z0)


def run():
    with jax.enable_x64(True):
        res_inside = contour_integral(f_rational, 0.0, 1.0) / (2j * jnp.pi)
        res_all = contour_integral(f_rational, 0.0, 3.0) / (2j * jnp.pi)
        exact_inside = ((0.5 ** 2 + 1) / ((0.5 + 0.3j) * (0.5 - 2.0))
                        + ((-0.3j) ** 2 + 1) / ((-0.3j - 0.5) * (-0.3j - 2.0)))
        cauchy_d2 = 2.0 / (2j * jnp.pi) * contour_integral(lambda z: jnp.exp(z) / (z - 0.2) ** 3,
                                                          0.0, 1.0)
        q = lambda z: (z - 0.5) * (z + 0.5j) ** 2 * (z - 3.0)
        dq = jax.vmap(jax.grad(q, holomorphic=True))
        zeros_r1 = contour_integral(lambda z: dq(z) / q(z), 0.0, 1.0) / (2j * jnp.pi)
        zeros_r4 = contour_integral(lambda z: dq(z) / q(z), 0.0, 4.0) / (2j * jnp.pi)

        xs = jnp.linspace(-1.5, 1.5, 7)
        grid = (xs[None, :] + 1j * xs[:, None]).ravel()
        grid = jnp.where(grid == 0, 0.1 + 0.1j, grid)
        final = jax.vmap(newton)(grid)
        roots = jnp.exp(2j * jnp.pi * jnp.arange(3) / 3)
        basin = jnp.argmin(jnp.abs(final[:, None] - roots[None, :]), axis=1)

        g = lambda z: jnp.sin(z) * jnp.exp(z ** 2)
        pts = jnp.array([0.3 + 0.2j, -1.0 + 0.5j, 2.0 - 1.0j])
        dg = jax.vmap(jax.grad(g, holomorphic=True))(pts)
        dg_exact = jnp.cos(pts) * jnp.exp(pts ** 2) + 2 * pts * g(pts)
        jac = jax.jacfwd(lambda z: jnp.stack([z ** 2, jnp.log(z)]), holomorphic=True)(1.0 + 1.0j)

        w = jnp.array([1.0 + 2.0j, -0.5 + 0.1j])
        loss = lambda w: jnp.sum(jnp.abs(w * jnp.array([2.0 - 1.0j, 1.0j]) - 1.0) ** 2)
        gw = jax.grad(loss)(w)

        axis = lax.complex(jnp.array([-4.0, -4.0, -0.25, -0.25]),
                           jnp.array([0.0, -0.0, 0.0, -0.0]))
        phase = jnp.array([0.0, 2.5, 5.0, -1.5, 1.0, 4.0, 7.5])
        h = jnp.array([[2.0, 1.0 - 1.0j, 0.5j], [1.0 + 1.0j, 3.0, -0.2], [-0.5j, -0.2, 1.0]])
        evals, evecs = jnp.linalg.eigh(h)
        rhs = jnp.array([1.0, 1.0j, -1.0])
        sol = jnp.linalg.solve(h, rhs)
        det = jnp.linalg.det(h + 1j * jnp.eye(3))
        f32 = jnp.ones(2, jnp.float32)
        return {
            "res_inside_re": jnp.real(res_inside),
            "res_inside_im": jnp.imag(res_inside),
            "res_inside_err": jnp.abs(res_inside - exact_inside) < 1e-12,
            "res_all": jnp.stack([jnp.real(res_all), jnp.imag(res_all)]),
            "cauchy_d2": jnp.stack([jnp.real(cauchy_d2), jnp.imag(cauchy_d2)]),
            "cauchy_d2_err": jnp.abs(cauchy_d2 - jnp.exp(0.2)) < 1e-12,
            "zeros_r1": jnp.round(jnp.real(zeros_r1)).astype(jnp.int32),
            "zeros_r4": jnp.round(jnp.real(zeros_r4)).astype(jnp.int32),
            "zeros_r4_imag_small": jnp.abs(jnp.imag(zeros_r4)) < 1e-10,
            "basin": basin,
            "newton_re": jnp.real(final[::5]),
            "newton_im": jnp.imag(final[::5]),
            "dg_re": jnp.real(dg),
            "dg_im": jnp.imag(dg),
            "dg_err": jnp.max(jnp.abs(dg - dg_exact)) < 1e-10,
            "jac_re": jnp.real(jac),
            "jac_im": jnp.imag(jac),
            "grad_conj_re": jnp.real(gw),
            "grad_conj_im": jnp.imag(gw),
            "log_branch": jnp.stack([jnp.real(jnp.log(axis)), jnp.imag(jnp.log(axis))]),
            "sqrt_branch": jnp.stack([jnp.real(jnp.sqrt(axis[::2])), jnp.imag(jnp.sqrt(axis[::2]))]),
            "power_branch": jnp.imag(axis ** 0.5),
            "arctan_branch": jnp.real(jnp.arctan(lax.complex(jnp.array([0.0, -0.0, 0.0]),
                                                                jnp.array([2.0, 2.0, 0.5])))),
            "angle_deg": jnp.angle(jnp.array([1.0 + 1.0j, -1.0 + 0.0j, -1.0 - 0.0j, -1j]),
                                   deg=True),
            "unwrap": jnp.unwrap(phase),
            "unwrap_period": jnp.unwrap(jnp.array([0.0, 5.0, 10.0, 2.0, 7.0]), period=8.0),
            "unwrap_discont": jnp.unwrap(phase, discont=4.0),
            "eigh": evals,
            "eigvec_abs": jnp.abs(evecs[:, 0]),
            "solve_re": jnp.real(sol),
            "solve_im": jnp.imag(sol),
            "det": jnp.stack([jnp.real(det), jnp.imag(det)]),
            "dtypes": " ".join(str(a.dtype) for a in (
                res_inside, final, jac, gw, evals, evecs, sol, f32 * 1j, f32 + 1j * f32,
                jnp.ones(2) * 1j, jnp.angle(f32), jnp.abs(f32 * 1j), jnp.real(final),
                jnp.asarray(1 + 2j), (f32 * 1j).conj(), jnp.fft.fft(f32))),
        }


if __name__ == "__main__":
    print(run())
