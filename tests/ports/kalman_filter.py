"""A linear-Gaussian state-space model as JAX's time-series examples write it: data
simulated with `lax.scan` over split keys, the Kalman filter as a `scan` over
observations (predict, update with `jnp.linalg.solve` and the Joseph form), the
log-likelihood from `jax.scipy.stats.multivariate_normal.logpdf`, the Rauch-Tung-Striebel
smoother as a reverse `scan`, the gradient of the log-likelihood with respect to the log
noise scales (under `jit`), a few steps of gradient ascent, missing observations handled
with `jnp.where` on a mask, and filtering a batch of sequences with `vmap`."""
import jax
import jax.numpy as jnp
from jax import lax, random
from jax.scipy.stats import multivariate_normal

DT = 0.1
F = jnp.array([[1.0, DT], [0.0, 1.0]])
H = jnp.array([[1.0, 0.0]])


def noise(log_q, log_r):
    q = jnp.exp(2 * log_q) * jnp.array([[DT ** 3 / 3, DT ** 2 / 2], [DT ** 2 / 2, DT]])
    r = jnp.exp(2 * log_r) * jnp.eye(1)
    return q, r


def simulate(key, log_q, log_r, n):
    q, r = noise(log_q, log_r)
    lq = jnp.linalg.cholesky(q + 1e-9 * jnp.eye(2))

    def step(x, k):
        k1, k2 = random.split(k)
        x = F @ x + lq @ random.normal(k1, (2,))
        y = H @ x + jnp.sqrt(r[0, 0]) * random.normal(k2, (1,))
        return x, (x, y)

    _, (xs, ys) = lax.scan(step, jnp.array([0.0, 1.0]), random.split(key, n))
    return xs, ys


def kalman_filter(params, ys, mask):
    q, r = noise(params["log_q"], params["log_r"])

    def step(carry, inp):
        m, p, ll = carry
        y, seen = inp
        m_pred = F @ m
        p_pred = F @ p @ F.T + q
        s = H @ p_pred @ H.T + r
        k = jnp.linalg.solve(s, H @ p_pred).T
        m_new = m_pred + k @ (y - H @ m_pred)
        i_kh = jnp.eye(2) - k @ H
        p_new = i_kh @ p_pred @ i_kh.T + k @ r @ k.T
        ll_t = multivariate_normal.logpdf(y, H @ m_pred, s)
        m_out = jnp.where(seen, m_new, m_pred)
        p_out = jnp.where(seen, p_new, p_pred)
        return (m_out, p_out, ll + jnp.where(seen, ll_t, 0.0)), (m_out, p_out, m_pred, p_pred)

    init = (jnp.zeros(2), jnp.eye(2), 0.0)
    (_, _, ll), outs = lax.scan(step, init, (ys, mask))
    return ll, outs


def rts_smoother(ms, ps, m_preds, p_preds):
    def step(carry, inp):
        m_next, p_next = carry
        m, p, m_pred, p_pred = inp
        g = jnp.linalg.solve(p_pred.T, (p @ F.T).T).T
        m_s = m + g @ (m_next - m_pred)
        p_s = p + g @ (p_next - p_pred) @ g.T
        return (m_s, p_s), (m_s, p_s)

    last = (ms[-1], ps[-1])
    _, (m_s, p_s) = lax.scan(step, last, (ms[:-1], ps[:-1], m_preds[1:], p_preds[1:]),
                             reverse=True)
    return jnp.concatenate([m_s, ms[-1:]]), jnp.concatenate([p_s, ps[-1:]])


def run():
    key = random.PRNGKey(3)
    true = {"log_q": jnp.float32(0.3), "log_r": jnp.float32(-0.7)}
    xs, ys = simulate(key, true["log_q"], true["log_r"], 40)
    mask = (jnp.arange(40) % 7) != 3
    params = {"log_q": jnp.float32(-0.5), "log_r": jnp.float32(0.2)}
    ll, (ms, ps, m_preds, p_preds) = kalman_filter(params, ys, mask)
    m_s, p_s = rts_smoother(ms, ps, m_preds, p_preds)
    loss = jax.jit(lambda p: -kalman_filter(p, ys, mask)[0])
    grad = jax.jit(jax.grad(lambda p: -kalman_filter(p, ys, mask)[0]))
    g0 = grad(params)
    p = params
    history = []
    for _ in range(15):
        g = grad(p)
        p = jax.tree.map(lambda v, d: v - 0.01 * d, p, g)
        history.append(loss(p))
    _, batch_ys = jax.vmap(lambda k: simulate(k, true["log_q"], true["log_r"], 40))(
        random.split(random.PRNGKey(8), 3))
    batch_ll = jax.vmap(lambda y: kalman_filter(true, y, mask)[0])(batch_ys)
    return {
        "states": xs[::5],
        "observations": ys[:, 0],
        "loglik": ll,
        "filtered_means": ms,
        "filtered_var_pos": ps[:, 0, 0],
        "smoothed_means": m_s,
        "smoothed_var_vel": p_s[:, 1, 1],
        "grad_log_q": g0["log_q"],
        "grad_log_r": g0["log_r"],
        "fit_losses": jnp.stack(history),
        "fit_params": jnp.stack([p["log_q"], p["log_r"]]),
        "batch_loglik": batch_ll,
        "rmse_filter_vs_smoother": jnp.stack([
            jnp.sqrt(jnp.mean((ms[:, 0] - xs[:, 0]) ** 2)),
            jnp.sqrt(jnp.mean((m_s[:, 0] - xs[:, 0]) ** 2))]),
    }


if __name__ == "__main__":
    print(run())
