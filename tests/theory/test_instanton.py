"""Instantons against closed forms (monostable, double well) and the Must-show list."""

import numpy as np
import pytest

from simulate import zoo
from tests.closed_forms import maier_stein_graph_minimum, ou_instanton
from theory import hamilton_flow, instanton

OU1 = ou_instanton(1.0)


@pytest.fixture(scope="module")
def mono1():
    return instanton(zoo.get("monostable"), "start", "end", T=1.0)


def test_monostable_T1(mono1):
    r = mono1
    assert r.success, r.message
    assert r.action == pytest.approx(OU1.action, rel=1e-6)
    assert r.charges.mean("H") == pytest.approx(OU1.energy, rel=1e-6)
    assert r.charges.mean("L") == pytest.approx(OU1.angular_momentum, rel=1e-6)
    assert np.max(np.abs(r.path - OU1.path(r.t))) < 1e-5
    assert r.charges.relative_drift["H"] <= 1e-6
    assert r.charges.relative_drift["L"] <= 1e-6
    assert "Galerkin" in r.message and r.diagnostics["galerkin_precision"] <= 1e-7
    frame = r.to_frame()
    assert {"t", "x0", "x1", "p0", "p1", "H", "L", "action"} <= set(frame.columns)


def test_monostable_T10():
    r = instanton(zoo.get("monostable"), "start", "end", T=10.0)
    assert r.success, r.message
    assert abs(r.charges.mean("H")) < 1e-6
    assert r.action == pytest.approx(4.0, abs=1e-4)
    assert np.max(np.abs(r.path - ou_instanton(10.0).path(r.t))) < 1e-5
    assert r.charges.drift["H"] <= 1e-8 or r.charges.relative_drift["H"] <= 1e-6
    assert r.charges.relative_drift["L"] <= 1e-6


def test_shooting_retraces_instanton(mono1):
    r = mono1
    k = r.t.size // 2
    flow = hamilton_flow(
        zoo.get("monostable"), r.path[k], r.p[k], (r.t[k], r.t[-1]), t_eval=r.t[k:]
    )
    np.testing.assert_allclose(flow.x, r.path[k:], atol=1e-6)


def test_nonuniform_grid_same_answer():
    t = np.sort(1.0 - np.logspace(0, -2, 60)) + 0.0
    t = np.concatenate([[0.0], t[t > 0]])
    t[-1] = 1.0
    r = instanton(zoo.get("monostable"), "start", "end", t=t)
    assert r.action == pytest.approx(OU1.action, rel=1e-6)


def test_double_well_quasipotential():
    s = zoo.get("double_well")
    r = instanton(s, "left", "saddle", n=200)
    assert r.success, r.message
    assert r.action == pytest.approx(0.25, abs=1e-6)
    # x(t) = -(1 + e^{2t})^{-1/2} after a time shift: fix it where x = -1/sqrt(2).
    x, t = r.path[1:-1, 0], r.t[1:-1]
    shift = np.interp(-(2**-0.5), x, t)
    exact = -1.0 / np.sqrt(1.0 + np.exp(2 * (t - shift)))
    inner = (x > -0.99) & (x < -0.05)
    assert np.max(np.abs(exact[inner] - x[inner])) < 1e-3
    down = instanton(s, "saddle", "right", n=100)
    assert abs(down.action) < 1e-10


def test_maier_stein_gradient_barrier():
    r = instanton(zoo.get("maier_stein"), "left", "saddle", n=100)
    assert r.action == pytest.approx(0.25, abs=1e-6)
    assert np.max(np.abs(r.path[:, 1])) < 1e-8
    assert r.diagnostics["kind"] == "minimum" and not r.saddles


@pytest.mark.parametrize("alpha", [4.5, 6.0, 10.0])
def test_maier_stein_default_call_finds_the_off_axis_minimum(alpha):
    # Must show (issue 14): the plain call, straight start only, leaves the on-axis saddle
    # path along its negative curvature and returns the off-axis minimum.
    r = instanton(zoo.get("maier_stein", alpha=alpha), [-1, 0], [0, 0], T=None)
    assert r.success, r.message
    assert r.diagnostics["kind"] == "minimum"
    assert all(m.diagnostics["kind"] == "minimum" for m in r.minima)
    exact, graph = maier_stein_graph_minimum(alpha)
    # the graph minimiser is an upper bound, converged to ~1e-5 relative with 32 modes
    assert exact - 2e-5 * exact <= r.action <= exact + 1e-9
    assert np.max(np.abs(r.path[:, 1])) > 0.1
    inner = (r.path[:, 0] > -0.95) & (r.path[:, 0] < -0.05)
    y = np.abs(r.path[inner, 1])
    assert np.max(np.abs(y - np.abs(graph(r.path[inner, 0])))) < 2e-3
    # mirror images: both off-axis minima, equal actions
    assert len(r.minima) == 2
    assert r.minima[1].action == pytest.approx(r.action, rel=1e-9)
    # the on-axis path is kept as a saddle with its certificate
    assert len(r.saddles) == 1
    axis = r.saddles[0]
    assert np.max(np.abs(axis.path[:, 1])) < 1e-10 and axis.action == pytest.approx(0.25)
    assert axis.diagnostics["kind"] == "saddle" and axis.diagnostics["hessian_min_eig"] < 0


def _ring_barrier_checks(r):
    # f = -grad U + omega J x with U = (r^2 - 1)^2 / 4 (J x orthogonal to grad U and
    # divergence-free): the quasipotential is U, so the barrier from the ring to the
    # origin is U(0) - U(1) = 1/4, and p = grad U is radial: L = 0.
    assert r.success, r.message
    assert r.diagnostics["kind"] == "minimum"
    assert r.diagnostics["precision"] <= 1e-7
    assert all(r.diagnostics["newton_success"])
    assert abs(r.action - 0.25) <= 1e-7 * 0.25
    assert abs(r.charges.mean("L")) < 1e-6 and r.charges.holds(1e-6)["L"]


def test_rotating_ring_barrier_to_1e7():
    # Issue 14: the start lies on the limit cycle r = 1 (the instanton winds infinitely
    # often there) and the end is a focus. The exact Hessian of the chord penalty lets
    # Newton converge on every grid; the doubling reaches tol = 1e-7 at 25600 chords.
    _ring_barrier_checks(instanton(zoo.rotating_ring(omega=1.0), [1, 0], [0, 0], T=None))


@pytest.mark.slow
def test_rotating_ring_barrier_to_1e7_faster_rotation():
    # omega = 2 winds twice as fast: 51200 chords (a minute on 2 cores)
    s = zoo.rotating_ring(omega=2.0)
    _ring_barrier_checks(instanton(s, [1, 0], [0, 0], T=None, max_nodes=60000))


def test_rotating_ring_reports_failure_below_its_tolerance():
    # max_nodes stops the doubling at 1600 chords, where the action still changes by
    # ~1e-6 relative under a doubling: not converged to tol, and said so
    r = instanton(zoo.rotating_ring(), [1, 0], [0, 0], T=None, max_nodes=3300)
    assert not r.success and "above tol" in r.message
    assert r.diagnostics["precision"] > 1e-7 and r.action > 0.25


def test_geometric_refuses_finite_time_options():
    s = zoo.get("maier_stein")
    for option in ({"polish": False}, {"order": 1}, {"lagrangian": "reduced"}, {"t0": 1.0}):
        with pytest.raises(ValueError, match=f"`{next(iter(option))}`"):
            instanton(s, "left", "saddle", T=None, **option)


@pytest.mark.slow
def test_reverse_diffusion_ring_angular_momentum():
    s = zoo.get("reverse_diffusion_ring")
    t1 = s.params[2]
    grid = t1 - np.logspace(1.5, -0.4, 50)
    L = {}
    for end in ["ring_pi/4", "ring_0", "ring_-pi/4", "ring_-pi/2", "ring_pi/2"]:
        # Off-axis starts matter only where the straight path is a symmetric critical point.
        detours = [[[-6.0, 0.0]], [[6.0, 0.0]]] if end == "ring_-pi/2" else None
        r = instanton(s, "start", end, t=grid, waypoints=detours)
        assert r.success, r.message
        assert r.charges.relative_drift["L"] <= 1e-5 or r.charges.drift["L"] <= 1e-8
        L[end] = abs(r.charges.mean("L"))
    assert L["ring_pi/2"] < 1e-8
    # The issue expects |L| to grow pi/4 -> 0 -> -pi/4 -> -pi/2. The converged minima
    # (either Lagrangian, and the paper's own gradient descent) instead follow
    # |L| ~ sin(angle from the start): the paths are nearly straight where the noise is
    # large, and the antipodal end is reached on the symmetry axis (docs/instanton-notes.md).
    assert min(L["ring_pi/4"], L["ring_-pi/4"]) > 1e-3
    assert L["ring_0"] > max(L["ring_pi/4"], L["ring_-pi/4"])
    assert L["ring_-pi/2"] < 1e-8


@pytest.mark.slow
def test_decision_memory_T1_conserves_energy():
    r = instanton(zoo.get("decision_memory"), "x_wins", "y_wins", T=1.0, n=200)
    assert r.success, r.message
    assert r.charges.relative_drift["H"] <= 1e-6


def test_errors():
    s = zoo.get("monostable")
    with pytest.raises(ValueError, match="`T`"):
        instanton(s, "start", "end", T=-1.0)
    with pytest.raises(ValueError, match="`x_start`"):
        instanton(s, "nowhere", "end", T=1.0)
    with pytest.raises(ValueError, match="autonomous"):
        instanton(zoo.get("reverse_diffusion_ring"), "start", "ring_0")


@pytest.mark.slow
def test_decision_memory_continuation_in_steepness():
    # The n = 0.01 switches defeat a direct BVP solve; sharpening them step by step from
    # n = 0.3 converges (T = 10; at T = 40 the continuation stalls near n = 0.034).
    from theory import homotopy

    s = zoo.get("decision_memory")
    steps = homotopy(s, "n", 0.3, 0.8)
    assert steps[-1] is s and steps[0].params[5] == pytest.approx(0.3)
    r = instanton(s, "x_wins", "y_wins", T=10.0, n=200, continuation=steps)
    assert r.success, r.message
    assert r.action == pytest.approx(6.839366, rel=1e-5)
    assert r.charges.relative_drift["H"] <= 1e-6


def test_saddle_paths_are_not_reported_as_minima():
    # Maier–Stein, alpha = 6, finite T, straight start only: it stays on the x-axis (a
    # symmetric critical point), a saddle of the action; the solver leaves it along its
    # negative curvature both ways and returns the off-axis minima.
    s = zoo.get("maier_stein", alpha=6.0)
    r = instanton(s, "left", "saddle", T=10.0, n=100)
    assert r.success, r.message
    assert len(r.saddles) == 1
    on_axis = r.saddles[0]
    assert on_axis.label == "straight" and np.max(np.abs(on_axis.path[:, 1])) < 1e-8
    assert on_axis.diagnostics["hessian_min_eig"] < 0
    assert len(r.minima) == 2
    assert {m.label for m in r.minima} == {"straight+escape+", "straight+escape-"}
    for m in r.minima:
        assert m.diagnostics["kind"] == "minimum"
        assert np.max(np.abs(m.path[:, 1])) > 0.1
        assert m.action < on_axis.action - 1e-3
    assert r.minima[0].action == pytest.approx(r.minima[1].action, rel=1e-6)
    # a finite-T path costs at least the infinite-time (geometric) minimum
    geo = instanton(s, "left", "saddle", T=None)
    assert geo.action <= r.action <= geo.action * (1 + 1e-4)


@pytest.mark.slow
def test_decision_memory_T40_sharp_switches():
    # n = 0.01: collocation (solve_bvp) cannot mesh the switching layers at T = 40; the
    # Galerkin polish, re-timed at one energy and refined where H jumps, converges.
    s = zoo.get("decision_memory")
    r = instanton(s, "x_wins", "y_wins", T=40.0, n=100, waypoints=["both_high", "origin"])
    assert r.success, r.message
    d = r.diagnostics
    assert "Galerkin" in r.message and d["galerkin_precision"] <= 1e-7
    assert r.action == pytest.approx(6.6108540, abs=1e-6)
    assert np.max(np.sum(r.path, axis=1)) > 4.5  # through the both-high attractor
    # H is small (the path nearly balances its dwell times) and conserved to 1e-8
    # absolute; relative to |H| ~ 3e-6 that is only ~1e-3 (a round-off floor, see
    # docs/instanton-notes.md), relative to the terms p^T D p, p^T f (~7) it is ~1e-9.
    assert abs(r.charges.mean("H")) < 1e-5
    assert r.charges.drift["H"] <= 1e-8
    assert r.charges.scaled_drift["H"] <= 1e-6
    assert len(r.minima) == 2  # the straight start finds the global minimum again
    second = r.minima[1]
    assert second.success and second.action == pytest.approx(9.8200952, abs=1e-6)
    assert second.charges.drift["H"] <= 1e-8
    assert all(m.diagnostics["kind"] == "minimum" for m in r.minima)


def test_reduced_lagrangian_differs_by_a_boundary_term_for_ou():
    # For f = -x, D = I the dropped cross term -1/2 xdot . f = d/dt |x|^2/4 is a total
    # derivative: same path, S_red = S_FW - (|x_T|^2 - |x_0|^2)/4, p_red = p_FW - x/2.
    s = zoo.get("monostable")
    a, b = np.array([-2.0, 2.0]), np.array([1.0, 0.5])
    fw = instanton(s, a, b, T=1.0)
    red = instanton(s, a, b, T=1.0, lagrangian="reduced")
    assert fw.success and red.success, (fw.message, red.message)
    np.testing.assert_allclose(red.t, fw.t)
    np.testing.assert_allclose(red.path, fw.path, atol=1e-7)
    assert red.action == pytest.approx(fw.action - (b @ b - a @ a) / 4, rel=1e-8)
    np.testing.assert_allclose(red.p, fw.p - red.path / 2, atol=1e-6)
    # its own Hamiltonian, H_red = |p_red|^2 - |f|^2/4, equals H_FW(p_FW) on the same path
    # (the energy v . dL/dv - L does not see a term linear in v): both 1/4 (|v|^2 - |f|^2)
    F = s.f(red.path, red.t)
    expected = np.sum(red.p**2, axis=1) - 0.25 * np.sum(F**2, axis=1)
    np.testing.assert_allclose(red.charges.values["H"], expected, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(red.charges.values["H"], fw.charges.values["H"], atol=1e-6)
    assert red.charges.conserved["H"] and red.charges.relative_drift["H"] <= 1e-6
    with pytest.raises(ValueError, match="lagrangian"):
        instanton(s, a, b, T=1.0, lagrangian="nope")


def test_reverse_diffusion_reduced_lagrangian_conserves_angular_momentum():
    s = zoo.get("reverse_diffusion_ring")
    grid = s.params[2] - np.logspace(1.5, -0.4, 50)
    for end in ["ring_pi/4", "ring_0"]:
        fw = instanton(s, "start", end, t=grid)
        red = instanton(s, "start", end, t=grid, lagrangian="reduced")
        assert red.success, red.message
        assert red.charges.relative_drift["L"] <= 1e-6
        assert red.action > fw.action + 1e-3  # the cross term is not a boundary term here
        assert abs(red.charges.mean("L")) < abs(fw.charges.mean("L"))


def test_unconverged_candidates_are_not_minima():
    from theory.instanton._ranking import Instanton, rank_candidates

    t = np.linspace(0.0, 1.0, 11)

    def cand(shift, action, success, kind="minimum"):
        path = np.column_stack([t, shift * np.sin(np.pi * t)])
        diag = {"kind": kind}
        return Instanton(path, t, 0 * path, action, 1.0, None, success=success, diagnostics=diag)

    good, other = cand(0.0, 2.0, True), cand(1.0, 3.0, True)
    lower_failed = cand(0.5, 1.0, False)  # lower action, but not converged
    dup_failed = cand(0.0, 2.0 + 1e-9, False)  # a failed copy of a converged minimum
    axis = cand(-1.0, 2.5, True, kind="saddle")
    r = rank_candidates([lower_failed, other, dup_failed, axis, good], scale=1.0)
    assert r.action == 2.0 and r.success
    assert [m.action for m in r.minima] == [2.0, 3.0]
    assert [m.action for m in r.unconverged] == [1.0]
    assert [m.action for m in r.saddles] == [2.5]
    # nothing converged: the failed candidates stand in, flagged by success
    alone = rank_candidates([lower_failed, dup_failed], scale=1.0)
    assert not alone.success and [m.action for m in alone.minima] == [1.0, 2.0 + 1e-9]
    assert alone.unconverged == ()


def test_scaled_drift_measures_conservation_where_the_charge_is_near_zero():
    # Term scales by hand on arbitrary points and momenta.
    from theory import charges

    s = zoo.get("monostable")
    rng = np.random.default_rng(3)
    X, P, t = rng.normal(size=(7, 2)), rng.normal(size=(7, 2)), np.linspace(0.0, 1.0, 7)
    ch = charges(s, X, t, p=P)
    kinetic = np.sum(P @ s.D * P, axis=1)
    work = np.sum(P * s.f(X), axis=1)
    assert ch.scale["H"] == pytest.approx(np.max(np.maximum(abs(kinetic), abs(work))))
    L_terms = np.column_stack([-X[:, 1] * P[:, 0], X[:, 0] * P[:, 1]])
    assert np.allclose(ch.values["L"], L_terms.sum(axis=1))
    assert ch.scale["L"] == pytest.approx(np.max(np.abs(L_terms)))
    assert ch.scaled_drift["H"] == pytest.approx(ch.drift["H"] / ch.scale["H"])
    # At T = 10, H ~ 3e-8 is a cancellation of terms ~ 8: relative to |H| its drift looks
    # like 1e-5, relative to the terms it is at round-off.
    r = instanton(s, "start", "end", T=10.0)
    assert r.charges.scale["H"] == pytest.approx(8.0, rel=1e-6)
    assert r.charges.relative_drift["H"] > 1e-7
    assert r.charges.scaled_drift["H"] < 1e-11


def test_lagrangian_hamiltonians_are_the_energy_of_their_lagrangian():
    # Exact identity: for p = dL/dv, H(x, p, t) = v . p - L(x, v, t) = 1/4 (|v|^2 - |f|^2)
    # in the D(t)^{-1} norm, for both Lagrangians (here with a schedule, D(t) = d(t) D).
    from theory import hamiltonian
    from theory.instanton._elements import lagrangian_hamiltonian

    s = zoo.get("reverse_diffusion_ring")
    rng = np.random.default_rng(3)
    x, v = rng.normal(size=(20, 2)), rng.normal(size=(20, 2))
    t = rng.uniform(*s.t_span, size=20)
    F = s.f(x, t)
    Dt_inv = s.D_inv[None] / s.diffusion_scale(t)[:, None, None]

    def norm2(a):
        return np.einsum("ki,kij,kj->k", a, Dt_inv, a)

    energy = 0.25 * (norm2(v) - norm2(F))
    p_fw = 0.5 * np.einsum("kij,kj->ki", Dt_inv, v - F)
    p_red = 0.5 * np.einsum("kij,kj->ki", Dt_inv, v)
    L_red = 0.25 * (norm2(v) + norm2(F))
    for name, p in [("fw", p_fw), ("reduced", p_red)]:
        H = lagrangian_hamiltonian(s, x, p, t, name)[0]
        np.testing.assert_allclose(H, energy, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(hamiltonian(s, x, p_fw, t), energy, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(np.einsum("ki,ki->k", v, p_red) - L_red, energy, rtol=1e-12)


def test_charges_hold_only_within_tolerance():
    # the OU instanton conserves H and L to the polish's precision; a perturbed path's
    # charges drift, and are then not called conserved although theory conserves them
    r = instanton(zoo.get("monostable"), "start", "end", T=1.0)
    assert r.charges.holds(1e-6) == {"H": True, "L": True}
    from theory import charges

    bent = r.path + 0.05 * np.sin(np.pi * (r.t - r.t[0]) / (r.t[-1] - r.t[0]))[:, None]
    ch = charges(zoo.get("monostable"), bent, r.t)
    assert ch.conserved == {"H": True, "L": True}
    assert ch.holds(1e-6) == {"H": False, "L": False}
    with pytest.raises(ValueError, match="`tol`"):
        ch.holds(-1.0)


def test_infinite_time_without_an_analytic_jacobian():
    # f = -grad U, U = x^4/4 - x^2/2 + y^2: the action from (-1, 0) to the saddle is
    # U(0) - U(-1) = 1/4; the kernels take central differences of the drift for Df
    def drift(x, t, p, out):
        out[0] = x[0] - x[0] ** 3
        out[1] = -2.0 * x[1]

    from simulate import System

    no_jac = System(drift=drift, D=np.eye(2), name="gradient_no_jac")
    inst = instanton(no_jac, [-1.0, 0.0], [0.0, 0.0], T=None)
    assert inst.success
    assert inst.action == pytest.approx(0.25, rel=1e-6)
