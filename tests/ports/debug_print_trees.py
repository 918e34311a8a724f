"""`jax.debug.print` of pytrees and weakly typed values, as JAX's debugging guide uses it: a
dict of parameters and a tuple of statistics printed from inside `jit` (a Python-float
argument traced as a weak float), `{}` fields with format specs, `ordered=True` prints in
a training step, inside `vmap` and `lax.scan`, `jax.debug.callback` collecting a pytree,
and the same prints outside `jit`."""
import jax
import jax.numpy as jnp
from jax import lax

collected = []


def record(step, stats):
    collected.append((int(step), float(stats["loss"]), repr(stats["lr"])))


@jax.jit
def train_step(params, x, lr):
    def loss_fn(p):
        return jnp.mean((x @ p["w"] + p["b"]) ** 2)

    trainable = {"w": params["w"], "b": params["b"]}
    loss, grads = jax.value_and_grad(loss_fn)(trainable)
    jax.debug.print("params {p}", p=params, ordered=True)
    jax.debug.print("loss {loss:.4f} lr {lr}", loss=loss, lr=lr, ordered=True)
    jax.debug.print("stats {}", (params["step"], lr, 3), ordered=True)
    jax.debug.callback(record, params["step"], {"loss": loss, "lr": lr}, ordered=True)
    new = jax.tree.map(lambda p, g: p - lr * g, trainable, grads)
    return {**new, "step": params["step"] + 1}


def run():
    x = jnp.array([[1.0, 2.0], [-0.5, 0.25], [0.0, 1.5]])
    params = {"w": jnp.array([0.5, -0.25]), "b": jnp.array(0.1), "step": jnp.array(0)}
    for _ in range(2):
        params = train_step(params, x, 0.1)
    jax.effects_barrier()

    jax.vmap(lambda v: jax.debug.print("row {r}", r={"v": v, "n": jnp.sum(v)}))(x)

    def body(carry, v):
        jax.debug.print("carry {c} v {v}", c=carry, v=v, ordered=True)
        return (carry[0] + v, carry[1] * 2), v * 0.5

    (total, prod), halves = lax.scan(body, (0.0, 1), jnp.arange(3.0))
    jax.debug.print("eager {t}", t={"a": 2.0, "b": (jnp.arange(2) + 1.5, 3)})
    jax.jit(lambda: jax.debug.print("const {t}", t={"a": jnp.arange(2) + 1.5, "b": 3}))()
    jax.effects_barrier()
    return {
        "w": params["w"], "b": params["b"], "step": params["step"],
        "total": total, "prod": prod, "halves": halves,
        "collected": " ".join(f"{s}:{l:.5f}:{r}" for s, l, r in collected),
    }


if __name__ == "__main__":
    print(run())
