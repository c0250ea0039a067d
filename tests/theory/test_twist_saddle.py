"""The saddle between the oscillator ring's sync and twist_1 basins (N = 16, mu = K = 1).

The ring is a gradient system, so the infinite-time action sync -> twist_1 is the barrier
V(saddle) - V(sync); these tests pin the saddle found by ``theory.fixed_points`` and check
the barrier against the gradient flow off the saddle (docs/networks.md, "The twist
transition")."""

import numpy as np
import pytest
from scipy.integrate import solve_ivp

import theory
from simulate import zoo

N = 16
BARRIER = 1.2840063355  # V(saddle) - V(sync), from the run recorded in docs/networks.md


def slip_guess(n):
    """Phases rising by pi across n - 1 bonds, the last bond carrying the other pi, and
    amplitude 1/2 at its two ends (with amplitude 1 there, Newton lands on sync)."""
    r = np.ones(n)
    r[[0, -1]] = 0.5
    z = r * np.exp(1j * np.pi * np.arange(n) / (n - 1))
    return np.column_stack([z.real, z.imag]).ravel()


def drift(system, x):
    out = np.empty_like(x)
    system.drift(x, 0.0, np.asarray(system.params, dtype=float), out)
    return out


@pytest.fixture(scope="module")
def saddle():
    system = zoo.oscillator_ring(N)
    found = theory.fixed_points(system, guesses=slip_guess(N)[None], n_scan=0)
    saddles = [p for p in found.points if p.index == 1]
    assert saddles, f"no index-1 point among {found.points}"
    return system, saddles[0]


def test_ring_potential_is_minus_the_drift_primitive():
    system = zoo.oscillator_ring(8, mu=1.3, coupling=0.7)
    x = np.random.default_rng(3).normal(size=16)
    h = 1e-6
    grad = np.array(
        [
            (zoo.ring_potential(x + h * e, 1.3, 0.7) - zoo.ring_potential(x - h * e, 1.3, 0.7))
            / (2 * h)
            for e in np.eye(16)
        ]
    )
    np.testing.assert_allclose(-grad, drift(system, x), atol=1e-8)
    assert zoo.ring_winding(zoo.twisted_state(2, 16, 1.3, 0.7, phase=0.4)) == 2
    assert zoo.ring_winding(zoo.twisted_state(-1, 8, 1.3, 0.7)) == -1


def test_slip_saddle_index_and_barrier(saddle):
    system, s = saddle
    assert s.residual < 1e-10
    # index 1 plus the U(1) zero mode: 'non-hyperbolic' with one positive eigenvalue
    ev = np.sort(s.eigenvalues.real)[::-1]
    assert ev[0] == pytest.approx(0.33719969, abs=1e-7)
    assert abs(ev[1]) < 1e-9 and ev[2] < -1e-3
    barrier = zoo.ring_potential(s.x) - zoo.ring_potential(system.states["sync"])
    assert barrier == pytest.approx(BARRIER, abs=1e-9)
    # a phase slip without a zero amplitude: the smallest |z_k| is 0.47
    z = s.x[0::2] + 1j * s.x[1::2]
    assert np.abs(z).min() == pytest.approx(0.4722, abs=1e-4)


def test_gradient_flow_off_the_saddle_reaches_sync_and_twist_1(saddle):
    """Downhill along +-u (u the unstable eigenvector): one side ends at sync (winding 0),
    the other at twist_1; the integral of |f|^2 along each (the action of the time-reversed
    path, S = 1/4 int |xdot - f|^2 with xdot = -f) equals the drop of V, an independent check
    of the barrier."""
    system, s = saddle
    h = 1e-6
    J = np.array(
        [(drift(system, s.x + h * e) - drift(system, s.x - h * e)) / (2 * h) for e in np.eye(2 * N)]
    ).T
    w, U = np.linalg.eigh(0.5 * (J + J.T))
    u = U[:, -1]

    def rhs(t, y):
        f = drift(system, y[:-1])
        return np.append(f, f @ f)

    ends = {}
    for sign in (1, -1):
        sol = solve_ivp(
            rhs, (0, 300), np.append(s.x + sign * 1e-6 * u, 0.0), rtol=1e-11, atol=1e-13
        )
        end = sol.y[:-1, -1]
        drop = zoo.ring_potential(s.x) - zoo.ring_potential(end)
        assert sol.y[-1, -1] == pytest.approx(drop, rel=1e-6)
        assert np.abs(drift(system, end)).max() < 1e-8
        # the U(1) charge of the reversed leg, Q = p . A x with p = (xdot - f) / 2 = -f,
        # vanishes at every point (V is U(1) invariant); relative to |f| |A x|
        A = system.generators[0].A
        for x in sol.y[:-1].T[:: max(1, sol.y.shape[1] // 50)]:
            f = drift(system, x)
            assert abs(f @ (A @ x)) <= 1e-12 * (1 + np.linalg.norm(f) * np.linalg.norm(x))
        ends[int(zoo.ring_winding(end))] = drop
    assert sorted(ends) == [0, 1]
    assert ends[0] == pytest.approx(BARRIER, abs=1e-7)
    twist = zoo.ring_potential(system.states["twist_1"]) - zoo.ring_potential(system.states["sync"])
    assert ends[1] == pytest.approx(BARRIER - twist, abs=1e-7)


def test_fourier_power_coordinate(saddle):
    """xi = |Z_1|^2 - |Z_0|^2: -1 at sync, r^2 at twist_1, 0.336 at the saddle, and
    invariant under the U(1) rotation and the translation z_k -> z_{k+1}."""
    from simulate import reaction_coordinate

    system, s = saddle
    xi = reaction_coordinate(zoo.ring_fourier_power, (1.0,))
    assert xi(system.states["sync"]) == pytest.approx(-1.0, abs=1e-13)
    assert xi(zoo.twisted_state(1, N, 1.0, 1.0, 0.7)) == pytest.approx(
        1 - 4 * np.sin(np.pi / N) ** 2, abs=1e-13
    )
    assert xi(s.x) == pytest.approx(0.33628531, abs=1e-7)
    x = np.random.default_rng(5).normal(size=2 * N)
    z = x[0::2] + 1j * x[1::2]
    for w in (np.exp(0.9j) * z, np.roll(z, 1)):
        y = np.column_stack([w.real, w.imag]).ravel()
        assert xi(y) == pytest.approx(xi(x), abs=1e-12)
