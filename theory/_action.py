"""Freidlin–Wentzell action, conjugate momentum and quasi-energy of a path.

Conventions (docs/conventions.md, sections 1-3): dX = f(X, t) dt + sqrt(2 eps D(t)) dW
with D(t) = d(t) D,

    S_T[x] = 1/4 ∫ (xdot - f)^T D(t)^{-1} (xdot - f) dt,
    p      = 1/2 D(t)^{-1} (xdot - f),
    H      = p^T D(t) p + p^T f.

The discretisation used by the instanton solver is the midpoint rule on any time grid:
segment k has velocity v_k = (x_{k+1} - x_k)/dt_k, midpoint m_k and time tau_k, and
contributes dt_k/4 (v_k - f(m_k, tau_k))^T D(tau_k)^{-1} (v_k - f(m_k, tau_k)).
"""

from __future__ import annotations

import numpy as np

from ._inputs import as_path, as_times
from ._kernels import action_and_gradient, functions

_EMPTY = np.empty((0, 0))


def _segments(system, X: np.ndarray, t: np.ndarray):
    """Midpoint quantities of each segment: dt, v, m, tau, f(m, tau), d(tau)."""
    dt = np.diff(t)
    v = np.diff(X, axis=0) / dt[:, None]
    m = 0.5 * (X[1:] + X[:-1])
    tau = 0.5 * (t[1:] + t[:-1])
    return dt, v, m, tau, system.f(m, tau), system.diffusion_scale(tau)


def discrete_action(system, X: np.ndarray, t: np.ndarray, grad: bool = False):
    """Midpoint-rule action of the nodes ``X`` (n, d) on the grid ``t`` and, with
    ``grad``, its gradient with respect to every node (n, d).

    With r_k = v_k - f(m_k) and g_k = dt_k/2 D_k^{-1} r_k = dt_k p_k,
    dS/dx_{k+1} += g_k/dt_k - J_k^T g_k/2 and dS/dx_k += -g_k/dt_k - J_k^T g_k/2.

    Systems with an analytic Jacobian use one compiled pass (:mod:`theory._kernels`).
    """
    if system.jac is not None:
        Xc = np.ascontiguousarray(X, dtype=float)
        G = np.empty_like(Xc) if grad else _EMPTY
        S = action_and_gradient(
            *functions(system),
            Xc,
            np.ascontiguousarray(t, dtype=float),
            system.params,
            np.ascontiguousarray(system.D_inv),
            bool(grad),
            G,
        )
        return (S, G) if grad else S
    dt, v, m, tau, fm, dm = _segments(system, X, t)
    r = v - fm
    Mr = (r @ system.D_inv) / dm[:, None]  # D(tau)^{-1} r (D_inv symmetric)
    S = 0.25 * np.sum(dt * np.einsum("ki,ki->k", r, Mr))
    if not grad:
        return S
    g = 0.5 * dt[:, None] * Mr
    J = system.jacobian(m, tau)
    JTg = np.einsum("kij,ki->kj", J, g)
    G = np.zeros_like(X)
    G[1:] += g / dt[:, None] - 0.5 * JTg
    G[:-1] += -g / dt[:, None] - 0.5 * JTg
    return S, G


def action(system, path, t) -> float:
    """Freidlin–Wentzell action of a path on a time grid (midpoint rule).

    S_T[x] = 1/4 ∫ (xdot - f(x, t))^T D(t)^{-1} (xdot - f(x, t)) dt, with D(t) = d(t) D,
    discretised on each segment [t_k, t_{k+1}] at its midpoint (second order on any grid,
    uniform or not). The path's probability is ~ exp(-S/eps).

    Parameters
    ----------
    system
        The :class:`~simulate.System`.
    path
        Points (n, d) at the times ``t`` (a 1-D array for d = 1).
    t
        Strictly increasing times (n,).

    Returns
    -------
    float
        The action S.

    Examples
    --------
    >>> import numpy as np
    >>> from simulate import zoo
    >>> from theory import action
    >>> t = np.linspace(0.0, 1.0, 41)
    >>> x = 0.5 - 1.5 * t  # the paper's drift-diffusion path, v = 0.1, sigma = 1
    >>> round(action(zoo.get("drift_diffusion"), x, t), 6)  # (1.6^2 sigma^2 / 2) T
    1.28
    """
    X = as_path(system, path)
    return float(discrete_action(system, X, as_times(t, X.shape[0])))


def momentum(system, path, t, *, at: str = "nodes") -> np.ndarray:
    """Conjugate momentum p = 1/2 D(t)^{-1} (xdot - f(x, t)) along a path.

    Parameters
    ----------
    system, path, t
        As in :func:`action`.
    at
        ``"nodes"``: at every point of the path, xdot by second-order differences
        (``numpy.gradient``, any grid); ``"midpoints"``: on each segment, xdot the
        segment's velocity and f at its midpoint (the momentum of the discrete action,
        shape (n - 1, d)).

    Returns
    -------
    numpy.ndarray
        p, shape (n, d) or (n - 1, d).
    """
    X = as_path(system, path)
    t = as_times(t, X.shape[0])
    if at == "midpoints":
        dt, v, m, tau, fm, dm = _segments(system, X, t)
        return 0.5 * ((v - fm) @ system.D_inv) / dm[:, None]
    if at != "nodes":
        raise ValueError(f"`at` must be 'nodes' or 'midpoints', got {at!r}")
    edge = 2 if X.shape[0] > 2 else 1
    xdot = np.gradient(X, t, axis=0, edge_order=edge)
    f = system.f(X, t)
    return 0.5 * ((xdot - f) @ system.D_inv) / system.diffusion_scale(t)[:, None]


def hamiltonian(system, x, p, t=0.0) -> np.ndarray | float:
    """Quasi-energy H(x, p, t) = p^T D(t) p + p^T f(x, t).

    Conserved along instantons of autonomous systems (f and D independent of t).

    Parameters
    ----------
    system
        The :class:`~simulate.System`.
    x, p
        A point and momentum (d,) or arrays of them (n, d).
    t
        A time or times (n,).

    Returns
    -------
    float or numpy.ndarray
        H, a float for one point, else (n,).
    """
    X = _points(system, x, "x")
    P = _points(system, p, "p")
    if X.shape != P.shape:
        raise ValueError(f"`x` and `p` must have the same shape, got {X.shape} and {P.shape}")
    single = np.ndim(x) == 0 or (np.ndim(x) == 1 and system.dim > 1)
    ts = np.broadcast_to(np.asarray(t, dtype=float), (X.shape[0],))
    f = system.f(X, ts)
    d = system.diffusion_scale(ts)
    H = d * np.einsum("ki,ij,kj->k", P, system.D, P) + np.einsum("ki,ki->k", P, f)
    return float(H[0]) if single else H


def _points(system, x, what: str) -> np.ndarray:
    """Points as (n, d): a point (d,), points (n, d), or for d = 1 a scalar or (n,)."""
    arr = np.asarray(x, dtype=float)
    if system.dim == 1 and arr.ndim <= 1:
        arr = arr.reshape(-1, 1)
    arr = np.atleast_2d(arr)
    if arr.ndim != 2 or arr.shape[1] != system.dim:
        raise ValueError(f"`{what}` must have shape (n, {system.dim}), got {np.shape(x)}")
    return arr
