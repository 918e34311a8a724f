"""Finite-difference methods on grids, as numerical-PDE code writes them with `jax.numpy`:
`jnp.gradient` with uniform and non-uniform coordinate arrays per axis and `axis=` (one
axis and a tuple), `jnp.diff` with `n=2`/`n=3` along each axis, periodic stencils with `jnp.roll` (tuple shifts and axes), Dirichlet stencils with interior slices
and `lax.pad` with negative padding (cropping), a 2-D Laplacian on a `meshgrid` in both
`indexing` modes and on `mgrid`/`ogrid`, the explicit heat equation in `lax.scan`, a
Jacobi solver for Poisson's equation in `lax.while_loop` with a residual tolerance (the
iteration count), upwind advection with `jnp.where`, a fourth-order stencil with
`jnp.convolve(mode="same")`, composite trapezoid/Simpson rules on 2-D grids
(`jnp.trapezoid` with `x=` and `dx=` per axis), Richardson extrapolation of a central
difference, and `jax.grad` of a discretised energy against its stencil form."""
import jax
import jax.numpy as jnp
from jax import lax


def laplacian_periodic(u, h):
    return (jnp.roll(u, 1, axis=0) + jnp.roll(u, -1, axis=0) + jnp.roll(u, 1, axis=1)
            + jnp.roll(u, -1, axis=1) - 4.0 * u) / h ** 2


def laplacian_dirichlet(u, h):
    up = lax.pad(u, 0.0, [(-2, 2, 0), (0, 0, 0)])
    down = lax.pad(u, 0.0, [(2, -2, 0), (0, 0, 0)])
    left = lax.pad(u, 0.0, [(0, 0, 0), (-2, 2, 0)])
    right = lax.pad(u, 0.0, [(0, 0, 0), (2, -2, 0)])
    lap = (up + down + left + right)[1:-1, 1:-1] - 4.0 * u[1:-1, 1:-1]
    return lap / h ** 2


def heat(u0, alpha, dt, h, steps):
    def step(u, _):
        u = u + alpha * dt * laplacian_periodic(u, h)
        return u, jnp.sum(u) * h * h
    return lax.scan(step, u0, None, length=steps)


def jacobi_poisson(f, h, tol):
    def cond(c):
        _, res, k = c
        return (res > tol) & (k < 2000)

    def body(c):
        u, _, k = c
        nb = (jnp.roll(u, 1, 0) + jnp.roll(u, -1, 0) + jnp.roll(u, 1, 1) + jnp.roll(u, -1, 1))
        new = (nb - h * h * f) / 4.0
        new = new.at[0, :].set(0.0).at[-1, :].set(0.0).at[:, 0].set(0.0).at[:, -1].set(0.0)
        return new, jnp.max(jnp.abs(new - u)), k + 1
    return lax.while_loop(cond, body, (jnp.zeros_like(f), jnp.inf, 0))


def upwind(u, c, dx, dt, steps):
    def step(u, _):
        back = (u - jnp.roll(u, 1)) / dx
        fwd = (jnp.roll(u, -1) - u) / dx
        return u - dt * jnp.where(c > 0, c * back, c * fwd), None
    return lax.scan(step, u, None, length=steps)[0]


def simpson(y, dx):
    return dx / 3.0 * (y[0] + y[-1] + 4.0 * jnp.sum(y[1:-1:2]) + 2.0 * jnp.sum(y[2:-1:2]))


def run():
    x = jnp.array([0.0, 0.1, 0.3, 0.6, 1.0, 1.5])
    y = jnp.linspace(0.0, 1.0, 5)
    X, Y = jnp.meshgrid(x, y, indexing="ij")
    F = X ** 2 * Y + jnp.sin(Y)
    gx, gy = jnp.gradient(F, x, y)
    gx_only = jnp.gradient(F, x, axis=0)
    g_tuple = jnp.gradient(F, 0.5, axis=(1,))
    g_scalar_pair = jnp.gradient(F, 0.2, 0.25)

    G = jnp.arange(6.0)[:, None] ** 2 * jnp.arange(5.0) ** 3 + x[:, None]
    Xa, Ya = jnp.meshgrid(x, y)
    n = 16
    h = 1.0 / n
    gm = jnp.mgrid[0:n, 0:n] * h
    u = jnp.sin(2 * jnp.pi * gm[0]) * jnp.cos(2 * jnp.pi * gm[1])
    lap = laplacian_periodic(u, h)
    og = jnp.ogrid[0:1:9j, 0:1:9j]
    v = og[0] ** 3 + og[1] ** 2 * og[0]
    lap_d = laplacian_dirichlet(v, 1.0 / 8)

    bump = jnp.exp(-50.0 * ((gm[0] - 0.5) ** 2 + (gm[1] - 0.5) ** 2))
    u_end, mass = heat(bump, 0.1, 0.2 * h * h / 0.1, h, 40)

    f = jnp.ones((10, 10))
    u_p, res, iters = jacobi_poisson(f, 1.0 / 9, 1e-5)

    xs = jnp.linspace(0.0, 1.0, 32, endpoint=False)
    pulse = jnp.where((xs > 0.2) & (xs < 0.4), 1.0, 0.0)
    adv_right = upwind(pulse, 1.0, 1.0 / 32, 0.5 / 32, 16)
    adv_left = upwind(pulse, -1.0, 1.0 / 32, 0.5 / 32, 16)

    t = jnp.linspace(0.0, 2.0, 41)
    s = jnp.exp(-t) * jnp.sin(3 * t)
    st = jnp.array([1.0, -8.0, 0.0, 8.0, -1.0]) / (12 * 0.05)
    d4 = jnp.convolve(s, st, mode="same")

    grid2 = jnp.exp(-(X ** 2) - Y)
    trap_2d = jnp.trapezoid(jnp.trapezoid(grid2, y, axis=1), x)
    trap_dx = jnp.trapezoid(grid2, dx=0.25, axis=-1)
    xx = jnp.linspace(0.0, jnp.pi, 21)
    simp = simpson(jnp.sin(xx), xx[1] - xx[0])

    def central(fun, x0, step):
        return (fun(x0 + step) - fun(x0 - step)) / (2 * step)
    fun = lambda z: jnp.exp(jnp.sin(z))
    d_h = central(fun, 0.7, 0.1)
    d_h2 = central(fun, 0.7, 0.05)
    richardson = (4.0 * d_h2 - d_h) / 3.0

    def energy(u1):
        du = jnp.diff(u1) / 0.1
        return 0.5 * jnp.sum(du ** 2) * 0.1 + jnp.sum(u1 ** 4) * 0.1
    u1 = jnp.sin(jnp.linspace(0.0, 3.0, 12))
    g_energy = jax.grad(energy)(u1)
    stencil = -(jnp.diff(jnp.diff(u1), prepend=0.0, append=0.0)) / 0.1 + 4 * u1 ** 3 * 0.1
    return {
        "grad_x": gx,
        "grad_y": gy,
        "grad_axis0": gx_only,
        "grad_axis_tuple": jnp.stack(g_tuple) if isinstance(g_tuple, (list, tuple)) else g_tuple,
        "grad_scalar_pair": jnp.stack(g_scalar_pair),
        "diff2_axis0": jnp.diff(G, n=2, axis=0),
        "diff2_axis1": jnp.diff(G, n=3, axis=-1),
        "diff_int": jnp.diff(jnp.arange(12).reshape(3, 4) ** 2, n=2, axis=1),
        "meshgrid_xy_shape": jnp.array(Xa.shape),
        "meshgrid_xy": Xa[:2],
        "laplacian_periodic": lap[::4, ::4],
        "laplacian_ratio": lap[3, 5] / u[3, 5],
        "ogrid_shapes": jnp.array([og[0].shape, og[1].shape]),
        "laplacian_dirichlet": lap_d,
        "heat_final": u_end[::3, ::3],
        "heat_mass": mass[::8],
        "jacobi_u": u_p[::3, ::3],
        "jacobi_res": res,
        "jacobi_iters": iters,
        "upwind_right": adv_right,
        "upwind_left": adv_left,
        "stencil4": d4[2:-2:4],
        "trap_2d": trap_2d,
        "trap_dx": trap_dx,
        "simpson": simp,
        "central": jnp.stack([d_h, d_h2, richardson]),
        "grad_energy": g_energy,
        "stencil_energy": stencil,
    }


if __name__ == "__main__":
    print(run())
