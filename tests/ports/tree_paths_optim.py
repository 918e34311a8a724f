"""Pytree utilities as optimiser and checkpointing code uses them: `tree_map_with_path`
building an AdamW weight-decay mask from key paths (no decay on biases and norms),
`keystr` with `simple=True` and `separator=`, `tree_flatten_with_path` over dicts, lists,
tuples, NamedTuples, dataclasses and `None`, `DictKey`/`SequenceKey`/`GetAttrKey` fields,
`tree_util.Partial` passed through `jit`, `register_static`, `tree_reduce` with an
initializer, `tree_all`, `treedef.num_leaves`/`num_nodes`/`children()`, `tree_unflatten`
from a structure, `jax.tree.map` with `None` leaves and `is_leaf`, and a hand-written
AdamW with a learning-rate warmup-cosine schedule and gradient clipping by global norm,
trained a few steps under `jit`."""
import dataclasses
from typing import NamedTuple

import jax
import jax.numpy as jnp
from jax import tree_util


class Norm(NamedTuple):
    scale: jnp.ndarray
    bias: jnp.ndarray


@tree_util.register_dataclass
@dataclasses.dataclass
class Head:
    w: jnp.ndarray
    b: jnp.ndarray


@tree_util.register_static
@dataclasses.dataclass(frozen=True)
class Config:
    hidden: int
    act: str


def init(key):
    k1, k2, k3 = jax.random.split(key, 3)
    return {
        "embed": jax.random.normal(k1, (4, 3)) * 0.5,
        "layers": [{"w": jax.random.normal(k2, (3, 3)) * 0.5, "b": jnp.zeros(3),
                    "norm": Norm(jnp.ones(3), jnp.zeros(3))}],
        "head": Head(jax.random.normal(k3, (3, 2)) * 0.5, jnp.zeros(2)),
        "frozen": None,
    }


def model(params, x, cfg):
    h = params["embed"][x]
    for layer in params["layers"]:
        h = jnp.tanh(h @ layer["w"] + layer["b"])
        mu, var = jnp.mean(h, -1, keepdims=True), jnp.var(h, -1, keepdims=True)
        h = (h - mu) / jnp.sqrt(var + 1e-5) * layer["norm"].scale + layer["norm"].bias
    return h @ params["head"].w + params["head"].b


def decay_mask(params):
    def keep(path, leaf):
        last = path[-1]
        name = getattr(last, "key", getattr(last, "name", None))
        return name not in ("b", "bias", "scale")
    return tree_util.tree_map_with_path(keep, params)


def schedule(step, base=0.1, warmup=3, total=10):
    warm = base * (step + 1) / warmup
    cos = 0.5 * base * (1 + jnp.cos(jnp.pi * jnp.minimum(step - warmup, total) / total))
    return jnp.where(step < warmup, warm, cos)


def clip_by_global_norm(grads, max_norm):
    norm = jnp.sqrt(tree_util.tree_reduce(lambda acc, g: acc + jnp.sum(g * g), grads, 0.0))
    scale = jnp.minimum(1.0, max_norm / (norm + 1e-6))
    return jax.tree.map(lambda g: g * scale, grads), norm


def run():
    cfg = Config(3, "tanh")
    params = init(jax.random.PRNGKey(0))
    x = jnp.array([0, 1, 2, 3, 1])
    y = jnp.array([0, 1, 1, 0, 1])
    leaves_paths, treedef = tree_util.tree_flatten_with_path(params)
    mask = decay_mask(params)

    def loss(p):
        logits = model(p, x, cfg)
        return -jnp.mean(jax.nn.log_softmax(logits)[jnp.arange(5), y])

    @jax.jit
    def step(p, m, v, t):
        g = jax.grad(loss)(p)
        g, gnorm = clip_by_global_norm(g, 1.0)
        lr = schedule(t)
        m = jax.tree.map(lambda a, b: 0.9 * a + 0.1 * b, m, g)
        v = jax.tree.map(lambda a, b: 0.999 * a + 0.001 * b * b, v, g)

        def upd(p_, m_, v_, decay):
            mh, vh = m_ / (1 - 0.9 ** (t + 1)), v_ / (1 - 0.999 ** (t + 1))
            return p_ - lr * (mh / (jnp.sqrt(vh) + 1e-8) + jnp.where(decay, 0.01 * p_, 0.0))

        return jax.tree.map(upd, p, m, v, mask), m, v, gnorm

    m = jax.tree.map(jnp.zeros_like, params)
    v = jax.tree.map(jnp.zeros_like, params)
    losses, norms = [], []
    p = params
    for t in range(8):
        losses.append(loss(p))
        p, m, v, gnorm = step(p, m, v, t)
        norms.append(gnorm)
    scaled = tree_util.Partial(jnp.multiply, 3.0)
    apply_partial = jax.jit(lambda f, a: f(a))
    return {
        "paths": " | ".join(tree_util.keystr(kp) for kp, _ in leaves_paths),
        "paths_simple": " | ".join(tree_util.keystr(kp, simple=True, separator="/")
                                   for kp, _ in leaves_paths),
        "path_types": " ".join(type(k).__name__ for k in leaves_paths[3][0]),
        "mask": " ".join(str(b) for b in jax.tree.leaves(mask)),
        "num_leaves": jnp.array([treedef.num_leaves, treedef.num_nodes,
                                 len(treedef.children())]),
        "treedef": str(tree_util.tree_structure(params["layers"][0])),
        "unflatten_sum": jnp.stack([jnp.sum(a) for a in jax.tree.leaves(
            tree_util.tree_unflatten(treedef, [jnp.ones_like(l) for l in
                                               jax.tree.leaves(params)]))]),
        "none_map": str(jax.tree.map(lambda a: a, [1, None, (2, None)])),
        "is_leaf_map": jnp.array(jax.tree.leaves(jax.tree.map(
            lambda n: jnp.sum(n.scale) if isinstance(n, Norm) else 0.0, params,
            is_leaf=lambda n: isinstance(n, Norm)))),
        "tree_all": jnp.array([tree_util.tree_all([True, (1, 2)]),
                               tree_util.tree_all({"a": True, "b": 0})]),
        "reduce_init": tree_util.tree_reduce(lambda a, b: a * b, [2.0, (3.0, 4.0)], 0.5),
        "static_in_jit": jax.jit(lambda c, a: a * c.hidden, static_argnums=0)(cfg, 2.0),
        "static_leaves": jnp.array(len(jax.tree.leaves({"c": cfg, "x": 1.0}))),
        "partial_jit": apply_partial(scaled, jnp.arange(3.0)),
        "partial_leaves": jnp.array(len(jax.tree.leaves(scaled))),
        "schedule": jax.vmap(schedule)(jnp.arange(12)),
        "train_losses": jnp.stack(losses),
        "grad_norms": jnp.stack(norms),
        "final_head_w": p["head"].w,
        "final_norm_scale": p["layers"][0]["norm"].scale,
    }


if __name__ == "__main__":
    print(run())
