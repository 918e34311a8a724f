"""Compare funcgrad's public API with JAX's and write docs/coverage.md.

    python scripts/coverage.py --record   # (needs jax) record JAX's names -> docs/jax_names.json
    python scripts/coverage.py            # (no jax needed) write docs/coverage.md
    python scripts/coverage.py --check    # exit 1 when docs/coverage.md is stale

The recorded list holds, for each JAX module, every public name with its kind (function,
class, value or submodule) and, for functions, the parameter list. The report counts a JAX
name as *covered* when funcgrad's counterpart module has it and it is not a stub (a function
whose body only raises NotImplementedError); it counts it as *covered with JAX's signature*
when, in addition, every parameter a JAX caller may pass is accepted under the same name and
position (parameters in `IGNORED_PARAMS` excepted, see there).
"""
from __future__ import annotations

import argparse
import ast
import importlib
import inspect
import json
import sys
import textwrap
import types
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NAMES_JSON = ROOT / "docs" / "jax_names.json"
REPORT_MD = ROOT / "docs" / "coverage.md"

# JAX module -> funcgrad module, in report order.
MODULES = {
    "jax": "funcgrad",
    "jax.numpy": "funcgrad.numpy",
    "jax.numpy.linalg": "funcgrad.numpy.linalg",
    "jax.numpy.fft": "funcgrad.numpy.fft",
    "jax.lax": "funcgrad.lax",
    "jax.lax.linalg": "funcgrad.lax.linalg",
    "jax.nn": "funcgrad.nn",
    "jax.nn.initializers": "funcgrad.nn.initializers",
    "jax.random": "funcgrad.random",
    "jax.tree_util": "funcgrad.tree_util",
    "jax.tree": "funcgrad.tree",
    "jax.debug": "funcgrad.debug",
    "jax.scipy": "funcgrad.scipy",
    "jax.scipy.special": "funcgrad.scipy.special",
    "jax.scipy.linalg": "funcgrad.scipy.linalg",
    "jax.scipy.stats": "funcgrad.scipy.stats",
    "jax.scipy.stats.norm": "funcgrad.scipy.stats.norm",
    "jax.scipy.signal": "funcgrad.scipy.signal",
    "jax.scipy.integrate": "funcgrad.scipy.integrate",
    "jax.scipy.ndimage": "funcgrad.scipy.ndimage",
    "jax.scipy.interpolate": "funcgrad.scipy.interpolate",
    "jax.scipy.optimize": "funcgrad.scipy.optimize",
    "jax.scipy.sparse": "funcgrad.scipy.sparse",
    "jax.scipy.sparse.linalg": "funcgrad.scipy.sparse.linalg",
    "jax.flatten_util": "funcgrad.flatten_util",
    "jax.ops": "funcgrad.ops",
    "jax.example_libraries.stax": "funcgrad.stax",
    "jax.example_libraries.optimizers": "funcgrad.optimizers",
}

# Coverage goals of issue 11 (percent of names covered with JAX's signature).
GOALS = {"jax.numpy": 95, "jax.numpy.linalg": 90, "jax.lax": 75, "jax.nn": 100,
         "jax.random": 90}

# Parameters not compared, and why.
IGNORED_PARAMS = {
    "out_sharding": "multi-device placement, which funcgrad does not have",
    "sharding": "multi-device placement, which funcgrad does not have",
    "device": "multi-device placement, which funcgrad does not have",
    "out": "JAX accepts only None: arrays are immutable",
}

# What JAX tutorials (the JAX 101 / "Thinking in JAX" / autodiff cookbook / pytrees /
# debugging / external callbacks pages) use from the top-level `jax` namespace.
TUTORIAL_TOP_LEVEL = [
    "grad", "value_and_grad", "jit", "vmap", "jvp", "vjp", "linearize", "jacfwd", "jacrev",
    "jacobian", "hessian", "make_jaxpr", "eval_shape", "custom_jvp", "custom_vjp",
    "custom_gradient", "checkpoint", "remat", "disable_jit", "ensure_compile_time_eval",
    "named_scope", "named_call", "block_until_ready", "device_put", "device_get", "devices",
    "local_devices", "device_count", "local_device_count", "process_index",
    "process_count", "default_backend", "pure_callback", "typeof", "ShapeDtypeStruct",
    "Array", "config", "numpy", "lax", "random", "nn", "tree_util", "tree", "scipy", "debug",
    "dtypes", "clear_caches", "enable_x64", "debug_nans", "log_compiles", "float0",
]

# Config keys JAX tutorials set.
TUTORIAL_CONFIG = ["jax_enable_x64", "jax_debug_nans", "jax_debug_infs", "jax_disable_jit",
                   "jax_platform_name", "jax_platforms", "jax_log_compiles",
                   "jax_default_matmul_precision", "jax_numpy_rank_promotion",
                   "jax_numpy_dtype_promotion", "jax_default_prng_impl",
                   "jax_enable_checks", "jax_traceback_filtering", "jax_compilation_cache_dir"]


# ---------------------------------------------------------------------------------------
# Recording (needs jax)

_KIND_SHORT = {
    inspect.Parameter.POSITIONAL_ONLY: "pos",
    inspect.Parameter.POSITIONAL_OR_KEYWORD: "any",
    inspect.Parameter.VAR_POSITIONAL: "var",
    inspect.Parameter.KEYWORD_ONLY: "kw",
    inspect.Parameter.VAR_KEYWORD: "varkw",
}


def _params(obj):
    """[[name, kind, has_default], ...] of a callable, or None when it has no signature."""
    try:
        sig = inspect.signature(obj)
    except (TypeError, ValueError):
        return None
    return [[p.name, _KIND_SHORT[p.kind], p.default is not inspect.Parameter.empty]
            for p in sig.parameters.values()]


def _entry(module, name):
    """The recorded description of `module.name`, or None for names that are not API
    (imports of other libraries, type variables, primitive objects)."""
    obj = getattr(module, name)
    if isinstance(obj, types.ModuleType):
        if obj.__name__ != f"{module.__name__}.{name}":
            return None                 # an import (stax's `jnp`, `functools`, ...)
        return {"kind": "module"}
    if type(obj).__name__ in ("TypeVar", "_Feature", "Primitive") or name.endswith("_p") \
            and not callable(obj):
        return None
    if isinstance(obj, type):
        return {"kind": "class"}
    if callable(obj):
        # jax.numpy's ufunc objects take `*args`; the function they wrap has the real
        # parameters.
        inner = getattr(obj, "_func", None) if type(obj).__name__ == "ufunc" else None
        return {"kind": "function", "params": _params(inner if inner is not None else obj)}
    return {"kind": "value"}


def record() -> dict:
    import jax
    out = {"jax_version": jax.__version__, "modules": {}, "config": []}
    for jname in MODULES:
        mod = importlib.import_module(jname)
        names = {}
        for name in sorted(dir(mod)):
            if name.startswith("_"):
                continue
            e = _entry(mod, name)
            if e is not None:
                names[name] = e
        out["modules"][jname] = names
    out["config"] = sorted(jax.config.values)
    return out


# ---------------------------------------------------------------------------------------
# Comparing (no jax needed)


def _unwrap(obj):
    seen = 0
    while hasattr(obj, "__wrapped__") and seen < 10:
        obj = obj.__wrapped__
        seen += 1
    return obj


def is_stub(obj) -> bool:
    """A function whose body (after its docstring) is only `raise NotImplementedError...`."""
    fn = _unwrap(obj)
    if not isinstance(fn, types.FunctionType):
        return False
    try:
        src = textwrap.dedent(inspect.getsource(fn))
        tree = ast.parse(src)
    except (OSError, TypeError, SyntaxError, IndentationError):
        return False
    defs = [n for n in tree.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))]
    if not defs:
        return False
    body = list(defs[0].body)
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) \
            and isinstance(body[0].value.value, str):
        body = body[1:]
    if len(body) != 1 or not isinstance(body[0], ast.Raise) or body[0].exc is None:
        return False
    exc = body[0].exc
    if isinstance(exc, ast.Call):
        exc = exc.func
    return isinstance(exc, ast.Name) and exc.id == "NotImplementedError"


def signature_differences(jax_params, obj) -> list[str]:
    """What a call written against JAX's signature would trip over in funcgrad's `obj`."""
    if jax_params is None:
        return []
    fg = _params(obj)
    if fg is None:
        return []
    fg_names = {n: (k, d) for n, k, d in fg}
    fg_pos = [n for n, k, _ in fg if k in ("pos", "any")]
    fg_var = any(k == "var" for _, k, _ in fg)
    fg_varkw = any(k == "varkw" for _, k, _ in fg)
    diffs = []
    jax_pos = [p for p in jax_params if p[1] in ("pos", "any")]
    jax_names = {p[0] for p in jax_params}
    for i, (name, kind, _default) in enumerate(jax_pos):
        if name.startswith("_") or name in IGNORED_PARAMS:
            continue
        if i >= len(fg_pos) and not fg_var:
            if kind == "pos" or name not in fg_names:
                diffs.append(f"missing `{name}`")
            else:
                diffs.append(f"`{name}` is keyword-only (JAX: positional #{i + 1})")
            continue
        if kind == "any":
            if name not in fg_names and not fg_varkw:
                diffs.append(f"`{name}` named `{fg_pos[i]}`" if i < len(fg_pos)
                             else f"missing `{name}`")
            elif i < len(fg_pos) and fg_pos[i] != name and name in fg_names:
                where = f"position {fg_pos.index(name) + 1}" if name in fg_pos \
                    else "keyword-only"
                diffs.append(f"`{name}` at {where} (JAX: position {i + 1})")
    for name, kind, _default in jax_params:
        if kind == "kw" and not name.startswith("_") and name not in IGNORED_PARAMS and \
                name not in fg_names and not fg_varkw:
            diffs.append(f"missing `{name}`")
        if kind == "var" and not fg_var:
            diffs.append(f"no `*{name}`")
    for name, kind, has_default in fg:
        if kind in ("var", "varkw") or has_default:
            continue
        if name not in jax_names:
            if kind == "kw" or fg_pos.index(name) >= len(jax_pos):
                diffs.append(f"requires `{name}` (not in JAX)")
        else:
            jd = next(p for p in jax_params if p[0] == name)
            if jd[2]:
                diffs.append(f"requires `{name}` (JAX: optional)")
    return diffs


def _funcgrad_module(name):
    """The module `name`, or the attribute path (`funcgrad.lax.linalg` is an attribute)."""
    try:
        return importlib.import_module(name)
    except ImportError:
        pass
    parent, _, attr = name.rpartition(".")
    mod = _funcgrad_module(parent) if parent else None
    sub = getattr(mod, attr, None) if mod is not None else None
    return sub if isinstance(sub, types.ModuleType) else None


def compare(recorded: dict) -> dict:
    """{jax module: {"covered": [...], "missing": [...], "stubs": [...],
    "sig": {name: [differences]}, "total": n}}"""
    sys.path.insert(0, str(ROOT))
    result = {}
    for jname, names in recorded["modules"].items():
        fname = MODULES[jname]
        mod = _funcgrad_module(fname)
        covered, missing, stubs, sig = [], [], [], {}
        for name, e in sorted(names.items()):
            obj = getattr(mod, name, None) if mod is not None else None
            if obj is None and not (mod is not None and hasattr(mod, name)):
                missing.append(name)
                continue
            if e["kind"] == "module" and not isinstance(obj, types.ModuleType):
                missing.append(name)
                continue
            if callable(obj) and is_stub(obj):
                stubs.append(name)
                continue
            covered.append(name)
            if e["kind"] == "function" and callable(obj) and not isinstance(obj, type):
                d = signature_differences(e.get("params"), obj)
                if d:
                    sig[name] = d
        result[jname] = {"module": fname, "present": mod is not None, "covered": covered,
                         "missing": missing, "stubs": stubs, "sig": sig,
                         "total": len(names)}
    return result


def _config_keys() -> set[str]:
    from funcgrad import config
    return set(config.options) | set(config._aliases)


def _ignored_text() -> str:
    reasons: dict[str, list[str]] = {}
    for name, why in IGNORED_PARAMS.items():
        reasons.setdefault(why, []).append(f"`{name}`")
    return "; ".join(f"{', '.join(names)} ({why})" for why, names in reasons.items())


def _pct(a, b) -> str:
    return f"{100 * a / b:.0f}%" if b else "-"


def _names(xs) -> str:
    return " ".join(f"`{x}`" for x in xs) if xs else "none"


def render(recorded: dict) -> str:
    res = compare(recorded)
    lines = [
        "# What of JAX's API funcgrad covers",
        "",
        (f"Generated by `python scripts/coverage.py` from JAX {recorded['jax_version']}'s "
        "public names (`docs/jax_names.json`, recorded with `python scripts/coverage.py "
        "--record`); `tests/test_coverage_doc.py` fails when this file is stale."),
        "",
        "*Covered*: funcgrad's module has the name and it is not a stub (a function whose "
        "body only raises `NotImplementedError`; stubs count as missing). *With JAX's "
        "signature*: in addition, every parameter a JAX caller may pass is accepted under "
        "the same name and position, and funcgrad requires nothing JAX does not. Parameters "
        "never compared: " + _ignored_text() + ".",
        "",
        "| JAX module | funcgrad | names | covered | with JAX's signature | goal |",
        "|---|---|---|---|---|---|",
    ]
    for jname, r in res.items():
        n, c = r["total"], len(r["covered"])
        s = c - len(r["sig"])
        goal = f"{GOALS[jname]}%" if jname in GOALS else ""
        mod = f"`{r['module']}`" + ("" if r["present"] else " (absent)")
        lines.append(f"| `{jname}` | {mod} | {n} | {c} ({_pct(c, n)}) | {s} ({_pct(s, n)}) "
                     f"| {goal} |")
    tut_missing = [n for n in TUTORIAL_TOP_LEVEL
                   if n not in res["jax"]["covered"] or n in res["jax"]["sig"]]
    lines += ["", "## jax (top level): what tutorials use", "",
              (f"{len(TUTORIAL_TOP_LEVEL) - len(tut_missing)} of {len(TUTORIAL_TOP_LEVEL)} "
              "names that JAX tutorials use are covered with JAX's signature. Not yet: "
              f"{_names(tut_missing)}.")]
    keys = _config_keys()
    jax_keys = recorded["config"]
    have = [k for k in jax_keys if k in keys]
    tut_cfg = [k for k in TUTORIAL_CONFIG if k not in keys]
    lines += ["", "## config keys", "",
              (f"`funcgrad.config.update` accepts {len(have)} of JAX's {len(jax_keys)} keys: "
              f"{_names(have)}."), "",
              f"Keys JAX tutorials set, not accepted yet: {_names(tut_cfg)}."]
    for jname, r in res.items():
        n, c = r["total"], len(r["covered"])
        s = c - len(r["sig"])
        lines += ["", (f"## {jname} → {r['module']}: {c} of {n} covered ({_pct(c, n)}), "
                  f"{s} with JAX's signature ({_pct(s, n)})"), ""]
        lines.append(f"Missing ({len(r['missing'])}): {_names(r['missing'])}")
        if r["stubs"]:
            lines += ["", (f"Stubs, counted as missing ({len(r['stubs'])}): "
                      f"{_names(r['stubs'])}")]
        if r["sig"]:
            lines += ["", f"Signature differences ({len(r['sig'])}):", "",
                      "| name | difference from JAX's signature |", "|---|---|"]
            for name, d in sorted(r["sig"].items()):
                lines.append(f"| `{name}` | {'; '.join(d)} |")
        lines += ["", "<details><summary>covered</summary>", "",
                  _names(r["covered"]), "", "</details>"]
    return "\n".join(lines) + "\n"


def _dump(rec: dict) -> str:
    """JSON with one line per recorded name (small diffs when JAX is re-recorded)."""
    lines = ["{", f' "jax_version": {json.dumps(rec["jax_version"])},',
             f' "config": {json.dumps(rec["config"])},', ' "modules": {']
    mods = list(rec["modules"].items())
    for i, (m, names) in enumerate(mods):
        lines.append(f"  {json.dumps(m)}: {{")
        items = list(names.items())
        for j, (n, e) in enumerate(items):
            sep = "," if j < len(items) - 1 else ""
            lines.append(f"   {json.dumps(n)}: {json.dumps(e, sort_keys=True)}{sep}")
        lines.append("  }" + ("," if i < len(mods) - 1 else ""))
    lines += [" }", "}"]
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--record", action="store_true",
                    help="record JAX's public names into docs/jax_names.json (needs jax)")
    ap.add_argument("--check", action="store_true",
                    help="exit 1 if docs/coverage.md differs from a fresh report")
    ap.add_argument("--output", type=Path, default=REPORT_MD, help="where to write the report")
    args = ap.parse_args(argv)
    if args.record:
        NAMES_JSON.write_text(_dump(record()))
        print(f"wrote {NAMES_JSON}")
        return 0
    recorded = json.loads(NAMES_JSON.read_text())
    text = render(recorded)
    if args.check:
        current = args.output.read_text() if args.output.exists() else ""
        if current != text:
            print(f"{args.output} is stale: run `python scripts/coverage.py`", file=sys.stderr)
            return 1
        return 0
    args.output.write_text(text)
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
