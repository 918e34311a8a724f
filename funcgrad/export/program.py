"""The program an exporter writes: a function traced by `jit`, optimised, with the calls it
holds inlined, its captured constants (the weights) separated from its inputs, and, when
the batch is dynamic, every size that follows the batch marked.

Dynamic batch. The IR is static: every shape is a number. To export a program that runs at
any batch size, the function is traced at three batch sizes (the example's, when it is at
least 2, and two more) and the three programs are walked in parallel. They must have the
same structure; each size, shape parameter and literal that differs between them must be
an affine function of the batch, `a * batch + c` with integers a and c (`256` in a batch
norm over an 8x8 image is `64 * batch`, the `1/256` of its mean `1 / (64 * batch)`).
Such sizes become `BatchDim`s: ints equal to their value at the traced batch that also
carry (a, c), so every rule that only needs numbers keeps working while an exporter can
ask which sizes it must compute at run time. Anything else that varies with the batch
(a structure that changes, a size like `batch // 2`, a captured constant built from
`x.shape[0]`) is an `ExportError` that says so.
"""
from __future__ import annotations

import inspect
from dataclasses import dataclass

import numpy as np

from .. import core, dtypes
from ..core import ShapedArray
from ..ir import ClosedProgram, Eqn, Lit, Program, Var
from ..lowering.symbolic import SymAval
from ..prims import control
from ..prims import elementwise as ew


class ExportError(ValueError):
    """A function that cannot be exported as asked; the message names the operation, the
    shapes and dtypes involved and what to do instead."""


class BatchDim(int):
    """A size that follows the batch: its value at the traced batch, and `a`, `c` with
    size = a * batch + c at every batch."""

    def __new__(cls, value: int, a: int, c: int):
        self = super().__new__(cls, value)
        self.a = int(a)
        self.c = int(c)
        return self

    def __repr__(self):
        return f"BatchDim({int(self)}={self.text()})"

    def __str__(self):
        # How shapes print in messages: f32[batch,5] (the sizes at the traced batch are
        # an accident of the example).
        return self.text()

    def text(self, name: str = "batch") -> str:
        """`batch`, `64*batch`, `batch+1`: the size as a formula."""
        s = name if self.a == 1 else f"{self.a}*{name}"
        if self.c:
            s += f"{'+' if self.c > 0 else '-'}{abs(self.c)}"
        return s

    def key(self) -> tuple:
        """What identifies the size at every batch (its value at the traced one does not)."""
        return ("batch", self.a, self.c)

    def __reduce__(self):
        return (BatchDim, (int(self), self.a, self.c))


def same_size(x, y) -> bool:
    """Whether two sizes are the same at every batch (a static size never equals a
    `BatchDim`, even when their values agree at the traced batch)."""
    if isinstance(x, BatchDim) or isinstance(y, BatchDim):
        return isinstance(x, BatchDim) and isinstance(y, BatchDim) and x.key() == y.key()
    return int(x) == int(y)


def size_key(d):
    """A hashable key of a size: equal keys are equal sizes at every batch."""
    return d.key() if isinstance(d, BatchDim) else int(d)


def is_static(shape) -> bool:
    """Whether no size of `shape` follows the batch."""
    return not any(isinstance(d, BatchDim) for d in shape)


class BatchLit(Lit):
    """A literal that follows the batch: `value = a * batch + c`, or its reciprocal when
    `reciprocal` (the `1/n` of a mean over the batch)."""

    __slots__ = ("a", "c", "reciprocal")


@dataclass
class Port:
    """One input or output of an exported function."""
    name: str            # in0, in1, ... / out0, ...
    path: str            # where it sits in the Python arguments / results: x, params[0]['w']
    aval: ShapedArray    # shape may hold BatchDims
    dynamic: bool = False


@dataclass
class ExportProgram:
    """A traced function ready for an exporter. `program` is const-free; its invars are
    the weights (`consts`, as NumPy arrays) followed by the inputs."""
    name: str
    program: Program
    consts: list
    inputs: list
    outputs: list
    batch: int | None            # the traced batch of a dynamic program, else None
    example_batch: int | None    # the batch of the example arguments, when dynamic

    @property
    def n_consts(self) -> int:
        return len(self.consts)


_ALLOWED = dtypes.SUPPORTED


def _fun_name(f) -> str:
    return getattr(f, "__name__", type(f).__name__)


def _leaf_paths(f, args) -> list[str]:
    """A readable path for each leaf of `args` (`x`, `params[0][1]`)."""
    from ..tree_util import keystr, tree_flatten_with_path
    try:
        names = list(inspect.signature(f).parameters)
    except (TypeError, ValueError):
        names = []
    out = []
    for i, a in enumerate(args):
        base = names[i] if i < len(names) and not names[i].startswith("*") else f"arg{i}"
        for path, _ in tree_flatten_with_path(a)[0]:
            out.append(base + keystr(path))
    return out


def _result_paths(shapes) -> list[str]:
    """`result`, `result[0]`, `result['logits']`: where each output leaf sits."""
    from ..tree_util import keystr, tree_flatten_with_path
    return ["result" + keystr(path) for path, _ in tree_flatten_with_path(shapes)[0]]


def _as_leaf(x, path, what):
    if isinstance(x, (bool, int, float, np.generic)):
        return x
    if isinstance(x, (core.Array, np.ndarray)):
        dt = np.dtype(x.dtype)
        if dt not in _ALLOWED:
            raise ExportError(f"{what}: input {path} has dtype {dt}, which funcgrad does not "
                              f"support; pass one of {sorted(str(d) for d in _ALLOWED)}")
        return x
    raise ExportError(f"{what}: input {path} is a {type(x).__name__} ({x!r:.60}); example "
                      "arguments must be arrays or Python/NumPy scalars (pytrees of them)")


def _dynamic_leaves(args, leaves_per_arg, dynamic_batch, what) -> list[bool]:
    if dynamic_batch is True:
        marked = set(range(len(args)))
    elif dynamic_batch is False or dynamic_batch is None:
        marked = set()
    else:
        nums = (dynamic_batch,) if isinstance(dynamic_batch, int) else tuple(dynamic_batch)
        for n in nums:
            if not isinstance(n, int) or not -len(args) <= n < len(args):
                raise ExportError(f"{what}: dynamic_batch={dynamic_batch!r} must be True, False "
                                  f"or argument numbers of the {len(args)} example arguments")
        marked = {n % len(args) for n in nums}
    out = []
    for i, leaves in enumerate(leaves_per_arg):
        for x in leaves:
            out.append(i in marked and np.ndim(x) >= 1)
    return out


def trace(f, args, *, dynamic_batch=True, what="export") -> ExportProgram:
    """Trace `f(*args)` with `jit` and return the optimised program to export (see the
    module docstring for how a dynamic batch is found)."""
    from ..tree import tree_flatten, tree_unflatten
    args = tuple(args)
    if not args:
        raise ExportError(f"{what}: give example arguments, e.g. {what}(f, x) with x an "
                          "array of the input's shape and dtype")
    paths = _leaf_paths(f, args)
    per_arg = [tree_flatten(a)[0] for a in args]
    leaves, in_tree = tree_flatten(args)
    leaves = [_as_leaf(x, p, what) for x, p in zip(leaves, paths)]
    dyn = _dynamic_leaves(args, per_arg, dynamic_batch, what)
    if any(dyn):
        sizes = {np.shape(x)[0] for x, d in zip(leaves, dyn) if d}
        if len(sizes) > 1:
            shapes = ", ".join(f"{p}: {np.shape(x)}" for x, p, d in zip(leaves, paths, dyn) if d)
            raise ExportError(
                f"{what}: dynamic_batch marks the leading axis of every input as the batch, "
                f"but their leading sizes differ ({shapes}); pass dynamic_batch=(argnums of "
                "the batched arguments,) or dynamic_batch=False")
        example_batch = sizes.pop()
    else:
        example_batch = None

    def lower(batch):
        if batch is None or batch == example_batch:
            call_leaves = leaves
        else:
            call_leaves = [np.zeros((batch,) + tuple(np.shape(x))[1:], np.dtype(x.dtype))
                           if d else x for x, d in zip(leaves, dyn)]
        call_args = tree_unflatten(in_tree, call_leaves)
        from ..api import jit
        jitted = jit(f)
        lowered = jitted.lower(*call_args)
        prog = optimize(lowered.program)
        consts = [np.asarray(c) for c in lowered.consts]
        if not out_paths:
            out_paths.extend(_result_paths(jitted.eval_shape(*call_args)))   # (no retrace)
        return prog, consts, prog.out_avals

    out_paths: list[str] = []

    name = _fun_name(f)
    if example_batch is None:
        prog, consts, _ = lower(None)
        batch = None
    else:
        batch = max(example_batch, 2)
        batches = (batch, batch + 1, batch + 3)
        traced = [lower(b) for b in batches]
        nconst = {len(t[1]) for t in traced}
        if len(nconst) > 1:
            raise ExportError(f"{what}({name}): the function captures a different number of "
                              f"constants at batch sizes {batches}: it depends on the batch "
                              "size beyond shapes; export with dynamic_batch=False")
        for k, cs in enumerate(zip(*[t[1] for t in traced])):
            if any(c.shape != cs[0].shape or not np.array_equal(c, cs[0], equal_nan=True)
                   for c in cs[1:]):
                raise ExportError(
                    f"{what}({name}): captured constant {k} ({cs[0].dtype}{list(cs[0].shape)}) "
                    f"changes with the batch size (shapes {[c.shape for c in cs]}): it was "
                    "probably built from x.shape[0] in NumPy; compute it with funcgrad "
                    "operations on the input, or export with dynamic_batch=False")
        prog = _symbolize([t[0] for t in traced], batches, what, name)
        consts = traced[0][1]
    nconst = len(consts)
    inputs = []
    for k, (v, p, d) in enumerate(zip(prog.invars[nconst:], paths, dyn)):
        if d and not isinstance(v.aval.shape[0], BatchDim):
            raise ExportError(f"{what}({name}): input {p} is marked dynamic but its leading "
                              "size does not follow the batch")
        inputs.append(Port(f"in{k}", p, v.aval, d))
    if len(out_paths) != len(prog.outvars):
        out_paths = [f"result{k}" for k in range(len(prog.outvars))]
    outputs = [Port(f"out{k}", p, v.aval) for k, (v, p) in enumerate(zip(prog.outvars,
                                                                          out_paths))]
    return ExportProgram(name, prog, consts, inputs, outputs, batch, example_batch)


# ---------------------------------------------------------------------------------------
# Inlining and optimisation


_INLINE = (control.jit_p, control.remat_p, control.custom_jvp_call_p,
           control.custom_vjp_call_p)


def inline_all(program: Program) -> Program:
    """Inline calls (`jit`, `remat`, and the primal programs of `custom_jvp_call` and
    `custom_vjp_call`: an exported model runs forward only) and drop `stop_gradient`,
    recursively inside loop bodies and branches."""
    env: dict[int, object] = {}

    def sub(a):
        return env.get(a.id, a) if isinstance(a, Var) else a

    eqns: list[Eqn] = []
    for eqn in program.eqns:
        ins = [sub(a) for a in eqn.inputs]
        if eqn.prim in _INLINE:
            inner = inline_all(eqn.params["program"])
            ienv: dict[int, object] = {v.id: a for v, a in zip(inner.invars, ins)}

            def isub(a, ienv=ienv):
                return ienv.get(a.id, a) if isinstance(a, Var) else a

            for e in inner.eqns:
                outs = [Var(v.aval) for v in e.outputs]
                ienv.update({v.id: nv for v, nv in zip(e.outputs, outs)})
                eqns.append(Eqn(e.prim, [isub(a) for a in e.inputs], e.params, outs))
            for v, o in zip(eqn.outputs, inner.outvars):
                env[v.id] = isub(o)
            continue
        if eqn.prim is ew.stop_gradient_p and eqn.outputs[0].aval.shape == ins[0].aval.shape:
            env[eqn.outputs[0].id] = ins[0]
            continue
        params = {k: _inline_param(v) for k, v in eqn.params.items()}
        eqns.append(Eqn(eqn.prim, ins, params, eqn.outputs))
    return Program(program.constvars, program.invars, eqns, [sub(v) for v in program.outvars])


def _inline_param(v):
    if isinstance(v, Program):
        return inline_all(v)
    if isinstance(v, ClosedProgram):
        return ClosedProgram(inline_all(v.program), v.consts)
    if isinstance(v, tuple) and v and all(isinstance(p, (Program, ClosedProgram)) for p in v):
        return tuple(_inline_param(p) for p in v)
    return v


def optimize(program: Program) -> Program:
    """funcgrad's IR passes (what `jit(f).lower(x).optimized_program()` shows) after
    inlining every call."""
    from ..lowering import passes
    return passes.optimize(inline_all(passes.optimize(program)))


# ---------------------------------------------------------------------------------------
# Finding the sizes that follow the batch


class _Mismatch(Exception):
    pass


def _symbolize(progs, batches, what, name) -> Program:
    b0, b1, b2 = batches

    def fit(vals, where):
        v0, v1, v2 = (int(v) for v in vals)
        if v0 == v1 == v2:
            return v0
        a, r = divmod(v1 - v0, b1 - b0)
        c = v0 - a * b0
        if r or a * b2 + c != v2:
            raise ExportError(
                f"{what}({name}): {where} is {v0}, {v1}, {v2} at batch sizes {b0}, {b1}, "
                f"{b2}: not a * batch + c, so it cannot follow a dynamic batch; export with "
                "dynamic_batch=False (a fixed batch)")
        return BatchDim(v0, a, c)

    def eqn_text(e):
        ins = ", ".join(a.aval.short() for a in e.inputs)
        return f"{e.prim.name}({ins})"

    env: dict[int, Var] = {}

    def binders(vss, where):
        lens = {len(vs) for vs in vss}
        if len(lens) > 1:
            raise _Mismatch(where)
        out = []
        for vs in zip(*vss):
            if len({(v.aval.ndim, v.aval.dtype) for v in vs}) > 1:
                raise _Mismatch(where)
            shape = tuple(fit(ds, f"axis {i} of {where} ({vs[0].aval.short()})")
                          for i, ds in enumerate(zip(*[v.aval.shape for v in vs])))
            aval = vs[0].aval
            nv = Var(SymAval(shape, aval.dtype, aval.weak_type) if not is_static(shape)
                     else aval)
            for v in vs:
                env[v.id] = nv
            out.append(nv)
        return out

    def atoms(xss, where):
        if len({len(xs) for xs in xss}) > 1:
            raise _Mismatch(where)
        out = []
        for xs in zip(*xss):
            kinds = {isinstance(x, Lit) for x in xs}
            if len(kinds) > 1:
                raise _Mismatch(where)
            if isinstance(xs[0], Lit):
                out.append(_fit_lit(xs, batches, where, what, name))
            else:
                out.append(env[xs[0].id])
        return out

    def walk(ps, where):
        invars = binders([p.invars for p in ps], f"an input of {where}")
        if len({len(p.eqns) for p in ps}) > 1 or len({len(p.constvars) for p in ps}) > 1:
            raise _Mismatch(where)
        eqns = []
        for k, es in enumerate(zip(*[p.eqns for p in ps])):
            e0 = es[0]
            here = f"equation {k} of {where}, {eqn_text(e0)}"
            if any(e.prim is not e0.prim or e.params.keys() != e0.params.keys() for e in es):
                raise _Mismatch(here)
            ins = atoms([e.inputs for e in es], here)
            params = {key: param([e.params[key] for e in es], f"parameter {key} of {here}")
                      for key in e0.params}
            outs = binders([e.outputs for e in es], f"the output of {here}")
            eqns.append(Eqn(e0.prim, ins, params, outs))
        outvars = atoms([p.outvars for p in ps], f"the outputs of {where}")
        return Program([], invars, eqns, outvars)

    def param(vs, where):
        v0 = vs[0]
        if isinstance(v0, Program):
            return walk(vs, where)
        if isinstance(v0, ClosedProgram):
            return ClosedProgram(walk([v.program for v in vs], where), v0.consts)
        if isinstance(v0, (bool, np.bool_)):
            if any(v != v0 for v in vs):
                raise _Mismatch(where)
            return v0
        if isinstance(v0, (int, np.integer)):
            return fit(vs, where)
        if isinstance(v0, (tuple, list)):
            if any(not isinstance(v, type(v0)) or len(v) != len(v0) for v in vs):
                raise _Mismatch(where)
            items = [param(list(x), where) for x in zip(*vs)]
            if isinstance(v0, tuple) and hasattr(v0, "_fields"):
                return type(v0)(*items)
            return type(v0)(items)
        if isinstance(v0, control._ConstValue):
            if any(v.value.shape != v0.value.shape or
                   not np.array_equal(v.value, v0.value, equal_nan=True) for v in vs[1:]):
                raise _Mismatch(where)
            return v0
        if callable(v0) and not isinstance(v0, type):
            return v0        # rules of derivatives or callbacks: not part of what runs
        try:
            same = bool(all(v == v0 for v in vs[1:]))
        except (TypeError, ValueError):     # values without a plain ==, e.g. arrays
            same = all(v is v0 for v in vs[1:])
        if not same:
            raise _Mismatch(where)
        return v0

    try:
        return walk(progs, f"{name}")
    except _Mismatch as e:
        raise ExportError(
            f"{what}({name}): the traced program differs in structure at batch sizes "
            f"{batches} (at {e.args[0]}): the function computes something else when the "
            "batch changes, not only on bigger arrays; export with dynamic_batch=False "
            "(one fixed batch size)") from None


def _fit_lit(xs, batches, where, what, name):
    x0 = xs[0]
    vals = [np.asarray(x.val) for x in xs]
    if all(v.tobytes() == vals[0].tobytes() for v in vals[1:]):
        return x0
    b0, b1, b2 = batches
    fl = [float(v) for v in vals]
    for reciprocal in (False, True):
        if reciprocal:
            if any(v == 0 for v in fl):
                continue
            ys = [1.0 / v for v in fl]
        else:
            ys = fl
        r = [round(y) for y in ys]
        if any(abs(y - q) > 1e-3 * max(1.0, abs(q)) for y, q in zip(ys, r)):
            continue
        a, rem = divmod(r[1] - r[0], b1 - b0)
        c = r[0] - a * b0
        if rem or a * b2 + c != r[2]:
            continue
        lit = BatchLit(x0.val, x0.aval, x0.symbolic_zero)
        lit.a, lit.c, lit.reciprocal = a, c, reciprocal
        return lit
    raise ExportError(
        f"{what}({name}): the literal {fl[0]!r} in {where} is {fl} at batch sizes "
        f"{list(batches)}: it depends on the batch in a way an export cannot follow "
        "(only a*batch+c and 1/(a*batch+c) can); export with dynamic_batch=False")
