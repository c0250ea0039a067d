"""The closed-form helpers against independent numbers."""

import numpy as np
import pytest

from tests.closed_forms import ou_instanton


def test_ou_instanton_worked_check():
    # docs/conventions.md: T = 1 gives S = 5.2521411, E = 2.8962466, L_12 = -3.4036725
    ou = ou_instanton(1.0)
    assert ou.action == pytest.approx(5.2521411, abs=1e-7)
    assert ou.energy == pytest.approx(2.8962466, abs=1e-7)
    assert ou.angular_momentum == pytest.approx(-3.4036725, abs=1e-7)
    # T -> infinity: S -> |x_T|^2 / 2 = 4 (the uphill half from the origin, U = |x|^2 / 2)
    assert ou_instanton(10.0).action == pytest.approx(4.0, rel=1e-8)


def test_ou_instanton_is_consistent():
    # the path solves xdot = f + 2 p = -x + 2 p, meets its ends, and S = ∫ |p|^2 dt
    ou = ou_instanton(1.7, [0.3, -1.0], [1.2, 0.4])
    t = np.linspace(0.0, 1.7, 20001)
    x, p = ou.path(t), ou.momentum(t)
    np.testing.assert_allclose(x[[0, -1]], [ou.start, ou.end], atol=1e-14)
    xdot = np.gradient(x, t, axis=0, edge_order=2)
    np.testing.assert_allclose(xdot, -x + 2 * p, atol=1e-6)
    assert np.trapezoid(np.sum(p**2, axis=1), t) == pytest.approx(ou.action, rel=1e-7)
    H = np.sum(p**2, axis=1) - np.sum(p * x, axis=1)
    np.testing.assert_allclose(H, ou.energy, rtol=1e-12)
    L = x[:, 0] * p[:, 1] - x[:, 1] * p[:, 0]
    np.testing.assert_allclose(L, ou.angular_momentum, rtol=1e-12, atol=1e-13)
