"""Exceptions raised through jit/grad/vmap show the user's frames, not funcgrad's (JAX's
traceback filtering); FUNCGRAD_TRACEBACK_FILTERING=off shows everything."""
from __future__ import annotations

import os
import subprocess
import sys
import traceback

import pytest

import funcgrad as fg
import funcgrad.numpy as fnp

def _bad_loss(w, x):
    return fnp.sum(x @ w + fnp.ones(7))


def _frames(e):
    return [f for f in traceback.extract_tb(e.__traceback__)]


def _funcgrad_frames(e):
    return [f for f in _frames(e) if f.filename.startswith(os.path.dirname(fg.__file__))]


@pytest.mark.parametrize("name, call", [
    ("jit(grad)", lambda w, x: fg.jit(fg.grad(_bad_loss))(w, x)),
    ("grad", lambda w, x: fg.grad(_bad_loss)(w, x)),
    ("vmap", lambda w, x: fg.vmap(_bad_loss, in_axes=(None, 0))(w, x[None])),
    ("jit", lambda w, x: fg.jit(_bad_loss)(w, x)),
    ("jit of jit", lambda w, x: fg.jit(lambda w, x: fg.jit(_bad_loss)(w, x))(w, x)),
])
def test_user_line_comes_right_after_at_most_one_funcgrad_frame(name, call):
    with pytest.raises(ValueError, match="broadcast") as info:
        call(fnp.ones((3, 2)), fnp.ones((4, 3)))
    assert "_bad_loss" in [f.name for f in _frames(info.value)]
    assert len(_funcgrad_frames(info.value)) <= 1, _frames(info.value)
    assert any("funcgrad-internal frames were removed" in n
               for n in getattr(info.value, "__notes__", []))


def test_filtering_off_keeps_every_frame():
    code = ("import funcgrad as fg, funcgrad.numpy as fnp\n"
            "fg.jit(lambda x: x + fnp.ones(7))(fnp.ones(3))\n")
    env = dict(os.environ, FUNCGRAD_TRACEBACK_FILTERING="off")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         cwd=os.path.dirname(os.path.dirname(fg.__file__)))
    assert out.returncode != 0
    assert out.stderr.count("funcgrad/") > 5
    env["FUNCGRAD_TRACEBACK_FILTERING"] = "auto"
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         cwd=os.path.dirname(os.path.dirname(fg.__file__)))
    assert out.stderr.count('File "' + os.path.dirname(fg.__file__)) <= 1, out.stderr
