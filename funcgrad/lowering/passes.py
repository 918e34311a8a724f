"""IR-to-IR optimisation passes run before lowering: inlining of nested `jit` calls, dead
code elimination, common subexpression elimination, constant folding of scalar
arithmetic and algebraic simplification (x*1, x+0, no-op casts and reshapes)."""
from __future__ import annotations

import numpy as np

from .. import core
from ..ir import Eqn, Lit, Program, Var, dce_program
from ..prims import control
from ..prims import elementwise as ew
from ..prims import structural as st


def optimize(program: Program) -> Program:
    """The standard pipeline; the result computes the same outputs."""
    p = inline_calls(program)
    p = simplify(p)
    p = cse(p)
    p = dce_program(p)
    p = fold_dot_transpose(p)
    p = dce_program(p)
    return p


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
                        eqns.append(Eqn(la.dot_general_p, [rhs, lhs],
                                        dict(d.params, dimension_numbers=((rc, lc), ((), ()))),
                                        e.outputs))
                        continue
        eqns.append(e)
    return Program(program.constvars, program.invars, eqns, program.outvars)


def _rename(program: Program, env: dict[int, object]):
    def sub(a):
        if isinstance(a, Var):
            return env.get(a.id, a)
        return a
    return sub


def inline_calls(program: Program) -> Program:
    """Inline `jit` and `remat` equations (their programs are const-free)."""
    eqns: list[Eqn] = []
    env: dict[int, object] = {}
    sub = _rename(program, env)
    for eqn in program.eqns:
        ins = [sub(a) for a in eqn.inputs]
        if eqn.prim in (control.jit_p, control.remat_p):
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
        if eqn.prim not in _NO_CSE and eqn.prim is not control.const_p:
            key = (eqn.prim, tuple(("v", a.id) if isinstance(a, Var) else
                                   ("l", a.aval.dtype.str, a.val.item()) for a in ins),
                   _param_key(eqn.params))
        if key is not None and key in seen:
            for v, w in zip(eqn.outputs, seen[key]):
                env[v.id] = w
            continue
        if key is not None:
            seen[key] = eqn.outputs
        eqns.append(Eqn(eqn.prim, ins, eqn.params, eqn.outputs))
    return Program(program.constvars, program.invars, eqns, [sub(v) for v in program.outvars])


def _lit_value(a):
    return a.val if isinstance(a, Lit) else None


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
        return Lit(v, out.aval)
    return None


def _is_float_negzero_sensitive(y) -> bool:
    # x + 0.0 == x for every x except -0.0 (-0.0 + 0.0 = +0.0); the difference is invisible
    # to everything but signbit/division by zero, which JAX also ignores here.
    return False
