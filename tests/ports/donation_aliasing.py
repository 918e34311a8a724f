"""Keeping views and copies of arrays that are then donated to a jitted step, as training
code keeps an EMA copy or a logged slice of parameters before `step(params)` with
`donate_argnums`: JAX's donation invalidates only the donated array object; slices,
reshapes, broadcasts, rows from iteration, `jnp.copy`, `jnp.array(x)`, `.copy()`, host
copies from `jax.device_get`/`np.asarray` (a checkpoint), outputs of a jitted function that
passed an input through, and the base of a donated view all stay valid and unchanged."""
import functools

import jax
import jax.numpy as jnp
import numpy as np


@functools.partial(jax.jit, donate_argnums=0)
def step(a):
    return a * 2.0


def keep(op):
    a = jnp.arange(6.0) + 1.0
    b = op(a)
    step(a)
    return b


def donate_view(make_view):
    a = jnp.arange(6.0) + 1.0
    step(make_view(a))
    return a


def logged_rows():
    p = {"w": jnp.arange(6.0).reshape(2, 3) + 1.0}
    log = [p["w"][0]]
    sgd = jax.jit(lambda t: jax.tree.map(lambda v: v - 0.5, t), donate_argnums=0)
    for _ in range(2):
        p = sgd(p)
        log.append(p["w"][0])
    return jnp.stack(log)


def checkpoint_then_train():
    """A host copy for a checkpoint (`jax.device_get`, `np.asarray`) taken before the next
    donated step."""
    params = {"w": jnp.arange(4.0) + 1.0}
    saved = jax.device_get(params)
    saved_np = np.asarray(params["w"])
    sgd = jax.jit(lambda t: jax.tree.map(lambda v: v - 0.5, t), donate_argnums=0)
    params = sgd(params)
    return np.concatenate([saved["w"], saved_np, np.asarray(params["w"])])


def passthrough_then_donate():
    """A jitted function that returns one input leaf unchanged; the output is donated later,
    and the original input must not change."""
    frozen = jnp.arange(3.0) + 1.0
    out = jax.jit(lambda f, x: {"frozen": f, "x": x + 1})(frozen, jnp.zeros(2))
    step(out["frozen"])
    return frozen


def closed_over_then_donated():
    """A jitted function (and a jitted gradient) closing over an array, called again after
    that array was donated to another step: JAX embedded the value when it compiled."""
    c = jnp.arange(3.0) + 1.0
    f = jax.jit(lambda x: x + c)
    g = jax.jit(jax.grad(lambda x: jnp.sum(x * c)))
    before = jnp.concatenate([f(jnp.zeros(3)), g(jnp.zeros(3))])
    step(c)
    return jnp.concatenate([before, f(jnp.zeros(3)), g(jnp.zeros(3))])


def view_passed_with_donated():
    """Another argument of the donated call is a slice or reshape of the donated array
    (copies in JAX): the step must read it as it was."""
    f = jax.jit(lambda a, b: jnp.cumsum(a) + b.ravel()[::-1] * 10, donate_argnums=0)
    a = jnp.arange(6.0) + 1.0
    r1 = f(a, a.reshape(2, 3))
    g = jax.jit(lambda a, b: jnp.cumsum(a) + jnp.concatenate([b[::-1], jnp.zeros(1)]) * 10,
                donate_argnums=0)
    a = jnp.arange(5.0) + 1.0
    r2 = g(a, a[1:])
    return jnp.concatenate([r1, r2])


def run():
    return {
        "slice": keep(lambda a: a[:3]),
        "strided": keep(lambda a: a[::2]),
        "index": keep(lambda a: a[0]),
        "reshape": keep(lambda a: a.reshape(2, 3)),
        "transpose": keep(lambda a: a.reshape(2, 3).T),
        "expand": keep(lambda a: a[None]),
        "broadcast_to": keep(lambda a: jnp.broadcast_to(a, (2, 6))),
        "split": keep(lambda a: jnp.split(a, 2)[1]),
        "jit_identity": keep(jax.jit(lambda t: t)),
        "copy": keep(jnp.copy),
        "copy_method": keep(lambda a: a.copy()),
        "array": keep(jnp.array),
        "tree_copy": keep(lambda a: jax.tree.map(jnp.copy, {"x": a})["x"]),
        "real": keep(jnp.real),
        "base_of_donated_slice": donate_view(lambda a: a[:3]),
        "base_of_donated_reshape": donate_view(lambda a: a.reshape(2, 3)),
        "logged_rows": logged_rows(),
        "checkpoint_then_train": checkpoint_then_train(),
        "passthrough_then_donate": passthrough_then_donate(),
        "closed_over_then_donated": closed_over_then_donated(),
        "view_passed_with_donated": view_passed_with_donated(),
        "iterated_rows": keep(lambda a: jnp.stack(list(a.reshape(2, 3)))),
    }


if __name__ == "__main__":
    print(run())
