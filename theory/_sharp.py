"""Sharp (prefactor-resolved) finite-time probabilities from the second variation along
the finite-T instanton.

Convention (docs/conventions.md, docs/rates.md "Sharp finite-time probabilities"):
dX = f(X, t) dt + sqrt(2 eps D(t)) dW, D(t) = d(t) D, S = 1/4 ∫ |xdot - f|²_{D^{-1}} dt,
p = 1/2 D^{-1}(xdot - f). Along the instanton x(t), p(t) from x_start (t = t0) to x_end
(t = t0 + T), with A = Df(x(t), t) and K_jl = sum_k p_k d²f_k/dx_j dx_l, the WKB transport
equation of the Fokker–Planck density gives

    Σ' = A Σ + Σ A^T + 2 D(t) + Σ K Σ,   Σ(t0) = 0,
    ρ_eps(x_end, T) ≈ (2π eps)^{-d/2} det Σ(T)^{-1/2} exp(1/2 ∫ tr(K Σ) dt) e^{-S/eps}
                    = (2π eps)^{-d/2} det X(T)^{-1/2} exp(-1/2 ∫ tr A dt) e^{-S/eps},

(Σ = (∇²S)^{-1}, the inverse Hessian of the action in the end point; X the Jacobi field
dx(T)/dp(t0), Σ = X P^{-1}, see :func:`_jacobi`), exact for linear drifts, where K = 0
and X_T ~ N(m, eps Σ). The probability of the ball |X_T - x_end| < r
integrates e^{-p(T)·u/eps} (the exponent to first order in u = x - x_end) over the ball:

    P ≈ ρ_eps(x_end, T) V_d r^d Γ(d/2 + 1) (2/κ)^{d/2} I_{d/2}(κ),   κ = r |p(T)| / eps,

leaving a relative error O(r²/eps) from the curvature of S across the ball.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.integrate import solve_ivp
from scipy.interpolate import CubicSpline
from scipy.special import gammaln, ive

from ._display import fields_repr
from ._hamilton import drift_curvature
from ._inputs import as_point


@dataclass(frozen=True, repr=False)
class SharpProbability:
    """Leading-order P(X_T in a ball around x_end, or in the half-space
    n·(x - x_end) ≥ 0, | X_0 = x_start) with its prefactor.

    Attributes
    ----------
    probability : float
        P ≈ ρ_eps(x_end, T) × (ball integral); may underflow to 0 (see ``log_probability``).
    log_probability : float
        log P.
    log_density : float
        log ρ_eps(x_end, T) = -d/2 log(2π eps) - 1/2 log det X(T)
        - 1/2 divergence_integral - S/eps.
    action : float
        S of the finite-T instanton.
    sigma : numpy.ndarray
        Σ(T) = X(T) P(T)^{-1} (d, d), the Riccati solution (eps Σ is the covariance of X_T
        in the linear case); NaN where P(T) is singular (a pole of Σ, harmless).
    jacobi : numpy.ndarray
        X(T) = dx(T)/dp(t0) (d, d); det X(T) = 0 is a conjugate point.
    divergence_integral : float
        ∫ tr A dt = ∫ div f dt along the instanton.
    ball_factor : float
        Γ(d/2 + 1) (2/κ)^{d/2} I_{d/2}(κ), the mean of e^{-p(T)·u/eps} over the ball (≥ 1).
    eps, radius, T : float
        (``radius`` and ``ball_factor`` are NaN for a half-space.)
    region : str
        ``"ball"`` or ``"half-space"``.
    normal : numpy.ndarray or None
        The half-space's unit outward normal n (None for a ball).
    success, message
        Whether the instanton and the Riccati solve converged, and how.
    diagnostics : dict
        ``"instanton"``: the path result; ``"jacobi"``: solve_ivp's status and nfev.
    """

    probability: float
    log_probability: float
    log_density: float
    action: float
    sigma: np.ndarray
    jacobi: np.ndarray
    divergence_integral: float
    ball_factor: float
    eps: float
    radius: float
    T: float
    region: str = "ball"
    normal: np.ndarray | None = None
    success: bool = True
    message: str = ""
    diagnostics: dict = field(default_factory=dict, repr=False)

    def __repr__(self) -> str:
        return fields_repr(self)


def _jacobi(system, inst, rtol: float):
    """The Jacobi fields X = dx/dp(t0), P = dp/dp(t0) along ``inst`` and ∫ tr A dt.

    X' = A X + 2 D(t) P, P' = -K X - A^T P, X(t0) = 0, P(t0) = I; Σ = X P^{-1} solves the
    Riccati equation, and det Σ^{-1/2} exp(1/2 ∫ tr(K Σ) dt) = det X^{-1/2} exp(-1/2 ∫ tr A dt)
    (since (log det P)' = -tr(K Σ) - tr A). The linear form stays finite where Σ has a pole
    (∇²S passing through 0, e.g. an end point beyond an inflection of the quasipotential).
    A and K on the instanton's nodes are interpolated by cubic splines in t.
    """
    d = system.dim
    t = np.asarray(inst.t, dtype=float)
    X = np.ascontiguousarray(inst.path)
    A = system.jacobian(X, t)
    K = drift_curvature(system, X, t, np.asarray(inst.p))
    A_s = CubicSpline(t, A.reshape(len(t), -1), axis=0)
    K_s = CubicSpline(t, K.reshape(len(t), -1), axis=0)
    D = np.asarray(system.D, dtype=float)
    n = d * d

    def rhs(s, y):
        Xs = y[:n].reshape(d, d)
        Ps = y[n : 2 * n].reshape(d, d)
        a = A_s(s).reshape(d, d)
        k = K_s(s).reshape(d, d)
        sched = float(np.ravel(system.diffusion_scale(s))[0])
        dX = a @ Xs + 2.0 * sched * D @ Ps
        dP = -k @ Xs - a.T @ Ps
        return np.concatenate([dX.ravel(), dP.ravel(), [np.trace(a)]])

    y0 = np.concatenate([np.zeros(n), np.eye(d).ravel(), [0.0]])
    sol = solve_ivp(rhs, (t[0], t[-1]), y0, method="DOP853", rtol=rtol, atol=1e-14)
    yT = sol.y[:, -1]
    return yT[:n].reshape(d, d), yT[n : 2 * n].reshape(d, d), float(yT[-1]), sol


def _second_variation(system, x_start, x_end, T, instanton, rtol):
    """The instanton (computed unless given) and its Jacobi fields, with the checks shared
    by the ball and half-space probabilities."""
    from .instanton import instanton as find_instanton

    if not np.isfinite(T) or T <= 0:
        raise ValueError(f"`T` must be positive and finite, got {T!r}")
    inst = find_instanton(system, x_start, x_end, T=T) if instanton is None else instanton
    if inst.T is None or not np.isclose(inst.T, T):
        raise ValueError(f"`instanton` must be a finite-T instanton with T = {T}, got T = {inst.T}")
    a, b = as_point(system, x_start, "x_start"), as_point(system, x_end, "x_end")
    if not (np.allclose(inst.path[0], a, atol=1e-8) and np.allclose(inst.path[-1], b, atol=1e-8)):
        raise ValueError("`instanton` must run from `x_start` to `x_end`")
    d = system.dim
    Xj, Pj, div, sol = _jacobi(system, inst, rtol)
    if abs(np.linalg.det(Pj)) > 1e-12 * max(1.0, np.abs(Pj).max()) ** d:
        Sigma = np.linalg.solve(Pj.T, Xj.T).T
        Sigma = 0.5 * (Sigma + Sigma.T)
    else:
        Sigma = np.full((d, d), np.nan)
    msgs = []
    if not inst.success:
        msgs.append(f"instanton: {inst.message}")
    if not sol.success:
        msgs.append(f"jacobi fields: {sol.message}")
    if np.linalg.det(Xj) <= 0:
        msgs.append(
            "det X(T) <= 0: a conjugate point on the instanton (the Gaussian prefactor fails)"
        )
    return inst, Xj, Pj, div, Sigma, not msgs, msgs, sol


def _log_density(eps: float, Xj: np.ndarray, div: float, action: float) -> float:
    """log ρ_eps(x_end, T) = -d/2 log(2π eps) - 1/2 log det X(T) - 1/2 ∫ div f dt - S/eps
    (NaN past a conjugate point, det X(T) ≤ 0)."""
    sign, logdet = np.linalg.slogdet(Xj)
    if sign <= 0:
        return np.nan
    return -0.5 * len(Xj) * np.log(2.0 * np.pi * eps) - 0.5 * logdet - 0.5 * div - action / eps


def sharp_probability(
    system,
    x_start,
    x_end,
    T: float,
    eps: float,
    *,
    radius: float,
    instanton=None,
    rtol: float = 1e-10,
) -> SharpProbability:
    """The sharp small-noise probability that X_T lies within ``radius`` of ``x_end``.

        P ≈ (2π eps)^{-d/2} det Σ(T)^{-1/2} exp(1/2 ∫ tr(K Σ) dt) e^{-S/eps}
            × V_d r^d Γ(d/2 + 1) (2/κ)^{d/2} I_{d/2}(κ),   κ = r |p(T)| / eps,

    with Σ' = A Σ + Σ A^T + 2 D(t) + Σ K Σ, Σ(t0) = 0 along the finite-T instanton,
    evaluated through the Jacobi fields as det X(T)^{-1/2} exp(-1/2 ∫ div f dt)
    (module docstring; docs/rates.md). Exact for linear drifts up to O(r²/eps) from the
    ball integration; for nonlinear drifts the relative error is O(eps) + O(r²/eps).

    Parameters
    ----------
    system : simulate.System
    x_start, x_end : array_like (d,)
    T : float
        Duration (> 0).
    eps : float
        Noise level (> 0).
    radius : float
        Radius of the end ball (> 0); small against sqrt(eps) for the stated accuracy.
    instanton : theory.Instanton, optional
        A finite-T instanton already computed for these end points (else
        ``theory.instanton(system, x_start, x_end, T=T)``).
    rtol : float
        Relative tolerance of the Jacobi-field (Riccati) integration.

    Returns
    -------
    SharpProbability
    """
    for name, value in (("eps", eps), ("radius", radius)):
        if not np.isfinite(value) or value <= 0:
            raise ValueError(f"`{name}` must be positive and finite, got {value!r}")
    inst, Xj, Pj, div, Sigma, ok, msgs, sol = _second_variation(
        system, x_start, x_end, T, instanton, rtol
    )
    d = system.dim
    log_density = _log_density(eps, Xj, div, inst.action)
    kappa = radius * float(np.linalg.norm(inst.p[-1])) / eps
    nu = 0.5 * d
    # mean of e^{κ cos θ} over the d-ball: Γ(ν+1) (2/κ)^ν I_ν(κ) -> 1 as κ -> 0; ive keeps
    # it finite for large κ.
    if kappa > 1e-8:
        log_ball = gammaln(nu + 1) + nu * np.log(2.0 / kappa) + np.log(ive(nu, kappa)) + kappa
    else:
        log_ball = 0.0
    log_volume = nu * np.log(np.pi) - gammaln(nu + 1) + d * np.log(radius)
    log_p = log_density + log_volume + log_ball
    return SharpProbability(
        probability=float(np.exp(log_p)),
        log_probability=float(log_p),
        log_density=float(log_density),
        action=float(inst.action),
        sigma=Sigma,
        jacobi=Xj,
        divergence_integral=div,
        ball_factor=float(np.exp(log_ball)),
        eps=float(eps),
        radius=float(radius),
        T=float(T),
        success=ok,
        message="; ".join(msgs) if msgs else "converged",
        diagnostics={"instanton": inst, "jacobi": {"status": sol.status, "nfev": sol.nfev}},
    )


def sharp_halfspace_probability(
    system,
    x_start,
    x_end,
    T: float,
    eps: float,
    *,
    normal,
    instanton=None,
    rtol: float = 1e-10,
) -> SharpProbability:
    """The sharp small-noise probability that X_T lies in the half-space
    n·(x - x_end) ≥ 0, where ``x_end`` is the most likely point of its boundary plane.

    Laplace's method on the density (:func:`sharp_probability`): Gaussian in the plane with
    the Hessian Q = Σ^{-1} restricted to n^⊥ (det Q_⊥ = det Q · n^T Σ n), exponential
    along n with rate |p(T)|/eps (p(T) ∥ n at the plane's most likely point):

        P ≈ sqrt(eps / 2π) / |p(T)| · (n^T X(T) adj P(T) n)^{-1/2}
            · exp(-1/2 ∫ div f dt) e^{-S/eps},

    with the Jacobi fields X, P of :func:`_jacobi` (X adj P = det P · Σ, finite where Σ has
    a pole). For a linear drift this is φ(z)/z, z = sqrt(2 S/eps), the leading term of
    the exact Gaussian tail Φ̄(z) = φ(z)/z (1 - 1/z² + ...); relative error O(eps) in
    general.

    Parameters
    ----------
    system, x_start, x_end, T, eps, instanton, rtol
        As in :func:`sharp_probability`.
    normal : array_like (d,)
        Outward normal of the half-space (normalised here).

    Returns
    -------
    SharpProbability
        ``success`` is False (``message`` says why) when p(T) is not along ``normal``
        (relative tolerance 1e-6: ``x_end`` is not the plane's most likely point) or the
        in-plane Hessian is not positive definite.
    """
    if not np.isfinite(eps) or eps <= 0:
        raise ValueError(f"`eps` must be positive and finite, got {eps!r}")
    n = np.asarray(normal, dtype=float).ravel()
    if n.shape != (system.dim,) or not np.all(np.isfinite(n)) or not np.any(n):
        raise ValueError(f"`normal` must be a nonzero finite vector of length {system.dim}")
    n = n / np.linalg.norm(n)
    inst, Xj, Pj, div, Sigma, ok, msgs, sol = _second_variation(
        system, x_start, x_end, T, instanton, rtol
    )
    pT = np.asarray(inst.p[-1], dtype=float)
    p_norm = float(np.linalg.norm(pT))
    if not p_norm > 0 or n @ pT < (1.0 - 1e-6) * p_norm:
        msgs.append("p(T) is not along `normal`: x_end is not the plane's most likely point")
    # adj P = V diag(prod_{j != i} s_j) U^T det(U V^T): the adjugate without inverting P
    U, sv, Vt = np.linalg.svd(Pj)
    cof = np.array([np.prod(np.delete(sv, i)) for i in range(len(sv))])
    adjP = np.linalg.det(U @ Vt) * (Vt.T * cof) @ U.T
    in_plane = float(n @ Xj @ adjP @ n)
    if not in_plane > 0:
        msgs.append("the in-plane Hessian of S at x_end is not positive definite")
    ok = not msgs
    log_p = (
        0.5 * np.log(eps / (2.0 * np.pi))
        - np.log(p_norm)
        - 0.5 * np.log(in_plane)
        - 0.5 * div
        - inst.action / eps
        if ok
        else np.nan
    )
    log_density = _log_density(eps, Xj, div, inst.action)
    return SharpProbability(
        probability=float(np.exp(log_p)),
        log_probability=float(log_p),
        log_density=float(log_density),
        action=float(inst.action),
        sigma=Sigma,
        jacobi=Xj,
        divergence_integral=div,
        ball_factor=np.nan,
        eps=float(eps),
        radius=np.nan,
        T=float(T),
        region="half-space",
        normal=n,
        success=ok,
        message="; ".join(msgs) if msgs else "converged",
        diagnostics={"instanton": inst, "jacobi": {"status": sol.status, "nfev": sol.nfev}},
    )
