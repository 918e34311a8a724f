"""Higher-order primitives, each holding IR sub-programs: `jit` (a compiled call), `remat`
(checkpoint), `custom_jvp_call`, `custom_vjp_call` / `custom_lin`, `scan`, `cond` and
`while`.

Sub-programs are const-free: constants are hoisted into explicit leading operands
(`num_consts`). Reverse mode splits these primitives into a known (primal) part that runs
now and an unknown (tangent) part that is staged, via `partial_eval_program`.
"""
from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .. import core, dtypes
from ..ad import (JVPTracer, UndefinedPrimal, _take_absent, backward_pass,
                  is_linearize_tracer, is_undefined, jvp_flat, jvp_program, transpose_program,
                  zeros_like_aval)
from ..batching import (BatchTrace, BatchTracer, bdim_at_front, move_or_broadcast,
                        rule_axis_name)
from ..core import ShapedArray, bind, new_main, safe_zip, split_list
from ..ir import (Eqn, Program, Var, eval_program, partial_eval_rules, stage_closed,
                  trace_to_program)
from ..lru import LRU

# Impls that run on Arrays (they call back into `bind`) rather than on NumPy buffers.
array_impls: dict[core.Primitive, Callable] = {}


# ---------------------------------------------------------------------------------------
# Program-level helpers


def batch_program(program: Program, size: int, in_dims, force_out=None):
    """vmap a const-free program. Batched outputs come out at axis 0. Returns the batched
    program and which outputs are batched (`force_out[i]` True forces batching)."""
    out_batched: list[bool] = []
    name = rule_axis_name()

    def f(*args):
        with new_main(BatchTrace, {"size": size, "axis_name": name}) as main:
            trace = BatchTrace(main)
            tracers = [BatchTracer(trace, a, d) if d is not None else a
                       for a, d in safe_zip(args, in_dims)]
            outs = eval_program(program, [], tracers)
            outs = [core.full_raise(trace, o) for o in outs]
            res = []
            for i, t in enumerate(outs):
                b = t.bdim is not None or (force_out is not None and force_out[i])
                out_batched.append(b)
                res.append(move_or_broadcast(t.val, t.bdim, 0 if b else None, size))
        return res

    in_avals = []
    for v, d in safe_zip(program.invars, in_dims):
        a = v.aval
        if d is not None:
            shape = list(a.shape)
            shape.insert(d, size)
            a = a.update(shape=tuple(shape))
        in_avals.append(a)
    prog, consts = trace_to_program(f, in_avals)
    return _closed_to_plain(prog, consts), out_batched


def _closed_to_plain(prog: Program, consts) -> Program:
    """Inline concrete consts of a traced sub-program as program-level constants.

    A sub-program traced from another program has no outer tracers among its consts, so
    they are concrete arrays; they become `const` equations (literal buffers)."""
    if not prog.constvars:
        return prog
    eqns = []
    for v, c in safe_zip(prog.constvars, consts):
        if isinstance(c, core.Tracer):
            raise core.UnexpectedTracerError(
                "internal: a transformed sub-program closed over a tracer")
        eqns.append(Eqn(const_p, [], {"value": _ConstValue(np.asarray(c), c.aval)}, [v]))
    return Program([], prog.invars, eqns + prog.eqns, prog.outvars)


class _ConstValue:
    """A NumPy constant held by a `const` equation; compared by identity."""

    __slots__ = ("value", "aval")

    def __init__(self, value, aval):
        self.value = value
        self.aval = aval

    def __repr__(self):
        if self.value.size <= 4:
            return np.array2string(self.value, separator=",")
        return f"<{self.aval.short()} constant>"


const_p = core.new_primitive("const")
core.shape_rules[const_p] = lambda *, value: value.aval
core.impl_rules[const_p] = lambda *, value: value.value
core.jvp_rules[const_p] = lambda p, t, *, value: (
    bind(const_p, value=value), zeros_like_aval(value.aval))
core.batch_rules[const_p] = lambda size, vals, dims, *, value: (_ for _ in ()).throw(
    AssertionError("const has no operands"))


def permute_program(program: Program, in_perm, out_perm) -> Program:
    """Reorder a program's inputs/outputs: new input i is old input in_perm[i]."""
    invars = [program.invars[i] for i in in_perm]
    outvars = [program.outvars[i] for i in out_perm]
    return Program([], invars, program.eqns, outvars)


def partial_eval_program(program: Program, in_unknowns, instantiate=None):
    """Split a const-free program into a known part and an unknown part.

    Returns (known, unknown, out_unknowns, num_res): `known` maps the known inputs to the
    known outputs followed by `num_res` residuals; `unknown` maps `[*residuals,
    *unknown inputs]` to the unknown outputs. `jit` calls are inlined first: one with
    known and unknown inputs went whole into the unknown part, its primal results with it,
    which transposition then took for linear values (a jitted function called in a scan
    body under grad raised 'mul is not linear in both operands at once')."""
    program = _inline_jits(program)
    uk: set[int] = {v.id for v, u in safe_zip(program.invars, in_unknowns) if u}
    known_eqns: list[Eqn] = []
    unknown_eqns: list[Eqn] = []
    for eqn in program.eqns:
        ins_uk = [isinstance(a, Var) and a.id in uk for a in eqn.inputs]
        if not any(ins_uk):
            known_eqns.append(eqn)
            continue
        rule = pe_eqn_rules.get(eqn.prim)
        if rule is not None and not all(ins_uk):
            k_eqns, u_eqns, outs_uk = rule(eqn, ins_uk)
            known_eqns.extend(k_eqns)
            unknown_eqns.extend(u_eqns)
            uk.update(v.id for v, u in zip(eqn.outputs, outs_uk) if u)
        else:
            if eqn.prim is while_p:
                raise _while_reverse_error()
            unknown_eqns.append(eqn)
            uk.update(v.id for v in eqn.outputs)
    out_uk = [isinstance(v, Var) and v.id in uk for v in program.outvars]
    if instantiate is not None:
        out_uk = [a or b for a, b in safe_zip(out_uk, instantiate)]
    defined_known = {v.id for v, u in zip(program.invars, in_unknowns) if not u}
    for e in known_eqns:
        defined_known.update(v.id for v in e.outputs)
    residuals: list[Var] = []
    seen: set[int] = set()

    def need(a):
        if isinstance(a, Var) and a.id not in uk and a.id not in seen:
            seen.add(a.id)
            residuals.append(a)

    for e in unknown_eqns:
        for a in e.inputs:
            need(a)
    for v, u in zip(program.outvars, out_uk):
        if u:
            need(v)
    known_invars = [v for v, u in zip(program.invars, in_unknowns) if not u]
    unknown_invars = [v for v, u in zip(program.invars, in_unknowns) if u]
    known_outs = [v for v, u in zip(program.outvars, out_uk) if not u]
    unknown_outs = [v for v, u in zip(program.outvars, out_uk) if u]
    known = Program([], known_invars, known_eqns, known_outs + residuals)
    # Residuals need fresh binders in the unknown program only where they are redefined;
    # Vars are shared across the two programs, which are separate scopes.
    unknown = Program([], residuals + unknown_invars, unknown_eqns, unknown_outs)
    return known, unknown, out_uk, len(residuals)


pe_eqn_rules: dict[core.Primitive, Callable] = {}


def _pe_trace_rule(trace, tracers, params, prim):
    """Partial evaluation of one higher-order equation during linearize."""
    invars = [Var(t.aval) for t in tracers]
    out_avals = core.shape_rules[prim](*[t.aval for t in tracers], **params)
    out_avals = out_avals if prim.multiple_results else [out_avals]
    outvars = [Var(a) for a in out_avals]
    prog = Program([], invars, [Eqn(prim, invars, params, outvars)], outvars)
    in_uk = [t.const is None for t in tracers]
    known, unknown, out_uk, nres = partial_eval_program(prog, in_uk)
    kvals = eval_program(known, [], [t.const for t in tracers if t.const is not None])
    nk = len(kvals) - nres
    known_outs, residuals = kvals[:nk], kvals[nk:]
    gd = trace.main.global_data
    gd["partial_eval"] = False
    try:
        # The unknown part is staged as is: its known inputs are residuals now.
        uvals = eval_program(unknown, [], [trace.pure(r) for r in residuals] +
                             [t for t in tracers if t.const is None])
    finally:
        gd["partial_eval"] = True
    kit, uit = iter(known_outs), iter(uvals)
    outs = [next(uit) if u else trace.pure(next(kit)) for u in out_uk]
    return outs if prim.multiple_results else outs[0]


def _register_pe(prim):
    partial_eval_rules[prim] = lambda trace, tracers, params: _pe_trace_rule(
        trace, tracers, params, prim)


# ---------------------------------------------------------------------------------------
# jit: a call of a const-free program, compiled by the backend

jit_p = core.new_primitive("jit", multiple_results=True)
jit_p.debug_check = False      # Jitted checks its outputs and names the operation itself
core.shape_rules[jit_p] = lambda *avals, program, **_: program.out_avals


def _jit_impl(*args, program, name, backend, donate):
    return core.get_backend(backend).execute_program(program, list(args), name=name, donate=donate)


# Programs derived from a jitted program (its JVP, its linearized halves, their transpose,
# its batched form), memoized by the identity of the program they come from, as JAX caches
# on jaxpr identity: a transform of a jitted function applied outside jit gets the same
# derived Program objects on every call, so the backends' executable caches hit instead of
# building (and compiling) them again.
_DERIVED = LRU(lambda: 512)


def clear_derived() -> None:
    """Forget the derived programs and which programs were differentiated once (part of
    `funcgrad.clear_caches`)."""
    _DERIVED.clear()
    _LINEARIZED_ONCE.clear()


def _derived(kind: str, program: Program, extra, build):
    key = (kind, id(program), extra)
    hit = _DERIVED.get(key)
    if hit is not None and hit[0] is program:
        return hit[1]
    value = build()
    _DERIVED.put(key, (program, value))
    return value


def _outside_staging(xs) -> bool:
    """Whether no value is being staged into a program (by an outer jit, or an outer
    linearize): concrete arrays, or tracers of vmap and forward-mode traces, whose rules
    for `jit` compile the call. Under an outer jit the call is inlined there anyway."""
    from ..ir import StagingTracer
    return not core.dynamic_trace_active() and \
        not any(_staged(x, StagingTracer) for x in xs)


def _staged(x, staging_type) -> bool:
    """Whether `x` is, or carries at any level (a JVP tracer's primal or tangent, a batch
    tracer's value), a value being staged."""
    if not isinstance(x, core.Tracer):
        return False
    if isinstance(x, staging_type):
        return True
    if isinstance(x, JVPTracer):
        return _staged(x.primal, staging_type) or _staged(x.tangent, staging_type)
    if isinstance(x, BatchTracer):
        return _staged(x.val, staging_type)
    return True            # another kind of tracer: keep the inlining path


def _inline_jits(program: Program) -> Program:
    """`program` with its `jit` calls (and theirs) inlined (for `partial_eval_program`,
    which has no rule splitting a call)."""
    if not any(e.prim is jit_p for e in program.eqns):
        return program
    eqns: list[Eqn] = []
    env: dict[int, object] = {}

    def sub(a, env=env):
        return env.get(a.id, a) if isinstance(a, Var) else a

    for eqn in program.eqns:
        ins = [sub(a) for a in eqn.inputs]
        if eqn.prim is not jit_p:
            eqns.append(Eqn(eqn.prim, ins, eqn.params, eqn.outputs))
            continue
        inner = _inline_jits(eqn.params["program"])
        ienv: dict[int, object] = {v.id: a for v, a in safe_zip(inner.invars, ins)}
        for e in inner.eqns:
            outs = [Var(v.aval) for v in e.outputs]
            ienv.update((v.id, o) for v, o in zip(e.outputs, outs))
            eqns.append(Eqn(e.prim, [sub(a, ienv) for a in e.inputs], e.params, outs))
        for v, o in safe_zip(eqn.outputs, inner.outvars):
            env[v.id] = sub(o, ienv)
    return Program(program.constvars, program.invars, eqns, [sub(v) for v in program.outvars])


def _linearized(program: Program, nonzero, unknown):
    """The JVP of `program` split into a known program (primals and the known tangents ->
    the known outputs and residuals) and a linear one (residuals and the unknown tangents
    -> the unknown outputs): `partial_eval_program`'s result."""
    jprog = _closed_to_plain(*jvp_program(program, nonzero=nonzero))
    return partial_eval_program(jprog, [False] * len(program.invars) + list(unknown))


def _jit_linearize(primals, tangents, absent, program, name, backend):
    """Reverse mode through a jitted call on concrete primals: the known half of its JVP
    runs now as one compiled call, and the linear half is staged as one `jit` equation,
    which `_jit_transpose` turns into one compiled call of its transpose (JAX's pjit
    partial evaluation). Inlining instead ran every operation of the program eagerly."""
    nonzero = tuple(not a for a in absent)
    nz_t = [t for t, nz in safe_zip(tangents, nonzero) if nz]
    unknown = tuple(is_linearize_tracer(t) for t in nz_t)
    known, linear, out_uk, nres = _derived(
        "linearize", program, (nonzero, unknown), lambda: _linearized(program, nonzero, unknown))
    n = len(program.outvars)
    if any(out_uk[:n]):
        # A primal output the split could not keep known (a call inside a loop body, say):
        # inline the whole call instead, which splits operation by operation.
        return jvp_flat(lambda *a: eval_program(program, [], a), primals, tangents)
    kin = list(primals) + [t for t, u in safe_zip(nz_t, unknown) if not u]
    kvals = bind(jit_p, *kin, program=known, name=f"jvp({name})", backend=backend,
                 donate=(False,) * len(kin))
    nk = len(kvals) - nres
    uin = list(kvals[nk:]) + [t for t, u in safe_zip(nz_t, unknown) if u]
    uvals = bind(jit_p, *uin, program=linear, name=f"linear({name})", backend=backend,
                 donate=(False,) * len(uin))
    kit, uit = iter(kvals[:nk]), iter(uvals)
    outs = [next(uit) if u else next(kit) for u in out_uk]
    return outs[:n], outs[n:]


# Jitted programs differentiated in reverse mode once (by id, holding the program): the
# first time, the call is inlined (building the two compiled halves and the transpose costs
# ~0.1 s each even when their C is in the disk cache, more than running a small program's
# operations one by one once); from the second time on it runs compiled.
_LINEARIZED_ONCE = LRU(lambda: 512)


def _jit_jvp(primals, tangents, *, program, name, backend, donate):
    absent = _take_absent(len(tangents))
    if any(is_linearize_tracer(t) for t in tangents):
        known_tangents = [t for t in tangents if not is_linearize_tracer(t)]
        if _outside_staging(list(primals) + known_tangents):
            seen = _LINEARIZED_ONCE.get(id(program))
            if seen is not None and seen is program:
                return _jit_linearize(primals, tangents, absent, program, name, backend)
            _LINEARIZED_ONCE.put(id(program), program)
        # Inline, so the primal part runs now and the tangent part is staged (under an
        # outer jit, which compiles both; or the first time, see _LINEARIZED_ONCE).
        return jvp_flat(lambda *a: eval_program(program, [], a), primals, tangents)
    # Only the tangents that are not symbolic zeros are inputs: a closed-over constant's
    # zero tangent computed with gave 0 * inf = NaN (sqrt(c) * x at c = 0), where JAX's
    # symbolic zero gives 0.
    nonzero = tuple(not a for a in absent)
    jprog = _derived("jvp", program, nonzero,
                     lambda: _closed_to_plain(*jvp_program(program, nonzero=nonzero)))
    nz_t = [t for t, nz in safe_zip(tangents, nonzero) if nz]
    outs = bind(jit_p, *primals, *nz_t, program=jprog, name=f"jvp({name})",
                backend=backend, donate=(False,) * len(jprog.invars))
    n = len(program.outvars)
    return outs[:n], outs[n:]


def _transpose_call(program: Program, args, cts):
    """Transpose a call of `program` whose linear inputs are the `UndefinedPrimal` args.

    The program is split first: its part that depends only on the known inputs runs
    forward (so a `scan` or `cond` carrying both primal and tangent values, as the JVP of a
    checkpointed loop has, is split into a known loop and a linear one), and only the part
    that depends on the linear inputs is transposed."""
    in_uk = [is_undefined(a) for a in args]
    known, unknown, out_uk, nres = partial_eval_program(program, in_uk)
    kvals = eval_program(known, [], [a for a in args if not is_undefined(a)])
    residuals = list(kvals[len(kvals) - nres:]) if nres else []
    ucts = [ct for ct, u in safe_zip(cts, out_uk) if u]
    cts_in = backward_pass(unknown, [], residuals + [a for a in args if is_undefined(a)], ucts)
    it = iter(cts_in[nres:])
    return [next(it) if u else None for u in in_uk]


def _transposed(program: Program, linear) -> tuple[Program, list]:
    """The transpose of a call of `program` as a program: `[*its non-linear inputs, *the
    cotangents of its outputs] -> the cotangents of the linear inputs that get one`, and
    which linear inputs those are."""
    k_avals = [v.aval for v, lin in safe_zip(program.invars, linear) if not lin]
    nk = len(k_avals)
    present: list[bool] = []

    def f(*args):
        it = iter(args[:nk])
        full = [UndefinedPrimal(v.aval) if lin else next(it)
                for v, lin in safe_zip(program.invars, linear)]
        cts = _transpose_call(program, full, list(args[nk:]))
        present.extend(c is not None for c, lin in safe_zip(cts, linear) if lin)
        return [c for c, lin in safe_zip(cts, linear) if lin and c is not None]

    prog, consts = trace_to_program(f, k_avals + list(program.out_avals))
    return _closed_to_plain(prog, consts), present


def _jit_transpose(cts, *args, program, name, backend, donate):
    linear = tuple(is_undefined(a) for a in args)
    known = [a for a in args if not is_undefined(a)]
    if not _outside_staging(known + list(cts)):
        return _transpose_call(program, list(args), list(cts))
    # One compiled call of the transpose (eagerly, `_transpose_call` ran each operation of
    # the transposed program on its own).
    tprog, present = _derived("transpose", program, linear,
                              lambda: _transposed(program, linear))
    ins = known + list(cts)
    outs = iter(bind(jit_p, *ins, program=tprog, name=f"transpose({name})",
                     backend=backend, donate=(False,) * len(ins)))
    got = iter(present)
    return [(next(outs) if next(got) else None) if lin else None for lin in linear]


def _jit_batch(size, vals, dims, *, program, name, backend, donate):
    key = (size, tuple(dims), rule_axis_name())
    bprog, _ = _derived("batch", program, key, lambda: batch_program(
        program, size, dims, force_out=[True] * len(program.outvars)))
    outs = bind(jit_p, *vals, program=bprog, name=f"vmap({name})", backend=backend,
                donate=(False,) * len(vals))
    return outs, [0] * len(outs)


array_impls[jit_p] = _jit_impl
core.jvp_rules[jit_p] = _jit_jvp
core.transpose_rules[jit_p] = _jit_transpose
core.batch_rules[jit_p] = _jit_batch

# ---------------------------------------------------------------------------------------
# remat (checkpoint): the tangent part recomputes its primal values in the backward pass

remat_p = core.new_primitive("remat", multiple_results=True)
core.shape_rules[remat_p] = lambda *avals, program: program.out_avals
array_impls[remat_p] = lambda *args, program: eval_program(program, [], args)


def _remat_jvp(primals, tangents, *, program):
    # Only the tangents that are not symbolic zeros are inputs, as `_jit_jvp`'s: an
    # integer argument's zero tangent computed with gave pow's exponent term
    # log(x) * x**y * 0 = NaN for a negative x (`checkpoint(f)(x, 3)` with f = x ** s;
    # fuzz seed 20261962), where JAX's symbolic zero gives nothing.
    absent = _take_absent(len(tangents))
    nonzero = tuple(not a for a in absent)
    primals_out = bind(remat_p, *primals, program=program)
    jprog, consts = jvp_program(program, nonzero=nonzero)
    jprog = _closed_to_plain(jprog, consts)
    n = len(program.outvars)
    tprog = Program([], jprog.invars, jprog.eqns, jprog.outvars[n:])
    from ..ir import dce_program
    nz_t = [t for t, nz in safe_zip(tangents, nonzero) if nz]
    tangents_out = bind(remat_p, *primals, *nz_t, program=dce_program(tprog))
    return primals_out, tangents_out


def _remat_transpose(cts, *args, program):
    return _transpose_call(program, list(args), list(cts))


def _remat_batch(size, vals, dims, *, program):
    bprog, _ = batch_program(program, size, dims, force_out=[True] * len(program.outvars))
    outs = bind(remat_p, *vals, program=bprog)
    return outs, [0] * len(outs)


core.jvp_rules[remat_p] = _remat_jvp
core.transpose_rules[remat_p] = _remat_transpose
core.batch_rules[remat_p] = _remat_batch

# ---------------------------------------------------------------------------------------
# custom_jvp_call: `program` is the function, `jvp` a Python callable on flat lists

custom_jvp_call_p = core.new_primitive("custom_jvp_call", multiple_results=True)
core.shape_rules[custom_jvp_call_p] = lambda *avals, program, jvp, num_consts: program.out_avals
array_impls[custom_jvp_call_p] = lambda *args, program, jvp, num_consts: eval_program(
    program, [], args)


def _custom_jvp_rule(primals, tangents, *, program, jvp, num_consts):
    outs, t_outs = jvp(list(primals[num_consts:]), list(tangents[num_consts:]))
    return list(outs), list(t_outs)


def _custom_jvp_batch(size, vals, dims, *, program, jvp, num_consts):
    nout = len(program.outvars)
    bprog, _ = batch_program(program, size, dims, force_out=[True] * nout)
    pdims = list(dims[num_consts:])

    def batched_jvp(primals, tangents):
        def flat(*pt):
            k = len(pt) // 2
            o, t = jvp(list(pt[:k]), list(pt[k:]))
            return list(o) + list(t)
        from ..batching import vmap_flat
        res = vmap_flat(flat, size, pdims + pdims, list(primals) + list(tangents),
                        [0] * (2 * nout))
        return res[:nout], res[nout:]

    outs = bind(custom_jvp_call_p, *vals, program=bprog, jvp=batched_jvp,
                num_consts=num_consts)
    return outs, [0] * nout


core.jvp_rules[custom_jvp_call_p] = _custom_jvp_rule
core.batch_rules[custom_jvp_call_p] = _custom_jvp_batch

# ---------------------------------------------------------------------------------------
# custom_vjp_call and custom_lin

custom_vjp_call_p = core.new_primitive("custom_vjp_call", multiple_results=True)
core.shape_rules[custom_vjp_call_p] = lambda *avals, program, fwd, bwd, num_consts: (
    program.out_avals)
array_impls[custom_vjp_call_p] = lambda *args, program, fwd, bwd, num_consts: eval_program(
    program, [], args)

custom_lin_p = core.new_primitive("custom_lin", multiple_results=True)
core.shape_rules[custom_lin_p] = lambda *avals, num_res, bwd, out_avals: list(out_avals)


def _custom_lin_impl(*args, num_res, bwd, out_avals):
    raise TypeError("can't apply forward-mode autodiff (jvp/jacfwd) to a custom_vjp function; "
                    "use reverse mode (grad/vjp/jacrev), or define the rule with custom_jvp")


def _custom_lin_batch(size, vals, dims, *, num_res, bwd, out_avals):
    # Reverse mode stages or transposes custom_lin; it is only ever batched (evaluated) under
    # forward mode, e.g. jacfwd = vmap(jvp): the same error as evaluating it.
    return _custom_lin_impl(*vals, num_res=num_res, bwd=bwd, out_avals=out_avals)


def _custom_lin_transpose(cts, *args, num_res, bwd, out_avals):
    res = list(args[:num_res])
    cts_in = bwd(res, list(cts))
    return [None] * num_res + list(cts_in)


array_impls[custom_lin_p] = _custom_lin_impl
core.transpose_rules[custom_lin_p] = _custom_lin_transpose
core.batch_rules[custom_lin_p] = _custom_lin_batch


def _custom_vjp_rule(primals, tangents, *, program, fwd, bwd, num_consts):
    outs, res = fwd(list(primals[num_consts:]))
    res = list(res)
    out_avals = tuple(core.get_aval(o).strip_weak() for o in outs)
    t_outs = bind(custom_lin_p, *res, *tangents[num_consts:], num_res=len(res), bwd=bwd,
                  out_avals=out_avals)
    return list(outs), list(t_outs)


def _custom_vjp_batch(size, vals, dims, *, program, fwd, bwd, num_consts):
    nout = len(program.outvars)
    bprog, _ = batch_program(program, size, dims, force_out=[True] * nout)
    pdims = list(dims[num_consts:])
    nres = []

    def bfwd(primals):
        def flat(*p):
            o, r = fwd(list(p))
            nres.append(len(r))
            return list(o) + list(r)
        outs = _vmap_all0(flat, size, pdims, list(primals))
        return outs[:nout], outs[nout:]

    def bbwd(res, cts):
        from .reductions import reduce_sum
        n = len(res)
        cts_in = _vmap_all0(lambda *rc: list(bwd(list(rc[:n]), list(rc[n:]))), size,
                            [0] * (n + len(cts)), list(res) + list(cts))
        # an input the vmap did not batch (shared by every example: a weight) gets the sum
        # of the examples' cotangents, as JAX's custom_vjp batching gives it; the batched
        # cotangent itself came back with the wrong shape (grad of a weight through
        # vmap(lambda x: f(w, x)) was per example, with no error)
        return [c if d is not None else reduce_sum(c, (0,)) for c, d in zip(cts_in, pdims)]

    outs = bind(custom_vjp_call_p, *vals, program=bprog, fwd=bfwd, bwd=bbwd,
                num_consts=num_consts)
    return outs, [0] * nout


def _vmap_all0(fun, size, in_dims, args):
    """vmap a flat function with every output batched at axis 0."""
    out_store = {}

    def wrapped(*a):
        outs = fun(*a)
        out_store["n"] = len(outs)
        return outs
    from ..batching import BatchTrace as _BT
    with new_main(_BT, {"size": size}) as main:
        trace = _BT(main)
        tracers = [BatchTracer(trace, x, d) if d is not None else x
                   for x, d in safe_zip(args, in_dims)]
        outs = [core.full_raise(trace, o) for o in wrapped(*tracers)]
        vals = [move_or_broadcast(t.val, t.bdim, 0, size) for t in outs]
    return vals


core.jvp_rules[custom_vjp_call_p] = _custom_vjp_rule
core.batch_rules[custom_vjp_call_p] = _custom_vjp_batch


# ---------------------------------------------------------------------------------------
# scan


scan_p = core.new_primitive("scan", multiple_results=True)


def _scan_shape(*avals, program, num_consts, num_carry, length, reverse):
    consts, carry, xs = split_list(avals, [num_consts, num_carry])
    body_in = program.in_avals
    for a, b in safe_zip(carry, body_in[num_consts:num_consts + num_carry]):
        if a.shape != b.shape or a.dtype != b.dtype:
            raise TypeError(f"scan: carry input {a.short()} does not match the body's carry "
                            f"{b.short()}")
    for x in xs:
        if not x.shape or x.shape[0] != length:
            raise TypeError(f"scan: scanned input {x.short()} must have leading axis of "
                            f"length {length}")
    outs = program.out_avals
    carry_out, ys = outs[:num_carry], outs[num_carry:]
    return list(carry_out) + [ShapedArray((length,) + y.shape, y.dtype, y.weak_type)
                              for y in ys]


def _index_array(x, i):
    from .indexing import dynamic_index_in_dim
    return dynamic_index_in_dim(x, i, 0, keepdims=False)


def _scan_impl(*args, program, num_consts, num_carry, length, reverse):
    consts, carry, xs = split_list(args, [num_consts, num_carry])
    xs_np = [np.asarray(x) for x in xs]
    ys: list[list] = []
    for k in range(length):
        i = length - 1 - k if reverse else k
        x_i = [core.ArrayImpl(np.asarray(x[i]), core.ShapedArray(x.shape[1:], x.dtype,
                                                      a.weak_type)) for x, a in zip(xs_np, xs)]
        outs = eval_program(program, [], list(consts) + list(carry) + x_i)
        carry, y = outs[:num_carry], outs[num_carry:]
        ys.append([np.asarray(v) for v in y])
    if reverse:
        ys.reverse()
    y_avals = program.out_avals[num_carry:]
    stacked = []
    for j, a in enumerate(y_avals):
        arr = np.stack([y[j] for y in ys]) if ys else np.zeros((0,) + a.shape, a.dtype)
        stacked.append(core.ArrayImpl(arr.astype(a.dtype, copy=False),
                                      ShapedArray((length,) + a.shape, a.dtype, a.weak_type)))
    return list(carry) + stacked


def _scan_jvp(primals, tangents, *, program, num_consts, num_carry, length, reverse):
    nc, ncar = num_consts, num_carry
    jprog, consts = jvp_program(program)
    jprog = _closed_to_plain(jprog, consts)
    n = len(program.invars)
    nx = n - nc - ncar
    nout = len(program.outvars)
    # jvp program inputs: [c, carry, x, c_dot, carry_dot, x_dot]; scan wants
    # [c, c_dot, carry, carry_dot, x, x_dot].
    in_perm = (list(range(nc)) + list(range(n, n + nc)) +
               list(range(nc, nc + ncar)) + list(range(n + nc, n + nc + ncar)) +
               list(range(nc + ncar, n)) + list(range(n + nc + ncar, 2 * n)))
    nys = nout - ncar
    out_perm = (list(range(ncar)) + list(range(nout, nout + ncar)) +
                list(range(ncar, nout)) + list(range(nout + ncar, 2 * nout)))
    sprog = permute_program(jprog, in_perm, out_perm)
    c, carry, xs = split_list(primals, [nc, ncar])
    cd, card, xsd = split_list(tangents, [nc, ncar])
    outs = bind(scan_p, *c, *cd, *carry, *card, *xs, *xsd, program=sprog,
                num_consts=2 * nc, num_carry=2 * ncar, length=length, reverse=reverse)
    carry_o, carry_do, ys, ysd = split_list(outs, [ncar, ncar, nys])
    del nx
    return carry_o + ys, carry_do + ysd


def _scan_pe_eqn(eqn: Eqn, in_uk):
    p = eqn.params
    body, nc, ncar, length = p["program"], p["num_consts"], p["num_carry"], p["length"]
    const_uk, carry_uk, xs_uk = split_list(list(in_uk), [nc, ncar])
    nys = len(body.outvars) - ncar
    for _ in range(ncar + 1):
        _, _, out_uk, _ = partial_eval_program(body, const_uk + carry_uk + xs_uk,
                                               instantiate=carry_uk + [False] * nys)
        carry_out_uk = out_uk[:ncar]
        new = [a or b for a, b in zip(carry_uk, carry_out_uk)]
        if new == carry_uk:
            break
        carry_uk = new
    known, unknown, out_uk, nres = partial_eval_program(
        body, const_uk + carry_uk + xs_uk, instantiate=carry_uk + [False] * nys)
    ys_uk = out_uk[ncar:]
    # Residuals that are known consts of the body stay loop-invariant; others are stacked.
    known_const_ids = {v.id for v, u in zip(body.invars[:nc], const_uk) if not u}
    # Residuals that are the body's own known xs are passed through from the outer xs.
    body_xs_pos = {v.id: j for j, (v, u) in enumerate(zip(body.invars[nc + ncar:], xs_uk))
                   if not u}
    res_vars = known.outvars[len(known.outvars) - nres:]
    invariant = [r.id in known_const_ids for r in res_vars]
    passthrough = [not inv and r.id in body_xs_pos for r, inv in zip(res_vars, invariant)]
    n_known_out = len(known.outvars) - nres
    known_stacked = Program([], known.invars, known.eqns, known.outvars[:n_known_out] +
                            [r for r, inv, pt in zip(res_vars, invariant, passthrough)
                             if not inv and not pt])
    n_kc = sum(not u for u in const_uk)
    n_kcar = sum(not u for u in carry_uk)
    k_inputs = [a for a, u in zip(eqn.inputs, in_uk[:nc]) if not u]
    k_inputs += [a for a, u in zip(eqn.inputs[nc:nc + ncar], carry_uk) if not u]
    k_inputs += [a for a, u in zip(eqn.inputs[nc + ncar:], xs_uk) if not u]
    k_outs = [v for v, u in zip(eqn.outputs[:ncar], carry_uk) if not u]
    k_outs += [v for v, u in zip(eqn.outputs[ncar:], ys_uk) if not u]
    new_stacked = []
    stacked_res = []
    for r, inv, pt in zip(res_vars, invariant, passthrough):
        if inv:
            continue
        if pt:
            stacked_res.append(eqn.inputs[nc + ncar + body_xs_pos[r.id]])
        else:
            v = Var(ShapedArray((length,) + r.aval.shape, r.aval.dtype, r.aval.weak_type))
            new_stacked.append(v)
            stacked_res.append(v)
    known_eqn = Eqn(scan_p, k_inputs, dict(p, program=known_stacked, num_consts=n_kc,
                                           num_carry=n_kcar), k_outs + new_stacked)
    # Outer atoms feeding loop-invariant residuals: the scan's own const inputs.
    body_const_pos = {v.id: i for i, v in enumerate(body.invars[:nc])}
    inv_res_atoms = [eqn.inputs[body_const_pos[r.id]]
                     for r, inv in zip(res_vars, invariant) if inv]
    # Unknown body takes [*residuals, *unknown ins]; reorder to scan layout:
    # [inv_res, uk_consts, uk_carry, stacked_res, uk_xs].
    n_uc = sum(const_uk)
    n_ucar = sum(carry_uk)
    n_ux = sum(xs_uk)
    res_pos = list(range(nres))
    inv_pos = [i for i, inv in zip(res_pos, invariant) if inv]
    stk_pos = [i for i, inv in zip(res_pos, invariant) if not inv]
    uk_in = list(range(nres, nres + n_uc + n_ucar + n_ux))
    in_perm = inv_pos + uk_in[:n_uc] + uk_in[n_uc:n_uc + n_ucar] + stk_pos + uk_in[n_uc + n_ucar:]
    uprog = permute_program(unknown, in_perm, list(range(len(unknown.outvars))))
    u_inputs = (inv_res_atoms + [a for a, u in zip(eqn.inputs[:nc], const_uk) if u] +
                [a for a, u in zip(eqn.inputs[nc:nc + ncar], carry_uk) if u] + stacked_res +
                [a for a, u in zip(eqn.inputs[nc + ncar:], xs_uk) if u])
    u_outs = [v for v, u in zip(eqn.outputs[:ncar], carry_uk) if u]
    u_outs += [v for v, u in zip(eqn.outputs[ncar:], ys_uk) if u]
    unknown_eqn = Eqn(scan_p, u_inputs, dict(p, program=uprog, num_consts=len(inv_pos) + n_uc,
                                             num_carry=n_ucar), u_outs)
    return [known_eqn], [unknown_eqn], carry_uk + ys_uk


def _scan_transpose(cts, *args, program, num_consts, num_carry, length, reverse):
    nc, ncar = num_consts, num_carry
    consts, carry, xs = split_list(args, [nc, ncar])
    c_lin = [is_undefined(c) for c in consts]
    x_lin = [is_undefined(x) for x in xs]
    # A carry with a known init in a linear scan starts from a zero tangent: transpose it
    # as linear and drop its cotangent.
    carry_lin = [is_undefined(c) for c in carry]
    ct_carry, ct_ys = cts[:ncar], cts[ncar:]
    res_consts = [c for c, lin in zip(consts, c_lin) if not lin]
    res_xs = [x for x, lin in zip(xs, x_lin) if not lin]
    lin_const_avals = [c.aval for c, lin in zip(consts, c_lin) if lin]
    ct_consts0 = [zeros_like_aval(a) for a in lin_const_avals]
    lin_mask = c_lin + [True] * ncar + x_lin
    body_t = transpose_program(program, lin_mask)
    n_rc, n_lc = len(res_consts), len(lin_const_avals)
    ys_avals = [ShapedArray(a.shape[1:], a.dtype, a.weak_type)
                for a in (core.get_aval(c) for c in ct_ys)]
    res_x_avals = [ShapedArray(core.get_aval(x).shape[1:], core.get_aval(x).dtype)
                   for x in res_xs]
    carry_avals = [c.aval if lin else core.get_aval(c) for c, lin in zip(carry, carry_lin)]

    def tbody(*a):
        rc, ctc_acc, ct_car, ct_y, rx = split_list(a, [n_rc, n_lc, ncar, len(ct_ys)])
        it_rc, it_rx = iter(rc), iter(rx)
        nonlin = [next(it_rc) for lin in c_lin if not lin] + [next(it_rx) for lin in x_lin
                                                              if not lin]
        cts_in = body_t(nonlin, list(ct_car) + list(ct_y))
        ct_c, ct_carry_in, ct_x = split_list(cts_in, [n_lc, ncar])
        from .elementwise import add
        acc = [add(a_, b_) for a_, b_ in safe_zip(ctc_acc, ct_c)]
        return acc + list(ct_carry_in) + list(ct_x)

    in_avals = ([core.get_aval(c) for c in res_consts] + lin_const_avals + carry_avals +
                ys_avals + res_x_avals)
    tprog, tconsts = stage_closed(tbody, in_avals)
    tprog = _closed_to_plain(_unhoist(tprog, tconsts), tconsts)
    outs = bind(scan_p, *res_consts, *ct_consts0, *ct_carry, *ct_ys, *res_xs, program=tprog,
                num_consts=n_rc, num_carry=n_lc + ncar, length=length, reverse=not reverse)
    ct_c, ct_init, ct_xs = split_list(outs, [n_lc, ncar])
    it_c, it_x = iter(ct_c), iter(ct_xs)
    return ([next(it_c) if lin else None for lin in c_lin] +
            [ct if lin else None for ct, lin in zip(ct_init, carry_lin)] +
            [next(it_x) if lin else None for lin in x_lin])


def _scan_batch(size, vals, dims, *, program, num_consts, num_carry, length, reverse):
    nc, ncar = num_consts, num_carry
    consts, carry, xs = split_list(vals, [nc, ncar])
    cdims, cardims, xdims = split_list(dims, [nc, ncar])
    consts = [bdim_at_front(c, d, size) if d is not None else c for c, d in zip(consts, cdims)]
    cdims = [0 if d is not None else None for d in cdims]
    xs = [move_or_broadcast(x, d, 1, size) if d is not None else x for x, d in zip(xs, xdims)]
    xdims_body = [0 if d is not None else None for d in xdims]
    carry_b = [d is not None for d in cardims]
    nys = len(program.outvars) - ncar
    for _ in range(ncar + 1):
        _, out_b = batch_program(program, size, cdims + [0 if b else None for b in carry_b] +
                                 xdims_body, force_out=carry_b + [False] * nys)
        new = [a or b for a, b in zip(carry_b, out_b[:ncar])]
        if new == carry_b:
            break
        carry_b = new
    bprog, out_b = batch_program(program, size, cdims + [0 if b else None for b in carry_b] +
                                 xdims_body, force_out=carry_b + [True] * nys)
    carry = [bdim_at_front(c, d, size) if b else c for c, d, b in zip(carry, cardims, carry_b)]
    outs = bind(scan_p, *consts, *carry, *xs, program=bprog, num_consts=nc, num_carry=ncar,
                length=length, reverse=reverse)
    return outs, [0 if b else None for b in carry_b] + [1] * nys


core.shape_rules[scan_p] = _scan_shape
array_impls[scan_p] = _scan_impl
core.jvp_rules[scan_p] = _scan_jvp
core.transpose_rules[scan_p] = _scan_transpose
core.batch_rules[scan_p] = _scan_batch
pe_eqn_rules[scan_p] = _scan_pe_eqn
_register_pe(scan_p)


# ---------------------------------------------------------------------------------------
# cond (switch over branch programs by an int32 index)

cond_p = core.new_primitive("cond", multiple_results=True)


def _cond_shape(index, *ops, branches):
    if index.shape != () or not dtypes.is_int(index.dtype):
        raise TypeError(f"cond: index must be an integer scalar, got {index.short()}")
    outs = branches[0].out_avals
    for b in branches[1:]:
        if [(a.shape, a.dtype) for a in b.out_avals] != [(a.shape, a.dtype) for a in outs]:
            raise TypeError("cond: branches must return the same types, got "
                            f"{[a.short() for a in outs]} and "
                            f"{[a.short() for a in b.out_avals]}")
    # JAX's rule: the results have branch 0's types, weak flags included (the false branch
    # of `cond`), whichever branch runs; a join of the branches' flags made the eager
    # result's flag the taken branch's and so its dtype after meeting a float16 depend on
    # the predicate (found by a port, 2026-12-07).
    return list(outs)


def _cond_impl(index, *ops, branches):
    i = int(np.clip(int(index), 0, len(branches) - 1))
    outs = eval_program(branches[i], [], ops)
    from .elementwise import with_weak_type
    return [x if x.weak_type == a.weak_type else with_weak_type(x, a.weak_type)
            for x, a in zip(outs, branches[0].out_avals)]


def _cond_jvp(primals, tangents, *, branches):
    index, *ops = primals
    _, *tops = tangents
    jbranches = []
    for b in branches:
        jp, c = jvp_program(b)
        jbranches.append(_closed_to_plain(jp, c))
    outs = bind(cond_p, index, *ops, *tops, branches=tuple(jbranches))
    n = len(branches[0].outvars)
    return outs[:n], outs[n:]


def _cond_pe_eqn(eqn: Eqn, in_uk):
    branches = eqn.params["branches"]
    if in_uk[0]:
        return [], [eqn], [True] * len(eqn.outputs)
    ops_uk = list(in_uk[1:])
    out_uk = [False] * len(eqn.outputs)
    for b in branches:
        _, _, ouk, _ = partial_eval_program(b, ops_uk)
        out_uk = [a or c for a, c in zip(out_uk, ouk)]
    splits = [partial_eval_program(b, ops_uk, instantiate=out_uk) for b in branches]
    res_avals = [[v.aval for v in k.outvars[len(k.outvars) - nres:]]
                 for k, _, _, nres in splits]
    all_res = [a for ra in res_avals for a in ra]
    known_branches, unknown_branches = [], []
    offset = 0
    for (k, u, _, nres), _ra in zip(splits, res_avals):
        nk = len(k.outvars) - nres
        before = all_res[:offset]
        after = all_res[offset + nres:]

        def kfun(*args, k=k, nk=nk, nres=nres, before=before, after=after):
            outs = eval_program(k, [], args)
            z = lambda avs: [zeros_like_aval(a) for a in avs]  # noqa: E731
            return outs[:nk] + z(before) + outs[nk:] + z(after)

        kp, kc = stage_closed(kfun, [v.aval for v in k.invars])
        known_branches.append(_closed_to_plain(_unhoist(kp, kc), kc))

        def ufun(*args, u=u, nres=nres, offset=offset):
            res, rest = args[:len(all_res)], args[len(all_res):]
            return eval_program(u, [], list(res[offset:offset + nres]) + list(rest))

        up, uc = stage_closed(ufun, all_res + [v.aval for v in u.invars[nres:]])
        unknown_branches.append(_closed_to_plain(_unhoist(up, uc), uc))
        offset += nres
    index = eqn.inputs[0]
    k_ins = [index] + [a for a, u in zip(eqn.inputs[1:], ops_uk) if not u]
    k_outs = [v for v, u in zip(eqn.outputs, out_uk) if not u]
    res_vars = [Var(a) for a in all_res]
    known_eqn = Eqn(cond_p, k_ins, {"branches": tuple(known_branches)}, k_outs + res_vars)
    u_ins = [index] + res_vars + [a for a, u in zip(eqn.inputs[1:], ops_uk) if u]
    u_outs = [v for v, u in zip(eqn.outputs, out_uk) if u]
    unknown_eqn = Eqn(cond_p, u_ins, {"branches": tuple(unknown_branches)}, u_outs)
    return [known_eqn], [unknown_eqn], out_uk


def _unhoist(prog: Program, consts) -> Program:
    n = len(consts)
    return Program(prog.invars[:n], prog.invars[n:], prog.eqns, prog.outvars)


def _cond_transpose(cts, index, *ops, branches):
    lin = [is_undefined(o) for o in ops]
    nonlin = [o for o in ops if not is_undefined(o)]
    lin_avals = [o.aval for o in ops if is_undefined(o)]
    tbranches = []
    for b in branches:
        tf = transpose_program(b, lin)
        n_nl = len(nonlin)
        tp, tc = stage_closed(lambda *a, tf=tf, n_nl=n_nl: tf(list(a[:n_nl]), list(a[n_nl:])),
                              [core.get_aval(o) for o in nonlin] +
                              [core.get_aval(c) for c in cts])
        tbranches.append(_closed_to_plain(_unhoist(tp, tc), tc))
    del lin_avals
    outs = bind(cond_p, index, *nonlin, *cts, branches=tuple(tbranches))
    it = iter(outs)
    return [None] + [next(it) if lin_ else None for lin_ in lin]


def _cond_batch(size, vals, dims, *, branches):
    index, *ops = vals
    di, *odims = dims
    nout = len(branches[0].outvars)
    if di is not None:
        # A batched predicate: run every branch and select per example.
        from .elementwise import convert_element_type, eq, select
        from .structural import broadcast_in_dim
        from .elementwise import max as _max, min as _min, stop_gradient
        index = bdim_at_front(index, di, size)
        ops = [bdim_at_front(o, d, size) for o, d in zip(ops, odims)]
        idx = core.to_array(index)
        idx = _max(_min(idx, len(branches) - 1), 0)
        results = []
        for k, b in enumerate(branches):
            # As JAX (its issue 1052): branch k sees its operands through
            # select(index == k, x, stop_gradient(x)), so an example's derivative flows only
            # through the branch it takes; a branch it does not take (std of one element,
            # log of 0) would otherwise add 0 * inf = NaN to it.
            pick = eq(idx, convert_element_type(core.to_array(k), idx.dtype))
            ops_k = [select(broadcast_in_dim(pick, core.get_aval(o).shape, (0,)), o,
                            stop_gradient(o))
                     if dtypes.is_inexact(core.get_aval(o).dtype) else o for o in ops]
            bp, _ = batch_program(b, size, [0] * len(ops), force_out=[True] * nout)
            results.append(eval_program(bp, [], ops_k))
        outs = results[0]
        for k in range(1, len(branches)):
            pick = eq(idx, convert_element_type(core.to_array(k), idx.dtype))
            outs = [select(broadcast_in_dim(pick, core.get_aval(o).shape, (0,)), r, o)
                    for o, r in zip(outs, results[k])]
        return outs, [0] * nout
    bbranches = [batch_program(b, size, odims, force_out=[True] * nout)[0] for b in branches]
    outs = bind(cond_p, index, *ops, branches=tuple(bbranches))
    return outs, [0] * nout


core.shape_rules[cond_p] = _cond_shape
array_impls[cond_p] = _cond_impl
core.jvp_rules[cond_p] = _cond_jvp
core.transpose_rules[cond_p] = _cond_transpose
core.batch_rules[cond_p] = _cond_batch
pe_eqn_rules[cond_p] = _cond_pe_eqn
_register_pe(cond_p)


# ---------------------------------------------------------------------------------------
# while

while_p = core.new_primitive("while", multiple_results=True)


def _while_shape(*avals, cond_program, body_program, cond_nconsts, body_nconsts):
    carry = avals[cond_nconsts + body_nconsts:]
    outs = body_program.out_avals
    for a, b in safe_zip(carry, outs):
        if a.shape != b.shape or a.dtype != b.dtype:
            raise TypeError(f"while_loop: body output {b.short()} does not match the carry "
                            f"{a.short()}")
    pa = cond_program.out_avals
    if len(pa) != 1 or pa[0].shape != () or pa[0].dtype != dtypes.bool_:
        raise TypeError(f"while_loop: cond_fun must return a boolean scalar, got "
                        f"{[a.short() for a in pa]}")
    return [a.strip_weak() if not b.weak_type else a for a, b in zip(carry, outs)]


def _while_impl(*args, cond_program, body_program, cond_nconsts, body_nconsts):
    cc, bc, carry = split_list(args, [cond_nconsts, body_nconsts])
    while bool(eval_program(cond_program, [], list(cc) + list(carry))[0]):
        carry = eval_program(body_program, [], list(bc) + list(carry))
    return list(carry)


def _while_jvp(primals, tangents, *, cond_program, body_program, cond_nconsts, body_nconsts):
    cc, bc, carry = split_list(primals, [cond_nconsts, body_nconsts])
    _, bcd, card = split_list(tangents, [cond_nconsts, body_nconsts])
    n = len(carry)
    nb = body_nconsts
    jprog, jc = jvp_program(body_program)
    jprog = _closed_to_plain(jprog, jc)
    # jvp body inputs: [bc, carry, bcd, card] -> want [bc, bcd, carry, card]
    nin = nb + n
    in_perm = (list(range(nb)) + list(range(nin, nin + nb)) + list(range(nb, nb + n)) +
               list(range(nin + nb, 2 * nin)))
    jbody = permute_program(jprog, in_perm, list(range(2 * n)))

    def cfun(*a):
        c, car = a[:cond_nconsts], a[cond_nconsts:cond_nconsts + n]
        return eval_program(cond_program, [], list(c) + list(car))

    cavals = cond_program.in_avals + [core.tangent_aval(a) for a in body_program.out_avals]
    cp, ccs = stage_closed(cfun, cavals)
    cp = _closed_to_plain(_unhoist(cp, ccs), ccs)
    outs = bind(while_p, *cc, *bc, *bcd, *carry, *card, cond_program=cp, body_program=jbody,
                cond_nconsts=cond_nconsts, body_nconsts=2 * nb)
    return outs[:n], outs[n:]


def _while_reverse_error():
    return ValueError(        # JAX's class
        "Reverse-mode differentiation does not work for lax.while_loop or lax.fori_loop with "
        "a dynamic trip count. Use lax.scan, or lax.fori_loop with Python-int bounds (which "
        "is implemented with scan), or forward mode (jvp/jacfwd).")


def _while_pe(trace, tracers, params):
    n = params["cond_nconsts"] + params["body_nconsts"]
    if any(t.const is None for t in tracers[n:]):
        raise _while_reverse_error()
    return _pe_trace_rule(trace, tracers, params, while_p)


def _while_batch(size, vals, dims, *, cond_program, body_program, cond_nconsts, body_nconsts):
    cc, bc, carry = split_list(vals, [cond_nconsts, body_nconsts])
    ccd, bcd, card = split_list(dims, [cond_nconsts, body_nconsts])
    n = len(carry)
    carry_b = [d is not None for d in card]
    for _ in range(n + 1):
        _, ob = batch_program(body_program, size, bcd + [0 if b else None for b in carry_b],
                              force_out=carry_b)
        new = [a or b for a, b in zip(carry_b, ob)]
        if new == carry_b:
            break
        carry_b = new
    _, pred_b = batch_program(cond_program, size, ccd + [0 if b else None for b in carry_b])
    carry = [bdim_at_front(c, d, size) if b else c for c, d, b in zip(carry, card, carry_b)]
    if not pred_b[0]:
        bprog, _ = batch_program(body_program, size, bcd + [0 if b else None for b in carry_b],
                                 force_out=carry_b)
        cprog, _ = batch_program(cond_program, size, ccd + [0 if b else None for b in carry_b])
        outs = bind(while_p, *cc, *bc, *carry, cond_program=cprog, body_program=bprog,
                    cond_nconsts=cond_nconsts, body_nconsts=body_nconsts)
        return outs, [0 if b else None for b in carry_b]
    # The predicate differs per example: run while any is live, freezing finished ones.
    carry = [bdim_at_front(c, None, size) if not b else c for c, b in zip(carry, carry_b)]
    cc = [bdim_at_front(c, d, size) if d is not None else c for c, d in zip(cc, ccd)]
    bc = [bdim_at_front(c, d, size) if d is not None else c for c, d in zip(bc, bcd)]
    ccd0 = [0 if d is not None else None for d in ccd]
    bcd0 = [0 if d is not None else None for d in bcd]
    bprog, _ = batch_program(body_program, size, bcd0 + [0] * n, force_out=[True] * n)
    cprog, _ = batch_program(cond_program, size, ccd0 + [0] * n, force_out=[True])
    from .elementwise import select
    from .reductions import reduce_max
    from .structural import broadcast_in_dim

    def any_live(*a):
        return [reduce_max(eval_program(cprog, [], a)[0], (0,))]

    def step(*a):
        c_, b_, car = split_list(a, [len(cc), len(bc)])
        live = eval_program(cprog, [], list(c_) + list(car))[0]
        new = eval_program(bprog, [], list(b_) + list(car))
        return [select(broadcast_in_dim(live, core.get_aval(o).shape, (0,)), nw, o)
                for o, nw in zip(car, new)]

    c_avals = [core.get_aval(x) for x in cc] + [core.get_aval(x) for x in carry]
    cp, ccs = stage_closed(any_live, c_avals)
    cp = _closed_to_plain(_unhoist(cp, ccs), ccs)
    s_avals = ([core.get_aval(x) for x in cc] + [core.get_aval(x) for x in bc] +
               [core.get_aval(x) for x in carry])
    sp, scs = stage_closed(step, s_avals)
    sp = _closed_to_plain(_unhoist(sp, scs), scs)
    outs = bind(while_p, *cc, *cc, *bc, *carry, cond_program=cp, body_program=sp,
                cond_nconsts=len(cc), body_nconsts=len(cc) + len(bc))
    return outs, [0] * n


core.shape_rules[while_p] = _while_shape
array_impls[while_p] = _while_impl
core.jvp_rules[while_p] = _while_jvp
core.batch_rules[while_p] = _while_batch
partial_eval_rules[while_p] = _while_pe

