"""Imports of `jax.lax.linalg` as a module (`from jax.lax.linalg import ...`), as library
code that wants the LAPACK-level factorisations writes them: `cholesky` and
`triangular_solve` for a whitening step, `qr` and `eigh`."""
import jax.numpy as jnp
from jax.lax.linalg import cholesky, eigh, qr, triangular_solve


def run():
    a = jnp.array([[4.0, 1.0, 0.5], [1.0, 3.0, 0.2], [0.5, 0.2, 2.0]])
    b = jnp.array([[1.0], [2.0], [3.0]])
    chol = cholesky(a)
    w = triangular_solve(chol, b, left_side=True, lower=True)
    q, r = qr(a)
    v, evals = eigh(a)
    return {"chol": chol, "whitened": w, "r_diag_abs": jnp.abs(jnp.diagonal(r)),
            "evals": evals}


if __name__ == "__main__":
    print(run())
