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
    for o in range(min(ab.shape[0], n)):  # a band may be wider than the matrix
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


@pytest.mark.parametrize("lagrangian", ["fw", "reduced"])
def test_galerkin_gradient_and_hessian_match_finite_differences(lagrangian):
    # Degree 3 on the time-dependent reverse diffusion (schedule D(t) = t D): the gradient
    # of the gradient-only level is the full level's, and the banded Hessian (blocks of
    # M, M J and J^T M J; the reduced Lagrangian's beta = 0 term has no drift curvature)
    # is the finite-difference derivative of that gradient.
    from theory.instanton._elements import element_terms, nodes
    from theory.instanton._newton import scatter_banded

    s = zoo.get("reverse_diffusion_ring")
    t = np.linspace(1.0, 3.0, 5)
    tn = nodes(t, 3)
    rng = np.random.default_rng(3)
    X = np.linspace([0.5, 2.0], [1.5, -0.5], tn.size) + 0.1 * rng.normal(size=(tn.size, 2))

    def grad(Y):
        _, g, H = element_terms(s, Y, t, 3, True, lagrangian, hessian=False)
        assert H.size == 0
        return scatter_banded(g, np.zeros((g.shape[0], 8, 8)), Y.shape[0], 2, 3)[0]

    _, g, H = element_terms(s, X, t, 3, True, lagrangian)
    G, ab = scatter_banded(g, H, X.shape[0], 2, 3)
    np.testing.assert_array_equal(G, grad(X))
    z = X[1:-1].ravel()

    def at(z):
        Y = X.copy()
        Y[1:-1] = z.reshape(-1, 2)
        return grad(Y)

    Hfd = np.array([(at(z + 1e-6 * e) - at(z - 1e-6 * e)) / 2e-6 for e in np.eye(z.size)])
    assert np.max(np.abs(Hfd - _dense(ab))) <= 1e-7 * np.max(np.abs(ab))


def test_band_cholesky_matches_lapack():
    # The compiled banded Cholesky and solve against LAPACK dpbtrf and a dense solve, and
    # the first non-positive pivot (LAPACK's info) on indefinite matrices.
    from scipy.linalg.lapack import dpbtrf

    from theory._kernels import band_cholesky, band_solve, shifted_cholesky

    rng = np.random.default_rng(7)
    for n, kd in ((1, 0), (5, 7), (40, 3), (60, 7)):
        ab = rng.normal(size=(kd + 1, n))
        for k in range(1, kd + 1):
            ab[k, n - k :] = 0.0  # LAPACK leaves these unused
        dense = _dense(ab)
        lam = np.linalg.eigvalsh(dense)[0]
        for mu in (1.0 - lam, -1.0 - lam):
            L = np.empty_like(ab)
            info = band_cholesky(ab, mu, L)
            shifted = ab.copy()
            shifted[0] += mu
            ref, ref_info = dpbtrf(shifted, lower=1)
            assert info == ref_info
            if mu < -lam:
                assert info > 0
                continue
            np.testing.assert_allclose(L, ref, rtol=1e-12, atol=1e-12)
            b = rng.normal(size=n)
            x = b.copy()
            band_solve(L, x)
            np.testing.assert_allclose(x, np.linalg.solve(dense + mu * np.eye(n), b), rtol=1e-10)
        # the Levenberg shift: 0 when positive definite, else the first of start, 4 start,
        # 16 start, ... above -lam
        L = np.empty_like(ab)
        mu = shifted_cholesky(ab, 0.3, L)
        if lam > 0:
            assert mu == 0.0
        else:
            k = np.log(mu / 0.3) / np.log(4.0)
            assert k == pytest.approx(round(k), abs=1e-12)
            assert mu > -lam and (mu == 0.3 or mu / 4.0 <= -lam)
        np.testing.assert_allclose(
            L,
            dpbtrf(ab + mu * (np.arange(kd + 1) == 0)[:, None], lower=1)[0],
            rtol=1e-12,
            atol=1e-12,
        )


def test_chord_penalty_exact_hessian_matches_finite_differences():
    # The penalised geometric action's exact Hessian is the kernel's band minus the
    # rank-one term of the mean chord, c v v^T (mean_chord_term): the finite-difference
    # derivative of the exact gradient, with a non-diagonal D and unequal chords (the
    # band alone misses c v v^T, here ~1e-1 of the largest entry).
    from simulate import System
    from theory.instanton._geometric import chord_terms, mean_chord_term

    base = zoo.get("maier_stein", alpha=6.0)
    s = System(drift=base.drift, jac=base.jac, params=base.params, D=[[1.0, 0.3], [0.3, 0.5]])
    rng = np.random.default_rng(11)
    u = np.sort(rng.uniform(0.0, 1.0, 9))
    X = np.column_stack([u - 1.0, 0.3 * np.sin(np.pi * u)]) + 0.02 * rng.normal(size=(9, 2))
    mu = 3.0
    _, G, ab = chord_terms(s, X, mu, True)
    c, v = mean_chord_term(s, X, mu)
    H = _dense(ab) - c * np.outer(v, v)

    def grad(z):
        Y = X.copy()
        Y[1:-1] = z.reshape(-1, 2)
        return chord_terms(s, Y, mu, True)[1]

    z = X[1:-1].ravel()
    Hfd = np.array([(grad(z + 1e-6 * e) - grad(z - 1e-6 * e)) / 2e-6 for e in np.eye(z.size)])
    assert np.max(np.abs(Hfd - H)) <= 1e-7 * np.max(np.abs(H))
    assert c * np.max(np.abs(np.outer(v, v))) > 1e-2 * np.max(np.abs(H))


def _reference_newton(assemble, action, X, rtol=1e-14, stall=1e-11, maxiter=100):
    """The Newton loop of theory._kernels.newton_loop, transcribed in Python with LAPACK's
    banded Cholesky (dpbtrf, dpbtrs): (X, S, iterations, largest shift, criterion).
    ``assemble`` may return a fourth item (c, v): the Hessian is then the band B minus
    c v v^T, by Sherman–Morrison where B needed no shift and 1 - c v^T B^{-1} v > 0."""
    from scipy.linalg.lapack import dpbtrf, dpbtrs

    X = np.array(X, dtype=float)
    n, d = X.shape
    shift, last_mu, how = 0.0, 0.0, ""
    history = [action(X)]
    for it in range(1, maxiter + 1):  # noqa: B007 - returned
        S, G, ab, *low = assemble(X)
        scale, mu = max(float(np.max(np.abs(ab[0]))), 1e-300), 0.0
        while True:
            cb, info = dpbtrf(ab + mu * (np.arange(ab.shape[0]) == 0)[:, None], lower=1)
            if info == 0:
                break
            mu = max(4.0 * mu, 0.25 * last_mu, 1e-10 * scale)
        last_mu, shift = mu, max(shift, mu)
        dx = -dpbtrs(cb, G, lower=1)[0]
        if low and mu == 0.0:
            c, v = low[0]
            z = dpbtrs(cb, v, lower=1)[0]
            den = 1.0 - c * float(v @ z)
            if den > 0.0:
                dx = dx + z * (c * float(v @ dx) / den)
        dec = float(-G @ dx)
        step, accepted = 1.0, False
        for _ in range(40):
            Xt = X.copy()
            Xt[1:-1] += step * dx.reshape(n - 2, d)
            St = action(Xt)
            if np.isfinite(St) and St <= S - 1e-4 * step * dec + 1e-15 * abs(S):
                accepted = True
                break
            step *= 0.5
        if accepted:
            X, S = Xt, St
        history.append(S)
        if dec <= rtol * (1.0 + abs(S)):
            how = "decrement"
            break
        if len(history) > 5 and history[-6] - S <= stall * (1.0 + abs(S)):
            how = "action"
            break
        if not accepted:
            how = "round-off" if dec <= 1e-11 * (1.0 + abs(S)) else ""
            break
    return X, S, it, shift, how


@pytest.mark.parametrize(
    ("name", "q", "end"),
    [
        ("decision_memory", 3, "y_wins"),
        ("reverse_diffusion_ring", 1, "ring_0"),
        ("maier_stein", None, "saddle"),
    ],
)
def test_compiled_newton_loop_matches_the_python_loop(name, q, end):
    # The compiled loop (theory._kernels.newton_loop) takes the steps of a Python
    # transcription with LAPACK's banded Cholesky: same iterations, criterion, shifts and
    # minimiser, on the element action (degree 3; degree 1 with a time-dependent D) and
    # on the penalised geometric action (T = None, with the rank-one term of the mean
    # chord by Sherman–Morrison).
    from scipy.interpolate import CubicSpline

    from theory.instanton._elements import element_terms, nodes
    from theory.instanton._geometric import chord_terms, mean_chord_term
    from theory.instanton._newton import newton_elements_loop, newton_geometric, scatter_banded

    s = zoo.get(name)
    if name == "maier_stein":
        # a bent start on the way to the off-axis minimum (alpha = 6)
        s = zoo.get(name, alpha=6.0)
        u = np.linspace(0.0, 1.0, 41)
        X = np.column_stack([u - 1.0, 0.3 * np.sin(np.pi * u)])
        mu = 0.5

        def assemble(Y):
            return (*chord_terms(s, Y, mu, True), mean_chord_term(s, Y, mu))

        def action(Y):
            return chord_terms(s, Y, mu)[0]

        ref = _reference_newton(assemble, action, X, rtol=1e-15)
        r = newton_geometric(s, X, mu, rtol=1e-15)
    else:
        if name == "decision_memory":
            t = np.linspace(0.0, 1.0, 30)
            x0, x1 = s.point("x_wins"), s.point(end)
        else:
            t = s.params[2] - np.logspace(1.5, -0.4, 50)
            x0, x1 = s.point("start"), s.point(end)
        X = CubicSpline([t[0], t[-1]], np.vstack([x0, x1]), axis=0)(nodes(t, q))

        def assemble(Y):
            S, g, H = element_terms(s, Y, t, q, True)
            return (float(S), *scatter_banded(g, H, Y.shape[0], 2, q))

        def action(Y):
            return float(element_terms(s, Y, t, q, False)[0])

        ref = _reference_newton(assemble, action, X)
        r = newton_elements_loop(s, X, t, q)
    X_ref, S_ref, it_ref, shift_ref, how_ref = ref
    assert r.success and how_ref
    assert (r.iterations, r.criterion) == (it_ref, how_ref)
    assert r.shift == pytest.approx(shift_ref, rel=1e-10)
    assert r.S == pytest.approx(S_ref, rel=1e-13)
    np.testing.assert_allclose(r.X, X_ref, rtol=0, atol=1e-9 * np.ptp(X))
    np.testing.assert_array_equal(X[[0, -1]], r.X[[0, -1]])


def test_settle_keeps_the_nodes_with_the_smallest_gradient():
    # settle_gradient (compiled: theory._kernels.settle_loop) against its Python
    # transcription with LAPACK: full Newton steps from a path near the minimiser, the
    # nodes with the smallest max |dS/dX| kept, stopping after two steps that do not lower it.
    from scipy.interpolate import CubicSpline
    from scipy.linalg import solveh_banded

    from theory.instanton._elements import element_terms, nodes
    from theory.instanton._newton import NewtonResult, scatter_banded, settle_gradient

    s = zoo.get("decision_memory", n=0.1)
    t = np.linspace(0.0, 1.0, 12)
    X = CubicSpline([0.0, 1.0], np.vstack([s.point("x_wins"), s.point("y_wins")]), axis=0)(
        nodes(t, 3)
    )

    def assemble(Y):
        S, g, H = element_terms(s, Y, t, 3, True)
        return (float(S), *scatter_banded(g, H, Y.shape[0], 2, 3))

    X = _reference_newton(assemble, lambda Y: assemble(Y)[0], X, maxiter=3)[0]  # not there yet
    start = NewtonResult(X=X, S=assemble(X)[0], iterations=3, decrement=0, shift=0, success=False)
    r = settle_gradient(s, t, 3, "fw", start)
    best, Y, sizes = np.inf, X.copy(), []
    for it in range(1, 13):  # noqa: B007 - compared
        S, G, ab = assemble(Y)
        sizes.append(np.max(np.abs(G)))
        if sizes[-1] < best:
            best, X_best, S_best, worse = sizes[-1], Y.copy(), S, 0
        else:
            worse += 1
            if worse >= 2:
                break
        Y[1:-1] -= solveh_banded(ab, G, lower=True).reshape(-1, 2)
    assert r.iterations == 3 + it and it >= 3
    assert r.S == pytest.approx(S_best, rel=1e-13)
    np.testing.assert_allclose(r.X, X_best, rtol=0, atol=1e-10)
    assert np.max(np.abs(assemble(r.X)[1])) < 1e-6 * sizes[0]  # the steps did settle it
