"""Polynomial regression by least squares: a Vandermonde design matrix, `jnp.linalg.lstsq`
against the pseudo-inverse and the normal equations, ridge regression for several penalties
under `vmap`, the rank and condition of the design, and the matrix norms that bound the
error (`ord=2`, `"nuc"`, `1`, `inf`, Frobenius)."""
import jax
import jax.numpy as jnp
from jax import random


def ridge(x, y, penalty):
    n = x.shape[1]
    return jnp.linalg.solve(x.T @ x + penalty * jnp.eye(n), x.T @ y)


def run():
    key = random.PRNGKey(77)
    t = jnp.linspace(-1.0, 1.0, 20)
    y = 0.5 - t + 2.0 * t ** 3 + 0.05 * random.normal(key, t.shape)
    design = jnp.vander(t, 4, increasing=True)

    coef, residuals, rank, sv = jnp.linalg.lstsq(design, y)
    coef_pinv = jnp.linalg.pinv(design) @ y
    coef_normal = jnp.linalg.solve(design.T @ design, design.T @ y)
    ridge_path = jax.vmap(ridge, in_axes=(None, None, 0))(design, y, jnp.array([0.0, 0.1, 1.0]))
    fit = design @ coef
    multi, multi_res, _, _ = jnp.linalg.lstsq(design, jnp.stack([y, 2.0 * y], axis=1))
    return {
        "design_row": design[3],
        "coef": coef,
        "residuals": residuals,
        "rank": rank,
        "singular_values": sv,
        "coef_pinv": coef_pinv,
        "coef_normal": coef_normal,
        "ridge_path": ridge_path,
        "rms_error": jnp.sqrt(jnp.mean((fit - y) ** 2)),
        "multi_coef": multi,
        "multi_residuals": multi_res,
        "rank_deficient": jnp.linalg.matrix_rank(jnp.concatenate([design, design[:, :1]], 1)),
        "condition": jnp.linalg.cond(design),
        "norms": jnp.stack([jnp.linalg.norm(design, ord=2), jnp.linalg.norm(design, "nuc"),
                            jnp.linalg.norm(design, ord=1), jnp.linalg.norm(design, jnp.inf),
                            jnp.linalg.norm(design, "fro")]),
    }


if __name__ == "__main__":
    print(run())
