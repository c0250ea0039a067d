"""Exact references against closed forms."""

import numpy as np
import pytest
from scipy.integrate import quad

from simulate import System, zoo
from validate import (
    committor_1d,
    conditioned_occupation_1d,
    drift_diffusion_bridge,
    gaussian_bridge,
    hitting_cdf,
    hitting_density,
    reactive_duration_1d,
)


def _free(x, t, p, out):
    out[0] = 0.0


def test_gaussian_bridge_mean_is_the_instanton_and_cov_scales_with_eps():
    ms = zoo.monostable()
    t = np.linspace(0, 1, 51)
    x0, x1 = np.array([-2.0, 2.0]), np.array([2.0, 2.0])
    inst = np.outer(np.sinh(t) / np.sinh(1), x1 - x0 * np.exp(-1)) + np.outer(np.exp(-t), x0)
    a = gaussian_bridge(ms, "start", "end", t, 0.1)
    b = gaussian_bridge(ms, "start", "end", t, 0.4)
    assert np.abs(a.mean - inst).max() < 1e-12
    assert np.abs(b.mean - inst).max() < 1e-12
    np.testing.assert_allclose(b.cov, 4 * a.cov, atol=1e-14)
    # 1-D OU bridge variance eps (1 - e^{-2t})(1 - e^{-2(T-t)}) / (1 - e^{-2T}) per axis
    var = 0.1 * (1 - np.exp(-2 * t)) * (1 - np.exp(-2 * (1 - t))) / (1 - np.exp(-2))
    np.testing.assert_allclose(a.cov[:, 0, 0], var, atol=1e-12)
    # the Euler–Maruyama bridge converges to it as dt -> 0
    c = gaussian_bridge(ms, "start", "end", t, 0.1, dt=0.001)
    assert np.abs(c.mean - inst).max() < 2e-3


def test_hitting_cdf_is_the_integral_of_its_density():
    for x in (0.5, -0.8, 0.9):
        exact = quad(lambda u, x=x: hitting_density(u, x, 0.1, 1.0), 0.0, 1.0)[0]
        assert abs(hitting_cdf(1.0, x, 0.1, 1.0) - exact) < 1e-9


def test_drift_diffusion_bridge_bows_above_the_straight_line():
    dd = zoo.drift_diffusion()
    t = np.linspace(0, 1, 41)
    r = drift_diffusion_bridge(dd, 1.0, t)
    assert 0.004 < r.acceptance < 0.01  # the paper reports ~1 % with grid monitoring
    assert np.all((r.mean - r.straight)[12:37] > 0.05)  # above the line for t in [0.3, 0.9]
    assert abs(r.momentum_mean - (-1.6)) < 0.05
    small = drift_diffusion_bridge(dd, 0.05, t)  # converges to the straight line
    assert np.nanmax(np.abs(small.mean - small.straight)[:38]) < 0.5 * np.nanmax(
        np.abs(r.mean - r.straight)[:38]
    )


def test_committor_and_reactive_duration_of_free_diffusion():
    free = System(drift=_free, D=np.eye(1), name="free")
    x, q = committor_1d(free, 0.0, 2.0, 0.3)
    np.testing.assert_allclose(q, x / 2.0, atol=1e-12)
    assert abs(reactive_duration_1d(free, 0.0, 2.0, 0.5) - 4 / (6 * 0.5)) < 1e-6
    x, q = committor_1d(zoo.double_well(), -1.0, 1.0, 0.1)
    assert abs(np.interp(0.0, x, q) - 0.5) < 1e-9  # symmetric well


def test_conditioned_occupation_closed_forms():
    # Brownian motion (variance rate s2 = 2 eps D) on (0, L) conditioned to exit at L:
    # E_x[tau | exit at L] = (L^2 - x^2) / (3 s2)
    free = System(drift=_free, D=np.eye(1), name="free")
    eps, L = 0.5, 2.0
    for x0 in (0.3, 1.0, 1.7):
        exact = (L**2 - x0**2) / (3 * 2 * eps)
        assert abs(conditioned_occupation_1d(free, 0.0, L, eps, x0) - exact) < 1e-6
    # occupation of x (h = x / L, s = L^2 / y^2, m = y^2 / (L^2 eps D)):
    # E_x[int_0^tau X dt | exit at L] = (L^3 - x^3) / (12 eps D)
    for x0 in (0.3, 1.0):
        exact = (L**3 - x0**3) / (12 * eps)
        assert abs(conditioned_occupation_1d(free, 0.0, L, eps, x0, g=lambda y: y) - exact) < 1e-6
    # from the boundary of A: the mean reactive duration (an independent formula)
    dw = zoo.double_well()
    for e in (0.1, 0.03):
        r = reactive_duration_1d(dw, -0.9, 0.9, e)
        assert abs(conditioned_occupation_1d(dw, -0.9, 0.9, e, -0.9 + 1e-5) - r) < 1e-4 * r
    with pytest.raises(ValueError, match="x0"):
        conditioned_occupation_1d(dw, -0.9, 0.9, 0.1, 0.95)


def test_mean_first_passage_1d_matches_free_diffusion_and_drift_closed_forms():
    from validate._references import mean_first_passage_1d

    free = System(drift=_free, D=np.array([[0.5]]), name="free")
    eps, r = 0.3, 0.0
    for a, b in ((1.0, 2.0), (0.5, 3.0)):
        exact = ((b - r) ** 2 - (a - r) ** 2) / (2 * eps * 0.5)
        assert abs(mean_first_passage_1d(free, a, b, eps, reflect=r) / exact - 1) < 1e-8
        # mirrored: start at -a, target -b, wall at -r
        assert abs(mean_first_passage_1d(free, -a, -b, eps, reflect=-r) / exact - 1) < 1e-8

    # constant drift v towards b, wall at r: T(a) = (b - a)/v - (eps D / v^2)
    # (e^{-v (a - r)/(eps D)} - e^{-v (b - r)/(eps D)})
    def push(x, t, p, out):
        out[0] = 0.7

    pushed = System(drift=push, D=np.array([[0.5]]), name="push")
    a, b, v, k = 1.0, 2.0, 0.7, eps * 0.5
    exact = (b - a) / v - k / v**2 * (np.exp(-v * (a - r) / k) - np.exp(-v * (b - r) / k))
    assert abs(mean_first_passage_1d(pushed, a, b, eps, reflect=r) / exact - 1) < 1e-7


def test_mean_first_passage_1d_rejects_bad_input():
    import pytest

    from validate._references import mean_first_passage_1d

    dw = zoo.double_well()
    with pytest.raises(ValueError, match="`eps`"):
        mean_first_passage_1d(dw, -1, 1, 0.0)
    with pytest.raises(ValueError, match="`reflect`"):
        mean_first_passage_1d(dw, -1, 1, 0.1, reflect=0.0)
    with pytest.raises(ValueError, match="`a` and `b`"):
        mean_first_passage_1d(dw, 1, 1, 0.1)
