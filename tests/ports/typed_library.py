"""Library code written with JAX's typing conventions, as modern JAX projects write it:
`from jax.typing import ArrayLike, DTypeLike` annotations, `jax.Array` in `isinstance`
checks and annotations, `jnp.ndarray`, `jnp.isdtype`/`jnp.issubdtype` with abstract
kinds, `jnp.result_type`/`finfo`/`iinfo` (`jax.dtypes` itself: jax_dtypes.py), `jnp.array`
of a list of NumPy scalars, a dtype-generic function that picks its computation dtype,
`functools.partial(jax.jit, static_argnames=...)`, a frozen dataclass config as a static
argument, `jax.ShapeDtypeStruct`/`jax.eval_shape` to plan shapes,
`jax.device_put`/`device_get`/`block_until_ready`, and `jax.tree.map` over typed
containers."""
import dataclasses
import functools

import numpy as np

import jax
import jax.numpy as jnp
from jax.typing import ArrayLike, DTypeLike


@dataclasses.dataclass(frozen=True)
class Config:
    width: int
    dtype: DTypeLike = jnp.float32


def as_compute(x: ArrayLike, dtype: DTypeLike | None = None) -> jax.Array:
    x = jnp.asarray(x)
    if dtype is None:
        dtype = x.dtype if jnp.issubdtype(x.dtype, jnp.inexact) else jnp.float32
    return x.astype(dtype)


def kind(x: ArrayLike) -> str:
    dt = jnp.asarray(x).dtype
    for name in ("bool", "signed integer", "unsigned integer", "real floating",
                 "complex floating"):
        if jnp.isdtype(dt, name):
            return name
    return "other"


@functools.partial(jax.jit, static_argnames=("cfg",))
def layer(x: jax.Array, cfg: Config) -> jax.Array:
    w = jnp.linspace(-1.0, 1.0, x.shape[-1] * cfg.width, dtype=cfg.dtype).reshape(
        x.shape[-1], cfg.width)
    return jnp.tanh(x.astype(cfg.dtype) @ w)


def safe_eps(dtype: DTypeLike) -> jax.Array:
    dtype = jnp.dtype(dtype)
    return jnp.asarray(jnp.finfo(dtype).eps if jnp.issubdtype(dtype, jnp.floating) else 0,
                       dtype)


def run():
    x = np.arange(6, dtype=np.float64).reshape(2, 3)
    cfg = Config(4)
    out = layer(jnp.asarray(x), cfg)
    shapes = jax.eval_shape(functools.partial(layer, cfg=Config(5, jnp.float16)),
                            jax.ShapeDtypeStruct((7, 3), jnp.float32))
    moved = jax.device_put(x)
    tree = {"a": jnp.int8(3) * jnp.ones(2, jnp.int8), "b": [1.5, np.float32(2.0)]}
    return {
        "layer": out,
        "layer_f16": layer(jnp.ones((1, 3)), Config(2, jnp.float16)).astype(jnp.float32),
        "is_array": jnp.array([isinstance(out, jax.Array), isinstance(out, jnp.ndarray),
                               isinstance(x, jax.Array), isinstance(1.0, jax.Array)]),
        "eval_shape": jnp.array(shapes.shape),
        "eval_dtype": str(shapes.dtype),
        "result_types": " ".join(str(jnp.result_type(*a)) for a in
                                 ((jnp.int8, 2.0), (jnp.uint8, jnp.int8), (jnp.float16, 1j),
                                  (jnp.bfloat16, jnp.float16))),
        "issubdtype": jnp.array([jnp.issubdtype(jnp.bfloat16, jnp.floating),
                                 jnp.issubdtype(jnp.int8, jnp.signedinteger),
                                 jnp.issubdtype(jnp.uint32, jnp.signedinteger),
                                 jnp.issubdtype(jnp.complex64, jnp.inexact),
                                 jnp.issubdtype(jnp.float32, jnp.number)]),
        "isdtype": " ".join(jnp.isdtype(d, k) and "y" or "n" for d, k in (
            (jnp.float32, "real floating"), (jnp.bfloat16, "real floating"),
            (jnp.int8, "integral"), (jnp.bool_, "numeric"), (jnp.complex64, "numeric"),
            (jnp.uint8, ("bool", "unsigned integer")))),
        "kinds": " ".join(kind(v) for v in (True, 3, 2.0, 1j, np.uint8(1),
                                            jnp.ones(1, jnp.bfloat16))),
        "as_compute": jnp.stack([as_compute(jnp.arange(3)), as_compute(jnp.ones(3, jnp.float16)
                                                                    ).astype(jnp.float32)]),
        "as_compute_dtype": str(as_compute(jnp.ones(3, jnp.float16)).dtype),
        "eps": jnp.stack([safe_eps(jnp.float16).astype(jnp.float32), safe_eps(np.float32),
                          safe_eps(jnp.int32).astype(jnp.float32)]),
        "iinfo": jnp.array([jnp.iinfo(jnp.int8).max, jnp.iinfo(jnp.uint16).max,
                            jnp.iinfo(jnp.int16).min]),
        "finfo_bf16": jnp.array([jnp.finfo(jnp.bfloat16).eps,
                                 jnp.finfo(jnp.bfloat16).max, jnp.finfo(jnp.float16).tiny]),
        "device_put_dtype": str(moved.dtype),
        "device_get": jnp.asarray(jax.device_get(moved) * 2),
        "block_until_ready": jax.block_until_ready(out * 2),
        "tree_dtypes": " ".join(str(jnp.asarray(v).dtype) for v in jax.tree.leaves(
            jax.tree.map(lambda v: v * 2, tree))),
    }


if __name__ == "__main__":
    print(run())
