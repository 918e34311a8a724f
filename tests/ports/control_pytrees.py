"""Control flow over pytrees and its derivatives, as JAX's control-flow documentation
writes it: `lax.switch` whose branches take and return dicts and tuples (under `vmap` and
`grad`), `lax.map` with `batch_size`, `scan` with `xs=None` and `length=`, `reverse=True`
over a pytree of inputs, `scan` returning `None` outputs, `while_loop` with a NamedTuple
carry, `jax.checkpoint` around a scan body with a `policy`, `jvp` and `linearize` through
`fori_loop` and `while_loop`, `custom_jvp` with `nondiff_argnums`, `lax.cond` with
pytree operands and no-operand branches, and `jax.lax.select_n`."""
from functools import partial
from typing import NamedTuple

import jax
import jax.numpy as jnp
from jax import lax


class State(NamedTuple):
    x: jnp.ndarray
    step: jnp.ndarray
    err: jnp.ndarray


def branch_affine(p):
    return {"y": p["x"] * p["w"] + 1.0, "aux": (p["w"], jnp.sum(p["x"]))}


def branch_square(p):
    return {"y": p["x"] ** 2, "aux": (-p["w"], jnp.max(p["x"]))}


def branch_sin(p):
    return {"y": jnp.sin(p["x"] * p["w"]), "aux": (p["w"] * 0.0, jnp.min(p["x"]))}


def apply(i, p):
    return lax.switch(i, [branch_affine, branch_square, branch_sin], p)


@partial(jax.custom_jvp, nondiff_argnums=(0,))
def clip_power(n, x):
    return jnp.clip(x, -1.0, 1.0) ** n


@clip_power.defjvp
def clip_power_jvp(n, primals, tangents):
    (x,), (t,) = primals, tangents
    y = clip_power(n, x)
    return y, n * jnp.clip(x, -1.0, 1.0) ** (n - 1) * t


def newton_sqrt(a):
    def cond(s):
        return (s.err > 1e-6) & (s.step < 50)

    def body(s):
        x = 0.5 * (s.x + a / s.x)
        return State(x, s.step + 1, jnp.abs(x * x - a))

    return lax.while_loop(cond, body, State(a, jnp.int32(0), jnp.abs(a * a - a)))


def rollout(theta, h0):
    @partial(jax.checkpoint, policy=jax.checkpoint_policies.nothing_saveable)
    def step(h, x):
        h = jnp.tanh(theta["a"] * h + theta["b"] * x)
        return h, h ** 2

    xs = jnp.linspace(-1.0, 1.0, 6)
    h, ys = lax.scan(step, h0, xs)
    return h + jnp.sum(ys)


def run():
    p = {"x": jnp.array([0.5, -1.0, 2.0]), "w": jnp.float32(1.5)}
    outs = [apply(i, p) for i in (0, 1, 2, 5, -1)]
    batched = jax.vmap(apply, in_axes=(0, None))(jnp.array([2, 0, 1]), p)
    g_switch = jax.grad(lambda w: jnp.sum(apply(2, {"x": p["x"], "w": w})["y"]))(1.5)

    def counter(c, _):
        return c * 2 + 1, c

    last, powers = lax.scan(counter, jnp.int32(0), None, length=5)
    trees = {"a": jnp.arange(4.0), "b": (jnp.ones(4), jnp.arange(4) % 2 == 0)}

    def rev_body(carry, t):
        carry = carry + jnp.where(t["b"][1], t["a"], -t["a"]) * t["b"][0]
        return carry, {"c": carry, "i": t["a"] * 2}

    rev_final, rev_ys = lax.scan(rev_body, 0.0, trees, reverse=True)
    none_final, none_ys = lax.scan(lambda c, x: (c + x, None), 0.0, jnp.arange(3.0))
    s = newton_sqrt(jnp.float32(10.0))
    mapped = lax.map(lambda r: {"s": jnp.sum(r), "m": jnp.max(r)}, jnp.arange(12.0).reshape(6, 2),
                     batch_size=4)

    def loop(x):
        return lax.fori_loop(0, 4, lambda i, v: v * x + i, x)

    y_lin, f_jvp = jax.linearize(loop, 1.1)
    _, t_while = jax.jvp(lambda a: newton_sqrt(a).x, (jnp.float32(10.0),), (jnp.float32(1.0),))
    theta = {"a": jnp.float32(0.8), "b": jnp.float32(-0.6)}
    g_rollout = jax.grad(rollout)(theta, 0.1)
    return {
        "switch_y": jnp.stack([o["y"] for o in outs]),
        "switch_aux_w": jnp.stack([o["aux"][0] for o in outs]),
        "switch_aux_red": jnp.stack([o["aux"][1] for o in outs]),
        "switch_vmap_y": batched["y"],
        "switch_vmap_aux": batched["aux"][1],
        "switch_grad": g_switch,
        "scan_length_last": last,
        "scan_length_powers": powers,
        "scan_reverse_final": rev_final,
        "scan_reverse_c": rev_ys["c"],
        "scan_reverse_i": rev_ys["i"],
        "scan_none_final": none_final,
        "scan_none_is_none": jnp.array(none_ys is None),
        "while_namedtuple": jnp.array([s.x, s.err]),
        "while_steps": s.step,
        "while_type": type(s).__name__,
        "lax_map_s": mapped["s"],
        "lax_map_m": mapped["m"],
        "linearize": jnp.array([y_lin, f_jvp(1.0), f_jvp(2.0)]),
        "jvp_while": t_while,
        "custom_jvp_nondiff": jax.vmap(jax.grad(lambda x: clip_power(3, x)))(
            jnp.array([-2.0, -0.5, 0.3, 1.5])),
        "custom_jvp_jit": jax.jit(clip_power, static_argnums=0)(2, jnp.array([-3.0, 0.5])),
        "checkpoint_scan_grad_a": g_rollout["a"],
        "checkpoint_scan_grad_b": g_rollout["b"],
        "cond_pytree": lax.cond(p["w"] > 1.0, lambda t: (t[0] * 2, t[1]["k"] + 1),
                                lambda t: (t[0] * 0, t[1]["k"] - 1),
                                (p["x"], {"k": jnp.int32(3)}))[0],
        "cond_no_operands": lax.cond(True, lambda: jnp.float32(1.0), lambda: jnp.float32(2.0)),
        "cond_grad": jax.grad(lambda w: lax.cond(w > 1.0, lambda u: u ** 3, jnp.sin, w))(1.5),
        "select_n": lax.select_n(jnp.array([0, 1, 2, 1]), jnp.zeros(4), jnp.ones(4),
                                 jnp.full(4, 2.0)),
        "select_n_bool": lax.select_n(jnp.array([True, False]), jnp.array([1, 2]),
                                      jnp.array([3, 4])),
        "fori_unroll": lax.fori_loop(0, 7, lambda i, c: c + i * i, 0, unroll=3),
        "fori_pytree": lax.fori_loop(0, 3, lambda i, c: {"a": c["a"] + i, "b": c["b"] * 2.0},
                                     {"a": jnp.int32(0), "b": jnp.float32(1.0)})["b"],
    }


if __name__ == "__main__":
    print(run())
