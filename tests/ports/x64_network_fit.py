"""Fitting a small network in double precision (`jax.enable_x64(True)`), as scientific
machine-learning code does when float32 rounding would hide the error it studies: weights
from `jax.nn.initializers` with an explicit `dtype=jnp.float64` (`glorot_normal`,
`lecun_uniform`, `orthogonal`, `zeros`), a tanh MLP fitted to a smooth function by
full-batch gradient descent and then Levenberg-Marquardt steps (`jax.jacfwd` of the
residuals with respect to the parameters flattened with `jax.tree.flatten`/`unflatten`,
`jnp.linalg.solve`, `lstsq`), training losses that fall well below float32's resolution, the
gradient checked against central differences (which only agree in float64), `stax`
layers applied to float64 inputs with float64 parameters, and `optimizers.adam` over a
float64 parameter tree."""
import jax
import jax.numpy as jnp
from jax import random
from jax.flatten_util import ravel_pytree
from jax.example_libraries import optimizers, stax


def ravel(tree):
    leaves, treedef = jax.tree.flatten(tree)
    shapes = [leaf.shape for leaf in leaves]
    sizes = [leaf.size for leaf in leaves]
    flat = jnp.concatenate([leaf.ravel() for leaf in leaves])

    def unravel(v):
        parts, start = [], 0
        for shape, size in zip(shapes, sizes):
            parts.append(v[start:start + size].reshape(shape))
            start += size
        return jax.tree.unflatten(treedef, parts)
    return flat, unravel


def mlp(params, x):
    h = x[:, None]
    for layer in params[:-1]:
        h = jnp.tanh(h @ layer["w"] + layer["b"])
    return (h @ params[-1]["w"] + params[-1]["b"])[:, 0]


def run():
    with jax.enable_x64(True):
        ini = jax.nn.initializers
        k1, k2, k3, k4 = random.split(random.PRNGKey(0), 4)
        params = [
            {"w": ini.glorot_normal(dtype=jnp.float64)(k1, (1, 8)),
             "b": ini.zeros(k1, (8,), jnp.float64)},
            {"w": ini.orthogonal(dtype=jnp.float64)(k2, (8, 8)),
             "b": ini.zeros(k2, (8,), jnp.float64)},
            {"w": ini.lecun_uniform(dtype=jnp.float64)(k3, (8, 1)),
             "b": ini.zeros(k3, (1,), jnp.float64)},
        ]
        x = jnp.linspace(-1.0, 1.0, 24)
        y = jnp.sin(2.0 * x) + 0.3 * x ** 2
        loss = lambda p: jnp.mean((mlp(p, x) - y) ** 2)

        grad_fn = jax.jit(jax.grad(loss))
        p = params
        losses = []
        for i in range(60):
            g = grad_fn(p)
            p = jax.tree.map(lambda a, b: a - 0.2 * b, p, g)
            if i % 20 == 0:
                losses.append(loss(p))

        flat, unravel = ravel(p)
        resid = lambda f: mlp(unravel(f), x) - y
        for _ in range(15):
            jac = jax.jacfwd(resid)(flat)
            r = resid(flat)
            flat = flat + jnp.linalg.solve(jac.T @ jac + 1e-3 * jnp.eye(flat.size), -jac.T @ r)
            lm_check = jnp.linalg.lstsq(jac, -r, rcond=1e-10)[1]
        gn_loss = jnp.mean(resid(flat) ** 2)

        g_flat = jax.grad(lambda f: loss(unravel(f)))(flat)
        eps = 1e-6
        basis = jnp.eye(flat.size)[:5]
        fd = jnp.stack([(loss(unravel(flat + eps * e)) - loss(unravel(flat - eps * e))) / (2 * eps)
                        for e in basis])

        init_fun, apply_fun = stax.serial(stax.Dense(4, W_init=ini.glorot_normal(dtype=jnp.float64),
                                                     b_init=ini.normal(dtype=jnp.float64)),
                                          stax.Tanh, stax.Dense(1, W_init=ini.lecun_normal(
                                              dtype=jnp.float64), b_init=ini.zeros))
        _, sp = init_fun(k4, (-1, 3))
        out = apply_fun(sp, jnp.stack([x[:5], x[5:10], x[10:15]], axis=1))

        opt_init, opt_update, get_params = optimizers.adam(0.05)
        state = opt_init(params)
        for i in range(25):
            state = opt_update(i, jax.grad(loss)(get_params(state)), state)
        adam_loss = loss(get_params(state))
        default_w = ini.glorot_normal()(k1, (2, 3))
        _, default_stax = stax.Dense(2)[0](k4, (-1, 3))
        rflat, runravel = ravel_pytree(params)
        return {
            "default_init_dtype": str(default_w.dtype),
            "default_init": default_w,
            "default_stax_w": default_stax[0],
            "default_zeros": str(ini.zeros(k1, (2,)).dtype),
            "ravel_pytree": rflat[:6],
            "ravel_roundtrip": runravel(rflat)[1]["w"][0],
            "init_w0": params[0]["w"],
            "init_orth_check": jnp.max(jnp.abs(params[1]["w"] @ params[1]["w"].T - jnp.eye(8)))
            < 1e-12,
            "gd_losses": jnp.stack(losses),
            "gn_loss": gn_loss,
            "gn_loss_below_f32": gn_loss < 1e-6,
            "lstsq_residual_shape": jnp.array(lm_check.shape),
            "gn_params_head": flat[:6],
            "grad_vs_fd": jnp.max(jnp.abs(g_flat[:5] - fd)) < 1e-8,
            "fd": fd,
            "stax_out": out,
            "stax_dtypes": " ".join(str(a.dtype) for a in jax.tree.leaves(sp)),
            "adam_loss": adam_loss,
            "dtypes": " ".join(str(a.dtype) for a in (params[0]["w"], params[1]["w"], flat, gn_loss,
                                                       out, adam_loss)),
        }


if __name__ == "__main__":
    print(run())
