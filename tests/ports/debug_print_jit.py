"""`jax.debug.print` inside `jit`: positional and keyword fields, format specs, inside a
`fori_loop` body (once per iteration) and a `cond` branch, and `jax.debug.callback`
collecting values; `print` inside `jit` runs once, at trace time."""
import jax
import jax.numpy as jnp
from jax import lax

seen = []


@jax.jit
def f(x):
    jax.debug.print("x = {}", x)
    y = x * 2.0
    jax.debug.print("y = {y}, sum = {s}", y=y, s=jnp.sum(y))
    print("tracing f")
    return y


@jax.jit
def loop(n):
    def body(i, acc):
        jax.debug.print("step {i}: acc={acc}", i=i, acc=acc, ordered=True)
        return acc + i * i

    return lax.fori_loop(0, n, body, 0)


@jax.jit
def branch(x):
    def positive(x):
        jax.debug.print("positive {:.2f}", x)
        return x

    def negative(x):
        jax.debug.print("negative {:.2f}", x)
        return -x

    return lax.cond(x > 0, positive, negative, x)


@jax.jit
def with_callback(x):
    jax.debug.callback(lambda v: seen.append(float(v)), jnp.max(x))
    return jnp.max(x)


def run():
    a = f(jnp.array([1.0, 2.5]))
    b = f(jnp.array([0.5, -1.0]))
    c = loop(4)
    d = branch(1.25)
    e = branch(-0.5)
    g = with_callback(jnp.array([1.0, 7.0, 3.0]))
    jax.effects_barrier()
    return {"a": a, "b": b, "loop": c, "pos": d, "neg": e, "max": g,
            "callback_values": jnp.array(seen)}


if __name__ == "__main__":
    print(run())
