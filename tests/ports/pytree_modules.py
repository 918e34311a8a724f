"""Flax-like modules written by hand as pytrees, the way JAX's "custom pytree nodes" and
"working with pytrees" docs do: a `register_pytree_node_class` Linear layer with static
fields in the aux data, a frozen dataclass registered with `register_dataclass` holding
data and meta fields, a `register_pytree_with_keys` node, `tree_map` with `is_leaf`
stopping at layers, `tree_flatten_with_path` and `keystr` naming parameters, a weight decay
mask built from paths, `tree_leaves`/`tree_structure`/`tree_transpose`, `jax.grad` and
`jit` through module objects, and parameter counting."""
import dataclasses
from functools import partial

import jax
import jax.numpy as jnp
from jax import random, tree_util


@tree_util.register_pytree_node_class
class Linear:
    def __init__(self, w, b, activation="relu"):
        self.w = w
        self.b = b
        self.activation = activation

    def __call__(self, x):
        y = x @ self.w + self.b
        return jax.nn.relu(y) if self.activation == "relu" else y

    def tree_flatten(self):
        return (self.w, self.b), self.activation

    @classmethod
    def tree_unflatten(cls, aux, children):
        return cls(*children, activation=aux)

    @classmethod
    def init(cls, key, n_in, n_out, activation="relu"):
        w = random.normal(key, (n_in, n_out)) * jnp.sqrt(2.0 / n_in)
        return cls(w, jnp.zeros(n_out), activation)


@partial(jax.tree_util.register_dataclass, data_fields=["layers", "scale"],
         meta_fields=["name"])
@dataclasses.dataclass(frozen=True)
class MLP:
    layers: list
    scale: jnp.ndarray
    name: str = "mlp"

    def __call__(self, x):
        for layer in self.layers:
            x = layer(x)
        return x * self.scale


class Norm:
    def __init__(self, gamma, beta):
        self.gamma = gamma
        self.beta = beta

    def __call__(self, x):
        mu = x.mean(-1, keepdims=True)
        var = x.var(-1, keepdims=True)
        return self.gamma * (x - mu) / jnp.sqrt(var + 1e-5) + self.beta


tree_util.register_pytree_with_keys(
    Norm,
    lambda n: (((tree_util.GetAttrKey("gamma"), n.gamma),
                (tree_util.GetAttrKey("beta"), n.beta)), None),
    lambda aux, children: Norm(*children),
)


def make_model(key):
    k1, k2, k3 = random.split(key, 3)
    return {"mlp": MLP([Linear.init(k1, 3, 8), Linear.init(k2, 8, 4, "linear")],
                       jnp.float32(1.5)),
            "norm": Norm(jnp.ones(4), jnp.zeros(4)),
            "head": Linear.init(k3, 4, 1, "linear")}


def forward(model, x):
    return model["head"](model["norm"](model["mlp"](x)))


def loss_fn(model, x, y):
    return jnp.mean((forward(model, x)[:, 0] - y) ** 2)


@jax.jit
def sgd_step(model, x, y, lr=0.05):
    loss, grads = jax.value_and_grad(loss_fn)(model, x, y)
    return jax.tree.map(lambda p, g: p - lr * g, model, grads), loss


def run():
    key = random.PRNGKey(5)
    model = make_model(key)
    x = random.normal(random.fold_in(key, 1), (16, 3))
    y = jnp.sin(x[:, 0]) + x[:, 1] * x[:, 2]
    losses = []
    m = model
    for _ in range(5):
        m, loss = sgd_step(m, x, y)
        losses.append(loss)

    paths, _ = tree_util.tree_flatten_with_path(model)
    names = [tree_util.keystr(p) for p, _ in paths]
    decay_mask = tree_util.tree_map_with_path(
        lambda p, v: v.ndim > 1 and not any(getattr(k, "name", None) == "b" for k in p), model)
    layers = jax.tree.leaves(model, is_leaf=lambda n: isinstance(n, Linear))
    # Only the Linear nodes' kinds are compared: the other leaves' types differ, because
    # `jnp.float32(1.5)` (MLP.scale) is a jax.Array in JAX but a NumPy scalar after the swap
    # (docs/porting-from-jax.md, "Scalar types").
    kinds = [type(n).__name__ for n in layers if isinstance(n, Linear)]
    widths = jax.tree.map(lambda n: n.w.shape[1] if isinstance(n, Linear) else -1, model,
                          is_leaf=lambda n: isinstance(n, Linear))
    grads = jax.grad(loss_fn)(model, x, y)
    n_params = sum(p.size for p in jax.tree.leaves(model))
    transposed = jax.tree.transpose(jax.tree.structure([0, 0]), jax.tree.structure((0, 0, 0)),
                                    [(1, 2, 3), (4, 5, 6)])
    return {
        "losses": jnp.stack(losses),
        "out_head": forward(m, x)[:4, 0],
        "names": " ".join(names),
        "treedef": str(jax.tree.structure(model)).replace("'", '"'),
        "decay_mask": jnp.array(jax.tree.leaves(decay_mask)),
        "kinds": " ".join(kinds),
        "widths": jnp.array(jax.tree.leaves(widths)),
        "grad_w0": grads["mlp"].layers[0].w,
        "grad_head_b": grads["head"].b,
        "grad_gamma": grads["norm"].gamma,
        "grad_is_mlp": isinstance(grads["mlp"], MLP) and grads["mlp"].name == "mlp",
        "activation_kept": m["mlp"].layers[1].activation == "linear",
        "n_params": jnp.array(n_params),
        "n_leaves": jnp.array(len(jax.tree.leaves(model))),
        "transposed": jnp.array(transposed),
        "replaced_scale": jnp.array(dataclasses.replace(model["mlp"], scale=2.0).scale),
        "global_norm": jnp.sqrt(sum(jnp.sum(g ** 2) for g in jax.tree.leaves(grads))),
    }


if __name__ == "__main__":
    print(run())
