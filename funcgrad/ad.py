"""Automatic differentiation: the JVP trace, linearize (JVP with tangents staged into a
linear program), transposition of linear programs, and `vjp = linearize + transpose`.

Tangents are always instantiated arrays; an absent tangent is a broadcast of
`core.symbolic_zero`, which staged programs mark so that the optimiser folds the arithmetic
done on it away under `jit` (as JAX's symbolic zeros are never computed with).
"""
from __future__ import annotations

from collections.abc import Callable

import threading

import numpy as np

from . import core, dtypes
from .core import ShapedArray, Trace, Tracer, full_lower, new_main, safe_zip
from .ir import Lit, Program, StagingTrace, StagingTracer, Var, trace_to_program


class JVPTracer(Tracer):
    """`absent`: the tangent is the zero of a value not being differentiated (a constant
    lifted into the trace), JAX's symbolic `Zero`: rules skip it instead of multiplying
    by it (`d(0 ** y)/dy` is 0, not `0 * inf`)."""
    __slots__ = ("primal", "tangent", "absent")

    def __init__(self, trace, primal, tangent, absent=False):
        self._trace = trace
        self.primal = primal
        self.tangent = tangent
        self.absent = absent

    @property
    def aval(self):
        return core.get_aval(self.primal)


class JVPTrace(Trace):
    def pure(self, val):
        return JVPTracer(self, val, zeros_like(val), True)

    lift = pure

    def to_concrete(self, tracer):
        return core.concrete_value(tracer.primal)

    def process_primitive(self, primitive, tracers, params):
        primals = [t.primal for t in tracers]
        if all(t.absent for t in tracers):
            # As JAX: a primitive whose tangents are all symbolic zeros is not
            # differentiated, and its outputs' tangents are symbolic zeros too. (Computing
            # with them is not the same: std(round(x)) of a constant rounds to a zero
            # variance, and sqrt's rule gave 0 / (2 * 0) = NaN where JAX gives 0.)
            p_out = primitive.bind(*primals, **params)
            if primitive.multiple_results:
                return [JVPTracer(self, p, zeros_like(p), True) for p in p_out]
            return JVPTracer(self, p_out, zeros_like(p_out), True)
        tangents = [t.tangent for t in tracers]
        rule = core.jvp_rules.get(primitive)
        if rule is None:
            raise NotImplementedError(
                f"differentiation rule for '{primitive.name}' not implemented")
        _absent.flags = tuple(t.absent for t in tracers)
        try:
            p_out, t_out = rule(primals, tangents, **params)
        finally:
            _absent.flags = None
        # a piecewise-constant or integer result's tangent is a symbolic zero (defzero_jvp)
        zero = getattr(rule, "zero_tangent", False)
        if primitive.multiple_results:
            return [JVPTracer(self, p, t, zero) for p, t in safe_zip(p_out, t_out)]
        return JVPTracer(self, p_out, t_out, zero)


class _Absent(threading.local):
    flags = None          # JVPTrace.process_primitive -> the rule it calls: absent tangents


_absent = _Absent()


def _take_absent(n):
    """Which of the `n` tangents the calling rule got are absent (read once, at its start:
    the rule's own operations may process primitives of an outer JVP trace)."""
    flags, _absent.flags = _absent.flags, None
    return flags if flags is not None and len(flags) == n else (False,) * n


def zeros_like(x):
    """AD's zero tangent for `x` (a broadcast symbolic zero, see `core.symbolic_zero`)."""
    return zeros_like_aval(core.get_aval(x))


def zeros_like_aval(aval: ShapedArray):
    from .prims.structural import full
    return full(aval.shape, core.symbolic_zero(aval.dtype))


def jvp_flat(fun: Callable, primals, tangents):
    with new_main(JVPTrace) as main:
        trace = JVPTrace(main)
        tracers_in = [JVPTracer(trace, p, t) for p, t in safe_zip(primals, tangents)]
        outs = fun(*tracers_in)
        out_tracers = [core.full_raise(trace, o) for o in outs]
        primals_out = [full_lower(t.primal) for t in out_tracers]
        tangents_out = [full_lower(t.tangent) for t in out_tracers]
    return primals_out, tangents_out


# ---------------------------------------------------------------------------------------
# Rule helpers


def defjvp(prim, *jvp_fns):
    """Register a JVP from per-input rules `fn(g, *primals, **params)` (None: no tangent)."""
    def rule(primals, tangents, **params):
        absent = _take_absent(len(tangents))
        ans = prim.bind(*primals, **params)
        out = None
        for fn, t, skip in zip(jvp_fns, tangents, absent):
            if fn is None or skip:
                continue
            c = fn(t, *primals, **params)
            out = c if out is None else _add_tangents(out, c)
        return ans, out if out is not None else zeros_like(ans)
    core.jvp_rules[prim] = rule


def defjvp2(prim, *jvp_fns):
    """Like `defjvp` but each rule also gets the primal output: `fn(g, ans, *primals)`."""
    def rule(primals, tangents, **params):
        absent = _take_absent(len(tangents))
        ans = prim.bind(*primals, **params)
        out = None
        for fn, t, skip in zip(jvp_fns, tangents, absent):
            if fn is None or skip:
                continue
            c = fn(t, ans, *primals, **params)
            out = c if out is None else _add_tangents(out, c)
        return ans, out if out is not None else zeros_like(ans)
    core.jvp_rules[prim] = rule


def deflinear(prim, transpose_rule):
    """A primitive linear in all its inputs: its JVP applies it to the tangents."""
    def rule(primals, tangents, **params):
        return prim.bind(*primals, **params), prim.bind(*tangents, **params)
    core.jvp_rules[prim] = rule
    core.transpose_rules[prim] = transpose_rule


def _add_tangents(a, b):
    from .prims.elementwise import add
    return add(a, b)


def defzero_jvp(prim):
    """Non-differentiable output (integer/boolean results, or piecewise constant)."""
    def rule(primals, tangents, **params):
        ans = prim.bind(*primals, **params)
        if prim.multiple_results:
            return ans, [zeros_like(a) for a in ans]
        return ans, zeros_like(ans)
    rule.zero_tangent = True      # its outputs' tangents are symbolic zeros (JVPTrace)
    core.jvp_rules[prim] = rule


# ---------------------------------------------------------------------------------------
# Linearize: run the JVP with tangents staged into a linear program


def linearize_flat(fun: Callable, primals):
    """Returns (primals_out, linear Program over tangents, its consts)."""
    from .ir import Builder
    builder = Builder()
    with new_main(StagingTrace, {"builder": builder, "partial_eval": True}) as main:
        trace = StagingTrace(main)
        tangents_in = [trace.new_arg(core.tangent_aval(core.get_aval(p))) for p in primals]
        primals_out, tangents_out = jvp_flat(fun, primals, tangents_in)
        tangents_out = [core.full_raise(trace, t) for t in tangents_out]
        program, consts = builder.build(tangents_in, tangents_out)
    return primals_out, program, consts


def is_linearize_tracer(x) -> bool:
    return isinstance(x, StagingTracer) and x._trace.main.global_data.get("partial_eval", False)


class UndefinedPrimal:
    """Marks a linear input of an equation being transposed."""

    __slots__ = ("aval",)

    def __init__(self, aval):
        self.aval = aval

    def __repr__(self):
        return f"UndefinedPrimal({self.aval.short()})"


def is_undefined(x) -> bool:
    return isinstance(x, UndefinedPrimal)


def backward_pass(program: Program, consts, linear_args, cts_out):
    """Transpose `program`, linear in the args marked `UndefinedPrimal` in `linear_args`.

    Equations whose inputs are all non-linear are evaluated forward first (so programs that
    recompute primal values, as `checkpoint` produces, transpose correctly). Returns the
    cotangents of the invars (None for non-linear ones)."""
    env: dict[int, object] = {}
    linear: set[int] = set()

    def read(a):
        if isinstance(a, Lit):
            return a.as_array()
        return env[a.id]

    for v, c in safe_zip(program.constvars, consts):
        env[v.id] = c
    for v, x in safe_zip(program.invars, linear_args):
        if is_undefined(x):
            linear.add(v.id)
        else:
            env[v.id] = x

    lin_eqns = []
    for eqn in program.eqns:
        if any(isinstance(a, Var) and a.id in linear for a in eqn.inputs):
            linear.update(v.id for v in eqn.outputs)
            lin_eqns.append(eqn)
        else:
            outs = eqn.prim.bind(*map(read, eqn.inputs), **eqn.params)
            outs = outs if eqn.prim.multiple_results else [outs]
            for v, x in safe_zip(eqn.outputs, outs):
                env[v.id] = x

    ct_env: dict[int, object] = {}

    def write_ct(v, ct):
        if ct is None or not isinstance(v, Var) or v.id not in linear:
            return
        ct_env[v.id] = ct if v.id not in ct_env else _add_tangents(ct_env[v.id], ct)

    for v, ct in safe_zip(program.outvars, cts_out):
        write_ct(v, ct)

    for eqn in reversed(lin_eqns):
        invals = [UndefinedPrimal(a.aval) if isinstance(a, Var) and a.id in linear else read(a)
                  for a in eqn.inputs]
        cts = [ct_env.pop(v.id, None) for v in eqn.outputs]
        if all(c is None for c in cts):
            continue
        cts = [zeros_like_aval(v.aval) if c is None else c for v, c in zip(eqn.outputs, cts)]
        rule = core.transpose_rules.get(eqn.prim)
        if rule is None:
            raise NotImplementedError(
                f"transpose rule for '{eqn.prim.name}' not implemented: reverse-mode "
                f"differentiation through '{eqn.prim.name}' is not supported")
        cts_in = rule(cts if eqn.prim.multiple_results else cts[0], *invals, **eqn.params)
        for a, ct in safe_zip(eqn.inputs, list(cts_in)):
            write_ct(a, ct)

    return [ct_env.get(v.id) if v.id in linear else None for v in program.invars]


def vjp_flat(fun: Callable, primals):
    primals_out, program, consts = linearize_flat(fun, primals)

    def f_vjp(cts):
        lin_args = [UndefinedPrimal(v.aval) for v in program.invars]
        cts_in = backward_pass(program, consts, lin_args, cts)
        return [zeros_like_aval(v.aval) if c is None else c
                for v, c in safe_zip(program.invars, cts_in)]

    return primals_out, f_vjp


def transpose_program(program: Program, linear_mask) -> Callable:
    """A function computing the transpose of `program` w.r.t. the inputs in `linear_mask`:
    `f(nonlinear_args, cts_out) -> cts for the linear inputs` (zeros where none)."""
    def f(nonlin_args, cts_out):
        it = iter(nonlin_args)
        args = [UndefinedPrimal(v.aval) if lin else next(it)
                for v, lin in safe_zip(program.invars, linear_mask)]
        cts = backward_pass(program, [], args, cts_out)
        return [zeros_like_aval(v.aval) if c is None else c
                for v, c, lin in zip(program.invars, cts, linear_mask) if lin]
    return f


def jvp_program(program: Program, instantiate=True, nonzero=None) -> tuple[Program, list]:
    """The JVP of a const-free program: takes `[*primals, *tangents]`, returns
    `[*primals_out, *tangents_out]`. With `nonzero` (a bool per input), only the tangents
    marked True are inputs; the others are symbolic zeros (absent), as JAX's jvp_jaxpr
    with `nonzeros`."""
    from .ir import eval_program
    n = len(program.invars)
    nonzero = (True,) * n if nonzero is None else tuple(nonzero)

    def f(*args):
        primals, it = args[:n], iter(args[n:])
        with new_main(JVPTrace) as main:
            trace = JVPTrace(main)
            ins = [JVPTracer(trace, p, next(it)) if nz else trace.pure(p)
                   for p, nz in safe_zip(primals, nonzero)]
            outs = [core.full_raise(trace, o) for o in eval_program(program, [], ins)]
            return [full_lower(t.primal) for t in outs] + [full_lower(t.tangent) for t in outs]

    in_avals = program.in_avals + [core.tangent_aval(a) for a, nz in
                                   safe_zip(program.in_avals, nonzero) if nz]
    return trace_to_program(f, in_avals)


def check_float_input(aval: ShapedArray, fname: str, argnum, *, holomorphic: bool = False,
                      allow_complex: bool = False) -> None:
    """JAX's input checks of the derivative transforms: `holomorphic=True` needs complex
    inputs; otherwise inputs are real floats, or also complex where `allow_complex` (grad
    and jacrev: the cotangent of a complex input is well defined, JAX's convention)."""
    dt = aval.dtype
    if holomorphic:
        if not dtypes.is_complex(dt):
            raise TypeError(f"{fname} with holomorphic=True requires inputs with complex dtype, "
                            f"but argument {argnum} has dtype {dt}.")
        return
    if dtypes.is_float(dt) or (allow_complex and dtypes.is_complex(dt)):
        return
    if dtypes.is_complex(dt):
        raise TypeError(
            f"{fname} requires real-valued inputs (a floating-point dtype), but argument "
            f"{argnum} has dtype {dt}. For holomorphic differentiation, pass "
            f"holomorphic=True; for non-holomorphic functions of complex inputs, use jvp "
            f"directly (or jacrev).")
    kinds = "real- or complex-valued" if allow_complex else "real-valued (floating point)"
    raise TypeError(
        f"{fname} requires {kinds} inputs, but argument {argnum} has "
        f"dtype {dt}. Differentiate with respect to float inputs only (cast with "
        f"`x.astype(jnp.float32)`), or leave integer arguments out of `argnums`.")


def check_output_dtype(aval: ShapedArray, fname: str, holomorphic: bool) -> None:
    """JAX's output checks of grad and jacrev (and of jacfwd with `holomorphic=True`)."""
    dt = aval.dtype
    if holomorphic:
        if not dtypes.is_complex(dt):
            raise TypeError(f"{fname} with holomorphic=True requires outputs with complex "
                            f"dtype, but got {dt}.")
        return
    if dtypes.is_complex(dt):
        raise TypeError(
            f"{fname} requires real-valued outputs (a floating-point dtype), got {dt}. For "
            f"holomorphic differentiation, pass holomorphic=True. For differentiation of "
            f"non-holomorphic functions involving complex outputs, use vjp directly.")
    if not dtypes.is_float(dt):
        raise TypeError(
            f"{fname} requires real-valued outputs (a floating-point dtype), got {dt}. For "
            f"differentiation of functions with integer outputs, use vjp directly.")


def ensure_float_output(aval: ShapedArray, fname: str) -> None:
    if not dtypes.is_float(aval.dtype):
        raise TypeError(f"{fname} requires real-valued (floating point) outputs, got {aval.dtype}")


def instantiate_zeros(ct, aval):
    return zeros_like_aval(aval) if ct is None else ct


def unbroadcast_scalar(aval: ShapedArray, ct):
    """Sum a cotangent back to a scalar operand that was broadcast by an elementwise op."""
    if aval.shape == () and core.get_aval(ct).shape != ():
        from .prims.reductions import reduce_sum
        ct = reduce_sum(ct, tuple(range(core.get_aval(ct).ndim)))
    if core.get_aval(ct).dtype != aval.dtype:
        from .prims.elementwise import convert_element_type
        ct = convert_element_type(ct, aval.dtype)
    return ct


def float0_like(x):
    return np.zeros(np.shape(x), dtype=np.bool_)


# --- checkpoint policies -----------------------------------------------------------------

class _CheckpointPolicies:
    """JAX's `jax.checkpoint_policies`: the policies `checkpoint(f, policy=...)` accepts.
    A policy is a callable `(prim, *avals, **params) -> bool` that says whether an
    intermediate may be saved for the backward pass. funcgrad's `checkpoint` recomputes
    every intermediate whatever the policy (JAX's default, `nothing_saveable`), so a policy
    changes the memory a program would use in JAX, never its results."""

    @staticmethod
    def everything_saveable(*_, **__):
        return True

    @staticmethod
    def nothing_saveable(*_, **__):
        return False

    @staticmethod
    def dots_saveable(prim, *_, **__):
        return getattr(prim, "name", str(prim)) in ("dot_general", "dot", "conv_general_dilated")

    checkpoint_dots = dots_saveable

    @staticmethod
    def dots_with_no_batch_dims_saveable(prim, *_, **params):
        dims = params.get("dimension_numbers")
        no_batch = dims is None or not (len(dims) > 1 and any(dims[1]))
        return getattr(prim, "name", str(prim)) in ("dot_general", "dot") and no_batch

    checkpoint_dots_with_no_batch_dims = dots_with_no_batch_dims_saveable
    offload_dot_with_no_batch_dims = staticmethod(
        lambda *_a, **_k: _CheckpointPolicies.dots_with_no_batch_dims_saveable)

    @staticmethod
    def save_only_these_names(*names):
        return lambda prim, *_, **params: params.get("name") in names

    @staticmethod
    def save_anything_except_these_names(*names):
        return lambda prim, *_, **params: params.get("name") not in names

    @staticmethod
    def save_any_names_but_these(*names):
        return lambda prim, *_, **params: (params.get("name") is not None
                                           and params.get("name") not in names)

    @staticmethod
    def save_and_offload_only_these_names(*, names_which_can_be_saved=(),
                                          names_which_can_be_offloaded=(), **_):
        saved = tuple(names_which_can_be_saved) + tuple(names_which_can_be_offloaded)
        return lambda prim, *_, **params: params.get("name") in saved

    @staticmethod
    def save_from_both_policies(policy_1, policy_2):
        return lambda *a, **k: bool(policy_1(*a, **k)) or bool(policy_2(*a, **k))

    def __repr__(self):
        return "funcgrad.checkpoint_policies"


checkpoint_policies = _CheckpointPolicies()
