"""When `jax.jit` traces again, as JAX's "Just-in-time compilation" and "sharp bits" pages
show it with a `print` inside the function (it runs only while tracing): the same shapes
and dtypes reuse the trace; Python ints, Python floats, weakly typed arrays, NumPy scalars
and strongly typed arrays are distinct (or not) as JAX's cache keys make them; new shapes,
static arguments (by value and by hash, keyword or positional), pytree structures,
`None` leaves, dict key order, a closure over a global changed after tracing (not seen),
`jax.jit` applied twice to one function, methods with `static_argnums=0`, and a
`jax.vmap` inside `jit`."""
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np

SCALE = 2.0


def run():
    traces = []

    @jax.jit
    def f(x):
        print("tracing f with", x.shape, x.dtype, x.weak_type)
        traces.append("f")
        return x * 2

    outs = [f(1), f(2), f(1.0), f(jnp.float32(1)), f(np.float32(3)), f(jnp.array(1.0)),
            f(jnp.array([1.0, 2.0])), f(jnp.array([3.0, 4.0])), f(jnp.arange(3)),
            f(np.arange(3)), f(np.arange(3.0)), f(True), f(jnp.int8(3))]

    @partial(jax.jit, static_argnames=("mode",))
    def g(x, mode="add"):
        print("tracing g", mode)
        return x + 1 if mode == "add" else x * 3

    g_outs = [g(1.0), g(2.0, mode="add"), g(2.0, "add"), g(2.0, mode="mul"), g(5.0, mode="mul")]

    @jax.jit
    def h(tree):
        print("tracing h", sorted(tree))
        return {k: v * 2 for k, v in tree.items() if v is not None}

    h_outs = [h({"a": 1.0, "b": 2.0}), h({"b": 3.0, "a": 4.0}), h({"a": 1.0, "b": None}),
              h({"a": 1.0, "b": 2.0, "c": 0.5})]

    @jax.jit
    def uses_global(x):
        print("tracing uses_global")
        return x * SCALE

    before = uses_global(1.0)
    globals()["SCALE"] = 10.0
    after = uses_global(1.0)
    fresh = jax.jit(uses_global.__wrapped__ if hasattr(uses_global, "__wrapped__")
                    else uses_global)(1.0)
    globals()["SCALE"] = 2.0

    class Model:
        def __init__(self, w):
            self.w = w

        def __hash__(self):
            return hash(self.w)

        def __eq__(self, other):
            return isinstance(other, Model) and self.w == other.w

        @partial(jax.jit, static_argnums=0)
        def apply(self, x):
            print("tracing apply", self.w)
            return x * self.w

    m_outs = [Model(2.0).apply(1.0), Model(2.0).apply(3.0), Model(5.0).apply(1.0)]

    @jax.jit
    def batched(xs):
        print("tracing batched", xs.shape)
        return jax.vmap(lambda r: r @ r)(xs)

    b_outs = [batched(jnp.ones((2, 3))), batched(jnp.zeros((2, 3))), batched(jnp.ones((4, 3)))]
    return {
        "f_traces": len(traces),
        "f_last": outs[-1],
        "f_dtypes": " ".join(str(o.dtype) for o in outs),
        "g": jnp.stack(g_outs),
        "h_a": jnp.stack([o["a"] for o in h_outs]),
        "globals": jnp.stack([before, after, fresh]),
        "methods": jnp.stack(m_outs),
        "batched": b_outs[2],
    }
