"""Jacobians and Hessians (`jacfwd`, `jacrev`, `hessian`), `linearize`, `jvp`/`vjp`,
Hessian-vector products, and Newton's method for a nonlinear system and for minimising the
Rosenbrock function (JAX's "the autodiff cookbook")."""
import jax
import jax.numpy as jnp


def system(x):
    # Three equations, three unknowns; a simple root at (1, 1, 2).
    return jnp.array([
        x[0] ** 2 + x[1] ** 2 + x[2] ** 2 - 6.0,
        jnp.exp(x[0] - 1.0) + x[1] * x[2] - 3.0,
        jnp.sin(x[0] - x[1]) + x[2] ** 3 - 8.0,
    ])


def rosenbrock(x):
    return jnp.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)


def newton_root(f, x0, iterations=8):
    x = x0
    for _ in range(iterations):
        x = x - jnp.linalg.solve(jax.jacfwd(f)(x), f(x))
    return x


@jax.jit
def newton_minimise_step(x):
    g = jax.grad(rosenbrock)(x)
    h = jax.hessian(rosenbrock)(x)
    return x - jnp.linalg.solve(h, g)


def hvp(f, x, v):
    return jax.jvp(jax.grad(f), (x,), (v,))[1]


def run():
    x0 = jnp.array([1.3, 0.7, 1.8])
    j_fwd = jax.jacfwd(system)(x0)
    j_rev = jax.jacrev(system)(x0)
    root = newton_root(system, x0)

    x = jnp.array([-1.2, 1.0, 0.8, 1.1])
    path = [x]
    for _ in range(6):
        x = newton_minimise_step(x)
        path.append(x)

    y, f_jvp = jax.linearize(system, x0)
    v = jnp.array([1.0, -2.0, 0.5])
    out, vjp_fun = jax.vjp(system, x0)
    (cotangent,) = vjp_fun(jnp.array([0.5, 1.0, -1.0]))
    primal, tangent = jax.jvp(rosenbrock, (x0,), (v,))

    def pair(a, b):
        return jnp.sin(a) * b ** 2 + a * b

    return {
        "jac_fwd": j_fwd,
        "jac_rev": j_rev,
        "root": root,
        "residual": jnp.abs(system(root)).max(),
        "hessian_at_start": jax.hessian(rosenbrock)(jnp.array([-1.2, 1.0, 0.8, 1.1])),
        "newton_path": jnp.stack(path),
        "linearize_y": y,
        "linearize_jvp": f_jvp(v),
        "linearize_jvp_2v": f_jvp(2.0 * v),
        "vjp_out": out,
        "vjp_cotangent": cotangent,
        "jvp_primal": primal,
        "jvp_tangent": tangent,
        "hvp": hvp(rosenbrock, x0 + 0.1, v),
        "jacfwd_argnums": jnp.stack(jax.jacfwd(pair, argnums=(0, 1))(1.5, -0.5)),
        "hessian_pair": jnp.array(jax.hessian(pair, argnums=(0, 1))(1.5, -0.5)),
    }


if __name__ == "__main__":
    print(run())
