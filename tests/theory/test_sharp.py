"""theory.sharp_probability against closed forms: the monostable OU process f = -x, D = I,
whose X_T given X_0 = x0 is exactly N(x0 e^{-T}, eps (1 - e^{-2T}) I)."""

import numpy as np
import pytest

import theory
from simulate import zoo

X0 = np.array([-2.0, 2.0])
X1 = np.array([2.0, 2.0])
T = 1.0


@pytest.fixture(scope="module")
def system_and_instanton():
    system = zoo.monostable()
    return system, theory.instanton(system, X0, X1, T=T)


def exact_ball_probability(eps: float, r: float) -> float:
    """∫ over |x - X1| < r of the exact Gaussian density, by Gauss–Legendre in the radius
    and the trapezoid rule (spectral for periodic integrands) in the angle."""
    var = eps * (1.0 - np.exp(-2.0 * T))
    delta = X1 - X0 * np.exp(-T)
    rho, w = np.polynomial.legendre.leggauss(40)
    rho = 0.5 * r * (rho + 1.0)
    w = 0.5 * r * w
    theta = np.linspace(0.0, 2.0 * np.pi, 128, endpoint=False)
    u = rho[:, None, None] * np.stack([np.cos(theta), np.sin(theta)], -1)[None]
    q = np.sum((delta + u) ** 2, -1) / var  # (x - m)^T (eps Σ)^{-1} (x - m)
    q0 = delta @ delta / var
    # factor the density at X1 out so that e^{-q0/2} ~ 1e-46 never enters the sum
    inner = np.exp(-0.5 * (q - q0)).mean(axis=1) * 2.0 * np.pi
    log_p = np.log(np.sum(w * rho * inner)) - np.log(2.0 * np.pi * var) - 0.5 * q0
    return float(np.exp(log_p))


@pytest.mark.parametrize("eps", [0.2, 0.1, 0.05])
def test_monostable_ball_probability_matches_exact_gaussian(system_and_instanton, eps):
    system, inst = system_and_instanton
    r = 0.05 * np.sqrt(eps)
    res = theory.sharp_probability(system, X0, X1, T, eps, radius=r, instanton=inst)
    assert res.success, res.message
    exact = exact_ball_probability(eps, r)
    # what is left is the curvature of the exponent across the ball: relative O(r²/eps)
    assert abs(res.probability / exact - 1.0) < r**2 / eps
    assert res.divergence_integral == pytest.approx(-2.0 * T, rel=1e-10)  # div f = -2


def test_monostable_riccati_matches_lyapunov(system_and_instanton):
    system, inst = system_and_instanton
    res = theory.sharp_probability(system, X0, X1, T, 0.1, radius=0.01, instanton=inst)
    # Σ' = -2 Σ + 2 I, Σ(0) = 0
    np.testing.assert_allclose(res.sigma, (1.0 - np.exp(-2.0 * T)) * np.eye(2), atol=1e-9)


def test_exact_density_and_action(system_and_instanton):
    system, inst = system_and_instanton
    eps = 0.1
    res = theory.sharp_probability(system, X0, X1, T, eps, radius=1e-3, instanton=inst)
    var = 1.0 - np.exp(-2.0 * T)
    delta = X1 - X0 * np.exp(-T)
    assert res.action == pytest.approx(0.5 * delta @ delta / var, rel=1e-7)
    exact = -np.log(2.0 * np.pi * eps * var) - 0.5 * delta @ delta / (eps * var)
    assert res.log_density == pytest.approx(exact, abs=1e-5)


def test_bad_input(system_and_instanton):
    system, inst = system_and_instanton
    with pytest.raises(ValueError, match="eps"):
        theory.sharp_probability(system, X0, X1, T, 0.0, radius=0.1, instanton=inst)
    with pytest.raises(ValueError, match="radius"):
        theory.sharp_probability(system, X0, X1, T, 0.1, radius=-1.0, instanton=inst)
    with pytest.raises(ValueError, match="instanton"):
        theory.sharp_probability(system, X0, X1, 2.0, 0.1, radius=0.1, instanton=inst)
    with pytest.raises(ValueError, match="x_end"):
        theory.sharp_probability(system, X0, [2.0, 1.0], T, 0.1, radius=0.1, instanton=inst)
    assert "probability" in repr(
        theory.sharp_probability(system, X0, X1, T, 0.1, radius=0.1, instanton=inst)
    )


@pytest.mark.parametrize("x_end", [-1.4, -0.5])
def test_double_well_long_time_density_is_gibbs(x_end):
    """K ≠ 0: for the gradient drift f = -U', U = x^4/4 - x^2/2, D = 1, the density at time
    T from the minimum x = -1 tends (T -> ∞, then eps -> 0) to the Gibbs density restricted to
    the left well, sqrt(U''(-1) / (2π eps)) e^{-(U(x) - U(-1))/eps}, with S_T -> U(x) - U(-1)
    exponentially fast in T. x = -0.5 lies beyond the inflection x = -1/sqrt(3), where
    ∇²S < 0 and Σ has passed through a pole."""
    system = zoo.double_well()
    T, eps = 8.0, 0.1
    res = theory.sharp_probability(system, [-1.0], [x_end], T, eps, radius=1e-3)
    assert res.success, res.message
    assert res.action == pytest.approx(x_end**4 / 4 - x_end**2 / 2 + 0.25, rel=1e-7)
    prefactor = res.log_density + res.action / eps
    assert prefactor == pytest.approx(0.5 * np.log(2.0 / (2.0 * np.pi * eps)), abs=1e-4)


@pytest.mark.parametrize("eps", [0.2, 0.05])
def test_monostable_halfspace_matches_gaussian_tail(system_and_instanton, eps):
    """Half-space n·(x - X1) ≥ 0 with n along X1 - m (X1 is its plane's most likely point):
    exactly P = Φ̄(z), z = |X1 - m| / sqrt(eps Σ), whose leading term φ(z)/z the sharp
    estimate must reproduce; the true tail is φ(z)/z (1 - 1/z² + 3/z⁴ - ...)."""
    from scipy.stats import norm

    system, inst = system_and_instanton
    delta = X1 - X0 * np.exp(-T)
    z = np.linalg.norm(delta) / np.sqrt(eps * (1.0 - np.exp(-2.0 * T)))
    res = theory.sharp_halfspace_probability(system, X0, X1, T, eps, normal=delta, instanton=inst)
    assert res.success, res.message
    assert res.log_probability == pytest.approx(norm.logpdf(z) - np.log(z), abs=1e-8)
    ratio = norm.sf(z) / res.probability
    assert 1.0 - 1.0 / z**2 < ratio < 1.0 - 1.0 / z**2 + 3.0 / z**4


def test_halfspace_flags_wrong_normal(system_and_instanton):
    system, inst = system_and_instanton
    res = theory.sharp_halfspace_probability(
        system, X0, X1, T, 0.1, normal=[1.0, 0.0], instanton=inst
    )
    assert not res.success and "normal" in res.message
    with pytest.raises(ValueError, match="normal"):
        theory.sharp_halfspace_probability(
            system, X0, X1, T, 0.1, normal=[0.0, 0.0], instanton=inst
        )
