"""Mixture-of-experts routing as sparse-transformer code writes it in plain JAX: router
logits, `lax.top_k` gating (top-1 and top-2, with ties), a softmax over the chosen
experts, token dispatch with `jax.nn.one_hot` and an expert-capacity limit from a
`cumsum` over the one-hot assignment (overflowing tokens dropped), dispatch and combine
tensors applied with `einsum`, the same layer computed with `jax.ops.segment_sum` over
expert ids, the Switch-style load-balancing loss and the router z-loss, expert-choice
routing (`top_k` over tokens), `jnp.bincount(length=)` of the load, gradients of the whole
layer (the gate through the softmax, the dispatch through `stop_gradient`), and the layer
under `vmap` over groups and `jit`."""
import jax
import jax.numpy as jnp
from jax import lax, random


def init(key, d=4, hidden=6, experts=4):
    kr, k1, k2 = random.split(key, 3)
    return {
        "router": random.normal(kr, (d, experts)) * 0.7,
        "w_in": random.normal(k1, (experts, d, hidden)) / jnp.sqrt(d),
        "w_out": random.normal(k2, (experts, hidden, d)) / jnp.sqrt(hidden),
    }


def expert_ffn(params, xe):
    # xe: (experts, capacity, d)
    h = jax.nn.gelu(jnp.einsum("ecd,edh->ech", xe, params["w_in"]))
    return jnp.einsum("ech,ehd->ecd", h, params["w_out"])


def route(logits, k, capacity):
    num_experts = logits.shape[-1]
    probs = jax.nn.softmax(logits, axis=-1)
    gate_vals, expert_idx = lax.top_k(probs, k)                    # (tokens, k)
    gate_vals = gate_vals / jnp.sum(gate_vals, axis=-1, keepdims=True)
    # priority: all first choices before any second choice
    onehot = jax.nn.one_hot(expert_idx, num_experts, dtype=jnp.int32)  # (tokens, k, E)
    flat = jnp.swapaxes(onehot, 0, 1).reshape(-1, num_experts)    # (k*tokens, E)
    pos = jnp.cumsum(flat, axis=0) * flat - 1                      # slot in the expert
    pos = jnp.swapaxes(pos.reshape(k, -1, num_experts), 0, 1)      # (tokens, k, E)
    pos_in_expert = jnp.max(pos, axis=-1)                          # (tokens, k)
    keep = pos_in_expert < capacity
    slot = jax.nn.one_hot(jnp.where(keep, pos_in_expert, capacity), capacity)
    dispatch = jnp.einsum("tke,tkc->tec", onehot.astype(jnp.float32), slot)
    combine = jnp.einsum("tk,tke,tkc->tec", gate_vals * keep, onehot.astype(jnp.float32),
                         slot)
    return probs, expert_idx, gate_vals, keep, pos_in_expert, dispatch, combine


def moe_layer(params, x, k=2, capacity=3):
    logits = x @ params["router"]
    probs, idx, gates, keep, pos, dispatch, combine = route(logits, k, capacity)
    xe = jnp.einsum("tec,td->ecd", lax.stop_gradient(dispatch), x)
    ye = expert_ffn(params, xe)
    y = jnp.einsum("tec,ecd->td", combine, ye)
    num_experts = logits.shape[-1]
    frac_tokens = jnp.mean(jax.nn.one_hot(idx[:, 0], num_experts), axis=0)
    frac_probs = jnp.mean(probs, axis=0)
    balance = num_experts * jnp.sum(frac_tokens * frac_probs)
    z_loss = jnp.mean(jax.nn.logsumexp(logits, axis=-1) ** 2)
    return y, (balance, z_loss, idx, keep, pos)


def moe_segment(params, x):
    """Top-1 routing without capacity, with segment_sum gathering tokens per expert."""
    logits = x @ params["router"]
    probs = jax.nn.softmax(logits)
    expert = jnp.argmax(logits, axis=-1)
    gate = jnp.take_along_axis(probs, expert[:, None], axis=-1)[:, 0]
    h = jax.nn.gelu(jnp.einsum("td,tdh->th", x, params["w_in"][expert]))
    y = jnp.einsum("th,thd->td", h, params["w_out"][expert]) * gate[:, None]
    per_expert = jax.ops.segment_sum(y, expert, num_segments=logits.shape[-1])
    counts = jax.ops.segment_sum(jnp.ones_like(expert), expert, num_segments=logits.shape[-1])
    return y, per_expert, counts


def expert_choice(params, x, capacity=2):
    logits = x @ params["router"]
    probs = jax.nn.softmax(logits, axis=-1)                        # (tokens, E)
    gates, token_idx = lax.top_k(probs.T, capacity)                # (E, capacity)
    xe = x[token_idx]                                              # (E, capacity, d)
    ye = expert_ffn(params, xe) * gates[..., None]
    out = jnp.zeros_like(x).at[token_idx.reshape(-1)].add(ye.reshape(-1, x.shape[-1]))
    return out, token_idx


def run():
    key = random.PRNGKey(11)
    kp, kx, kg = random.split(key, 3)
    params = init(kp)
    x = random.normal(kx, (8, 4))
    y, (balance, z_loss, idx, keep, pos) = moe_layer(params, x)

    def loss(p, xx):
        out, (bal, z, *_) = moe_layer(p, xx)
        return jnp.mean(out ** 2) + 0.01 * bal + 0.001 * z

    grads = jax.grad(loss)(params, x)
    gx = jax.grad(loss, argnums=1)(params, x)
    top1 = moe_layer(params, x, k=1, capacity=8)
    tight = moe_layer(params, x, k=2, capacity=1)
    seg_y, per_expert, counts = moe_segment(params, x)
    ec_out, ec_idx = expert_choice(params, x)
    groups = random.normal(kg, (3, 8, 4))
    grouped = jax.jit(jax.vmap(lambda g: moe_layer(params, g)[0]))(groups)
    tie_logits = jnp.array([[1.0, 1.0, 0.0, 0.0], [0.0, 2.0, 2.0, 2.0], [3.0, 0.0, 0.0, 3.0]])
    tie = route(tie_logits, 2, 2)
    load = jnp.bincount(idx[:, 0], length=4)
    seg_grad = jax.grad(lambda p: jnp.sum(moe_segment(p, x)[0] ** 2))(params)
    return {
        "y": y,
        "balance": balance,
        "z_loss": z_loss,
        "expert_idx": idx,
        "keep": keep,
        "pos_in_expert": pos,
        "grad_router": grads["router"],
        "grad_w_in": grads["w_in"][:, 0],
        "grad_w_out": grads["w_out"][1],
        "grad_x": gx,
        "top1_y": top1[0],
        "top1_keep": top1[1][3],
        "tight_y": tight[0],
        "tight_keep": tight[1][3],
        "seg_y": seg_y,
        "seg_per_expert": per_expert,
        "seg_counts": counts,
        "seg_grad_router": seg_grad["router"],
        "expert_choice_out": ec_out,
        "expert_choice_idx": ec_idx,
        "grouped": grouped,
        "tie_idx": tie[1],
        "tie_gates": tie[2],
        "tie_dispatch": tie[5],
        "load": load,
    }


if __name__ == "__main__":
    print(run())
