"""Transform stacks on top of a program, the expected results of one call, and the
comparison of funcgrad's results against them.

An `Entry` is a program plus a `Stack` of transforms: inner wrappers (`checkpoint`, `jit`,
`jit` with static scalar arguments, `jit` with donation), an optional `vmap` with random
`in_axes`/`out_axes` (inside or outside a derivative), and an optional derivative (`grad`,
`value_and_grad`, `jvp`, `vjp`) of the program's float outputs with respect to its float
inputs. Expected values come from the NumPy oracle (program.evaluate); derivatives are
checked against float64 central differences of the oracle, skipped where the one-sided
differences disagree (a kink or a jump) or where the forward pass saw a non-finite value
(JAX's gradients may then legitimately be NaN, e.g. through the untaken side of `where`).
"""
from __future__ import annotations

import dataclasses
import math

import numpy as np
from hypothesis import strategies as st

from .program import EPS, TINY, Ctx, Perturb, Program, evaluate, render, slice_program, to_oracle
from .values import NP, finfo, gen_values, is_float
from .values import kind as dtype_kind

N_PERTURBED = 3
SPREAD_FACTOR = 4.0
RTOL = {"float16": 2 * EPS["float16"], "bfloat16": 2 * EPS["bfloat16"],
        "float32": 2 * EPS["float32"], "float64": 4 * EPS["float64"]}
GRAD_RTOL = {"float16": 5e-2, "bfloat16": 2e-1, "float32": 2e-3, "float64": 1e-6}


FD_H = 1e-5
FD_SMALL = 1 / 16
# multiples of FD_H at which the oracle is evaluated for a central difference
FD_STEPS = (-2, -1, -FD_SMALL, 0, FD_SMALL, 1, 2)


def _central_difference(v: dict):
    """The central difference of the oracle values `v[t]` (at t * FD_H), whether the
    function looks smooth there, and the scale of its slopes (all elementwise).

    Smooth means the one-sided differences agree at two step sizes, and the central ones at
    two spans. The small step catches a kink the large one steps over: sorted values that
    tie exactly at t = 0 while a third value crosses them within one step lie on one
    straight line at t = -2..2 (vmap(jvp(sort)), seed 88), not at +-FD_SMALL."""
    h, hs = FD_H, FD_SMALL * FD_H
    dc1 = (v[1] - v[-1]) / (2 * h)
    dc2 = (v[2] - v[-2]) / (4 * h)
    dl = (v[0] - v[-1]) / h
    dr = (v[1] - v[0]) / h
    dls = (v[0] - v[-FD_SMALL]) / hs
    drs = (v[FD_SMALL] - v[0]) / hs
    s = np.maximum(np.maximum(np.abs(dl), np.abs(dr)), np.maximum(np.abs(dc1), 1e-8))
    smooth = ((np.abs(dl - dr) <= 2e-3 * s + 1e-6) & (np.abs(dc1 - dc2) <= 1e-4 * s + 1e-7) &
              (np.abs(dls - drs) <= 2e-3 * s + 1e-5) & (np.abs(dls - dc1) <= 2e-3 * s + 1e-5))
    return dc1, smooth, s


def _truncation(v: dict):
    """A bound on the truncation error of the central difference `dc1` of
    `_central_difference` (elementwise): |dc1 - dc2|, three times dc1's h^2/6 times the
    third derivative (dc2's span is twice dc1's, its error four times). A function with
    a large third derivative has a float64 tangent whose central difference is off by more
    than GRAD_RTOL's 1e-6 although it looks smooth (seed 20261909: the tangent of
    x^2 / (logsumexp(cosh(x^2)^2)^2 + 0.5), off by 1.2e-4 relative; JAX and funcgrad
    agree to 3e-13)."""
    h = FD_H
    return np.abs((v[1] - v[-1]) / (2 * h) - (v[2] - v[-2]) / (4 * h))


# ulps of float64 rounding in an oracle value the central differences difference: its last
# op's own rounding, and the loss's weighting of it (see fd_noise)
FD_ULPS = 4


def fd_noise(mag) -> np.ndarray:
    """What a float64 central difference (step FD_H) of values of magnitude `mag` cannot
    resolve: each value is rounded to float64, off by up to FD_ULPS * EPS * mag, so the
    difference of two of them over 2 * FD_H is off by up to FD_ULPS * EPS * mag / FD_H,
    however smooth the function is. A slope below that may read as anything, e.g. as 0.0
    where the values round alike (exp2(logaddexp2(x, 100)) = 2**x + 2**100 is flat in
    float64, seed 1515 #2; a tangent of 9e-8 of tanh near 1 is known to about 1e-10, seed
    1515 #3). The smoothness test cannot see it: jitter that small is below its floors."""
    with np.errstate(over="ignore", invalid="ignore"):
        return FD_ULPS * EPS["float64"] * np.abs(np.asarray(mag, np.float64)) / FD_H


def loss_in_range(magnitude: float, dtype: str) -> bool:
    """Whether a loss whose terms add up to `magnitude` in absolute value is summed in
    `dtype` without a partial sum that may overflow (see build_case)."""
    return bool(magnitude < 0.5 * float(finfo(NP[dtype]).max))


def tangent_in_range(dc, dtype: str) -> np.ndarray:
    """Where a float64 central difference `dc` is well inside `dtype`'s range. A tangent
    near or past the largest value overflows there (to +-inf, as in JAX), so the difference
    says nothing about the dtype's result (expm1(88) * 57.3 * v in float32; seed 123)."""
    with np.errstate(invalid="ignore"):
        return np.abs(dc) < 0.25 * float(finfo(NP[dtype]).max)


def _steep(v: dict, dtype: str) -> np.ndarray:
    """Where the oracle values `v[t]` (at t * FD_H) have a slope past `dtype`'s range on
    both sides at both step sizes (a jump passes that only on one side; a value whose
    tangent is so large need not look smooth over a step, e.g. a carry squared 9 times)."""
    h, hs = FD_H, FD_SMALL * FD_H
    lim = 0.25 * float(finfo(NP[dtype]).max)
    out = np.ones(np.shape(v[0]), bool)
    for d in ((v[0] - v[-1]) / h, (v[1] - v[0]) / h, (v[0] - v[-FD_SMALL]) / hs,
              (v[FD_SMALL] - v[0]) / hs):
        out &= np.abs(d) >= lim
    return out


def overflowed(prog: Program, fd: dict, base: dict) -> dict:
    """The elements of the top-level values of `prog` that left its float dtype's range in
    the oracle's forward pass, by name (only names with some): `fd` maps the steps t of
    FD_STEPS to a float64 run's env at t * FD_H, `base` is the dtype's run (program.Ctx.round).

    A value left the range where its float64 value is not well inside it (tangent_in_range),
    or is +-inf while its op's operands are all finite, or the dtype's run has +-inf or NaN
    where float64 has a finite value, or where its float64 tangent is not well inside it
    (_steep). The dtype's tangents through such a value are
    products with +-inf (or inf - inf, inf * 0): +-inf or NaN, as in JAX, although the
    output's float64 central difference may be finite. A reverse scan squaring a carry
    (c * c + 0.5) gives log2(v * v + 0.25) a tangent 2 v dv / (v * v + 0.25) whose
    numerator (1.3e41) overflows float32 while v * v (2.5e38) does not, so JAX gives -inf
    where the central difference is -726.8; log_sigmoid of a carry squared past the range
    has tangent sigmoid(-inf) * inf = NaN, where the central difference is 0.0 (seed
    20261302). A value inside the range in both runs, with its tangent inside it too, does
    not excuse a non-finite tangent."""
    out = {}
    for op in prog.ops:
        args = [fd[0].get(a) for a in op.args if isinstance(a, str)]
        operands_finite = all(
            np.all(np.isfinite(np.asarray(a, np.float64))) for a in args
            if a is not None and np.asarray(a).dtype.kind == "f")
        for name, t in zip(op.outs, op.types):
            if not is_float(t.dtype) or name not in fd[0]:
                continue
            vals = {s: np.asarray(fd[s][name], np.float64) for s in FD_STEPS}
            v0 = vals[0]
            with np.errstate(all="ignore"):
                fin = np.isfinite(v0)
                left = fin & ~tangent_in_range(v0, t.dtype)
                if operands_finite:
                    left |= np.isinf(v0)
                b = base.get(name)
                if b is not None and np.shape(b) == v0.shape:
                    left |= fin & ~np.isfinite(np.asarray(b, np.float64))
                left |= fin & _steep(vals, t.dtype)
            if np.any(left):
                out[name] = left
    return out


def singular(prog: Program, base: dict) -> dict:
    """The top-level values of `prog` computed by an op at a point where its derivative is
    infinite or undefined although its value is finite (ops.SINGULAR: sqrt at 0, std of a
    constant slice), by name, every element: JAX's tangents through them are NaN or inf
    (0 * inf from the chain rule) where the central difference is finite. Seed 20261913:
    nanstd of an all-zero (constant) slice has tangent NaN in JAX 0.10.2 and funcgrad
    where the central difference is 0.0."""
    from .ops import OPS
    out = {}
    for op in prog.ops:
        spec = OPS[op.name]
        if spec.singular is None or any(isinstance(a, str) and a not in base for a in op.args):
            continue
        args = [base[a] if isinstance(a, str) else a.value for a in op.args]
        outs = [base.get(o) for o in op.outs]
        if any(o is None for o in outs):
            continue
        with np.errstate(all="ignore"):
            hit = spec.singular(args, outs)
        if hit:
            for name, t in zip(op.outs, op.types):
                if is_float(t.dtype):
                    out[name] = np.ones(np.shape(base[name]), bool)
    return out


@dataclasses.dataclass
class Stack:
    inner: tuple = ()            # ("ckpt",), ("jit",), ("jit_static",), ("jit_donate", i)
    vmap: dict | None = None     # in_axes, out_axes, size, outer
    deriv: str | None = None     # grad, value_and_grad, jvp, vjp

    def describe(self) -> str:
        parts = [x[0] for x in self.inner]
        if self.vmap is not None:
            parts.append("vmap(outer)" if self.vmap["outer"] else "vmap")
        if self.deriv:
            parts.append(self.deriv)
        return "+".join(parts) or "plain"


@dataclasses.dataclass
class Entry:
    prog: Program
    stack: Stack
    seed: int = 0         # values of the aux arrays (weights, directions)


def float_args(prog: Program) -> list[int]:
    return [i for i, inp in enumerate(prog.inputs)
            if is_float(inp.type.dtype) and inp.kind == "array"]


def float_outs(prog: Program) -> list[int]:
    return [j for j, o in enumerate(prog.outputs) if is_float(prog.types[o].dtype)]


def slice_entry(e: Entry, keep: list[int]) -> Entry:
    """`e` with its program cut down to the outputs `keep` (see program.slice_program); the
    stack's per-input parts follow the inputs that remain."""
    prog = slice_program(e.prog, keep)
    kept = [i for i, inp in enumerate(e.prog.inputs) if inp in prog.inputs]
    inner = []
    for layer in e.stack.inner:
        if layer[0] == "jit_donate":
            layer = ("jit_donate", kept.index(layer[1])) if layer[1] in kept else ("jit",)
        if layer[0] == "jit_static" and not prog.scalar_params():
            layer = ("jit",)
        inner.append(layer)
    vmap = e.stack.vmap
    if vmap is not None:
        axes = tuple(vmap["in_axes"][i] for i in kept)
        if not axes or all(a is None for a in axes):
            return e
        vmap = dict(vmap, in_axes=axes)
    if e.stack.deriv is not None and not (float_args(prog) and float_outs(prog)):
        return e
    return Entry(prog, Stack(tuple(inner), vmap, e.stack.deriv), e.seed)


@st.composite
def stacks(draw, prog: Program, mode: str):
    """A random transform stack valid for `prog` in `mode`."""
    inner = []
    has_params = bool(prog.scalar_params())
    # Inner jits compile their own module when the batch runs eagerly: keep them rare.
    n_layers = draw(st.sampled_from([0, 0, 0, 0, 0, 0, 1, 1, 2]))
    for _ in range(n_layers):
        kind = draw(st.sampled_from(["ckpt", "jit", "ckpt", "jit_static", "jit_donate"]))
        if kind == "jit_static" and not has_params:
            kind = "jit"
        if kind == "jit_donate":
            if mode == "grad" or not prog.inputs:
                kind = "jit"
            else:
                inner.append(("jit_donate", draw(st.integers(0, len(prog.inputs) - 1))))
                continue
        inner.append((kind,))
    deriv = None
    if mode == "grad" and float_args(prog) and float_outs(prog):
        deriv = draw(st.sampled_from(["grad", "value_and_grad", "jvp", "vjp"]))
    vmap = None
    if prog.inputs and draw(st.integers(0, 99)) < 30:
        axes = []
        for inp in prog.inputs:
            r = inp.type.rank
            axes.append(draw(st.sampled_from([0, None, -1, r, -(r + 1), min(1, r)])))
        if all(a is None for a in axes):
            axes[0] = 0
        outer = deriv == "grad" and draw(st.booleans())
        if outer:
            fa = float_args(prog)
            axes = [a if i in fa else None for i, a in enumerate(axes)]
            if all(a is None for a in axes):
                axes[fa[0]] = 0
        vmap = {"in_axes": tuple(axes), "out_axes": draw(st.sampled_from([0, -1])),
                "size": draw(st.sampled_from([2, 1, 3, 5])), "outer": outer}
    # A static argument must stay a Python value: jit_static is the outermost inner layer
    # (checkpoint or jit around it would pass it a tracer, which JAX rejects too).
    if any(k[0] == "jit_static" for k in inner[:-1]):
        inner = [k if k[0] != "jit_static" else ("jit",) for k in inner[:-1]] + inner[-1:]
    if any(k[0] == "jit_donate" for k in inner) and (vmap is not None or deriv is not None):
        inner = [k if k[0] != "jit_donate" else ("jit",) for k in inner]
    return Stack(tuple(inner), vmap, deriv)


# ---------------------------------------------------------------------------------------
# Source of one entry: the program, its wrappers, and `t_<k>(args, aux)`

def entry_source(e: Entry, k: int) -> list[str]:
    prog = e.prog
    name = f"prog_{k}"
    lines = render(dataclasses.replace(prog, name=name))
    names = [i.name for i in prog.inputs]
    params = prog.scalar_params()
    nargs = len(names)
    f = name
    for layer in e.stack.inner:
        g = f"{f}_w"
        if layer[0] == "ckpt":
            lines.append(f"{g} = fg.checkpoint({f})")
        elif layer[0] == "jit":
            lines.append(f"{g} = fg.jit({f})")
        elif layer[0] == "jit_static":
            nums = tuple(range(nargs, nargs + len(params)))
            lines.append(f"{g} = fg.jit({f}, static_argnums={nums!r})")
        else:
            lines.append(f"{g} = fg.jit({f}, donate_argnums=({layer[1]},))")
        f = g
    call_extra = "".join(f", {v!r}" if not isinstance(v, float) or np.isfinite(v) else
                         f", float({str(v)!r})" for _, v in params)
    arglist = ", ".join(names)
    body = [f"def t_{k}(args, aux):"]
    if names:
        body.append(f"    {arglist}, = args")
    st_ = e.stack
    call = f"{f}({arglist}{call_extra})"
    if st_.vmap is not None and not st_.vmap["outer"]:
        vm = st_.vmap
        body.append(f"    fb = fg.vmap(lambda {arglist}: {call}, in_axes={vm['in_axes']!r}, "
                    f"out_axes={vm['out_axes']})")
        call = f"fb({arglist})"
    if st_.deriv is None:
        body.append(f"    return {call}")
        return lines + body
    fa = [names[i] for i in float_args(prog)]
    fo = float_outs(prog)
    fa_list = ", ".join(fa)
    body.append(f"    def ff({fa_list}):")
    body.append(f"        o = {call}")
    body.append(f"        return ({', '.join(f'o[{j}]' for j in fo)},)")
    terms = " + ".join(f"fnp.sum(fnp.where(aux['m'][{i}], o[{i}], 0.0) * aux['w'][{i}])"
                       for i in range(len(fo)))
    body.append(f"    def loss({fa_list}):")
    body.append(f"        o = ff({fa_list})")
    body.append(f"        return {terms}")
    argnums = tuple(range(len(fa)))
    d = st_.deriv
    if d == "grad" and st_.vmap is not None and st_.vmap["outer"]:
        axes = tuple(st_.vmap["in_axes"][i] for i in float_args(prog))
        body.append(f"    return fg.vmap(fg.grad(loss, argnums={argnums!r}), in_axes={axes!r})"
                    f"({fa_list})")
    elif d == "grad":
        body.append(f"    return fg.grad(loss, argnums={argnums!r})({fa_list})")
    elif d == "value_and_grad":
        body.append(f"    return fg.value_and_grad(loss, argnums={argnums!r})({fa_list})")
    elif d == "jvp":
        body.append(f"    return fg.jvp(ff, ({fa_list},), tuple(aux['v']))")
    else:
        body.append(f"    o, fv = fg.vjp(ff, {fa_list})")
        cts = ", ".join(f"fnp.where(aux['m'][{i}], aux['w'][{i}], 0.0)" for i in range(len(fo)))
        body.append(f"    return o, fv(({cts},))")
    return lines + body


# ---------------------------------------------------------------------------------------
# Expected values

@dataclasses.dataclass
class ValueExpect:
    """One array: oracle value, dtype, per-element tolerance and a mask of elements whose
    class (NaN / +-Inf / finite, or integer value) is stable under perturbation."""
    value: np.ndarray
    dtype: str
    tol: np.ndarray
    stable: np.ndarray
    what: str = "value"
    chaotic: np.ndarray | None = None
    # tangents: elements that may be +-inf or NaN (an intermediate left the dtype's range;
    # see overflowed), finite ones still compared
    nonfinite_ok: np.ndarray | None = None


@dataclasses.dataclass
class DirExpect:
    """A tuple of gradients: <g, v> must match the central difference `dc` (per batch
    element when `batch_axis` is set)."""
    dirs: list            # per batch element: list of direction arrays (one per float arg)
    dcs: list             # per batch element: float or None (not smooth there)
    scale: list
    dtype: str
    batch_axis: int | None = None
    nonfinite_ok: bool = False
    noise: list | None = None    # per batch element: the central difference's resolution


@dataclasses.dataclass
class Case:
    """One call of an entry at one instance: arguments and the expected output tree."""
    args: tuple
    aux: dict
    expect: object
    nonfinite_ok: bool = False


def _classes(a: np.ndarray) -> np.ndarray:
    if a.dtype.kind != "f":
        return a
    return np.where(np.isnan(a), 1, np.where(a == np.inf, 2, np.where(a == -np.inf, 3, 0)))


def spread_factor(prog: Program) -> float:
    """How much the sampled spread is scaled up: each perturbed run gives every op a random
    sign, so along a chain of n ops the errors add like sqrt(n) in a run, but up to n
    when they happen to agree."""
    return SPREAD_FACTOR * max(1.0, math.sqrt(prog.size() / 6.0))


def value_expect(base: np.ndarray, perturbed: list, dtype: str, what="value",
                 factor: float = SPREAD_FACTOR, extremes: list = ()) -> ValueExpect:
    base = np.asarray(base)
    stable = np.ones(base.shape, bool)
    cls = _classes(base)
    spread = np.zeros(base.shape, np.float64)
    for p in perturbed:
        p = np.asarray(p)
        stable &= _classes(p) == cls
        if base.dtype.kind == "f":
            with np.errstate(invalid="ignore"):
                d = np.where(cls == 0, np.abs(p - base), 0.0)
            spread = np.maximum(spread, np.nan_to_num(d, nan=np.inf))
    if is_float(dtype):
        mag = np.abs(np.where(cls == 0, base, 0.0))
        with np.errstate(over="ignore", invalid="ignore"):
            tol = TINY[dtype] + RTOL[dtype] * mag + factor * spread
        # An output that moves by a quarter of its own size when every op errs by a few
        # ulps (sin of a huge argument, a difference of nearly equal values) is chaotic:
        # three perturbed runs underestimate its spread, so only gross errors count.
        chaotic = spread > 0.25 * mag
        with np.errstate(over="ignore", invalid="ignore"):
            tol = np.where(chaotic, 16 * spread + 2 * mag + TINY[dtype], tol)
    else:
        tol = np.zeros(base.shape)
        chaotic = np.zeros(base.shape, bool)
    for p in extremes:
        # The runs where every op errs the same way: an element whose class changes there,
        # or which moves by more than the tolerance sampled from the random runs, is not
        # determined by the error model (a jump between corners of the error box, e.g.
        # ceil of a value within an ulp of an integer): it is not compared.
        p = np.asarray(p)
        stable &= _classes(p) == cls
        if base.dtype.kind == "f" and is_float(dtype):
            with np.errstate(invalid="ignore"):
                d = np.nan_to_num(np.where(cls == 0, np.abs(p - base), 0.0), nan=np.inf)
            stable &= d <= tol
    return ValueExpect(base, dtype, tol, stable, what, chaotic)


def _batched_inputs(prog: Program, inst: int, vm: dict | None):
    """Per batch element input dicts (one when unbatched) and the stacked arguments."""
    base = {i.name: i.values(prog.dims, inst) for i in prog.inputs}
    if vm is None:
        return [base], [base[i.name] for i in prog.inputs]
    size = vm["size"]
    per_b = [dict(base) for _ in range(size)]
    args = []
    for inp, ax in zip(prog.inputs, vm["in_axes"]):
        if ax is None:
            args.append(base[inp.name])
            continue
        vals = []
        for bi in range(size):
            if bi == 0:
                v = base[inp.name]
            elif inp.kind == "index":
                v = inp.index_draw(prog.dims, inst, inp.seed + 7919 * bi)
            else:
                v = gen_values(prog.dims.shape(inp.type.dims, inst), inp.type.dtype, inp.style,
                               inp.seed + 7919 * bi, inst)
                if inp.kind == "nonzero":
                    v = np.where(v == 0, 3, v).astype(v.dtype)
            per_b[bi][inp.name] = v
            vals.append(v)
        args.append(np.stack(vals, axis=ax))
    return per_b, args


def _run_oracle(prog: Program, inputs: dict, inst: int, perturb=None, exact=False,
                envs=None, poison=None, base=None):
    ctx = Ctx(prog.dims, inst, perturb, exact)
    ctx.base = base
    if poison:
        ctx.poison = (prog, poison)
    env = {k: to_oracle(v) for k, v in inputs.items()}
    outs = evaluate(prog, env, ctx)
    if envs is not None:
        envs.append(env)
    return outs, ctx.nonfinite


def _stack_out(per_b: list, axis: int) -> np.ndarray:
    return np.stack(per_b, axis=axis)


def args_only_case(e: Entry, inst: int) -> Case:
    """The arguments of a call without expected results (aux arrays are zeros of the right
    types; enough to reproduce an exception)."""
    if e.stack.deriv is None:
        _, args = _batched_inputs(e.prog, inst, e.stack.vmap)
        return Case(tuple(args), {}, None)
    c = build_case(e, inst, e.seed)
    return Case(c.args, c.aux, None)


def build_case(e: Entry, inst: int, seed: int) -> Case:
    """Arguments and expected results of `t_k(args, aux)` at instance `inst`."""
    prog = e.prog
    st_ = e.stack
    vm = st_.vmap
    per_b, args = _batched_inputs(prog, inst, vm)
    rng = np.random.default_rng([seed, inst, 99])
    out_types = [prog.types[o] for o in prog.outputs]

    base_envs: list = []

    def eval_all(perturb_seed=None, exact=False, inputs=None, envs=None, sign=None,
                 poison=None):
        """Outputs (batched along out_axes when vmapped inside) and the nonfinite flag
        (`poison`: per batch element, values set to NaN, see overflow_reach)."""
        rows = []
        nonfinite = False
        for bi, inp in enumerate(inputs if inputs is not None else per_b):
            # Consecutive perturbed runs give NaNs opposite signs (see Perturb); each sees
            # the base run's values, to give up on values that lost all accuracy.
            pert = (Perturb(perturb_seed * 131 + bi, base=base_envs[bi], sign=sign,
                            nan_sign=sign if isinstance(sign, float) else
                            (-1.0) ** perturb_seed)
                    if perturb_seed is not None else None)
            outs, nf = _run_oracle(prog, inp, inst, pert, exact, envs,
                                   poison[bi] if poison is not None else None,
                                   base_envs[bi] if exact and bi < len(base_envs) else None)
            rows.append(outs)
            nonfinite |= nf
        if vm is None or vm["outer"]:
            return rows, nonfinite
        ax = vm["out_axes"]
        return [[_stack_out([r[j] for r in rows], ax) for j in range(len(out_types))]], \
            nonfinite

    base, nonfinite = eval_all(envs=base_envs)
    perturbed = [eval_all(perturb_seed=seed * 10 + r + 1)[0] for r in range(N_PERTURBED)]
    # the same-sign corners, and corners where the ops' signs follow the bits of their
    # order (Perturb: any two ops err in opposite directions in one of them)
    bits = [("bit", k) for k in range(max(1, math.ceil(math.log2(max(2, prog.size())))))]
    extremes = [eval_all(perturb_seed=seed * 10, sign=sign)[0] for sign in (1.0, -1.0, *bits)]

    def out_expect(j, what="value", row=0):
        return value_expect(base[row][j], [p[row][j] for p in perturbed], out_types[j].dtype,
                            what, factor=spread_factor(prog),
                            extremes=[p[row][j] for p in extremes])

    if st_.deriv is None:
        expect = tuple(out_expect(j) for j in range(len(out_types)))
        if vm is not None and vm["outer"]:
            raise AssertionError("outer vmap needs grad")
        return Case(tuple(args), {}, expect)

    fa = float_args(prog)
    fo = float_outs(prog)
    # Weights and masks of the loss: finite, stable outputs only.
    w, m = [], []
    for j in fo:
        ve_rows = [out_expect(j, row=r) for r in range(len(base))]
        shape = ve_rows[0].value.shape
        ok = np.ones(shape, bool)
        for ve in ve_rows:
            ok &= ve.stable & np.isfinite(ve.value) & ~ve.chaotic
        dt = NP[out_types[j].dtype]
        w.append(rng.standard_normal(shape).astype(dt))
        m.append(ok)

    def direction(shape, dtype):
        return rng.standard_normal(shape).astype(NP[dtype])

    def loss_of(outs):
        """The loss of the oracle's outputs (rows of them): their masked, weighted sum."""
        total = 0.0
        for row in outs:
            for i, j in enumerate(fo):
                with np.errstate(all="ignore"):
                    total += float(np.sum(np.where(m[i], row[j], 0.0) * w[i].astype(np.float64)))
        return total

    def loss_at(inputs_rows, exact=True):
        outs, nf = eval_all(exact=exact, inputs=inputs_rows)
        return loss_of(outs), nf

    def shifted(rows, dirs, t):
        out = []
        for bi, row in enumerate(rows):
            r = dict(row)
            for i, a in zip(fa, dirs[bi]):
                name = prog.inputs[i].name
                r[name] = to_oracle(row[name]) + t * np.asarray(a, np.float64)
            out.append(r)
        return out

    def loss_noise(row: int) -> float:
        """fd_noise of the loss of oracle row `row`: of the sum of its terms' magnitudes
        (they may cancel), plus the rounding of the pairwise sum."""
        mag, n = 0.0, 1
        for i, j in enumerate(fo):
            with np.errstate(all="ignore"):
                t = np.abs(np.asarray(base[row][j], np.float64) * w[i].astype(np.float64))
                mag += float(np.sum(np.where(m[i], t, 0.0)))
            n += int(m[i].size)
        return float(fd_noise(mag)) * (1 + math.log2(n) / FD_ULPS)

    def outputs_along(rows, dirs):
        """{t: the oracle's outputs (rows of them) at the inputs moved by t * FD_H * dirs}."""
        return {t: eval_all(exact=True, inputs=shifted(rows, dirs, t * FD_H))[0]
                for t in FD_STEPS}

    def drop_kinks(outs):
        """Take out of the loss's masks the output elements that are not smooth along the
        direction. The loss's own smoothness test weighs a kink against the slope of the
        whole sum: one element of 32768 at a tie of fmax(x, x**2), crossed within a step,
        changed the loss's slope by 3 in 8700, under the test's 2e-3 but 3x the
        comparison's tolerance, and funcgrad's gradient (JAX's to 1e-13) was reported
        (seed 20261925)."""
        for i, j in enumerate(fo):
            for r in range(len(outs[0])):
                with np.errstate(all="ignore"):
                    v = {t: np.where(m[i], np.asarray(outs[t][r][j], np.float64), 0.0) *
                         w[i].astype(np.float64) for t in FD_STEPS}
                    _, smooth, _ = _central_difference(v)
                m[i] &= smooth

    def fd(outs):
        """Central difference of the loss from `outputs_along`'s values, or None where the
        loss is not smooth."""
        vals = {t: loss_of(outs[t]) for t in FD_STEPS}
        if not all(np.isfinite(v) for v in vals.values()):
            return None, 0.0, 0.0
        dc1, smooth, s = _central_difference(vals)
        if not (np.isfinite(dc1) and smooth):
            return None, s, 0.0
        return float(dc1), s, float(_truncation(vals))

    fdt = prog.fdtype
    if st_.deriv in ("grad", "value_and_grad", "vjp"):
        if vm is not None and vm["outer"]:
            groups = [[row] for row in per_b]
            axes = [0 for _ in fa]     # vmap's outputs are batched along out_axes=0
        else:
            groups = [per_b]
            axes = None
        dirs_all, along = [], []
        for rows in groups:
            dirs = [[direction(np.shape(rows[0][prog.inputs[i].name]), fdt) for i in fa]
                    for _ in rows]
            if vm is not None and not vm["outer"]:
                # the derivative is taken w.r.t. the stacked (batched) arguments
                stacked = []
                for k_, i in enumerate(fa):
                    ax = vm["in_axes"][i]
                    if ax is None:
                        stacked.append(direction(np.shape(args[i]), fdt))
                    else:
                        stacked.append(np.stack([dirs[bi][k_] for bi in range(len(rows))], ax))
                # unbatched args share one direction across batch rows
                for k_, i in enumerate(fa):
                    ax = vm["in_axes"][i]
                    for bi in range(len(rows)):
                        dirs[bi][k_] = stacked[k_] if ax is None else dirs[bi][k_]
                dirs_all.append(stacked)
            else:
                dirs_all.append(dirs[0])
            along.append(outputs_along(rows, dirs))
            drop_kinks(along[-1])
        # (the masks are final only once every group dropped its kinks)
        dcs, scales, noise = [], [], []
        for g, outs in enumerate(along):
            dc, s, trunc = fd(outs)
            dcs.append(dc)
            scales.append(s)
            noise.append(loss_noise(g if vm is not None and vm["outer"] else 0) + trunc)
        dexp = DirExpect(dirs_all, dcs, scales, fdt, batch_axis=axes, nonfinite_ok=nonfinite,
                         noise=noise)
        if st_.deriv == "grad":
            expect = dexp
        elif st_.deriv == "value_and_grad":
            lv = [loss_at(per_b, exact=False)[0]] + [loss_of(perturbed[r])
                                                     for r in range(N_PERTURBED)]
            spread = max(abs(x - lv[0]) for x in lv[1:])
            n_terms = sum(int(x.size) for x in w)
            sc = sum(float(np.sum(np.abs(np.where(mm, row[j], 0.0) * ww)))
                     for row in base for mm, ww, j in zip(m, w, fo))
            tol = np.asarray(spread_factor(prog) * spread + (n_terms + 4) * EPS[fdt] * sc +
                             TINY[fdt])
            # The loss is summed in the dtype: when its terms' magnitudes pass the largest
            # value, a partial sum may overflow to +-inf in the dtype's order although the
            # float64 total is finite (a cumprod near 3e38, seed 456; JAX too).
            ve = ValueExpect(np.asarray(lv[0]), fdt, tol, np.asarray(loss_in_range(sc, fdt)),
                             "loss")
            expect = (ve, dexp)
        else:
            outs_exp = tuple(out_expect(j) for j in fo)
            expect = (outs_exp, dexp)
        aux = {"w": tuple(w), "m": tuple(m)}
        return Case(tuple(args), aux, expect, nonfinite)

    # jvp: elementwise tangents against central differences.
    dirs = [direction(np.shape(args[i]), fdt) for i in fa]
    rows_dirs = []
    for bi in range(len(per_b)):
        row_d = []
        for k_, i in enumerate(fa):
            ax = vm["in_axes"][i] if vm is not None else None
            row_d.append(np.take(dirs[k_], bi, axis=ax) if ax is not None else dirs[k_])
        rows_dirs.append(row_d)
    pts, fd_envs = {}, {}
    for t in FD_STEPS:
        fd_envs[t] = []
        pts[t] = eval_all(exact=True, inputs=shifted(per_b, rows_dirs, t * FD_H),
                          envs=fd_envs[t])[0][0]
    # Where an intermediate left the dtype's range, the dtype's tangent may be +-inf or NaN
    # although the float64 central difference is finite: such elements may be non-finite.
    left = [overflowed(prog, {t: fd_envs[t][bi] for t in FD_STEPS}, base_envs[bi])
            for bi in range(len(per_b))]
    # and where a value came from an op at a singular point of its derivative
    for bi in range(len(per_b)):
        for name, mask in singular(prog, base_envs[bi]).items():
            left[bi][name] = left[bi].get(name, False) | mask
    reach = [None] * len(fo)
    if any(left):
        poisoned = eval_all(exact=True, inputs=shifted(per_b, rows_dirs, 0.0), poison=left)
        for i, j in enumerate(fo):
            with np.errstate(invalid="ignore"):
                reach[i] = np.isnan(np.asarray(poisoned[0][0][j], np.float64)) & \
                    ~np.isnan(np.asarray(pts[0][j], np.float64))
    incoming = _saturating_tangent(prog, fd_envs)
    tangents = []
    for i, j in enumerate(fo):
        v = {t: np.asarray(pts[t][j], np.float64) for t in pts}
        with np.errstate(all="ignore"):
            dc1, smooth, _ = _central_difference(v)
            smooth &= np.isfinite(dc1) & m[i]
            smooth &= tangent_in_range(dc1, out_types[j].dtype)
            scale = float(np.max(np.where(smooth, np.abs(dc1), 0.0))) if dc1.size else 0.0
            # plus an absolute floor of a few ulps per unit of direction: a tangent computed
            # in the dtype through a cancellation (1 - tanh(x)**2 of a saturated tanh is
            # exactly 0 in float32) is off by that much
            vmax = max((float(np.max(np.abs(d))) for d in dirs if np.size(d)), default=1.0)
            vmax = max(vmax, incoming)
            tol = GRAD_RTOL[fdt] * (np.abs(dc1) + scale + 1e-6) + 16 * EPS[fdt] * vmax
            # plus what the central difference itself cannot resolve: its rounding and
            # its truncation
            tol = tol + fd_noise(v[0]) + np.where(smooth, _truncation(v), 0.0)
        tangents.append(ValueExpect(np.where(smooth, dc1, 0.0), out_types[j].dtype,
                                    np.where(smooth, tol, 0.0), smooth, "tangent",
                                    nonfinite_ok=reach[i]))
    outs_exp = tuple(out_expect(j) for j in fo)
    return Case(tuple(args), {"v": tuple(dirs)}, (outs_exp, tuple(tangents)), nonfinite)


# ops whose derivative is computed from their rounded result (1 - tanh(x)^2, s (1 - s)), as
# in JAX and PyTorch: near saturation it carries an absolute error of a few ulps
SATURATING = ("tanh", "sigmoid", "gru", "lstm")


def _saturating_tangent(prog: Program, fd_envs: dict) -> float:
    """The largest tangent (float64 central difference) entering an op of SATURATING, for
    jvp's absolute tolerance floor: the few ulps its derivative is off by near saturation
    scale with that tangent, not with the direction's size. tan(x) = -7.83 gives
    tanh = -0.9999997 in float32, whose 1 - tanh^2 = 5.96e-7 is 6% below sech^2 (JAX's
    is off as much), and tan's slope of 62 entering it made the output's tangent 10% off:
    past a floor of 16 ulps per unit of direction (seed 20261938)."""
    out = 0.0
    names = [a for op in prog.ops if op.name in SATURATING for a in op.args
             if isinstance(a, str)]
    for name in names:
        for bi in range(len(fd_envs[0])):
            lo, hi = fd_envs[-1][bi].get(name), fd_envs[1][bi].get(name)
            if lo is None or hi is None or np.shape(lo) != np.shape(hi) or not np.size(lo):
                continue
            with np.errstate(all="ignore"):
                d = np.abs((np.asarray(hi, np.float64) - np.asarray(lo, np.float64)) /
                           (2 * FD_H))
            d = d[np.isfinite(d)]
            if d.size:
                out = max(out, float(np.max(d)))
    return out


# ---------------------------------------------------------------------------------------
# Comparison

@dataclasses.dataclass
class Mismatch:
    kind: str            # value / dtype / shape / nan / grad / structure
    path: str
    detail: str
    expected: object = None
    got: object = None


def _leaves(x):
    if isinstance(x, (list, tuple)):
        out = []
        for y in x:
            out.extend(_leaves(y))
        return out
    return [x]


def count_checks(expect, counter) -> None:
    """Add what comparing against `expect` checks to `counter`: array elements compared,
    gradient directions checked against central differences (and skipped at kinks),
    tangent elements checked."""
    if isinstance(expect, DirExpect):
        for dc in expect.dcs:
            counter["grad directions" if dc is not None else "grad directions skipped"] += 1
    elif isinstance(expect, tuple):
        for e in expect:
            count_checks(e, counter)
    elif isinstance(expect, ValueExpect):
        n = int(np.sum(expect.stable & (expect.tol >= 0)))
        counter[f"{expect.what} elements"] += n


def compare(got, expect, path="out") -> list[Mismatch]:
    """Mismatches between funcgrad's output tree and the expected tree."""
    if isinstance(expect, DirExpect):
        return _compare_dir(got, expect, path)
    if isinstance(expect, tuple):
        if not isinstance(got, (tuple, list)) or len(got) != len(expect):
            what = (f"{type(got).__name__} of {len(got)}" if isinstance(got, (tuple, list))
                    else f"an array of shape {np.shape(got)}")
            return [Mismatch("structure", path, f"expected a tuple of {len(expect)}, got "
                             f"{what}")]
        out = []
        for i, (g, e) in enumerate(zip(got, expect)):
            out.extend(compare(g, e, f"{path}[{i}]"))
        return out
    return _compare_value(got, expect, path)


def _compare_value(got, e: ValueExpect, path) -> list[Mismatch]:
    g = np.asarray(got)
    out = []
    if g.shape != e.value.shape:
        return [Mismatch("shape", path, f"shape {g.shape}, expected {e.value.shape}",
                         e.value, g)]
    if e.what == "value" and g.dtype != NP[e.dtype]:
        out.append(Mismatch("dtype", path, f"dtype {g.dtype}, expected {e.dtype} (JAX's "
                            f"promotion rules)", e.dtype, str(g.dtype)))
    if not e.value.size:
        return out
    if is_float(e.dtype) or e.what != "value":
        gv = g.astype(np.float64) if dtype_kind(g.dtype) in "fiub" else g
        ev = np.asarray(e.value, np.float64)
        gc, ec = _classes(gv), _classes(ev)
        bad_cls = e.stable & (gc != ec)
        if e.nonfinite_ok is not None:
            bad_cls &= ~(e.nonfinite_ok & (gc != 0))
        with np.errstate(invalid="ignore", over="ignore"):
            diff = np.where((ec == 0) & (gc == 0), np.abs(gv - ev), 0.0)
        # The tolerance is estimated from a few sampled runs: an excess of up to 2x that is
        # small against the value itself (1e-3) is within the estimate's own uncertainty.
        with np.errstate(invalid="ignore", over="ignore"):
            small = diff <= np.maximum(2 * e.tol, 0) if e.what != "tangent" else diff <= e.tol
            gross = diff > 1e-3 * np.abs(ev)
        bad_val = e.stable & (ec == 0) & (gc == 0) & ~(diff <= e.tol) & (gross | ~small)
        if np.any(bad_cls):
            idx = tuple(int(i) for i in np.argwhere(bad_cls)[0])
            kind = "grad" if e.what == "tangent" else "nan"
            out.append(Mismatch(kind, path, f"NaN/Inf position differs at {idx}: expected "
                                f"{ev[idx]!r}, got {gv[idx]!r} ({int(bad_cls.sum())} of "
                                f"{bad_cls.size} elements)", e.value, g))
        elif np.any(bad_val):
            idx = tuple(int(i) for i in np.argwhere(bad_val)[0])
            with np.errstate(over="ignore", invalid="ignore"):
                ratio = np.where(bad_val, diff / np.maximum(e.tol, 5e-324), 0)
            worst = np.unravel_index(np.argmax(ratio), diff.shape)
            worst = tuple(int(i) for i in worst)
            # A gross error (a wrong element, a sign) and a small excess over the error
            # model are different findings: keep the shrinker from trading one for the
            # other.
            rel = float(diff[worst]) / max(abs(float(ev[worst])), float(e.tol[worst]), 5e-324)
            kind = "grad" if e.what == "tangent" else ("value" if rel > 1e-3 else
                                                       "precision")
            out.append(Mismatch(kind, path, f"{e.what} differs at {worst}: expected "
                                f"{ev[worst]!r}, got {gv[worst]!r} (tolerance "
                                f"{float(e.tol[worst]):.3g}; {int(bad_val.sum())} of "
                                f"{bad_val.size} elements; first at {idx})", e.value, g))
    else:
        ev = np.asarray(e.value)
        gi = g.astype(np.int64) if g.dtype.kind in "iub" else g
        bad = e.stable & (gi != ev.astype(gi.dtype))
        if np.any(bad):
            idx = tuple(int(i) for i in np.argwhere(bad)[0])
            out.append(Mismatch("value", path, f"value differs at {idx}: expected "
                                f"{ev[idx]!r}, got {g[idx]!r} ({int(bad.sum())} of {bad.size}"
                                f" elements)", e.value, g))
    return out


def _compare_dir(got, e: DirExpect, path) -> list[Mismatch]:
    grads = got if isinstance(got, (tuple, list)) else (got,)
    out = []
    nb = len(e.dcs)
    for bi in range(nb):
        dc = e.dcs[bi]
        if dc is None:
            continue
        dirs = e.dirs[bi]
        if len(grads) != len(dirs):
            return [Mismatch("structure", path, f"{len(grads)} gradients, expected "
                             f"{len(dirs)}")]
        total, mag = 0.0, 0.0
        for k, (g, v) in enumerate(zip(grads, dirs)):
            ga = np.asarray(g)
            if e.batch_axis is not None:
                ax = e.batch_axis[k]
                ga = np.take(ga, bi, axis=ax if ax is not None else 0)
            if ga.shape != np.shape(v):
                return [Mismatch("shape", f"{path}[{k}]", f"gradient shape {ga.shape}, "
                                 f"expected {np.shape(v)}")]
            if ga.dtype != NP[e.dtype]:
                out.append(Mismatch("dtype", f"{path}[{k}]", f"gradient dtype {ga.dtype}, "
                                    f"expected {e.dtype}"))
            with np.errstate(all="ignore"):
                prod = ga.astype(np.float64) * np.asarray(v, np.float64)
            total += float(np.sum(prod))
            mag += float(np.sum(np.abs(prod)))
        if not np.isfinite(total):
            if e.nonfinite_ok:
                continue
            out.append(Mismatch("grad", path, f"non-finite gradient (<g, v> = {total!r}) "
                                f"where central differences give {dc!r}", dc, total))
            continue
        rt = GRAD_RTOL[e.dtype]
        tol = rt * (abs(dc) + min(mag, 10 * abs(dc) + e.scale[bi]) + e.scale[bi]) + 1e-7
        if e.noise is not None:
            tol += e.noise[bi]
        if abs(total - dc) > tol:
            out.append(Mismatch("grad", path + (f"[batch {bi}]" if nb > 1 else ""),
                                f"<gradient, v> = {total!r} but central differences give "
                                f"{dc!r} (tolerance {tol:.3g})", dc, total))
    return out


__all__ = [
    "Case",
    "Entry",
    "Mismatch",
    "Stack",
    "_leaves",
    "build_case",
    "compare",
    "count_checks",
    "fd_noise",
    "entry_source",
    "slice_entry",
    "stacks",
]
