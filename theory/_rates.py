"""Absolute transition rates: Eyring–Kramers (gradient) and Bouchet–Reygner (non-gradient)
prefactors of the mean exit time through an index-1 saddle.

Convention (docs/rates.md): dX = f(X) dt + sqrt(2 eps D) dW, D constant symmetric positive
definite, S = 1/4 ∫ (xdot - f)^T D^{-1} (xdot - f) dt, P ~ e^{-S/eps}. The quasipotential
V(x) (the least action from the attractor m to x) solves the Hamilton–Jacobi equation
∇V^T D ∇V + f·∇V = 0, so f = -D ∇V + l with l·∇V = 0 (the transverse decomposition).
The mean time from m to beyond the saddle s is, as eps -> 0,

    E tau ≈ C e^{ΔV/eps},  ΔV = V(s),
    C = 2π/λ_s sqrt(|det ∇²V(s)| / det ∇²V(m)) exp(∫_{-∞}^{∞} div l(φ(t)) dt),

λ_s the positive eigenvalue of Df(s) and φ the instanton (fluctuation path)
φ' = f + 2 D ∇V(φ) from m (t = -∞) to s (t = +∞). For f = -D ∇U, V = U - U(m), l = 0:
Eyring–Kramers–Langer.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.integrate import solve_ivp
from scipy.linalg import expm, solve_continuous_lyapunov
from scipy.optimize import brentq, root

from ._inputs import as_point


@dataclass(frozen=True, repr=False)
class Rate:
    """The small-noise mean exit time E tau ≈ C e^{ΔV/eps} through an index-1 saddle.

    Attributes
    ----------
    barrier : float
        ΔV = V(s) - V(m), the quasipotential difference in the action convention
        S = 1/4 ∫ |xdot - f|²_{D^{-1}} dt (no factor 2).
    prefactor : float
        C = 2π/λ_s sqrt(|det ∇²V(s)| / det ∇²V(m)) exp(divergence_integral).
    x_min, x_saddle : numpy.ndarray
        The fixed points (polished by Newton from the points given).
    hessian_min, hessian_saddle : numpy.ndarray
        ∇²V at m and s.
    unstable_eigenvalue : float
        λ_s, the positive eigenvalue of Df(s).
    divergence_integral : float
        ∫ div l(φ(t)) dt along the instanton (0 for gradient systems).
    method : str
        ``"gradient"`` (Eyring–Kramers) or ``"general"`` (Bouchet–Reygner).
    success, message
        Whether every step converged, and how.
    diagnostics : dict
        BVP and Riccati records (``"general"``): residuals, tail estimates, the path.
    """

    barrier: float
    prefactor: float
    x_min: np.ndarray
    x_saddle: np.ndarray
    hessian_min: np.ndarray
    hessian_saddle: np.ndarray
    unstable_eigenvalue: float
    divergence_integral: float
    method: str
    success: bool = True
    message: str = ""
    diagnostics: dict = field(default_factory=dict)

    def mean_time(self, eps):
        """E tau ≈ C e^{ΔV/eps} at noise level(s) ``eps`` (float or array)."""
        e = np.asarray(eps, dtype=float)
        if np.any(~np.isfinite(e)) or np.any(e <= 0):
            raise ValueError(f"`eps` must be positive and finite, got {eps!r}")
        out = self.prefactor * np.exp(self.barrier / e)
        return float(out) if out.ndim == 0 else out

    def __repr__(self) -> str:
        flag = "" if self.success else f", success=False ({self.message})"
        return (
            f"Rate(barrier={self.barrier:.10g}, prefactor={self.prefactor:.10g}, "
            f"method={self.method!r}{flag})"
        )


# --------------------------------------------------------------------------------------
# Fixed points and local quadratic quasipotentials
# --------------------------------------------------------------------------------------


def _polish(system, x, what: str) -> np.ndarray:
    x0 = as_point(system, x, what)
    sol = root(system.f, x0, jac=system.jacobian, method="hybr", options={"xtol": 1e-14})
    y = sol.x
    res = float(np.max(np.abs(system.f(y))))
    scale = max(1.0, float(np.max(np.abs(system.jacobian(y)))) * max(1.0, np.abs(y).max()))
    if not (np.all(np.isfinite(y)) and res <= 1e-10 * scale):
        raise ValueError(f"`{what}`: no fixed point f(x) = 0 found near {x0} (|f| = {res:.2e})")
    return y


def lyapunov_hessian(A: np.ndarray, D: np.ndarray) -> np.ndarray:
    """∇²V at a stable fixed point with Df = A: P = Σ^{-1}, A Σ + Σ A^T + 2 D = 0
    (Σ/eps is the covariance of the linearised stationary law)."""
    sigma = solve_continuous_lyapunov(A, -2.0 * D)
    P = np.linalg.inv(0.5 * (sigma + sigma.T))
    return 0.5 * (P + P.T)


def riccati_hessian(A: np.ndarray, D: np.ndarray) -> np.ndarray:
    """∇²V at a hyperbolic fixed point: the symmetric solution of the algebraic Riccati
    equation P A + A^T P + 2 P D P = 0 whose graph {(x, P x)} is the invariant subspace of
    the linearised Hamilton equations xdot = A x + 2 D p, pdot = -A^T p with spectrum
    spec(-A^T) (the quasipotential's Lagrangian manifold; the other choice, p = 0, is the
    deterministic flow). Each eigenpair A^T w = λ w gives the vector (x, w) with
    (A + λ) x = -2 D w, eigenvalue -λ; the least-squares x is taken where A + λ is
    singular (λ_i + λ_j = 0, e.g. Maier–Stein's saddle), the symmetric choice there."""
    lam, W = np.linalg.eig(A.T)
    d = A.shape[0]
    X = np.empty_like(W)
    for k in range(d):
        X[:, k] = np.linalg.lstsq(A + lam[k] * np.eye(d), -2.0 * D @ W[:, k], rcond=1e-10)[0]
    P = np.real(W @ np.linalg.inv(X))
    return 0.5 * (P + P.T)


def _riccati_residual(P, A, D) -> float:
    R = P @ A + A.T @ P + 2.0 * P @ D @ P
    return float(np.max(np.abs(R)) / max(1.0, float(np.max(np.abs(P @ A)))))


# --------------------------------------------------------------------------------------
# Checks: index-1 saddle, the saddle on the boundary of the attractor's basin, gradient
# --------------------------------------------------------------------------------------


def _descent(system, s: np.ndarray, u: np.ndarray, m: np.ndarray, lam: float):
    """Follow both branches of the saddle's unstable manifold downhill (xdot = f) from
    s ± delta u; returns the branch (relaxation path, (k, d)) that falls into m, or None
    and where the branches ended."""
    scale = max(1.0, float(np.linalg.norm(s - m)))
    delta = 1e-6 * scale
    t_max = (np.log(scale / delta) + 60.0) / lam * 4

    def rhs(t, x):
        return system.f(x)

    def arrived(t, x):
        return np.linalg.norm(x - m) - 1e-3 * scale

    arrived.terminal = True
    ends = []
    for sign in (1.0, -1.0):
        sol = solve_ivp(
            rhs, (0.0, t_max), s + sign * delta * u, events=arrived, rtol=1e-9, atol=1e-12
        )
        if sol.status == 1:
            return sol.y.T, ends
        ends.append(sol.y[:, -1])
    return None, ends


def _is_gradient(system, points: np.ndarray, tol: float = 1e-7) -> bool:
    """Whether D^{-1} Df(x) is symmetric at every point (then f = -D ∇U locally)."""
    M = system.D_inv @ system.jacobian(points)
    asym = np.abs(M - np.swapaxes(M, -1, -2)).max(axis=(-1, -2))
    return bool(np.all(asym <= tol * (1.0 + np.abs(M).max(axis=(-1, -2)))))


def _gradient_barrier(system, m, s, n: int = 64) -> float:
    """U(s) - U(m) = -∫_m^s (D^{-1} f)·dx on the straight segment (Gauss–Legendre), path
    independent for f = -D ∇U."""
    z, w = np.polynomial.legendre.leggauss(n)
    x = m + np.outer(0.5 * (z + 1.0), s - m)
    g = system.f(x) @ system.D_inv
    return float(-0.5 * np.sum(w * (g @ (s - m))))


# --------------------------------------------------------------------------------------
# General case: the heteroclinic instanton by a boundary-value problem, then the Riccati
# equation for ∇²V along it
# --------------------------------------------------------------------------------------


def _hamilton(system, y):
    """Hamilton's equations with the action: x' = f + 2 D p, p' = -Df^T p, S' = p^T D p."""
    d = system.dim
    x, p = y[:d], y[d : 2 * d]
    Dp = system.D @ p
    return np.concatenate([system.f(x) + 2.0 * Dp, -system.jacobian(x).T @ p, [p @ Dp]])


def _shoot(system, m, s, Pm, direction, r0, r1, lam, rtol, stop_at_r1):
    """Hamilton's equations from x0 = m + r0 u (u a unit ``direction``) on the unstable
    manifold of (m, 0): p0 ∝ ∇²V(m) (x0 - m), scaled to H(x0, p0) = 0 exactly (the
    tangent approximation alone leaves H = O(r0³), which would push the orbit off the
    separatrix at s), S0 = (x0 - m)^T ∇²V(m) (x0 - m)/2. Runs until the distance to s
    stops decreasing within |s - m|/2 of s or (``stop_at_r1``) falls to r1."""
    d = system.dim
    x0 = m + r0 * direction
    p0 = Pm @ (x0 - m)
    p0 *= -(p0 @ system.f(x0)) / (p0 @ system.D @ p0)
    y0 = np.concatenate([x0, p0, [0.5 * (x0 - m) @ Pm @ (x0 - m)]])

    near = 0.5 * np.linalg.norm(s - m)

    def passing(t, y):
        # closest approach to s; only near s (orbits may spiral out of m)
        dx = y[:d] - s
        if np.linalg.norm(dx) > near:
            return -1.0
        return dx @ (system.f(y[:d]) + 2.0 * system.D @ y[d : 2 * d])

    def arrived(t, y):
        return np.linalg.norm(y[:d] - s) - r1

    far = 4.0 * np.linalg.norm(s - m)

    def escaped(t, y):
        # an orbit that has left the region of m and s blows up: stop it there (its miss
        # distance keeps its sign) instead of integrating a stiff blow-up for minutes
        return far - np.linalg.norm(y[:d] - m)

    passing.terminal = arrived.terminal = escaped.terminal = True
    passing.direction, arrived.direction, escaped.direction = 1, -1, -1
    span = 20.0 * (np.log(np.linalg.norm(s - m) / min(r0, r1)) + 10.0) / lam
    return solve_ivp(
        lambda t, y: _hamilton(system, y),
        (0.0, span),
        y0,
        events=(passing, escaped, arrived) if stop_at_r1 else (passing, escaped),
        dense_output=True,
        method="DOP853",  # its dense output keeps the step's accuracy (RK45's does not)
        rtol=rtol,
        atol=rtol * 1e-4 * r0,
    )


def _heteroclinic(system, m, s, Pm, Ps, first_step, lam, r_end, rtol):
    """The instanton m -> s (on the unstable manifold of (m, 0) in phase space) by
    shooting on its departure direction from m, seeded by the geometric instanton's
    ``first_step`` (a direction at distance r_end from m). d = 1: the direction is ±1.
    d = 2: the angle is found by Brent's
    method on the signed miss distance at the closest approach to s, across the arrival
    direction r (the eigenvector of Df(s) + 2 D ∇²V(s) for -λ_s): orbits on either side
    of the heteroclinic pass s on opposite sides. Returns the solve_ivp solution of the
    final orbit, stopped at |x - s| = r_end, and r."""
    d = system.dim
    M = system.jacobian(s) + 2.0 * system.D @ Ps
    ev, R = np.linalg.eig(M)
    r = np.real(R[:, int(np.argmin(np.abs(ev + lam)))])
    r /= np.linalg.norm(r)
    u0 = first_step / np.linalg.norm(first_step)
    if d == 1:
        return _shoot(system, m, s, Pm, u0, r_end, r_end, lam, rtol, True), r
    if d != 2:
        raise ValueError(
            f"`method='general'` shoots the instanton in d <= 2 only; `system` has d = {d}"
        )
    normal = np.array([-r[1], r[0]])
    theta0 = np.arctan2(u0[1], u0[0])

    def miss(theta):
        u = np.array([np.cos(theta), np.sin(theta)])
        sol = _shoot(system, m, s, Pm, u, r_end, r_end, lam, rtol, False)
        return float(normal @ (sol.y[:d, -1] - s))

    # bracket the root around the geometric instanton's direction
    lo = hi = theta0
    f_lo = f_hi = miss(theta0)
    step = 0.01
    while f_lo * f_hi > 0 and step < np.pi:
        lo, hi = theta0 - step, theta0 + step
        f_lo, f_hi = miss(lo), miss(hi)
        step *= 2.0
    if f_lo * f_hi > 0:
        raise ValueError(
            "the instanton from `x_min` does not reach `x_saddle`: no departure direction "
            "from x_min leads to the saddle"
        )
    theta = brentq(miss, lo, hi, xtol=1e-15, rtol=1e-15) if f_lo * f_hi < 0 else lo
    u = np.array([np.cos(theta), np.sin(theta)])
    return _shoot(system, m, s, Pm, u, r_end, r_end, lam, rtol, True), r


def _K(system, x, p, h=1e-6):
    """K_ij = Σ_k p_k ∂_i ∂_j f_k (central differences of the analytic Jacobian)."""
    d = x.size
    step = h * max(1.0, float(np.abs(x).max()))
    pts = np.concatenate([x + step * np.eye(d), x - step * np.eye(d)])
    J = system.jacobian(pts)
    JTp = np.einsum("kji,j->ki", J, p)  # rows: (Df^T p) at each shifted point
    K = (JTp[:d] - JTp[d:]).T / (2.0 * step)
    return 0.5 * (K + K.T)


def _riccati_rhs(system, x, p, P, kappa):
    """dP/dt along a fluctuation path for P = ∇²V(x(t)):

        P' = -(P A + A^T P + 2 P D P + K),  A = Df(x), K = Σ_k p_k ∇²f_k,

    plus a penalty that holds the exact tangential part P xdot = p' = -A^T p (true for
    P = ∇²V): near the saddle the arrival component of P is unstable in forward time, the
    penalty (rate kappa) removes that instability without changing the solution.
    Also returns div l = tr A + tr(D P)."""
    D = system.D
    A = system.jacobian(x)
    xdot = system.f(x) + 2.0 * D @ p
    speed = np.linalg.norm(xdot)
    u = xdot / speed
    q = -(A.T @ p) / speed
    e = P @ u - q
    Pdot = -(P @ A + A.T @ P + 2.0 * P @ D @ P + _K(system, x, p))
    Pdot -= kappa * (np.outer(e, u) + np.outer(u, e) - (u @ e) * np.outer(u, u))
    return Pdot, float(np.trace(A) + np.trace(D @ P))


def _divergence_integral(system, m, s, Pm, Mm, lam, orbit, T, r_start, rtol):
    """∫ div l dt along the instanton: the Riccati equation from |x - m| = r_start on the
    linearised path x - m = e^{M_m t} (x(0) - m) (P starts at ∇²V(m), error O(r_start)),
    then along the instanton, plus the tail beyond its end, div l(x(T))/λ_s
    (div l decays like |x - s| ∝ e^{-λ_s t} there), extrapolated (Richardson) from two
    truncation points to remove the O(|x - s|²) error of that tail."""
    d = system.dim
    x0 = orbit(0.0)[:d]
    d0 = x0 - m
    mu = float(np.min(np.real(np.linalg.eigvals(Mm))))
    t_lin = np.log(np.linalg.norm(d0) / r_start) / mu
    scale = max(
        float(np.max(np.abs(np.linalg.eigvals(system.jacobian(m))))),
        float(np.max(np.abs(np.linalg.eigvals(system.jacobian(s))))),
    )
    kappa = 10.0 * scale

    def lin(t, z):
        tau = t - t_lin  # <= 0
        dx = expm(Mm * tau) @ d0
        P = z[:-1].reshape(d, d)
        # no tangential penalty here: the Riccati equation is stable near m, and the
        # linearised (x, p) agree only to first order, which the penalty would impose
        Pdot, div = _riccati_rhs(system, m + dx, Pm @ dx, P, 0.0)
        return np.concatenate([Pdot.ravel(), [div]])

    def along(t, z):
        y = orbit(t)
        P = z[:-1].reshape(d, d)
        Pdot, div = _riccati_rhs(system, y[:d], y[d : 2 * d], P, kappa)
        return np.concatenate([Pdot.ravel(), [div]])

    z0 = np.concatenate([Pm.ravel(), [0.0]])
    opts = dict(method="LSODA", rtol=max(rtol, 1e-11), atol=max(rtol, 1e-11) * 1e-2)
    a = solve_ivp(lin, (0.0, t_lin), z0, **opts)
    b = solve_ivp(along, (0.0, T), a.y[:, -1], dense_output=True, **opts)

    def truncated(t):
        """The integral up to t plus the tail div l(x(t))/λ_s: error O(|x(t) - s|²)."""
        y, z = orbit(t), b.sol(t)
        _, div = _riccati_rhs(system, y[:d], y[d : 2 * d], z[:-1].reshape(d, d), 0.0)
        return z[-1] + div / lam, float(np.linalg.norm(y[:d] - s)), div / lam

    # Richardson in |x - s|²: the end and the point twice as far from s
    I1, r1, tail = truncated(T)
    I2, r2, _ = truncated(max(0.0, T - np.log(2.0) / lam))
    value = (I1 * r2**2 - I2 * r1**2) / (r2**2 - r1**2)
    P_end = b.y[:-1, -1].reshape(d, d)
    ok = a.success and b.success
    return float(value), P_end, float(tail), ok, (a.message, b.message)


# --------------------------------------------------------------------------------------
# The entry point
# --------------------------------------------------------------------------------------


def rate(
    system,
    x_min,
    x_saddle,
    *,
    method: str = "auto",
    n: int = 40,
    r_end: float = 1e-3,
    rtol: float = 1e-10,
) -> Rate:
    """Eyring–Kramers / Bouchet–Reygner mean exit time E tau ≈ C e^{ΔV/eps} from the
    attractor near ``x_min`` through the index-1 saddle near ``x_saddle``.

    For dX = f dt + sqrt(2 eps D) dW (D constant SPD), with V the quasipotential from m
    (∇V^T D ∇V + f·∇V = 0, V(m) = 0) and l = f + D ∇V (so that l·∇V = 0):

        ΔV = V(s),
        C  = 2π/λ_s sqrt(|det ∇²V(s)| / det ∇²V(m)) exp(∫_{-∞}^{∞} div l(φ(t)) dt),

    λ_s > 0 the unstable eigenvalue of Df(s), φ the instanton φ' = f + 2 D ∇V(φ) from m to
    s (Bouchet & Reygner 2016, Ann. Henri Poincaré 17, 3499, written for our D and eps:
    change variables y = L^{-1} x with L L^T = D; see docs/rates.md). E tau is the mean time
    to go beyond the saddle (e.g. to the next attractor), to leading order 1/rate;
    the time to merely reach s is half of it.

    - ``method="gradient"`` (chosen by ``"auto"`` when D^{-1} Df is symmetric at m, s and
      along the relaxation path s -> m, i.e. f = -D ∇U): V = U - U(m), ∇²V = -D^{-1} Df,
      l = 0 (Eyring–Kramers–Langer); ΔV by Gauss–Legendre on the straight segment.
    - ``method="general"``: ∇²V(m) from the Lyapunov equation A Σ + Σ A^T + 2 D = 0,
      ∇²V(m) = Σ^{-1} (A = Df(m)); ∇²V(s) from the algebraic Riccati equation
      P A + A^T P + 2 P D P = 0 on the right invariant subspace (:func:`riccati_hessian`);
      the instanton by a boundary-value problem on Hamilton's equations seeded by the
      geometric minimum action method (``theory.instanton(..., T=None)``), between
      |x - m| = ``r_end`` and |x - s| = ``r_end``; ΔV its action; ∇²V along it from the
      Riccati equation P' = -(P A + A^T P + 2 P D P + Σ_k p_k ∇²f_k), integrated forward
      (where it is stable) from the linearised path near m, with div l = tr Df + tr(D P).

    Parameters
    ----------
    system
        An autonomous :class:`~simulate.System` without a diffusion schedule.
    x_min, x_saddle
        Points (or state names) near the attractor m and the saddle s; both are polished
        by Newton's method.
    method
        ``"auto"``, ``"gradient"`` or ``"general"``.
    n
        Nodes of the geometric instanton that seeds the BVP (``"general"``).
    r_end
        Distance from m and s (relative to |s - m|) where the BVP window ends; the
        neglected ends cost O(r_end²).
    tol
        Tolerance of the BVP and (relative) of the Riccati integration.
    max_nodes
        Mesh limit of the BVP.

    Returns
    -------
    Rate
        ``barrier``, ``prefactor``, ``mean_time(eps)``; ``success``/``message`` report the
        BVP and Riccati solves (``"general"``).

    Raises
    ------
    ValueError
        When ``x_min`` is not a stable fixed point, ``x_saddle`` not an index-1 saddle, or
        the saddle's unstable manifold does not fall into ``x_min`` (then no instanton
        from ``x_min`` reaches ``x_saddle``).

    Examples
    --------
    >>> from simulate import zoo
    >>> from theory import rate
    >>> r = rate(zoo.double_well(), "left", "saddle")
    >>> round(r.barrier, 12), round(r.prefactor, 12)   # 1/4 and pi sqrt(2)
    (0.25, 4.442882938158)
    """
    if method not in ("auto", "gradient", "general"):
        raise ValueError(f"`method` must be 'auto', 'gradient' or 'general', got {method!r}")
    if not system.autonomous or system.schedule is not None:
        raise ValueError("`system` must be autonomous with a constant D for a rate")
    if not (np.isfinite(r_end) and 0 < r_end < 0.1):
        raise ValueError(f"`r_end` must be in (0, 0.1), got {r_end!r}")
    m = _polish(system, x_min, "x_min")
    s = _polish(system, x_saddle, "x_saddle")
    if np.linalg.norm(s - m) < 1e-8:
        raise ValueError("`x_min` and `x_saddle` polish to the same fixed point")
    A_m, A_s = system.jacobian(m), system.jacobian(s)
    eig_m, eig_s = np.linalg.eigvals(A_m), np.linalg.eigvals(A_s)
    tol_eig = 1e-9 * max(1.0, float(np.max(np.abs(eig_s))))
    if np.any(eig_m.real >= 0):
        raise ValueError(f"`x_min` = {m} is not a stable fixed point: Df eigenvalues {eig_m}")
    if np.any(np.abs(eig_s.real) <= tol_eig) or int(np.sum(eig_s.real > 0)) != 1:
        raise ValueError(
            f"`x_saddle` = {s} is not an index-1 saddle: Df eigenvalues {eig_s} "
            f"({int(np.sum(eig_s.real > tol_eig))} unstable)"
        )
    k = int(np.argmax(eig_s.real))
    lam = float(eig_s[k].real)
    w, V = np.linalg.eig(A_s)
    u = np.real(V[:, int(np.argmax(w.real))])
    path, ends = _descent(system, s, u / np.linalg.norm(u), m, lam)
    if path is None:
        raise ValueError(
            f"the instanton from `x_min` = {m} does not reach `x_saddle` = {s}: neither "
            f"branch of the saddle's unstable manifold falls into x_min (they end near "
            f"{[np.round(e, 6).tolist() for e in ends]}), so s is not on its basin's boundary"
        )
    # test symmetry on the relaxation path and off it (on an invariant line, e.g.
    # Maier–Stein's axis, Df can be symmetric although f is not a gradient)
    pts = np.concatenate([path, [m, s]])
    offsets = (
        0.1 * np.linalg.norm(s - m) * np.concatenate([np.eye(system.dim), -np.eye(system.dim)])
    )
    gradient = _is_gradient(system, (pts[:, None, :] + offsets[None]).reshape(-1, system.dim))
    if method == "auto":
        method = "gradient" if gradient else "general"
    elif method == "gradient" and not gradient:
        raise ValueError("`method='gradient'` but D^{-1} Df is not symmetric: f is not -D ∇U")
    if method == "gradient":
        Hm, Hs = -system.D_inv @ A_m, -system.D_inv @ A_s
        Hm, Hs = 0.5 * (Hm + Hm.T), 0.5 * (Hs + Hs.T)
        C = 2 * np.pi / lam * np.sqrt(abs(np.linalg.det(Hs)) / np.linalg.det(Hm))
        return Rate(
            barrier=_gradient_barrier(system, m, s),
            prefactor=float(C),
            x_min=m,
            x_saddle=s,
            hessian_min=Hm,
            hessian_saddle=Hs,
            unstable_eigenvalue=lam,
            divergence_integral=0.0,
            method="gradient",
            message="Eyring–Kramers (gradient drift)",
        )
    return _general(system, m, s, A_m, A_s, lam, n=n, r_end=r_end, rtol=rtol)


def _general(system, m, s, A_m, A_s, lam, *, n, r_end, rtol) -> Rate:
    from . import instanton  # the public solver (imported late: theory imports this module)

    D = system.D
    Pm = lyapunov_hessian(A_m, D)
    Ps = riccati_hessian(A_s, D)
    res_m, res_s = _riccati_residual(Pm, A_m, D), _riccati_residual(Ps, A_s, D)
    ev_s = np.linalg.eigvalsh(Ps)
    messages = []
    if res_s > 1e-8 or int(np.sum(ev_s < 0)) != 1:
        messages.append(
            f"∇²V(s) from the Riccati equation has residual {res_s:.1e} and eigenvalues {ev_s}"
        )
    scale = float(np.linalg.norm(s - m))
    r_abs = r_end * scale
    Mm = A_m + 2.0 * D @ Pm
    inst = instanton(system, m, s, T=None, n=n, tol=1e-5)
    # the geometric instanton's first node, followed back to |x - m| = r_abs along the
    # linearised fluctuation flow x - m = e^{M_m t} (x_1 - m) (it spirals where M_m has
    # complex eigenvalues, so the chord's direction alone would be wrong)
    d1 = inst.path[1] - m
    mu = float(np.min(np.real(np.linalg.eigvals(Mm))))
    first = expm(-Mm * np.log(np.linalg.norm(d1) / r_abs) / mu) @ d1
    sol, arrival = _heteroclinic(system, m, s, Pm, Ps, first, lam, r_abs, rtol)
    d = system.dim
    y1 = sol.y[:, -1]
    db = y1[:d] - s
    if sol.status != 1 or np.linalg.norm(db) > 1.01 * r_abs:
        messages.append(
            f"the shot instanton passes s at distance {np.linalg.norm(db):.1e}, not {r_abs:.1e}"
        )
    barrier = float(y1[2 * d] - 0.5 * db @ Ps @ db)
    T = float(sol.t[-1])
    integral, P_end, tail, ok, ivp_msg = _divergence_integral(
        system, m, s, Pm, Mm, lam, sol.sol, T, 1e-6 * r_abs, rtol
    )
    if not ok:
        messages.append(f"Riccati integration: {ivp_msg}")
    end_error = float(np.max(np.abs(P_end - Ps)) / np.max(np.abs(Ps)))
    if end_error > 1e-3:
        messages.append(
            f"∇²V along the instanton ends at {P_end.tolist()}, not at the Riccati solution "
            f"∇²V(s) = {Ps.tolist()} (relative difference {end_error:.1e}): a degenerate "
            "saddle (two eigenvalues of Df(s) summing to 0) admits several"
        )
    det_ratio = abs(np.linalg.det(Ps)) / np.linalg.det(Pm)
    C = 2 * np.pi / lam * np.sqrt(det_ratio) * np.exp(integral)
    success = not messages
    return Rate(
        barrier=barrier,
        prefactor=float(C),
        x_min=m,
        x_saddle=s,
        hessian_min=Pm,
        hessian_saddle=Ps,
        unstable_eigenvalue=lam,
        divergence_integral=integral,
        method="general",
        success=success,
        message="Bouchet–Reygner (non-gradient drift)" if success else "; ".join(messages),
        diagnostics={
            "T": T,
            "riccati_residual": (res_m, res_s),
            "riccati_end_error": end_error,
            "tail": float(tail),
            "gmam_action": float(inst.action),
            "arrival_direction": arrival,
            "path": sol.sol(np.linspace(0.0, T, 401))[:d].T,
        },
    )
