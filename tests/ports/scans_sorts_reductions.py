"""`lax`'s general reduction and sorting primitives on structured data, as JAX's lax
documentation uses them: `lax.associative_scan` with a custom combine (a running affine
map composition, a segmented sum with reset flags, a pair (max, argmax), a 2x2 matrix
product over a pytree), `reverse=True` and `axis=`; `lax.reduce` with a custom
computation and several operands (argmax by value-then-index); `lax.sort` of several
operands with `num_keys=2` and `is_stable`, along an axis; `lax.sort_key_val`;
`lax.top_k` with ties (lowest index first) and `-inf`; `lax.cummax`/`cummin`/
`cumlogsumexp` with `reverse`; and `lax.reduce_window` with a custom max-abs
computation."""
import jax.numpy as jnp
from jax import lax, random


def affine_compose(f, g):
    # f then g, each x -> a * x + b
    a1, b1 = f
    a2, b2 = g
    return a2 * a1, a2 * b1 + b2


def segmented_sum(x, reset):
    def combine(left, right):
        s_l, f_l = left
        s_r, f_r = right
        return jnp.where(f_r, s_r, s_l + s_r), f_l | f_r

    return lax.associative_scan(combine, (x, reset))[0]


def running_argmax(x):
    def combine(left, right):
        v_l, i_l = left
        v_r, i_r = right
        take_r = v_r > v_l
        return jnp.where(take_r, v_r, v_l), jnp.where(take_r, i_r, i_l)

    return lax.associative_scan(combine, (x, jnp.arange(x.shape[0])))


def matmul2(p, q):
    # elementwise over the leading axis: q @ p for 2x2 matrices stored as a dict of entries
    return {"a": q["a"] * p["a"] + q["b"] * p["c"], "b": q["a"] * p["b"] + q["b"] * p["d"],
            "c": q["c"] * p["a"] + q["d"] * p["c"], "d": q["c"] * p["b"] + q["d"] * p["d"]}


def argmax_reduce(x, axis):
    idx = lax.broadcasted_iota(jnp.int32, x.shape, axis)

    def comp(a, b):
        va, ia = a
        vb, ib = b
        pick_a = (va > vb) | ((va == vb) & (ia < ib))
        return jnp.where(pick_a, va, vb), jnp.where(pick_a, ia, ib)

    return lax.reduce((x, idx), (-jnp.inf, jnp.int32(0)), comp, (axis,))


def run():
    key = random.PRNGKey(11)
    a = 0.5 + 0.5 * random.uniform(key, (8,))
    b = random.normal(random.fold_in(key, 1), (8,))
    x = jnp.array([1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0])
    reset = jnp.array([True, False, False, True, False, True, False])
    v = jnp.array([3.0, 1.0, 4.0, 1.0, 5.0, 9.0, 2.0, 6.0, 5.0, 3.0])
    fib = {"a": jnp.ones(6), "b": jnp.ones(6), "c": jnp.ones(6), "d": jnp.zeros(6)}
    m = jnp.array([[3.0, 7.0, 7.0, 1.0], [2.0, 2.0, -1.0, 2.0], [0.0, 5.0, 4.0, 5.0]])
    k1 = jnp.array([2, 1, 2, 1, 0, 2, 1])
    k2 = jnp.array([5.0, 3.0, 1.0, 3.0, 9.0, 1.0, 0.0])
    payload = jnp.arange(7) * 10
    ties = jnp.array([[1.0, 3.0, 3.0, 2.0, 3.0], [-jnp.inf, 0.0, -jnp.inf, 0.0, 0.0]])
    tv, ti = lax.top_k(ties, 3)
    s1, s2, s3 = lax.sort((k1, k2, payload), num_keys=2)
    s_stable = lax.sort((k1, payload), num_keys=1, is_stable=True)
    cols = lax.sort((m, lax.broadcasted_iota(jnp.int32, m.shape, 0)), dimension=0, num_keys=1)
    skv_k, skv_v = lax.sort_key_val(jnp.array([3, 1, 2, 1]), jnp.array([0.1, 0.2, 0.3, 0.4]))
    rmax_v, rmax_i = running_argmax(v)
    am_v, am_i = argmax_reduce(m, 1)
    am0_v, am0_i = argmax_reduce(m, 0)
    maxabs = lax.reduce_window(jnp.array([1.0, -4.0, 2.0, -0.5, 3.0, -3.5]), 0.0,
                               lambda p, q: jnp.maximum(jnp.abs(p), jnp.abs(q)), (3,), (1,),
                               "SAME")
    return {
        "affine_prefix_a": lax.associative_scan(affine_compose, (a, b))[0],
        "affine_prefix_b": lax.associative_scan(affine_compose, (a, b))[1],
        "affine_reverse_b": lax.associative_scan(affine_compose, (a, b), reverse=True)[1],
        "segmented_sum": segmented_sum(x, reset),
        "running_max": rmax_v,
        "running_argmax": rmax_i,
        "fib": lax.associative_scan(matmul2, fib)["b"],
        "cumsum_axis1": lax.associative_scan(lax.add, m, axis=1),
        "cumprod_rev_axis0": lax.associative_scan(lax.mul, m, axis=0, reverse=True),
        "reduce_argmax_v": am_v,
        "reduce_argmax_i": am_i,
        "reduce_argmax0_v": am0_v,
        "reduce_argmax0_i": am0_i,
        "reduce_custom_sum_sq": lax.reduce(m, 0.0, lambda p, q: p + q, (0, 1)),
        "reduce_max_int": lax.reduce(k1, jnp.iinfo(jnp.int32).min, lax.max, (0,)),
        "reduce_and": lax.reduce(m > 0, True, lax.bitwise_and, (1,)),
        "sort2_k1": s1,
        "sort2_k2": s2,
        "sort2_payload": s3,
        "sort_stable_payload": s_stable[1],
        "sort_cols": cols[0],
        "sort_cols_rows": cols[1],
        "sort_key_val_k": skv_k,
        "sort_key_val_v": skv_v,
        "top_k_ties_v": tv,
        "top_k_ties_i": ti,
        "cummax_rev": lax.cummax(v, reverse=True),
        "cummin": lax.cummin(v),
        "cummin_axis1": lax.cummin(m, axis=1),
        "cumlogsumexp": lax.cumlogsumexp(jnp.log(x)),
        "cumlogsumexp_rev": lax.cumlogsumexp(jnp.log(x), reverse=True),
        "cumsum_rev": lax.cumsum(x, reverse=True),
        "cumprod_int": lax.cumprod(jnp.array([1, 2, 3, 4, 5])),
        "reduce_window_maxabs": maxabs,
    }


if __name__ == "__main__":
    print(run())
