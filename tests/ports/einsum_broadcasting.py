"""`jnp.einsum` as NumPy defines it, with broadcasting: an ellipsis that stands for batch
dimensions of different ranks and sizes (a size-1 batch against a size-5 one), named
dimensions of size 1 that broadcast against a larger size (a per-row scale written as
'ij,ij->ij' with a (1, n) operand), three operands with broadcasting, and gradients through
them (the gradient of a broadcast operand sums over the broadcast dimension); together with
the einsum forms that do not broadcast: a repeated index (a diagonal and a trace), the
sublist format, integer operands with `preferred_element_type`, a scalar operand and an
output that reorders an ellipsis."""
import jax
import jax.numpy as jnp


def run():
    key = jax.random.PRNGKey(42)
    k1, k2, k3 = jax.random.split(key, 3)
    a = jax.random.normal(k1, (2, 1, 3, 4))
    b = jax.random.normal(k2, (5, 4, 2))
    m = jax.random.normal(k3, (3, 4))
    row_scale = jnp.array([[0.5, -1.0, 2.0, 0.25]])        # (1, 4)
    col_scale = jnp.array([[2.0], [-1.0], [3.0]])          # (3, 1)
    cube = jnp.arange(18.0).reshape(3, 3, 2)

    def bilinear_loss(s):
        return jnp.sum(jnp.einsum("...i,...i->...", s, m) ** 2)

    def batched_matmul_loss(x):
        return jnp.sum(jnp.tanh(jnp.einsum("...ij,...jk->...ik", x, b)))

    return {
        # broadcasting through the ellipsis: (2, 1) batch against (5,)
        "ellipsis_batch_broadcast": jnp.einsum("...ij,...jk->...ik", a, b),
        "ellipsis_size1_dot": jnp.einsum("...i,...i->...", row_scale, m),
        "ellipsis_different_ranks": jnp.einsum("...j,j->...", a, jnp.arange(4.0)),
        "ellipsis_in_middle": jnp.einsum("i...j,j...->i...", jnp.ones((2, 3, 4)),
                                         jnp.arange(12.0).reshape(4, 3)),
        # named dimensions of size 1 broadcast against the other operand
        "named_row_broadcast": jnp.einsum("ij,ij->ij", row_scale, m),
        "named_col_broadcast": jnp.einsum("ij,ij->i", col_scale, m),
        "named_batch_broadcast": jnp.einsum("bij,bjk->bik", jnp.ones((1, 2, 3)),
                                            jnp.arange(24.0).reshape(4, 3, 2)),
        "three_operands_broadcast": jnp.einsum("bi,bi,bi->b", row_scale, m, col_scale),
        # gradients of the broadcast operands
        "grad_row_scale": jax.grad(bilinear_loss)(row_scale),
        "grad_batched_matmul": jax.grad(batched_matmul_loss)(a),
        # forms that do not broadcast
        "diagonal": jnp.einsum("ii->i", m[:, :3]),
        "trace": jnp.einsum("ii", m[:, :3]),
        "repeated_in_output": jnp.einsum("iij->ij", cube),
        "sublist_format": jnp.einsum(m, [0, 1], m, [0, 1], [1]),
        "int8_preferred": jnp.einsum("i,i->", jnp.full(4, 100, jnp.int8), jnp.full(4, 2, jnp.int8),
                                     preferred_element_type=jnp.int32),
        "int8_wraps": jnp.einsum("i,i->", jnp.full(4, 100, jnp.int8), jnp.full(4, 2, jnp.int8)),
        "scalar_operand": jnp.einsum(",i->i", 3.0, m[0]),
        "ellipsis_to_end": jnp.einsum("a...->...a", jnp.arange(24.0).reshape(2, 3, 4)),
        "chain_three": jnp.einsum("ij,jk,kl->il", m, m.T, m),
        "outer_sum": jnp.einsum("i,j->", jnp.arange(3.0), jnp.arange(4.0)),
    }


if __name__ == "__main__":
    print(run())
