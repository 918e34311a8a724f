"""IR-to-IR optimisation passes run before lowering: inlining of nested `jit` calls, dead
code elimination, common subexpression elimination, constant folding of scalar
arithmetic and algebraic simplification (x*1, x+0, no-op casts and reshapes)."""
from __future__ import annotations

import numpy as np

from .. import core
from ..ir import Eqn, Lit, Program, Var, dce_program, has_effects
from ..prims import control
from ..prims import elementwise as ew
from ..prims import structural as st
from .mask_updates import masked_row_updates


def optimize(program: Program) -> Program:
    """The standard pipeline; the result computes the same outputs."""
    p = inline_calls(program)
    p = simplify(p)
    p = propagate_zeros(p)
    p = cse(p)
    p = dce_program(p)
    from .scan_opt import optimize_scans
    q = optimize_scans(p)
    if q is not p:
        p = dce_program(cse(propagate_zeros(simplify(inline_calls(q)))))
    p = fold_dot_transpose(p)
    p = fold_transpose_into_dot(p)
    p = dots_of_one_term(p)
    p = masked_row_updates(p)
    p = dce_program(p)
    return p


def dots_of_one_term(program: Program) -> Program:
    """A `dot_general` whose contraction has one term (contracting axes of size 1, or none)
    is a product of broadcasts: `out[b, i, j] = lhs[b, i] * rhs[b, j]`. As a map it fuses
    with its operands and its consumers, where a GEMM wrote its output once and a transpose
    after it copied it again, one BLAS call per batch entry (per-example gradients:
    `vmap(grad(loss))` of a dense layer ends in an outer product per example, transposed).
    A one-term dot rounds one product as the map does. Only for the same real or integer
    type in and out and static shapes."""
    from ..prims import linalg as la
    eqns = []
    changed = False
    for e in program.eqns:
        new = _one_term_product(e) if e.prim is la.dot_general_p else None
        if new is None:
            eqns.append(e)
            continue
        eqns += new
        changed = True
    if not changed:
        return program
    return Program(program.constvars, program.invars, eqns, program.outvars)


def _one_term_product(e):
    """The equations replacing the dot `e` (`dots_of_one_term`), or None."""
    lhs, rhs = e.inputs
    out = e.outputs[0]
    if not (isinstance(lhs, Var) and isinstance(rhs, Var)):
        return None
    dt = out.aval.dtype
    if not (lhs.aval.dtype == rhs.aval.dtype == dt) or dt == np.bool_ or \
            np.dtype(dt).kind not in "fiu":
        return None
    if not all(type(d) is int for v in (lhs, rhs, out) for d in v.aval.shape):
        return None
    (lc, rc), (lb, rb) = e.params["dimension_numbers"]
    if any(lhs.aval.shape[a] != 1 for a in lc):
        return None
    new = []

    def emit(prim, x, **params):
        aval = core.shape_rules[prim](x.aval, **params)
        v = Var(core.ShapedArray(aval.shape, aval.dtype, aval.weak_type))
        new.append(Eqn(prim, [x], params, [v]))
        return v

    nb = len(lb)
    nl = lhs.aval.ndim - len(lc) - nb
    placed = []
    for side, operand, c, b in ((0, lhs, lc, lb), (1, rhs, rc, rb)):
        nd = operand.aval.ndim
        free = [d for d in range(nd) if d not in c and d not in b]
        # the output's axes: the batch axes, then lhs's free axes, then rhs's (by side, not
        # by identity: `x @ x.T` has one variable on both sides; placing both on lhs's
        # axes gave [[1,1,1],[4,4,4],[9,9,9]] for outer(v, v), found probing against JAX)
        at = range(nb, nb + nl) if side == 0 else range(nb + nl, nb + nl + len(free))
        x = emit(st.squeeze_p, operand, dimensions=tuple(sorted(c))) if c else operand
        kept = [d for d in range(nd) if d not in c]
        perm = tuple(kept.index(d) for d in list(b) + free)
        if perm != tuple(range(len(perm))):
            x = emit(st.transpose_p, x, permutation=perm)
        placed.append(emit(st.broadcast_in_dim_p, x, shape=tuple(out.aval.shape),
                           broadcast_dimensions=tuple(range(nb)) + tuple(at)))
    if np.dtype(dt).kind != "f":
        new.append(Eqn(ew.mul_p, placed, {}, [out]))
        return new
    # 0 + the product: a sum of one product starts at 0 in NumPy, BLAS and the reference
    # backend, so a -0.0 product (-1.5 * 0.0) is +0.0 there, and signbit or a reciprocal
    # after it must see +0.0 (fuzz run 78: signbit(x @ w) with K = 1 was True)
    prod = Var(core.ShapedArray(tuple(out.aval.shape), dt, out.aval.weak_type))
    new.append(Eqn(ew.mul_p, placed, {}, [prod]))
    zero = Var(core.ShapedArray(tuple(out.aval.shape), dt, out.aval.weak_type))
    new.append(Eqn(st.broadcast_in_dim_p, [Lit(np.zeros((), dt), core.ShapedArray((), dt))],
                   {"shape": tuple(out.aval.shape), "broadcast_dimensions": ()}, [zero]))
    new.append(Eqn(ew.add_p, [zero, prod], {}, [out]))
    return new


def fold_transpose_into_dot(program: Program) -> Program:
    """`dot_general(transpose(x), y)` (or with y transposed) reads `x` itself, its
    dimension numbers mapped through the permutation, where that keeps the output's axis
    order (the operand's free axes stay in order): GEMM then reads x through BLAS's
    transpose flag instead of a copy made by a plain transposing loop. `x @ W.T`, the
    PyTorch-style linear layer, is the common case (a 512x784 weight: 1.0 ms of strided
    copying before a 2.7 ms GEMM, one thread)."""
    from ..prims import linalg as la
    transposes = {e.outputs[0].id: e for e in program.eqns
                  if e.prim is st.transpose_p and isinstance(e.inputs[0], Var)}
    if not transposes:
        return program
    eqns = []
    changed = False
    for e in program.eqns:
        if e.prim is la.dot_general_p:
            ins = list(e.inputs)
            (lc, rc), (lb, rb) = e.params["dimension_numbers"]
            dims = [[tuple(lc), tuple(lb)], [tuple(rc), tuple(rb)]]
            for side in (0, 1):
                t = transposes.get(ins[side].id) if isinstance(ins[side], Var) else None
                if t is None:
                    continue
                perm = t.params["permutation"]
                contract, batch = dims[side]
                free = [perm[d] for d in range(len(perm)) if d not in contract
                        and d not in batch]
                if free != sorted(free):
                    continue
                ins[side] = t.inputs[0]
                dims[side] = [tuple(perm[d] for d in contract), tuple(perm[d] for d in batch)]
            if ins != list(e.inputs):
                changed = True
                dn = ((dims[0][0], dims[1][0]), (dims[0][1], dims[1][1]))
                e = Eqn(e.prim, ins, dict(e.params, dimension_numbers=dn), e.outputs)
        eqns.append(e)
    if not changed:
        return program
    return Program(program.constvars, program.invars, eqns, program.outvars)


def fold_dot_transpose(program: Program) -> Program:
    """`transpose(dot_general(a, b))` that swaps the lhs-free and rhs-free groups of a
    batch-free dot becomes `dot_general(b, a)` (so GEMM writes the transposed layout)."""
    from ..prims import linalg as la
    uses: dict[int, int] = {}
    for e in program.eqns:
        for a in e.inputs:
            if isinstance(a, Var):
                uses[a.id] = uses.get(a.id, 0) + 1
    for v in program.outvars:
        if isinstance(v, Var):
            uses[v.id] = uses.get(v.id, 0) + 1
    producer = {e.outputs[0].id: e for e in program.eqns if e.outputs}
    eqns = []
    for e in program.eqns:
        if e.prim is st.transpose_p and isinstance(e.inputs[0], Var):
            d = producer.get(e.inputs[0].id)
            if d is not None and d.prim is la.dot_general_p and uses.get(d.outputs[0].id) == 1:
                (lc, rc), (lb, rb) = d.params["dimension_numbers"]
                if not lb:
                    lhs, rhs = d.inputs
                    nl = lhs.aval.ndim - len(lc)
                    nr = rhs.aval.ndim - len(rc)
                    want = tuple(range(nl, nl + nr)) + tuple(range(nl))
                    if e.params["permutation"] == want:
                        folded = Eqn(la.dot_general_p, [rhs, lhs],
                                     dict(d.params, dimension_numbers=((rc, lc), ((), ()))),
                                     e.outputs)
                        # a transpose of this result (AD's transpose of a transpose) folds
                        # in turn
                        producer[e.outputs[0].id] = folded
                        eqns.append(folded)
                        continue
        eqns.append(e)
    return Program(program.constvars, program.invars, eqns, program.outvars)


def _rename(program: Program, env: dict[int, object]):
    def sub(a):
        if isinstance(a, Var):
            return env.get(a.id, a)
        return a
    return sub


# Calls whose program is what runs once differentiation is over: a jit call, a checkpoint,
# and the primal function of a custom_jvp/custom_vjp (their rules only matter to AD, which
# has happened by the time a program is lowered; left in place they ran as host steps).
_INLINED = (control.jit_p, control.remat_p, control.custom_jvp_call_p,
            control.custom_vjp_call_p)


def inline_calls(program: Program) -> Program:
    """Inline the calls of `_INLINED` (their programs are const-free)."""
    eqns: list[Eqn] = []
    env: dict[int, object] = {}
    sub = _rename(program, env)
    for eqn in program.eqns:
        ins = [sub(a) for a in eqn.inputs]
        if eqn.prim in _INLINED:
            inner = inline_calls(eqn.params["program"])
            ienv: dict[int, object] = {v.id: a for v, a in zip(inner.invars, ins)}
            isub = _rename(inner, ienv)
            for e in inner.eqns:
                new_outs = [Var(v.aval) for v in e.outputs]
                for v, nv in zip(e.outputs, new_outs):
                    ienv[v.id] = nv
                eqns.append(Eqn(e.prim, [isub(a) for a in e.inputs], e.params, new_outs))
            for v, o in zip(eqn.outputs, inner.outvars):
                env[v.id] = isub(o)
        else:
            eqns.append(Eqn(eqn.prim, ins, eqn.params, eqn.outputs))
    outvars = [sub(v) for v in program.outvars]
    return Program(program.constvars, program.invars, eqns, outvars)


def _param_key(v):
    if isinstance(v, (Program, control._ConstValue)) or callable(v):
        return ("id", id(v))
    if isinstance(v, (tuple, list)):
        return tuple(_param_key(x) for x in v)
    if isinstance(v, dict):
        return tuple(sorted((k, _param_key(x)) for k, x in v.items()))
    try:
        hash(v)
    except TypeError:
        return ("id", id(v))
    return v


_NO_CSE = {control.custom_lin_p}


def cse(program: Program) -> Program:
    seen: dict = {}
    env: dict[int, object] = {}
    sub = _rename(program, env)
    eqns = []
    for eqn in program.eqns:
        ins = [sub(a) for a in eqn.inputs]
        key = None
        # An effectful equation runs as often as the program says: never merged.
        if eqn.prim not in _NO_CSE and eqn.prim is not control.const_p and \
                not has_effects(eqn):
            key = (eqn.prim, tuple(("v", a.id) if isinstance(a, Var) else
                                   ("l", a.aval.dtype.str, a.aval.weak_type, a.symbolic_zero,
                                    _lit_key(a.val)) for a in ins),
                   _param_key(eqn.params))
        if key is not None and key in seen:
            for v, w in zip(eqn.outputs, seen[key]):
                env[v.id] = w
            continue
        if key is not None:
            seen[key] = eqn.outputs
        eqns.append(Eqn(eqn.prim, ins, eqn.params, eqn.outputs))
    return Program(program.constvars, program.invars, eqns, [sub(v) for v in program.outvars])


def _lit_key(v):
    # Bit patterns: 0.0 and -0.0 (and NaNs, which never compare equal) are distinct literals.
    return v.tobytes()


def _is_lit(a, value) -> bool:
    return isinstance(a, Lit) and a.val.shape == () and a.val.item() == value


def simplify(program: Program) -> Program:
    """Local rewrites that keep exact semantics (no reassociation)."""
    env: dict[int, object] = {}
    sub = _rename(program, env)
    eqns = []
    for eqn in program.eqns:
        ins = [sub(a) for a in eqn.inputs]
        out = eqn.outputs[0] if eqn.outputs else None
        rep = _simplify_one(eqn.prim, ins, eqn.params, out)
        if rep is not None:
            env[out.id] = rep
            continue
        eqns.append(Eqn(eqn.prim, ins, eqn.params, eqn.outputs))
    return Program(program.constvars, program.invars, eqns, [sub(v) for v in program.outvars])


def _same_type(a, out) -> bool:
    return a.aval.shape == out.aval.shape and a.aval.dtype == out.aval.dtype


def _simplify_one(prim, ins, params, out):
    if out is None:
        return None
    if prim is ew.mul_p:
        x, y = ins
        if _is_lit(y, 1) and _same_type(x, out):
            return x
        if _is_lit(x, 1) and _same_type(y, out):
            return y
    elif prim is ew.add_p:
        x, y = ins
        if _is_lit(y, 0) and _same_type(x, out) and not _is_float_negzero_sensitive(y):
            return x
        if _is_lit(x, 0) and _same_type(y, out):
            return y
    elif prim is ew.sub_p:
        x, y = ins
        if _is_lit(y, 0) and _same_type(x, out):
            return x
    elif prim is ew.div_p:
        x, y = ins
        if _is_lit(y, 1) and _same_type(x, out):
            return x
    elif prim in (ew.convert_element_type_p, st.reshape_p, st.broadcast_in_dim_p):
        (x,) = ins[:1]
        if isinstance(x, Var) and _same_type(x, out) and x.aval.weak_type == out.aval.weak_type:
            return x
    elif prim is st.transpose_p:
        if params["permutation"] == tuple(range(len(params["permutation"]))):
            return ins[0]
    if all(isinstance(a, Lit) for a in ins) and ins and prim in core.impl_rules and \
            out.aval.shape == () and not prim.multiple_results:
        vals = [a.val for a in ins]
        try:
            with np.errstate(all="ignore"):
                v = np.asarray(core.impl_rules[prim](*vals, **params), out.aval.dtype)
        except Exception:
            return None
        symbolic = prim in _KEEPS_ZERO and ins[0].symbolic_zero
        return Lit(v, out.aval, symbolic)
    return None


def _is_float_negzero_sensitive(y) -> bool:
    # x + 0.0 == x for every x except -0.0 (-0.0 + 0.0 = +0.0); the difference is invisible
    # to everything but signbit/division by zero, which JAX also ignores here.
    return False


# ---------------------------------------------------------------------------------------
# Zero propagation: reverse mode instantiates absent tangents as broadcasts of AD's symbolic
# zero (`core.symbolic_zero`); this removes the arithmetic done on them, including through
# scan bodies. Two kinds of zero are tracked: *exact* zeros (any value known to be all zeros,
# a user's `zeros(...)` included), which survive linear maps, and *symbolic* zeros (AD's),
# which also absorb products, contractions and quotients as JAX's symbolic zeros do. A user's
# zero never absorbs: `x * 0.0` is nan where x is nan or inf.

_KEEPS_ZERO = {ew.neg_p, ew.convert_element_type_p, st.reshape_p, st.transpose_p,
               st.broadcast_in_dim_p, st.squeeze_p, st.expand_dims_p, st.rev_p,
               ew.stop_gradient_p}


def _zero_scalar(a) -> bool:
    # +0 only: a -0.0 literal is a value whose sign the folds below would lose.
    return isinstance(a, Lit) and a.val.shape == () and a.val.dtype.kind in "fiub" and \
        a.val.item() == 0 and not np.signbit(a.val)


def propagate_zeros(program: Program) -> Program:
    return _propagate_zeros(program)[0]


def _propagate_zeros(program: Program):
    from ..prims import indexing as ix
    from ..prims import linalg as la
    from ..prims import reductions as rd
    zeros: set[int] = set()      # exact zeros
    symbolic: set[int] = set()   # AD's symbolic zeros (a subset of `zeros`)
    env: dict[int, object] = {}
    sub = _rename(program, env)
    eqns = []

    def is_zero(a):
        return (isinstance(a, Var) and a.id in zeros) or _zero_scalar(a)

    def is_symbolic(a):
        return (isinstance(a, Var) and a.id in symbolic) or \
            (isinstance(a, Lit) and a.symbolic_zero)

    def make_zero(v, sym):
        zeros.add(v.id)
        if sym:
            symbolic.add(v.id)
        eqns.append(Eqn(st.broadcast_in_dim_p, [Lit(np.zeros((), v.aval.dtype),
                                                    core.ShapedArray((), v.aval.dtype), sym)],
                        {"shape": v.aval.shape, "broadcast_dimensions": ()}, [v]))

    linear_any = _KEEPS_ZERO | {ix.slice_p, rd.reduce_sum_p, rd.cumsum_p, ix.dynamic_slice_p,
                                ix.gather_p}
    for eqn in program.eqns:
        ins = [sub(a) for a in eqn.inputs]
        p = eqn.prim
        out = eqn.outputs[0] if eqn.outputs else None
        if p is st.broadcast_in_dim_p and _zero_scalar(ins[0]):
            zeros.add(out.id)
            if is_symbolic(ins[0]):
                symbolic.add(out.id)
            eqns.append(Eqn(p, ins, eqn.params, eqn.outputs))
            continue
        if out is not None and not p.multiple_results and dtype_ok(out):
            z = [is_zero(a) for a in ins]
            zs = [is_symbolic(a) for a in ins]
            kill = sym = False
            if p in linear_any and z and z[0] and (zs[0] or p is not ew.neg_p):
                # (-0 is not +0: an exact zero is negated by the code, a symbolic one never
                # is computed)
                kill, sym = True, zs[0]
            elif p in (ew.mul_p, la.dot_general_p, la.conv_general_dilated_p) and any(zs):
                kill = sym = True
            elif p is ew.div_p and zs[0]:
                kill = sym = True
            elif p in (ew.add_p, ew.sub_p) and all(z):
                kill, sym = True, all(zs)
            elif p is ew.select_p and z[1] and z[2]:
                kill, sym = True, zs[1] and zs[2]
            elif p is ix.pad_p and z[0] and z[1]:
                kill, sym = True, zs[0]
            if kill:
                make_zero(out, sym)
                continue
            if p is ew.add_p and any(z):
                keep = ins[1] if z[0] else ins[0]
                if isinstance(keep, Var) and keep.aval.shape == out.aval.shape and \
                        keep.aval.dtype == out.aval.dtype:
                    env[out.id] = keep
                    continue
            if p is ew.sub_p and z[1]:
                keep = ins[0]
                if isinstance(keep, Var) and keep.aval.shape == out.aval.shape and \
                        keep.aval.dtype == out.aval.dtype:
                    env[out.id] = keep
                    continue
        if p is control.scan_p:
            new = _scan_drop_zero_inputs(eqn, ins, is_zero, is_symbolic)
            if new is not None:
                for e in new:
                    if e.prim is st.broadcast_in_dim_p:
                        zeros.add(e.outputs[0].id)
                        if e.inputs[0].symbolic_zero:
                            symbolic.add(e.outputs[0].id)
                eqns.extend(new)
                continue
        eqns.append(Eqn(p, ins, eqn.params, eqn.outputs))
    out = Program(program.constvars, program.invars, eqns, [sub(v) for v in program.outvars])
    return out, zeros, symbolic


def dtype_ok(v) -> bool:
    return v.aval.dtype.kind in "f"


def _scan_drop_zero_inputs(eqn, ins, is_zero, is_symbolic):
    """Feed zero consts/xs of a scan as constants inside its body (and simplify it)."""
    p = eqn.params
    nc, ncar = p["num_consts"], p["num_carry"]
    body = p["program"]
    zc = [is_zero(a) and dtype_ok(a) for a in ins[:nc]]
    zx = [is_zero(a) and dtype_ok(a) for a in ins[nc + ncar:]]
    sym = [is_symbolic(a) for a in ins]
    _, body_zeros, _ = _propagate_zeros(body)
    zy = [isinstance(v, Var) and v.id in body_zeros for v in body.outvars[ncar:]]
    if not any(zc) and not any(zx) and not any(zy):
        return None
    keep_mask = zc + [False] * ncar + zx
    zero_eqns = []
    for v, z, zsym in zip(body.invars, keep_mask, sym):
        if z:
            zero_eqns.append(Eqn(st.broadcast_in_dim_p,
                                 [Lit(np.zeros((), v.aval.dtype),
                                      core.ShapedArray((), v.aval.dtype), zsym)],
                                 {"shape": v.aval.shape, "broadcast_dimensions": ()}, [v]))
    new_invars = [v for v, z in zip(body.invars, keep_mask) if not z]
    new_body = Program([], new_invars, zero_eqns + body.eqns, body.outvars)
    new_body, body_zeros, body_symbolic = _propagate_zeros(new_body)
    ys_vars = new_body.outvars[ncar:]
    zy = [isinstance(v, Var) and v.id in body_zeros for v in ys_vars]
    zy_sym = [isinstance(v, Var) and v.id in body_symbolic for v in ys_vars]
    new_body = Program([], new_body.invars, new_body.eqns,
                       new_body.outvars[:ncar] + [v for v, z in zip(ys_vars, zy) if not z])
    new_body = dce_program(new_body)
    new_ins = [a for a, z in zip(ins, keep_mask) if not z]
    params = dict(p, program=new_body, num_consts=nc - sum(zc))
    outs = eqn.outputs[:ncar] + [v for v, z in zip(eqn.outputs[ncar:], zy) if not z]
    res = [Eqn(eqn.prim, new_ins, params, outs)]
    for v, z, zsym in zip(eqn.outputs[ncar:], zy, zy_sym):
        if z:
            res.append(Eqn(st.broadcast_in_dim_p, [Lit(np.zeros((), v.aval.dtype),
                                                       core.ShapedArray((), v.aval.dtype),
                                                       zsym)],
                           {"shape": v.aval.shape, "broadcast_dimensions": ()}, [v]))
    return res
