"""Export to one dependency-free C file: `to_c(f, *example_args, directory=..., name=...)`
writes `name.c` and `name.h` (C99, needing only libm) computing `jit(f)` at the examples'
shapes.

How: the C backend's own lowering builds the code. The optimised program is fused and
lowered to cdsl exactly as `jit` does on the `c` backend (same loop nests, same
reductions, scan as a C loop), then rendered with a serial C99 dialect: no OpenMP pragmas,
no `omp declare simd` (libmvec), no BLAS include. Its GEMM calls go to a blocked GEMM
written out into the file, and what the Python runtime does around the compiled segments
(pointer set-up, the scratch arena, copying outputs) becomes a C entry point. Reusing the
lowering rather than writing a second emitter means the exported code computes what `jit`
computes, with the same fusion, and every primitive the C backend compiles exports too.

The file holds:
- `int name_init(const char* weights_path)`: call once; with the weights embedded
  (default) the path is ignored (pass NULL); with `weights="blob"` it reads `name.weights`;
- `int name(const float* in0, ..., float* out0, ...)`: one inference, 0 on success;
  nothing is allocated (intermediates live in a static arena planned at export);
- `void name_release(void)`: frees the weights read by `name_init`.
The header documents every input's and output's shape and dtype. Arrays are C-contiguous
(row-major). The code is single-threaded and not reentrant (one static arena).
"""
from __future__ import annotations

import dataclasses
import keyword
import math
import os
import re
from dataclasses import dataclass

import numpy as np

import cdsl

from .. import dtypes
from ..lowering import gemm
from .program import ExportError, trace

_C_TYPES = {np.dtype(np.float32): "float", np.dtype(np.float64): "double",
            np.dtype(np.int32): "int32_t"}
_C_KEYWORDS = {"auto", "break", "case", "char", "const", "continue", "default", "do", "double",
               "else", "enum", "extern", "float", "for", "goto", "if", "inline", "int", "long",
               "register", "restrict", "return", "short", "signed", "sizeof", "static",
               "struct", "switch", "typedef", "union", "unsigned", "void", "volatile", "while",
               "main"}
_BLOB_MAGIC = b"FGXW0001"
# C library functions the generated files call (besides libm's).
_RESERVED = {"memcpy", "memcmp", "memset", "fopen", "fread", "fwrite", "fclose", "malloc",
             "free", "strcmp", "strtol", "printf", "fprintf", "clock", "read_file",
             "write_file"}

# The C99 dialect without parallel loops, libmvec declarations or BLAS: what runs on any
# C99 compiler with only libm. Entry points (`kernel=True`) become file-local functions.
# exp and log stay libm's (the jit's helpers work around glibc's vector exp and log and use GCC
# builtins).
SERIAL_C99 = dataclasses.replace(
    cdsl.C99, name="c99-serial", parallel_loop="serial", simd_math=(), blas_include="",
    preamble=(), kernel_qualifier="static", helper_calls={})


@dataclass
class CExport:
    """The files `to_c` wrote, and the entry point's inputs and outputs."""
    name: str
    source: str
    header: str
    weights: str | None
    main: str | None
    inputs: list
    outputs: list
    arena_bytes: int


def to_c(f, *example_args, directory, name, weights="embed", main=False) -> CExport:
    """Export `f(*example_args)` as `directory/name.c` and `directory/name.h`: C99 that
    needs only libm (no BLAS, no OpenMP, no funcgrad), single-threaded, computing
    `jit(f)` at the examples' shapes (the batch is fixed).

    `weights="embed"` writes the arrays `f` closes over as static arrays in the `.c`;
    `weights="blob"` writes them to `name.weights`, which `name_init(path)` reads. `main=True`
    also writes `name_main.c`, a command-line program reading each input from a raw binary
    file and writing each output to one (`name_main in0.bin ... out0.bin ...`). Inputs and
    outputs must be float32, float64 or int32; `ExportError` names any that is not, and
    any primitive the C export cannot compile."""
    if not isinstance(name, str) or not name.isidentifier() or not name.isascii() or \
            name in _C_KEYWORDS or keyword.iskeyword(name):
        raise ExportError(f"to_c: name={name!r} must be a C identifier (letters, digits, _; "
                          "not starting with a digit, not a C keyword)")
    if weights not in ("embed", "blob"):
        raise ExportError(f"to_c: weights={weights!r} must be 'embed' or 'blob'")
    ep = trace(f, example_args, dynamic_batch=False, what="to_c")
    for kind, ports in (("input", ep.inputs), ("output", ep.outputs)):
        for port in ports:
            dt = np.dtype(port.aval.dtype)
            if dt not in _C_TYPES:
                fix = ("pass a float32, float64 or int32 array (convert it inside the function "
                       "if it needs another type)" if kind == "input" else
                       "convert it in the function, e.g. with .astype(np.float32)")
                raise ExportError(
                    f"to_c({ep.name}): {kind} {port.name} ({port.path}) is "
                    f"{port.aval.short()}; the C export takes and returns float32, float64 "
                    f"and int32 arrays: {fix}")
    gen = _Generator(ep, name, weights)
    base = os.path.join(str(directory), name)
    files = {base + ".c": gen.source(), base + ".h": gen.header()}
    if main:
        files[base + "_main.c"] = gen.main_source()
    blob = base + ".weights" if weights == "blob" else None
    os.makedirs(directory, exist_ok=True)
    for path, text in files.items():
        with open(path, "w") as fh:
            fh.write(text)
    if blob is not None:
        with open(blob, "wb") as fh:
            fh.write(gen.blob())
    main_path = base + "_main.c" if main else None
    return CExport(name, base + ".c", base + ".h", blob, main_path, ep.inputs, ep.outputs,
                   gen.arena_bytes)


def _shape_text(aval) -> str:
    return f"{dtypes.short_name(aval.dtype)}[{','.join(str(int(d)) for d in aval.shape)}]"


class _Generator:
    """Builds the C backend's executable for the program and writes it out as C."""

    def __init__(self, ep, name, weights):
        from ..backends.c import Executable
        self.ep = ep
        self.name = name
        self.weights = weights
        with gemm.portable_conv():       # no vector types, no attributes: plain C99
            self.exe = exe = Executable(split_conv_groups(ep.program), f"{name}_k",
                                        compile=False)
        host = [s[0] for k, s in exe.steps if k == "host"]
        if host:
            raise _no_c_form(ep.name, host[0])
        self.functions = tuple(_rewrite_function(fn, name) for fn in exe.module.functions)
        self.uses = _check_calls(self.functions, ep.name, name)
        self.body = cdsl.render(cdsl.Module(self.functions), SERIAL_C99)
        if re.search(rf"\b{name}\b", self.body) or name in _RESERVED:
            raise ExportError(f"to_c({ep.name}): name={name!r} is also the name of a function "
                              "the generated file uses (a libm or C library function, or a "
                              "helper of the lowering); choose another name")
        self._plan()

    # -- memory -------------------------------------------------------------------------

    def _plan(self):
        """Where each buffer of the executable lives: an input, a weight, an output, or
        the static arena (intermediates and scratch, planned by the executable; outputs
        that are repeats get their own place after it)."""
        exe, ep = self.exe, self.ep
        nconst = ep.n_consts
        self.ptr: dict = {}
        for s in range(exe.n_in):
            self.ptr[s] = f"{self.name}_w{s}" if s < nconst else f"in{s - nconst}"
        for key, off in exe._arena_offsets.items():
            self.ptr[key] = ("arena", off)
        top = int(exe._arena_size)
        self.copies = []      # (output index, source pointer expression, bytes)
        self.fills = []       # (output index, value, count, ctype)
        taken = set()
        for k, (kind, v, aval) in enumerate(exe.out_slots):
            if kind == "lit":
                self.fills.append((k, v, int(aval.size), _C_TYPES[np.dtype(aval.dtype)]))
                continue
            if v >= exe.n_in and v in exe.c_written and v not in taken:
                self.ptr[v] = f"out{k}"
                taken.add(v)
                continue
            nbytes = int(aval.size) * np.dtype(aval.dtype).itemsize
            self.copies.append((k, v, nbytes))
        for s in sorted(exe.c_written):
            if s not in self.ptr:
                av = exe.slot_avals[s]
                self.ptr[s] = ("arena", top)
                top += max(64, -(-int(av.size) * av.dtype.itemsize // 64) * 64)
        self.arena_bytes = top

    def pointer(self, key, ctype) -> str:
        p = self.ptr.get(key)
        if p is None:
            raise AssertionError(f"to_c: internal error, buffer {key} has no place")
        if isinstance(p, tuple):
            self.arena_used = True
            return f"({ctype}*)({self.name}_arena + {p[1]})"
        return f"({ctype}*){p}"

    # -- text -----------------------------------------------------------------------------

    def signature(self) -> str:
        args = []
        for port in self.ep.inputs:
            args.append(f"const {_C_TYPES[np.dtype(port.aval.dtype)]}* {port.name}")
        for port in self.ep.outputs:
            args.append(f"{_C_TYPES[np.dtype(port.aval.dtype)]}* {port.name}")
        return f"int {self.name}({', '.join(args) or 'void'})"

    def header(self) -> str:
        n, up = self.name, self.name.upper()
        ep = self.ep
        if self.weights == "blob":
            init_doc = (f"Reads the weights from weights_path (the {n}.weights file written "
                        "with this file);\n *     -1 when it cannot be read, -2 when it is not "
                        "this model's.")
        else:
            init_doc = "The weights are compiled in: weights_path is ignored (pass NULL)."
        ports = "\n".join(
            [f" * input  {p.name}: {_shape_text(p.aval)}  ({_comment(p.path)})" for p in ep.inputs]
            + [f" * output {p.name}: {_shape_text(p.aval)}  ({_comment(p.path)})"
               for p in ep.outputs])
        macros = []
        for kind, group in (("IN", ep.inputs), ("OUT", ep.outputs)):
            for k, port in enumerate(group):
                shape = [int(d) for d in port.aval.shape]
                macros += [f"#define {up}_{kind}{k}_RANK {len(shape)}",
                           f"#define {up}_{kind}{k}_SIZE {math.prod(shape)}",
                           f"#define {up}_{kind}{k}_SHAPE {{{', '.join(map(str, shape)) or '0'}}}"]
        macros = "\n".join(macros)
        return f"""/* {n}.h: generated by funcgrad.export.to_c from {_comment(ep.name)}. C99; link with -lm only.
 *
 * int {n}_init(const char* weights_path);
 *     Call once before the first call of {n}; returns 0 on success.
 *     {init_doc}
 * {self.signature()};
 *     One inference: reads the inputs and writes the outputs, C-contiguous (row-major)
 *     arrays of the shapes below; returns 0, or -1 before {n}_init. Allocates nothing;
 *     single-threaded; not reentrant (intermediates live in one static arena of
 *     {self.arena_bytes} bytes).
 * void {n}_release(void);
 *     Frees what {n}_init allocated.
 *
{ports}
 */
#ifndef {up}_H
#define {up}_H

#include <stdint.h>

{macros}
#define {up}_NUM_INPUTS {len(ep.inputs)}
#define {up}_NUM_OUTPUTS {len(ep.outputs)}

int {n}_init(const char* weights_path);
{self.signature()};
void {n}_release(void);

#endif /* {up}_H */
"""

    def source(self) -> str:
        n = self.name
        parts = [f"""/* {n}.c: generated by funcgrad.export.to_c from {_comment(self.ep.name)}.
 * C99, single-threaded, needs only libm: cc -O2 -std=c99 -c {n}.c
 * The loop nests are funcgrad's C lowering of the optimised program; the GEMM is the
 * blocked one below. See {n}.h for the entry points. */
#include "{n}.h"
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
"""]
        for dt in sorted(self.uses, key=str):
            parts.append(_gemm_source(n, dt))
        parts.append(self.body)
        parts.append(self.weights_source())
        parts.append(self.driver())
        return "\n".join(parts)

    def _const_ctype(self, k) -> str:
        dt = np.dtype(self.ep.consts[k].dtype)
        c = cdsl.ctype_from_numpy(dt)
        return SERIAL_C99.type_names[c.name]

    def weights_source(self) -> str:
        n = self.name
        lines = []
        if self.weights == "blob":
            self.blob_offsets = []
            off = 0
            for c in self.ep.consts:
                self.blob_offsets.append(off)
                off += -(-c.nbytes // 64) * 64
            self.blob_size = off
            lines.append(f"static unsigned char* {n}_blob = NULL;")
            for k, off in enumerate(self.blob_offsets):
                lines.append(f"#define {n}_w{k} ({n}_blob + {off})")
            return "\n".join(lines) + "\n"
        for k, c in enumerate(self.ep.consts):
            ct = self._const_ctype(k)
            flat = np.asarray(c).reshape(-1)
            if flat.size == 0:
                lines.append(f"#define {n}_w{k} NULL")
                continue
            lines.append(f"/* {_shape_text_np(c)} */")
            lines.append(f"static const {ct} {n}_w{k}[{flat.size}] = {{")
            lines.append(_c_array_body(flat))
            lines.append("};")
        return "\n".join(lines) + "\n"

    def driver(self) -> str:
        n, exe = self.name, self.exe
        self.arena_used = False
        body = [f"{self.signature()} {{", f"    if (!{n}_ready) return -1;"]
        for _kind, seg in exe.steps:
            params = list(seg.fn.params)
            args = [self.pointer(sl, _ptr_elem(prm)) for sl, prm in zip(seg.slots, params)]
            args += [self.pointer(t, _ptr_elem(prm))
                     for t, prm in zip(seg.temps, params[len(seg.slots):])]
            body.append(f"    {seg.fn.name}({', '.join(args)});")
        for k, slot, nbytes in self.copies:
            ct = _C_TYPES[np.dtype(exe.slot_avals[slot].dtype)]
            body.append(f"    memcpy(out{k}, {self.pointer(slot, ct)}, {nbytes});")
        for k, value, count, ct in self.fills:
            lit = _c_scalar(np.asarray(value).reshape(()))
            body.append(f"    for (int64_t i = 0; i < {count}; ++i) out{k}[i] = ({ct}){lit};")
        body += ["    return 0;", "}", ""]
        lines = []
        if self.arena_used:
            words = max(1, -(-self.arena_bytes // 8))
            lines += [(f"/* The arena: intermediates and GEMM scratch ({self.arena_bytes} bytes; "
                       "offsets planned at export; a block is reused once its value is dead). */"),
                      f"static union {{ double d; int64_t i; }} {n}_arena_[{words}];",
                      f"#define {n}_arena ((unsigned char*){n}_arena_)"]
        lines += [f"static int {n}_ready = 0;", ""]
        return "\n".join(lines + self.init_source() + body)

    def init_source(self) -> list:
        n = self.name
        if self.weights == "embed":
            return f"""int {n}_init(const char* weights_path) {{
    (void)weights_path;
    {n}_ready = 1;
    return 0;
}}

void {n}_release(void) {{
    {n}_ready = 0;
}}
""".splitlines()
        size, check = self.blob_size, self.blob_checksum()
        magic = _BLOB_MAGIC.decode()
        return f"""/* The weights file: "{magic}", the payload's size and checksum (little-endian
   uint64s), then the payload: each array at a 64-byte aligned offset. Little-endian hosts. */
int {n}_init(const char* weights_path) {{
    unsigned char head[24];
    uint64_t size = 0, sum = 0, want = 0, w;
    size_t i, b;
    FILE* fp;
    if ({n}_ready) return 0;
    if (weights_path == NULL) return -1;
    fp = fopen(weights_path, "rb");
    if (fp == NULL) return -1;
    if (fread(head, 1, 24, fp) != 24 || memcmp(head, "{magic}", 8) != 0) {{
        fclose(fp);
        return -2;
    }}
    for (i = 0; i < 8; ++i) {{
        size |= (uint64_t)head[8 + i] << (8 * i);
        want |= (uint64_t)head[16 + i] << (8 * i);
    }}
    if (size != {size}ULL || want != {check}ULL) {{
        fclose(fp);
        return -2;
    }}
    {n}_blob = (unsigned char*)malloc({max(size, 8)});
    if ({n}_blob == NULL) {{
        fclose(fp);
        return -1;
    }}
    if (fread({n}_blob, 1, {size}, fp) != {size}) {{
        free({n}_blob);
        {n}_blob = NULL;
        fclose(fp);
        return -1;
    }}
    fclose(fp);
    /* checksum: the sum of the payload's 64-bit words times (2i + 1), modulo 2^64 */
    for (i = 0; i < {size // 8}; ++i) {{
        w = 0;
        for (b = 0; b < 8; ++b) w |= (uint64_t){n}_blob[8 * i + b] << (8 * b);
        sum += w * (2 * (uint64_t)i + 1);
    }}
    if (sum != want) {{
        free({n}_blob);
        {n}_blob = NULL;
        return -2;
    }}
    {n}_ready = 1;
    return 0;
}}

void {n}_release(void) {{
    free({n}_blob);
    {n}_blob = NULL;
    {n}_ready = 0;
}}
""".splitlines()

    def _payload(self) -> bytes:
        if not hasattr(self, "blob_offsets"):
            self.weights_source()
        buf = bytearray(self.blob_size)
        for c, off in zip(self.ep.consts, self.blob_offsets):
            data = np.ascontiguousarray(c).astype(np.asarray(c).dtype.newbyteorder("<"),
                                                  copy=False).tobytes()
            buf[off:off + len(data)] = data
        return bytes(buf)

    def blob_checksum(self) -> int:
        words = np.frombuffer(self._payload(), dtype="<u8")
        weights = (2 * np.arange(len(words), dtype=np.uint64) + 1)
        with np.errstate(over="ignore"):
            return int(np.sum(words * weights, dtype=np.uint64))

    def blob(self) -> bytes:
        payload = self._payload()
        head = _BLOB_MAGIC + len(payload).to_bytes(8, "little") + \
            self.blob_checksum().to_bytes(8, "little")
        return head + payload

    def main_source(self) -> str:
        n, up, ep = self.name, self.name.upper(), self.ep
        nin, nout = len(ep.inputs), len(ep.outputs)
        files = " ".join([f"{p.name}.bin" for p in ep.inputs + ep.outputs])
        decls, reads, writes, frees = [], [], [], []
        for kind, group in (("in", ep.inputs), ("out", ep.outputs)):
            for k, p in enumerate(group):
                ct = _C_TYPES[np.dtype(p.aval.dtype)]
                size = f"{up}_{kind.upper()}{k}_SIZE"
                decls.append(f"    {ct}* {kind}{k} = ({ct}*)malloc(sizeof({ct}) * "
                             f"({size} > 0 ? {size} : 1));")
                frees.append(f"    free({kind}{k});")
                j = k if kind == "in" else nin + k
                io = ("read_file", "read") if kind == "in" else ("write_file", "write")
                (reads if kind == "in" else writes).append(
                    f"""    if ({io[0]}(argv[a + {j}], {kind}{k}, sizeof(*{kind}{k}) * {size}) != 0) {{
        fprintf(stderr, "cannot {io[1]} %s\\n", argv[a + {j}]);
        return 1;
    }}""")
        args = ", ".join([f"in{k}" for k in range(nin)] + [f"out{k}" for k in range(nout)])
        nl = "\n"
        return f"""/* {n}_main.c: reads each input of {n} from a raw binary file (C-contiguous, native
 * byte order), runs it and writes each output to a raw binary file:
 *     {n}_main [-r REPEAT] [-w WEIGHTS] {files}
 * With -r it then runs REPEAT more times and prints the mean CPU time of one call in
 * seconds; -w gives the weights file of a model exported with weights="blob". */
#include "{n}.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int read_file(const char* path, void* dst, size_t nbytes) {{
    FILE* fp = fopen(path, "rb");
    size_t got;
    if (fp == NULL) return -1;
    got = fread(dst, 1, nbytes, fp);
    fclose(fp);
    return got == nbytes ? 0 : -1;
}}

static int write_file(const char* path, const void* src, size_t nbytes) {{
    FILE* fp = fopen(path, "wb");
    size_t put;
    if (fp == NULL) return -1;
    put = fwrite(src, 1, nbytes, fp);
    return (fclose(fp) == 0 && put == nbytes) ? 0 : -1;
}}

int main(int argc, char** argv) {{
    long repeat = 0, r;
    const char* weights = NULL;
    int a = 1, status;
{nl.join(decls)}
    while (a + 1 < argc && (strcmp(argv[a], "-r") == 0 || strcmp(argv[a], "-w") == 0)) {{
        if (argv[a][1] == 'r') repeat = strtol(argv[a + 1], NULL, 10);
        else weights = argv[a + 1];
        a += 2;
    }}
    if (argc - a != {nin + nout}) {{
        fprintf(stderr, "usage: %s [-r REPEAT] [-w WEIGHTS] {files}\\n", argv[0]);
        return 2;
    }}
    status = {n}_init(weights);
    if (status != 0) {{
        fprintf(stderr, "{n}_init failed (%d)\\n", status);
        return 1;
    }}
{nl.join(reads)}
    status = {n}({args});
    if (status != 0) {{
        fprintf(stderr, "{n} failed (%d)\\n", status);
        return 1;
    }}
    if (repeat > 0) {{
        clock_t t0 = clock();
        for (r = 0; r < repeat; ++r) status |= {n}({args});
        printf("%.9f\\n", (double)(clock() - t0) / CLOCKS_PER_SEC / (double)repeat);
    }}
{nl.join(writes)}
{nl.join(frees)}
    {n}_release();
    return status;
}}
"""


def _comment(text) -> str:
    """Text safe inside a C comment."""
    return str(text).replace("*/", "* /").replace("\n", " ")


def _ptr_elem(param) -> str:
    t = param.type
    elem = t.elem if isinstance(t, cdsl.PtrType) else t
    return SERIAL_C99.type_names[elem.name]


def _shape_text_np(a) -> str:
    return f"{dtypes.short_name(a.dtype)}[{','.join(map(str, a.shape))}]"


def _c_scalar(v) -> str:
    v = np.asarray(v)
    if v.dtype.kind == "f":
        x = float(v)
        if math.isnan(x):
            return "NAN"
        if math.isinf(x):
            return "INFINITY" if x > 0 else "(-INFINITY)"
        return repr(x)
    if v.dtype.kind == "b":
        return "1" if bool(v) else "0"
    return str(int(v))


def _c_array_body(flat: np.ndarray) -> str:
    """The initializer of a static array: float32 values in 9 significant digits (which
    round-trip exactly), float64 in 17, 8 per line."""
    if flat.dtype.kind == "f":
        digits = 9 if flat.dtype == np.float32 else 17
        suffix = "f" if flat.dtype == np.float32 else ""
        finite = np.isfinite(flat)
        text = np.char.mod(f"%.{digits}g", flat.astype(np.float64))
        # `1` is an int in C: integral values get a point (`1.f`).
        text = np.where(np.char.find(text, ".") + np.char.find(text, "e") == -2,
                        np.char.add(text, "."), text)
        items = [t + suffix if ok else ("NAN" if np.isnan(v) else
                                        ("INFINITY" if v > 0 else "(-INFINITY)"))
                 for t, ok, v in zip(text.tolist(), finite.tolist(), flat.tolist())]
    elif flat.dtype.kind == "b":
        items = ["1" if v else "0" for v in flat.tolist()]
    else:
        items = [str(int(v)) for v in flat.tolist()]
    rows = [", ".join(items[i:i + 8]) for i in range(0, len(items), 8)]
    return "    " + ",\n    ".join(rows)


# ---------------------------------------------------------------------------------------
# The lowered functions, rewritten for the export


def _rewrite(node, fn):
    """`node` with every sub-node for which `fn` returns a replacement replaced."""
    if isinstance(node, tuple):
        new = tuple(_rewrite(x, fn) for x in node)
        return node if all(a is b for a, b in zip(new, node)) else new
    if isinstance(node, list):
        return [_rewrite(x, fn) for x in node]
    if not dataclasses.is_dataclass(node) or isinstance(node, type):
        return node
    rep = fn(node)
    if rep is not None:
        return rep
    changes = {}
    for f in dataclasses.fields(node):
        v = getattr(node, f.name)
        nv = _rewrite(v, fn)
        if nv is not v:
            changes[f.name] = nv
    return dataclasses.replace(node, **changes) if changes else node


_GEMMS = {"scipy_cblas_sgemm": np.dtype(np.float32), "scipy_cblas_dgemm": np.dtype(np.float64)}
_BLAS_NAMES = {name: value for value, name in gemm.BLAS_ENUMS.items()}


def _rewrite_function(fn, name):
    """A lowered function for the export: BLAS GEMM calls go to the file's own GEMM; the
    row split of big GEMMs over OpenMP threads becomes one part (one thread)."""
    def fix(node):
        if isinstance(node, cdsl.Call):
            if node.fn in _GEMMS:
                args = tuple(_rewrite(a, fix) for a in node.args)
                sfx = "s" if _GEMMS[node.fn] == np.float32 else "d"
                return cdsl.Call(f"{name}_{sfx}gemm", args, node.type)
            if node.fn == "omp_get_max_threads":
                return cdsl.Const(1, cdsl.i32)
        if isinstance(node, cdsl.Var) and node.name in _BLAS_NAMES:   # no cblas.h here
            return cdsl.Const(_BLAS_NAMES[node.name], cdsl.i32)
        return None
    out = _rewrite(fn, fix)
    return dataclasses.replace(out, kernel=True)


def _libm_names() -> set:
    from cdsl.render import BINARY_MATH, UNARY_MATH
    return set(UNARY_MATH) | set(BINARY_MATH)


def _check_calls(functions, fname, name) -> set:
    """The GEMM dtypes the functions use; raises for a call the export cannot satisfy (a
    LAPACK routine, say)."""
    from cdsl import ast as A
    from cdsl import helpers
    own = {f.name for f in functions}
    libm = _libm_names() | {"isfinite", "isnan", "isinf", "fmax_nan", "fmin_nan", "fma",
                            "fmaf"}
    uses = set()
    for fn_name, tname in sorted(A.calls(functions)):
        if fn_name in own or fn_name in libm:
            continue
        if fn_name == f"{name}_sgemm":
            uses.add(np.dtype(np.float32))
            continue
        if fn_name == f"{name}_dgemm":
            uses.add(np.dtype(np.float64))
            continue
        if helpers._make(fn_name, tname) is not None:
            continue
        raise ExportError(f"to_c({fname}): the lowered code calls {fn_name}(), which the "
                          "dependency-free C export does not provide (it needs only libm); the "
                          "operation using it (LAPACK linear algebra, say) cannot be exported "
                          "to C")
    return uses


def _no_c_form(fname, eqn) -> ExportError:
    from ..ir import Program, pp_program
    text = pp_program(Program([], [], [eqn], []), 4).splitlines()
    body = "\n".join(text[1:-1])
    extra = ""
    if eqn.prim.name in ("scan", "while", "cond"):
        extra = " (a body, condition or branch holds an operation with no C lowering)"
    return ExportError(f"to_c({fname}): primitive '{eqn.prim.name}' has no C lowering{extra}. "
                       f"The equation:\n{body}")


def split_conv_groups(program):
    """Grouped convolutions (feature_group_count G > 1) as G convolutions of slices,
    concatenated: the C lowering compiles ungrouped convolutions (im2col + GEMM) only."""
    from ..core import shape_rules
    from ..ir import ClosedProgram, Eqn, Program, Var
    from ..prims import indexing as ix
    from ..prims import linalg as la

    def bind(prim, ins, **params):
        aval = shape_rules[prim](*[a.aval for a in ins], **params)
        out = Var(aval)
        eqns.append(Eqn(prim, ins, params, [out]))
        return out

    def sliced(x, axis, lo, hi):
        shape = x.aval.shape
        start = tuple(lo if d == axis else 0 for d in range(len(shape)))
        limit = tuple(hi if d == axis else int(n) for d, n in enumerate(shape))
        return bind(ix.slice_p, [x], start_indices=start, limit_indices=limit,
                    strides=(1,) * len(shape))

    eqns: list = []
    for e in program.eqns:
        params = {}
        for k, v in e.params.items():
            if isinstance(v, Program):
                v = split_conv_groups(v)
            elif isinstance(v, ClosedProgram):
                v = ClosedProgram(split_conv_groups(v.program), v.consts)
            params[k] = v
        groups = params.get("feature_group_count", 1)
        if e.prim is not la.conv_general_dilated_p or groups == 1 or \
                params["batch_group_count"] != 1:
            eqns.append(Eqn(e.prim, e.inputs, params, e.outputs))
            continue
        lhs, rhs = e.inputs
        ls, rs, os_ = params["dimension_numbers"]
        cin = int(lhs.aval.shape[ls[1]]) // groups
        cout = int(rhs.aval.shape[rs[0]]) // groups
        one = dict(params, feature_group_count=1)
        parts = [bind(la.conv_general_dilated_p,
                      [sliced(lhs, ls[1], g * cin, (g + 1) * cin),
                       sliced(rhs, rs[0], g * cout, (g + 1) * cout)], **one)
                 for g in range(groups)]
        eqns.append(Eqn(ix.concatenate_p, parts, {"dimension": os_[1]}, e.outputs))
    return Program(program.constvars, program.invars, eqns, program.outvars)


# ---------------------------------------------------------------------------------------
# The GEMM


def _gemm_source(prefix: str, dtype) -> str:
    """A blocked GEMM with cblas_?gemm's row-major contract: C = alpha*op(A)*op(B) + beta*C,
    op(A) m x k, op(B) k x n, transposes given as 111 (none) / 112. Panels of B (KC rows x NR
    columns) and A (MC rows, MR at a time) are packed into static buffers and multiplied by
    an MR x NR register tile; a few rows (a batch of 1) skip the packing. Under GCC or
    Clang the tile uses their vector extension (two vectors of the widest width the target
    has, AVX or SSE2/NEON, per row); any other C99 compiler, or -DFUNCGRAD_EXPORT_PLAIN_C,
    gets plain loops."""
    t = "float" if np.dtype(dtype) == np.float32 else "double"
    f = "s" if t == "float" else "d"
    fn = f"{prefix}_{f}gemm"
    up = fn.upper()
    return f"""
/* ---- GEMM: C = alpha * op(A) * op(B) + beta * C (row-major; ta, tb: 111 no transpose,
   112 transpose), as cblas_{f}gemm. */
#if defined(FUNCGRAD_EXPORT_PLAIN_C)
/* plain C loops, whatever the compiler */
#elif defined(__GNUC__) && defined(__AVX__)
#define {up}_VEC 32
#elif defined(__GNUC__) && (defined(__SSE2__) || defined(__ARM_NEON))
#define {up}_VEC 16
#endif
#ifdef {up}_VEC
#define {up}_NR (2 * {up}_VEC / (int)sizeof({t}))
#else
#define {up}_NR 8
#endif
enum {{ {fn}_MR = 4, {fn}_NR = {up}_NR, {fn}_MC = 64, {fn}_KC = 256, {fn}_NC = 512 }};
static {t} {fn}_pa[{fn}_MC * {fn}_KC];
static {t} {fn}_pb[{fn}_KC * {fn}_NC];

/* The register tile: acc (MR x NR) = the packed MR rows of A times the packed NR columns
   of B over kc. */
#ifdef {up}_VEC
typedef {t} {fn}_vec __attribute__((vector_size({up}_VEC)));
static void {fn}_tile(int64_t kc, const {t}* ap, const {t}* bp, {t}* acc) {{
    const int h = {fn}_NR / 2;
    {fn}_vec c00 = {{0}}, c01 = {{0}}, c10 = {{0}}, c11 = {{0}};
    {fn}_vec c20 = {{0}}, c21 = {{0}}, c30 = {{0}}, c31 = {{0}};
    int64_t p;
    for (p = 0; p < kc; ++p) {{
        {fn}_vec b0, b1;
        memcpy(&b0, bp, sizeof b0);
        memcpy(&b1, bp + h, sizeof b1);
        c00 += ap[0] * b0;
        c01 += ap[0] * b1;
        c10 += ap[1] * b0;
        c11 += ap[1] * b1;
        c20 += ap[2] * b0;
        c21 += ap[2] * b1;
        c30 += ap[3] * b0;
        c31 += ap[3] * b1;
        ap += {fn}_MR;
        bp += {fn}_NR;
    }}
    memcpy(acc, &c00, sizeof c00);
    memcpy(acc + h, &c01, sizeof c01);
    memcpy(acc + {fn}_NR, &c10, sizeof c10);
    memcpy(acc + {fn}_NR + h, &c11, sizeof c11);
    memcpy(acc + 2 * {fn}_NR, &c20, sizeof c20);
    memcpy(acc + 2 * {fn}_NR + h, &c21, sizeof c21);
    memcpy(acc + 3 * {fn}_NR, &c30, sizeof c30);
    memcpy(acc + 3 * {fn}_NR + h, &c31, sizeof c31);
}}
#else
static void {fn}_tile(int64_t kc, const {t}* ap, const {t}* bp, {t}* acc) {{
    {t} r0[{fn}_NR], r1[{fn}_NR], r2[{fn}_NR], r3[{fn}_NR];
    int64_t p, j;
    for (j = 0; j < {fn}_NR; ++j) r0[j] = r1[j] = r2[j] = r3[j] = 0;
    for (p = 0; p < kc; ++p) {{
        const {t} a0 = ap[0], a1 = ap[1], a2 = ap[2], a3 = ap[3];
        for (j = 0; j < {fn}_NR; ++j) {{
            const {t} bv = bp[j];
            r0[j] += a0 * bv;
            r1[j] += a1 * bv;
            r2[j] += a2 * bv;
            r3[j] += a3 * bv;
        }}
        ap += {fn}_MR;
        bp += {fn}_NR;
    }}
    for (j = 0; j < {fn}_NR; ++j) {{
        acc[j] = r0[j];
        acc[{fn}_NR + j] = r1[j];
        acc[2 * {fn}_NR + j] = r2[j];
        acc[3 * {fn}_NR + j] = r3[j];
    }}
}}
#endif

static void {fn}(int64_t order, int64_t ta, int64_t tb, int64_t m, int64_t n, int64_t k,
        {t} alpha, const {t}* a, int64_t lda, const {t}* b, int64_t ldb, {t} beta,
        {t}* c, int64_t ldc) {{
    int64_t i, j, p, ic, jc, pc, ii, jj;
    (void)order;
    if (m <= 0 || n <= 0) return;
    if (k <= 0 || alpha == 0) {{
        for (i = 0; i < m; ++i)
            for (j = 0; j < n; ++j) c[i * ldc + j] = beta == 0 ? 0 : beta * c[i * ldc + j];
        return;
    }}
    if (m < 2 * {fn}_MR) {{
        /* a few rows: stream B once per row */
        for (i = 0; i < m; ++i) {{
            {t}* cr = c + i * ldc;
            for (j = 0; j < n; ++j) cr[j] = beta == 0 ? 0 : beta * cr[j];
            if (tb == 111) {{
                for (p = 0; p < k; ++p) {{
                    const {t} av = alpha * (ta == 111 ? a[i * lda + p] : a[p * lda + i]);
                    const {t}* br = b + p * ldb;
                    for (j = 0; j < n; ++j) cr[j] += av * br[j];
                }}
            }} else {{
                for (j = 0; j < n; ++j) {{
                    const {t}* br = b + j * ldb;
                    {t} s = 0;
                    if (ta == 111) {{
                        const {t}* ar = a + i * lda;
                        for (p = 0; p < k; ++p) s += ar[p] * br[p];
                    }} else {{
                        for (p = 0; p < k; ++p) s += a[p * lda + i] * br[p];
                    }}
                    cr[j] += alpha * s;
                }}
            }}
        }}
        return;
    }}
    for (jc = 0; jc < n; jc += {fn}_NC) {{
        const int64_t nc = n - jc < {fn}_NC ? n - jc : {fn}_NC;
        for (pc = 0; pc < k; pc += {fn}_KC) {{
            const int64_t kc = k - pc < {fn}_KC ? k - pc : {fn}_KC;
            const {t} bet = pc == 0 ? beta : 1;
            /* pack B into panels of NR columns, reading B's rows (or, transposed, its
               columns) contiguously */
            if (tb == 111) {{
                for (p = 0; p < kc; ++p) {{
                    const {t}* src = b + (pc + p) * ldb + jc;
                    for (j = 0; j < nc; j += {fn}_NR) {{
                        {t}* dst = {fn}_pb + j * kc + p * {fn}_NR;
                        const int64_t nr = nc - j < {fn}_NR ? nc - j : {fn}_NR;
                        for (jj = 0; jj < nr; ++jj) dst[jj] = src[j + jj];
                        for (jj = nr; jj < {fn}_NR; ++jj) dst[jj] = 0;
                    }}
                }}
            }} else {{
                for (j = 0; j < nc; j += {fn}_NR) {{
                    {t}* dst = {fn}_pb + j * kc;
                    const int64_t nr = nc - j < {fn}_NR ? nc - j : {fn}_NR;
                    for (jj = 0; jj < {fn}_NR; ++jj) {{
                        if (jj < nr) {{
                            const {t}* src = b + (jc + j + jj) * ldb + pc;
                            for (p = 0; p < kc; ++p) dst[p * {fn}_NR + jj] = src[p];
                        }} else {{
                            for (p = 0; p < kc; ++p) dst[p * {fn}_NR + jj] = 0;
                        }}
                    }}
                }}
            }}
            for (ic = 0; ic < m; ic += {fn}_MC) {{
                const int64_t mc = m - ic < {fn}_MC ? m - ic : {fn}_MC;
                /* pack A into panels of MR rows */
                for (i = 0; i < mc; i += {fn}_MR) {{
                    {t}* dst = {fn}_pa + i * kc;
                    const int64_t mr = mc - i < {fn}_MR ? mc - i : {fn}_MR;
                    if (ta == 111) {{
                        for (ii = 0; ii < {fn}_MR; ++ii) {{
                            if (ii < mr) {{
                                const {t}* src = a + (ic + i + ii) * lda + pc;
                                for (p = 0; p < kc; ++p) dst[p * {fn}_MR + ii] = src[p];
                            }} else {{
                                for (p = 0; p < kc; ++p) dst[p * {fn}_MR + ii] = 0;
                            }}
                        }}
                    }} else {{
                        for (p = 0; p < kc; ++p) {{
                            const {t}* src = a + (pc + p) * lda + ic + i;
                            for (ii = 0; ii < mr; ++ii) dst[p * {fn}_MR + ii] = src[ii];
                            for (ii = mr; ii < {fn}_MR; ++ii) dst[p * {fn}_MR + ii] = 0;
                        }}
                    }}
                }}
                for (j = 0; j < nc; j += {fn}_NR) {{
                    const int64_t nr = nc - j < {fn}_NR ? nc - j : {fn}_NR;
                    for (i = 0; i < mc; i += {fn}_MR) {{
                        const int64_t mr = mc - i < {fn}_MR ? mc - i : {fn}_MR;
                        {t} acc[{fn}_MR * {fn}_NR];
                        {fn}_tile(kc, {fn}_pa + i * kc, {fn}_pb + j * kc, acc);
                        for (ii = 0; ii < mr; ++ii) {{
                            {t}* cr = c + (ic + i + ii) * ldc + jc + j;
                            const {t}* ar = acc + ii * {fn}_NR;
                            for (jj = 0; jj < nr; ++jj)
                                cr[jj] = alpha * ar[jj] + (bet == 0 ? 0 : bet * cr[jj]);
                        }}
                    }}
                }}
            }}
        }}
    }}
}}
"""
