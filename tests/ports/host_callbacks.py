"""Host callbacks as JAX's "external callbacks" guide uses them: `jax.pure_callback` to
NumPy/SciPy-style host code under `jit`, with a pytree of `jax.ShapeDtypeStruct` results,
under `vmap` with each `vmap_method` ("sequential", "expand_dims", "broadcast_all"),
differentiated through a `custom_jvp` whose derivative is another callback, inside
`lax.scan`, and with integer results; `jax.experimental.io_callback` with `ordered=True`
appending to a host log; and `jax.debug.callback` collecting intermediate values."""
import numpy as np

import jax
import jax.numpy as jnp
from jax import lax
from jax.experimental import io_callback


def host_bessel_like(x):
    x = np.asarray(x)
    return (np.sin(x) / np.where(x == 0, 1.0, x)).astype(np.float32)


def host_stats(x):
    x = np.asarray(x)
    return {"mean": np.float32(x.mean()), "argmax": np.int32(x.argmax()),
            "sorted": np.sort(x).astype(np.float32)}


def sinc_cb(x):
    return jax.pure_callback(host_bessel_like, jax.ShapeDtypeStruct(x.shape, x.dtype), x,
                             vmap_method="expand_dims")


@jax.custom_jvp
def host_sinc(x):
    return sinc_cb(x)


@host_sinc.defjvp
def host_sinc_jvp(primals, tangents):
    (x,), (t,) = primals, tangents

    def deriv(v):
        v = np.asarray(v)
        safe = np.where(v == 0, 1.0, v)
        return np.where(v == 0, 0.0, (safe * np.cos(safe) - np.sin(safe)) / safe ** 2
                        ).astype(np.float32)

    d = jax.pure_callback(deriv, jax.ShapeDtypeStruct(x.shape, x.dtype), x,
                          vmap_method="broadcast_all")
    return host_sinc(x), d * t


def run():
    x = jnp.linspace(-3.0, 3.0, 7)
    shapes = {"mean": jax.ShapeDtypeStruct((), jnp.float32),
              "argmax": jax.ShapeDtypeStruct((), jnp.int32),
              "sorted": jax.ShapeDtypeStruct((5,), jnp.float32)}
    stats = jax.jit(lambda v: jax.pure_callback(host_stats, shapes, v))(
        jnp.array([3.0, -1.0, 4.0, 1.0, -5.0]))
    rows = jnp.arange(12.0).reshape(3, 4) - 5.0
    calls = []

    def counting(v):
        calls.append(np.shape(v))
        return np.asarray(v) * 2

    outs = {}
    for method in ("sequential", "expand_dims", "broadcast_all"):
        calls.clear()
        outs[method] = jax.vmap(lambda r: jax.pure_callback(
            counting, jax.ShapeDtypeStruct(r.shape, r.dtype), r, vmap_method=method))(rows)
        outs[method + "_calls"] = jnp.array(len(calls))
    log = []

    def record(v):
        log.append(float(v))
        return np.int32(len(log))

    @jax.jit
    def logged(v):
        a = io_callback(record, jax.ShapeDtypeStruct((), jnp.int32), jnp.sum(v), ordered=True)
        b = io_callback(record, jax.ShapeDtypeStruct((), jnp.int32), jnp.max(v), ordered=True)
        return a + b

    counts = [logged(x), logged(x * 2)]
    seen = []

    def scan_body(c, v):
        jax.debug.callback(lambda a: seen.append(float(a)), c)
        return c + sinc_cb(v), None

    total, _ = lax.scan(scan_body, 0.0, x)
    jax.effects_barrier()
    return {
        "jit_callback": jax.jit(sinc_cb)(x),
        "stats_mean": stats["mean"],
        "stats_argmax": stats["argmax"],
        "stats_sorted": stats["sorted"],
        "vmap_sequential": outs["sequential"],
        "vmap_sequential_calls": outs["sequential_calls"],
        "vmap_expand_dims": outs["expand_dims"],
        "vmap_expand_dims_calls": outs["expand_dims_calls"],
        "vmap_broadcast_all": outs["broadcast_all"],
        "grad_custom_jvp": jax.vmap(jax.grad(host_sinc))(x),
        "jit_grad": jax.jit(jax.grad(lambda v: jnp.sum(host_sinc(v) ** 2)))(x),
        "io_counts": jnp.stack(counts),
        "io_log": jnp.array(log),
        "scan_total": total,
        "scan_seen": jnp.array(seen),
    }


if __name__ == "__main__":
    print(run())
