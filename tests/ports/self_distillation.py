"""Self-supervised teacher/student training as BYOL- and DINO-style JAX code writes it: two
augmented views of a batch (Gaussian noise and feature masking from `random.normal` and
`random.bernoulli` with per-view keys from `random.split`), an online network with a
predictor and a target network updated as an EMA of the online parameters with a
cosine-increasing momentum, the BYOL loss (2 - 2 cos between the L2-normalised prediction
and the `lax.stop_gradient` target projection, symmetrised over views), DINO's centred and
sharpened teacher softmax (teacher temperature lower than the student's, the centre an EMA
of batch means under `stop_gradient`) with the cross-entropy summed over pairs of
different views, the variance/covariance terms of VICReg (`jnp.cov`-free covariance,
`jax.nn.relu` hinge on the standard deviation, off-diagonal sum via a mask), and a few
jitted steps whose returned state is a nested tuple of dicts."""
import jax
import jax.numpy as jnp
from jax import lax, random


def mlp_init(key, sizes):
    keys = random.split(key, len(sizes) - 1)
    return [{"w": random.normal(k, (m, n)) / jnp.sqrt(m), "b": jnp.zeros(n)}
            for k, m, n in zip(keys, sizes[:-1], sizes[1:])]


def mlp(params, x):
    for i, layer in enumerate(params):
        x = x @ layer["w"] + layer["b"]
        if i < len(params) - 1:
            x = jax.nn.relu(x)
    return x


def augment(key, x):
    kn, km = random.split(key)
    noise = 0.1 * random.normal(kn, x.shape)
    keep = random.bernoulli(km, 0.8, x.shape)
    return jnp.where(keep, x + noise, 0.0)


def normalize(v):
    return v / jnp.sqrt(jnp.sum(v * v, axis=-1, keepdims=True) + 1e-12)


def byol_loss(online, target, v1, v2):
    def one(a, b):
        p = normalize(mlp(online["pred"], mlp(online["enc"], a)))
        z = normalize(lax.stop_gradient(mlp(target["enc"], b)))
        return jnp.mean(2.0 - 2.0 * jnp.sum(p * z, axis=-1))
    return one(v1, v2) + one(v2, v1)


def dino_loss(student, teacher, center, views, t_s=0.1, t_t=0.04):
    s_out = [jax.nn.log_softmax(mlp(student, v) / t_s, axis=-1) for v in views]
    t_out = [lax.stop_gradient(jax.nn.softmax((mlp(teacher, v) - center) / t_t, axis=-1))
             for v in views]
    total, n = 0.0, 0
    for i, t in enumerate(t_out):
        for j, s in enumerate(s_out):
            if i != j:
                total = total + jnp.mean(-jnp.sum(t * s, axis=-1))
                n += 1
    batch_center = jnp.mean(jnp.concatenate([mlp(teacher, v) for v in views]), axis=0)
    return total / n, lax.stop_gradient(batch_center)


def vicreg_terms(z, gamma=1.0):
    z = z - jnp.mean(z, axis=0)
    std = jnp.sqrt(jnp.var(z, axis=0) + 1e-4)
    var_term = jnp.mean(jax.nn.relu(gamma - std))
    cov = z.T @ z / (z.shape[0] - 1)
    off = ~jnp.eye(z.shape[1], dtype=bool)
    cov_term = jnp.sum(jnp.where(off, cov, 0.0) ** 2) / z.shape[1]
    return var_term, cov_term, cov


def momentum_schedule(step, total, base=0.9):
    return 1.0 - (1.0 - base) * (jnp.cos(jnp.pi * step / total) + 1.0) / 2.0


def run():
    key = random.PRNGKey(314)
    kx, ke, kp, kd, ks = random.split(key, 5)
    x = random.normal(kx, (8, 5))
    online = {"enc": mlp_init(ke, (5, 6, 4)), "pred": mlp_init(kp, (4, 6, 4))}
    target = {"enc": jax.tree.map(lambda a: a * 1.0, online["enc"])}
    student = mlp_init(kd, (5, 6, 3))
    teacher = jax.tree.map(lambda a: a + 0.0, student)
    center = jnp.zeros(3)

    @jax.jit
    def step(state, k, t):
        (online, target), (student, teacher, center) = state
        k1, k2 = random.split(k)
        v1, v2 = augment(k1, x), augment(k2, x)
        b_loss, g = jax.value_and_grad(byol_loss)(online, target, v1, v2)
        online = jax.tree.map(lambda p, gp: p - 0.1 * gp, online, g)
        m = momentum_schedule(t, 6)
        target = {"enc": jax.tree.map(lambda tp, op: m * tp + (1 - m) * op, target["enc"],
                                      online["enc"])}
        (d_loss, batch_center), gd = jax.value_and_grad(dino_loss, has_aux=True)(
            student, teacher, center, [v1, v2])
        student = jax.tree.map(lambda p, gp: p - 0.1 * gp, student, gd)
        teacher = jax.tree.map(lambda tp, sp: m * tp + (1 - m) * sp, teacher, student)
        center = 0.9 * center + 0.1 * batch_center
        return ((online, target), (student, teacher, center)), jnp.stack([b_loss, d_loss, m])

    state = ((online, target), (student, teacher, center))
    logs = []
    for t in range(6):
        state, log = step(state, random.fold_in(ks, t), t)
        logs.append(log)
    (online, target), (student, teacher, center) = state
    z = mlp(online["enc"], x)
    var_term, cov_term, cov = vicreg_terms(z)
    vic_grad = jax.grad(lambda p: jnp.add(*vicreg_terms(mlp(p, x))[:2]))(online["enc"])
    return {
        "logs": jnp.stack(logs),
        "online_enc_w": online["enc"][1]["w"],
        "target_enc_w": target["enc"][1]["w"],
        "student_b": student[0]["b"],
        "teacher_w": teacher[1]["w"][:, 0],
        "center": center,
        "state_tree": str(jax.tree.structure(state)).replace("'", ""),
        "vicreg": jnp.stack([var_term, cov_term]),
        "cov": cov,
        "vicreg_grad": vic_grad[0]["w"],
        "momentum": momentum_schedule(jnp.arange(7), 6),
        "augmented": augment(ks, x[:2]),
    }


if __name__ == "__main__":
    print(run())
