"""Scan optimisations: move work that does not depend on the loop carry out of the loop.

1. *Hoisting*: expensive body equations (GEMMs, convolutions) that depend only on the
   scanned inputs (and constants) are computed for all iterations at once before the loop
   (vmapped over the scanned axis), with what they read, so e.g. an RNN's input projection
   `x_t @ W` becomes one large GEMM; cheap work after them stays in the loop.
2. *Accumulation*: a carry updated as `c + dot(a, b)` or `c + reduce_sum(a)` (the shape of
   a gradient accumulated over time in reverse mode) is replaced by stacking `a`/`b` as
   outputs and doing one large contraction after the loop.
3. *Cheap residuals recomputed*: a stacked output of one scan that only other scans read
   row by row, and that the body computes from its other stacked outputs with a few
   multiplies and adds (reverse mode's `s * (1 - s)` of a sigmoid, `1 - t * t` of a tanh),
   is recomputed in the reading loops instead of being stored and read back.
All rewrite programs into equivalent programs; the first two only fire where they remove
per-iteration GEMM work, the third where it removes stacked arrays.
"""
from __future__ import annotations

import numpy as np

from .. import core
from ..ir import Eqn, Lit, Program, Var, dce_program, has_effects
from ..prims import control, elementwise as ew, linalg as la, reductions as rd
from ..prims import structural as st

_EXPENSIVE = {la.dot_general_p, la.conv_general_dilated_p}


def optimize_scans(program: Program) -> Program:
    program = invariant_carries_as_consts(program)
    program = _hoist_and_accumulate(program)
    return recompute_cheap_residuals(program)


# --- carries passed through -------------------------------------------------------------


def invariant_carries_as_consts(program: Program) -> Program:
    """A scan carry that the body passes on unchanged (`fori_loop(..., lambda i, c: (c[0] +
    c[1][i], c[1]), (0.0, x))`) holds its initial value in every trip: it becomes one of
    the scan's constants, and its final value is the initial one. (As a carry it was
    copied into the loop's carry buffer on every call: 0.09 ms of a 64-trip loop over a
    (4096, 16) array whose trips cost 0.02 ms in all, where XLA reads it in place.) Only
    where the initial value is a variable (a literal carry stays a carry). The same for a
    `while_loop`'s carry, which becomes a constant of its condition and of its body, as
    long as one carry stays (the C loop copied it into its output buffer on every call:
    0.052 ms of a 64-trip loop over a (512, 1024) array, now 0.008; JAX 0.007-0.012).
    Loops nested in loop bodies and in `cond` branches are rewritten too, inner first (the
    backends optimise only the outer program)."""
    from .passes import _rename
    eqns, env, changed = [], {}, False
    sub = _rename(program, env)
    for eqn in program.eqns:
        ins = [sub(a) for a in eqn.inputs]
        params = _nested_loops_rewritten(eqn.params) if eqn.prim in _LOOPS_AND_COND else \
            eqn.params
        if params is not eqn.params:
            eqn, changed = Eqn(eqn.prim, eqn.inputs, params, eqn.outputs), True
        if eqn.prim in (control.scan_p, control.while_p):
            new = (_carries_as_consts if eqn.prim is control.scan_p else
                   _while_carries_as_consts)(eqn, ins, env)
            if new is not None:
                eqns.append(new)
                changed = True
                continue
        eqns.append(eqn if all(a is b for a, b in zip(ins, eqn.inputs)) else
                    Eqn(eqn.prim, ins, eqn.params, eqn.outputs))
    if not changed:
        return program
    return Program(program.constvars, program.invars, eqns, [sub(v) for v in program.outvars])


_LOOPS_AND_COND = (control.scan_p, control.while_p, control.cond_p)


def _nested_loops_rewritten(params: dict) -> dict:
    """`params` with the programs of a scan, while loop or cond rewritten by
    `invariant_carries_as_consts`; the same dict where none changes."""
    new = {}
    for k, v in params.items():
        if isinstance(v, Program):
            w = invariant_carries_as_consts(v)
        elif k == "branches":
            w = tuple(invariant_carries_as_consts(b) for b in v)
            w = v if all(a is b for a, b in zip(w, v)) else w
        else:
            continue
        if w is not v:
            new[k] = w
    return dict(params, **new) if new else params


def _passed_through(init: list, body: Program, nconsts: int) -> list:
    """The carries (indices into `init`, their initial values) that `body` (its inputs:
    `nconsts` constants, then the carries) returns unchanged, first among its outputs, and
    whose initial value is a variable."""
    return [j for j, a in enumerate(init) if isinstance(a, Var) and
            isinstance(body.outvars[j], Var) and body.outvars[j].id == body.invars[nconsts + j].id]


def _carries_as_consts(eqn: Eqn, ins: list, env: dict):
    """`eqn` (a scan, its inputs renamed to `ins`) with its passed-through carries made
    constants, recording in `env` that their outputs are their initial values; or None."""
    p = eqn.params
    body, nc, ncar = p["program"], p["num_consts"], p["num_carry"]
    moved = _passed_through(ins[nc:nc + ncar], body, nc)
    if not moved:
        return None
    kept = [j for j in range(ncar) if j not in moved]
    consts, carry, xs = _split(body, nc, ncar)
    new_body = Program(body.constvars,
                       list(consts) + [carry[j] for j in moved] + [carry[j] for j in kept] +
                       list(xs), body.eqns,
                       [body.outvars[j] for j in kept] + list(body.outvars[ncar:]))
    new_ins = ins[:nc] + [ins[nc + j] for j in moved] + [ins[nc + j] for j in kept] + \
        ins[nc + ncar:]
    for j in moved:
        env[eqn.outputs[j].id] = ins[nc + j]
    outs = [eqn.outputs[j] for j in kept] + list(eqn.outputs[ncar:])
    return Eqn(control.scan_p, new_ins,
               dict(p, program=new_body, num_consts=nc + len(moved), num_carry=len(kept)),
               outs)


def _while_carries_as_consts(eqn: Eqn, ins: list, env: dict):
    """`eqn` (a while loop, its inputs renamed to `ins`) with its passed-through carries made
    constants of its condition and body, recording in `env` that their outputs are their
    initial values; or None. A loop whose every carry passes through is left as it is (it
    runs no trip or never stops, and keeps doing so)."""
    p = eqn.params
    cprog, bprog = p["cond_program"], p["body_program"]
    cc, bc = p["cond_nconsts"], p["body_nconsts"]
    init = ins[cc + bc:]
    moved = _passed_through(init, bprog, bc)
    kept = [j for j in range(len(init)) if j not in moved]
    if not moved or not kept:
        return None

    def regroup(prog, nconsts, outvars):
        carry = prog.invars[nconsts:]
        return Program(prog.constvars, list(prog.invars[:nconsts]) + [carry[j] for j in moved]
                       + [carry[j] for j in kept], prog.eqns, outvars)
    new_ins = (ins[:cc] + [init[j] for j in moved] + ins[cc:cc + bc] + [init[j] for j in moved]
               + [init[j] for j in kept])
    for j in moved:
        env[eqn.outputs[j].id] = init[j]
    return Eqn(control.while_p, new_ins,
               dict(p, cond_program=regroup(cprog, cc, cprog.outvars),
                    body_program=regroup(bprog, bc, [bprog.outvars[j] for j in kept]),
                    cond_nconsts=cc + len(moved), body_nconsts=bc + len(moved)),
               [eqn.outputs[j] for j in kept])


def _hoist_and_accumulate(program: Program) -> Program:
    eqns = []
    changed = False
    for eqn in program.eqns:
        if eqn.prim is control.scan_p:
            new = _accumulate(eqn)
            if new is not None:
                changed = True
                new2 = []
                for e in new:
                    h = _hoist(e) if e.prim is control.scan_p else None
                    new2.extend(h if h is not None else [e])
                eqns.extend(new2)
                continue
            h = _hoist(eqn)
            if h is not None:
                changed = True
                eqns.extend(h)
                continue
        eqns.append(eqn)
    if not changed:
        return program
    return Program(program.constvars, program.invars, eqns, program.outvars)


def _split(body: Program, nc: int, ncar: int):
    return body.invars[:nc], body.invars[nc:nc + ncar], body.invars[nc + ncar:]


def _carry_dependent(body: Program, nc: int, ncar: int) -> set[int]:
    dep = {v.id for v in body.invars[nc:nc + ncar]}
    for e in body.eqns:
        if any(isinstance(a, Var) and a.id in dep for a in e.inputs):
            dep.update(v.id for v in e.outputs)
    return dep


# --- hoisting ---------------------------------------------------------------------------


def _hoist(eqn: Eqn):
    p = eqn.params
    body, nc, ncar, n = p["program"], p["num_consts"], p["num_carry"], p["length"]
    if n == 0:
        return None
    consts, carry, xs = _split(body, nc, ncar)
    if not xs:
        return None
    dep = _carry_dependent(body, nc, ncar)
    xdep = {v.id for v in xs}
    # Loop-invariant values (computed from constants and literals only) that the hoisted
    # equations may read: they are recomputed, unbatched, in the hoisted program.
    invariant = {v.id for v in consts}
    inv_eqns = []
    hoist = []
    for e in body.eqns:
        in_ids = [a.id for a in e.inputs if isinstance(a, Var)]
        if any(i in dep for i in in_ids):
            continue
        if e.prim.multiple_results or e.prim in (control.scan_p, control.while_p,
                                                  control.cond_p) or has_effects(e):
            continue      # effects (host callbacks) run every iteration: never hoisted
        if not all(i in xdep or i in invariant for i in in_ids):
            continue
        if any(i in xdep for i in in_ids):
            hoist.append(e)
            xdep.update(v.id for v in e.outputs)
        else:
            inv_eqns.append(e)
            invariant.update(v.id for v in e.outputs)
    if not any(e.prim in _EXPENSIVE for e in hoist):
        return None
    hoist = _expensive_and_their_inputs(hoist)
    hoisted_ids = {v.id for e in hoist for v in e.outputs}
    # Values crossing from the hoisted part into the rest of the body (or the outputs).
    rest = [e for e in body.eqns if e not in hoist]
    needed = []
    seen = set()
    for e in rest:
        for a in e.inputs:
            if isinstance(a, Var) and a.id in hoisted_ids and a.id not in seen:
                seen.add(a.id)
                needed.append(a)
    for v in body.outvars:
        if isinstance(v, Var) and v.id in hoisted_ids and v.id not in seen:
            seen.add(v.id)
            needed.append(v)
    if not needed:
        return None
    # Pre-program over [consts, xs] computing the needed values per iteration, batched.
    in_pre = {id(e) for e in hoist + inv_eqns}
    pre_eqns = [e for e in body.eqns if id(e) in in_pre]
    pre = Program([], list(consts) + list(xs), pre_eqns, needed)
    pre = dce_program(pre)
    bpre, batched = control.batch_program(pre, n, [None] * len(consts) + [0] * len(xs),
                                          force_out=[True] * len(needed))
    stacked = [Var(core.ShapedArray((n,) + v.aval.shape, v.aval.dtype, v.aval.weak_type))
               for v in needed]
    cin = eqn.inputs[:nc]
    xin = eqn.inputs[nc + ncar:]
    pre_eqn = Eqn(control.jit_p, list(cin) + list(xin),
                  {"program": bpre, "name": "scan_hoist", "backend": None,
                   "donate": (False,) * (len(cin) + len(xin))}, stacked)
    new_x_vars = [Var(v.aval) for v in needed]
    rename = {v.id: nv for v, nv in zip(needed, new_x_vars)}

    def sub(a):
        return rename.get(a.id, a) if isinstance(a, Var) else a

    new_rest = [Eqn(e.prim, [sub(a) for a in e.inputs], e.params, e.outputs) for e in rest]
    new_body = Program([], list(consts) + list(carry) + list(xs) + new_x_vars, new_rest,
                       [sub(v) for v in body.outvars])
    new_body = dce_program(new_body)
    scan_eqn = Eqn(control.scan_p, list(eqn.inputs) + stacked, dict(p, program=new_body),
                   eqn.outputs)
    return [pre_eqn, scan_eqn]


def _expensive_and_their_inputs(hoist: list) -> list:
    """The hoistable equations worth hoisting: the expensive ones and those they read. A
    cheap one after them (an RNN's bias add and its split into gates) stays in the body,
    where it fuses into the loop's elementwise kernel, instead of being computed for all
    iterations into one more stacked array that the loop then reads back (a GRU's input
    projection, 28x64x384: a 2.75 MB pass written and read, 0.6 ms a step)."""
    wanted: set[int] = set()
    keep = set()
    for e in reversed(hoist):
        if e.prim in _EXPENSIVE or any(v.id in wanted for v in e.outputs):
            keep.add(id(e))
            wanted.update(a.id for a in e.inputs if isinstance(a, Var))
    return [e for e in hoist if id(e) in keep]


# --- accumulation -----------------------------------------------------------------------


def _accumulate(eqn: Eqn):
    p = eqn.params
    body, nc, ncar, n = p["program"], p["num_consts"], p["num_carry"], p["length"]
    if n == 0:
        return None
    consts, carry, xs = _split(body, nc, ncar)
    uses: dict[int, int] = {}
    for e in body.eqns:
        for a in e.inputs:
            if isinstance(a, Var):
                uses[a.id] = uses.get(a.id, 0) + 1
    for v in body.outvars:
        if isinstance(v, Var):
            uses[v.id] = uses.get(v.id, 0) + 1
    producer = {v.id: e for e in body.eqns for v in e.outputs}
    xs_pos = {v.id: j for j, v in enumerate(xs)}
    plans = {}
    for i, (c, o) in enumerate(zip(carry, body.outvars[:ncar])):
        if not isinstance(o, Var) or uses.get(c.id) != 1 or o.aval.dtype.kind != "f":
            continue
        e = producer.get(o.id)
        if e is None or e.prim is not ew.add_p or len(e.inputs) != 2:
            continue
        a0, a1 = e.inputs
        term = a1 if (isinstance(a0, Var) and a0.id == c.id) else (
            a0 if (isinstance(a1, Var) and a1.id == c.id) else None)
        if term is None or not isinstance(term, Var) or term.aval.shape != c.aval.shape:
            continue
        te = producer.get(term.id)
        perm = None
        if te is not None and te.prim is st.transpose_p and uses.get(term.id) == 1:
            perm = te.params["permutation"]
            te = producer.get(te.inputs[0].id) if isinstance(te.inputs[0], Var) else None
        if te is None:
            continue
        if te.prim is la.dot_general_p and not te.params["dimension_numbers"][1][0] and \
                te.params.get("preferred_element_type") is None:
            plans[i] = ("dot", te, perm)
        elif te.prim is rd.reduce_sum_p and perm is None:
            plans[i] = ("sum", te, None)
    if not plans:
        return None
    if not any(kind == "dot" for kind, _, _ in plans.values()):
        return None
    # New body: accumulated carries dropped; operands of their terms become outputs.
    keep_carry = [i not in plans for i in range(ncar)]
    new_ys = []          # body values to stack (Vars not xs)
    out_specs = {}       # i -> (kind, eqn, perm, [operand refs])
    for i, (kind, te, perm) in plans.items():
        refs = []
        for a in te.inputs:
            if isinstance(a, Var) and a.id in xs_pos:
                refs.append(("xs", xs_pos[a.id]))
            elif isinstance(a, Var) and a.id in {v.id for v in consts}:
                refs.append(None)
            else:
                refs.append(("ys", a))
                if isinstance(a, Var) and all(a is not y for y in new_ys):
                    new_ys.append(a)
        if any(r is None for r in refs) or any(isinstance(a, Lit) for a in te.inputs):
            return None
        out_specs[i] = (kind, te, perm, refs)
    new_carry = [c for c, k in zip(carry, keep_carry) if k]
    new_out = ([o for o, k in zip(body.outvars[:ncar], keep_carry) if k] +
               list(body.outvars[ncar:]) + new_ys)
    new_body = dce_program(Program([], list(consts) + new_carry + list(xs), body.eqns, new_out))
    ys_outs = [Var(core.ShapedArray((n,) + v.aval.shape, v.aval.dtype, v.aval.weak_type))
               for v in new_ys]
    cin, carry_in, xin = (eqn.inputs[:nc], eqn.inputs[nc:nc + ncar], eqn.inputs[nc + ncar:])
    new_carry_outs = [v for v, k in zip(eqn.outputs[:ncar], keep_carry) if k]
    new_scan = Eqn(control.scan_p,
                   list(cin) + [a for a, k in zip(carry_in, keep_carry) if k] + list(xin),
                   dict(p, program=new_body, num_carry=sum(keep_carry)),
                   new_carry_outs + list(eqn.outputs[ncar:]) + ys_outs)
    after = []
    for i, (kind, te, perm, refs) in out_specs.items():
        stacked = [xin[r[1]] if r[0] == "xs" else ys_outs[new_ys.index(r[1])] for r in refs]
        if kind == "dot":
            (lc, rc), _ = te.params["dimension_numbers"]
            dn = (((0,) + tuple(d + 1 for d in lc), (0,) + tuple(d + 1 for d in rc)),
                  ((), ()))
            t_aval = te.outputs[0].aval
            d = Var(core.ShapedArray(t_aval.shape, t_aval.dtype))
            after.append(Eqn(la.dot_general_p, stacked, {"dimension_numbers": dn,
                                                         "preferred_element_type": None}, [d]))
        else:
            axes = te.params["axes"]
            t_aval = te.outputs[0].aval
            d = Var(core.ShapedArray(t_aval.shape, t_aval.dtype))
            after.append(Eqn(rd.reduce_sum_p, stacked,
                             {"axes": (0,) + tuple(a + 1 for a in axes)}, [d]))
        if perm is not None:
            d2 = Var(core.ShapedArray(tuple(d.aval.shape[q] for q in perm), d.aval.dtype))
            after.append(Eqn(st.transpose_p, [d], {"permutation": perm}, [d2]))
            d = d2
        out = eqn.outputs[i]
        after.append(Eqn(ew.add_p, [carry_in[i], d], {}, [out]))
    return [new_scan] + after


# --- cheap residuals --------------------------------------------------------------------

# What a recomputed residual may be made of: elementwise arithmetic on arrays of one shape
# (and scalar literals), at most _RECOMPUTE_MAX equations of it.
_CHEAP = frozenset({ew.add_p, ew.sub_p, ew.mul_p, ew.neg_p})
_RECOMPUTE_MAX = 4


def recompute_cheap_residuals(program: Program) -> Program:
    """Drop the stacked outputs of a scan that its readers can recompute: an output `y`
    whose body computes it from other stacked outputs `s1, s2...` of the same scan with at
    most _RECOMPUTE_MAX adds, subtracts, multiplies and negations (elementwise, one shape,
    scalar literals), when every reader of the stacked `y` is another scan taking it as a
    scanned input. Each reader then takes the stacked `s`s instead (row i of `y` is a
    function of row i of the `s`s alone, in whatever order the reader walks the rows) and
    computes its row of `y` in its body, where it fuses into the kernel that uses it.
    Reverse mode makes such residuals of every sigmoid and tanh in a loop: a GRU's forward
    scan stored 8 stacked arrays for its backward scan, 4 of them one or two flops from
    another (3.7 MB a step written and read back)."""
    readers = _readers(program.eqns)
    out_ids = {v.id for v in program.outvars if isinstance(v, Var)}
    eqns = list(program.eqns)
    changed = False
    for fi in range(len(eqns)):
        f = eqns[fi]
        if f.prim is not control.scan_p:
            continue
        plan = _recomputable(f, readers, out_ids)
        if not plan:
            continue
        eqns = _apply_recompute(eqns, fi, plan)
        changed = True
        readers = _readers(eqns)
    if not changed:
        return program
    return Program(program.constvars, program.invars, eqns, program.outvars)


def _readers(eqns) -> dict[int, list]:
    """{value id: [(equation, input position)] of every equation reading it}."""
    readers: dict[int, list] = {}
    for e in eqns:
        for k, a in enumerate(e.inputs):
            if isinstance(a, Var):
                readers.setdefault(a.id, []).append((e, k))
    return readers


def _recomputable(f: Eqn, readers, out_ids) -> dict:
    """{index j of a stacked output of scan `f`: (the body equations computing it, in
    order, and the indices of the stacked outputs they read)}."""
    p = f.params
    body, ncar = p["program"], p["num_carry"]
    ys = body.outvars[ncar:]
    producer = {v.id: e for e in body.eqns for v in e.outputs}
    ys_index = {}
    for j, v in enumerate(ys):
        if isinstance(v, Var):
            ys_index.setdefault(v.id, j)
    plan = {}
    for j, y in enumerate(ys):
        if not isinstance(y, Var) or ys_index[y.id] != j or y.id not in producer:
            continue
        out = f.outputs[ncar + j]
        if out.id in out_ids or not _scanned_by_scans(out, readers.get(out.id, [])):
            continue
        chain = _cheap_chain(y, producer, ys_index, j)
        if chain is not None:
            plan[j] = chain
    # a residual recomputed from another recomputed one would lose its source
    return {j: c for j, c in plan.items() if not any(s in plan for s in c[1])}


def _scanned_by_scans(out: Var, uses) -> bool:
    if not uses:
        return False
    for e, k in uses:
        if e.prim is not control.scan_p:
            return False
        nc, ncar = e.params["num_consts"], e.params["num_carry"]
        if k < nc + ncar:
            return False
    return True


def _cheap_chain(y: Var, producer, ys_index, j):
    """(equations computing `y` from other stacked outputs and literals, their indices),
    or None when `y` is not such a value."""
    shape = y.aval.shape
    chain, sources, seen = [], [], set()

    def visit(v) -> bool:
        if isinstance(v, Lit):
            return np.ndim(v.val) == 0
        k = ys_index.get(v.id)
        if k is not None and k != j:
            if k not in sources:
                sources.append(k)
            return True
        if v.id in seen:
            return True
        e = producer.get(v.id)
        if e is None or e.prim not in _CHEAP or len(chain) >= _RECOMPUTE_MAX:
            return False
        if v.aval.shape != shape or v.aval.dtype != y.aval.dtype:
            return False
        if not all(visit(a) for a in e.inputs):
            return False
        seen.add(v.id)
        chain.append(e)
        return True

    if not visit(y) or not chain or not sources:
        return None
    return chain, sources


def _apply_recompute(eqns: list, fi: int, plan: dict) -> list:
    f = eqns[fi]
    p = f.params
    body, ncar = p["program"], p["num_carry"]
    n_ys = len(body.outvars) - ncar
    keep = [j for j in range(n_ys) if j not in plan]
    new_body = dce_program(Program(body.constvars, body.invars, body.eqns,
                                   body.outvars[:ncar] + [body.outvars[ncar + j]
                                                          for j in keep]))
    stacked = {j: f.outputs[ncar + j] for j in range(n_ys)}
    new_f = Eqn(control.scan_p, f.inputs, dict(p, program=new_body),
                f.outputs[:ncar] + [stacked[j] for j in keep])
    dropped = {stacked[j].id: j for j in plan}
    out = list(eqns)
    out[fi] = new_f
    for i, e in enumerate(out):
        if e.prim is control.scan_p and any(isinstance(a, Var) and a.id in dropped
                                            for a in e.inputs):
            out[i] = _read_recomputed(e, dropped, plan, stacked, body)
    return out


def _read_recomputed(e: Eqn, dropped, plan, stacked, fbody) -> Eqn:
    """Scan `e` with each dropped stacked input replaced by the stacked sources it is
    recomputed from (added as scanned inputs where `e` does not read them already) and
    the recomputation at the start of its body."""
    p = e.params
    body, nc, ncar = p["program"], p["num_consts"], p["num_carry"]
    inputs = list(e.inputs)
    invars = list(body.invars)
    row_of = {}              # stacked source id -> its row Var in e's body
    for a, v in zip(inputs[nc + ncar:], invars[nc + ncar:]):
        if isinstance(a, Var) and a.id not in dropped:
            row_of.setdefault(a.id, v)
    pre = []
    keep_in, keep_var = inputs[:nc + ncar], invars[:nc + ncar]
    extra_in, extra_var = [], []
    for a, v in zip(inputs[nc + ncar:], invars[nc + ncar:]):
        if not (isinstance(a, Var) and a.id in dropped):
            keep_in.append(a)
            keep_var.append(v)
            continue
        chain, sources = plan[dropped[a.id]]
        env = {}
        for k in sources:
            src = stacked[k]
            row = fbody.outvars[len(fbody.outvars) - len(stacked) + k]   # its row in f
            if src.id not in row_of:
                row_of[src.id] = Var(row.aval)
                extra_in.append(src)
                extra_var.append(row_of[src.id])
            env[row.id] = row_of[src.id]
        for ce in chain:
            ins = [env.get(x.id, x) if isinstance(x, Var) else x for x in ce.inputs]
            outs = [v if ce is chain[-1] else Var(o.aval) for o in ce.outputs]
            for o, no in zip(ce.outputs, outs):
                env[o.id] = no
            pre.append(Eqn(ce.prim, ins, ce.params, outs))
    new_body = Program(body.constvars, keep_var + extra_var, pre + list(body.eqns),
                       body.outvars)
    return Eqn(control.scan_p, keep_in + extra_in, dict(p, program=new_body), e.outputs)
