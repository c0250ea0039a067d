"""Hamilton's equations of the Freidlin–Wentzell action and an integrator for them.

    xdot = f(x, t) + 2 D(t) p,    pdot = -Df(x, t)^T p,    sdot = p^T D(t) p

(``s`` accumulates the action: on a solution, 1/4 (xdot - f)^T D^{-1} (xdot - f) = p^T D p).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.integrate import solve_ivp

from ._display import vector
from ._inputs import as_point


def hamilton_rhs(system, t, Y: np.ndarray) -> np.ndarray:
    """Vectorised right-hand side for states Y (2d + 1, m) = (x, p, s) at times t (m,)."""
    d = system.dim
    X = np.ascontiguousarray(Y[:d].T)
    P = Y[d : 2 * d].T
    ts = np.broadcast_to(np.asarray(t, dtype=float), (X.shape[0],))
    f = system.f(X, ts)
    J = system.jacobian(X, ts)
    sched = system.diffusion_scale(ts)[:, None]
    DP = sched * (P @ system.D)
    out = np.empty_like(Y, dtype=float)
    out[:d] = (f + 2.0 * DP).T
    out[d : 2 * d] = -np.einsum("kij,ki->jk", J, P)
    out[2 * d] = np.einsum("ki,ki->k", P, DP)
    return out


def drift_curvature(system, X: np.ndarray, ts: np.ndarray, W: np.ndarray) -> np.ndarray:
    """K (m, d, d) with K_k[j, l] = sum_i W_k[i] d^2 f_i / dx_j dx_l at the points X (m, d),
    by central differences of the analytic Jacobian (step 1e-6 max(1, |x_l|)),
    symmetrised."""
    m, d = X.shape
    K = np.empty((m, d, d))
    for col in range(d):
        step = 1e-6 * np.maximum(1.0, np.abs(X[:, col]))
        Xp = X.copy()
        Xp[:, col] += step
        Xm = X.copy()
        Xm[:, col] -= step
        dJ = (system.jacobian(Xp, ts) - system.jacobian(Xm, ts)) / (2.0 * step)[:, None, None]
        K[:, :, col] = np.einsum("ki,kij->kj", W, dJ)
    return 0.5 * (K + K.transpose(0, 2, 1))


def hamilton_jac(system, t, Y: np.ndarray) -> np.ndarray:
    """Jacobian (2d + 1, 2d + 1, m) of :func:`hamilton_rhs` in (x, p, s), for
    :func:`scipy.integrate.solve_bvp`'s ``fun_jac``:

        d xdot/dx = Df,   d xdot/dp = 2 D(t),   d pdot/dx = -sum_i p_i d^2 f_i,
        d pdot/dp = -Df^T,   d sdot/dp = 2 D(t) p   (all others 0).

    The drift's curvature comes from :func:`drift_curvature` (needs ``system.jac``)."""
    d = system.dim
    X = np.ascontiguousarray(Y[:d].T)
    P = np.ascontiguousarray(Y[d : 2 * d].T)
    ts = np.ascontiguousarray(np.broadcast_to(np.asarray(t, dtype=float), (X.shape[0],)))
    J = system.jacobian(X, ts)
    sched = system.diffusion_scale(ts)
    out = np.zeros((2 * d + 1, 2 * d + 1, X.shape[0]))
    out[:d, :d] = J.transpose(1, 2, 0)
    out[:d, d : 2 * d] = 2.0 * system.D[:, :, None] * sched
    out[d : 2 * d, :d] = -drift_curvature(system, X, ts, P).transpose(1, 2, 0)
    out[d : 2 * d, d : 2 * d] = -J.transpose(2, 1, 0)
    out[2 * d, d : 2 * d] = 2.0 * sched * (P @ system.D).T
    return out


@dataclass(frozen=True)
class HamiltonFlow:
    """A solution of Hamilton's equations: times (n,), x (n, d), p (n, d), action s (n,)
    accumulated from the start, and solve_ivp's status fields."""

    t: np.ndarray
    x: np.ndarray
    p: np.ndarray
    s: np.ndarray
    success: bool
    message: str

    def __repr__(self) -> str:
        n, d = self.x.shape
        return "\n".join(
            [
                f"HamiltonFlow(success={self.success}, {n} points, d={d},"
                f" t in [{self.t[0]:.6g}, {self.t[-1]:.6g}])",
                f"  from {vector(self.x[0])} to {vector(self.x[-1])}",
                f"  action {self.s[-1]:.10g}",
                f"  message: {self.message}",
            ]
        )

    def to_frame(self) -> pd.DataFrame:
        """Tidy frame: one row per time with x_i, p_i and the accumulated action."""
        d = self.x.shape[1]
        cols = {"t": self.t}
        cols.update({f"x{i}": self.x[:, i] for i in range(d)})
        cols.update({f"p{i}": self.p[:, i] for i in range(d)})
        cols["action"] = self.s
        return pd.DataFrame(cols)


def hamilton_flow(
    system,
    x0,
    p0,
    t_span: tuple[float, float],
    t_eval=None,
    *,
    rtol: float = 1e-11,
    atol: float = 1e-12,
    method: str = "DOP853",
) -> HamiltonFlow:
    """Integrate Hamilton's equations from (x0, p0) (shooting), forward or backward in time.

    xdot = f(x, t) + 2 D(t) p, pdot = -Df(x, t)^T p (docs/conventions.md, section 3), with
    the action s(t) = ∫ p^T D(t) p dt accumulated alongside. Shooting from a point of an
    instanton with its (x, p) retraces it (over times short enough that the exponential
    instability of the flow stays below the tolerance).

    Parameters
    ----------
    system
        The :class:`~simulate.System`.
    x0, p0
        Initial point and momentum (d,).
    t_span
        (t_start, t_end); t_end < t_start integrates backward.
    t_eval
        Times at which to store the solution (default: the solver's steps).
    rtol, atol, method
        Passed to :func:`scipy.integrate.solve_ivp`.

    Returns
    -------
    HamiltonFlow
    """
    d = system.dim
    x0 = as_point(system, x0, "x0")
    p0 = as_point(system, p0, "p0")
    if len(t_span) != 2 or not np.all(np.isfinite(t_span)) or t_span[0] == t_span[1]:
        raise ValueError(f"`t_span` must be two distinct finite times, got {t_span!r}")

    def rhs(t, y):
        return hamilton_rhs(system, np.array([t]), y[:, None])[:, 0]

    y0 = np.concatenate([x0, p0, [0.0]])
    sol = solve_ivp(rhs, t_span, y0, method=method, t_eval=t_eval, rtol=rtol, atol=atol)
    return HamiltonFlow(
        t=sol.t,
        x=sol.y[:d].T,
        p=sol.y[d : 2 * d].T,
        s=sol.y[2 * d],
        success=bool(sol.success),
        message=str(sol.message),
    )
