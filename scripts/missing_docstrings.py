"""List the public functions and classes of funcgrad's public modules that have no docstring.

    python scripts/missing_docstrings.py [--methods] [--check] [module ...]

A module's public names are its `__all__` (or, without one, its names that do not start
with `_`, skipping submodules and objects defined outside funcgrad). A name counts as
documented when the object it is bound to has its own docstring: a function or class, or a
wrapper object (a `jit`, `custom_jvp` or `custom_vjp` function) whose docstring is not
just its wrapper class's. Values that cannot carry a docstring (stax layers, which are
`(init_fun, apply_fun)` tuples; constants) are not counted. `--methods` also lists the
public methods of public classes; `--check` exits with status 1 when anything is missing.
"""
from __future__ import annotations

import argparse
import importlib
import inspect
import os
import sys
import types

MODULES = (
    "funcgrad", "funcgrad.numpy", "funcgrad.numpy.linalg", "funcgrad.lax", "funcgrad.random",
    "funcgrad.nn", "funcgrad.nn.initializers", "funcgrad.stax", "funcgrad.optimizers",
    "funcgrad.tree_util", "funcgrad.tree", "funcgrad.scipy.linalg", "funcgrad.scipy.special",
    "funcgrad.scipy.stats.norm", "funcgrad.scipy.stats.multivariate_normal", "funcgrad.io",
    "funcgrad.testing", "funcgrad.config", "funcgrad.debug", "funcgrad.datasets",
    "funcgrad.experimental", "funcgrad.cache", "funcgrad.distributed", "funcgrad.export",
)


def public_names(module: types.ModuleType) -> list[str]:
    """The module's `__all__`, else its names without a leading underscore that are bound
    to objects defined in funcgrad (submodules excluded)."""
    names = getattr(module, "__all__", None)
    if names is not None:
        return list(names)
    out = []
    for name, obj in vars(module).items():
        if name.startswith("_") or isinstance(obj, types.ModuleType):
            continue
        if _defined_in_funcgrad(obj):
            out.append(name)
    return sorted(out)


def _defined_in_funcgrad(obj) -> bool:
    mod = getattr(obj, "__module__", None)
    if not isinstance(mod, str):
        mod = getattr(type(obj), "__module__", "")
    return mod == "funcgrad" or mod.startswith("funcgrad.")


def _own_doc(obj) -> str | None:
    """The docstring `obj` itself carries, or None."""
    if inspect.isclass(obj):
        doc = obj.__dict__.get("__doc__")
        # A NamedTuple or dataclass without a docstring gets a generated one: `Name(a, b)`.
        if doc and doc.startswith(f"{obj.__name__}(") and doc.rstrip().endswith(")") \
                and "\n" not in doc.strip():
            return None
        return doc
    if inspect.isroutine(obj):
        return getattr(obj, "__doc__", None)
    doc = getattr(obj, "__doc__", None)
    if doc is not None and doc == type(obj).__doc__:
        return None          # only the wrapper class's docstring
    return doc


def _counts(obj) -> bool:
    """Whether `obj` is something that should carry a docstring of its own."""
    if isinstance(obj, types.ModuleType):
        return False
    if inspect.isclass(obj) or inspect.isroutine(obj):
        return _defined_in_funcgrad(obj)
    return callable(obj) and _defined_in_funcgrad(obj)


def missing_in(module: types.ModuleType, methods: bool = False) -> list[str]:
    """The public names of `module` (and with `methods`, `Class.method` names) whose object
    lacks a docstring."""
    missing = []
    for name in public_names(module):
        if not hasattr(module, name):
            missing.append(f"{name} (in __all__ but not defined)")
            continue
        obj = getattr(module, name)
        if not _counts(obj):
            continue
        if not (_own_doc(obj) or "").strip():
            missing.append(name)
        if methods and inspect.isclass(obj):
            for attr, member in vars(obj).items():
                if attr.startswith("_") or not inspect.isroutine(member):
                    continue
                if not (inspect.getdoc(getattr(obj, attr)) or "").strip():
                    missing.append(f"{name}.{attr}")
    return missing


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("modules", nargs="*", help=f"modules (default: {', '.join(MODULES)})")
    parser.add_argument("--methods", action="store_true",
                        help="also list public methods of public classes")
    parser.add_argument("--check", action="store_true",
                        help="exit with status 1 when a docstring is missing")
    args = parser.parse_args(argv)
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    total = 0
    for name in args.modules or MODULES:
        try:
            module = importlib.import_module(name)
        except ImportError as e:
            print(f"{name}: not importable here ({e})")
            continue
        missing = missing_in(module, args.methods)
        total += len(missing)
        if missing:
            print(f"{name}: {len(missing)} without a docstring")
            print("    " + " ".join(missing))
    print(f"total: {total} public names without a docstring")
    return 1 if args.check and total else 0


if __name__ == "__main__":
    sys.exit(main())
