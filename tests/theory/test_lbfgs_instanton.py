"""Preconditioned L-BFGS on the midpoint action (theory.instanton._lbfgs): against the
banded Newton solver, the exact reduction of the oscillator ring, and its U(1) charge."""

import numpy as np
import pytest

from simulate import zoo
from theory import instanton, lbfgs_instanton
from theory._action import discrete_action
from theory.instanton._lbfgs import _KineticPreconditioner


def test_preconditioner_whitens_the_kinetic_action_and_maps_gradients():
    rng = np.random.default_rng(0)
    t = np.sort(rng.uniform(0.0, 2.0, 12))  # a non-uniform grid
    A = rng.normal(size=(3, 3))
    D = A @ A.T + 0.5 * np.eye(3)  # non-diagonal noise
    pre = _KineticPreconditioner(t, np.linalg.inv(D))
    X = np.zeros((t.size, 3))
    X[1:-1] = rng.normal(size=(t.size - 2, 3))
    np.testing.assert_allclose(pre.to_x(pre.to_y(X[1:-1])), X[1:-1], rtol=1e-12, atol=1e-12)
    # the kinetic part of the action, sum_k |x_{k+1} - x_k|^2_{D^-1} / (4 h_k), is |Y|^2 / 2
    dX = np.diff(X, axis=0)
    kinetic = np.sum(np.einsum("ki,ij,kj->k", dX, np.linalg.inv(D), dX) / (4 * np.diff(t)))
    Y = pre.to_y(X[1:-1])
    assert kinetic == pytest.approx(0.5 * np.sum(Y**2), rel=1e-12)
    # gradients map by the chain rule: dS(X(Y)) = grad_to_y(dS/dX) . dY
    net = zoo.rate_network(rng.normal(size=(3, 3)), D=D)
    _, G = discrete_action(net, X, t, grad=True)
    dY = rng.normal(size=Y.shape)
    h = 1e-6

    def S_of(Y):
        Z = X.copy()
        Z[1:-1] = pre.to_x(Y)
        return discrete_action(net, Z, t)

    slope = (S_of(Y + h * dY) - S_of(Y - h * dY)) / (2 * h)
    assert np.sum(pre.grad_to_y(G[1:-1]) * dY) == pytest.approx(slope, rel=1e-7)


def test_matches_the_banded_newton_solver_on_a_rate_network():
    rng = np.random.default_rng(3)
    d = 6
    A = rng.normal(size=(d, d))
    D = np.eye(d) + 0.2 * (A @ A.T) / d  # non-diagonal noise
    net = zoo.rate_network(
        1.5 * rng.normal(size=(d, d)) / np.sqrt(d), 0.1 * rng.normal(size=d), D=D
    )
    a, b = np.zeros(d), 0.8 * rng.normal(size=d)
    ref = instanton(net, a, b, 1.5, n=60)  # Newton MAM + Galerkin polish (continuum)
    got = lbfgs_instanton(net, a, b, 1.5, n=50, rtol=1e-7)
    assert ref.success and got.success, got.message
    # the midpoint rule converges as h^2: the last halving changed S by `precision`,
    # about 3/4 of the error before it, so the error now is about precision / 3
    assert got.action == pytest.approx(ref.action, rel=got.diagnostics["precision"])
    assert got.diagnostics["precision"] <= 1e-7


def test_oscillator_ring_phase_turn_exact_action_and_conserved_u1():
    # q = 0 (sync) at N = 4 turned by 1 rad in T = 2: the minimiser is uniform, z_k = w,
    # and w solves the 2-D Stuart–Landau problem, zoo.rotating_ring(omega=0), so S = N S_2D
    # and U1 = N L_2D (benchmarks/instanton_network.py has the general q)
    n = 4
    ring = zoo.oscillator_ring(n)
    a = zoo.twisted_state(0, n, 1.0, 1.0, 0.0)
    b = zoo.twisted_state(0, n, 1.0, 1.0, 1.0)
    two = instanton(zoo.rotating_ring(0.0), [1.0, 0.0], [np.cos(1.0), np.sin(1.0)], 2.0)
    got = lbfgs_instanton(ring, a, b, 2.0, n=50, rtol=1e-6)
    assert got.success and got.diagnostics["precision"] <= 1e-6
    assert got.action == pytest.approx(n * two.action, rel=got.diagnostics["precision"])
    assert got.charges.mean("U1") == pytest.approx(n * two.charges.mean("L"), rel=1e-5)
    assert abs(n * two.charges.mean("L")) > 0.5  # a transition that carries U(1) charge
    assert got.charges.holds(1e-6)["U1"]


def test_refuses_bad_input_and_reports_unconverged_grids():
    ring = zoo.oscillator_ring(4)
    with pytest.raises(ValueError, match="`T` must be a positive"):
        lbfgs_instanton(ring, "sync", "origin", None)
    with pytest.raises(ValueError, match="`guess` must be points"):
        lbfgs_instanton(ring, "sync", "origin", 1.0, guess=np.zeros((5, 3)))
    got = lbfgs_instanton(ring, "sync", "origin", 1.0, n=10, rtol=1e-12, max_nodes=40)
    assert not got.success and "not converged" in got.message
