"""Infinite-time instantons: geometric minimum action method (after Heymann & Vanden-Eijnden).

Minimising S_T over T too gives the geometric action of the curve alone,

    S[x] = 1/2 ∫ ( |x'|_{D^{-1}} |f(x)|_{D^{-1}} - <x', f(x)>_{D^{-1}} ) ds,

(AM-GM on 1/4 ∫ |xdot - f|^2: the optimal speed is |xdot| = |f|, i.e. H = 0). For f = -∇U,
D = I, an uphill curve costs U(x_end) - U(x_start), a downhill one nothing. The curve is
discretised by nodes, the action by the midpoint rule on each chord, minimised by L-BFGS-B
with the analytic gradient and redistributed to equal arc length between rounds. The
reported action integrates the geometric action along a cubic spline through the nodes
(Gauss–Legendre), whose error is second order in the node error.
"""

from __future__ import annotations

import numpy as np
from scipy.interpolate import CubicSpline
from scipy.optimize import minimize

from .._noether import charges_of
from ._initial_paths import initial_paths
from ._ranking import rank_candidates
from ._result import Instanton

_TINY = 1e-300


def _norm(V: np.ndarray, M: np.ndarray) -> np.ndarray:
    return np.sqrt(np.maximum(np.einsum("ki,ij,kj->k", V, M, V), 0.0))


def geometric_action(system, X: np.ndarray, grad: bool = False):
    """Midpoint-rule geometric action of the nodes X (n, d) and its gradient."""
    M = system.D_inv
    delta = np.diff(X, axis=0)
    m = 0.5 * (X[1:] + X[:-1])
    F = system.f(m, 0.0)
    a = _norm(delta, M)
    b = _norm(F, M)
    MD = delta @ M
    MF = F @ M
    S = 0.5 * np.sum(a * b - np.einsum("ki,ki->k", delta, MF))
    if not grad:
        return S
    dS_dd = 0.5 * (b[:, None] * MD / np.maximum(a, _TINY)[:, None] - MF)
    dS_dF = 0.5 * (a[:, None] * MF / np.maximum(b, _TINY)[:, None] - MD)
    J = system.jacobian(m, 0.0)
    dS_dm = np.einsum("kij,ki->kj", J, dS_dF)
    G = np.zeros_like(X)
    G[1:] += dS_dd + 0.5 * dS_dm
    G[:-1] += -dS_dd + 0.5 * dS_dm
    return S, G


def reparametrise(system, X: np.ndarray) -> np.ndarray:
    """Nodes redistributed to equal arc length (in the D^{-1} metric), same count."""
    ell = np.concatenate([[0.0], np.cumsum(_norm(np.diff(X, axis=0), system.D_inv))])
    keep = np.concatenate([[True], np.diff(ell) > 1e-14 * max(ell[-1], 1e-300)])
    if ell[-1] <= 0 or keep.sum() < 2:
        return X
    u = ell[keep] / ell[-1]
    u[-1] = 1.0
    spline = CubicSpline(u, X[keep], axis=0) if keep.sum() > 3 else None
    target = np.linspace(0.0, 1.0, X.shape[0])
    Y = (
        spline(target)
        if spline is not None
        else np.array([np.interp(target, u, c) for c in X[keep].T]).T
    )
    Y[0], Y[-1] = X[0], X[-1]
    return Y


def normal_hessian(system, X: np.ndarray, rel_step: float = 1e-5) -> np.ndarray:
    """Hessian of the discrete geometric action in the perturbations of the interior
    nodes normal to the path (in the Euclidean sense), by central differences of the
    analytic gradient: ((n - 2)(d - 1))^2.

    Tangential moves of the nodes only reparametrise the curve (near-zero modes of the
    discrete action); in the normal directions a minimum has a positive definite Hessian
    and a saddle path (e.g. Maier–Stein's x-axis for alpha > 4) a negative eigenvalue."""
    n, d = X.shape
    tangent = X[2:] - X[:-2]
    tangent /= np.maximum(np.linalg.norm(tangent, axis=1), _TINY)[:, None]
    # orthonormal complement of each tangent: the last d - 1 left singular vectors
    normals = np.linalg.svd(np.eye(d)[None] - tangent[:, :, None] * tangent[:, None, :])[0]
    normals = normals[:, :, : d - 1]  # projector's range: the normal space
    m = (n - 2) * (d - 1)
    Q = np.zeros(((n - 2) * d, m))
    for k in range(n - 2):
        Q[k * d : (k + 1) * d, k * (d - 1) : (k + 1) * (d - 1)] = normals[k]
    step = rel_step * max(float(np.ptp(X)), 1e-12)
    HQ = np.empty(((n - 2) * d, m))
    for j in range(m):
        dX = np.zeros_like(X)
        dX[1:-1] = step * Q[:, j].reshape(n - 2, d)
        gp = geometric_action(system, X + dX, grad=True)[1][1:-1].ravel()
        gm = geometric_action(system, X - dX, grad=True)[1][1:-1].ravel()
        HQ[:, j] = (gp - gm) / (2.0 * step)
    Hn = Q.T @ HQ
    return 0.5 * (Hn + Hn.T)


def classify(system, X: np.ndarray, saddle_tol: float = 1e-6) -> tuple[str, float]:
    """('minimum' or 'saddle', smallest eigenvalue of :func:`normal_hessian`): a saddle
    when that eigenvalue is below -saddle_tol times the largest diagonal entry."""
    Hn = normal_hessian(system, X)
    if Hn.size == 0:
        return "minimum", np.inf
    lam = float(np.linalg.eigvalsh(Hn)[0])
    scale = float(np.max(np.abs(np.diag(Hn))))
    return ("saddle" if lam < -saddle_tol * scale else "minimum"), lam


def _minimise(system, X, rounds: int, tol: float):
    x0, x1 = X[0].copy(), X[-1].copy()
    shape = (X.shape[0] - 2, system.dim)

    def fun(z):
        S, G = geometric_action(system, np.vstack([x0, z.reshape(shape), x1]), grad=True)
        return S, G[1:-1].ravel()

    history = []
    for _ in range(rounds):
        res = minimize(
            fun,
            X[1:-1].ravel(),
            jac=True,
            method="L-BFGS-B",
            options={"maxiter": 400, "ftol": 1e-16, "gtol": 1e-12, "maxcor": 30},
        )
        X = reparametrise(system, np.vstack([x0, res.x.reshape(shape), x1]))
        S = geometric_action(system, X)
        history.append(float(S))
        if len(history) > 2 and abs(history[-1] - history[-2]) <= tol * (1 + abs(S)):
            break
    return X, history


def spline_action(system, X: np.ndarray, order: int = 8) -> float:
    """Geometric action along the cubic spline through the (equidistributed) nodes."""
    u = np.linspace(0.0, 1.0, X.shape[0])
    spline = CubicSpline(u, X, axis=0)
    g, w = np.polynomial.legendre.leggauss(order)
    h = np.diff(u)
    uq = (u[:-1, None] + 0.5 * h[:, None] * (g[None] + 1)).ravel()
    wq = (0.5 * h[:, None] * w[None]).ravel()
    xq = spline(uq)
    dq = spline(uq, 1)
    F = system.f(xq, 0.0)
    M = system.D_inv
    integrand = _norm(dq, M) * _norm(F, M) - np.einsum("ki,ij,kj->k", dq, M, F)
    return float(0.5 * np.sum(wq * integrand))


def _timed(system, X: np.ndarray):
    """Times on a truncated window and momenta along an equidistributed path.

    dt/ds = |x'|/|f| (speed |xdot| = |f| on H = 0): t is finite between the interior
    nodes; the end nodes (fixed points) sit at t = -inf and +inf. p = 1/2 D^{-1}(xdot - f)
    with xdot = (|f|/|x'|) x'.
    """
    M = system.D_inv
    u = np.linspace(0.0, 1.0, X.shape[0])
    dX = CubicSpline(u, X, axis=0)(u, 1)
    F = system.f(X, 0.0)
    speed = _norm(F, M) / np.maximum(_norm(dX, M), _TINY)
    P = 0.5 * ((speed[:, None] * dX - F) @ M)
    m = 0.5 * (X[1:] + X[:-1])
    dt = _norm(np.diff(X, axis=0), M) / np.maximum(_norm(system.f(m, 0.0), M), _TINY)
    t = np.empty(X.shape[0])
    t[1:-1] = np.concatenate([[0.0], np.cumsum(dt[1:-1])])
    t[0], t[-1] = -np.inf, np.inf
    return t, P


def geometric(
    system, x0, x1, *, n, guesses, waypoints, n_random, amplitude, seed, tol, saddle_tol=1e-6
):
    """The T = None solver behind :func:`theory.instanton`."""
    if not system.autonomous:
        raise ValueError(
            "`T=None` (infinite time) needs an autonomous system; give a finite `T` or `t`"
        )
    if int(n) < 4:
        raise ValueError(f"`n` must be at least 4 for T=None, got {n!r}")
    s = np.linspace(0.0, 1.0, int(n) + 1)
    starts = initial_paths(
        system,
        x0,
        x1,
        s,
        guesses=guesses,
        waypoints=waypoints,
        n_random=n_random,
        amplitude=amplitude,
        seed=seed,
    )
    tol = max(float(tol), 1e-15)
    results = []
    for label, guess in starts:
        X, history = _minimise(system, guess, rounds=60, tol=tol)
        S = spline_action(system, X)
        t, P = _timed(system, X)
        ch = charges_of(system, X, P, s, at=0.0)
        converged = len(history) > 2 and abs(history[-1] - history[-2]) <= tol * (1 + abs(S))
        kind, lam = classify(system, X, saddle_tol) if system.dim > 1 else ("minimum", np.inf)
        results.append(
            Instanton(
                path=X,
                t=t,
                p=P,
                action=S,
                T=None,
                charges=ch,
                s=s,
                success=converged,
                message="converged (geometric MAM)" if converged else "not converged: raise n",
                diagnostics={
                    "rounds": len(history),
                    "chord_action": history[-1],
                    "history": history,
                    "n": int(n),
                    "kind": kind,
                    "hessian_min_eig": lam,
                },
                label=label,
            )
        )
    scale = max(float(np.ptp(np.vstack([r.path for r in results]))), 1e-12)
    return rank_candidates(results, scale)
