"""Drifts, Jacobians and metadata of the zoo's systems (numba functions of fixed signature)."""

from __future__ import annotations

import math

import numba as nb
import numpy as np

from .._numba_types import DRIFT_SIGNATURE, JACOBIAN_SIGNATURE, JIT, SCHEDULE_SIGNATURE
from .._sets import Ball, Interval, Shell, Union
from .._system import System, rotation, translation
from ._bessel import bessel_ratio_curvature, bessel_ratio_over_z

drift_fn = nb.njit(DRIFT_SIGNATURE, **JIT)
jac_fn = nb.njit(JACOBIAN_SIGNATURE, **JIT)
schedule_fn = nb.njit(SCHEDULE_SIGNATURE, **JIT)


# --- drift_diffusion: dx = v dt + sigma dW -------------------------------------------


@drift_fn
def _constant_drift(x, t, p, out):
    out[0] = p[0]


@jac_fn
def _zero_jacobian(x, t, p, out):
    out[0, 0] = 0.0


def drift_diffusion(v: float = 0.1, sigma: float = 1.0, x0: float = 0.5) -> System:
    """Drift-diffusion dx = v dt + sigma dW on (-1, 1) with absorbing bounds at +-1.

    D = sigma^2 / 2, so eps = 1 is the paper's noise. The translation x -> x + c is a
    symmetry of the drift, broken only by the bounds: its charge, the momentum
    p = 1/2 D^{-1}(xdot - v) = (xdot - v) / sigma^2, is conserved between them. The
    paper's experiment: T = 1, end at -1, p = ((-1 - 0.5)/1 - 0.1)/1 = -1.6.
    """
    return System(
        drift=_constant_drift,
        jac=_zero_jacobian,
        D=np.array([[sigma**2 / 2]]),
        params=[v, sigma],
        param_names=("v", "sigma"),
        states={
            "start": [x0],
            "lower": [-1.0],
            "upper": [1.0],
            "bounds": Union(Interval(-np.inf, -1.0), Interval(1.0, np.inf)),
            "lower_bound": Interval(-np.inf, -1.0),
            "upper_bound": Interval(1.0, np.inf),
        },
        generators=(translation(1, 0, "p", exact=False),),
        name="drift_diffusion",
        t_span=(0.0, 1.0),
        description="dx = v dt + sigma dW on (-1, 1), absorbing at +-1 (paper Fig. 1a)",
    )


# --- linear drift f = -K x (monostable, ornstein_uhlenbeck) ---------------------------


@drift_fn
def _linear_drift(x, t, p, out):
    d = x.shape[0]
    for i in range(d):
        s = 0.0
        for j in range(d):
            s -= p[i * d + j] * x[j]
        out[i] = s


@jac_fn
def _linear_jacobian(x, t, p, out):
    d = x.shape[0]
    for i in range(d):
        for j in range(d):
            out[i, j] = -p[i * d + j]


def _rotations(dim: int) -> tuple:
    return tuple(rotation(dim, i, j) for i in range(dim) for j in range(i + 1, dim))


def ornstein_uhlenbeck(K=None, D=None, dim: int = 2) -> System:
    """Ornstein–Uhlenbeck f = -K x in R^dim (K with eigenvalues of positive real part).

    Rotations are declared when K and D are both multiples of the identity (so(d)).
    """
    K = np.eye(dim) if K is None else np.atleast_2d(np.asarray(K, dtype=float))
    D = np.eye(K.shape[0]) if D is None else np.atleast_2d(np.asarray(D, dtype=float))
    dim = K.shape[0]
    if K.shape != (dim, dim):
        raise ValueError(f"`K` must be square, got shape {K.shape}")
    if np.any(np.linalg.eigvals(K).real <= 0):
        raise ValueError(f"`K` must have a stable spectrum (Re > 0), got {np.linalg.eigvals(K)}")
    isotropic = np.allclose(K, K[0, 0] * np.eye(dim)) and np.allclose(D, D[0, 0] * np.eye(dim))
    return System(
        drift=_linear_drift,
        jac=_linear_jacobian,
        D=D,
        params=K.ravel(),
        param_names=tuple(f"K{i}{j}" for i in range(dim) for j in range(dim)),
        states={"origin": np.zeros(dim)},
        generators=_rotations(dim) if isotropic else (),
        name="ornstein_uhlenbeck",
        description="f = -K x",
    )


def monostable() -> System:
    """The paper's monostable system f = -x in R^2, D = I (stationary N(0, I) at eps = 1).

    Rotation symmetry: L = x p_y - y p_x is conserved. From (-2, 2) to (2, 2): T = 1 gives
    E = 2.8962466, L = -3.4036725, S = 5.2521411; T = 10 detours through the origin.
    """
    return System(
        drift=_linear_drift,
        jac=_linear_jacobian,
        D=np.eye(2),
        params=np.eye(2).ravel(),
        param_names=("K00", "K01", "K10", "K11"),
        states={"start": [-2.0, 2.0], "end": [2.0, 2.0], "origin": [0.0, 0.0]},
        generators=(rotation(2, 0, 1, "L"),),
        name="monostable",
        description="f = -x, D = I (paper Fig. 1b)",
    )


# --- decision_memory -----------------------------------------------------------------


@nb.njit(**JIT)
def _sigmoid(u, c, n):
    # exp overflows to inf for u << c, giving exactly 0: no NaN.
    return 1.0 / (1.0 + math.exp(-(u - c) / n))


@drift_fn
def _decision_memory_drift(x, t, p, out):
    tau, mu0, c, a, inh, n = p[0], p[1], p[2], p[3], p[4], p[5]
    fx = _sigmoid(x[0], c, n)
    fy = _sigmoid(x[1], c, n)
    out[0] = (mu0 + a * fx - inh * fy - x[0]) / tau
    out[1] = (mu0 + a * fy - inh * fx - x[1]) / tau


@jac_fn
def _decision_memory_jacobian(x, t, p, out):
    tau, c, a, inh, n = p[0], p[2], p[3], p[4], p[5]
    fx = _sigmoid(x[0], c, n)
    fy = _sigmoid(x[1], c, n)
    dfx = fx * (1.0 - fx) / n
    dfy = fy * (1.0 - fy) / n
    out[0, 0] = (a * dfx - 1.0) / tau
    out[0, 1] = -inh * dfy / tau
    out[1, 0] = -inh * dfx / tau
    out[1, 1] = (a * dfy - 1.0) / tau


def decision_memory(
    tau: float = 1.0,
    mu0: float = 1.25,
    c: float = 1.5,
    A: float = 2.0,
    I: float = 0.9,  # noqa: N803 - the paper's name
    n: float = 0.01,
    sigma: float = 0.4,
) -> System:
    """Two mutually inhibiting populations with self-excitation (the paper's Fig. 1c).

    tau xdot = mu0 + A phi(x) - I phi(y) - x (and x <-> y), phi(u) = 1/(1 + e^{-(u-c)/n}),
    noise sqrt(2/tau) sigma dW, i.e. D = sigma^2 / tau I and eps = 1 is the paper's noise.
    Autonomous (energy conserved); the x <-> y exchange is discrete (no charge).
    """
    return System(
        drift=_decision_memory_drift,
        jac=_decision_memory_jacobian,
        D=sigma**2 / tau * np.eye(2),
        params=[tau, mu0, c, A, I, n, sigma],
        param_names=("tau", "mu0", "c", "A", "I", "n", "sigma"),
        states={
            "x_wins": [3.0, 0.1],
            "y_wins": [0.1, 3.0],
            "both_high": [2.35, 2.35],
            "origin": [0.0, 0.0],
        },
        name="decision_memory",
        description="decision-making / working-memory circuit (paper Fig. 1c)",
    )


# --- reverse_diffusion_ring ----------------------------------------------------------


@nb.njit(**JIT)
def _ring_time(tau, p):
    return p[2] - tau  # t = t1 - tau


@schedule_fn
def _ring_schedule(tau, p):
    return p[2] - tau


@drift_fn
def _ring_drift(x, tau, p, out):
    # f = 2 t score, score = (R rho(z)/r - 1) x / s^2, z = R r / s^2, rho = I1/I0.
    R, s0 = p[0], p[1]
    t = _ring_time(tau, p)
    s2 = s0 * s0 + t * t
    r = math.sqrt(x[0] * x[0] + x[1] * x[1])
    a = R / s2
    g = (R * a * bessel_ratio_over_z(a * r) - 1.0) / s2
    out[0] = 2.0 * t * g * x[0]
    out[1] = 2.0 * t * g * x[1]


@jac_fn
def _ring_jacobian(x, tau, p, out):
    # d(g(r) x)/dx = g I + g'(r)/r x x^T, g'(r)/r = a^4 r^{-3} ... = R a^3 q(z) / s^2
    R, s0 = p[0], p[1]
    t = _ring_time(tau, p)
    s2 = s0 * s0 + t * t
    r = math.sqrt(x[0] * x[0] + x[1] * x[1])
    a = R / s2
    z = a * r
    g = (R * a * bessel_ratio_over_z(z) - 1.0) / s2
    gp = R * a * a * a * bessel_ratio_curvature(z) / s2
    for i in range(2):
        for j in range(2):
            out[i, j] = 2.0 * t * (gp * x[i] * x[j] + (g if i == j else 0.0))


def reverse_diffusion_ring(R: float = 5.0, sigma0: float = 0.55, t1: float = 10**1.5) -> System:
    """Reverse-time SDE of a variance-exploding diffusion whose data is a blurred ring.

    Forward: dx = sqrt(2t) dW from the ring of radius R blurred by sigma0, so
    p_t(x) ∝ exp(-(r^2 + R^2)/(2 s^2)) I0(R r / s^2), s^2 = sigma0^2 + t^2. Written in
    tau = t1 - t, running from the noise end (tau = 0, t = t1) to the data end
    (t = 10^-0.4): f(x, tau) = 2 t score(x, t), D(tau) = t I (schedule d = t1 - tau),
    eps = 1 being the generative process. Rotation symmetry: L = x p_y - y p_x is
    conserved; the energy is not (time-dependent).
    """
    t_end = 10**-0.4
    states = {"start": [0.0, 10.0]}
    for label, angle in (
        ("ring_pi/4", np.pi / 4),
        ("ring_0", 0.0),
        ("ring_-pi/4", -np.pi / 4),
        ("ring_-pi/2", -np.pi / 2),
        ("ring_pi/2", np.pi / 2),
    ):
        states[label] = [R * np.cos(angle), R * np.sin(angle)]
    return System(
        drift=_ring_drift,
        jac=_ring_jacobian,
        schedule=_ring_schedule,
        D=np.eye(2),
        params=[R, sigma0, t1],
        param_names=("R", "sigma0", "t1"),
        states=states,
        generators=(rotation(2, 0, 1, "L"),),
        autonomous=False,
        name="reverse_diffusion_ring",
        t_span=(0.0, t1 - t_end),
        description="reverse diffusion to a ring of radius R (paper Fig. 2)",
    )


# --- double_well ---------------------------------------------------------------------


@drift_fn
def _double_well_drift(x, t, p, out):
    out[0] = x[0] - x[0] ** 3


@jac_fn
def _double_well_jacobian(x, t, p, out):
    out[0, 0] = 1.0 - 3.0 * x[0] ** 2


def double_well() -> System:
    """f = x - x^3 = -U', U = x^4/4 - x^2/2 (barrier 1/4), D = 1."""
    return System(
        drift=_double_well_drift,
        jac=_double_well_jacobian,
        D=np.eye(1),
        states={
            "left": [-1.0],
            "right": [1.0],
            "saddle": [0.0],
            "A": Interval(-np.inf, -0.9),
            "B": Interval(0.9, np.inf),
        },
        name="double_well",
        description="gradient double well U = x^4/4 - x^2/2",
    )


# --- anisotropic_well ----------------------------------------------------------------


@drift_fn
def _anisotropic_well_drift(x, t, p, out):
    # f = -D grad U, U = (x^2 - 1)^2/4 + y^2 + c x y, D = [[p0, p1], [p1, p2]]
    gx = x[0] ** 3 - x[0] + p[3] * x[1]
    gy = 2.0 * x[1] + p[3] * x[0]
    out[0] = -(p[0] * gx + p[1] * gy)
    out[1] = -(p[1] * gx + p[2] * gy)


@jac_fn
def _anisotropic_well_jacobian(x, t, p, out):
    hxx, hxy, hyy = 3.0 * x[0] ** 2 - 1.0, p[3], 2.0
    out[0, 0] = -(p[0] * hxx + p[1] * hxy)
    out[0, 1] = -(p[0] * hxy + p[1] * hyy)
    out[1, 0] = -(p[1] * hxx + p[2] * hxy)
    out[1, 1] = -(p[1] * hxy + p[2] * hyy)


def anisotropic_well(
    d11: float = 1.0, d12: float = 0.4, d22: float = 0.5, c: float = 0.5
) -> System:
    """A 2-D gradient double well with anisotropic, non-diagonal noise: f = -D grad U,

        U = (x^2 - 1)^2/4 + y^2 + c x y,   D = [[d11, d12], [d12, d22]] (SPD),

    the Langer (Eyring–Kramers) case of docs/rates.md. Minima (±x_m, ∓c x_m/2) with
    x_m^2 = 1 + c^2/2, saddle at the origin, barrier U(0) - U(m) = 1/4 + c^2/4 + c^4/16
    (0.31640625 at c = 1/2); the instanton is not along the x-axis and D mixes the axes.
    """
    D = np.array([[d11, d12], [d12, d22]], dtype=float)
    if np.any(np.linalg.eigvalsh(D) <= 0):
        raise ValueError(f"D = [[d11, d12], [d12, d22]] must be positive definite, got {D}")
    xm = math.sqrt(1.0 + c * c / 2)
    left, right = np.array([-xm, c * xm / 2]), np.array([xm, -c * xm / 2])
    return System(
        drift=_anisotropic_well_drift,
        jac=_anisotropic_well_jacobian,
        D=D,
        params=[d11, d12, d22, c],
        param_names=("d11", "d12", "d22", "c"),
        states={
            "left": left,
            "right": right,
            "saddle": [0.0, 0.0],
            "A": Ball(left, 0.1),
            "B": Ball(right, 0.1),
        },
        name="anisotropic_well",
        description="f = -D grad U, 2-D double well, non-diagonal D (Langer prefactor)",
    )


# --- maier_stein ---------------------------------------------------------------------


@drift_fn
def _maier_stein_drift(x, t, p, out):
    alpha, mu = p[0], p[1]
    out[0] = x[0] - x[0] ** 3 - alpha * x[0] * x[1] ** 2
    out[1] = -mu * (1.0 + x[0] ** 2) * x[1]


@jac_fn
def _maier_stein_jacobian(x, t, p, out):
    alpha, mu = p[0], p[1]
    out[0, 0] = 1.0 - 3.0 * x[0] ** 2 - alpha * x[1] ** 2
    out[0, 1] = -2.0 * alpha * x[0] * x[1]
    out[1, 0] = -2.0 * mu * x[0] * x[1]
    out[1, 1] = -mu * (1.0 + x[0] ** 2)


def maier_stein(alpha: float = 1.0, mu: float = 1.0) -> System:
    """Maier–Stein: f = (x - x^3 - alpha x y^2, -mu (1 + x^2) y), D = I.

    Gradient for alpha = mu (barrier 1/4 from (-1, 0) to the saddle (0, 0)); for
    alpha > 4 (mu = 1) the most probable exit path leaves the x-axis.
    """
    return System(
        drift=_maier_stein_drift,
        jac=_maier_stein_jacobian,
        D=np.eye(2),
        params=[alpha, mu],
        param_names=("alpha", "mu"),
        states={
            "left": [-1.0, 0.0],
            "right": [1.0, 0.0],
            "saddle": [0.0, 0.0],
            "A": Ball([-1.0, 0.0], 0.1),
            "B": Ball([1.0, 0.0], 0.1),
        },
        name="maier_stein",
        description="Maier–Stein model",
    )


# --- rotating_ring -------------------------------------------------------------------


@drift_fn
def _rotating_ring_drift(x, t, p, out):
    # -U'(r) x / r with U = (r^2 - 1)^2 / 4 is (1 - r^2) x; omega J x rotates.
    omega = p[0]
    k = 1.0 - (x[0] * x[0] + x[1] * x[1])
    out[0] = k * x[0] - omega * x[1]
    out[1] = k * x[1] + omega * x[0]


@jac_fn
def _rotating_ring_jacobian(x, t, p, out):
    omega = p[0]
    k = 1.0 - (x[0] * x[0] + x[1] * x[1])
    out[0, 0] = k - 2.0 * x[0] * x[0]
    out[0, 1] = -2.0 * x[0] * x[1] - omega
    out[1, 0] = -2.0 * x[0] * x[1] + omega
    out[1, 1] = k - 2.0 * x[1] * x[1]


def rotating_ring(omega: float = 1.0) -> System:
    """f = -U'(r) x / r + omega J x, U(r) = (r^2 - 1)^2 / 4, D = I.

    Non-gradient with an exact rotation symmetry. The rotation omega J x is orthogonal to
    grad U and divergence-free, so the quasipotential is U: the escape from the stable ring
    r = 1 to the unstable origin has the barrier U(0) - U(1) = 1/4, and its instanton
    xdot = grad U + omega J x (spiralling inwards) has p = 1/2 (xdot - f) = grad U,
    radial, so its angular momentum L = x_1 p_2 - x_2 p_1 is 0.
    """
    return System(
        drift=_rotating_ring_drift,
        jac=_rotating_ring_jacobian,
        D=np.eye(2),
        params=[omega],
        param_names=("omega",),
        states={
            "origin": [0.0, 0.0],
            "ring": [1.0, 0.0],
            "A": Shell([0.0, 0.0], 0.9, 1.1),
            "B": Ball([0.0, 0.0], 0.1),
        },
        generators=(rotation(2, 0, 1, "L"),),
        name="rotating_ring",
        description="rotating ring: non-gradient with exact rotation symmetry",
    )
