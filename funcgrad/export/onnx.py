"""Export to ONNX: `to_onnx(f, *example_args)` builds an `onnx.ModelProto` (opset 17) from
the optimised IR of `jit(f)`, one equation at a time.

What the graph holds:
- the function's inputs, `in0, in1, ...` (their Python paths are each input's doc string),
  with the leading axis named `batch` when the batch is dynamic; its outputs `out0, ...`;
- every array the function closes over (the parameters of a model built with stax) as an
  initializer; equations whose inputs are all constants are folded into initializers
  (reshapes and transposes of weights, iota) unless that would grow the model;
- sizes that follow the batch (see `program.py`) computed at run time from the shape of
  the first batched input: a reshape to (batch*seq, features) uses -1, a broadcast of a
  scalar to (batch, n) an `Expand` to a computed shape, the `1/256` of a batch-norm mean
  over a batch of 4 8x8 images a `1 / (64 * batch)` computed from it.

A primitive with no ONNX form raises an `ExportError` naming it and printing the equation.
`onnx` is imported only here (the `export` extra); funcgrad's core never needs it.
"""
from __future__ import annotations

import itertools
import math

import numpy as np

from .. import core, dtypes
from ..ir import ClosedProgram, Lit, Program, Var, pp_program
from .program import BatchDim, BatchLit, ExportError, is_static, same_size, size_key, trace

OPSET = 17
_INT64_MAX = np.iinfo(np.int64).max
_INT64_MIN = np.iinfo(np.int64).min
_FOLD_MIN = 4096     # folded constants may always be this big (elements)


def _onnx():
    try:
        import onnx
    except ImportError as e:
        raise ImportError("funcgrad.export.to_onnx needs the onnx package: "
                          "pip install onnx (or pip install 'funcgrad[export]')") from e
    return onnx


def to_onnx(f, *example_args, path=None, dynamic_batch=True, opset: int = OPSET,
            check: bool = True):
    """Export `f(*example_args)` as an ONNX model (`onnx.ModelProto`, opset `opset` >= 17),
    saved to `path` when given.

    The model computes what `jit(f)` computes at the examples' shapes and dtypes. Arrays that
    `f` closes over become initializers (close over the parameters, e.g.
    `to_onnx(lambda x: apply_fun(params, x), x)`, to ship them inside the model); every
    example argument becomes an input `in0, in1, ...` and every result an output `out0, ...`.
    With `dynamic_batch=True` the leading axis of every input is the symbolic dimension
    `batch` (`dynamic_batch=(0, 2)` marks only those arguments, `False` none): the model
    then runs at any batch size. Raises `ExportError` for a primitive with no ONNX form (the
    message names it and shows the equation), for a function whose computation changes
    with the batch size beyond array shapes, and for unsupported dtypes."""
    onnx = _onnx()
    if opset < 17:
        raise ExportError(f"to_onnx: opset {opset} is too old; funcgrad exports opset 17 or later")
    ep = trace(f, example_args, dynamic_batch=dynamic_batch, what="to_onnx")
    model = _Exporter(ep, opset).model()
    if check:
        try:
            onnx.checker.check_model(model)
        except onnx.checker.ValidationError as e:
            raise ExportError(f"to_onnx({ep.name}): the exported model fails onnx.checker "
                              f"(a funcgrad bug; please report it): {e}") from e
    if path is not None:
        onnx.save(model, str(path))
    return model


# ---------------------------------------------------------------------------------------
# The exporter


class _Scope:
    """The nodes of one ONNX graph (the main graph or a loop body / branch) and the shape
    tensors already computed in it."""

    def __init__(self):
        self.nodes = []
        self.cache: dict = {}


class _Frame:
    """Per program being emitted: var id -> ONNX name, values broadcast lazily (see
    `_Exporter.ew_inputs`), and values known at export time (for constant folding)."""

    def __init__(self):
        self.names: dict[int, str] = {}
        self.lazy: dict[int, tuple] = {}
        self.values: dict[int, np.ndarray] = {}


class _Exporter:
    def __init__(self, ep, opset):
        self.onnx = _onnx()
        self.ep = ep
        self.opset = opset
        self.inits: dict[str, object] = {}
        self.const_values: dict[str, np.ndarray] = {}
        self.const_keys: dict[tuple, str] = {}
        self.counter = itertools.count()
        self.scopes = [_Scope()]
        self.batch_name = None

    # -- names, nodes and constants ------------------------------------------------------

    def fresh(self, hint="t") -> str:
        return f"{hint}_{next(self.counter)}"

    def node(self, op, inputs, n_out=1, **attrs):
        """Append a node to the current graph; returns its output name (or names)."""
        helper = self.onnx.helper
        outs = [self.fresh(op.lower()) for _ in range(n_out)]
        attrs = {k: v for k, v in attrs.items() if v is not None}
        self.scopes[-1].nodes.append(
            helper.make_node(op, list(inputs), outs, name=self.fresh("n_" + op), **attrs))
        return outs[0] if n_out == 1 else outs

    def const(self, value, hint="c") -> str:
        """An initializer holding `value` (small ones shared by value)."""
        arr = np.asarray(value)
        if not arr.flags.c_contiguous:
            arr = arr.copy(order="C")   # (np.ascontiguousarray would make a 0-d array 1-d)
        if arr.dtype == np.dtype(np.bool_) or arr.size <= 64:
            key = (arr.dtype.str, arr.shape, arr.tobytes())
            got = self.const_keys.get(key)
            if got is not None:
                return got
        else:
            key = None
        name = self.fresh(hint)
        self.inits[name] = self.onnx.numpy_helper.from_array(arr, name)
        self.const_values[name] = arr
        if key is not None:
            self.const_keys[key] = name
        return name

    def i64(self, values) -> str:
        return self.const(np.asarray(values, np.int64).reshape(-1))

    def scalar(self, value, dtype) -> str:
        return self.const(np.asarray(value, dtype))

    # -- sizes that follow the batch ---------------------------------------------------

    def cached(self, key, make):
        for s in reversed(self.scopes):
            if key in s.cache:
                return s.cache[key]
        name = make()
        self.scopes[-1].cache[key] = name
        return name

    def size_vec(self, d) -> str:
        """A size as an int64 tensor of shape [1]."""
        if not isinstance(d, BatchDim):
            return self.i64([int(d)])

        def make():
            t = self.batch_name
            if d.a != 1:
                t = self.node("Mul", [t, self.i64([d.a])])
            if d.c:
                t = self.node("Add", [t, self.i64([d.c])])
            return t
        return self.cached(("vec", d.key()), make)

    def size_scalar(self, d, dtype=np.int64) -> str:
        """A size as a 0-d tensor of `dtype`."""
        dtype = np.dtype(dtype)
        if not isinstance(d, BatchDim):
            return self.scalar(int(d), dtype)

        def make():
            t = self.node("Squeeze", [self.size_vec(d), self.i64([0])])
            if dtype != np.int64:
                t = self.node("Cast", [t], to=self.onnx_type(dtype))
            return t
        return self.cached(("scalar", d.key(), dtype.str), make)

    def shape(self, dims) -> str:
        """A shape as an int64 tensor (a constant when no size follows the batch)."""
        dims = tuple(dims)
        if is_static(dims):
            return self.i64([int(d) for d in dims])

        def make():
            parts, static = [], []
            for d in dims:
                if isinstance(d, BatchDim):
                    if static:
                        parts.append(self.i64(static))
                        static = []
                    parts.append(self.size_vec(d))
                else:
                    static.append(int(d))
            if static:
                parts.append(self.i64(static))
            return parts[0] if len(parts) == 1 else self.node("Concat", parts, axis=0)
        return self.cached(("shape", tuple(size_key(d) for d in dims)), make)

    # -- types ---------------------------------------------------------------------------

    def onnx_type(self, dtype) -> int:
        return self.onnx.helper.np_dtype_to_tensor_dtype(np.dtype(dtype))

    def value_info(self, name, aval, doc=None, shape=True):
        helper = self.onnx.helper
        dims = None
        if shape:
            dims = [d.text() if isinstance(d, BatchDim) else int(d) for d in aval.shape]
        vi = helper.make_tensor_value_info(name, self.onnx_type(aval.dtype), dims)
        if doc:
            vi.doc_string = doc
        return vi

    # -- reading operands ----------------------------------------------------------------

    @staticmethod
    def dims(atom) -> tuple:
        return tuple(atom.aval.shape)

    def read(self, frame, atom) -> str:
        """The ONNX name holding `atom` (a literal becomes a 0-d constant; a lazily
        broadcast value is expanded now)."""
        if isinstance(atom, Lit):
            return self.literal(atom)
        name = frame.names.get(atom.id)
        if name is not None:
            return name
        lazy = frame.lazy.get(atom.id)
        if lazy is None:
            raise AssertionError(f"to_onnx: internal error, {atom} has no value")
        aligned, adims = lazy
        out = self.dims(atom)
        target = [1 if same_size(a, o) else o for a, o in zip(adims, out)]
        name = self.node("Expand", [aligned, self.shape(target)])
        frame.names[atom.id] = name
        return name

    def literal(self, lit) -> str:
        dt = lit.aval.dtype
        if isinstance(lit, BatchLit):
            t = self.size_scalar(BatchDim(0, lit.a, lit.c), dt)
            if lit.reciprocal:
                t = self.node("Div", [self.scalar(1, dt), t])
            return t
        return self.scalar(lit.val, dt)

    def known(self, frame, atom):
        """The value of `atom` when it is known at export time, else None."""
        if isinstance(atom, BatchLit):
            return None
        if isinstance(atom, Lit):
            return np.asarray(atom.val)
        return frame.values.get(atom.id)

    def ew_inputs(self, frame, eqn) -> list[str]:
        """Operands of an elementwise equation. A value made by `broadcast_in_dim` is read
        in its unexpanded form (its own sizes, 1 elsewhere) when ONNX's broadcasting of the
        operands still gives the output's shape: bias adds need no Expand."""
        out = self.dims(eqn.outputs[0])
        cands = []
        for a in eqn.inputs:
            if isinstance(a, Var) and a.id not in frame.names and a.id in frame.lazy:
                aligned, adims = frame.lazy[a.id]
                cands.append([aligned, adims, a])
            else:
                cands.append([self.read(frame, a), self.dims(a), None])

        def covered():
            for i, o in enumerate(out):
                if same_size(o, 1):
                    continue
                if not any(len(c[1]) == len(out) and same_size(c[1][i], o) for c in cands):
                    return False
            return True
        if not covered():
            for c in cands:
                if c[2] is not None:
                    c[0] = self.read(frame, c[2])
        return [c[0] for c in cands]

    # -- programs --------------------------------------------------------------------------

    def run_program(self, program: Program, in_names, in_values=None) -> list[str]:
        """Emit `program`'s equations into the current graph; returns its output names."""
        frame = _Frame()
        for k, (v, n) in enumerate(zip(program.invars, in_names)):
            frame.names[v.id] = n
            if in_values is not None and in_values[k] is not None:
                frame.values[v.id] = in_values[k]
        for eqn in program.eqns:
            if self.fold(frame, eqn):
                continue
            rule = _RULES.get(eqn.prim.name)
            if rule is None:
                raise self.unsupported(eqn, "has no ONNX form in funcgrad's exporter")
            narrow = [v.aval.dtype for v in list(eqn.inputs) + list(eqn.outputs)
                      if v.aval.dtype in dtypes.NARROW]
            if narrow:
                # ONNX has float8 tensors but no arithmetic on them (ONNX Runtime refuses
                # the model), and no 1/2-bit types: refuse here, naming the equation
                raise self.unsupported(eqn, f"computes in {narrow[0]}, which the ONNX export "
                                            "does not support (compute in float32)")
            outs = rule(self, frame, eqn)
            if outs is None:
                continue
            if isinstance(outs, str):
                outs = [outs]
            for v, n in zip(eqn.outputs, outs):
                frame.names[v.id] = n
        return [self.read(frame, v) for v in program.outvars]

    def unsupported(self, eqn, why) -> ExportError:
        text = pp_program(Program([], [], [eqn], []), 4).splitlines()
        body = "\n".join(text[1:-1])
        return ExportError(
            f"to_onnx({self.ep.name}): primitive '{eqn.prim.name}' {why}. The equation:\n"
            f"{body}\nSupported primitives: {', '.join(sorted(supported_primitives()))}")

    def fold(self, frame, eqn) -> bool:
        """Evaluate an equation whose operands are all known (weights, literals, folded
        values) with its NumPy implementation, unless its result would be big."""
        if eqn.prim.name in _NO_FOLD or eqn.prim not in core.impl_rules:
            return False
        vals = [self.known(frame, a) for a in eqn.inputs]
        if any(v is None for v in vals):
            return False
        outs = eqn.outputs
        if any(not is_static(v.aval.shape) for v in outs):
            return False
        biggest = max([v.size for v in vals] + [_FOLD_MIN])
        if sum(int(v.aval.size) for v in outs) > biggest:
            return False
        try:
            res = core.impl_rules[eqn.prim](*vals, **eqn.params)
        except Exception:  # noqa: BLE001 -- an impl that cannot fold: emit the equation
            return False
        res = res if eqn.prim.multiple_results else [res]
        for v, r in zip(outs, res):
            arr = np.array(r, v.aval.dtype, order="C").reshape(v.aval.shape)
            frame.values[v.id] = arr
            frame.names[v.id] = self.const(arr)
        return True

    def subgraph(self, name, inputs, emit):
        """Build a graph (loop body or branch): `inputs` are value infos, `emit()` emits
        its nodes and returns [(name, aval)] of its outputs."""
        helper = self.onnx.helper
        self.scopes.append(_Scope())
        try:
            outs = emit()
            final = []
            for n, aval in outs:
                o = self.node("Identity", [n])
                final.append(self.value_info(o, aval))
            nodes = self.scopes[-1].nodes
        finally:
            self.scopes.pop()
        return helper.make_graph(nodes, self.fresh(name), inputs, final)

    def model(self):
        onnx, helper = self.onnx, self.onnx.helper
        ep = self.ep
        prog = ep.program
        in_names = []
        for k, c in enumerate(ep.consts):
            in_names.append(self.const(c, f"w{k}"))
        const_vals = list(ep.consts) + [None] * len(ep.inputs)
        graph_inputs = []
        for port in ep.inputs:
            in_names.append(port.name)
            graph_inputs.append(self.value_info(port.name, port.aval, doc=port.path))
        dyn = [p for p in ep.inputs if p.dynamic]
        if dyn:
            self.batch_name = self.node("Shape", [dyn[0].name], start=0, end=1)
        outs = self.run_program(prog, in_names, const_vals)
        graph_outputs = []
        for port, n in zip(ep.outputs, outs):
            self.scopes[0].nodes.append(helper.make_node("Identity", [n], [port.name],
                                                         name=self.fresh("n_out")))
            graph_outputs.append(self.value_info(port.name, port.aval, doc=port.path))
        nodes = self.scopes[0].nodes
        used = set()
        for n in nodes:
            used.update(n.input)
            for a in n.attribute:
                if a.type == onnx.AttributeProto.GRAPH:
                    _collect_inputs(a.g, used)
        inits = [t for name, t in self.inits.items() if name in used]
        doc = (f"funcgrad.export.to_onnx of {ep.name}; traced at batch {ep.example_batch} "
               "(dynamic: the leading axis of each batched input is 'batch')"
               if ep.batch is not None else f"funcgrad.export.to_onnx of {ep.name}")
        graph = helper.make_graph(nodes, _graph_name(ep.name), graph_inputs, graph_outputs,
                                  initializer=inits, doc_string=doc)
        from .._version import __version__
        model = helper.make_model(graph, producer_name="funcgrad", producer_version=__version__,
                                  opset_imports=[helper.make_opsetid("", self.opset)])
        model.ir_version = min(model.ir_version, 8)
        return model


def _collect_inputs(graph, used):
    for n in graph.node:
        used.update(n.input)
        for a in n.attribute:
            if a.g is not None and a.g.node:
                _collect_inputs(a.g, used)
            for g in a.graphs:
                _collect_inputs(g, used)


def _graph_name(name: str) -> str:
    s = "".join(ch if ch.isalnum() else "_" for ch in name)
    return s or "f"


# ---------------------------------------------------------------------------------------
# Rules: one function per primitive, `rule(exporter, frame, eqn)` -> output name(s)

_RULES: dict = {}
_NO_FOLD = {"scan", "while", "cond", "debug_callback", "pure_callback", "io_callback",
            "custom_jvp_call", "custom_vjp_call", "custom_lin", "jit", "remat"}


def _rule(*names):
    def register(fn):
        for n in names:
            _RULES[n] = fn
        return fn
    return register


def supported_primitives() -> set[str]:
    """Names of the primitives `to_onnx` exports."""
    return set(_RULES)


def _out(eqn):
    return eqn.outputs[0]


def _is_float(dt) -> bool:
    return dtypes.is_float(dt)


# -- elementwise -------------------------------------------------------------------------

_SIMPLE = {"add": "Add", "sub": "Sub", "mul": "Mul", "neg": "Neg", "exp": "Exp", "log": "Log",
           "sin": "Sin", "cos": "Cos", "tan": "Tan", "asin": "Asin", "acos": "Acos",
           "atan": "Atan", "sinh": "Sinh", "cosh": "Cosh", "asinh": "Asinh", "acosh": "Acosh",
           "atanh": "Atanh", "tanh": "Tanh", "logistic": "Sigmoid", "sqrt": "Sqrt",
           "erf": "Erf", "abs": "Abs", "sign": "Sign", "floor": "Floor", "ceil": "Ceil",
           "round": "Round", "pow": "Pow", "eq": "Equal", "lt": "Less", "le": "LessOrEqual",
           "gt": "Greater", "ge": "GreaterOrEqual"}


def _simple(op):
    def rule(x, frame, eqn):
        return x.node(op, x.ew_inputs(frame, eqn))
    return rule


for _name, _op in _SIMPLE.items():
    _RULES[_name] = _simple(_op)


@_rule("max", "min")
def _max_min(x, frame, eqn):
    a, b = x.ew_inputs(frame, eqn)
    if dtypes.is_bool(_out(eqn).aval.dtype):
        return x.node("Or" if eqn.prim.name == "max" else "And", [a, b])
    return x.node("Max" if eqn.prim.name == "max" else "Min", [a, b])


@_rule("ne")
def _ne(x, frame, eqn):
    return x.node("Not", [x.node("Equal", x.ew_inputs(frame, eqn))])


@_rule("div")
def _div(x, frame, eqn):
    a, b = x.ew_inputs(frame, eqn)
    dt = _out(eqn).aval.dtype
    if _is_float(dt):
        return x.node("Div", [a, b])
    # funcgrad's integer division truncates and gives 0 for a zero divisor.
    zero = x.node("Equal", [b, x.scalar(0, dt)])
    safe = x.node("Where", [zero, x.scalar(1, dt), b])
    return x.node("Where", [zero, x.scalar(0, dt), x.node("Div", [a, safe])])


@_rule("rem")
def _rem(x, frame, eqn):
    a, b = x.ew_inputs(frame, eqn)
    dt = _out(eqn).aval.dtype
    if _is_float(dt):
        return x.node("Mod", [a, b], fmod=1)
    zero = x.node("Equal", [b, x.scalar(0, dt)])
    safe = x.node("Where", [zero, x.scalar(1, dt), b])
    return x.node("Where", [zero, x.scalar(0, dt), x.node("Mod", [a, safe], fmod=1)])


@_rule("integer_pow")
def _integer_pow(x, frame, eqn):
    (a,) = x.ew_inputs(frame, eqn)
    y = eqn.params["y"]
    dt = _out(eqn).aval.dtype
    if y == 0:
        return x.node("Expand", [x.scalar(1, dt), x.shape(x.dims(_out(eqn)))])
    n, acc, base = abs(y), None, a
    while n:
        if n & 1:
            acc = base if acc is None else x.node("Mul", [acc, base])
        n >>= 1
        if n:
            base = x.node("Mul", [base, base])
    if y < 0:
        acc = x.node("Div", [x.scalar(1, dt), acc])
    return acc


@_rule("rsqrt")
def _rsqrt(x, frame, eqn):
    (a,) = x.ew_inputs(frame, eqn)
    return x.node("Div", [x.scalar(1, _out(eqn).aval.dtype), x.node("Sqrt", [a])])


@_rule("erfc")
def _erfc(x, frame, eqn):
    (a,) = x.ew_inputs(frame, eqn)
    return x.node("Sub", [x.scalar(1, _out(eqn).aval.dtype), x.node("Erf", [a])])


@_rule("log1p")
def _log1p(x, frame, eqn):
    # Kahan's form, accurate near 0: u = 1 + x; log1p(x) = x * log(u) / (u - 1) (x when
    # u == 1; log(u) when u is inf).
    (a,) = x.ew_inputs(frame, eqn)
    dt = _out(eqn).aval.dtype
    one = x.scalar(1, dt)
    u = x.node("Add", [one, a])
    um1 = x.node("Sub", [u, one])
    logu = x.node("Log", [u])
    is_one = x.node("Equal", [um1, x.scalar(0, dt)])
    safe = x.node("Where", [is_one, one, um1])
    r = x.node("Div", [x.node("Mul", [a, logu]), safe])
    r = x.node("Where", [x.node("IsInf", [u]), logu, r])
    return x.node("Where", [is_one, a, r])


@_rule("expm1")
def _expm1(x, frame, eqn):
    # Kahan's form: u = exp(x); expm1(x) = (u - 1) * x / log(u) (x when u == 1, -1 when
    # u - 1 == -1, u when u is inf).
    (a,) = x.ew_inputs(frame, eqn)
    dt = _out(eqn).aval.dtype
    one = x.scalar(1, dt)
    u = x.node("Exp", [a])
    um1 = x.node("Sub", [u, one])
    logu = x.node("Log", [u])
    is_one = x.node("Equal", [um1, x.scalar(0, dt)])
    safe = x.node("Where", [is_one, one, logu])
    r = x.node("Div", [x.node("Mul", [um1, a]), safe])
    r = x.node("Where", [x.node("Equal", [um1, x.scalar(-1, dt)]), um1, r])
    r = x.node("Where", [x.node("IsInf", [u]), u, r])
    return x.node("Where", [is_one, a, r])


@_rule("atan2")
def _atan2(x, frame, eqn):
    # atan(y/x) moved to the right quadrant. The sign of a zero y or x is not looked at
    # beyond atan2(+-0, 0) = +-0 (NumPy gives +-pi for a -0.0 x).
    y, xx = x.ew_inputs(frame, eqn)
    dt = _out(eqn).aval.dtype
    zero = x.scalar(0, dt)
    base = x.node("Atan", [x.node("Div", [y, xx])])
    pi = x.node("Where", [x.node("GreaterOrEqual", [y, zero]), x.scalar(np.pi, dt),
                          x.scalar(-np.pi, dt)])
    r = x.node("Where", [x.node("Less", [xx, zero]), x.node("Add", [base, pi]), base])
    both0 = x.node("And", [x.node("Equal", [y, zero]), x.node("Equal", [xx, zero])])
    return x.node("Where", [both0, x.node("Mul", [y, zero]), r])


@_rule("is_finite")
def _is_finite(x, frame, eqn):
    (a,) = x.ew_inputs(frame, eqn)
    bad = x.node("Or", [x.node("IsInf", [a]), x.node("IsNaN", [a])])
    return x.node("Not", [bad])


@_rule("signbit")
def _signbit(x, frame, eqn):
    # x < 0, or 1/x < 0 for -0.0. ONNX has no operation that reads a NaN's sign bit:
    # a NaN gives False here, where funcgrad's backends give True for a negative NaN.
    (a,) = x.ew_inputs(frame, eqn)
    dt = eqn.inputs[0].aval.dtype
    zero = x.scalar(0, dt)
    neg_zero = x.node("Less", [x.node("Div", [x.scalar(1, dt), a]), zero])
    return x.node("Or", [x.node("Less", [a, zero]), neg_zero])


@_rule("and", "or", "xor", "not")
def _logic(x, frame, eqn):
    ins = x.ew_inputs(frame, eqn)
    op = {"and": "And", "or": "Or", "xor": "Xor", "not": "Not"}[eqn.prim.name]
    if dtypes.is_bool(_out(eqn).aval.dtype):
        return x.node(op, ins)
    if x.opset < 18:
        raise x.unsupported(eqn, f"on integers needs ONNX's Bitwise{op} (opset 18): "
                                 "pass opset=18 to to_onnx")
    return x.node("Bitwise" + op, ins)


@_rule("shift_left", "shift_right_logical")
def _shift(x, frame, eqn):
    # ONNX's BitShift takes unsigned integers only: shift the same bits as unsigned. An
    # amount outside [0, bits) gives 0, as funcgrad defines it; a signed right shift is
    # arithmetic (funcgrad's NumPy rule), made from the logical one on ~x for negative x.
    a, b = x.ew_inputs(frame, eqn)
    dt = np.dtype(_out(eqn).aval.dtype)
    if not dtypes.is_int(dt):
        raise x.unsupported(eqn, f"on {dt} has no ONNX form")
    udt = np.dtype(f"uint{dt.itemsize * 8}")
    bits = dt.itemsize * 8
    bdt = np.dtype(eqn.inputs[1].aval.dtype)
    big = x.node("Or", [x.node("Less", [b, x.scalar(0, bdt)]),
                        x.node("GreaterOrEqual", [b, x.scalar(bits, bdt)])])
    amount = x.node("Cast", [x.node("Where", [big, x.scalar(0, bdt), b])],
                    to=x.onnx_type(udt))

    def as_u(t):
        return t if dt == udt else x.node("Cast", [t], to=x.onnx_type(udt))

    def back(t):
        return t if dt == udt else x.node("Cast", [t], to=x.onnx_type(dt))

    if eqn.prim.name == "shift_left":
        r = back(x.node("BitShift", [as_u(a), amount], direction="LEFT"))
    elif dt == udt:
        r = x.node("BitShift", [a, amount], direction="RIGHT")
    else:
        one = x.scalar(1, dt)
        pos = back(x.node("BitShift", [as_u(a), amount], direction="RIGHT"))
        inv = x.node("Sub", [x.node("Neg", [a]), one])                  # ~a = -a - 1
        neg = back(x.node("BitShift", [as_u(inv), amount], direction="RIGHT"))
        neg = x.node("Sub", [x.node("Neg", [neg]), one])
        r = x.node("Where", [x.node("Less", [a, x.scalar(0, dt)]), neg, pos])
    return x.node("Where", [big, x.scalar(0, dt), r])


@_rule("select")
def _select(x, frame, eqn):
    p, t, f = x.ew_inputs(frame, eqn)
    return x.node("Where", [p, t, f])


@_rule("convert_element_type")
def _convert(x, frame, eqn):
    (a,) = x.ew_inputs(frame, eqn)
    src, dst = eqn.inputs[0].aval.dtype, eqn.params["new_dtype"]
    if np.dtype(src) == np.dtype(dst):
        return x.node("Identity", [a])
    return x.node("Cast", [a], to=x.onnx_type(dst))


@_rule("stop_gradient")
def _identity(x, frame, eqn):
    a = eqn.inputs[0]
    if isinstance(a, Var) and a.id in frame.lazy and a.id not in frame.names:
        frame.lazy[_out(eqn).id] = frame.lazy[a.id]
        return None
    return x.node("Identity", [x.read(frame, a)])


# -- shapes ------------------------------------------------------------------------------

@_rule("broadcast_in_dim")
def _broadcast(x, frame, eqn):
    a = eqn.inputs[0]
    bdims = eqn.params["broadcast_dimensions"]
    out = x.dims(_out(eqn))
    src = x.read(frame, a)
    in_dims = x.dims(a)
    aligned = [1] * len(out)
    for i, d in enumerate(bdims):
        aligned[d] = in_dims[i]
    if list(bdims) != sorted(bdims):
        order = sorted(range(len(bdims)), key=lambda i: bdims[i])
        src = x.node("Transpose", [src], perm=order)
    missing = [i for i in range(len(out)) if i not in bdims]
    if missing:
        src = x.node("Unsqueeze", [src, x.i64(missing)])
    if all(same_size(a_, o) for a_, o in zip(aligned, out)):
        return x.node("Identity", [src]) if not missing and list(bdims) == sorted(bdims) \
            else src
    frame.lazy[_out(eqn).id] = (src, tuple(aligned))
    return None


@_rule("reshape")
def _reshape(x, frame, eqn):
    a = eqn.inputs[0]
    src = x.read(frame, a)
    new = tuple(eqn.params["new_sizes"])
    old = x.dims(a)
    if _only_ones_inserted(old, new):
        return _squeeze_unsqueeze(x, src, old, new)
    dyn = [i for i, d in enumerate(new) if isinstance(d, BatchDim)]
    if len(dyn) == 1 and all(int(d) != 0 for d in new):
        target = [int(d) for d in new]
        target[dyn[0]] = -1
        return x.node("Reshape", [src, x.i64(target)])
    if any(int(d) == 0 for d in new) and is_static(new):
        return x.node("Reshape", [src, x.i64([int(d) for d in new])], allowzero=1)
    return x.node("Reshape", [src, x.shape(new)])


def _only_ones_inserted(old, new) -> bool:
    """Whether `new` is `old` with size-1 axes removed and inserted only."""
    i = j = 0
    while i < len(old) and j < len(new):
        if same_size(old[i], new[j]):
            i += 1
            j += 1
        elif same_size(new[j], 1):
            j += 1
        elif same_size(old[i], 1):
            i += 1
        else:
            return False
    return all(same_size(d, 1) for d in old[i:]) and all(same_size(d, 1) for d in new[j:])


def _squeeze_unsqueeze(x, src, old, new):
    """A reshape that only removes and inserts size-1 axes: Squeeze then Unsqueeze (no
    shape tensor, so batch-agnostic)."""
    drop = [i for i, d in enumerate(old) if same_size(d, 1)]
    t = src
    if drop:
        t = x.node("Squeeze", [t, x.i64(drop)])
    ins = [j for j, d in enumerate(new) if same_size(d, 1)]
    if ins:
        t = x.node("Unsqueeze", [t, x.i64(ins)])
    if t is src:
        t = x.node("Identity", [src])
    return t


@_rule("transpose")
def _transpose(x, frame, eqn):
    perm = list(eqn.params["permutation"])
    src = x.read(frame, eqn.inputs[0])
    if perm == sorted(perm):
        return x.node("Identity", [src])
    return x.node("Transpose", [src], perm=perm)


@_rule("squeeze")
def _squeeze(x, frame, eqn):
    dims = list(eqn.params["dimensions"])
    src = x.read(frame, eqn.inputs[0])
    if not dims:
        return x.node("Identity", [src])
    return x.node("Squeeze", [src, x.i64(dims)])


@_rule("expand_dims")
def _expand_dims(x, frame, eqn):
    dims = list(eqn.params["dimensions"])
    src = x.read(frame, eqn.inputs[0])
    if not dims:
        return x.node("Identity", [src])
    return x.node("Unsqueeze", [src, x.i64(dims)])


@_rule("rev")
def _rev(x, frame, eqn):
    dims = list(eqn.params["dimensions"])
    src = x.read(frame, eqn.inputs[0])
    if not dims:
        return x.node("Identity", [src])
    n = len(dims)
    return x.node("Slice", [src, x.i64([-1] * n), x.i64([_INT64_MIN] * n), x.i64(dims),
                            x.i64([-1] * n)])


@_rule("concatenate")
def _concatenate(x, frame, eqn):
    ins = [x.read(frame, a) for a in eqn.inputs]
    return x.node("Concat", ins, axis=int(eqn.params["dimension"]))


@_rule("slice")
def _slice(x, frame, eqn):
    a = eqn.inputs[0]
    src = x.read(frame, a)
    p = eqn.params
    dims = x.dims(a)
    axes, starts, ends, steps = [], [], [], []
    for i, (s, lim, st, d) in enumerate(zip(p["start_indices"], p["limit_indices"],
                                             p["strides"], dims)):
        if int(s) == 0 and same_size(lim, d) and int(st) == 1:
            continue
        axes.append(i)
        starts.append(s)
        ends.append(_INT64_MAX if same_size(lim, d) else lim)
        steps.append(int(st))
    if not axes:
        return x.node("Identity", [src])
    return x.node("Slice", [src, x.shape(starts), x.shape(ends), x.i64(axes), x.i64(steps)])


@_rule("iota")
def _iota(x, frame, eqn):
    p = eqn.params
    shape, d, dt = tuple(p["shape"]), int(p["dimension"]), np.dtype(p["dtype"])
    n = shape[d]
    r = x.node("Range", [x.size_scalar(0, dt), x.size_scalar(n, dt), x.scalar(1, dt)])
    others = [i for i in range(len(shape)) if i != d]
    if others:
        r = x.node("Unsqueeze", [r, x.i64(others)])
    return x.node("Expand", [r, x.shape(shape)])


def _pad_general(x, src, dims, config, pad_value):
    """lax.pad: interior padding by interleaving, negative low/high padding by slicing."""
    dims = list(dims)
    t = src
    for i, (_lo, _hi, interior) in enumerate(config):
        if interior:
            d = dims[i]
            if isinstance(d, BatchDim):
                raise ExportError("to_onnx: interior padding of an axis that follows the batch "
                                  "is not supported")
            t = x.node("Unsqueeze", [t, x.i64([i + 1])])
            pads = [0] * (2 * (len(dims) + 1))
            pads[len(dims) + 1 + i + 1] = interior
            t = x.node("Pad", [t, x.i64(pads), pad_value], mode="constant")
            merged = dims[:i] + [int(d) * (interior + 1)] + dims[i + 1:]
            t = x.node("Reshape", [t, x.shape(merged)])
            n = int(d) + max(int(d) - 1, 0) * interior
            t = x.node("Slice", [t, x.i64([0]), x.i64([n]), x.i64([i])])
            dims[i] = n
    neg = [(i, lo, hi) for i, (lo, hi, _) in enumerate(config) if lo < 0 or hi < 0]
    if neg:
        axes = [i for i, _, _ in neg]
        starts = [max(-lo, 0) for _, lo, _ in neg]
        ends = [_INT64_MAX if hi >= 0 else dims[i] + hi if not isinstance(dims[i], BatchDim)
                else None for i, _, hi in neg]
        if any(e is None for e in ends):
            ends_t = x.shape([BatchDim(0, dims[i].a, dims[i].c + hi) if hi < 0 else _INT64_MAX
                              for i, _, hi in neg])
        else:
            ends_t = x.i64(ends)
        t = x.node("Slice", [t, x.i64(starts), ends_t, x.i64(axes)])
    pos_lo = [max(lo, 0) for lo, _, _ in config]
    pos_hi = [max(hi, 0) for _, hi, _ in config]
    if any(pos_lo) or any(pos_hi):
        t = x.node("Pad", [t, x.i64(pos_lo + pos_hi), pad_value], mode="constant")
    if t is src:
        t = x.node("Identity", [src])
    return t


@_rule("pad")
def _pad(x, frame, eqn):
    a, pv = eqn.inputs
    return _pad_general(x, x.read(frame, a), x.dims(a), eqn.params["padding_config"],
                        x.read(frame, pv))


@_rule("dynamic_slice")
def _dynamic_slice(x, frame, eqn):
    a, *starts = eqn.inputs
    sizes = eqn.params["slice_sizes"]
    dims = x.dims(a)
    src = x.read(frame, a)
    begin = []
    for s, n, d in zip(starts, sizes, dims):
        st = x.read(frame, s)
        if np.dtype(s.aval.dtype) != np.int64:
            st = x.node("Cast", [st], to=x.onnx_type(np.int64))
        hi = x.size_scalar(_minus(d, n))
        begin.append(x.node("Unsqueeze", [x.node("Clip", [st, x.scalar(0, np.int64), hi]),
                                          x.i64([0])]))
    b = x.node("Concat", begin, axis=0) if len(begin) > 1 else begin[0]
    e = x.node("Add", [b, x.shape(sizes)])
    return x.node("Slice", [src, b, e, x.i64(list(range(len(dims))))])


@_rule("dynamic_update_slice")
def _dynamic_update_slice(x, frame, eqn):
    a, upd, *starts = eqn.inputs
    dims, udims = x.dims(a), x.dims(upd)
    src, u = x.read(frame, a), x.read(frame, upd)
    begin = []
    for s, n, d in zip(starts, udims, dims):
        st = x.read(frame, s)
        if np.dtype(s.aval.dtype) != np.int64:
            st = x.node("Cast", [st], to=x.onnx_type(np.int64))
        hi = x.size_scalar(_minus(d, n))
        begin.append(x.node("Unsqueeze", [x.node("Clip", [st, x.scalar(0, np.int64), hi]),
                                          x.i64([0])]))
    b = x.node("Concat", begin, axis=0) if len(begin) > 1 else begin[0]
    after = x.node("Sub", [x.node("Sub", [x.shape(dims), b]), x.shape(udims)])
    pads = x.node("Concat", [b, after], axis=0)
    dt = a.aval.dtype
    zero = x.scalar(0, dt)
    up = x.node("Pad", [u, pads, zero], mode="constant")
    ones = x.node("ConstantOfShape", [x.shape(udims)],
                  value=x.onnx.numpy_helper.from_array(np.ones(1, np.float32)))
    mask = x.node("Pad", [ones, pads, x.scalar(0, np.float32)], mode="constant")
    mask = x.node("Cast", [mask], to=x.onnx_type(np.bool_))
    return x.node("Where", [mask, up, src])


def _minus(d, n):
    if isinstance(d, BatchDim) or isinstance(n, BatchDim):
        da, dc = (d.a, d.c) if isinstance(d, BatchDim) else (0, int(d))
        na, nc = (n.a, n.c) if isinstance(n, BatchDim) else (0, int(n))
        if da == na:
            return dc - nc
        return BatchDim(int(d) - int(n), da - na, dc - nc)
    return int(d) - int(n)


@_rule("gather")
def _gather(x, frame, eqn):
    a, idx = eqn.inputs
    axes = tuple(eqn.params["axes"])
    dims = x.dims(a)
    src = x.read(frame, a)
    k = len(axes)
    rest = [i for i in range(len(dims)) if i not in axes]
    if list(axes) + rest != list(range(len(dims))):
        src = x.node("Transpose", [src], perm=list(axes) + rest)
    ind = x.read(frame, idx)
    if np.dtype(idx.aval.dtype) != np.int64:
        ind = x.node("Cast", [ind], to=x.onnx_type(np.int64))
    zero = x.scalar(0, np.int64)
    if k == 1:
        comp = x.node("Squeeze", [ind, x.i64([-1])])
        hi = x.size_scalar(_minus(dims[axes[0]], 1))
        comp = x.node("Clip", [comp, zero, hi])
        return x.node("Gather", [src, comp], axis=0)
    his = x.shape([_minus(dims[ax], 1) for ax in axes])
    ind = x.node("Max", [x.node("Min", [ind, his]), x.i64([0] * k)])
    return x.node("GatherND", [src, ind], batch_dims=0)


@_rule("scatter")
def _scatter(x, frame, eqn):
    # Out-of-bounds updates are dropped: the operand is padded by one slot along each
    # indexed axis, such updates are sent there, and the padding is sliced off again.
    a, idx, upd = eqn.inputs
    axes = tuple(eqn.params["axes"])
    mode = eqn.params["mode"]
    red = {"set": "none", "add": "add", "mul": "mul", "max": "max", "min": "min"}[mode]
    if red in ("max", "min") and x.opset < 18:
        raise x.unsupported(eqn, f"with mode '{mode}' needs opset 18: pass opset=18")
    dims = x.dims(a)
    k = len(axes)
    rest = [i for i in range(len(dims)) if i not in axes]
    perm = list(axes) + rest
    src = x.read(frame, a)
    if perm != list(range(len(dims))):
        src = x.node("Transpose", [src], perm=perm)
    pads = [0] * (2 * len(dims))
    for j in range(k):
        pads[len(dims) + j] = 1
    src = x.node("Pad", [src, x.i64(pads), x.scalar(0, a.aval.dtype)], mode="constant")
    ind = x.read(frame, idx)
    if np.dtype(idx.aval.dtype) != np.int64:
        ind = x.node("Cast", [ind], to=x.onnx_type(np.int64))
    bound = x.shape([dims[ax] for ax in axes])
    bad = x.node("Or", [x.node("Less", [ind, x.i64([0] * k)]),
                        x.node("GreaterOrEqual", [ind, bound])])
    bad = _reduce(x, "ReduceMax", x.node("Cast", [bad], to=x.onnx_type(np.int32)), [-1])
    bad = x.node("Cast", [x.node("Unsqueeze", [bad, x.i64([-1])])], to=x.onnx_type(np.bool_))
    ind = x.node("Where", [bad, bound, ind])       # an index out of bounds: the padding
    u = x.read(frame, upd)
    out = x.node("ScatterND", [src, ind, u], reduction=red)
    out = x.node("Slice", [out, x.i64([0] * k), x.shape([dims[ax] for ax in axes]),
                           x.i64(list(range(k)))])
    if perm != list(range(len(dims))):
        out = x.node("Transpose", [out], perm=list(np.argsort(perm)))
    return out


# -- reductions ---------------------------------------------------------------------------

def _reduce(x, op, src, axes):
    """ReduceX without kept axes (its axes are an input from opset 18, for ReduceSum from
    13; an attribute before)."""
    if x.opset >= 18 or op == "ReduceSum":
        return x.node(op, [src, x.i64(axes)], keepdims=0)
    return x.node(op, [src], axes=list(axes), keepdims=0)


@_rule("reduce_sum", "reduce_max", "reduce_min", "reduce_prod")
def _reductions(x, frame, eqn):
    a = eqn.inputs[0]
    axes = list(eqn.params["axes"])
    src = x.read(frame, a)
    if not axes:
        return x.node("Identity", [src])
    op = {"reduce_sum": "ReduceSum", "reduce_max": "ReduceMax", "reduce_min": "ReduceMin",
          "reduce_prod": "ReduceProd"}[eqn.prim.name]
    dt = np.dtype(a.aval.dtype)
    if dtypes.is_bool(dt):
        t = x.node("Cast", [src], to=x.onnx_type(np.int32))
        t = _reduce(x, op, t, axes)
        return x.node("Cast", [t], to=x.onnx_type(np.bool_))
    return _reduce(x, op, src, axes)


@_rule("argmax", "argmin")
def _argmax(x, frame, eqn):
    a = eqn.inputs[0]
    src = x.read(frame, a)
    op = "ArgMax" if eqn.prim.name == "argmax" else "ArgMin"
    if dtypes.is_bool(a.aval.dtype):
        src = x.node("Cast", [src], to=x.onnx_type(np.int32))
    r = x.node(op, [src], axis=int(eqn.params["axis"]), keepdims=0, select_last_index=0)
    want = np.dtype(eqn.params["index_dtype"])
    return r if want == np.int64 else x.node("Cast", [r], to=x.onnx_type(want))


@_rule("cumsum")
def _cumsum(x, frame, eqn):
    src = x.read(frame, eqn.inputs[0])
    return x.node("CumSum", [src, x.scalar(int(eqn.params["axis"]), np.int64)],
                  reverse=int(bool(eqn.params["reverse"])), exclusive=0)


@_rule("sort")
def _sort(x, frame, eqn):
    if eqn.params["num_keys"] != 1:
        raise x.unsupported(eqn, "with several sort keys has no ONNX form (TopK sorts by "
                                 "one key)")
    d = int(eqn.params["dimension"])
    ins = [x.read(frame, a) for a in eqn.inputs]
    n = x.dims(eqn.inputs[0])[d]
    vals, idx = x.node("TopK", [ins[0], x.size_vec(n)], n_out=2, axis=d, largest=0, sorted=1)
    outs = [vals]
    for other in ins[1:]:
        outs.append(x.node("GatherElements", [other, idx], axis=d))
    return outs


# -- linear algebra ----------------------------------------------------------------------

@_rule("dot_general")
def _dot_general(x, frame, eqn):
    lhs, rhs = eqn.inputs
    (lc, rc), (lb, rb) = eqn.params["dimension_numbers"]
    lc, rc, lb, rb = map(list, (lc, rc, lb, rb))
    a, b = x.read(frame, lhs), x.read(frame, rhs)
    pref = eqn.params.get("preferred_element_type")
    out_dt = np.dtype(_out(eqn).aval.dtype)
    if np.dtype(lhs.aval.dtype) != out_dt:
        a = x.node("Cast", [a], to=x.onnx_type(out_dt))
    if np.dtype(rhs.aval.dtype) != out_dt:
        b = x.node("Cast", [b], to=x.onnx_type(out_dt))
    del pref
    nl, nr, nb = lhs.aval.ndim, rhs.aval.ndim, len(lb)
    batch = list(range(nb))
    if len(lc) == 1 and lb == batch and rb == batch:
        # [batch, free..., k] x [batch, k, n] (either operand possibly transposed): MatMul.
        if nb == 0 and nr == 2 and lc == [nl - 1] and rc in ([0], [1]) and nl >= 1:
            if rc == [1]:
                b = x.node("Transpose", [b], perm=[1, 0])
            return x.node("MatMul", [a, b])
        if nb > 0 and nl == nb + 2 and nr == nb + 2 and lc[0] in (nb, nb + 1) \
                and rc[0] in (nb, nb + 1):
            if lc[0] == nb:
                a = x.node("Transpose", [a], perm=batch + [nb + 1, nb])
            if rc[0] == nb + 1:
                b = x.node("Transpose", [b], perm=batch + [nb + 1, nb])
            return x.node("MatMul", [a, b])
    letters = iter("abcdefghijklmnopqrstuvwxyz")
    ll = [next(letters) for _ in range(nl)]
    rl = [None] * nr
    for i, j in zip(lc, rc):
        rl[j] = ll[i]
    for i, j in zip(lb, rb):
        rl[j] = ll[i]
    rl = [c if c is not None else next(letters) for c in rl]
    out = [ll[i] for i in lb] + [ll[i] for i in range(nl) if i not in lc and i not in lb] + \
        [rl[j] for j in range(nr) if j not in rc and j not in rb]
    eq = f"{''.join(ll)},{''.join(rl)}->{''.join(out)}"
    return x.node("Einsum", [a, b], equation=eq)


@_rule("conv_general_dilated")
def _conv(x, frame, eqn):
    lhs, rhs = eqn.inputs
    p = eqn.params
    if p["batch_group_count"] != 1:
        raise x.unsupported(eqn, "with batch_group_count > 1 (a weight gradient) has no ONNX "
                                 "Conv form")
    ls, rs, os_ = p["dimension_numbers"]
    a, w = x.read(frame, lhs), x.read(frame, rhs)
    nsp = lhs.aval.ndim - 2
    if list(ls) != list(range(nsp + 2)):
        a = x.node("Transpose", [a], perm=list(ls))
    if list(rs) != list(range(nsp + 2)):
        w = x.node("Transpose", [w], perm=list(rs))
    in_dims = [x.dims(lhs)[d] for d in ls]
    ldil = list(p["lhs_dilation"])
    pads = [tuple(pp) for pp in p["padding"]]
    if any(d != 1 for d in ldil) or any(lo < 0 or hi < 0 for lo, hi in pads):
        config = [(0, 0, 0), (0, 0, 0)] + [(lo, hi, d - 1) for (lo, hi), d in zip(pads, ldil)]
        a = _pad_general(x, a, in_dims, config, x.scalar(0, lhs.aval.dtype))
        pads = [(0, 0)] * nsp
    kernel = [int(rhs.aval.shape[d]) for d in rs[2:]]
    y = x.node("Conv", [a, w], strides=[int(s) for s in p["window_strides"]],
               dilations=[int(d) for d in p["rhs_dilation"]],
               group=int(p["feature_group_count"]), kernel_shape=kernel,
               pads=[int(lo) for lo, _ in pads] + [int(hi) for _, hi in pads])
    if list(os_) != list(range(nsp + 2)):
        y = x.node("Transpose", [y], perm=[int(i) for i in np.argsort(os_)])
    return y


# -- pooling --------------------------------------------------------------------------------

@_rule("reduce_window")
def _reduce_window(x, frame, eqn):
    a = eqn.inputs[0]
    p = eqn.params
    comp = p["computation"]
    win, strides, pads = p["window_dimensions"], p["window_strides"], p["padding"]
    dims = x.dims(a)
    nd = len(dims)
    wdims = [i for i in range(nd) if win[i] != 1 or strides[i] != 1 or tuple(pads[i]) != (0, 0)]
    src = x.read(frame, a)
    if not wdims:
        return x.node("Identity", [src])
    others = [i for i in range(nd) if i not in wdims]
    if any(isinstance(dims[i], BatchDim) for i in wdims):
        raise x.unsupported(eqn, "over an axis that follows the batch is not exported")
    perm = others + wdims
    t = src
    if perm != list(range(nd)):
        t = x.node("Transpose", [t], perm=perm)
    out_dims = x.dims(_out(eqn))
    sp_in = [int(dims[i]) for i in wdims]
    # ONNX pools the axes after the first two: the other axes become those two.
    if len(others) < 2:
        t = x.node("Unsqueeze", [t, x.i64(list(range(2 - len(others))))])
    elif len(others) > 2:
        last = dims[others[-1]]
        tail = x.shape([last] + sp_in)
        t = x.node("Reshape", [t, x.node("Concat", [x.i64([-1]), tail], axis=0)])
    lo = [int(pads[i][0]) for i in wdims]
    hi = [int(pads[i][1]) for i in wdims]
    kernel = [int(win[i]) for i in wdims]
    st = [int(strides[i]) for i in wdims]
    dt = a.aval.dtype
    if any(v < 0 for v in lo + hi):
        config = [(0, 0, 0)] * 2 + [(min(l_, 0), min(h_, 0), 0) for l_, h_ in zip(lo, hi)]
        t = _pad_general(x, t, [1, 1] + sp_in, config, x.scalar(0, dt))
        lo, hi = [max(v, 0) for v in lo], [max(v, 0) for v in hi]
    if comp == "max":
        y = x.node("MaxPool", [t], kernel_shape=kernel, strides=st, pads=lo + hi)
    elif comp == "min":
        y = x.node("Neg", [x.node("MaxPool", [x.node("Neg", [t])], kernel_shape=kernel,
                                  strides=st, pads=lo + hi)])
    else:
        y = x.node("AveragePool", [t], kernel_shape=kernel, strides=st, pads=lo + hi,
                   count_include_pad=1)
        y = x.node("Mul", [y, x.scalar(math.prod(kernel), dt)])
    out_perm = [out_dims[i] for i in perm]
    if len(others) != 2:
        y = x.node("Reshape", [y, x.shape(out_perm)])
    if perm != list(range(nd)):
        y = x.node("Transpose", [y], perm=[int(i) for i in np.argsort(perm)])
    return y


# -- control flow ---------------------------------------------------------------------------

@_rule("scan")
def _scan(x, frame, eqn):
    p = eqn.params
    nc, ncar, length, rev = p["num_consts"], p["num_carry"], p["length"], p["reverse"]
    body = p["program"]
    if isinstance(body, ClosedProgram):
        body = body.program
    ins = eqn.inputs
    consts = [x.read(frame, a) for a in ins[:nc]]
    const_vals = [x.known(frame, a) for a in ins[:nc]]
    init = [x.read(frame, a) for a in ins[nc:nc + ncar]]
    xs = [x.read(frame, a) for a in ins[nc + ncar:]]
    it, cond_in = x.fresh("iter"), x.fresh("cond")
    carry_in = [x.fresh("carry") for _ in range(ncar)]
    inputs = [x.value_info(it, core.ShapedArray((), np.int64)),
              x.value_info(cond_in, core.ShapedArray((), np.bool_))]
    inputs += [x.value_info(n, v.aval) for n, v in zip(carry_in, body.invars[nc:nc + ncar])]

    def emit():
        idx = it
        if rev:
            idx = x.node("Sub", [x.size_scalar(_minus(length, 1)), it])
        slices = [x.node("Gather", [s, idx], axis=0) for s in xs]
        outs = x.run_program(body, consts + carry_in + slices,
                             const_vals + [None] * (len(carry_in) + len(slices)))
        res = [(x.node("Identity", [cond_in]), core.ShapedArray((), np.bool_))]
        return res + [(n, v.aval) for n, v in zip(outs, body.outvars)]

    graph = x.subgraph("scan_body", inputs, emit)
    outs = x.node("Loop", [x.size_scalar(length), ""] + init, n_out=len(eqn.outputs),
                  body=graph)
    outs = outs if isinstance(outs, list) else [outs]
    if rev:
        outs = outs[:ncar] + [x.node("Slice", [y, x.i64([-1]), x.i64([_INT64_MIN]), x.i64([0]),
                                               x.i64([-1])]) for y in outs[ncar:]]
    return outs


@_rule("while")
def _while(x, frame, eqn):
    p = eqn.params
    cn, bn = p["cond_nconsts"], p["body_nconsts"]
    cprog, bprog = p["cond_program"], p["body_program"]
    cprog = cprog.program if isinstance(cprog, ClosedProgram) else cprog
    bprog = bprog.program if isinstance(bprog, ClosedProgram) else bprog
    ins = [x.read(frame, a) for a in eqn.inputs]
    cc, bc, init = ins[:cn], ins[cn:cn + bn], ins[cn + bn:]
    (c0,) = x.run_program(cprog, cc + init)
    it, cond_in = x.fresh("iter"), x.fresh("cond")
    carry_in = [x.fresh("carry") for _ in init]
    avals = [v.aval for v in eqn.outputs]
    inputs = [x.value_info(it, core.ShapedArray((), np.int64)),
              x.value_info(cond_in, core.ShapedArray((), np.bool_))]
    inputs += [x.value_info(n, a) for n, a in zip(carry_in, avals)]

    def emit():
        new = x.run_program(bprog, bc + carry_in)
        (c,) = x.run_program(cprog, cc + new)
        return [(c, core.ShapedArray((), np.bool_))] + list(zip(new, avals))

    graph = x.subgraph("while_body", inputs, emit)
    outs = x.node("Loop", ["", c0] + init, n_out=len(init), body=graph)
    return outs if isinstance(outs, list) else [outs]


@_rule("cond")
def _cond(x, frame, eqn):
    branches = [b.program if isinstance(b, ClosedProgram) else b
                for b in eqn.params["branches"]]
    index, *ops = eqn.inputs
    ops_n = [x.read(frame, a) for a in ops]
    avals = [v.aval for v in eqn.outputs]
    if len(branches) == 1:
        return x.run_program(branches[0], ops_n)
    idx = x.read(frame, index)
    dt = index.aval.dtype

    def branch(k):
        return x.subgraph(f"branch{k}", [], lambda: list(zip(x.run_program(branches[k], ops_n),
                                                              avals)))

    def nested(k):
        if k == len(branches) - 2:
            pred = x.node("LessOrEqual", [idx, x.scalar(k, dt)])
            return x.node("If", [pred], n_out=len(avals), then_branch=branch(k),
                          else_branch=branch(k + 1))
        pred = x.node("LessOrEqual", [idx, x.scalar(k, dt)])
        else_g = x.subgraph(f"else{k}", [], lambda: list(zip(_as_list(nested(k + 1)), avals)))
        return x.node("If", [pred], n_out=len(avals), then_branch=branch(k),
                      else_branch=else_g)

    return _as_list(nested(0))


def _as_list(v):
    return v if isinstance(v, list) else [v]


@_rule("const")
def _const(x, frame, eqn):
    value = np.asarray(eqn.params["value"].value, _out(eqn).aval.dtype)
    frame.values[_out(eqn).id] = value
    return x.const(value)
