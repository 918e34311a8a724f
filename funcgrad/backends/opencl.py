"""The OpenCL backend: programs are optimised and fused like the C backend's, lowered by
`funcgrad.lowering.opencl_kernels` to one `__kernel` per loop nest (and a tiled matmul
for dot_general / convolution), rendered once per program with `cdsl.OPENCL`, built once
with `opencl.build_program` (binary-cached on disk, except on PoCL, which caches its
kernels itself) and launched asynchronously on the device's in-order queue.

Arrays live on the device: an OpenCL array is `ArrayImpl(DeviceBuffer, aval, backend)`,
and results of `jit(f, backend="opencl")` and of eager operations on OpenCL arrays stay
there, so a training loop moves no data between steps. Intermediates and scratch buffers
come from the device's buffer pool and go back to it as soon as the last kernel that
reads them has been enqueued.

Transfer rule: data moves only at these points.
- `funcgrad.device_put(x, funcgrad.devices("opencl")[i])` uploads `x` (any array or
  scalar) to that device.
- Host values used together with OpenCL arrays — Python scalars, NumPy arrays, arrays of
  the reference or C backend, or the arguments of `jit(f, backend="opencl")` — are
  uploaded automatically (to the device of the OpenCL operands, else the default device
  `opencl.default_device()`, selectable with `FUNCGRAD_OPENCL_DEVICE`). Arrays on another
  OpenCL device are copied through the host.
- `np.asarray(x)`, `x.item()`, `float(x)`, printing, and Python control flow on a value
  copy it back (waiting for the kernels that produce it).
- Equations without a device lowering (host steps: e.g. sort, linear-algebra solvers,
  argmax) copy their operands to the host, run the NumPy implementation and upload the
  results. A `scan` whose body is kernels only is a device loop: its body's kernels are
  part of the program and are enqueued once per iteration (`Executable._lower_scan`).
  Other scans, `while_loop` and `cond` run their bodies as compiled device programs
  driven from Python; only a `while` predicate or `cond` index is read back per step.

Dtypes: complex64/complex128 compute as `float2`/`double2`, bfloat16 (stored as `ushort`)
and float16 (stored as `half`, read and written with vload_half/vstore_half_rte, so no
`cl_khr_fp16` is needed) compute in float and round after every operation, bit for bit the
reference's results (see `opencl_kernels.render`). dot_general of complex values runs the
work-item matmul kernel; dot_general and convolution of 16-bit floats the float32 kernels
on widened copies (rounded once); 16-bit max/min windows compile. Complex convolutions and
windows, 16-bit window sums and pooling scatters run as host steps;
`Executable.host_reasons` says why each host step is one.
float64 and complex128 need a device with `cl_khr_fp64`; otherwise the runtime raises
`opencl.OpenCLDtypeError` naming the device. With no platform, using the backend raises
`opencl.OpenCLUnavailableError` with installation advice (importing funcgrad never needs
pyopencl).
"""
from __future__ import annotations

import dataclasses
import os
import threading

import numpy as np

import cdsl

from .. import core, dtypes
from ..core import ArrayImpl
from ..ir import Eqn, Program, Var
from ..lowering import cnodes as cn
from ..lowering import codegen, fusion, passes
from ..lowering import opencl_kernels as ok
from ..prims import control
from .base import Backend, Device
from .compiled import (HostLoops, ProgramCache, SlotProgram, host_call, kernel_name,
                       lowering_settings)

# The matmul kernel: "tiled" (local-memory tiles; default on GPUs), "vec" (vector-type
# register blocks; default on CPU devices such as PoCL) or "rows" (the driver vectorises
# across work items).
MATMUL_ENV = "FUNCGRAD_OPENCL_MATMUL"


def _binary_worth_caching(device) -> bool:
    """Whether a built program's binary goes to funcgrad's disk cache. Not on PoCL: PoCL
    keeps its own cache of built kernels ($POCL_CACHE_DIR), keyed by the source, so a new
    process that builds the same source hits it; and asking PoCL for a program's binary
    makes it compile every kernel once more, for a generic work-group size (as much CPU as
    the build and the first launches together, on a program it already built)."""
    return "portable computing language" not in device.platform_name.lower()


def _opencl():
    import opencl
    return opencl


def available() -> bool:
    """True if pyopencl imports and an OpenCL device exists. Never raises."""
    try:
        return bool(_opencl().available())
    except ImportError:
        return False


_DEVICE_DTYPES = {dtypes.float32, dtypes.float64, dtypes.int8, dtypes.int16, dtypes.int32,
                  dtypes.int64, dtypes.uint8, dtypes.uint16, dtypes.uint32, dtypes.uint64,
                  dtypes.bool_}
# Element types the elementwise, reduction and structural kernels compute beyond those:
# complex64 as float2, bfloat16 as ushort computed in float (opencl_kernels.render); the
# matmul, convolution and window kernels take some of them (`_unsupported_dtype`).
_KERNEL_EXTRA = {np.dtype(np.complex64)} | (
    {np.dtype(dtypes.bfloat16)} if getattr(dtypes, "bfloat16", None) is not None else set())


def _kernel_dtypes(device) -> frozenset:
    """The dtypes map/reduce kernels compute on `device`: complex128 needs cl_khr_fp64
    (elsewhere its equations are host steps). float16 is computed in float and stored with
    vload_half/vstore_half_rte, which every device has (no cl_khr_fp16 needed), once the
    lowering computes it in float (cnodes.ct)."""
    out = set(_DEVICE_DTYPES) | _KERNEL_EXTRA
    if getattr(device, "has_fp64", True):
        out.add(np.dtype(np.complex128))
    if cn.ct(np.float16) is cdsl.f32:
        out.add(np.dtype(np.float16))
    return frozenset(out)


def _unsupported_dtype(eqns, kind, kernel_dtypes) -> str | None:
    """Why no kernel of `kind` computes `eqns` on the device (a dtype), or None."""
    if kind in ("map", "reduce"):
        allowed = kernel_dtypes
    elif kind == "matmul":
        # complex: the work-item kernel; 16-bit floats: widened to float32 copies
        allowed = kernel_dtypes
    elif kind == "conv":
        # 16-bit floats: patches and weights gathered into float32 copies
        allowed = _DEVICE_DTYPES | {d for d in kernel_dtypes if d.itemsize == 2 and
                                    d.kind not in "iu"}
    elif kind in ("window", "pool_gather") and all(
            e.params["computation"] in ("max", "min") for e in eqns if "computation" in e.params):
        # max/min select a value of the 16-bit type (no rounding, no order of additions)
        allowed = _DEVICE_DTYPES | {d for d in kernel_dtypes if d.itemsize == 2 and
                                    d.kind not in "iu"}
    else:
        allowed = _DEVICE_DTYPES
    for e in eqns:
        for a in list(e.inputs) + list(e.outputs):
            dt = a.aval.dtype
            if dt in allowed:
                continue
            if dt == np.complex128 and kind in ("map", "reduce", "matmul"):
                return f"{dt} needs cl_khr_fp64, which the device lacks"
            return f"{dt} has no OpenCL {kind} kernel"
    return None


def _host_reason(step, kernel_dtypes) -> str | None:
    """Why plan step `step` runs on the host (None: a device kernel computes it)."""
    if isinstance(step, fusion.Kernel):
        eqns, kind = [step.eqn] + list(step.inlined.values()), step.kind
    elif isinstance(step, (fusion.Gemm, fusion.Conv)):
        eqns, kind = [step.eqn], "matmul" if isinstance(step, fusion.Gemm) else "conv"
    else:
        eqn = step.eqn
        kind = fusion.classify(eqn)
        kind = {"inline": "map", "gemm": "matmul"}.get(kind, kind)
        if kind in ("map", "reduce", "matmul", "conv", "window", "pool_gather",
                    "pool_scatter") and \
                eqn.prim is not control.const_p:
            why = _unsupported_dtype([eqn], kind, kernel_dtypes)
            if why is not None:
                return why
        return "no device lowering"
    if any(e.prim is control.const_p for e in eqns):
        return "a constant array"
    return _unsupported_dtype(eqns, kind, kernel_dtypes) or codegen.loop_limit(step.eqn, kind)


def _device_lowerable(eqn, kernel_dtypes=frozenset(_DEVICE_DTYPES)) -> bool:
    """Whether the OpenCL lowering handles `eqn` (decided at plan time, so that a host step
    never has inlined producers that no kernel computes)."""
    if not fusion.default_lowerable(eqn) or eqn.prim is control.const_p:
        return False
    kind = fusion.classify(eqn)
    kind = {"inline": "map", "gemm": "matmul"}.get(kind, kind)
    return _unsupported_dtype([eqn], kind, kernel_dtypes) is None and \
        codegen.loop_limit(eqn, kind) is None


def _rounded_div_sqrt(device) -> bool:
    """Whether `device` takes -cl-fp32-correctly-rounded-divide-sqrt (an optional feature;
    the option is invalid where the device lacks it)."""
    try:
        cl = _opencl().cl_module()
        flag = cl.device_fp_config.CORRECTLY_ROUNDED_DIVIDE_SQRT
        return bool(device.cl_device.single_fp_config & flag)
    except Exception:   # noqa: BLE001 -- no such query: build without the option
        return False


class _Launch:
    __slots__ = ("args", "gsize", "kernel", "lsize", "name")

    def __init__(self, kernel, gsize, lsize, args, name):
        self.kernel, self.gsize, self.lsize, self.args, self.name = (kernel, gsize, lsize,
                                                                      args, name)


class Executable(SlotProgram):
    """A program compiled for one OpenCL device: `run(list of DeviceBuffer) -> list of
    DeviceBuffer` (outputs are new buffers, or views of inputs for pass-through values)."""

    def __init__(self, program: Program, device, name: str = "f", scan_body=None):
        """`scan_body=(namer, num_consts, num_carry)`: the body of a scan that its parent
        runs as a device loop (`_lower_scan`): kernels are planned with the parent's namer,
        not built, and read x_i / write y_i at `ok.SCAN_STEP`'s offset into the stacked
        arrays; the parent builds them into its program and calls `_bind`."""
        ocl = _opencl()
        self.device = device
        self.name = kernel_name(name)
        self.program = passes.optimize(program)
        self._scan_slices(scan_body)
        self.kernel_dtypes = _kernel_dtypes(device)
        self.plan = fusion.plan(self.program, lambda e: _device_lowerable(e, self.kernel_dtypes))
        # (primitive name, why) of each equation that runs on the host
        self.host_reasons: list[tuple[str, str]] = []
        self._init_slots(self.program)
        self._alloc_specs: dict = {}     # slot -> how `_alloc` makes its buffer
        self.fp64 = bool(device.has_fp64)
        self.wg = ocl.preferred_work_group_size(device, 8)
        variant = os.environ.get(MATMUL_ENV) or ("tiled" if device.is_gpu else "vec")
        if variant not in ("tiled", "vec", "rows"):
            raise ValueError(f"{MATMUL_ENV}={variant!r}: choose 'tiled', 'vec' or 'rows'")
        self.matmul = ok.MatmulConfig(variant, ocl.preferred_matmul_tile(device),
                                      device.local_mem_size, device.vector_width_float,
                                      device.compute_units)
        if scan_body is not None:
            self.functions = self._plan(scan_body[0])
            return
        self._build()

    def _scan_slices(self, scan_body):
        """`scan_io` {var id: pointer expression} for a scan body's x_i inputs and y_i
        outputs (`ok.scan_slice`), and `scan_keys` {param name: launch argument}."""
        self.scan_io: dict = {}
        self.scan_keys: dict = {}
        self.scan_ok = True
        self._label = ""    # the start of each kernel's comment
        if scan_body is None:
            return
        self._label = "scan body: "
        _, nc, ncar = scan_body
        self.scan_keys[ok.SCAN_STEP.name] = ("step",)
        prog = self.program
        # A y that is an input or a carry of the body is copied into its slice after the
        # body's kernels (`_lower_scan`); the others are written there by their kernels.
        self.scan_copies = {v.id for v in prog.invars + list(prog.outvars[:ncar])
                            if isinstance(v, Var)}
        for kind, vs in (("xs", prog.invars[nc + ncar:]), ("ys", prog.outvars[ncar:])):
            for j, v in enumerate(vs):
                if not isinstance(v, Var) or (kind == "ys" and v.id in self.scan_io and
                                              v.id not in self.scan_copies):
                    self.scan_ok = False   # a literal y, or a computed value as two ys
                    return
                pname = f"{kind}_{j}"
                self.scan_keys[pname] = (kind, j)
                if kind == "xs" or v.id not in self.scan_copies:
                    self.scan_io[v.id] = ok.scan_slice(pname, v.aval.dtype, v.aval.size)

    def _step_buffers(self, step):
        buffers, used = super()._step_buffers(step)
        if self.scan_io:
            for vid in buffers.keys() & self.scan_io.keys():
                buffers[vid] = self.scan_io[vid]
        return buffers, used

    def _build(self):
        functions = self._plan(ok.Namer(self.name))
        self.module = cdsl.Module(tuple(functions))
        self.source, options = ok.render(self.module, _rounded_div_sqrt(self.device)) \
            if functions else ("", ())
        prog = _opencl().build_program(self.source, self.device, options,
                                       use_cache=_binary_worth_caching(self.device)) \
            if functions else None
        self._bind(prog)
        self._plan_releases()
        # Built, the program keeps its source, not its syntax tree (as the C backend's
        # Executable: most of a cached executable's objects, each walked by every full
        # collection of the cyclic garbage collector).
        self.module = None

    def _plan(self, namer) -> list:
        """Lower every plan step: the kernels' functions (returned), the steps with their
        launches still to bind (`_pending`), host steps and device scan loops."""
        functions = []
        pending = []   # (step index, [ok.Launch], {param name: key}, temps)
        self._pending = pending
        self._bodies: list = []           # executables of scan bodies run as device loops
        self._written: set[int] = set()   # ids of the values kernels write

        def add(launches, label, used, temps, outs):
            """Record a step of `launches` (commented `label`) writing values `outs`."""
            keys = {self._param(s).name: ("slot", s) for s in used} | self.scan_keys
            keys.update((t.param.name, ("temp", t)) for t in temps)
            launches = _commented(launches, self._label + label)
            functions.extend(lc.fn for lc in launches)
            pending.append((len(self.steps), launches, keys, temps))
            self.steps.append(("kernels", None, [self._slot(v) for v in outs]))
            self._written.update(v.id for v in outs)

        def lower_group(group, buffers, used):
            if codegen.is_row_group(group):
                launches = ok.row_group_kernel(group, buffers, namer, self.fp64)
            else:
                launches = ok.map_group_kernel(group, buffers, namer)
            if launches is not None:
                add(launches, codegen.row_group_label(group), used, [],
                    [k.root for k in group])
            return launches is not None

        def lower_step(step):
            if isinstance(step, fusion.Alias):
                if isinstance(step.src, Var):
                    self.slot_of[step.out.id] = self._slot(step.src)
                else:
                    self.steps.append(("fill", (self._slot(step.out), step.src.val)))
                return
            if isinstance(step, fusion.Host) and step.eqn.prim is control.scan_p:
                body_functions = self._lower_scan(step.eqn, namer)
                if body_functions is not None:
                    functions.extend(body_functions)
                    return
            why = _host_reason(step, self.kernel_dtypes)
            if why is not None:
                self.host_reasons.append((step.eqn.prim.name, why))
                self._add_host_step(step.eqn)
                return
            eqn = step.eqn
            buffers, used = self._step_buffers(step)
            temps = []
            kind = fusion.step_kind(step)
            if kind == "dot":
                launches, temps = ok.dot_kernels(eqn, buffers, namer, self.matmul)
            elif kind == "conv":
                launches, temps = ok.conv_kernels(eqn, buffers, namer, self.matmul)
            elif kind == "reduce":
                launches, temps = ok.reduce_kernel(step, buffers, namer, self.fp64, self.wg,
                                                   self.device.is_gpu)
            else:
                launches = ok.LOOP_KERNELS[kind](step, buffers, namer)
            add(launches, codegen.step_label(step, buffers), used, temps, eqn.outputs)

        self._each_step(lower_group, lower_step, lambda k: ok.row_fusable(k) and
                        _host_reason(k, self.kernel_dtypes) is None, map_groups=True)
        self._set_out_slots()
        return functions

    def _bind(self, prog) -> None:
        """The planned launches (and those of the scan bodies) as kernels of the built
        program `prog`, with their arguments."""
        ocl = _opencl()
        for body in self._bodies:
            body._bind(prog)
        for idx, launches, keys, temps in self._pending:
            lst = []
            temp_index = {id(t): n for n, t in enumerate(temps)}
            for lc in launches:
                gsize = tuple(int(g) for g in lc.global_size)
                lsize = None if lc.local_size is None else tuple(int(x) for x in lc.local_size)
                if not all(gsize):
                    continue
                assert lsize is None or all(g % x == 0 for g, x in zip(gsize, lsize))
                args = []
                for pname in lc.param_names:
                    if pname in lc.local:
                        args.append(("local", ocl.local_memory(lc.local[pname])))
                    elif keys[pname][0] == "temp":
                        args.append(("temp", temp_index[id(keys[pname][1])]))
                    else:
                        args.append(keys[pname])
                lst.append(_Launch(prog.kernel(lc.fn.name), gsize, lsize, args, lc.fn.name))
            nbytes = [max(1, int(np.prod(t.shape))) * t.dtype.itemsize for t in temps]
            self.steps[idx] = ("kernels", (lst, nbytes), self.steps[idx][2])
        self._pending = None          # (bound: the launches' functions are not needed again)

    def _lower_scan(self, eqn, namer) -> list | None:
        """A scan whose body is kernels only becomes a device loop: one step of this program
        that enqueues the body's kernels (built into this program) once per iteration, x_i
        and y_i addressed in the stacked arrays by the step argument, the carry alternating
        between two buffers; no Python call of a sub-executable, no copies, no allocation
        per iteration (the C backend's `_lower_scan`, with the host as the loop). Returns
        the body's kernel functions, or None to keep the host loop (no iterations, a body
        with host steps, an output that no kernel of the body writes)."""
        p = eqn.params
        nc, ncar, n = p["num_consts"], p["num_carry"], p["length"]
        if n == 0:
            return None
        body = Executable(p["program"], self.device, f"{self.name}_b{len(self._bodies)}",
                          scan_body=(namer, nc, ncar))
        if not body.scan_ok or not body.functions or \
                any(k != "kernels" for k, *_ in body.steps) or \
                any(k != "slot" for k, _, _ in body.out_slots):
            return None
        carry_in = list(range(nc, nc + ncar))
        carry_out = [s for _, s, _ in body.out_slots[:ncar]]
        ys = body.program.outvars[ncar:]
        if len(set(carry_out)) < ncar or set(carry_out) & set(range(body.n_in)) or \
                not set(carry_out) <= {s for k, _, outs in body.steps for s in outs} or \
                not {v.id for v in ys if v.id not in body.scan_copies} <= body._written:
            return None
        for j, v in enumerate(ys):
            if v.id in body.scan_copies:
                slot = body.slot_of[v.id]
                src = body.scan_io.get(v.id, body._param(slot))   # an x: its slice
                dst = ok.scan_slice(f"ys_{j}", v.aval.dtype, v.aval.size)
                launches = _commented(ok.copy_kernel(dst, src, v.aval.size, namer),
                                      f"scan body: y_{j} (a copy)")
                body.functions.extend(lc.fn for lc in launches)
                body._pending.append((len(body.steps), launches,
                                      {body._param(slot).name: ("slot", slot)} |
                                      body.scan_keys, []))
                body.steps.append(("kernels", None, []))
        fixed = set(range(body.n_in)) | set(carry_out)
        scratch = sorted({s for _, _, outs in body.steps for s in outs} - fixed)
        self._bodies.append(body)
        in_slots = []
        for a in eqn.inputs:
            if isinstance(a, Var):
                in_slots.append(self._slot(a))
            else:   # a literal (reverse mode's seed 1.0, a zero initial count): filled
                in_slots.append(self._new_slot(a.aval, "lit"))
                self.steps.append(("fill", (in_slots[-1], a.val)))
        self.steps.append(("scan", _ScanLoop(
            body, nc, ncar, n, p["reverse"], in_slots,
            [self._slot(v) for v in eqn.outputs], carry_in, carry_out, scratch),
            [self._slot(v) for v in eqn.outputs]))
        return body.functions

    def _plan_releases(self):
        """After step i, the intermediates whose last use is step i go back to the pool."""
        last: dict[int, int] = {}
        for i, (_kind, a, b) in enumerate(self._iter_steps()):
            for s in a:
                last[s] = i
            for s in b:
                last[s] = i
        keep = set(range(self.n_in)) | {v for k, v, _ in self.out_slots if k == "slot"}
        self.release_after: list[list[int]] = [[] for _ in self.steps]
        for s, i in last.items():
            if s not in keep:
                self.release_after[i].append(s)

    def _iter_steps(self):
        for kind, payload, *rest in self.steps:
            if kind == "kernels":
                lst, _ = payload
                reads = {k[1] for lc in lst for k in lc.args if k[0] == "slot"}
                yield kind, reads, rest[0]
            elif kind == "host":
                _, ins, outs = payload
                yield kind, [v for k, v in ins if k == "slot"], outs
            elif kind == "scan":
                yield kind, payload.in_slots, payload.out_slots
            else:
                yield kind, [], [payload[0]]

    # -- running ---------------------------------------------------------------------

    def _alloc(self, slot):
        spec = self._alloc_specs.get(slot)
        if spec is None:
            ocl = _opencl()
            av = self.slot_avals[slot]
            dtype = self.device.check_dtype(av.dtype)
            shape = tuple(int(d) for d in av.shape)
            nbytes = int(np.prod(shape)) * dtype.itemsize
            spec = self._alloc_specs[slot] = (
                ocl.DeviceBuffer._pooled, shape, dtype, self.device,
                ocl.buffer_pool(self.device), nbytes, ocl.bucket_size(nbytes))
        new, *args = spec
        return new(*args)

    def run(self, args: list) -> list:
        ocl = _opencl()
        bufs: list = [None] * len(self.slot_avals)
        bufs[:len(args)] = args
        pool = ocl.buffer_pool(self.device)
        shared: set[int] = set()   # ids of buffers a host step put in more than one slot
        for i, step in enumerate(self.steps):
            kind = step[0]
            if kind == "kernels":
                (lst, temp_bytes), outs = step[1], step[2]
                for s in outs:
                    if bufs[s] is None:
                        bufs[s] = self._alloc(s)
                # Scratch goes back to the pool right after the enqueue: the device's
                # single in-order queue runs these kernels before any later user's.
                tbufs = [pool.acquire(n) for n in temp_bytes]
                for lc in lst:
                    vals = []
                    for k, v in lc.args:
                        if k == "slot":
                            vals.append(bufs[v].buffer)
                        elif k == "temp":
                            vals.append(tbufs[v][0])
                        else:
                            vals.append(v)
                    lc.kernel.enqueue_checked_args(lc.gsize, lc.lsize, vals)
                for buf, size in tbufs:
                    pool.give_back(buf, size)
            elif kind == "scan":
                loop = step[1]
                for s, b in zip(loop.out_slots, loop.run(bufs, self._alloc)):
                    bufs[s] = b
            elif kind == "host":
                eqn, ins, outs = step[1]
                in_bufs = [v if k == "lit" else bufs[v] for k, v in ins]
                res = _run_host(self.device, eqn, in_bufs, ins, [a.aval for a in eqn.inputs])
                # A host step may hand back an input (a while loop that never runs returns
                # its initial value) or one buffer for several outputs (a cond branch or
                # loop body that returns one value twice; outputs of a sub-executable that
                # are one slot are one buffer): that memory then has several slots, and
                # goes back to the pool only with the last of them. Compared by base
                # buffer, since views share their base's memory.
                seen = {id(_root(b)) for b in in_bufs}
                for s, r in zip(outs, res):
                    root = id(_root(r))
                    if root in seen:
                        shared.add(root)
                    seen.add(root)
                    bufs[s] = r
            else:
                slot, val = step[1]
                av = self.slot_avals[slot]
                bufs[slot] = ocl.to_device(np.full(av.shape, val, av.dtype), self.device)
            for s in self.release_after[i]:
                b = bufs[s]
                bufs[s] = None
                if b is not None and b._base is None and not (
                        id(b) in shared and _referenced(bufs, b)):
                    b.release()
        out = []
        for kind, v, aval in self.out_slots:
            if kind == "lit":
                out.append(ocl.to_device(np.full(aval.shape, v, aval.dtype), self.device))
                continue
            b = bufs[v]
            if b is None:
                b = self._alloc(v)   # a zero-size output no kernel writes
            if b.shape != aval.shape:
                b = b.reshape(aval.shape)
            out.append(b)
        return out


@dataclasses.dataclass
class _ScanLoop:
    """A scan run as a device loop (`Executable._lower_scan`): the body's bound launches
    enqueued once per iteration. Body slots: consts 0..nc-1, `carry_in`, then x inputs
    (read through the stacked arrays); `carry_out` alternate between two buffers;
    `scratch`, the body's intermediates, are allocated once per run."""
    body: Executable
    nc: int
    ncar: int
    length: int
    reverse: bool
    in_slots: list      # the scan equation's inputs, in the outer program
    out_slots: list     # its outputs: the final carry, then the stacked ys
    carry_in: list
    carry_out: list
    scratch: list

    def run(self, bufs, alloc) -> list:
        body, nc, ncar, n = self.body, self.nc, self.ncar, self.length
        pool = _opencl().buffer_pool(body.device)
        bb: list = [None] * len(body.slot_avals)
        for j in range(nc):
            bb[j] = bufs[self.in_slots[j]]
        io = {"xs": [bufs[s].buffer for s in self.in_slots[nc + ncar:]],
              "ys": [alloc(s) for s in self.out_slots[ncar:]]}
        ys = io["ys"]
        io["ys"] = [y.buffer for y in ys]
        for s in self.scratch:
            bb[s] = body._alloc(s)
        sets = [[body._alloc(s) for s in self.carry_out] for _ in range(min(n, 2))]
        carry = [bufs[s] for s in self.in_slots[nc:nc + ncar]]
        temps = [[pool.acquire(b) for b in nbytes] for _, (_, nbytes), _ in body.steps]
        for k in range(n):
            for s, b in zip(self.carry_in, carry):
                bb[s] = b
            carry = sets[k % 2]
            for s, b in zip(self.carry_out, carry):
                bb[s] = b
            step = np.int64(n - 1 - k if self.reverse else k)
            for (_, (lst, _), _), tb in zip(body.steps, temps):
                for lc in lst:
                    vals = []
                    for a in lc.args:
                        kind = a[0]
                        if kind == "slot":
                            vals.append(bb[a[1]].buffer)
                        elif kind == "step":
                            vals.append(step)
                        elif kind == "temp":
                            vals.append(tb[a[1]][0])
                        elif kind == "local":
                            vals.append(a[1])
                        else:
                            vals.append(io[kind][a[1]])
                    lc.kernel.enqueue_checked_args(lc.gsize, lc.lsize, vals)
        # (the device's in-order queue runs these kernels before any later user of the
        # memory handed back)
        for tb in temps:
            for buf, size in tb:
                pool.give_back(buf, size)
        for s in self.scratch:
            bb[s].release()
        if n > 1:
            for b in sets[n % 2]:
                b.release()
        return list(carry) + ys


def _commented(launches, label):
    """The launches with `label` (what the step computes, as the C backend's comments say
    it) as the first line of each kernel; `(part k of n)` when the step takes several."""
    out = []
    for k, lc in enumerate(launches):
        text = label if len(launches) == 1 else f"{label} (part {k + 1} of {len(launches)})"
        fn = dataclasses.replace(lc.fn, body=(cdsl.Comment(text),) + tuple(lc.fn.body))
        out.append(dataclasses.replace(lc, fn=fn))
    return out


def _root(b):
    """The buffer that owns `b`'s memory: its base for a view, else `b` itself."""
    base = getattr(b, "_base", None)
    return b if base is None else base


def _referenced(bufs, b) -> bool:
    """Whether another slot still holds buffer `b` (or a view of it)."""
    return any(o is b or getattr(o, "_base", None) is b for o in bufs if o is not None)


# --- host steps and Python-driven control flow ------------------------------------------


def _to_host(b, aval=None):
    if isinstance(b, np.ndarray) or np.isscalar(b):
        v = np.asarray(b)
    else:
        v = b.to_host()
    if aval is not None and v.shape != aval.shape:
        v = v.reshape(aval.shape)
    return v


def _upload(v, device, dtype=None):
    host = np.asarray(v, dtype=dtype, order="C")    # (ascontiguousarray makes 0-d 1-d)
    return _opencl().to_device(host, device)


def _run_host(device, eqn, vals, ins, avals):
    if eqn.prim in HostLoops.PRIMS:
        dev_vals = [_upload(v, device, a.aval.dtype) if k == "lit" else v
                    for v, (k, _), a in zip(vals, ins, eqn.inputs)]
        dev_vals = [b if b.shape == a.aval.shape else b.reshape(a.aval.shape)
                    for b, a in zip(dev_vals, eqn.inputs)]
        return _DeviceLoops(device).run(eqn, dev_vals)
    host = [np.asarray(v) if k == "lit" else _to_host(v, av)
            for v, (k, _), av in zip(vals, ins, avals)]
    res = host_call(eqn, host)
    return [_upload(r, device, v.aval.dtype) for r, v in zip(res, eqn.outputs)]


_sub_executables = ProgramCache(locked=False)   # (id(program), device) -> entry


def _settings(device) -> tuple:
    """What besides a program its kernels depend on: the lowering's settings and the
    device properties it reads."""
    import sys
    props = tuple(getattr(device, a, None) for a in (
        "has_fp64", "vector_width_float", "is_gpu", "local_mem_size", "compute_units"))
    return props + lowering_settings(sys.modules[__name__], ok, codegen, fusion, passes)


def _slice(buf, i, shape):
    ocl = _opencl()
    out = ocl.DeviceBuffer(shape, buf.dtype, buf.device)
    if out.nbytes:
        ocl.cl_module().enqueue_copy(buf.device.queue, out.buffer, buf.buffer,
                                     byte_count=out.nbytes, src_offset=i * out.nbytes)
    return out


def _put_slice(dst, i, src):
    if src.nbytes:
        _opencl().cl_module().enqueue_copy(dst.device.queue, dst.buffer, src.buffer,
                                           byte_count=src.nbytes, dst_offset=i * src.nbytes)


class _DeviceLoops(HostLoops):
    """scan, while_loop and cond over DeviceBuffers of `device`: only a while predicate or
    a cond index is read back per step."""

    def __init__(self, device):
        self.device = device

    def sub_exe(self, program, name):
        return _sub_executables.lookup((id(program), self.device), program,
                                       lambda: Executable(program, self.device, name),
                                       content=lambda: (self.device, name,
                                                        _settings(self.device)))

    def truth(self, buf):
        return bool(buf.to_host())

    def index(self, buf):
        return int(buf.to_host())

    def stacked(self, shape, dtype):
        return _opencl().DeviceBuffer(shape, dtype, self.device)

    def take(self, xs, i):
        return _slice(xs, i, xs.shape[1:])

    put = staticmethod(_put_slice)


# --- the backend ------------------------------------------------------------------------


def _hashable(v):
    """A hashable stand-in for an equation parameter (raises TypeError if none)."""
    if isinstance(v, dict):
        return ("dict",) + tuple(sorted((k, _hashable(x)) for k, x in v.items()))
    if isinstance(v, (list, tuple)):
        return (type(v).__name__,) + tuple(_hashable(x) for x in v)
    if isinstance(v, np.ndarray):
        return ("nd", v.shape, v.dtype.str, v.tobytes())
    if isinstance(v, np.dtype):
        return ("dtype", v.str)
    if isinstance(v, (Program, core.Primitive)) or callable(v):
        return ("id", id(v))
    hash(v)
    return (type(v).__name__, v)


class OpenCLBackend(Backend):
    """Device-memory backend: arrays are DeviceBuffers, programs compile to OpenCL C."""

    name = "opencl"
    eager_builds_each_op = True

    def __init__(self):
        self._executables = ProgramCache()   # (id(program), device) -> (program, exe)
        self._eager: dict = {}
        self._lock = threading.Lock()
        self._devices = None

    # -- devices and transfers ----------------------------------------------------------

    def devices(self):
        if self._devices is None:
            self._devices = [Device("opencl", i, d)
                             for i, d in enumerate(_opencl().devices())]
        return list(self._devices)

    def default_device(self):
        return _opencl().default_device()

    def device_put(self, x, device=None):
        handle = getattr(device, "handle", None) or self.default_device()
        if isinstance(x, ArrayImpl) and x._backend is self and x._value.device is handle:
            return x
        a = x if isinstance(x, ArrayImpl) else core.to_array(x)
        return ArrayImpl(_upload(a._host_value(), handle, a.aval.dtype), a.aval, self)

    def to_host(self, value):
        if isinstance(value, np.ndarray):
            return value
        out = value.to_host()
        out.flags.writeable = False
        return out

    def block_until_ready(self, value):
        if hasattr(value, "block_until_ready"):
            value.block_until_ready()

    def is_ready(self, value) -> bool:
        return value.is_ready() if hasattr(value, "is_ready") else True

    def copy_to_host_async(self, value):
        return value.to_host_async() if hasattr(value, "to_host_async") else None

    def device_of(self, value):
        handle = getattr(value, "device", None)
        for d in self.devices():
            if d.handle is handle:
                return d
        return super().device_of(value)

    def _device_of(self, arrays):
        for a in arrays:
            if isinstance(a, ArrayImpl) and a._backend is self:
                if a._deleted:
                    a._host_value()   # raises the donated-array error
                return a._value.device
        return self.default_device()

    def _on_device(self, a, device):
        if isinstance(a, ArrayImpl) and a._backend is self:
            if a._deleted:
                a._host_value()   # raises the donated-array error
            if a._value.device is device:
                return a._value
        if not isinstance(a, ArrayImpl):
            a = core.to_array(a)
        return _upload(a._host_value(), device, a.aval.dtype)

    # -- programs ---------------------------------------------------------------------

    def executable(self, program: Program, device=None, name: str = "f") -> Executable:
        device = device or self.default_device()
        return self._executables.lookup((id(program), device), program,
                                        lambda: Executable(program, device, name),
                                        content=lambda: (device, name, _settings(device)))

    def clear_caches(self):
        """Forget the compiled programs held in memory (the binary cache on disk stays)."""
        self._executables.clear()
        _sub_executables.clear()

    def compile(self, program, name="f") -> None:
        self.executable(program, None, name)

    def execute_program(self, program, args, name="f", donate=()):
        device = self._device_of(args)
        exe = self.executable(program, device, name)
        vals = [self._on_device(a, device) for a in args]
        outs = exe.run(vals)
        return [ArrayImpl(o, a, self) for o, a in zip(outs, program.out_avals)]

    host_arrays = False

    def fast_runner(self, program, consts, name="f"):
        """jit's dispatch fast path: runs the executable on the inputs' device, with the
        constants uploaded to that device once (`execute_program` uploads host constants on
        every call), and returns its output DeviceBuffers."""
        per_device: dict = {}

        def runner(arrays):
            device = self._device_of(arrays)
            hit = per_device.get(device)
            if hit is None:
                exe = self.executable(program, device, name)
                hit = per_device[device] = (exe.run, [self._on_device(c, device)
                                                      for c in consts])
            run, cvals = hit
            return run(cvals + [self._on_device(a, device) for a in arrays])

        return runner

    def execute_primitive(self, prim, arrays, params, out_avals):
        if prim in control.array_impls:
            return control.array_impls[prim](*arrays, **params)
        device = self._device_of(arrays)
        in_avals = tuple(a.aval for a in arrays)
        outs_l = list(out_avals) if prim.multiple_results else [out_avals]
        try:
            key = (prim.name, _hashable(params), in_avals, tuple(outs_l), device)
        except TypeError:
            key = None
        hit = self._eager.get(key) if key is not None else None
        if hit is None:
            invars = [Var(a) for a in in_avals]
            outvars = [Var(a) for a in outs_l]
            program = Program([], invars, [Eqn(prim, invars, dict(params), outvars)], outvars)
            hit = (program, Executable(program, device, prim.name))
            if key is not None:
                with self._lock:
                    self._eager[key] = hit
        program, exe = hit
        outs = exe.run([self._on_device(a, device) for a in arrays])
        res = [ArrayImpl(o, a, self) for o, a in zip(outs, outs_l)]
        return res if prim.multiple_results else res[0]

    def optimize(self, program):
        return passes.optimize(program)

    def render_source(self, program, name="f"):
        return self.executable(program, None, name).source

