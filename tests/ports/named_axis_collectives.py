"""More collectives over named `vmap` axes, as JAX's collective-operations docs use them:
`lax.psum`/`pmean` of a pytree, `all_gather` of a pytree and inside nested `vmap`s with
the outer name, `axis_index` over a named axis with `in_axes`/`out_axes` other than 0,
`psum` over an axis whose body is batched again by an inner unnamed `vmap`, and gradients
through `all_gather`, `psum_scatter` and `ppermute` (a ring all-reduce by hand)."""
import jax
import jax.numpy as jnp
from jax import lax


def ring_allreduce(x, n):
    # n - 1 shifts around the ring, accumulating: the same result as psum
    acc = x
    cur = x
    for _ in range(n - 1):
        cur = lax.ppermute(cur, "d", [(j, (j + 1) % n) for j in range(n)])
        acc = acc + cur
    return acc


def run():
    out = {}
    x = jnp.arange(24.0).reshape(4, 6)
    tree = {"a": jnp.arange(8.0).reshape(4, 2), "b": (jnp.array([1.0, 2.0, 3.0, 4.0]),)}
    summed = jax.vmap(lambda t: lax.psum(t, "d"), axis_name="d")(tree)
    out["psum_tree_a"] = summed["a"]
    out["psum_tree_b"] = summed["b"][0]
    out["pmean_tree_a"] = jax.vmap(lambda t: lax.pmean(t, "d"), axis_name="d")(tree)["a"]
    g = jax.vmap(lambda t: lax.all_gather(t, "d"), axis_name="d")(tree)
    out["all_gather_tree_a"] = g["a"][2]
    out["all_gather_tree_b"] = g["b"][0][1]
    # named axis on a non-leading input axis, result on a non-leading output axis
    out["axis_index_in_axes1"] = jax.vmap(
        lambda v: v * 0 + lax.axis_index("d") * 100 + lax.psum(v, "d"), in_axes=1,
        out_axes=1, axis_name="d")(x)
    # nested: outer named, inner unnamed vmap inside the collective's body
    out["outer_name_inner_batch"] = jax.vmap(
        lambda row: jax.vmap(lambda v: v / lax.psum(v, "d"))(row), axis_name="d")(x)
    out["inner_gather_outer_name"] = jax.vmap(jax.vmap(
        lambda v: lax.all_gather(v, "o"), axis_name="i"), axis_name="o")(x[:, :3])[1]
    out["inner_axis_index_sum"] = jax.vmap(jax.vmap(
        lambda v: lax.psum(lax.axis_index("o") + 10 * lax.axis_index("i"), ("o", "i")) + 0 * v,
        axis_name="i"), axis_name="o")(x[:2, :3].astype(jnp.int32))
    # gradients through collectives
    w = jnp.array([0.5, -1.0, 2.0, 0.25])

    def gathered_loss(w):
        def per(wi):
            allw = lax.all_gather(wi, "d")
            return jnp.sum(allw * jnp.arange(4.0)) * wi
        return jnp.sum(jax.vmap(per, axis_name="d")(w))

    out["grad_all_gather"] = jax.grad(gathered_loss)(w)
    out["grad_psum_scatter"] = jax.grad(lambda m: jnp.sum(jax.vmap(
        lambda r: lax.psum_scatter(r, "d") ** 2, axis_name="d")(m)))(x[:, :4])
    out["grad_ppermute_ring"] = jax.grad(lambda m: jnp.sum(jax.vmap(
        lambda r: ring_allreduce(r, 4) * jnp.arange(6.0), axis_name="d")(m)))(x / 10.0)
    out["ring_allreduce"] = jax.vmap(lambda r: ring_allreduce(r, 4), axis_name="d")(x)
    return out


if __name__ == "__main__":
    print(run())
