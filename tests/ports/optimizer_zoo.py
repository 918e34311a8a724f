"""Every optimizer of `jax.example_libraries.optimizers`, as its docstring shows them used
(`opt_init, opt_update, get_params = optimizers.adam(...)`), for a few steps on a small
least-squares problem over a pytree of parameters (a dict holding a matrix, a vector and a
scalar), with each learning-rate schedule (`constant`, `exponential_decay`,
`inverse_time_decay` with and without `staircase`, `polynomial_decay`, `piecewise_constant`)
and the step index both a Python int (eager) and traced (`jit`); the whole optimizer state is
compared, through `unpack_optimizer_state`/`pack_optimizer_state`, along with `clip_grads`
and `l2_norm`, and `sm3` on a 3-D and a scalar parameter."""
import jax
import jax.numpy as jnp
from jax import random
from jax.example_libraries import optimizers


def make_problem():
    k1, k2, k3 = random.split(random.PRNGKey(7), 3)
    x = random.normal(k1, (12, 3))
    y = random.normal(k2, (12, 2))
    params = {"w": 0.3 * random.normal(k3, (3, 2)), "b": jnp.array([0.1, -0.2]),
              "s": jnp.float32(1.5)}
    return params, x, y


def loss(params, x, y):
    pred = params["s"] * (x @ params["w"]) + params["b"]
    return jnp.mean((pred - y) ** 2) + 0.01 * params["s"] ** 2


def train(opt, params, x, y, steps=6, jit=True):
    opt_init, opt_update, get_params = opt

    def step(i, state):
        g = jax.grad(loss)(get_params(state), x, y)
        return opt_update(i, g, state)

    if jit:
        step = jax.jit(step)
    state = opt_init(params)
    for i in range(steps):
        state = step(i, state)
    return state, get_params


def state_leaves(state):
    """The optimizer state as one flat float vector (via the serialisation helpers)."""
    marked = optimizers.unpack_optimizer_state(state)
    subtrees = [join_point.subtree for join_point in jax.tree.leaves(marked)]
    leaves = jax.tree.leaves(subtrees)
    return jnp.concatenate([jnp.ravel(jnp.asarray(v, jnp.float32)) for v in leaves])


def run():
    params, x, y = make_problem()
    sched = {
        "const": optimizers.constant(0.05),
        "exp": optimizers.exponential_decay(0.1, decay_steps=2, decay_rate=0.5),
        "inv": optimizers.inverse_time_decay(0.1, decay_steps=2, decay_rate=0.5),
        "inv_stair": optimizers.inverse_time_decay(0.1, 2, 0.5, staircase=True),
        "poly": optimizers.polynomial_decay(0.1, decay_steps=4, final_step_size=0.01,
                                            power=2.0),
        "piece": optimizers.piecewise_constant([1, 3], [0.1, 0.05, 0.01]),
    }
    out = {}
    for name, s in sched.items():
        out[f"sched_{name}_eager"] = jnp.array([s(i) for i in range(6)], jnp.float32)
        out[f"sched_{name}_traced"] = jax.vmap(s)(jnp.arange(6))

    makers = {
        "sgd": lambda: optimizers.sgd(sched["exp"]),
        "momentum": lambda: optimizers.momentum(0.05, mass=0.9),
        "nesterov": lambda: optimizers.nesterov(sched["inv"], mass=0.8),
        "adagrad": lambda: optimizers.adagrad(0.1, momentum=0.5),
        "rmsprop": lambda: optimizers.rmsprop(sched["poly"], gamma=0.8, eps=1e-6),
        "rmsprop_momentum": lambda: optimizers.rmsprop_momentum(0.01, gamma=0.9,
                                                                momentum=0.7),
        "adam": lambda: optimizers.adam(sched["piece"], b1=0.8, b2=0.99),
        "adamax": lambda: optimizers.adamax(sched["inv_stair"]),
        "sm3": lambda: optimizers.sm3(0.1, momentum=0.6),
    }
    for name, make in makers.items():
        # sm3 keeps the parameter's shape in its state: its get_params cannot run under jit
        state, get_params = train(make(), params, x, y, jit=name != "sm3")
        out[f"{name}_state"] = state_leaves(state)
        out[f"{name}_loss"] = loss(get_params(state), x, y)
    # eager updates with Python-int steps agree with the jitted ones
    state, get_params = train(optimizers.adam(sched["exp"]), params, x, y, jit=False)
    out["adam_eager_state"] = state_leaves(state)

    # serialisation round trip keeps the optimizer going
    opt_init, opt_update, get_params = optimizers.momentum(0.1, 0.9)
    state = opt_init(params)
    state = opt_update(0, jax.grad(loss)(params, x, y), state)
    repacked = optimizers.pack_optimizer_state(optimizers.unpack_optimizer_state(state))
    state2 = opt_update(1, jax.grad(loss)(get_params(repacked), x, y), repacked)
    out["repacked_state"] = state_leaves(state2)
    out["unpacked_structure"] = str(jax.tree.structure(
        jax.tree.map(lambda jp: 0, optimizers.unpack_optimizer_state(state),
                     is_leaf=lambda v: isinstance(v, optimizers.JoinPoint))))

    # clip_grads / l2_norm
    g = jax.grad(loss)(params, x, y)
    out["l2_norm"] = optimizers.l2_norm(g)
    out["clip_small"] = jnp.concatenate([jnp.ravel(v) for v in
                                         jax.tree.leaves(optimizers.clip_grads(g, 0.1))])
    out["clip_large"] = jnp.concatenate([jnp.ravel(v) for v in
                                         jax.tree.leaves(optimizers.clip_grads(g, 1e3))])
    out["l2_norm_nested"] = optimizers.l2_norm([jnp.ones((2, 2)), (jnp.arange(3.0),)])

    # sm3 on a 3-D parameter and on a scalar, jitted update
    w3 = jnp.arange(24.0).reshape(2, 3, 4) / 10.0
    opt_init, opt_update, get_params = optimizers.sm3(0.05)
    st = opt_init((w3, jnp.float32(2.0)))
    upd = jax.jit(opt_update)
    for i in range(3):
        p = get_params(st)
        gr = jax.grad(lambda q: jnp.sum(jnp.sin(q[0]) * q[1]) + q[1] ** 2)(p)
        st = upd(i, gr, st)
    p = get_params(st)
    out["sm3_w3"] = p[0]
    out["sm3_scalar"] = p[1]
    out["sm3_scalar_shape"] = jnp.array(jnp.shape(p[1]), jnp.int32)
    return out


if __name__ == "__main__":
    print(run())
