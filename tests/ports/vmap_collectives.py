"""Collectives over named `vmap` axes, as JAX's parallelism tutorials introduce them
before `pmap`: `lax.psum`/`pmean`/`pmax`/`pmin` with `axis_name`, `lax.axis_index`,
`lax.all_gather` (also `tiled=True` and along an axis), `lax.psum_scatter`, `lax.ppermute`
as a ring shift, nested `vmap` with two axis names and a collective over both (a tuple of
names), `axis_size` without mapped inputs, a softmax normalised across the mapped axis,
a collective inside `grad` and under `jit`, `in_axes` given as a dict prefix, and
`out_axes=None` for a result that does not depend on the mapped axis."""
import jax
import jax.numpy as jnp
from jax import lax


def normalise(x):
    return x / lax.psum(x, "i")


def centred(x):
    return x - lax.pmean(x, "i")


def ring(x, n):
    return lax.ppermute(x, "i", [(j, (j + 1) % n) for j in range(n)])


def run():
    x = jnp.arange(1.0, 9.0).reshape(4, 2)
    grid = jnp.arange(12.0).reshape(3, 4)
    pv = lambda f, **kw: jax.vmap(f, axis_name="i", **kw)  # noqa: E731
    both = jax.vmap(jax.vmap(lambda v: v / lax.psum(v, ("i", "j")), axis_name="j"),
                    axis_name="i")
    inner_only = jax.vmap(jax.vmap(lambda v: v - lax.pmax(v, "j"), axis_name="j"),
                          axis_name="i")
    outer_index = jax.vmap(jax.vmap(lambda v: v * 0 + lax.axis_index("i") * 10
                                    + lax.axis_index("j"), axis_name="j"), axis_name="i")

    def loss(w, xs):
        def per(xi):
            h = jnp.tanh(xi * w)
            return jnp.sum(h - lax.pmean(h, "i")) ** 2
        return jnp.sum(jax.vmap(per, axis_name="i")(xs))

    def softmax_across(logit):
        m = lax.pmax(logit, "i")
        e = jnp.exp(logit - m)
        return e / lax.psum(e, "i")

    params = {"w": jnp.array([1.0, -1.0]), "b": jnp.float32(0.5)}
    return {
        "psum_normalise": pv(normalise)(x),
        "pmean_centred": pv(centred)(x),
        "pmax_pmin": pv(lambda v: jnp.stack([lax.pmax(v, "i"), lax.pmin(v, "i")]))(x),
        "axis_index": pv(lambda v: lax.axis_index("i") + 0 * v.astype(jnp.int32))(x[:, 0]),
        "all_gather": pv(lambda v: lax.all_gather(v, "i"))(x)[1],
        "all_gather_tiled": pv(lambda v: lax.all_gather(v, "i", tiled=True))(x)[2],
        "all_gather_axis1": pv(lambda v: lax.all_gather(v, "i", axis=1))(x)[0],
        "psum_scatter": pv(lambda v: lax.psum_scatter(v, "i"))(jnp.arange(16.0).reshape(4,
                                                                                     4)),
        "psum_scatter_tiled": pv(lambda v: lax.psum_scatter(v, "i", tiled=True))(
            jnp.arange(32.0).reshape(4, 8)),
        "ppermute_ring": pv(lambda v: ring(v, 4))(x),
        "nested_both": both(grid),
        "nested_inner": inner_only(grid),
        "nested_index": outer_index(grid),
        "axis_size": jax.vmap(lambda: lax.psum(1, "i"), axis_name="i", axis_size=5)(),
        "softmax_across": pv(softmax_across)(jnp.array([1.0, 2.0, 3.0, 0.5])),
        "grad_through_pmean": jax.grad(loss)(jnp.float32(0.7), x),
        "jit_psum": jax.jit(pv(normalise))(jnp.array([1.0, 3.0])),
        "in_axes_dict": jax.vmap(lambda p, v: p["w"] * v + p["b"],
                                 in_axes=({"w": 0, "b": None}, 0))(params, jnp.array([2.0, 3.0])),
        "out_axes_none": jax.vmap(lambda v: (v * 2, lax.psum(v, "i")), axis_name="i",
                                  out_axes=(0, None))(jnp.array([1.0, 2.0, 4.0]))[1],
    }


if __name__ == "__main__":
    print(run())
