"""NumPy's "along an axis" helpers as JAX implements them: `jnp.apply_along_axis` with a
function that returns a scalar, a vector or a matrix, applied along the first, a middle, the
last or a negative axis (the function's output dimensions replace the axis, where it was),
with extra positional and keyword arguments; `jnp.pad` with a callable mode on 2-D arrays
(applied along each axis in turn); `jnp.apply_over_axes`; `jnp.take_along_axis` and
`jnp.put_along_axis` along an axis and over the flattened array (`axis=None`), with
`argsort` indices and `mode`; and `jnp.vectorize` with gufunc signatures."""
import jax
import jax.numpy as jnp


def summary(row):
    return jnp.array([row.min(), row.max(), row.sum()])


def normalise(row, eps, *, power=1.0):
    return (row - row.mean()) / (row.std() + eps) ** power


def mark_edges(vector, pad_width, iaxis, kwargs):
    # numpy.pad's callable protocol: fill the padded ends of each 1-D slice, return it
    lo, hi = pad_width
    vector = vector.at[:lo].set(10.0 * (iaxis + 1))
    return vector.at[vector.shape[0] - hi:].set(-10.0 * (iaxis + 1)) if hi else vector


def run():
    key = jax.random.PRNGKey(7)
    m = jax.random.normal(key, (3, 4))
    t = jnp.arange(24.0).reshape(2, 3, 4)
    order = jnp.argsort(m, axis=1)
    top = jnp.argmax(m, axis=0, keepdims=True)

    @jnp.vectorize
    def clipped_square(v):
        return jnp.minimum(v * v, 2.0)

    matvec = jnp.vectorize(lambda a, x: a @ x, signature="(n,k),(k)->(n)")
    stats = jnp.vectorize(lambda r: (r.mean(), r.max()), signature="(n)->(),()")
    mean, peak = stats(t)

    return {
        "apply_scalar_axis0": jnp.apply_along_axis(jnp.sum, 0, m),
        "apply_scalar_last": jnp.apply_along_axis(jnp.max, -1, t),
        "apply_vector_axis1": jnp.apply_along_axis(summary, 1, m),
        "apply_vector_axis0": jnp.apply_along_axis(summary, 0, m),
        "apply_vector_middle": jnp.apply_along_axis(lambda r: r[:2] * 2.0, 1, t),
        "apply_vector_negative": jnp.apply_along_axis(lambda r: jnp.cumsum(r)[::2], -2, t),
        "apply_matrix_axis0": jnp.apply_along_axis(lambda r: jnp.outer(r, r[:2]), 0, m),
        "apply_matrix_last": jnp.apply_along_axis(lambda r: jnp.outer(r, r[:2]), 1, m),
        "apply_with_args": jnp.apply_along_axis(normalise, 0, m, 1e-3, power=2.0),
        "apply_grad": jax.grad(lambda x: jnp.sum(jnp.apply_along_axis(summary, 0, x) ** 2))(m),
        "pad_callable_2d": jnp.pad(jnp.arange(6.0).reshape(2, 3), 1, mode=mark_edges),
        "pad_callable_uneven": jnp.pad(jnp.arange(6.0).reshape(3, 2), ((1, 0), (0, 2)),
                                       mode=mark_edges),
        "apply_over_axes": jnp.apply_over_axes(jnp.sum, t, [0, 2]),
        "take_along_sorted": jnp.take_along_axis(m, order, axis=1),
        "take_along_flat": jnp.take_along_axis(m, jnp.array([11, 0, 5]), axis=None),
        "take_along_broadcast": jnp.take_along_axis(m, top, axis=0),
        "put_along_axis1": jnp.put_along_axis(m, order[:, :1], 0.0, axis=1, inplace=False),
        "put_along_axis0_values": jnp.put_along_axis(m, top, jnp.array([[1.0, 2.0, 3.0, 4.0]]),
                                                     axis=0, inplace=False),
        "put_along_flat": jnp.put_along_axis(m, jnp.array([0, 11, 5]), 7.0, axis=None,
                                             inplace=False),
        "put_along_drop": jnp.put_along_axis(m, jnp.array([[0, 7], [1, 1], [-1, 2]]),
                                             jnp.array([[10.0], [20.0], [30.0]]), axis=-1,
                                             inplace=False, mode="drop"),
        "vectorize_elementwise": clipped_square(m),
        "vectorize_matvec": matvec(jnp.ones((3, 2, 4)), jnp.arange(4.0)),
        "vectorize_two_outputs_mean": mean,
        "vectorize_two_outputs_peak": peak,
        "vectorize_broadcast_core": jnp.vectorize(lambda a, b: jnp.dot(a, b),
                                                  signature="(k),(k)->()")(jnp.ones((2, 1, 4)), m),
    }


if __name__ == "__main__":
    print(run())
