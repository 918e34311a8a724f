"""Transformation features JAX's documentation shows beyond the basics: a batch norm with
`vmap(axis_name=)` and `lax.pmean`, `jit` with `static_argnames` and `donate_argnums`,
`eval_shape`, `value_and_grad` over several arguments with `has_aux`, `vjp`/`jacrev` with
`has_aux`, `linear_transpose`, Hessians of pytrees, `jvp` of `vmap`, and control flow over
pytrees (`cond` with several operands, `scan` with `unroll`, `while_loop` on a dict)."""
from functools import partial

import jax
import jax.numpy as jnp
from jax import lax


def batch_norm(x):
    mean = lax.pmean(x, axis_name="batch")
    var = lax.pmean((x - mean) ** 2, axis_name="batch")
    return (x - mean) * lax.rsqrt(var + 1e-5)


@partial(jax.jit, static_argnames=("power",))
def moment(x, power):
    return jnp.mean(x ** power)


@partial(jax.jit, donate_argnums=0)
def accumulate(total, x):
    return total + x


def loss_with_aux(w, b, x):
    pred = jnp.tanh(x @ w + b)
    return jnp.sum(pred ** 2), {"pred_mean": jnp.mean(pred)}


def run():
    x = jnp.linspace(-1.0, 2.0, 12).reshape(4, 3)
    normed = jax.vmap(batch_norm, axis_name="batch")(x)
    total_sum = jax.vmap(lambda v: lax.psum(v, "i"), axis_name="i")(jnp.arange(4.0))

    total = jnp.zeros(3)
    for row in x:
        total = accumulate(total, row)

    shape = jax.eval_shape(lambda a, b: a @ b, jax.ShapeDtypeStruct((4, 3), jnp.float32),
                           jax.ShapeDtypeStruct((3, 5), jnp.float32))

    w, b = jnp.array([[0.5], [-0.3], [0.2]]), jnp.array([0.1])
    (value, aux), (gw, gb) = jax.value_and_grad(loss_with_aux, argnums=(0, 1), has_aux=True)(
        w, b, x)
    out, f_vjp, vjp_aux = jax.vjp(lambda w: loss_with_aux(w, b, x), w, has_aux=True)
    jac, jac_aux = jax.jacrev(lambda w: (jnp.tanh(x @ w)[:, 0], jnp.sum(w)), has_aux=True)(w)

    transpose = jax.linear_transpose(lambda v: jnp.cumsum(v) * 2.0, jnp.zeros(4))
    params = {"a": jnp.array(1.5), "b": jnp.array([0.5, -1.0])}
    hess = jax.hessian(lambda p: p["a"] ** 3 * jnp.sum(p["b"] ** 2))(params)
    primal, tangent = jax.jvp(jax.vmap(jnp.sin), (x[0],), (jnp.ones(3),))

    def body(carry, v):
        return carry * 0.9 + v, carry

    carry, trace = lax.scan(body, 0.0, jnp.arange(6.0), unroll=2)
    branch = lax.cond(x[0, 0] < 0, lambda a, b: (a + b, a * b), lambda a, b: (a - b, a / b),
                      2.0, 4.0)
    loop = lax.while_loop(lambda s: s["n"] < 10, lambda s: {"n": s["n"] * 2, "k": s["k"] + 1},
                          {"n": jnp.array(1), "k": jnp.array(0)})
    pair = lax.fori_loop(0, 5, lambda i, ab: (ab[1], ab[0] + ab[1]), (0.0, 1.0))
    return {
        "batch_norm": normed,
        "psum": total_sum,
        "moment_2": moment(x, power=2),
        "moment_3": moment(x, power=3),
        "accumulated": total,
        "eval_shape": jnp.array(shape.shape),
        "eval_shape_is_f32": shape.dtype == jnp.float32,
        "value": value,
        "aux": aux["pred_mean"],
        "grad_w": gw,
        "grad_b": gb,
        "vjp_out": out,
        "vjp_grad": f_vjp(1.0)[0],
        "vjp_aux": vjp_aux["pred_mean"],
        "jacrev_aux": jac,
        "jacrev_aux_value": jac_aux,
        "linear_transpose": transpose(jnp.array([1.0, 0.0, 0.0, 1.0]))[0],
        "hessian_aa": hess["a"]["a"],
        "hessian_ab": hess["a"]["b"],
        "hessian_bb": hess["b"]["b"],
        "jvp_vmap": jnp.stack([primal, tangent]),
        "scan_unroll_carry": carry,
        "scan_unroll_trace": trace,
        "cond_pair": jnp.stack(branch),
        "while_dict": jnp.stack([loop["n"], loop["k"]]),
        "fori_pair": jnp.stack(pair),
    }


if __name__ == "__main__":
    print(run())
