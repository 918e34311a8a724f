"""Variable-length sequences the way JAX users batch them: padding with each `jnp.pad`
mode (constant with per-side values, edge, reflect, symmetric, wrap, linear_ramp,
maximum/mean/minimum/median with `stat_length`, `reflect_type='odd'`), length masks from
`arange < lengths[:, None]`, masked means and a masked softmax, `take_along_axis` to gather
the last valid token, `put_along_axis` to write at per-row positions, cumulative masks
with `cumsum`/`cumprod`, reversing only the valid part of each row, packing valid entries
to the front with a stable `argsort`, and a masked loss's gradient."""
import jax
import jax.numpy as jnp


def length_mask(lengths, max_len):
    return jnp.arange(max_len)[None, :] < lengths[:, None]


def masked_mean(x, mask):
    return jnp.sum(jnp.where(mask, x, 0.0), axis=1) / jnp.maximum(mask.sum(axis=1), 1)


def masked_softmax(logits, mask):
    logits = jnp.where(mask, logits, -jnp.inf)
    out = jax.nn.softmax(logits, axis=-1, where=mask)
    return jnp.where(mask, out, 0.0)


def reverse_valid(x, lengths):
    t = jnp.arange(x.shape[1])[None, :]
    idx = jnp.where(t < lengths[:, None], lengths[:, None] - 1 - t, t)
    return jnp.take_along_axis(x, idx, axis=1)


def pack_left(x, mask):
    order = jnp.argsort(~mask, axis=1, stable=True)
    return jnp.take_along_axis(x, order, axis=1), jnp.take_along_axis(mask, order, axis=1)


def run():
    seqs = [[3.0, 1.0, 4.0], [1.0, 5.0, 9.0, 2.0, 6.0], [5.0], [3.0, 5.0, 8.0, 9.0]]
    lengths = jnp.array([len(s) for s in seqs])
    max_len = 6
    batch = jnp.stack([jnp.pad(jnp.array(s), (0, max_len - len(s))) for s in seqs])
    mask = length_mask(lengths, max_len)
    v = jnp.array([1.0, 2.0, 4.0, 3.0])
    m2 = jnp.arange(6.0).reshape(2, 3)
    last = jnp.take_along_axis(batch, (lengths - 1)[:, None], axis=1)[:, 0]
    marks = jnp.put_along_axis(jnp.zeros((4, max_len)), (lengths - 1)[:, None], 1.0, axis=1,
                               inplace=False)
    flags = jnp.array([[0, 0, 1, 0, 1, 0], [1, 0, 0, 0, 0, 0], [0, 0, 0, 0, 0, 0],
                       [0, 1, 1, 0, 0, 1]], dtype=bool)
    packed, packed_mask = pack_left(batch, flags)
    logits = jnp.sin(jnp.arange(24.0).reshape(4, 6))
    targets = jnp.cos(jnp.arange(24.0).reshape(4, 6))

    def masked_loss(w):
        err = (batch * w - targets) ** 2
        return jnp.sum(jnp.where(mask, err, 0.0)) / mask.sum()

    return {
        "batch": batch,
        "mask": mask,
        "pad_constant": jnp.pad(v, (2, 1), constant_values=(-1.0, 9.0)),
        "pad_edge": jnp.pad(v, (2, 3), mode="edge"),
        "pad_reflect": jnp.pad(v, (3, 2), mode="reflect"),
        "pad_reflect_long": jnp.pad(v, (7, 6), mode="reflect"),
        "pad_reflect_odd": jnp.pad(v, (2, 2), mode="reflect", reflect_type="odd"),
        "pad_symmetric": jnp.pad(v, (3, 5), mode="symmetric"),
        "pad_symmetric_odd": jnp.pad(v, 3, mode="symmetric", reflect_type="odd"),
        "pad_wrap": jnp.pad(v, (5, 6), mode="wrap"),
        "pad_linear_ramp": jnp.pad(v, (3, 2), mode="linear_ramp", end_values=(10.0, -2.0)),
        "pad_maximum": jnp.pad(v, (1, 2), mode="maximum", stat_length=2),
        "pad_mean": jnp.pad(v, 2, mode="mean"),
        "pad_minimum": jnp.pad(v, (2, 1), mode="minimum", stat_length=(3, 1)),
        "pad_median": jnp.pad(v, 1, mode="median"),
        "pad_2d_mixed": jnp.pad(m2, ((1, 0), (2, 1)), mode="reflect"),
        "pad_2d_constant": jnp.pad(m2, ((0, 1), (1, 2)), constant_values=((7, 8), (5, 6))),
        "pad_2d_wrap": jnp.pad(m2, 2, mode="wrap"),
        "pad_int_mean": jnp.pad(jnp.array([1, 2, 4]), 2, mode="mean"),
        "pad_empty": jnp.pad(v, ((0, 0),)),
        "masked_mean": masked_mean(batch, mask),
        "masked_softmax": masked_softmax(logits, mask),
        "last_valid": last,
        "put_last": marks,
        "cum_positions": jnp.where(mask, jnp.cumsum(mask, axis=1) - 1, -1),
        "after_first_flag": jnp.cumsum(flags, axis=1) > 0,
        "until_first_flag": jnp.cumprod(~flags, axis=1).astype(bool),
        "reversed_valid": reverse_valid(batch, lengths),
        "packed": packed,
        "packed_mask": packed_mask,
        "n_valid_total": jnp.sum(mask),
        "masked_max": jnp.max(batch, axis=1, where=mask, initial=-jnp.inf),
        "masked_loss_grad": jax.grad(masked_loss)(jnp.float32(0.5)),
        "masked_loss_grad_row": jax.grad(
            lambda w: jnp.sum(jnp.where(mask, (batch * w[:, None] - targets) ** 2, 0.0)))(
                jnp.ones(4)),
    }


if __name__ == "__main__":
    print(run())
