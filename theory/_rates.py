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

import warnings
from dataclasses import dataclass, field

import numpy as np
from scipy.integrate import solve_bvp
from scipy.linalg import expm, solve_continuous_lyapunov
from scipy.optimize import root

from ._hamilton import drift_curvature, hamilton_jac, hamilton_rhs
from ._inputs import as_point
from ._rate_kernels import ARRIVED, TABLEAU, TOO_SMALL, flow


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


def polish_fixed_point(system, x, what: str) -> np.ndarray:
    """The fixed point f(x) = 0 near ``x`` (a point or state name) by Powell's hybrid
    method; ValueError naming ``what`` when none is found."""
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


def _descent(system, s: np.ndarray, u: np.ndarray, m: np.ndarray, lam: float, nu: float):
    """Follow both branches of the saddle's unstable manifold downhill (xdot = f) from
    s ± delta u; returns the branch (relaxation path, (k, d)) that falls into m, or None
    and where the branches ended. lam: the saddle's unstable rate, nu: the slowest rate at
    m (both bound the time). (Hamilton's equations at p = 0 are xdot = f: the rate
    kernel's flow, with m as its target.)"""
    from ._kernels import functions

    d = system.dim
    scale = max(1.0, float(np.linalg.norm(s - m)))
    delta = 1e-6 * scale
    t_max = 4.0 * (np.log(scale / delta) / lam + (np.log(1e3) + 60.0) / nu)
    drift, jac, _ = functions(system)
    n = 2 * d + 2 + d * d
    atol = np.full(n, 1e-12)
    out, info, path = np.empty(n), np.zeros(2), np.empty((20000, d))
    ends = []
    for sign in (1.0, -1.0):
        y0 = np.concatenate([s + sign * delta * u, np.zeros(n - d)])
        status = flow(
            drift, jac, system.params, np.ascontiguousarray(system.D, dtype=float), m, s,
            y0, 0.0, 1.0, 1e-9, atol, np.zeros(n), 1e3 * scale, 1e-3 * scale, t_max,
            *TABLEAU, out, info, path,
        )  # fmt: skip
        if status == ARRIVED:
            return np.concatenate([[y0[:d]], path[: min(int(info[1]), len(path))]]), ends
        ends.append(out[:d].copy())
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
# General case: the instanton as a boundary value problem between the quadratic-cubic
# quasipotential at m and the stable subspace at s, then the Riccati equation for ∇²V
# and the divergence integral along it (numba, theory._rate_kernels)
# --------------------------------------------------------------------------------------


def cubic_quasipotential(A, F, P, D):
    """The cubic Taylor term of V at the attractor, V(m + y) = y^T P y/2 + T[y, y, y]/6 +
    O(|y|⁴): the Hamilton–Jacobi equation ∇V^T D ∇V + f·∇V = 0 at third order in y, with
    f = A y + F[y, y]/2, reads T[y, y, M y] = -(P y)·F[y, y], M = A + 2 D P; in the
    eigenbasis M = W Λ W^{-1} it is diagonal, T'_ijk = -3 G'_ijk/(λ_i + λ_j + λ_k) with
    G the symmetrised cubic form (P y)·F[y, y]."""
    M = A + 2.0 * D @ P
    lam, W = np.linalg.eig(M)
    G = np.einsum("il,ijk->ljk", P, F)
    G = (
        G
        + G.transpose(0, 2, 1)
        + G.transpose(1, 0, 2)
        + G.transpose(1, 2, 0)
        + G.transpose(2, 0, 1)
        + G.transpose(2, 1, 0)
    ) / 6.0
    Gp = np.einsum("abc,ai,bj,ck->ijk", G, W, W, W)
    Tp = -3.0 * Gp / (lam[:, None, None] + lam[None, :, None] + lam[None, None, :])
    Wi = np.linalg.inv(W)
    return np.real(np.einsum("ijk,ia,jb,kc->abc", Tp, Wi, Wi, Wi))


class _Start:
    """The quasipotential near m to third order (:func:`cubic_quasipotential`), for the
    instanton's start at m + y: p = P y + T[y, y]/2 rescaled to H = 0 exactly,
    ∇²V = P + T[y], S = V(m + y), and the divergence integral before the start,
    ∫_{-∞}^0 div l dt = c·M^{-1} y (div l = c·y + O(|y|²) near m, along y(t) = e^{M t} y);
    their errors are O(|y|²) and decay or are O(|y|²) in total."""

    def __init__(self, system, m, Pm):
        d = system.dim
        D = system.D
        A = system.jacobian(m)
        # F[i, j, k] = ∂_j ∂_k f_i(m): the curvature contracted with each unit vector
        F = drift_curvature(system, np.tile(m, (d, 1)), np.zeros(d), np.eye(d))
        self.system, self.m, self.Pm, self.D = system, m, Pm, D
        self.T = cubic_quasipotential(A, F, Pm, D)
        self.M = A + 2.0 * D @ Pm
        self.c = np.einsum("iik->k", F) + np.einsum("ij,jik->k", D, self.T)

    def momentum(self, y):
        p = self.Pm @ y + 0.5 * np.einsum("ijk,j,k->i", self.T, y, y)
        return p * (-(p @ self.system.f(self.m + y)) / (p @ self.D @ p))

    def action(self, y):
        return 0.5 * y @ self.Pm @ y + np.einsum("ijk,i,j,k->", self.T, y, y, y) / 6.0

    def state(self, y):
        """The kernel's state (x, p, S, ∇²V, I) at m + y."""
        P0 = self.Pm + np.einsum("ijk,k->ij", self.T, y)
        I0 = self.c @ np.linalg.solve(self.M, y)
        return np.concatenate([self.m + y, self.momentum(y), [self.action(y)], P0.ravel(), [I0]])


def _guess(system, start, s, Ps, lam, v, path, r0, delta):
    """A guess of the instanton for the BVP, on times t from |x - m| = r0 to
    |x - s| = delta: the geometric instanton's interior nodes ``path[1:-1]`` timed by
    dt = |dx| / |f| and with p = D^{-1}(xdot - f)/2, xdot the tangent at speed |f| (norms
    in D^{-1}: H = 0); before them the linearised fluctuation flow x - m = e^{M t} y0
    (p = ∇²V(m) (x - m)), after them the arrival x - s = e^{-λ_s t}(x_k - s)
    (p = ∇²V(s) (x - s)). Returns t (k,) and Y (2d + 1, k) = (x, p, S)."""
    m, D, Di = start.m, system.D, system.D_inv
    X = path[1:-1]
    tang = np.gradient(path, axis=0)[1:-1]
    f = system.f(X)
    nf = np.sqrt(np.einsum("ki,ij,kj->k", f, Di, f))
    nt = np.sqrt(np.einsum("ki,ij,kj->k", tang, Di, tang))
    P = 0.5 * (tang * (nf / nt)[:, None] - f) @ Di
    dX = np.diff(X, axis=0)
    dt = np.sqrt(np.einsum("ki,ij,kj->k", dX, Di, dX)) / (0.5 * (nf[1:] + nf[:-1]))
    t_mid = np.concatenate([[0.0], np.cumsum(dt)])
    t_left, X_left, t1 = _linear_departure(start, X[0] - m, r0)
    P_left = (X_left - m) @ start.Pm
    # the last node's arrival at s
    dn = X[-1] - s
    t2 = max(np.log(np.linalg.norm(dn) / delta) / lam, 1e-3)
    k_right = max(30, int(3.0 * float(np.max(np.abs(np.linalg.eigvals(system.jacobian(s))))) * t2))
    t_right = np.linspace(0.0, t2, k_right + 1)[1:]
    X_right = s + np.exp(-lam * t_right)[:, None] * dn
    P_right = (X_right - s) @ Ps
    t = np.concatenate([t_left, t1 + t_mid, t1 + t_mid[-1] + t_right])
    Xs = np.concatenate([X_left, X, X_right])
    Ps_ = np.concatenate([P_left, P, P_right])
    speed = np.einsum("ki,ij,kj->k", Ps_, D, Ps_)
    S = start.action(X_left[0] - m) + np.concatenate(
        [[0.0], np.cumsum(0.5 * (speed[1:] + speed[:-1]) * np.diff(t))]
    )
    return t, np.vstack([Xs.T, Ps_.T, S[None]])


def _linear_departure(start, y1, r0):
    """The linearised fluctuation flow x - m = e^{M t} y0 from |y0| = r0 to m + y1 (from
    y1 followed back: it spirals where M has complex eigenvalues, so y1's direction alone
    would be wrong), at nodes 1/3 of the fastest linear time scale apart (30 at least):
    times t (k,) and points (k, d) without the end, and the duration t1."""
    Mm = start.M
    mu = float(np.min(np.real(np.linalg.eigvals(Mm))))
    t1 = max(np.log(np.linalg.norm(y1) / r0) / mu, 1e-3)
    y0 = expm(-Mm * t1) @ y1
    y0 *= r0 / np.linalg.norm(y0)
    k_left = max(30, int(3.0 * float(np.max(np.abs(np.linalg.eigvals(Mm)))) * t1))
    t_left = np.linspace(0.0, t1, k_left, endpoint=False)
    step = expm(Mm * t_left[1])
    X_left = np.empty((k_left, len(y1)))
    X_left[0] = y0
    for k in range(1, k_left):
        X_left[k] = step @ X_left[k - 1]
    return t_left, X_left + start.m, t1


def _extended(start, sol, r0):
    """A BVP solution from |x - m| = r > r0 extended back to r0 by
    :func:`_linear_departure`: the guess (t, Y) of the BVP from r0."""
    m = start.m
    t_left, X_left, t1 = _linear_departure(start, sol.y[: len(m), 0] - m, r0)
    P_left = (X_left - m) @ start.Pm
    speed = np.einsum("ki,ij,kj->k", P_left, start.D, P_left)
    S_left = start.action(X_left[0] - m) + np.concatenate(
        [[0.0], np.cumsum(0.5 * (speed[1:] + speed[:-1]) * np.diff(t_left))]
    )
    Y_left = np.vstack([X_left.T, P_left.T, S_left[None]])
    Y = sol.y.copy()
    Y[-1] += S_left[-1] + 0.5 * (speed[-1] * (t1 - t_left[-1])) - Y[-1, 0]
    return np.concatenate([t_left, t1 + sol.p[0] * sol.x]), np.hstack([Y_left, Y])


def _stable_subspace(system, s, Ps, v):
    """The d conditions that (x, p) lies on the stable subspace of the linearised Hamilton
    equations at (s, 0), the tangent space of the stable manifold of (s, 0): it is spanned
    by (v, ∇²V(s) v) (v the arrival direction, eigenvalue -λ_s) and (w, 0) for the stable
    eigenvectors w of A = Df(s), i.e. p = a ∇²V(s) v and ℓ·(x - s - a v) = 0 with ℓ the
    left eigenvector of A for λ_s (orthogonal to every w)."""
    q = Ps @ v
    N = np.linalg.svd(q[:, None])[0][:, 1:]  # an orthonormal basis of q's complement
    w, L = np.linalg.eig(system.jacobian(s).T)
    ell = np.real(L[:, int(np.argmax(w.real))])

    def residual(x, p):
        a = (p @ q) / (q @ q)
        return np.concatenate([N.T @ p, [ell @ (x - s - a * v)]])

    return residual


def _instanton_bvp(system, start, s, Ps, lam, v, guess, r0, delta, tol, max_nodes):
    """The instanton m -> s by collocation (:func:`scipy.integrate.solve_bvp`) on
    Hamilton's equations for (x, p, S) over an unknown duration T, from |x - m| = r0 on
    the cubic quasipotential of :class:`_Start` (p = ∇V_3, S = V_3) to |x - s| = delta on
    the stable subspace of the linearised Hamilton equations at (s, 0),
    {(a v + w, a ∇²V(s) v): A_s w in the stable subspace of A_s = Df(s)} (v the arrival
    direction, the eigenvector of A_s + 2 D ∇²V(s) with eigenvalue -λ_s): p ∥ ∇²V(s) v
    and ℓ·(x - s - a v) = 0, ℓ the left eigenvector of A_s for λ_s. These are 2d + 3
    conditions for 2d + 1 equations and two unknowns, T and an unfolding parameter mu
    (pdot = -Df^T p + mu p, 0 at a solution): H is conserved, so without it one
    condition is redundant (Beyn 1990). The BVP is well posed in any d: each end fixes
    the modes that grow away from it (both shooting directions are exponentially
    unstable near s, at the rates of Df(s)'s stable eigenvalues)."""
    d = system.dim
    m = start.m
    on_subspace = _stable_subspace(system, s, Ps, v)
    t, Y = guess
    T = t[-1]

    def fun(tau, y, par):
        out = hamilton_rhs(system, np.zeros(len(tau)), y)
        out[d : 2 * d] += par[1] * y[d : 2 * d]
        return par[0] * out

    def fun_jac(tau, y, par):
        J = hamilton_jac(system, np.zeros(len(tau)), y)
        J[d + np.arange(d), d + np.arange(d)] += par[1]
        F = hamilton_rhs(system, np.zeros(len(tau)), y)
        F[d : 2 * d] += par[1] * y[d : 2 * d]
        dp = np.zeros((2 * d + 1, 2, len(tau)))
        dp[:, 0] = F
        dp[d : 2 * d, 1] = par[0] * y[d : 2 * d]
        return par[0] * J, dp

    def bc(ya, yb, par):
        y0 = ya[:d] - m
        return np.concatenate(
            [
                (ya[d : 2 * d] - start.momentum(y0)) / r0,
                [np.linalg.norm(y0) / r0 - 1.0, (ya[2 * d] - start.action(y0)) / r0**2],
                on_subspace(yb[:d], yb[d : 2 * d]) / delta,
                [np.linalg.norm(yb[:d] - s) / delta - 1.0],
            ]
        )

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        sol = solve_bvp(
            fun,
            bc,
            t / T,
            Y,
            p=np.array([T, 0.0]),
            fun_jac=fun_jac,
            tol=tol,
            bc_tol=tol,
            max_nodes=max_nodes,
        )
    return sol


def _continued_bvp(system, start, s, Ps, lam, v, path, r0, delta, tol, scale):
    """:func:`_instanton_bvp` (at most 30000 mesh nodes) from the geometric instanton
    ``path``; where that fails (a strongly anisotropic minimum, whose fast directions make
    the guess near m poor), from 10 r0 (up to |s - m|/100) first, its solution extended
    back to r0 (:func:`_extended`)."""
    guess = _guess(system, start, s, Ps, lam, v, path, r0, delta)
    sol = _instanton_bvp(system, start, s, Ps, lam, v, guess, r0, delta, tol, 30000)
    if (sol.status == 0 and np.all(np.isfinite(sol.y))) or r0 >= 0.01 * scale:
        return sol
    outer = _continued_bvp(system, start, s, Ps, lam, v, path, 10.0 * r0, delta, tol, scale)
    if outer.status != 0 or not np.all(np.isfinite(outer.y)):
        return outer
    guess = _extended(start, outer, r0)
    return _instanton_bvp(system, start, s, Ps, lam, v, guess, r0, delta, tol, 30000)


def _along(system, start, sol, s, kappa, width, rtol, r_ends, rate):
    """The Riccati equation of ∇²V and ∫ div l forward along the BVP's instanton, with
    Hamilton's equations restarted from the BVP's (x, p) at mesh nodes 1/``rate`` apart
    (forward they drift off the instanton exponentially, at most at about ``rate``), to
    |x - s| = each of ``r_ends`` (decreasing) in turn: the kernel states (x, p, S, ∇²V, I)
    there, the duration to the last, and whether a stretch stalled (a step size below
    round-off: the stretch's rest is skipped, and ∇²V and I with it)."""
    from ._kernels import functions

    d = system.dim
    m = start.m
    drift, jac, _ = functions(system)
    D = np.ascontiguousarray(system.D, dtype=float)
    n = 2 * d + 2 + d * d
    r0 = float(np.linalg.norm(sol.y[:d, 0] - m))
    p_scale = r0 * float(np.max(np.abs(start.Pm)))
    atol = rtol * np.concatenate(
        [
            np.full(d, 1e-3 * r0),
            np.full(d, 1e-3 * p_scale),
            [1e-3 * r0 * p_scale],
            np.full(d * d, float(np.max(np.abs(start.Pm)))),
            [1.0],
        ]
    )
    center = np.concatenate([m, np.zeros(n - d)])
    times = sol.p[0] * sol.x
    y = start.state(sol.y[:d, 0] - m)
    out, info, path = np.empty(n), np.zeros(2), np.empty((1, d))
    states, t, k, stalled = [], 0.0, 0, False
    # the restarts: the first node at least 1/rate after the previous one
    nodes = [0]
    for j in range(1, len(times)):
        if times[j] >= times[nodes[-1]] + 1.0 / rate or j == len(times) - 1:
            nodes.append(j)
    while len(states) < len(r_ends) and k < len(nodes) - 1:
        if t >= times[nodes[k + 1]]:
            k += 1
            y[: 2 * d] = sol.y[: 2 * d, nodes[k]]
            continue
        status = flow(
            drift, jac, system.params, D, s, m, y, kappa, width, rtol, atol, center, np.inf,
            r_ends[len(states)], times[nodes[k + 1]] - t, *TABLEAU, out, info, path,
        )  # fmt: skip
        y = out.copy()
        if status == ARRIVED:
            states.append(y.copy())
            t += info[0]
        else:
            stalled |= status == TOO_SMALL
            t = times[nodes[k + 1]]
    return states, t, stalled


def _div_l(system, x, P):
    return float(np.trace(system.jacobian(x)) + np.trace(system.D @ P))


def connecting_saddles(system, x_min, x_to, **fixed_point_options) -> list[np.ndarray]:
    """The index-1 saddles s between the attractors near ``x_min`` and ``x_to``: one branch
    of the unstable manifold of s falls into each (``theory.fixed_points`` finds the
    candidates; options go to it). Sorted by distance from x_min; empty if none."""
    from ._fixed_points import fixed_points

    m = polish_fixed_point(system, x_min, "x_min")
    b = polish_fixed_point(system, x_to, "x_to")
    nu_m = float(np.min(-np.linalg.eigvals(system.jacobian(m)).real))
    nu_b = float(np.min(-np.linalg.eigvals(system.jacobian(b)).real))
    if nu_m <= 0 or nu_b <= 0:
        raise ValueError("`x_min` and `x_to` must be stable fixed points")
    found = []
    for fp in fixed_points(system, guesses=[m, b], **fixed_point_options).points:
        # index 1: one unstable eigenvalue (in 1-D the 'unstable' kind)
        if fp.kind == "non-hyperbolic" or int(np.sum(fp.eigenvalues.real > 0)) != 1:
            continue
        w, V = np.linalg.eig(system.jacobian(fp.x))
        k = int(np.argmax(w.real))
        u = np.real(V[:, k]) / np.linalg.norm(np.real(V[:, k]))
        into_m, _ = _descent(system, fp.x, u, m, float(w[k].real), nu_m)
        into_b, _ = _descent(system, fp.x, u, b, float(w[k].real), nu_b)
        if into_m is not None and into_b is not None:
            # the two branches, not one branch passing near both
            if (into_m[0] - fp.x) @ (into_b[0] - fp.x) < 0:
                found.append(fp.x)
    return sorted(found, key=lambda x: float(np.linalg.norm(x - m)))


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
    r_start: float = 1e-4,
    rtol: float = 1e-12,
    tol: float = 1e-6,
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
      the instanton, in any dimension, as Hamilton's boundary value problem
      (:func:`scipy.integrate.solve_bvp`, seeded by the geometric minimum action method
      ``theory.instanton(..., T=None)``) from |x - m| = ``r_start`` on the unstable
      manifold of (m, 0) (to third order: the cubic Taylor term of V from the
      Hamilton–Jacobi equation) to |x - s| = ``r_end``/100 on the stable subspace of
      (s, 0) of the linearised equations; ΔV its action; ∇²V along it from the Riccati equation
      P' = -(P A + A^T P + 2 P D P + Σ_k p_k ∇²f_k), integrated forward (where it is
      stable) along the orbit, with div l = tr Df + tr(D P); the integral's ends: the
      linear part before r_start in closed form, the tail beyond r_end as div l/λ_s,
      Richardson-extrapolated from 2 r_end and r_end.

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
        Nodes of the geometric instanton that seeds the boundary value problem
        (``"general"``).
    r_end, r_start
        Distances from s and m (relative to |s - m|) where the integration ends and
        starts; the ends' errors are O(r_end³) and O(r_start²).
    rtol
        Relative tolerance of the Riccati integration (DOP853).
    tol
        Collocation tolerance of the boundary value problem (``"general"``), in [1e-12,
        1e-2).

    Returns
    -------
    Rate
        ``barrier``, ``prefactor``, ``mean_time(eps)``; ``success``/``message`` report
        whether the instanton reached s and ∇²V along it ended at ∇²V(s) (``"general"``).

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
    for name, r in (("r_end", r_end), ("r_start", r_start)):
        if not (np.isfinite(r) and 0 < r < 0.1):
            raise ValueError(f"`{name}` must be in (0, 0.1), got {r!r}")
    if not (np.isfinite(rtol) and 1e-14 <= rtol < 1e-3):
        raise ValueError(f"`rtol` must be in [1e-14, 1e-3), got {rtol!r}")
    if not (np.isfinite(tol) and 1e-12 <= tol < 1e-2):
        raise ValueError(f"`tol` must be in [1e-12, 1e-2), got {tol!r}")
    m = polish_fixed_point(system, x_min, "x_min")
    s = polish_fixed_point(system, x_saddle, "x_saddle")
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
    nu = float(np.min(-eig_m.real))
    path, ends = _descent(system, s, u / np.linalg.norm(u), m, lam, nu)
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
    return _general(
        system, m, s, A_m, A_s, lam, n=n, r_end=r_end, r_start=r_start, rtol=rtol, tol=tol
    )


def _general(system, m, s, A_m, A_s, lam, *, n, r_end, r_start, rtol, tol) -> Rate:
    from . import instanton  # the public solver (imported late: theory imports this module)

    d = system.dim
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
    delta, r0 = r_end * scale, r_start * scale
    Ms = A_s + 2.0 * D @ Ps
    ev, R = np.linalg.eig(Ms)
    arrival = np.real(R[:, int(np.argmin(np.abs(ev + lam)))])
    arrival /= np.linalg.norm(arrival)
    # the penalty rate of the Riccati equation's tangential part: the linear rates
    kappa = 10.0 * max(float(np.max(np.abs(np.linalg.eigvals(A_m)))), float(np.max(np.abs(ev))))
    inst = instanton(system, m, s, T=None, n=n, tol=1e-3)
    if arrival @ (inst.path[-2] - s) < 0:
        arrival = -arrival
    start = _Start(system, m, Pm)
    # the BVP ends 100 times closer to s than the Riccati integration, so that its end
    # condition's O(|x - s|²) error (which decays away from s) does not reach it
    sol = _continued_bvp(
        system, start, s, Ps, lam, arrival, inst.path, r0, 0.01 * delta, tol, scale
    )
    if sol.status != 0 or not np.all(np.isfinite(sol.y)):
        raise ValueError(
            "the instanton from `x_min` does not reach `x_saddle`: Hamilton's boundary value "
            f"problem from x_min to the saddle has no solution near the geometric instanton "
            f"(solve_bvp: {sol.message}; also the case when the least-action path is not "
            "an orbit of Hamilton's equations, e.g. when it slides along a steep layer of "
            "the drift, where the quasipotential is not smooth)"
        )
    mu = float(sol.p[1])
    if abs(mu) > 1e3 * tol:
        messages.append(f"the BVP's unfolding parameter is {mu:.1e}, not 0")
    states, T, stalled = _along(
        system, start, sol, s, kappa, 0.25 * scale, rtol, (2 * delta, delta), kappa / 10.0
    )
    if stalled:
        messages.append(
            "the Riccati integration along the instanton stalled (step size below round-off) "
            "and skipped part of it: ∇²V and the divergence integral are not trustworthy"
        )
    if len(states) < 2:
        raise ValueError(
            f"the instanton from `x_min` does not reach `x_saddle`: the BVP's path ends "
            f"{np.linalg.norm(sol.y[:d, -1] - s) / scale:.1e} |s - m| from it"
        )
    o = 2 * d + 1
    ends = []
    y = states[1]
    for z in states:
        P = z[o : o + d * d].reshape(d, d)
        r = float(np.linalg.norm(z[:d] - s))
        ends.append((z[-1] + _div_l(system, z[:d], P) / lam, r, P))
    (I2, r2, P2), (I1, r1, P1) = ends
    # the truncated integral plus its tail div l/λ_s, Richardson-extrapolated in |x - s|²
    integral = float((I1 * r2**2 - I2 * r1**2) / (r2**2 - r1**2))
    tail = float(_div_l(system, y[:d], P1) / lam)
    db = y[:d] - s
    barrier = float(y[2 * d] - 0.5 * db @ Ps @ db)
    # ∇²V(x) = ∇²V(s) + O(|x - s|): extrapolated linearly from the two ends to s
    P_s = (P1 * r2 - P2 * r1) / (r2 - r1)
    end_error = float(np.max(np.abs(P_s - Ps)) / np.max(np.abs(Ps)))
    if end_error > 1e-4:
        messages.append(
            f"∇²V along the instanton ends at {P1.tolist()}, not at the Riccati solution "
            f"∇²V(s) = {Ps.tolist()} (relative difference {end_error:.1e}): a degenerate "
            "saddle (two eigenvalues of Df(s) summing to 0) admits several"
        )
    det_ratio = abs(np.linalg.det(Ps)) / np.linalg.det(Pm)
    C = 2 * np.pi / lam * np.sqrt(det_ratio) * np.exp(integral)
    success = not messages
    path = np.concatenate([[m], sol.y[:d].T, [s]])
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
        message="; ".join(
            ["Bouchet–Reygner (non-gradient drift)" if success else "", *messages]
        ).strip("; "),
        diagnostics={
            "T": T,
            "riccati_residual": (res_m, res_s),
            "riccati_end_error": end_error,
            "tail": tail,
            "gmam_action": float(inst.action),
            "bvp_nodes": int(sol.x.size),
            "bvp_unfolding": mu,
            "arrival_direction": arrival,
            "path": path,
        },
    )
