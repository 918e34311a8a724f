"""Fuzz ops with generated bodies: `lax.scan`, `lax.cond`, `lax.switch`, `lax.while_loop`,
`lax.fori_loop` (static and traced bounds), and recurrent cells (GRU, LSTM) and attention.

A body is itself a generated `Program` whose formals are the carry (and the scanned slice or
loop index); it may read any value of the enclosing program (closures) and nest further
control flow up to `generate.MAX_DEPTH`. Carries and branch results are coerced to their
declared type with `broadcast_to`/`astype` ops, so every body is well typed."""
from __future__ import annotations

import math

import numpy as np

from .generate import Builder, fill
from .ops import OpDef, as_dtype, bcast, register
from .program import EPS, Ctx, Program, acc_overflow, evaluate, fix, growth, render
from .values import BOOL, I32, ONE, Type, default_int, is_float


def _strong(b: Builder, x: str) -> str:
    t = b.types[x]
    if t.weak:
        return b.emit("astype", (x,), {"dtype": t.dtype}, (t.with_(weak=False),))[0]
    return x


def _coerce(c: Builder, target: Type, like: str) -> str:
    """A value of `c` with exactly type `target` (non-weak): the most recent value that
    broadcasts to it, broadcast (against the formal `like`) and cast."""
    cands = [v for v in reversed(c.visible())
             if bcast(c, c.types[v].dims, target.dims) == target.dims]
    cands = [v for v in cands if v in c.pool] or [like]
    v = cands[0]
    t = c.types[v]
    if t.dims != target.dims:
        v = c.emit("broadcast_to", (v, like), {"kind": "like"},
                   (t.with_(dims=target.dims),))[0]
        t = c.types[v]
    if t.dtype != target.dtype or t.weak:
        v = c.emit("astype", (v,), {"dtype": target.dtype}, (target.with_(weak=False),))[0]
    return v


def _body(b: Builder, formals, n_max: int = 6, min_ops: int = 0) -> Builder:
    c = b.child()
    for name, t in formals:
        c.types[name] = t
        c.pool.append(name)
    fill(c, b.integers(min_ops, n_max))
    return c


def _update_carry(c: Builder, v: str, nested: bool = True) -> None:
    """End a loop body with an update of its carry `v` (rank >= 1): `v.at[...]` (any
    method), `lax.dynamic_update_slice(v, new, ...)`, or a window of `v` itself moved by
    one (`dynamic_update_slice(v, dynamic_slice(v, ...), ...)`, the old value read where
    it is written), or a `lax.cond` of such an update and another or the carry itself. The
    C backend writes such an update into the carry's own buffer
    (`Executable._in_place_updates`), computing a value read from the old carry first."""
    from .ops_array import (_dyn_slice_gen, _dyn_update_gen, _scatter_gen, _starts,
                            _where_row_gen)
    kind = c.choice(["scatter", "dynamic_update_slice", "shift", "where_row"] +
                    (["cond"] if nested else []))
    if kind == "cond":
        # `lax.cond(p, update, update or pass, v)`: the cond's result in `v`'s buffer
        pred = _predicate(c)
        t = c.types[v]
        progs = []
        for updates in (True, c.flag(0.5)):
            formal = (c.fresh("o"), t)
            cb = _body(c, [formal], n_max=0)
            if updates:
                _update_carry(cb, formal[0], nested=False)
            progs.append(_program(c, cb, c.fresh("branch"), [formal],
                                  [_coerce(cb, t, formal[0])]))
        if c.flag(0.5):
            progs.reverse()
        c.emit("cond", (pred, v), {"true": progs[0], "false": progs[1]}, (t,))
        return
    c.pick = lambda pred=None, make=None: v       # (the generator's operand: the carry)
    try:
        if kind == "shift":
            _dyn_slice_gen(c, "dynamic_slice")
            w, t = c.ops[-1].outs[0], c.types[v]
            starts, names = _starts(c, t, c.dims.shape(t.dims), [0, 1, -1, 7])
            c.emit("dynamic_update_slice", (v, w) + names, {"starts": starts}, (t,))
        elif kind == "scatter":
            _scatter_gen(c, "at")
        elif kind == "where_row":
            _where_row_gen(c, kind)
        else:
            _dyn_update_gen(c, kind)
    finally:
        del c.pick


def _program(b: Builder, c: Builder, name: str, formals, outputs) -> Program:
    return Program(name, [], c.ops, list(outputs), b.dims, b.fdtype, b.x64,
                   args=list(formals))


def _run_body(prog: Program, env: dict, ctx: Ctx, values) -> list:
    """Run body `prog` on formals `values` in a scope of its own, enclosed by `env`.

    The base run keeps each call's scope in `env` under the body's name and call number
    there (the k-th call of a body within one step of its enclosing scope is its k-th
    iteration, or its branch when taken), and a perturbed run's k-th call measures against
    it: its ops' perturbations, comparisons and lost values then work as at the top level.
    Without it no body value had a base run's value, so a value that lost all accuracy in
    a body looked accurate: sinc(1.0) (3.9e-17, any sign within its error of 2e-6) carried
    into fmin(0.0, c) gave 0 in every perturbed run that happened to err upwards, and
    funcgrad's (and JAX's) -2.8e-08 was reported (seed 20261214). A carry enters the next
    step as an intermediate: it is given up on (drift) where it lost all accuracy; the
    body's results themselves keep their values (a loop's output is still checked for
    gross errors). A call the base run did not make (another branch, a longer while loop)
    has no base run's values."""
    local = dict(env)
    for (name, _), v in zip(prog.args, values):
        local[name] = v
    count = f"{prog.name}#n"
    k = env.get(count, 0)
    env[count] = k + 1
    key = f"{prog.name}#{k}"
    pert = ctx.perturb
    if pert is None:
        out = evaluate(prog, local, ctx)
        if not ctx.exact:
            env[key] = local
        return out
    outer = pert.base
    scope = outer.get(key)
    pert.base = scope if isinstance(scope, dict) else {}
    try:
        for name, _ in prog.args:
            local[name] = pert.drift(name, np.asarray(local[name]))
        return evaluate(prog, local, ctx)
    finally:
        pert.base = outer


def _body_src(prog: Program, indent: str) -> list[str]:
    return render(prog, indent)


# ---------------------------------------------------------------------------------------
# scan

def _scan_gen(b: Builder, opname):
    init = b.pick(lambda t: is_float(t.dtype) or (not b.grad and t.dtype == I32),
                  lambda: Type(b.rand_dims(max_rank=3), b.fdtype))
    init = _strong(b, init)
    ct = b.types[init]
    if b.flag(0.8):
        # The oracle runs the body once per step in Python: at most 64 steps.
        xs = b.pick(lambda t: t.rank >= 1 and (is_float(t.dtype) or not b.grad) and
                    b.dims.numel(t.dims[:1]) <= 64,
                    lambda: Type((b.new_dim(allow_zero=not b.grad),) + b.compat_dims(ct.dims),
                                 b.fdtype))
        xt = b.types[xs]
        length_dim = xt.dims[0]
        x_formal = [(b.fresh("x"), Type(xt.dims[1:], xt.dtype, xt.weak))]
    else:
        xs = None
        length_dim = b.new_dim(pinned=True, allow_zero=not b.grad)
        x_formal = []
    cf = (b.fresh("c"), ct)
    formals = [cf] + x_formal
    c = _body(b, formals)
    if ct.rank >= 1 and b.flag(0.3):
        _update_carry(c, cf[0])
    new_c = _coerce(c, ct, cf[0])
    y = c.pool[-1] if len(c.pool) > len(formals) and b.flag(0.7) else \
        (x_formal[0][0] if x_formal and b.flag(0.5) else new_c)
    yt = c.types[y]
    if len(yt.dims) >= 4:
        y = new_c
        yt = c.types[y]
    body = _program(b, c, b.fresh("body"), formals, [new_c, y])
    params = {"body": body, "reverse": b.flag(0.3), "length": b.dims.size(length_dim)
              if xs is None else None, "unroll": _unroll(b)}
    args = (init,) if xs is None else (init, xs)
    b.emit(opname, args, params, (ct, Type((length_dim,) + yt.dims, yt.dtype, yt.weak)))


def _unroll(b: Builder):
    """`unroll=` of a scan or a static fori_loop: mostly rolled; some trips written out
    (the same results: funcgrad.lax._scan_unrolled)."""
    return b.choice([1, 1, 1, 2, 3, True])


def _scan_src(a, p, op, ind):
    body = p["body"]
    pre = _body_src(body, ind)
    xs = a[1] if len(a) > 1 else "None"
    extra = f", length={p['length']}" if p["length"] is not None else ""
    extra += ", reverse=True" if p["reverse"] else ""
    extra += f", unroll={p['unroll']}" if p.get("unroll", 1) != 1 else ""
    f = body.name if len(a) > 1 else f"lambda c, _: {body.name}(c)"
    return pre, f"lax.scan({f}, {a[0]}, {xs}{extra})"


def _scan_ref(a, p, op, ctx, env):
    body = p["body"]
    carry = a[0]
    xs = a[1] if len(a) > 1 else None
    n = xs.shape[0] if xs is not None else p["length"]
    order = range(n - 1, -1, -1) if p["reverse"] else range(n)
    ys = [None] * n
    for i in order:
        vals = [carry] + ([xs[i]] if xs is not None else [])
        carry, y = _run_body(body, env, ctx, vals)
        ys[i] = y
    yt = op.types[1]
    if n:
        stacked = np.stack(ys)
    else:
        shape = ctx.dims.shape(yt.dims, ctx.inst)
        stacked = np.zeros(shape, np.float64 if is_float(yt.dtype) else
                           (bool if yt.dtype == BOOL else np.int64))
    return carry, stacked


register(OpDef("scan", _scan_gen, _scan_ref, _scan_src, exact=True, tuple_out=True,
               control=True, weight=3))


# ---------------------------------------------------------------------------------------
# cond / switch

def _predicate(b: Builder) -> str:
    if not b.grad and b.flag(0.3):
        p = b.pick(lambda t: t.dtype == BOOL and t.rank == 0)
        return p
    v = b.pick(lambda t: t.dtype != BOOL, lambda: Type(b.rand_dims(max_rank=2), b.fdtype))
    t = b.types[v]
    s = b.emit("sum", (v,), {"axis": None, "keepdims": False},
               (Type((), t.dtype if is_float(t.dtype) else default_int(b.x64), t.weak),))[0]
    lit = 0.0 if is_float(t.dtype) else 0
    return b.emit("greater", (s, _lit(lit)), {"spell": "{0} > {1}", "cdt": b.types[s].dtype},
                  (Type((), BOOL),))[0]


def _lit(v):
    from .program import Lit
    return Lit(v)


def _branches(b: Builder, k: int):
    n_ops = b.integers(1, 2)
    operands = []
    for _ in range(n_ops):
        operands.append(_strong(b, b.pick(lambda t: is_float(t.dtype) or not b.grad,
                                          lambda: Type(b.rand_dims(max_rank=3), b.fdtype))))
    target = b.types[operands[0]]
    progs = []
    for _ in range(k):
        formals = [(b.fresh("o"), b.types[o]) for o in operands]
        c = _body(b, formals, n_max=4)
        out = _coerce(c, target, formals[0][0])
        progs.append(_program(b, c, b.fresh("branch"), formals, [out]))
    return operands, target, progs


def _cond_gen(b: Builder, opname):
    pred = _predicate(b)
    operands, target, progs = _branches(b, 2)
    b.emit(opname, (pred, *operands), {"true": progs[0], "false": progs[1]}, (target,))


def _cond_src(a, p, op, ind):
    pre = _body_src(p["true"], ind) + _body_src(p["false"], ind)
    return pre, f"lax.cond({a[0]}, {p['true'].name}, {p['false'].name}, {', '.join(a[1:])})"


def differs_from_base(ctx, name, value) -> bool:
    """Whether a finite-difference run's control-flow operand `value` (a cond's predicate,
    a switch's index) differs from the base run's. Its outputs are then unchecked (NaN):
    the branch changes within the step (no derivative there), or the decision was taken
    on a value the run marks unchecked with a NaN (ties of a sort, _ties_undefined), for
    which a comparison is False. Seed 20261938: sum(sort(pad(x, mode='wrap')) ** 2 +
    0.25) > 0 was NaN > 0 in the runs, so they took the other branch of a cond, and its
    central difference (of cummax(sin(silu(x) ** 2))) was reported against funcgrad's
    gradient of the branch taken."""
    if ctx is None or not ctx.exact or ctx.base is None or not isinstance(name, str):
        return False
    b = ctx.base.get(name)
    return b is not None and np.shape(b) == np.shape(value) and \
        not np.array_equal(np.asarray(b), np.asarray(value))


def _unchecked(outs) -> tuple:
    return tuple(np.full(np.shape(o), np.nan) if np.asarray(o).dtype.kind == "f" else o
                 for o in outs)


def _cond_ref(a, p, op, ctx, env):
    pred = bool(np.asarray(a[0]))
    prog = p["true"] if pred else p["false"]
    outs = tuple(_run_body(prog, env, ctx, a[1:]))
    return _unchecked(outs) if differs_from_base(ctx, op.args[0], a[0]) else outs


register(OpDef("cond", _cond_gen, _cond_ref, _cond_src, exact=True, tuple_out=True,
               control=True, weight=2))


def _switch_gen(b: Builder, opname):
    v = b.pick(lambda t: t.dtype == I32, lambda: Type(b.rand_dims(max_rank=1), I32))
    idx = b.emit("sum", (v,), {"axis": None, "keepdims": False},
                 (Type((), default_int(b.x64)),))[0]
    k = b.integers(2, 3)
    operands, target, progs = _branches(b, k)
    b.emit(opname, (idx, *operands), {"progs": tuple(progs)}, (target,))


def _switch_src(a, p, op, ind):
    pre = []
    for prog in p["progs"]:
        pre += _body_src(prog, ind)
    names = ", ".join(prog.name for prog in p["progs"])
    return pre, f"lax.switch({a[0]}, [{names}], {', '.join(a[1:])})"


def switch_index(index, n: int) -> int:
    """The branch `lax.switch(index, n branches)` takes."""
    i = (int(index) + 2**31) % 2**32 - 2**31
    return min(max(i, 0), n - 1)


def _switch_ref(a, p, op, ctx, env):
    progs = p["progs"]
    # lax.switch converts the index to int32 (wrapping an int64 one), then clamps it into
    # range: with x64 an int64 sum of -2252774253 takes the last branch (JAX 0.10; seed 99).
    i = switch_index(np.asarray(a[0]), len(progs))
    return tuple(_run_body(progs[i], env, ctx, a[1:]))


register(OpDef("switch", _switch_gen, _switch_ref, _switch_src, exact=True, tuple_out=True,
               control=True, grad_ok=False))


# ---------------------------------------------------------------------------------------
# while_loop / fori_loop

def _loop_gen(kind):
    def gen(b: Builder, opname):
        init = _strong(b, b.pick(lambda t: is_float(t.dtype) or (not b.grad and
                                                                  t.dtype == I32),
                                 lambda: Type(b.rand_dims(max_rank=3), b.fdtype)))
        t = b.types[init]
        i_name = b.fresh("i")
        v_name = b.fresh("v")
        # the body gets an int32 index, strongly typed: fori_loop's own index is a weak
        # int64 with x64 on (JAX's too), and a body returning exp2(i) typed for int32 gave
        # float64 against a float32 carry (JAX and funcgrad raise; seed 20261962)
        formals = [(i_name, Type((), I32, False)), (v_name, t)]
        c = _body(b, formals, n_max=5, min_ops=1)
        if t.rank >= 1 and b.flag(0.3):
            _update_carry(c, v_name)
        out = _coerce(c, t, v_name)
        body = _program(b, c, b.fresh("loop"), formals, [out])
        params = {"body": body, "kind": kind}
        args = [init]
        if kind == "while":
            params["n"] = b.integers(0, 4)
            params["bound"] = b.choice([None, None, 10.0, 0.0]) if is_float(t.dtype) else None
        elif kind == "fori":
            params["lo"], params["hi"] = b.integers(-1, 2), b.integers(0, 4)
            params["unroll"] = _unroll(b)
        else:
            hi = b.new_input(Type((), I32), style="small")
            args.append(hi)
        b.emit(opname, tuple(args), params, (t,))
    return gen


def _loop_src(a, p, op, ind):
    body = p["body"]
    pre = _body_src(body, ind)
    name = body.name
    if p["kind"] == "while":
        cond = f"c[0] < {p['n']}"
        if p["bound"] is not None:
            cond = f"({cond}) & (fnp.sum(c[1]) < {p['bound']!r})"
        pre += [f"{ind}def {name}_cond(c):", f"{ind}    return {cond}",
                f"{ind}def {name}_step(c):", f"{ind}    return (c[0] + 1, {name}(c[0], c[1])[0])"]
        # an int32 counter, as the body was generated for (a bare 0 is int64 with x64 on)
        return pre, f"lax.while_loop({name}_cond, {name}_step, (fnp.int32(0), {a[0]}))[1]"
    pre += [f"{ind}def {name}_step(i, v):",
            f"{ind}    return {name}(fnp.asarray(i, fnp.int32), v)[0]"]
    if p["kind"] == "fori":
        unroll = f", unroll={p['unroll']}" if p.get("unroll", 1) != 1 else ""
        return pre, f"lax.fori_loop({p['lo']}, {p['hi']}, {name}_step, {a[0]}{unroll})"
    return pre, f"lax.fori_loop(0, fnp.clip({a[1]}, 0, 4), {name}_step, {a[0]})"


def _loop_ref(a, p, op, ctx, env):
    body = p["body"]
    v = a[0]
    if p["kind"] == "while":
        i = 0
        while True:
            go = i < p["n"]
            if go and p["bound"] is not None:
                s = float(np.sum(np.asarray(v, np.float64)))
                if ctx.perturb is not None:
                    e = growth(v.size) * EPS[op.types[0].dtype] * float(np.sum(np.abs(v)))
                    s += float(ctx.perturb.rng.choice([-1.0, 1.0])) * e
                go = s < p["bound"]
            if not go:
                return v
            v = _run_body(body, env, ctx, [np.asarray(i, np.int64), v])[0]
            i += 1
    if p["kind"] == "fori":
        lo, hi = p["lo"], p["hi"]
    else:
        lo, hi = 0, int(np.clip(np.asarray(a[1]), 0, 4))
    for i in range(lo, hi):
        v = _run_body(body, env, ctx, [np.asarray(i, np.int64), v])[0]
    return v


register(OpDef("while_loop", _loop_gen("while"), _loop_ref, _loop_src, exact=True,
               control=True, grad_ok=False, weight=2))
register(OpDef("fori_loop", _loop_gen("fori"), _loop_ref, _loop_src, exact=True,
               control=True, weight=2))
register(OpDef("fori_loop_dyn", _loop_gen("dyn"), _loop_ref, _loop_src, exact=True,
               control=True, grad_ok=False))


# ---------------------------------------------------------------------------------------
# Recurrent cells and attention (fixed structure, random sizes and values)

def _sigmoid(x):
    return 1 / (1 + np.exp(-x))


def _rnn_gen(cell):
    k = {"gru": 3, "lstm": 4}[cell]

    def gen(b: Builder, opname):
        H = b.choice([2, 3, 4, 8])
        hdim = b.dims.new([H] * 3)
        kh = b.dims.new([k * H] * 3)
        # Every operand in the program's float dtype: a carry that a wider input promotes
        # (float32 rows @ bfloat16 weights) changes type, which scan rejects, as JAX's does.
        xs = b.pick(lambda t: t.dtype == b.fdtype and t.rank == 3 and t.dims[2] != ONE and
                    b.dims.numel(t.dims[:1]) <= 64,
                    lambda: Type((b.new_dim(allow_zero=not b.grad), b.new_dim(allow_zero=False),
                                  b.new_dim(allow_zero=False)), b.fdtype))
        xt = b.types[xs]
        T, B, I = xt.dims
        h0 = b.pick(lambda t: t.dims == (B, hdim) and t.dtype == b.fdtype,
                    lambda: Type((B, hdim), b.fdtype))
        wx = b.new_input(Type((I, kh), b.fdtype))
        wh = b.new_input(Type((hdim, kh), b.fdtype))
        bias = b.new_input(Type((kh,), b.fdtype))
        args = [xs, h0, wx, wh, bias]
        outs = [Type((B, hdim), b.fdtype), Type((T, B, hdim), b.fdtype)]
        if cell == "lstm":
            c0 = b.pick(lambda t: t.dims == (B, hdim) and t.dtype == b.fdtype,
                        lambda: Type((B, hdim), b.fdtype))
            args.append(c0)
            outs.insert(1, Type((B, hdim), b.fdtype))
        b.emit(opname, tuple(args), {"H": H, "name": b.fresh(cell)}, tuple(outs))
    return gen


def _gru_src(a, p, op, ind):
    xs, h0, wx, wh, bias = a
    H = p["H"]
    n = p["name"]
    i2 = ind + "    "
    pre = [f"{ind}def {n}(h, x):",
           f"{i2}gx = x @ {wx} + {bias}",
           f"{i2}gh = h @ {wh}",
           f"{i2}r = fg.nn.sigmoid(gx[:, :{H}] + gh[:, :{H}])",
           f"{i2}z = fg.nn.sigmoid(gx[:, {H}:{2 * H}] + gh[:, {H}:{2 * H}])",
           f"{i2}n = fnp.tanh(gx[:, {2 * H}:] + r * gh[:, {2 * H}:])",
           f"{i2}h = (1 - z) * n + z * h",
           f"{i2}return h, h"]
    return pre, f"lax.scan({n}, {h0}, {xs})"


def _lstm_src(a, p, op, ind):
    xs, h0, wx, wh, bias, c0 = a
    H = p["H"]
    n = p["name"]
    i2 = ind + "    "
    pre = [f"{ind}def {n}(carry, x):",
           f"{i2}h, c = carry",
           f"{i2}g = x @ {wx} + h @ {wh} + {bias}",
           f"{i2}i = fg.nn.sigmoid(g[:, :{H}])",
           f"{i2}f = fg.nn.sigmoid(g[:, {H}:{2 * H}])",
           f"{i2}u = fnp.tanh(g[:, {2 * H}:{3 * H}])",
           f"{i2}o = fg.nn.sigmoid(g[:, {3 * H}:])",
           f"{i2}c = f * c + i * u",
           f"{i2}h = o * fnp.tanh(c)",
           f"{i2}return (h, c), h"]
    return pre, f"(lambda r: (r[0][0], r[0][1], r[1]))(lax.scan({n}, ({h0}, {c0}), {xs}))"


def _gate_lost(g, gerr) -> np.ndarray:
    """Rows (keepdims) with a gate input whose rounding error bound `gerr` is above its
    own size and above 0.5, enough to move a sigmoid by an eighth of its range and a tanh
    by a quarter: the gate may be on either side there (smaller errors are the random
    perturbations' business)."""
    with np.errstate(invalid="ignore"):
        return np.any((np.abs(g) < gerr) & (gerr > 0.5), axis=-1, keepdims=True)


def _finite_part(err):
    """An error bound with 0 where it is NaN because the state itself is (a NaN that came
    in through an input): Perturb.apply then keeps the NaN a NaN, with the run's NaN sign,
    so what reads its sign (copysign) is unstable. A NaN bound would mean "anything" and
    make it 0.0, and what the cell's next steps computed from that 0.0 had the base NaN's
    sign in every perturbed run (seed 20261908: copysign(h0, gru(...)) compared its
    sign)."""
    return np.where(np.isnan(err), 0.0, err)


def _rnn_ref(cell):
    def ref(a, p, op, ctx, env):
        t = op.types[0]
        e = EPS[t.dtype]

        def r(v):
            # every traced op rounds to the dtype (float16 gates overflow at 65504)
            return ctx.round(v, t)
        xs, h, wx, wh, bias = [np.asarray(v, np.float64) for v in a[:5]]
        H = p["H"]
        c = np.asarray(a[5], np.float64) if cell == "lstm" else None
        fin = [np.nan_to_num(np.abs(v), nan=0.0, posinf=0.0) for v in (xs, wx, wh, bias)]
        k = xs.shape[-1] + H
        hs = []
        with np.errstate(all="ignore"):
            for step, x in enumerate(xs):
                # A perturbed run errs at every step (as the steps' ops may), so that a
                # state that loses its sign or its digits on the way shows as unstable.
                gerr = growth(k) * e * np.max(
                    fin[0][step] @ fin[1] + np.nan_to_num(np.abs(h), posinf=0.0) @ fin[2] +
                    fin[3], axis=-1, keepdims=True) if ctx.perturb is not None else 0.0
                if cell == "gru":
                    gx = r(r(x @ wx) + bias)
                    gh = r(h @ wh)
                    if ctx.perturb is not None:
                        lost = _gate_lost(gx, gerr) | _gate_lost(gh, gerr)
                        gx, gh = r(ctx.perturb.apply(gx, gerr)), r(ctx.perturb.apply(gh, gerr))
                    rg = r(_sigmoid(r(gx[:, :H] + gh[:, :H])))
                    z = r(_sigmoid(r(gx[:, H:2 * H] + gh[:, H:2 * H])))
                    nn_ = r(np.tanh(r(gx[:, 2 * H:] + r(rg * gh[:, 2 * H:]))))
                    new_h = r(r(r(1 - z) * nn_) + r(z * h))
                    if ctx.perturb is not None:
                        herr = 4 * e * _finite_part(np.abs((1 - z) * nn_) + np.abs(z * h)) \
                            + gerr
                        new_h = np.where(lost, np.nan, r(ctx.perturb.apply(new_h, herr)))
                    h = new_h
                else:
                    g = r(r(r(x @ wx) + r(h @ wh)) + bias)
                    if ctx.perturb is not None:
                        # The gates' inputs carry the matmuls' rounding: where it exceeds
                        # |g| a saturated gate may take either side (terms of 1e35 that
                        # cancel to 3.7e4 in float32, -1.7e13 in another order; seed 123),
                        # which errors added to c and h alone never show.
                        g = r(ctx.perturb.apply(g, gerr))
                        lost = _gate_lost(g, gerr)
                    i = r(_sigmoid(g[:, :H]))
                    f = r(_sigmoid(g[:, H:2 * H]))
                    u = r(np.tanh(g[:, 2 * H:3 * H]))
                    o = r(_sigmoid(g[:, 3 * H:]))
                    new_c = r(r(f * c) + r(i * u))
                    if ctx.perturb is not None:
                        cerr = 4 * e * _finite_part(np.abs(f * c) + np.abs(i * u)) + gerr
                        new_c = r(ctx.perturb.apply(new_c, cerr))
                    c = new_c
                    h = r(o * r(np.tanh(c)))
                    if ctx.perturb is not None:
                        h = r(ctx.perturb.apply(h, 4 * e * _finite_part(np.abs(h)) + gerr))
                        # a row whose gates may have gone either way is anything from here
                        # on (three random runs rarely take the other side of the gate)
                        c = np.where(lost, np.nan, c)
                        h = np.where(lost, np.nan, h)
                hs.append(h)
        stacked = np.stack(hs) if hs else np.zeros((0,) + h.shape)
        return (h, stacked) if cell == "gru" else (h, c, stacked)
    return ref


def _rnn_err(a, out, op, t, ctx):
    xs = np.asarray(a[0])
    steps = max(xs.shape[0], 1)
    k = xs.shape[-1] + op.params["H"]
    err = 16 * growth(k) * steps * EPS[t.dtype] * (1 + np.abs(out))
    # The gates' matmuls in the dtype: |h| stays below max(|h0|, 1) (GRU: a convex mix of
    # h0 and tanh values; LSTM: o * tanh(c)), so this bounds every step's terms per row.
    fin = [np.nan_to_num(np.abs(np.asarray(v, np.float64)), nan=0.0, posinf=0.0)
           for v in a[:5]]
    x, h0, wx, wh, bias = fin
    with np.errstate(all="ignore"):
        gx = np.max(x @ wx, axis=0) if xs.shape[0] else np.zeros((h0.shape[0], wx.shape[1]))
        hmax = np.maximum(np.max(h0, axis=1, initial=0.0), 1.0)
        mag = np.max(gx + bias + hmax[:, None] * np.sum(wh, axis=0), axis=1, initial=0.0)
    row = mag if out.ndim == 2 else mag[None, :]
    return acc_overflow(err, row[..., None], t.dtype)


register(OpDef("gru", _rnn_gen("gru"), _rnn_ref("gru"), _gru_src, err_fn=_rnn_err,
               tuple_out=True, control=True))
register(OpDef("lstm", _rnn_gen("lstm"), _rnn_ref("lstm"), _lstm_src, err_fn=_rnn_err,
               tuple_out=True, control=True))


def _attention_gen(b: Builder, opname):
    D = b.choice([1, 2, 4, 8])
    ddim = b.dims.new([D] * 3)
    B = b.new_dim(allow_zero=False)
    T = b.new_dim(allow_zero=False)
    causal = b.flag(0.5)
    S = T if causal else b.new_dim(allow_zero=False)
    q = b.pick(lambda t: is_float(t.dtype) and t.dims == (B, T, ddim),
               lambda: Type((B, T, ddim), b.fdtype))
    k = b.new_input(Type((B, S, ddim), b.fdtype))
    v = b.new_input(Type((B, S, ddim), b.fdtype))
    b.emit(opname, (q, k, v), {"causal": causal, "D": D},
           (Type((B, T, ddim), b.fdtype),))


def _attention_src(a, p, op, ind):
    q, k, v = a
    scale = repr(1.0 / math.sqrt(p["D"]))
    s = f"fnp.einsum('btd,bsd->bts', {q}, {k}) * {scale}"
    if p["causal"]:
        s = (f"fnp.where(fnp.tril(fnp.ones(({q}.shape[1], {k}.shape[1]), dtype=bool)), {s}, "
             f"-float('inf'))")
    return f"fnp.einsum('bts,bsd->btd', fg.nn.softmax({s}, axis=-1), {v})"


def _attention_ref(a, p, op, ctx, env):
    t = op.types[0]

    def rnd(x):
        # every traced op rounds to the dtype: float16 scores overflow at 65504
        return ctx.round(x, t)
    q, k, v = [np.asarray(x, np.float64) for x in a]
    s = rnd(rnd(np.einsum("btd,bsd->bts", q, k)) * (1.0 / math.sqrt(p["D"])))
    if p["causal"]:
        mask = np.tril(np.ones((q.shape[1], k.shape[1]), bool))
        s = np.where(mask, s, -np.inf)
    # jax.nn.softmax: a slice with a +inf (or NaN) score is NaN throughout.
    m = np.max(s, axis=-1, keepdims=True)
    e = rnd(np.exp(rnd(s - m)))
    w = rnd(e / rnd(np.sum(e, axis=-1, keepdims=True)))
    return np.einsum("bts,bsd->btd", w, v)


# -ln of the smallest subnormal, plus a margin: exp of a score this far below the row's
# maximum is exactly 0 in the dtype.
_EXP_UNDERFLOW = {"float16": 18.0, "bfloat16": 93.5, "float32": 104.5, "float64": 745.5}


def _attention_scores(a, p, t, ctx):
    """The scores as `_attention_ref` computes them (masked to -inf above the diagonal)."""
    q, k = [np.asarray(x, np.float64) for x in a[:2]]
    with np.errstate(all="ignore"):
        s = fix(fix(np.einsum("btd,bsd->bts", q, k), t) * (1.0 / math.sqrt(p["D"])), t)
    if p["causal"]:
        s = np.where(np.tril(np.ones((q.shape[1], k.shape[1]), bool)), s, -np.inf)
    return s


def _attention_err(a, out, op, t, ctx):
    q, k, v = [np.nan_to_num(np.abs(np.asarray(x, np.float64)), posinf=0) for x in a]
    n = q.shape[-1] + k.shape[1]
    sc = np.einsum("btd,bsd->bts", q, k).max(axis=-1, keepdims=True) if k.shape[1] else 0.0
    vm = v.max(axis=1, keepdims=True) if v.shape[1] else 0.0
    rnd = 8 * growth(n) * EPS[t.dtype] * (vm + np.abs(out))
    with np.errstate(over="ignore", invalid="ignore"):
        err = rnd * (1 + sc)
        # The output is a convex combination of v's rows whatever the weights: it moves by
        # at most their spread, 2 * max|v| (plus the last rounding), however wrong the
        # scores. Above that the linear model is meaningless and can overflow: scores of
        # 2e80 times |v| of 1e300 gave an infinite bound, which Perturb.apply takes as "no
        # bump", so a row maximum tied within the scores' rounding (weights (1/3, 1/3,
        # 1/3) in NumPy, one-hot in JAX and funcgrad) looked stable (seed 789).
        cap = np.minimum(2 * vm + rnd, float(np.finfo(np.float64).max))
        err = np.minimum(err, cap)
        # A row whose maximum beats every other score by more than the scores' rounding
        # (both sides) plus exp's underflow range has weights exactly one-hot in any order
        # of rounding: the output is that key's v row exactly, however large the scores.
        if k.shape[1] and q.shape[1]:
            s = _attention_scores(a, op.params, t, ctx)
            es = 8 * growth(n) * EPS[t.dtype] * (1 + sc)
            top = np.sort(s, axis=-1)
            m = top[..., -1:]
            second = top[..., -2:-1] if s.shape[-1] > 1 else np.full_like(m, -np.inf)
            onehot = np.isfinite(m) & ((m - second) > 4 * es + _EXP_UNDERFLOW[t.dtype])
            err = np.where(onehot, EPS[t.dtype] * np.abs(out), err)
            # A weight that may be exactly 0 or not (its score within the scores' rounding
            # of exp's underflow below the maximum) on a row of v holding an infinity or a
            # NaN: the output is inf or NaN (0 * inf) there, anything (seed 20261924: two
            # float64 scores of 2.8e253 tied within their rounding, weights 0.5 / 0.5 in
            # the oracle, one-hot in the reference backend, whose 0 * inf gave NaN)
            vbad = ~np.isfinite(np.asarray(a[2], np.float64))
            if vbad.any():
                with np.errstate(invalid="ignore"):
                    gap = m - s
                    undecided = np.isfinite(gap) & (gap + 4 * es >= _EXP_UNDERFLOW[t.dtype]) \
                        & (gap - 4 * es < _EXP_UNDERFLOW[t.dtype])
                anything = np.einsum("bts,bsd->btd", undecided.astype(np.float64),
                                     vbad.astype(np.float64)) > 0
                err = np.where(anything, np.nan, err)
    # The scores' and the weighted sum's accumulations (see acc_overflow).
    vs = np.sum(v, axis=1, keepdims=True)
    return acc_overflow(err, np.maximum(sc, vs), t.dtype)


register(OpDef("attention", _attention_gen, _attention_ref, _attention_src,
               err_fn=_attention_err, control=True))


__all__ = ["as_dtype"]
