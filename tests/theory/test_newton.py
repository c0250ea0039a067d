"""Newton's method on the discrete action: Hessian, exact discrete minimiser, discrete
Noether charges."""

import numpy as np
import pytest

from simulate import zoo
from tests.closed_forms import ou_instanton
from theory._action import discrete_action
from theory.instanton._mam import lbfgs_discrete
from theory.instanton._newton import (
    _assemble,
    discrete_charges,
    hessian_min_eigenvalue,
    newton_discrete,
)


def _dense(ab):
    n = ab.shape[1]
    H = np.zeros((n, n))
    for o in range(ab.shape[0]):
        i = np.arange(n - o)
        H[i + o, i] = H[i, i + o] = ab[o, : n - o]
    return H


def test_banded_hessian_matches_finite_differences():
    s = zoo.get("decision_memory", n=0.1)
    rng = np.random.default_rng(1)
    t = np.sort(np.concatenate([[0.0, 1.0], rng.uniform(0.0, 1.0, 8)]))
    X = np.linspace([3.0, 0.1], [0.1, 3.0], t.size) + 0.1 * rng.normal(size=(t.size, 2))
    S, G, ab = _assemble(s, X, t)
    assert S == pytest.approx(discrete_action(s, X, t), rel=1e-14)
    np.testing.assert_allclose(G, discrete_action(s, X, t, grad=True)[1][1:-1].ravel(), rtol=1e-12)
    H = _dense(ab)

    def grad(z):
        Y = X.copy()
        Y[1:-1] = z.reshape(-1, 2)
        return _assemble(s, Y, t)[1]

    z = X[1:-1].ravel()
    Hfd = np.array([(grad(z + 1e-6 * e) - grad(z - 1e-6 * e)) / 2e-6 for e in np.eye(z.size)])
    assert np.max(np.abs(Hfd - H)) <= 1e-7 * np.max(np.abs(H))


def test_newton_reaches_discrete_minimum_with_exact_noether_charge():
    # The paper's 50-point log grid: the discrete minimiser conserves the discrete angular
    # momentum to round-off (discrete Noether theorem of the midpoint variational integrator).
    s = zoo.get("reverse_diffusion_ring")
    t = s.params[2] - np.logspace(1.5, -0.4, 50)
    x0, x1 = s.point("start"), s.point("ring_pi/4")
    X0 = x0 + np.linspace(0.0, 1.0, t.size)[:, None] * (x1 - x0)
    r = newton_discrete(s, X0, t)
    assert r.success
    _, S_lbfgs, _ = lbfgs_discrete(s, X0, t)
    assert r.S <= S_lbfgs + 1e-12
    G = discrete_action(s, r.X, t, grad=True)[1][1:-1]
    assert np.max(np.abs(G)) < 1e-9
    ch = discrete_charges(s, r.X, t)
    assert abs(ch.mean("L")) > 1e-2
    assert ch.relative_drift["L"] < 1e-10
    assert discrete_charges(s, X0, t).relative_drift["L"] > 1e-2  # not so off the minimiser
    assert hessian_min_eigenvalue(s, r.X, t) > 0


def test_hessian_detects_saddle():
    # Maier–Stein, alpha = 6: the on-axis path is a critical point (y = 0 by symmetry) but
    # not a minimum; the Hessian has a negative eigenvalue there.
    s = zoo.get("maier_stein", alpha=6.0)
    t = np.linspace(0.0, 10.0, 101)
    X0 = np.zeros((t.size, 2))
    X0[:, 0] = np.linspace(-1.0, 0.0, t.size)
    r = newton_discrete(s, X0, t)
    assert np.max(np.abs(r.X[:, 1])) == 0.0
    assert hessian_min_eigenvalue(s, r.X, t) < 0


def test_galerkin_polish_high_order():
    # Degree 1 with one Gauss point is the midpoint rule; degree 3 reaches the closed-form
    # values of the monostable T = 1 instanton on 20 elements, conserving H and L.
    from theory import charges
    from theory.instanton._polish import galerkin_action, galerkin_polish

    s = zoo.get("monostable")
    t = np.linspace(0.0, 1.0, 21)
    X0 = np.linspace(s.point("start"), s.point("end"), 21)
    X = newton_discrete(s, X0, t).X
    assert galerkin_action(s, X, t, 1) == pytest.approx(discrete_action(s, X, t), rel=1e-14)
    g = galerkin_polish(s, X, t, order=3)
    assert g.newton.success
    ou = ou_instanton(1.0)
    assert g.action == pytest.approx(ou.action, rel=1e-7)
    ch = charges(s, g.x, g.t, p=g.p)
    assert ch.mean("H") == pytest.approx(ou.energy, rel=1e-7)
    assert ch.mean("L") == pytest.approx(ou.angular_momentum, rel=1e-7)
    assert ch.relative_drift["H"] < 1e-10 and ch.relative_drift["L"] < 1e-10
    lin = galerkin_polish(s, X, t, order=1)
    assert abs(lin.action - ou.action) > 1e-4  # second order only


def test_negative_curvature_test_matches_the_smallest_eigenvalue():
    from theory.instanton._newton import has_negative_curvature

    rng = np.random.default_rng(5)
    n, b = 40, 3
    for shift in (-2.0, -0.05, 0.05, 2.0):
        ab = rng.normal(size=(b, n))
        ab[0] = 4.0 + np.abs(ab[0])
        dense = np.zeros((n, n))
        for k in range(b):
            idx = np.arange(n - k)
            dense[idx + k, idx] = dense[idx, idx + k] = ab[k, : n - k]
        lam = np.linalg.eigvalsh(dense)[0]
        ab[0] += shift - lam  # smallest eigenvalue now `shift`
        scale = float(np.max(np.abs(ab[0])))
        for tol in (1e-3, 0.5 / scale, 5.0 / scale):
            assert has_negative_curvature(ab, tol) == (shift < -tol * scale)
