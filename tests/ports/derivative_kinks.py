"""Derivatives at kinks, ties, poles and infinities, where JAX's rules pick a convention
and code that trains through them depends on it: `abs`/`sign`/`sqrt`/`cbrt` at 0,
`maximum`/`minimum`/`fmax`/`lax.max` ties, `max`/`min`/`nanmax`/`ptp` reductions with ties
(also with `where=` and `initial=`), `clip` at its bounds (and its bounds' gradients), the
`jax.nn` activations at their corners (`relu`, `relu6`, `hard_tanh`, `elu`, `celu`,
`selu`, `hard_sigmoid`, `hard_silu`, `sparse_plus`, `sparse_sigmoid`, `squareplus`,
`mish`, `softplus`/`log_sigmoid` far out, `log1mexp`), `power` at 0 with each exponent,
`hypot`/`arctan2` at the origin, `logaddexp` with infinite and equal arguments, `sinc`
and its second derivative at 0, `floor`/`round`/`mod`/`fmod`/`floor_divide`/`copysign`
gradients, `sort`/`median`/`quantile`/`percentile` with ties, `norm`/`std` at a constant,
`logsumexp`/`softmax` with `-inf` entries, `prod`/`cumprod` through zeros, `cummin`,
`reduce_window` and `top_k` ties, and `scipy.special` functions at their poles."""
import jax
import jax.numpy as jnp
from jax import lax, nn
from jax.scipy import special


def g(f, *xs):
    return jnp.stack([jnp.asarray(jax.grad(f)(x)) for x in xs])


def g2(f, x, y):
    return jnp.stack(jax.grad(f, argnums=(0, 1))(x, y))


def run():
    return {
        "abs_0": g(jnp.abs, 0.0, -0.0),
        "sign": g(jnp.sign, 0.0, 1.0),
        "sqrt_0": g(jnp.sqrt, 0.0),
        "cbrt_0": g(jnp.cbrt, 0.0, -8.0),
        "maximum_tie": g2(jnp.maximum, 1.0, 1.0),
        "minimum_tie": g2(jnp.minimum, 1.0, 1.0),
        "fmax_tie": g2(jnp.fmax, 1.0, 1.0),
        "fmin_nan": g2(jnp.fmin, jnp.nan, 1.0),
        "lax_max_tie": g2(lax.max, 2.0, 2.0),
        "max_reduce_ties": jax.grad(lambda t: jnp.max(t))(jnp.array([1.0, 3.0, 3.0, 3.0])),
        "min_reduce_ties_axis": jax.grad(lambda t: jnp.sum(jnp.min(t, axis=1)))(jnp.array([[1.0, 1.0], [2.0, 0.0]])),
        "amax_where_ties": jax.grad(lambda t: jnp.max(t, where=jnp.array([True, False, True]), initial=-1.0))(jnp.array([2.0, 2.0, 2.0])),
        "max_initial_wins": jax.grad(lambda t: jnp.max(t, initial=5.0))(jnp.array([1.0, 2.0])),
        "max_initial_tie": jax.grad(lambda t: jnp.max(t, initial=2.0))(jnp.array([1.0, 2.0])),
        "nanmax_ties": jax.grad(lambda t: jnp.nanmax(t))(jnp.array([jnp.nan, 2.0, 2.0])),
        "ptp_grad": jax.grad(lambda t: jnp.ptp(t))(jnp.array([1.0, 3.0, 1.0, 3.0])),
        "argmax_gather_grad": jax.grad(lambda t: t[jnp.argmax(t)])(jnp.array([1.0, 3.0, 3.0])),
        "clip_edges": g(lambda t: jnp.clip(t, -1.0, 1.0), -1.0, 1.0, 0.0, 2.0),
        "clip_grad_bounds": jnp.stack(jax.grad(lambda t, lo, hi: jnp.clip(t, lo, hi), argnums=(0, 1, 2))(1.0, 1.0, 1.0)),
        "relu_0": g(nn.relu, 0.0),
        "relu6_edges": g(nn.relu6, 0.0, 6.0),
        "hard_tanh_edges": g(nn.hard_tanh, -1.0, 1.0),
        "leaky_relu_0": g(nn.leaky_relu, 0.0),
        "elu_0": g(nn.elu, 0.0),
        "celu_0": g(nn.celu, 0.0),
        "selu_0": g(nn.selu, 0.0),
        "hard_sigmoid_edges": g(nn.hard_sigmoid, -3.0, 3.0),
        "hard_silu_edges": g(nn.hard_silu, -3.0, 3.0),
        "squareplus_0": g(nn.squareplus, 0.0),
        "sparse_plus_edges": g(nn.sparse_plus, -1.0, 1.0, 0.0),
        "sparse_sigmoid_edges": g(nn.sparse_sigmoid, -1.0, 1.0),
        "soft_sign_0": g(nn.soft_sign, 0.0),
        "mish_0": g(nn.mish, 0.0, -20.0),
        "softplus_big": g(nn.softplus, 100.0, -100.0),
        "log_sigmoid_big": g(nn.log_sigmoid, -100.0, 100.0),
        "log1mexp": g(nn.log1mexp, 1e-3, 10.0),
        "power_0_0": g2(jnp.power, 0.0, 0.0),
        "power_0_2": g2(jnp.power, 0.0, 2.0),
        "power_0_half": g2(jnp.power, 0.0, 0.5),
        "power_neg_int": g2(jnp.power, -2.0, 3.0),
        "float_power": g2(jnp.float_power, 0.0, 1.0),
        "pow_op_0_1": g2(lambda a, b: a ** b, 0.0, 1.0),
        "integer_pow_0": g(lambda t: t ** 3, 0.0),
        "x_pow_0_int": g(lambda t: t ** 0, 0.0),
        "hypot_0": g2(jnp.hypot, 0.0, 0.0),
        "arctan2_0": g2(jnp.arctan2, 0.0, 0.0),
        "logaddexp_inf": g2(jnp.logaddexp, -jnp.inf, -jnp.inf),
        "logaddexp_eq": g2(jnp.logaddexp, 1.0, 1.0),
        "sinc_0": g(jnp.sinc, 0.0, 1.0),
        "sinc_hess_0": jax.grad(jax.grad(jnp.sinc))(0.0),
        "i0_0": g(jnp.i0, 0.0, 1.0),
        "floor_round": jnp.stack([g(jnp.floor, 1.5), g(jnp.round, 1.5), g(jnp.ceil, 1.5), g(jnp.trunc, -1.5), g(jnp.rint, 0.5)]),
        "mod_grads": g2(jnp.mod, 5.5, 2.0),
        "fmod_grads": g2(jnp.fmod, -5.5, 2.0),
        "remainder_neg": g2(jnp.remainder, -5.5, 2.0),
        "floor_divide_grad": g2(jnp.floor_divide, 5.5, 2.0),
        "copysign_grad": g2(jnp.copysign, 2.0, -1.0),
        "ldexp_grad": g(lambda t: jnp.ldexp(t, 3), 1.5),
        "heaviside_grad": g2(jnp.heaviside, 0.0, 0.5),
        "where_grad": jax.grad(lambda t: jnp.sum(jnp.where(t > 0, t, jnp.zeros_like(t))))(jnp.array([-1.0, 0.0, 1.0])),
        "sort_ties_grad": jax.grad(lambda t: jnp.sum(jnp.sort(t) * jnp.arange(4.0)))(jnp.array([2.0, 1.0, 2.0, 1.0])),
        "median_grad": jax.grad(jnp.median)(jnp.array([3.0, 1.0, 2.0, 2.0])),
        "median_odd_ties": jax.grad(jnp.median)(jnp.array([2.0, 1.0, 2.0])),
        "quantile_grad": jax.grad(lambda t: jnp.quantile(t, 0.3))(jnp.array([4.0, 1.0, 3.0, 2.0])),
        "quantile_nearest_grad": jax.grad(lambda t: jnp.quantile(t, 0.5, method="nearest"))(jnp.array([4.0, 1.0, 3.0, 2.0])),
        "percentile_ties_grad": jax.grad(lambda t: jnp.percentile(t, 50.0))(jnp.array([2.0, 2.0, 2.0, 2.0])),
        "norm_0": jax.grad(jnp.linalg.norm)(jnp.zeros(3)),
        "std_const": jax.grad(jnp.std)(jnp.ones(3)),
        "var_ddof": jax.grad(lambda t: jnp.var(t, ddof=1))(jnp.array([1.0, 2.0, 4.0])),
        "logsumexp_all_ninf": jax.grad(special.logsumexp)(jnp.full(3, -jnp.inf)),
        "logsumexp_inf": jax.grad(special.logsumexp)(jnp.array([jnp.inf, 0.0])),
        "softmax_ninf": jax.grad(lambda t: nn.softmax(t)[1])(jnp.array([-jnp.inf, 0.0, 1.0])),
        "log_softmax_ninf": jax.grad(lambda t: nn.log_softmax(t)[1])(jnp.array([-jnp.inf, 0.0, 1.0])),
        "xlogy_x0": g2(special.xlogy, 0.0, 1.0),
        "entr_0": g(special.entr, 0.0, 1.0),
        "arccos_1": g(jnp.arccos, 1.0, 0.0),
        "arctanh_1": g(jnp.arctanh, 1.0),
        "log1p_m1": g(jnp.log1p, -1.0),
        "expm1_big": g(jnp.expm1, 100.0),
        "tanh_big": g(jnp.tanh, 20.0),
        "cumprod_zero": jax.grad(lambda t: jnp.sum(jnp.cumprod(t)))(jnp.array([2.0, 0.0, 3.0, 0.0])),
        "prod_zero": jax.grad(jnp.prod)(jnp.array([2.0, 0.0, 3.0])),
        "prod_two_zeros": jax.grad(jnp.prod)(jnp.array([0.0, 0.0, 3.0])),
        "cummin_ties": jax.grad(lambda t: jnp.sum(lax.cummin(t)))(jnp.array([2.0, 1.0, 1.0, 3.0])),
        "reduce_window_max_ties": jax.grad(lambda t: jnp.sum(lax.reduce_window(t, -jnp.inf, lax.max, (2,), (1,), "VALID")))(jnp.array([1.0, 1.0, 1.0])),
        "top_k_ties": jax.grad(lambda t: jnp.sum(lax.top_k(t, 2)[0] * jnp.array([1.0, 10.0])))(jnp.array([2.0, 2.0, 2.0])),
        "round_decimals": g(lambda t: jnp.round(t, 2), 1.234),
        "nan_to_num": g(jnp.nan_to_num, jnp.inf, jnp.nan, 1.0),
        "erfinv_1": g(special.erfinv, 1.0),
        "gammaln_neg": g(special.gammaln, -0.5, -2.5),
        "digamma_neg": g(special.digamma, -0.5),
        "logit_0": g(special.logit, 0.0),
    }


if __name__ == "__main__":
    print(run())
