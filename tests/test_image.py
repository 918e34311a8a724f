"""funcgrad.image (JAX's jax.image): the methods the ports do not reach, against JAX 0.10.2's
values, under jit and differentiation."""
from __future__ import annotations

import numpy as np
import pytest

import funcgrad as fg
import funcgrad.numpy as fnp
from funcgrad import image

X = np.array([[0.0, 1.0, 4.0, 2.0], [3.0, 5.0, 1.0, 0.0], [2.0, 2.0, 6.0, 1.0]], np.float32)

# JAX's jax.image.resize(X, (2, 6), method, antialias=...)
JAX_RESIZE = {
    ("cubic-pytorch", True): [[0.9957973, 1.7494098, 2.6476989, 2.824724, 1.9745067, 1.1620343],
                              [2.4216232, 2.7644229, 3.4050114, 4.2339005, 2.2993107, 0.33560005]],
    ("cubic-pytorch", False): [[0.6022678, 1.2570801, 2.3152215, 3.146203, 2.4343262, 1.3699819],
                               [2.2896459, 2.394165, 3.2117875, 4.843876, 2.9144287, 0.35081741]],
    ("area", True): [[1.0, 1.6666669, 2.3333335, 3.0, 2.1666665, 1.3333334],
                     [2.3333335, 2.6666667, 3.0, 4.3333335, 2.4999995, 0.6666667]],
    ("area", False): [[1.0, 1.6666669, 2.3333335, 3.0, 2.1666665, 1.3333334],
                      [2.3333335, 2.6666667, 3.0, 4.3333335, 2.4999995, 0.6666667]],
}


@pytest.mark.parametrize("method, antialias", sorted(JAX_RESIZE))
@pytest.mark.parametrize("jit", [False, True])
def test_resize_methods_match_jax(method, antialias, jit):
    f = lambda x: image.resize(x, (2, 6), method, antialias=antialias)  # noqa: E731
    out = (fg.jit(f) if jit else f)(X)
    np.testing.assert_allclose(np.asarray(out), JAX_RESIZE[method, antialias], rtol=2e-6,
                               atol=1e-6)


def test_scale_and_translate_with_edge_padding_and_dtypes():
    out = image.scale_and_translate(X, (4, 3), (0, 1), fnp.array([1.2, 0.7]),
                                    fnp.array([0.3, -0.4]), "cubic-pytorch", antialias=False)
    np.testing.assert_allclose(np.asarray(out), [
        [0.011641504, 4.3065495, 2.0923944], [3.0842528, 1.6932176, 0.83706534],
        [4.4423285, 1.6079382, -0.03951284], [1.3068435, 5.8825784, 0.75796515]],
        rtol=1e-5, atol=1e-6)
    n = image.resize(fnp.arange(5), (3,), "nearest")
    assert n.dtype == np.int32 and np.asarray(n).tolist() == [0, 2, 4]
    b = image.resize(fnp.asarray(X).astype(fnp.bfloat16), (2, 2), image.ResizeMethod.LINEAR)
    assert b.dtype == fnp.bfloat16
    np.testing.assert_allclose(np.asarray(b).astype(np.float32),
                               [[1.9609375, 2.125], [2.9375, 2.484375]], rtol=1e-2)
    with pytest.raises(ValueError, match="Nearest neighbor"):
        image.scale_and_translate(X, (2, 2), (0, 1), fnp.ones(2), fnp.zeros(2), "nearest")
    with pytest.raises(ValueError, match="Unknown resize method"):
        image.resize(X, (2, 2), "bogus")
    with pytest.raises(ValueError, match="shape must have length"):
        image.resize(X, (2,), "linear")


def test_resize_differentiates_and_batches():
    # a linear map of the image: its gradient is the transpose of the weights
    g = fg.grad(lambda x: fnp.sum(image.resize(x, (6, 8), "linear")))(X)
    np.testing.assert_allclose(np.asarray(g).sum(), 48.0, rtol=1e-5)
    v = fg.vmap(lambda x: image.resize(x, (2, 6), "area"))(fnp.stack([X, 2 * X]))
    np.testing.assert_allclose(np.asarray(v[1]), 2 * np.asarray(JAX_RESIZE["area", True]),
                               rtol=2e-6)
