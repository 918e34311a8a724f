"""A tiny Vision Transformer as ViT tutorials write it in JAX: patches cut from NHWC images
by `reshape`/`transpose` and, as the patch embedding, by `lax.conv_general_dilated` with a
stride equal to the patch size (the two embeddings compared), a class token prepended with
`jnp.broadcast_to` and `jnp.concatenate`, learned position embeddings, multi-head
self-attention with `jnp.einsum` and `jax.nn.softmax` (the attention maps returned), a
hand-written LayerNorm (`jnp.mean`, `jnp.var`, `lax.rsqrt`), an MLP with `jax.nn.gelu`
in both its tanh and its exact (`approximate=False`) form, dropout with `random.bernoulli`
and `jnp.where`, an MLP head on the class token, cross-entropy from `jax.nn.log_softmax`
and `jax.nn.one_hot`, `jax.value_and_grad` of the loss over a parameter pytree, a few SGD
steps (`jax.tree.map`) in `lax.scan` under `jit`, and accuracy with `jnp.argmax`."""
import jax
import jax.numpy as jnp
from jax import lax, random

B, H, W, C = 4, 8, 8, 3
P = 4
N_PATCH = (H // P) * (W // P)
D, HEADS, D_MLP, CLASSES = 16, 2, 32, 3


def patchify(images, p):
    """(B, H, W, C) -> (B, N, p*p*C), patches in row-major order."""
    b, h, w, c = images.shape
    x = images.reshape(b, h // p, p, w // p, p, c)
    x = x.transpose(0, 1, 3, 2, 4, 5)
    return x.reshape(b, (h // p) * (w // p), p * p * c)


def init(key):
    ks = random.split(key, 8)
    normal = jax.nn.initializers.normal(stddev=0.2)
    glorot = jax.nn.initializers.glorot_uniform()
    return {
        "patch_w": normal(ks[0], (P * P * C, D)),
        "patch_b": jnp.zeros(D),
        "cls": normal(ks[1], (1, 1, D)),
        "pos": normal(ks[2], (N_PATCH + 1, D)),
        "ln1": {"scale": jnp.ones(D), "bias": jnp.zeros(D)},
        "qkv": glorot(ks[3], (D, 3 * D)),
        "proj": glorot(ks[4], (D, D)),
        "ln2": {"scale": jnp.ones(D), "bias": jnp.zeros(D)},
        "mlp1": glorot(ks[5], (D, D_MLP)),
        "mlp2": glorot(ks[6], (D_MLP, D)),
        "head": {"w": normal(ks[7], (D, CLASSES)), "b": jnp.zeros(CLASSES)},
    }


def layer_norm(x, p, eps=1e-6):
    mean = jnp.mean(x, axis=-1, keepdims=True)
    var = jnp.var(x, axis=-1, keepdims=True)
    return (x - mean) * lax.rsqrt(var + eps) * p["scale"] + p["bias"]


def embed_linear(params, images):
    return patchify(images, P) @ params["patch_w"] + params["patch_b"]


def embed_conv(params, images):
    # the same linear map as a strided convolution: kernel (P, P, C, D) in HWIO
    kernel = params["patch_w"].reshape(P, P, C, D)
    y = lax.conv_general_dilated(images, kernel, window_strides=(P, P), padding="VALID",
                                 dimension_numbers=("NHWC", "HWIO", "NHWC"))
    y = y + params["patch_b"]
    return y.reshape(images.shape[0], -1, D)


def attention(params, x):
    b, t, _ = x.shape
    q, k, v = jnp.split(x @ params["qkv"], 3, axis=-1)
    split_heads = lambda a: a.reshape(b, t, HEADS, D // HEADS)
    q, k, v = split_heads(q), split_heads(k), split_heads(v)
    logits = jnp.einsum("bqhd,bkhd->bhqk", q, k) / jnp.sqrt(D // HEADS).astype(x.dtype)
    weights = jax.nn.softmax(logits, axis=-1)
    out = jnp.einsum("bhqk,bkhd->bqhd", weights, v).reshape(b, t, D)
    return out @ params["proj"], weights


def dropout(key, x, rate):
    keep = random.bernoulli(key, 1.0 - rate, x.shape)
    return jnp.where(keep, x / (1.0 - rate), 0.0)


def forward(params, images, key=None, rate=0.0, approximate=True):
    x = embed_conv(params, images)
    cls = jnp.broadcast_to(params["cls"], (x.shape[0], 1, D))
    x = jnp.concatenate([cls, x], axis=1) + params["pos"]
    attn, weights = attention(params, layer_norm(x, params["ln1"]))
    if key is not None:
        attn = dropout(key, attn, rate)
    x = x + attn
    h = jax.nn.gelu(layer_norm(x, params["ln2"]) @ params["mlp1"], approximate=approximate)
    x = x + h @ params["mlp2"]
    logits = x[:, 0] @ params["head"]["w"] + params["head"]["b"]
    return logits, weights


def loss_fn(params, images, labels, key=None):
    logits, _ = forward(params, images, key, rate=0.1)
    log_probs = jax.nn.log_softmax(logits)
    return -jnp.mean(jnp.sum(jax.nn.one_hot(labels, CLASSES) * log_probs, axis=-1))


@jax.jit
def train(params, images, labels, key):
    def step(params, k):
        loss, grads = jax.value_and_grad(loss_fn)(params, images, labels, k)
        params = jax.tree.map(lambda p, g: p - 0.3 * g, params, grads)
        return params, loss

    return lax.scan(step, params, random.split(key, 5))


def run():
    k_init, k_img, k_lab, k_drop, k_train = random.split(random.PRNGKey(42), 5)
    params = init(k_init)
    images = random.normal(k_img, (B, H, W, C))
    labels = random.randint(k_lab, (B,), 0, CLASSES)
    patches = patchify(images, P)
    lin = embed_linear(params, images)
    conv = embed_conv(params, images)
    logits_tanh, weights = forward(params, images)
    logits_erf, _ = forward(params, images, approximate=False)
    logits_drop, _ = forward(params, images, k_drop, rate=0.25)
    loss, grads = jax.value_and_grad(loss_fn)(params, images, labels)
    trained, losses = train(params, images, labels, k_train)
    final_logits, _ = forward(trained, images)
    keep = random.bernoulli(k_drop, 0.75, (3, 5))
    return {
        "patches": patches[1],
        "embed_linear": lin[0],
        "embed_conv_close": jnp.max(jnp.abs(lin - conv)) < 1e-5,
        "embed_conv": conv[2],
        "logits_tanh": logits_tanh,
        "logits_erf": logits_erf,
        "logits_dropout": logits_drop,
        "attn_cls_row": weights[:, :, 0, :],
        "attn_row_sums": jnp.sum(weights, axis=-1),
        "loss": loss,
        "grad_cls": grads["cls"].ravel(),
        "grad_pos": grads["pos"],
        "grad_qkv": grads["qkv"][:, ::4],
        "grad_ln2_scale": grads["ln2"]["scale"],
        "grad_head_b": grads["head"]["b"],
        "train_losses": losses,
        "trained_head_w": trained["head"]["w"],
        "final_pred": jnp.argmax(final_logits, axis=-1),
        "accuracy": jnp.mean(jnp.argmax(final_logits, axis=-1) == labels),
        "bernoulli_keep": keep,
        "labels": labels,
    }


if __name__ == "__main__":
    print(run())
