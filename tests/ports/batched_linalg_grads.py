"""Batched linear algebra and its gradients, written as JAX's `jax.numpy.linalg` pages write
it: `det`/`slogdet` (both methods, 'lu' and 'qr') of a stack of matrices with gradients,
`inv`, `solve` with a batch of right-hand matrices and a broadcast matrix, `qr` in every
mode, `eigh` with `UPLO='U'` on a non-symmetric input, `svd` with `full_matrices`, `pinv`
with `rtol` and `hermitian=True`, `matrix_power` with negative and integer exponents,
`lstsq` of a rank-deficient system, the nuclear and spectral norms over given axes, and
`vmap` over a non-leading batch axis (`in_axes=2`, `out_axes=-1`)."""
import jax
import jax.numpy as jnp


def run():
    k1, k2, k3 = jax.random.split(jax.random.PRNGKey(0), 3)
    a = jax.random.normal(k1, (3, 4, 4)) + 3.0 * jnp.eye(4)
    spd = a @ jnp.swapaxes(a, -1, -2) + jnp.eye(4)
    rhs = jax.random.normal(k2, (3, 4, 2))
    tall = jax.random.normal(k3, (2, 5, 3))
    deficient = jnp.array([[1.0, 1.0], [1.0, 1.0], [0.0, 0.0]])
    stacked_last = jnp.moveaxis(a, 0, -1)              # (4, 4, 3): batch on the last axis

    def logdet_loss(m):
        sign, logabs = jnp.linalg.slogdet(m)
        return jnp.sum(sign * logabs)

    return {
        "det": jnp.linalg.det(a),
        "det_grad": jax.grad(lambda m: jnp.sum(jnp.linalg.det(m)))(a),
        "det_grad_singular": jax.grad(jnp.linalg.det)(jnp.array([[1.0, 2.0], [2.0, 4.0]])),
        "slogdet_sign": jnp.linalg.slogdet(a)[0],
        "slogdet_logabs": jnp.linalg.slogdet(a)[1],
        "slogdet_qr_logabs": jnp.linalg.slogdet(a, method="qr")[1],
        "slogdet_qr_sign": jnp.linalg.slogdet(-a[:, :3, :3], method="qr")[0],
        "slogdet_grad": jax.grad(logdet_loss)(a),
        "inv_grad": jax.grad(lambda m: jnp.sum(jnp.linalg.inv(m)[:, 0, 1]))(a),
        "solve_batched": jnp.linalg.solve(a, rhs),
        "solve_broadcast_matrix": jnp.linalg.solve(a[0], rhs),
        "solve_grads": jax.grad(lambda m, b: jnp.sum(jnp.linalg.solve(m, b) ** 2),
                                argnums=(0, 1))(a, rhs)[1],
        "qr_r_abs": jnp.abs(jnp.linalg.qr(tall)[1]),
        "qr_mode_r_abs": jnp.abs(jnp.linalg.qr(tall, mode="r")),
        "qr_complete_product": (lambda q, r: q @ r)(*jnp.linalg.qr(tall, mode="complete")),
        "qr_wide_r_abs": jnp.abs(jnp.linalg.qr(jnp.swapaxes(tall, 1, 2))[1]),
        "eigh_values": jnp.linalg.eigh(spd)[0],
        "eigh_upper_of_nonsymmetric": jnp.linalg.eigh(spd + jnp.triu(jnp.ones((4, 4)), 1),
                                                      UPLO="U")[0],
        "eigvalsh_upper": jnp.linalg.eigvalsh(spd + 5.0 * jnp.tril(jnp.ones((4, 4)), -1),
                                              UPLO="U"),
        "eigh_top_grad": jax.grad(lambda s: jnp.sum(jnp.linalg.eigh(s)[0][:, -1]))(spd),
        "svd_values": jnp.linalg.svd(tall, compute_uv=False),
        "svd_full_reconstruct": (lambda u, s, vt: (u[..., :3] * s[..., None, :]) @ vt)(
            *jnp.linalg.svd(tall, full_matrices=True)),
        "svd_values_grad": jax.grad(lambda m: jnp.sum(jnp.linalg.svd(m, compute_uv=False)))(tall),
        "pinv": jnp.linalg.pinv(tall),
        "pinv_rtol": jnp.linalg.pinv(jnp.array([[1.0, 0.0], [0.0, 1e-3]]), rtol=1e-2),
        "pinv_hermitian": jnp.linalg.pinv(spd, hermitian=True),
        "matrix_power_negative": jnp.linalg.matrix_power(a, -2),
        "matrix_power_int8": jnp.linalg.matrix_power(jnp.array([[1, 1], [1, 0]], jnp.int8), 12),
        "lstsq_rank_deficient": jnp.linalg.lstsq(deficient, jnp.array([1.0, 2.0, 3.0]))[0],
        "lstsq_rank": jnp.linalg.lstsq(deficient, jnp.array([1.0, 2.0, 3.0]))[2],
        "lstsq_grad": jax.grad(lambda m: jnp.sum(jnp.linalg.lstsq(m, jnp.arange(5.0))[0]))(
            tall[0]),
        "norm_nuclear": jnp.linalg.norm(tall, ord="nuc", axis=(-2, -1)),
        "norm_spectral_keepdims": jnp.linalg.norm(tall, ord=2, axis=(1, 2), keepdims=True),
        "norm_min_singular_swapped_axes": jnp.linalg.norm(tall, ord=-2, axis=(2, 1)),
        "vmap_inv_last_axis": jax.vmap(jnp.linalg.inv, in_axes=2, out_axes=-1)(stacked_last),
        "vmap_slogdet_last_axis": jax.vmap(lambda m: jnp.linalg.slogdet(m)[1], in_axes=2)(
            stacked_last),
    }


if __name__ == "__main__":
    print(run())
