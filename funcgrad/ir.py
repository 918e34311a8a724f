"""The IR: typed variables, literals, equations and programs; the printer; the staging trace
that builds programs from Python functions; and `eval_program`, which re-binds a program's
equations under whatever traces are active (that is how transforms apply to programs).
"""
from __future__ import annotations

from typing import Any
from collections.abc import Callable

import numpy as np

from . import core
from .core import ArrayImpl, ShapedArray, Trace, Tracer, full_raise, new_main
from .tree import tree_flatten, tree_unflatten


class Var:
    """A variable of the IR: an abstract value with identity."""

    __slots__ = ("aval", "id")

    def __init__(self, aval: ShapedArray):
        self.aval = aval
        self.id = core.fresh_id()

    def __repr__(self):
        return f"Var({self.id}:{self.aval.short()})"


class Lit:
    """A scalar literal inlined into an equation. `symbolic_zero` marks AD's zero for an
    absent tangent (see `core.symbolic_zero`): arithmetic on it may be dropped."""

    __slots__ = ("val", "aval", "symbolic_zero")

    def __init__(self, val, aval: ShapedArray, symbolic_zero: bool = False):
        self.val = np.asarray(val, aval.dtype)
        self.aval = aval
        self.symbolic_zero = symbolic_zero

    def as_array(self) -> ArrayImpl:
        if self.symbolic_zero:
            return core.symbolic_zero(self.aval.dtype)
        return ArrayImpl(self.val, self.aval)

    def __repr__(self):
        return f"Lit({self.val})"


Atom = Var | Lit


class Eqn:
    """`outputs = prim[params](inputs)`."""

    __slots__ = ("prim", "inputs", "params", "outputs")

    def __init__(self, prim: core.Primitive, inputs: list, params: dict, outputs: list[Var]):
        self.prim = prim
        self.inputs = list(inputs)
        self.params = dict(params)
        self.outputs = list(outputs)

    # JAX's JaxprEqn names, for code that walks a jaxpr from make_jaxpr (funcgrad's
    # primitives and their number differ from JAX's: compare results, not programs)
    primitive = property(lambda self: self.prim)
    invars = property(lambda self: self.inputs)
    outvars = property(lambda self: self.outputs)

    def __repr__(self):
        return f"Eqn({self.prim.name}, {self.inputs}, {self.outputs})"


class Program:
    """A typed program: `constvars` (bound to concrete or outer values), `invars`,
    a list of equations and the output atoms."""

    __slots__ = ("constvars", "invars", "eqns", "outvars")

    def __init__(self, constvars, invars, eqns, outvars):
        self.constvars = list(constvars)
        self.invars = list(invars)
        self.eqns = list(eqns)
        self.outvars = list(outvars)

    @property
    def in_avals(self):
        return [v.aval for v in self.invars]

    @property
    def out_avals(self):
        return [v.aval for v in self.outvars]

    def __str__(self):
        return pp_program(self)

    __repr__ = __str__


class ClosedProgram:
    """A program and the values of its constvars."""

    __slots__ = ("program", "consts")

    def __init__(self, program: Program, consts: list):
        self.program = program
        self.consts = list(consts)

    in_avals = property(lambda self: self.program.in_avals)
    out_avals = property(lambda self: self.program.out_avals)
    # JAX's ClosedJaxpr names: `.jaxpr` (with .invars, .outvars, .constvars, .eqns),
    # `.eqns`, `.literals`
    jaxpr = property(lambda self: self.program)
    eqns = property(lambda self: self.program.eqns)
    literals = property(lambda self: self.consts)

    def __str__(self):
        return pp_program(self.program)

    __repr__ = __str__

    def _repr_pretty_(self, p, cycle):
        p.text(str(self))

    def to_dot(self, **kwargs) -> str:
        """The program as Graphviz DOT text (`funcgrad.export.to_dot`)."""
        from .export.graph import to_dot
        return to_dot(self, **kwargs)

    def render(self, path, **kwargs) -> str:
        """Draw the program with Graphviz into `path` (.svg, .png, .pdf)."""
        from .export.graph import render
        return render(self, path, **kwargs)

    def _repr_svg_(self):
        from .export.graph import to_svg
        return to_svg(self)


# ---------------------------------------------------------------------------------------
# Fingerprints


class _Unprintable(Exception):
    """A parameter `fingerprint` cannot key on (an unhashable object of unknown meaning)."""


def fingerprint(program: Program):
    """A hashable value that two programs share only when they compute the same values the
    same way: equal primitives, parameters, literals, avals and wiring (variables are
    numbered in order of appearance, so retracing a function gives an equal fingerprint).
    A backend keys compiled executables on it, so a program traced anew (an eager loop's
    body, a `jit` made again in a loop) reuses the executable built for its twin. None when
    a parameter has no value-based identity that can be trusted (then nothing is shared).

    Arrays among parameters key on their dtype, shape and a digest of their bytes; floats
    on their bits (-0.0 and each NaN apart); functions and other objects with identity
    equality on the object itself (a cache entry keeps its program, hence them, alive)."""
    try:
        return _print_program(program)
    except _Unprintable:
        return None


def _print_program(program: Program) -> tuple:
    numbers: dict[int, int] = {}

    def var(v):
        if isinstance(v, Lit):
            return ("lit", _print_array(v.val), v.aval, v.symbolic_zero)
        n = numbers.get(v.id)
        if n is None:
            raise _Unprintable("a variable used before it is defined")
        return n

    def define(v):
        numbers[v.id] = len(numbers)
        return v.aval

    head = (tuple(define(v) for v in program.constvars),
            tuple(define(v) for v in program.invars))
    eqns = tuple((e.prim, tuple(var(a) for a in e.inputs), _print_params(e.params),
                  tuple(define(v) for v in e.outputs)) for e in program.eqns)
    return head, eqns, tuple(var(v) for v in program.outvars)


def _print_array(a) -> tuple:
    a = np.asarray(a)
    if a.dtype.hasobject:
        raise _Unprintable("an object array")
    data = np.ascontiguousarray(a).tobytes()
    if len(data) > 64:
        import hashlib
        data = hashlib.blake2b(data, digest_size=20).digest()
    return a.dtype, a.shape, data


_PLAIN = (type(None), bool, int, str, bytes, ShapedArray, core.Primitive)


def _print_params(params: dict) -> tuple:
    return tuple((k, _print_value(params[k])) for k in sorted(params))


def _print_value(v):
    t = type(v)
    if t in _PLAIN:
        return (t, v)
    if t is float:
        return (float, v.hex() if v == v else repr(np.float64(v).tobytes()))
    if t is Program:
        return ("program", _print_program(v))
    if t is ClosedProgram:
        return ("closed", _print_program(v.program), tuple(_print_array(c) for c in v.consts))
    if t is tuple or t is list:
        return (t, tuple(_print_value(x) for x in v))
    if t is dict:
        return (dict, tuple((_print_value(k), _print_value(v[k])) for k in sorted(v, key=repr)))
    if t is slice:
        return (slice, _print_value(v.start), _print_value(v.stop), _print_value(v.step))
    if isinstance(v, np.dtype):
        return (np.dtype, v)
    if isinstance(v, (np.ndarray, np.generic)):
        return ("array", _print_array(v))
    if isinstance(v, ArrayImpl):
        return ("array", _print_array(v._host_value()))
    if isinstance(v, tuple):                     # a namedtuple: its type and its fields
        return (t, tuple(_print_value(x) for x in v))
    fields = getattr(t, "__dataclass_fields__", None)
    if fields is not None:
        return (t, tuple((f, _print_value(getattr(v, f))) for f in fields))
    if t.__eq__ is object.__eq__ and t.__hash__ is object.__hash__:
        return ("object", v)                     # identity: a function, a callback, ...
    import enum
    if isinstance(v, enum.Enum):
        return (t, v.name)
    raise _Unprintable(f"a parameter of type {t.__name__}")


# ---------------------------------------------------------------------------------------
# Printing


class _Names:
    def __init__(self):
        self.names: dict[int, str] = {}

    def __call__(self, v) -> str:
        if isinstance(v, Lit):
            return _lit_str(v)
        if v.id not in self.names:
            self.names[v.id] = _name(len(self.names))
        return self.names[v.id]


def _name(i: int) -> str:
    letters = "abcdefghijklmnopqrstuvwxyz"
    s = ""
    i += 1
    while i:
        i, r = divmod(i - 1, 26)
        s = letters[r] + s
    return s


def _lit_str(lit: Lit) -> str:
    v = lit.val.item()
    if isinstance(v, float):
        s = repr(v)
    else:
        s = str(v)
    return f"{s}:{lit.aval.short()}"


def sub_programs(eqn) -> list[tuple[str, Program]]:
    """The programs an equation's parameters hold (a scan's body, a cond's branches), each
    with its parameter's name (`branches[1]` for one of several)."""
    out = []
    for k, v in eqn.params.items():
        vs = v if isinstance(v, (tuple, list)) else (v,)
        for i, p in enumerate(vs):
            if isinstance(p, ClosedProgram):
                p = p.program
            if isinstance(p, Program):
                out.append((k if len(vs) == 1 else f"{k}[{i}]", p))
    return out


def _param_str(v, names, indent) -> str:
    if isinstance(v, ClosedProgram):
        v = v.program
    if isinstance(v, Program):
        return "\n" + pp_program(v, indent + 4, names)
    if isinstance(v, (tuple, list)) and v and all(
            isinstance(p, (Program, ClosedProgram)) for p in v):
        progs = [p.program if isinstance(p, ClosedProgram) else p for p in v]
        return "(\n" + ",\n".join(pp_program(p, indent + 4, names) for p in progs) + ")"
    if isinstance(v, np.dtype):
        return str(v)
    if callable(v) and not isinstance(v, type):
        return getattr(v, "__name__", type(v).__name__)
    return str(v)


def pp_program(program: Program, indent: int = 0, names: _Names | None = None) -> str:
    names = _Names() if names is None else names
    pad = " " * indent

    def binders(vs):
        return " ".join(f"{names(v)}:{v.aval.short()}" for v in vs)

    head = f"{pad}{{ lambda {binders(program.constvars)} ; {binders(program.invars)} ."
    lines = [head]
    for eqn in program.eqns:
        lhs = " ".join(f"{names(v)}:{v.aval.short()}" for v in eqn.outputs)
        params = ""
        if eqn.params:
            parts = [f"{k}={_param_str(v, names, indent + 4)}" for k, v in eqn.params.items()]
            params = "[" + ", ".join(parts) + "]"
        args = " ".join(names(a) for a in eqn.inputs)
        lines.append(f"{pad}    {lhs} = {eqn.prim.name}{params} {args}")
    outs = ", ".join(names(v) for v in program.outvars)
    lines.append(f"{pad}  in ({outs}) }}")
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------
# Staging: a trace that records equations into a builder


class StagingTracer(Tracer):
    __slots__ = ("aval", "const")

    def __init__(self, trace, aval: ShapedArray, const=None):
        self._trace = trace
        self.aval = aval
        self.const = const

    def full_lower(self):
        # A lifted constant is known: hand back the value itself.
        return self if self.const is None else core.full_lower(self.const)


class Builder:
    """Collects equations and constants while a function is staged."""

    def __init__(self):
        self.eqns: list[Eqn] = []
        self.tracer_to_var: dict[int, Var] = {}
        self.const_tracers: dict[int, StagingTracer] = {}
        self.constvals: dict[int, Any] = {}
        self.tracers: list[StagingTracer] = []

    def new_tracer(self, trace, aval, const=None) -> StagingTracer:
        t = StagingTracer(trace, aval, const)
        self.tracers.append(t)
        return t

    def add_var(self, tracer) -> Var:
        v = Var(tracer.aval)
        self.tracer_to_var[id(tracer)] = v
        return v

    def getvar(self, tracer) -> Var:
        v = self.tracer_to_var.get(id(tracer))
        if v is None:
            raise core.UnexpectedTracerError(
                f"tracer {tracer.aval.short()} is not part of the function being staged")
        return v

    def add_const(self, trace, val) -> StagingTracer:
        key = id(val)
        t = self.const_tracers.get(key)
        if t is None:
            t = self.new_tracer(trace, val.aval, const=val)
            v = self.add_var(t)
            self.const_tracers[key] = t
            self.constvals[v.id] = val
        return t

    def build(self, in_tracers, out_tracers) -> tuple[Program, list]:
        invars = [self.getvar(t) for t in in_tracers]
        outvars = [self.getvar(t) for t in out_tracers]
        constvars, consts, lits = [], [], {}
        for t in self.const_tracers.values():
            v = self.tracer_to_var[id(t)]
            val = self.constvals[v.id]
            if isinstance(val, ArrayImpl) and val.ndim == 0:
                lits[v.id] = Lit(np.asarray(val), val.aval, core.is_symbolic_zero(val))
            else:
                constvars.append(v)
                consts.append(val)
        eqns = [Eqn(e.prim, [lits.get(a.id, a) if isinstance(a, Var) else a for a in e.inputs],
                    e.params, e.outputs) for e in self.eqns]
        outvars = [lits.get(v.id, v) for v in outvars]
        program = Program(constvars, invars, eqns, outvars)
        return dce_program(program, keep_consts=True), consts


class StagingTrace(Trace):
    """Records primitives applied to its tracers as equations (no evaluation)."""

    @property
    def builder(self) -> Builder:
        return self.main.global_data["builder"]

    def new_arg(self, aval) -> StagingTracer:
        t = self.builder.new_tracer(self, aval)
        self.builder.add_var(t)
        return t

    def pure(self, val):
        return self.builder.add_const(self, val)

    lift = pure

    def to_concrete(self, tracer):
        return None

    def process_primitive(self, primitive, tracers, params):
        gd = self.main.global_data
        if gd.get("partial_eval") and primitive in partial_eval_rules:
            if any(t.const is not None for t in tracers):
                return partial_eval_rules[primitive](self, tracers, params)
        avals_in = [t.aval for t in tracers]
        out_avals = core.shape_rules[primitive](*avals_in, **params)
        multi = primitive.multiple_results
        outs = [self.builder.new_tracer(self, a) for a in (out_avals if multi else [out_avals])]
        inputs = [self.builder.getvar(t) for t in tracers]
        outvars = [self.builder.add_var(t) for t in outs]
        self.builder.eqns.append(Eqn(primitive, inputs, params, outvars))
        return outs if multi else outs[0]


partial_eval_rules: dict[core.Primitive, Callable] = {}


def trace_to_program(fun: Callable, in_avals, partial_eval: bool = False):
    """Stage the flat function `fun(*tracers) -> list` into (Program, consts)."""
    builder = Builder()
    with new_main(StagingTrace, {"builder": builder, "partial_eval": partial_eval}) as main, \
            core.new_dynamic(main):
        trace = StagingTrace(main)
        in_tracers = [trace.new_arg(a) for a in in_avals]
        outs = fun(*in_tracers)
        out_tracers = [full_raise(trace, o) for o in outs]
        program, consts = builder.build(in_tracers, out_tracers)
    return program, consts


def trace_to_closed(fun, in_avals) -> ClosedProgram:
    program, consts = trace_to_program(fun, in_avals)
    return ClosedProgram(program, consts)


def hoist_consts(program: Program) -> Program:
    """The same program with its constvars moved to the front of its invars."""
    return Program([], program.constvars + program.invars, program.eqns, program.outvars)


def stage_closed(fun, in_avals) -> tuple[Program, list]:
    """Trace `fun` and hoist constants: returns a const-free program taking
    `[*consts, *args]`, and the consts (which may be outer tracers)."""
    program, consts = trace_to_program(fun, in_avals)
    return hoist_consts(program), consts


# ---------------------------------------------------------------------------------------
# Evaluation and simple program passes


def eval_program(program: Program, consts, args) -> list:
    """Evaluate `program` by binding each equation under the active traces."""
    env: dict[int, Any] = {}

    def read(a):
        if isinstance(a, Lit):
            return a.as_array()
        return env[a.id]

    for v, x in core.safe_zip(program.constvars, consts):
        env[v.id] = x
    for v, x in core.safe_zip(program.invars, args):
        env[v.id] = x
    for eqn in program.eqns:
        # (prim.bind: primitives such as the collectives route their own binding)
        outs = eqn.prim.bind(*map(read, eqn.inputs), **eqn.params)
        outs = outs if eqn.prim.multiple_results else [outs]
        for v, x in core.safe_zip(eqn.outputs, outs):
            env[v.id] = x
    return [read(v) for v in program.outvars]


def program_as_fun(program: Program, consts=()):
    return lambda *args: eval_program(program, consts, args)


# Primitives that do more than compute their outputs (host callbacks): an equation of one,
# or one whose sub-programs hold one (`has_effects`), is never dropped, merged or hoisted.
effectful: set[core.Primitive] = set()


def has_effects(eqn: Eqn) -> bool:
    """Whether running `eqn` has an effect: its primitive is effectful, or a program among
    its parameters (a loop body, a branch, a called program) has an effectful equation."""
    if eqn.prim in effectful:
        return True
    for v in eqn.params.values():
        t = type(v)
        if t is Program or t is ClosedProgram:
            progs = (v,)
        elif (t is tuple or t is list) and v and type(v[0]) in (Program, ClosedProgram):
            progs = v                       # cond's branches
        else:
            continue                        # shapes, dtypes, ...: cheap to skip
        for p in progs:
            p = p.program if type(p) is ClosedProgram else p
            if any(has_effects(e) for e in p.eqns):
                return True
    return False


def dce_program(program: Program, used_outputs=None, keep_consts=True) -> Program:
    """Drop equations whose outputs are unused (and that have no effect)."""
    outvars = program.outvars
    live = {v.id for v in outvars if isinstance(v, Var)}
    new_eqns = []
    for eqn in reversed(program.eqns):
        if any(v.id in live for v in eqn.outputs) or has_effects(eqn):
            new_eqns.append(eqn)
            live.update(a.id for a in eqn.inputs if isinstance(a, Var))
    new_eqns.reverse()
    constvars = program.constvars
    return Program(constvars, program.invars, new_eqns, outvars)


def tracer_is_staged(x) -> bool:
    return isinstance(x, StagingTracer)


def flatten_fun(fun, in_tree):
    """Wrap `fun` to take flat leaves; `store` gets the output tree after a call."""
    store = {}

    def flat_fun(*leaves):
        args, kwargs = tree_unflatten(in_tree, leaves)
        out = fun(*args, **kwargs)
        out_leaves, out_tree = tree_flatten(out)
        store["tree"] = out_tree
        return out_leaves

    return flat_fun, store
