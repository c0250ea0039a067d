"""Eyring–Kramers and Bouchet–Reygner prefactors against closed forms and an independent
reference (the transverse Hessian of Maier–Stein's quasipotential along the x-axis)."""

import numpy as np
import pytest
from scipy.integrate import solve_ivp

from simulate import System, zoo
from tests.closed_forms import (
    antisymmetric_prefactor,
    antisymmetric_system,
    chain_points,
    chain_prefactor,
    chain_system,
    embedded_maier_stein,
)
from theory import connecting_saddles, rate


def test_double_well_eyring_kramers_closed_form():
    r = rate(zoo.double_well(), "left", "saddle")
    assert r.method == "gradient" and r.success
    assert abs(r.barrier - 0.25) < 1e-14
    assert abs(r.prefactor - np.pi * np.sqrt(2)) < 1e-12
    assert abs(r.mean_time(0.1) / (np.pi * np.sqrt(2) * np.exp(2.5)) - 1) < 1e-12
    assert "barrier=0.25" in repr(r)


def _aniso_drift(x, t, p, out):
    # f = -D grad U, U = (x^2 - 1)^2/4 + y^2 + x y / 2, D = [[1, 0.4], [0.4, 0.5]]
    gx = x[0] ** 3 - x[0] + 0.5 * x[1]
    gy = 2.0 * x[1] + 0.5 * x[0]
    out[0] = -(1.0 * gx + 0.4 * gy)
    out[1] = -(0.4 * gx + 0.5 * gy)


def _aniso_jac(x, t, p, out):
    hxx, hxy, hyy = 3.0 * x[0] ** 2 - 1.0, 0.5, 2.0
    out[0, 0] = -(1.0 * hxx + 0.4 * hxy)
    out[0, 1] = -(1.0 * hxy + 0.4 * hyy)
    out[1, 0] = -(0.4 * hxx + 0.5 * hxy)
    out[1, 1] = -(0.4 * hxy + 0.5 * hyy)


def test_langer_with_anisotropic_non_diagonal_D():
    D = np.array([[1.0, 0.4], [0.4, 0.5]])
    sysm = System(drift=_aniso_drift, jac=_aniso_jac, D=D, name="aniso")
    # fixed points of grad U: y = -x/4, x^3 - x - x/8 = 0
    xm = -np.sqrt(1.125)
    m, s = np.array([xm, -xm / 4]), np.zeros(2)
    H = lambda x: np.array([[3 * x[0] ** 2 - 1, 0.5], [0.5, 2.0]])  # noqa: E731
    lam = max(np.linalg.eigvals(-D @ H(s)).real)
    C = 2 * np.pi / lam * np.sqrt(abs(np.linalg.det(H(s))) / np.linalg.det(H(m)))
    U = lambda x: (x[0] ** 2 - 1) ** 2 / 4 + x[1] ** 2 + x[0] * x[1] / 2  # noqa: E731
    g = rate(sysm, m + 0.05, s + 0.02)
    assert g.method == "gradient"
    assert abs(g.prefactor / C - 1) < 1e-12 and abs(g.barrier - (U(s) - U(m))) < 1e-13


def _maier_stein_reference(alpha: float, mu: float = 1.0) -> float:
    """∫ div l dt along the x-axis instanton of Maier–Stein, from the scalar Riccati
    equation of g = ∂²V/∂y² in x (x' = x^3 - x, p_x = x^3 - x, p_y = 0):
    dg/dx = (2 mu (1 + x^2) g - 2 g^2 + 2 alpha x p_x) / x', div l = g - mu (1 + x^2)."""

    def rhs(x, z):
        g, xd = z[0], x**3 - x
        return [
            (2 * mu * (1 + x * x) * g - 2 * g * g + 2 * alpha * x * xd) / xd,
            (g - mu * (1 + x * x)) / xd,
        ]

    e = 1e-8
    sol = solve_ivp(rhs, (-1 + e, -e), [2 * mu, 0.0], method="LSODA", rtol=1e-12, atol=1e-14)
    return float(sol.y[1, -1])


@pytest.mark.parametrize("alpha", [1.0, 2.0, 3.0])
def test_maier_stein_divergence_integral_against_axis_riccati(alpha):
    r = rate(zoo.maier_stein(alpha=alpha), "left", "saddle", method="general")
    assert r.success, r.message
    ref = _maier_stein_reference(alpha)
    assert abs(r.divergence_integral - ref) < 5e-6, (r.divergence_integral, ref)
    assert abs(r.barrier - 0.25) < 1e-8
    # ∇²V(m) = diag(2, 2 mu), ∇²V(s) = diag(-1, 1), λ_s = 1
    C = 2 * np.pi * np.sqrt(1.0 / 4.0) * np.exp(ref)
    assert abs(r.prefactor / C - 1) < 5e-6


def test_rate_errors():
    ms = zoo.maier_stein()
    with pytest.raises(ValueError, match="index-1 saddle"):
        rate(ms, "left", "right")
    with pytest.raises(ValueError, match="`x_min`"):
        rate(ms, "saddle", "saddle")
    with pytest.raises(ValueError, match="does not reach"):
        # the saddle of another basin: x_min = right, saddle between left and a far well
        rate(_three_wells(), [2.0], [-1.0])
    with pytest.raises(ValueError, match="`method`"):
        rate(ms, "left", "saddle", method="nope")
    for bad in (0.0, -1e-6, np.nan, 0.1):  # the BVP's collocation tolerance
        with pytest.raises(ValueError, match="`tol` must be in"):
            rate(ms, "left", "saddle", tol=bad)


def _tw_drift(x, t, p, out):
    # U' = x (x^2 - 1)(x^2 - 4): minima at 0 and ±2, saddles at ±1
    out[0] = -x[0] * (x[0] ** 2 - 1.0) * (x[0] ** 2 - 4.0)


def _three_wells():
    return System(drift=_tw_drift, D=np.eye(1), name="three_wells")


def test_a_stalled_riccati_stretch_is_reported(monkeypatch):
    """A stretch of the Riccati integration that stops early (the kernel's TOO_SMALL)
    skips part of ∇²V's and the divergence integral's path: success False, by name."""
    import theory._rates as rates
    from theory._rate_kernels import TOO_SMALL

    flow, calls = rates.flow, []

    def stalls_once(*args):
        args = list(args)
        if args[12] == np.inf:  # far: a stretch of the Riccati integration (_along)
            calls.append(1)
            if len(calls) == 1:  # the first stops halfway, as a stalled step would
                args[14] = 0.5 * args[14]  # t_max
                flow(*args)
                return TOO_SMALL
        return flow(*args)

    ms = zoo.maier_stein(alpha=2.0)
    assert rate(ms, "left", "saddle").success
    monkeypatch.setattr(rates, "flow", stalls_once)
    r = rate(ms, "left", "saddle")
    assert calls and not r.success and "stalled" in r.message


def test_auto_method_detects_non_gradient_maier_stein():
    # Df is symmetric on the x-axis (the relaxation path) although f is not a gradient
    assert rate(zoo.maier_stein(alpha=2.0), "left", "saddle").method == "general"
    assert rate(zoo.maier_stein(alpha=1.0), "left", "saddle").method == "gradient"


@pytest.mark.parametrize("b, j", [(0.3, 0.5), (0.5, 1.0)])
def test_antisymmetric_closed_form(b, j):
    """f = -(I + J) ∇V with J antisymmetric (tests/closed_forms.py): the prefactor to
    1e-6. The instanton is curved (b ≠ 0) and leaves the minimum on a spiral (j = 1)."""
    C = antisymmetric_prefactor(b, j)
    r = rate(antisymmetric_system(b, j), [-1.0, 0.0], [0.0, b])
    assert r.method == "general" and r.success, r.message
    assert abs(r.prefactor / C - 1) < 1e-6, (r.prefactor, C)
    assert abs(r.divergence_integral) < 1e-6
    assert abs(r.barrier - 0.25) < 1e-8


def test_decision_memory_saddle_in_the_sigmoid_band():
    """The saddle between x_wins and both-high sits in the sigmoid band |y - c| ~ n = 0.01
    (Df eigenvalues -1 and 47.8: the relaxation from it is 50 times slower than the
    departure, which bounds the check's time). Its least-action path slides along the band,
    where the quasipotential is not smooth (docs/rates.md)."""
    dm = zoo.decision_memory()
    (s,) = connecting_saddles(dm, "x_wins", "both_high")
    assert np.allclose(s, [2.73111131, 1.50308598], atol=1e-7)
    assert connecting_saddles(dm, "x_wins", "y_wins") == []  # only via both-high


@pytest.mark.slow  # 10 s at load 11: the BVP fails from r_start, 10 and 100 r_start
def test_decision_memory_rate_reports_the_non_smooth_instanton():
    with pytest.raises(ValueError, match="steep layer of the drift"):
        rate(zoo.decision_memory(), "x_wins", [2.73111131, 1.50308598])


def test_anisotropic_minimum():
    """b = 0.5, j = 0.3: the linearised fluctuation flow at m has rates in the ratio 6.1
    (the instanton leaves m tangent to the slow direction, at an angle ~ r^5 to it), which
    defeated shooting from m; the boundary value problem does not see it."""
    r = rate(antisymmetric_system(0.5, 0.3), [-1.0, 0.0], [0.0, 0.5])
    assert r.success, r.message
    assert abs(r.prefactor / antisymmetric_prefactor(0.5, 0.3) - 1) < 1e-6


# d >= 3: f = -(D + J) ∇V with the non-separable chain V (tests/closed_forms.py)
_D4 = np.array(
    [[1.0, 0.3, 0.1, -0.2], [0.3, 0.8, -0.2, 0.1], [0.1, -0.2, 0.6, 0.05], [-0.2, 0.1, 0.05, 0.9]]
)
_J3 = np.array([[0.0, 0.5, -0.3], [-0.5, 0.0, 0.4], [0.3, -0.4, 0.0]])


@pytest.mark.parametrize("d", [3, 4])
def test_langer_in_d_dimensions_with_non_diagonal_D(d):
    """Gradient chain, D non-diagonal SPD: Eyring–Kramers–Langer closed form, both by the
    gradient formula (auto) and by the general method (BVP instanton, Riccati, ∫ div l = 0)."""
    b, g = [0.3, -0.2, 0.25][: d - 1], [0.2, 0.4, -0.3][: d - 1]
    sysm = chain_system(b, g, D=_D4[:d, :d])
    m, s = chain_points(b, g)
    C = chain_prefactor(sysm, m, s)
    auto = rate(sysm, m + 0.02, s - 0.02)
    assert auto.method == "gradient" and abs(auto.prefactor / C - 1) < 1e-8
    assert abs(auto.barrier - 0.25) < 1e-12
    r = rate(sysm, m, s, method="general")
    assert r.method == "general" and r.success, r.message
    assert abs(r.prefactor / C - 1) < 1e-6, (r.prefactor, C)
    assert abs(r.divergence_integral) < 1e-6 and abs(r.barrier - 0.25) < 1e-8


@pytest.mark.parametrize("D", [np.eye(3), _D4[:3, :3]], ids=["D=I", "D non-diagonal"])
def test_antisymmetric_closed_form_3d(D):
    """f = -(D + J) ∇V, J a full antisymmetric 3 x 3 matrix, V the non-separable chain: V is
    the quasipotential and div l = 0, so C has the closed form (curved instanton)."""
    b, g = [0.3, -0.2], [0.2, 0.4]
    sysm = chain_system(b, g, D=D, J=_J3)
    m, s = chain_points(b, g)
    r = rate(sysm, m, s)
    assert r.method == "general" and r.success, r.message
    assert abs(r.prefactor / chain_prefactor(sysm, m, s) - 1) < 1e-6
    assert abs(r.divergence_integral) < 1e-6 and abs(r.barrier - 0.25) < 1e-8
    assert r.diagnostics["path"].shape[1] == 3


def test_embedded_maier_stein_3d_against_axis_riccati():
    """A quasipotential not known in closed form (Maier–Stein alpha = 3, mu = 2) with a
    decoupled OU coordinate, in the coordinates x = R u (R not orthogonal: D = R R^T
    non-diagonal, every coordinate coupled). The prefactor does not depend on the
    coordinates and the OU block cancels, so C = π exp(∫ div l) with the integral from the
    independent scalar Riccati along the 2-D axis."""
    R = np.array([[1.0, 0.4, 0.2], [-0.3, 1.2, 0.5], [0.1, 0.3, 0.9]])
    r = rate(embedded_maier_stein(3.0, 2.0, 2.0, R), R @ [-1.0, 0, 0], R @ [0.0, 0, 0])
    assert r.method == "general" and r.success, r.message
    ref = _maier_stein_reference(3.0, mu=2.0)
    assert abs(r.divergence_integral - ref) < 1e-6, (r.divergence_integral, ref)
    assert abs(r.prefactor / (np.pi * np.exp(ref)) - 1) < 1e-6
    assert abs(r.barrier - 0.25) < 1e-8


@pytest.mark.slow  # 4 to 5 s at load average 11 on 2 cores
def test_antisymmetric_closed_form_10d():
    rng = np.random.default_rng(1)
    d = 10
    b, g = 0.3 * rng.uniform(-1, 1, d - 1), 0.4 * rng.uniform(-1, 1, d - 1)
    L = np.eye(d) + 0.2 * rng.normal(size=(d, d))
    W = rng.normal(size=(d, d))
    sysm = chain_system(b, g, D=L @ L.T / d + 0.5 * np.eye(d), J=0.4 * (W - W.T))
    m, s = chain_points(b, g)
    r = rate(sysm, m, s)
    assert r.success, r.message
    assert abs(r.prefactor / chain_prefactor(sysm, m, s) - 1) < 1e-6
