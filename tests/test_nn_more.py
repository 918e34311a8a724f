"""funcgrad.nn additions and fixes for JAX 0.10 parity (issue 11)."""
from __future__ import annotations

import numpy as np
import pytest

import funcgrad as fg

pytestmark = pytest.mark.core


def test_softplus_and_log_sigmoid_derivative_at_zero_is_half():
    # Regression: softplus was relu(x) + log1p(exp(-|x|)), whose kinks gave -0.5 at 0;
    # JAX's softplus is logaddexp(x, 0) with derivative sigmoid(x).
    assert float(fg.grad(fg.nn.softplus)(0.0)) == pytest.approx(0.5)
    assert float(fg.grad(fg.nn.log_sigmoid)(0.0)) == pytest.approx(0.5)
    x = np.array([-100.0, -3.0, 0.0, 3.0, 100.0], np.float32)
    np.testing.assert_allclose(np.asarray(fg.nn.softplus(x)), np.logaddexp(x, 0), rtol=1e-6)
    np.testing.assert_allclose(np.asarray(fg.nn.log_sigmoid(x)), -np.logaddexp(-x, 0),
                               rtol=1e-6)
    g = fg.grad(lambda v: fg.nn.softplus(v).sum())(x)
    np.testing.assert_allclose(np.asarray(g), 1 / (1 + np.exp(-x.astype(np.float64))),
                               rtol=1e-6, atol=1e-30)
