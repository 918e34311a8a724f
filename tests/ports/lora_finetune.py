"""Parameter-efficient fine-tuning as JAX code writes it without a framework: LoRA adapters
(A from `random.normal`, B zeros, scaled by alpha / r) added to frozen dense weights, the
parameter tree split into trainable and frozen halves with `None` placeholders
(`jax.tree_util.tree_map_with_path` choosing by key name, `jax.tree.map` with
`is_leaf=lambda x: x is None` to combine them again), gradients taken only with respect to
the trainable half, the same result from `lax.stop_gradient` on the frozen half, labels per
leaf for an `optax.multi_transform`-style update (different learning rates per label,
frozen leaves untouched), a frozen base stored as int8 with per-column scales and
dequantised in the forward pass (QLoRA-style), adapters merged into the base for inference
(`W + scale * A @ B`, checked against the unmerged forward), a rank-r initialisation from
the truncated SVD of a target delta, `jax.tree_util.tree_leaves` parameter counts per
group, and a few jitted training steps."""
import jax
import jax.numpy as jnp
from jax import lax, random
from jax.tree_util import DictKey, tree_map_with_path

RANK, ALPHA = 2, 4.0


def init(key):
    ks = random.split(key, 6)
    return {
        "layer1": {"kernel": random.normal(ks[0], (6, 8)) * 0.4, "bias": jnp.zeros(8),
                   "lora_a": random.normal(ks[1], (6, RANK)) * 0.1,
                   "lora_b": jnp.zeros((RANK, 8))},
        "layer2": {"kernel": random.normal(ks[2], (8, 3)) * 0.4, "bias": jnp.zeros(3),
                   "lora_a": random.normal(ks[3], (8, RANK)) * 0.1,
                   "lora_b": jnp.zeros((RANK, 3))},
        "head_norm": {"scale": jnp.ones(3)},
    }


def dense(layer, x, scale=ALPHA / RANK):
    kernel = layer["kernel"]
    if kernel.dtype == jnp.int8:
        kernel = kernel.astype(jnp.float32) * layer["kscale"]
    return x @ kernel + layer["bias"] + scale * (x @ layer["lora_a"]) @ layer["lora_b"]


def forward(p, x):
    h = jax.nn.gelu(dense(p["layer1"], x))
    return dense(p["layer2"], h) * p["head_norm"]["scale"]


def loss_fn(p, x, y):
    return jnp.mean((forward(p, x) - y) ** 2)


def is_trainable(path):
    name = path[-1].key if isinstance(path[-1], DictKey) else ""
    return name.startswith("lora") or name == "scale"


def partition(p):
    train = tree_map_with_path(lambda k, v: v if is_trainable(k) else None, p)
    frozen = tree_map_with_path(lambda k, v: None if is_trainable(k) else v, p)
    return train, frozen


def combine(a, b):
    return jax.tree.map(lambda x, y: y if x is None else x, a, b,
                        is_leaf=lambda x: x is None)


def labels(p):
    return tree_map_with_path(
        lambda k, v: "lora" if k[-1].key.startswith("lora") else
        ("norm" if k[-1].key == "scale" else "frozen"), p)


def quantize_base(p):
    def q(layer):
        k = layer["kernel"]
        s = jnp.max(jnp.abs(k), axis=0, keepdims=True) / 127.0
        return {**layer, "kernel": jnp.round(k / s).astype(jnp.int8), "kscale": s}
    return {**p, "layer1": q(p["layer1"]), "layer2": q(p["layer2"])}


def merge(p):
    def m(layer):
        w = layer["kernel"] + (ALPHA / RANK) * layer["lora_a"] @ layer["lora_b"]
        return {"kernel": w, "bias": layer["bias"], "lora_a": jnp.zeros_like(layer["lora_a"]),
                "lora_b": jnp.zeros_like(layer["lora_b"])}
    return {**p, "layer1": m(p["layer1"]), "layer2": m(p["layer2"])}


def run():
    key = random.PRNGKey(55)
    kp, kx, kt = random.split(key, 3)
    p = init(kp)
    x = random.normal(kx, (12, 6))
    y = jnp.tanh(x[:, :3] * 1.5) + 0.1 * x[:, 3:]
    train, frozen = partition(p)
    g_train = jax.grad(lambda t: loss_fn(combine(t, frozen), x, y))(train)
    g_stop = jax.grad(lambda q: loss_fn(jax.tree.map(
        lambda a, keep: a if keep else lax.stop_gradient(a), q,
        tree_map_with_path(lambda k, v: is_trainable(k), q)), x, y))(p)
    lbl = labels(p)
    lrs = {"lora": 0.2, "norm": 0.05, "frozen": 0.0}
    train_lbl = partition(lbl)[0]

    @jax.jit
    def step(train, frozen):
        loss, g = jax.value_and_grad(lambda t: loss_fn(combine(t, frozen), x, y))(train)
        train = jax.tree.map(lambda a, ga, lb: a - lrs[lb] * ga, train, g, train_lbl)
        return train, loss

    losses = []
    t = train
    for _ in range(5):
        t, loss = step(t, frozen)
        losses.append(loss)
    tuned = combine(t, frozen)
    merged = merge(tuned)
    qp = quantize_base(tuned)
    delta = random.normal(kt, (6, 8))
    u, s, vt = jnp.linalg.svd(delta, full_matrices=False)
    a_init = u[:, :RANK] * jnp.sqrt(s[:RANK])
    b_init = jnp.sqrt(s[:RANK])[:, None] * vt[:RANK]
    counts = {g: sum(leaf.size for leaf in jax.tree.leaves(tree))
              for g, tree in (("train", train), ("frozen", frozen))}
    return {
        "grad_lora_b1": g_train["layer1"]["lora_b"],
        "grad_lora_a2": g_train["layer2"]["lora_a"],
        "grad_scale": g_train["head_norm"]["scale"],
        "grad_tree": str(jax.tree.structure(g_train)),
        "grad_stop_kernel_zero": jnp.all(g_stop["layer1"]["kernel"] == 0),
        "grad_stop_matches": jnp.allclose(g_stop["layer2"]["lora_b"],
                                          g_train["layer2"]["lora_b"]),
        "labels": " ".join(jax.tree.leaves(lbl)),
        "losses": jnp.stack(losses),
        "tuned_lora_b2": tuned["layer2"]["lora_b"],
        "tuned_scale": tuned["head_norm"]["scale"],
        "frozen_unchanged": jnp.array_equal(tuned["layer1"]["kernel"], p["layer1"]["kernel"]),
        "merged_matches": jnp.allclose(forward(merged, x), forward(tuned, x), atol=1e-5),
        "merged_kernel": merged["layer2"]["kernel"][:, 0],
        "quantized_kernel": qp["layer1"]["kernel"][0],
        "quantized_forward": forward(qp, x[:3]),
        "quantized_error": jnp.max(jnp.abs(forward(qp, x) - forward(tuned, x))) < 0.05,
        "svd_init_error": jnp.linalg.norm(delta - a_init @ b_init) / jnp.linalg.norm(delta),
        "svd_init_sv": s,
        "param_counts": jnp.array([counts["train"], counts["frozen"]]),
    }


if __name__ == "__main__":
    print(run())
