"""Command line: export a function whose parameters were saved with `funcgrad.io`.

    python -m funcgrad.export mymodel:predict --params params.npz --input 1,8,8,1 \\
        --onnx model.onnx --c build/ --dot model.svg
"""
from __future__ import annotations

import argparse
import importlib
import importlib.util
import os
import sys

import numpy as np

_DESCRIPTION = """\
Export a funcgrad function to ONNX, to one dependency-free C file, or as a picture.

FUNCTION names the function, as module.path:name (imported from the current directory and
sys.path) or path/to/file.py:name. With --params it is called as name(params, *inputs),
params being the pytree in the file written by funcgrad.io.save (the trained parameters);
without it, as name(*inputs). Each --input gives one example input's shape and dtype
(zeros of that shape are traced)."""

_EPILOG = """\
examples:
  python -m funcgrad.export mnist:predict --params params.npz --input 1,28,28,1 --onnx m.onnx
  python -m funcgrad.export mnist:predict --params params.npz --input 1,28,28,1 \\
      --c build --name mnist --weights blob --main
  python -m funcgrad.export model.py:predict --params p.npz --input 64,8,8,1 --dot step.svg"""


def _parse_input(text: str):
    shape_text, _, dtype = text.partition(":")
    try:
        shape = tuple(int(s) for s in shape_text.split(",") if s.strip() != "")
        dt = np.dtype(dtype or "float32")
    except (ValueError, TypeError) as e:
        raise argparse.ArgumentTypeError(
            f"--input {text!r}: expected a shape like 1,8,8,1 or 64,5:int32 ({e})") from None
    return np.zeros(shape, dt)


def load_function(spec: str):
    """The function named by `module.path:name` or `path/to/file.py:name`."""
    mod_name, sep, attr = spec.rpartition(":")
    if not sep or not mod_name or not attr:
        raise SystemExit(f"error: FUNCTION {spec!r} must look like module.path:name or "
                         "path/to/file.py:name")
    if mod_name.endswith(".py") or os.sep in mod_name:
        path = os.path.abspath(mod_name)
        if not os.path.exists(path):
            raise SystemExit(f"error: {path} does not exist")
        name = os.path.splitext(os.path.basename(path))[0]
        spec_ = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(spec_)
        sys.modules[name] = module
        spec_.loader.exec_module(module)
    else:
        if "" not in sys.path and os.getcwd() not in sys.path:
            sys.path.insert(0, os.getcwd())
        module = importlib.import_module(mod_name)
    obj = module
    for part in attr.split("."):
        if not hasattr(obj, part):
            raise SystemExit(f"error: {mod_name} has no attribute {attr!r}")
        obj = getattr(obj, part)
    if not callable(obj):
        raise SystemExit(f"error: {spec} is a {type(obj).__name__}, not a function")
    return obj


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m funcgrad.export", description=_DESCRIPTION,
                                epilog=_EPILOG,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("function", metavar="FUNCTION",
                   help="module.path:name or path/to/file.py:name")
    p.add_argument("--params", metavar="FILE",
                   help="parameters saved with funcgrad.io.save, passed as the first argument")
    p.add_argument("--input", metavar="SHAPE[:DTYPE]", action="append", type=_parse_input,
                   required=True, help="an example input: shape (and dtype, default "
                   "float32), e.g. 1,8,8,1 or 64,5:int32; repeat for each input")
    p.add_argument("--onnx", metavar="PATH", help="write an ONNX model (needs onnx)")
    p.add_argument("--opset", type=int, default=17, help="ONNX opset (default 17)")
    p.add_argument("--static-batch", action="store_true",
                   help="ONNX: keep the batch size fixed (default: the leading axis of every "
                   "input is a dynamic 'batch')")
    p.add_argument("--c", metavar="DIR", help="write NAME.c and NAME.h into DIR")
    p.add_argument("--name", default=None,
                   help="C name of the entry point (default: the function's name)")
    p.add_argument("--weights", choices=("embed", "blob"), default="embed",
                   help="C: weights compiled into the .c (embed) or in NAME.weights (blob)")
    p.add_argument("--main", action="store_true",
                   help="C: also write NAME_main.c, a program reading and writing raw files")
    p.add_argument("--dot", metavar="PATH", help="draw the lowered program: .dot writes "
                   "Graphviz text, .svg/.png/.pdf renders it (needs Graphviz's dot)")
    return p


def main(argv=None) -> int:
    """Run the command line; returns the exit status."""
    args = build_parser().parse_args(argv)
    if not (args.onnx or args.c or args.dot):
        print("error: nothing to write: give --onnx PATH, --c DIR and/or --dot PATH",
              file=sys.stderr)
        return 2
    fn = load_function(args.function)
    inputs = list(args.input)
    if args.params:
        from .. import io
        params = io.load(args.params)

        def bound(*xs):
            return fn(params, *xs)
        bound.__name__ = getattr(fn, "__name__", "f")
        f = bound
    else:
        f = fn
    from . import ExportError
    try:
        if args.onnx:
            from .onnx import to_onnx
            to_onnx(f, *inputs, path=args.onnx, dynamic_batch=not args.static_batch,
                    opset=args.opset)
            print(f"wrote {args.onnx}")
        if args.c:
            from .c import to_c
            name = args.name or "".join(ch if ch.isalnum() else "_"
                                        for ch in getattr(fn, "__name__", "model"))
            out = to_c(f, *inputs, directory=args.c, name=name, weights=args.weights,
                       main=args.main)
            for path in (out.source, out.header, out.weights, out.main):
                if path:
                    print(f"wrote {path}")
        if args.dot:
            from ..api import jit
            from .graph import render, to_dot
            lowered = jit(f).lower(*inputs)
            if args.dot.endswith(".dot") or args.dot.endswith(".gv"):
                with open(args.dot, "w") as fh:
                    fh.write(to_dot(lowered))
            else:
                render(lowered, args.dot)
            print(f"wrote {args.dot}")
    except ExportError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
