"""The documentation: links that resolve inside the repository, a nav that lists every
page, a strict MkDocs build (when MkDocs is installed), runnable code in the pages that
promise it, no reference to files outside the repository, a LICENSE, and the script that
lists public functions without a docstring."""
from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
import textwrap

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DOCS = os.path.join(ROOT, "docs")
# Pages whose ```python blocks run as written, in order, as one program.
RUNNABLE_PAGES = ("getting-started.md", "porting-from-jax.md", "mixed-precision.md")

_FENCE = re.compile(r"^(```|~~~).*?^\1[ \t]*$", re.DOTALL | re.MULTILINE)
_CODE_SPAN = re.compile(r"(`+)(?:.(?!\1))*?.?\1", re.DOTALL)
_LINK = re.compile(r"!?\[(?:[^\[\]]|\[[^\]]*\])*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")


def _markdown_files() -> list[str]:
    files = [os.path.join(ROOT, "README.md")]
    for base, dirs, names in os.walk(DOCS):
        dirs.sort()
        files.extend(os.path.join(base, n) for n in sorted(names) if n.endswith(".md"))
    return files


def relative_links(text: str) -> list[str]:
    """Targets of the Markdown links and images in `text` that point into the repository
    (not URLs, not same-page anchors), outside code blocks and code spans."""
    text = _CODE_SPAN.sub("", _FENCE.sub("", text))
    out = []
    for target in _LINK.findall(text):
        if re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*:", target) or target.startswith("#"):
            continue
        out.append(target)
    return out


def test_relative_link_parser():
    text = textwrap.dedent("""\
        See [a](docs/a.md), [b](b.md#part "title"), ![img](pics/x.png) and
        [web](https://example.org/x.md), [top](#top), [mail](mailto:a@b.c).
        `[not](code.md)` and

        ```
        [nor](fenced.md)
        ```
        """)
    assert relative_links(text) == ["docs/a.md", "b.md#part", "pics/x.png"]


@pytest.mark.parametrize("path", _markdown_files(), ids=lambda p: os.path.relpath(p, ROOT))
def test_links_resolve_inside_the_repository(path):
    with open(path, encoding="utf-8") as f:
        links = relative_links(f.read())
    bad = []
    for link in links:
        target = os.path.normpath(os.path.join(os.path.dirname(path), link.split("#")[0]))
        if os.path.commonpath([target, ROOT]) != ROOT:
            bad.append(f"{link} (outside the repository)")
        elif not os.path.exists(target):
            bad.append(f"{link} (no such file)")
    assert not bad, f"{os.path.relpath(path, ROOT)}: broken links: {bad}"


def _nav_pages() -> list[str]:
    """The pages `mkdocs.yml`'s nav lists (read without YAML: entries are `- title: page`)."""
    with open(os.path.join(ROOT, "mkdocs.yml"), encoding="utf-8") as f:
        text = f.read()
    nav = text[text.index("\nnav:"):]
    return re.findall(r"^\s*-\s*(?:[^:\n]+:\s*)?([\w./-]+\.md)\s*$", nav, re.MULTILINE)


def test_nav_lists_every_page_and_only_existing_ones():
    nav = _nav_pages()
    assert "index.md" in nav and "api/index.md" in nav, nav
    pages = sorted(os.path.relpath(p, DOCS).replace(os.sep, "/")
                   for p in _markdown_files()[1:])
    missing_files = [p for p in nav if p not in pages]
    not_in_nav = [p for p in pages if p not in nav]
    assert not missing_files, f"mkdocs.yml's nav lists pages that do not exist: {missing_files}"
    assert not not_in_nav, (f"pages in docs/ that mkdocs.yml's nav does not list (add them "
                            f"under nav:): {not_in_nav}")


def _has_mkdocs() -> bool:
    return all(importlib.util.find_spec(m) is not None
               for m in ("mkdocs", "mkdocstrings", "mkdocstrings_handlers.python"))


@pytest.mark.skipif(not _has_mkdocs(), reason="mkdocs and mkdocstrings[python] are not "
                    "installed (pip install -e \".[docs]\")")
def test_mkdocs_build_is_strict_clean(tmp_path):
    r = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--config-file",
                        os.path.join(ROOT, "mkdocs.yml"), "--site-dir", str(tmp_path / "site")],
                       cwd=ROOT, capture_output=True, text=True, timeout=600, check=False)
    problems = [line for line in (r.stdout + r.stderr).splitlines()
                if line.startswith(("WARNING", "ERROR"))]
    assert r.returncode == 0 and not problems, (r.stdout + r.stderr)[-6000:]
    for page in ("index.html", "getting-started.html", "api/numpy.html", "api/lax.html"):
        assert (tmp_path / "site" / page).is_file(), page
    api = (tmp_path / "site" / "api" / "funcgrad.html").read_text(encoding="utf-8")
    for name in ("funcgrad.grad", "funcgrad.jit", "funcgrad.vmap"):
        assert f'id="{name}"' in api, f"{name} is missing from the rendered API reference"


def _python_blocks(page: str) -> list[str]:
    with open(os.path.join(DOCS, page), encoding="utf-8") as f:
        text = f.read()
    blocks = re.findall(r"^```python\n(.*?)^```", text, re.DOTALL | re.MULTILINE)
    return [b for b in blocks if not b.lstrip().startswith(">>>")]


@pytest.mark.parametrize("page", RUNNABLE_PAGES)
def test_page_code_runs(page, tmp_path):
    blocks = _python_blocks(page)
    assert blocks, f"{page} has no runnable python block"
    program = "\n".join(blocks)
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    r = subprocess.run([sys.executable, "-c", program], cwd=tmp_path, env=env,
                       capture_output=True, text=True, timeout=600, check=False)
    assert r.returncode == 0, f"the code of docs/{page} failed:\n{r.stderr[-4000:]}"


def _repository_files() -> list[str]:
    try:
        out = subprocess.run(["git", "ls-files", "-z", "--cached", "--others",
                              "--exclude-standard"], cwd=ROOT, capture_output=True,
                             check=True, timeout=60).stdout
        names = [n for n in out.decode().split("\0") if n]
    except (OSError, subprocess.SubprocessError):
        names = []
        for base, dirs, files in os.walk(ROOT):
            dirs[:] = [d for d in dirs if not d.startswith(".") and d != "__pycache__"]
            names.extend(os.path.relpath(os.path.join(base, f), ROOT) for f in files)
    return [n for n in names if os.path.isfile(os.path.join(ROOT, n))]


def test_nothing_refers_to_files_outside_the_repository():
    needle = b".." + b"/shared"        # spelled in two parts so that this file does not match
    hits = []
    for name in _repository_files():
        with open(os.path.join(ROOT, name), "rb") as f:
            data = f.read()
        if b"\0" in data[:8192]:
            continue                   # binary
        if needle in data:
            hits.append(name)
    assert not hits, (f"these files refer to {needle.decode()}, which is not part of the "
                      f"repository: {hits}")


def test_license_is_apache_2():
    with open(os.path.join(ROOT, "LICENSE"), encoding="utf-8") as f:
        text = f.read()
    assert "Apache License" in text and "Version 2.0, January 2004" in text
    assert "END OF TERMS AND CONDITIONS" in text
    assert "The funcgrad authors" in text


def _load_script():
    spec = importlib.util.spec_from_file_location(
        "missing_docstrings", os.path.join(ROOT, "scripts", "missing_docstrings.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_missing_docstrings_script_finds_them(tmp_path, monkeypatch):
    pkg = tmp_path / "funcgrad_docfixture"
    pkg.mkdir()
    (pkg / "__init__.py").write_text(textwrap.dedent('''\
        import functools
        __all__ = ["documented", "undocumented", "Klass", "Record", "LAYER", "wrapped"]

        def documented(x):
            """Has one."""

        def undocumented(x):
            pass

        def not_exported(x):
            pass

        class Klass:
            """A class."""
            def method(self):
                pass
            def good(self):
                """Documented."""

        from typing import NamedTuple

        class Record(NamedTuple):
            a: int

        LAYER = (documented, undocumented)

        class _Wrapper:
            """The wrapper class's own docstring."""
            def __init__(self, f):
                self.f = f
            def __call__(self, *a):
                return self.f(*a)

        wrapped = _Wrapper(undocumented)
        '''))
    monkeypatch.syspath_prepend(str(tmp_path))
    mod = _load_script()
    fixture = importlib.import_module("funcgrad_docfixture")
    monkeypatch.setattr(mod, "_defined_in_funcgrad",
                        lambda obj: getattr(obj, "__module__", getattr(
                            type(obj), "__module__", "")) == "funcgrad_docfixture")
    assert mod.missing_in(fixture) == ["undocumented", "Record", "wrapped"]
    assert mod.missing_in(fixture, methods=True) == ["undocumented", "Klass.method", "Record",
                                                     "wrapped"]
