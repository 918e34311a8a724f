"""Planning shapes and memory without computing, as JAX's `eval_shape` docs and model
code use it: the parameter tree of an MLP initialised from a typed or raw key under
`jax.eval_shape` (no arrays allocated), parameter counts and bytes from `.size` and
`dtype.itemsize`, the output shapes of a forward pass, a loss and its gradient over
`ShapeDtypeStruct` inputs (batch sizes as data, float32/bfloat16/int32 inputs), the
shapes under `vmap` and `jit(...).eval_shape`, weak types of Python-scalar results,
`ShapeDtypeStruct` equality, and the same plan under `jax.enable_x64(True)`; the plans are
shown with `repr` as an interactive session echoes them."""
import jax
import jax.numpy as jnp
from jax import random


def init_mlp(key, sizes):
    params = []
    keys = random.split(key, len(sizes) - 1)
    for k, (m, n) in zip(keys, zip(sizes[:-1], sizes[1:])):
        w = random.normal(k, (m, n)) * jnp.sqrt(2.0 / m)
        params.append({"w": w, "b": jnp.zeros(n)})
    return params


def forward(params, x):
    for layer in params[:-1]:
        x = jax.nn.relu(x @ layer["w"] + layer["b"])
    last = params[-1]
    return x @ last["w"] + last["b"]


def loss(params, x, y):
    logits = forward(params, x)
    return -jnp.mean(jnp.sum(jax.nn.log_softmax(logits) * jax.nn.one_hot(y, 10), axis=-1))


def run():
    sizes = [784, 256, 64, 10]
    shapes = jax.eval_shape(lambda k: init_mlp(k, sizes), random.PRNGKey(0))
    shapes_typed = jax.eval_shape(lambda k: init_mlp(k, sizes), random.key(0))
    n_params = sum(leaf.size for leaf in jax.tree.leaves(shapes))
    n_bytes = sum(leaf.size * leaf.dtype.itemsize for leaf in jax.tree.leaves(shapes))

    x = jax.ShapeDtypeStruct((128, 784), jnp.float32)
    y = jax.ShapeDtypeStruct((128,), jnp.int32)
    out = jax.eval_shape(forward, shapes, x)
    val, grads = jax.eval_shape(jax.value_and_grad(loss), shapes, x, y)
    xb = jax.ShapeDtypeStruct((8, 128, 784), jnp.bfloat16)
    batched = jax.eval_shape(jax.vmap(forward, in_axes=(None, 0)), shapes, xb)
    jitted = jax.jit(loss).eval_shape(shapes, x, y)
    weak = jax.eval_shape(lambda a: a * 2.0, 1.0)
    with jax.enable_x64(True):
        shapes64 = jax.eval_shape(lambda k: init_mlp(k, sizes), random.PRNGKey(0))
        out64 = jax.eval_shape(forward, shapes64, jax.ShapeDtypeStruct((4, 784), jnp.float64))
    print(out)
    print(jax.eval_shape(lambda k: init_mlp(k, sizes[:2]), random.PRNGKey(0)))
    compiled = jax.jit(forward).lower(shapes, x).compile()
    return {
        "compiled_out": compiled(init_mlp(random.PRNGKey(0), sizes), jnp.ones((128, 784)))[0, :3],
        "str_out": str(out),
        "len_struct": len(x),
        "param_shapes": repr([(p["w"].shape, p["b"].shape) for p in shapes]),
        "param_tree": repr(shapes[0]),
        "typed_key_same": shapes == shapes_typed,
        "n_params": n_params,
        "n_bytes": n_bytes,
        "out": repr(out),
        "loss": repr(val),
        "grad_w0": repr(grads[0]["w"]),
        "grads_match_params": jax.tree.map(lambda a, b: a == b, grads, shapes) == jax.tree.map(
            lambda a: True, shapes),
        "batched": repr(batched),
        "jitted": repr(jitted),
        "weak": repr(weak),
        "weak_flag": weak.weak_type,
        "ndim_size": jnp.array([out.ndim, out.size, batched.ndim, batched.size]),
        "x64_params": repr(shapes64[-1]),
        "x64_out": repr(out64),
        "equal_structs": jax.ShapeDtypeStruct((2, 3), jnp.float32) == jax.ShapeDtypeStruct(
            (2, 3), jnp.dtype("float32")),
        "unequal_structs": jax.ShapeDtypeStruct((2, 3), jnp.float32) != jax.ShapeDtypeStruct(
            (2, 3), jnp.bfloat16),
    }


if __name__ == "__main__":
    print(run())
