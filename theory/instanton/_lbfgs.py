"""Finite-time instantons at network size: preconditioned L-BFGS on the midpoint action.

The banded Newton of :mod:`theory.instanton._newton` and the Galerkin polish assemble a
dense (q+1)d x (q+1)d Hessian per element, O(n d^3) work and O(n d^2) memory: at
d = 256 one assembly of the degree-3 polish takes minutes and a gigabyte. Here only the
gradient is used, O(n d^2) per evaluation (a Jacobian per segment): the midpoint-rule
action

    S(X) = sum_k h_k/4 |(x_{k+1} - x_k)/h_k - f(m_k, tau_k)|^2_{D(tau_k)^{-1}}

(:func:`theory._action.discrete_action`, docs/conventions.md) is minimised over the
interior nodes by L-BFGS in the variables Y = L^T X R, where 1/2 Tri (x) D^{-1} is the
Hessian of the kinetic part sum_k |x_{k+1} - x_k|^2_{D^{-1}} / (4 h_k) (Tri the
tridiagonal of the weights 1/h_k, Tri / 2 = L L^T, D^{-1} = R R^T). In Y the kinetic
part has the identity as its Hessian, so the condition number no longer grows like n^2
(the grid's) but stays of order 1 + (T |Df| / pi)^2, and the iteration count does not
grow with n. A time-dependent noise scale d(t) is left out of the preconditioner (the
gradient is exact either way; only the speed would suffer).

The grid is doubled (linear interpolation of the minimiser as the start) until the
action changes by at most ``rtol`` relative: the midpoint rule converges as h^2, so the
last change is about 3/4 of the error of the coarser grid.
"""

from __future__ import annotations

import time

import numpy as np
from scipy.linalg import cholesky_banded, solve_banded, solve_triangular

from .._action import discrete_action
from .._inputs import as_point
from ._mam import node_momenta
from ._newton import discrete_charges
from ._result import Instanton

# pairs kept by L-BFGS
MEMORY = 20


class _KineticPreconditioner:
    """The change of variables Y = L^T X R of the interior nodes X (m, d) on the grid t
    (module docstring), and its inverse and adjoint."""

    def __init__(self, t: np.ndarray, D_inv: np.ndarray):
        w = 1.0 / np.diff(t)  # weights 1/h_k of the n segments; m = n - 1 interior nodes
        upper = np.zeros((2, w.size - 1))  # Tri / 2 in upper banded form
        upper[1] = 0.5 * (w[:-1] + w[1:])
        upper[0, 1:] = -0.5 * w[1:-1]
        self.Lt = cholesky_banded(upper)  # upper factor U = L^T, bands (0, 1)
        self.L = np.zeros_like(self.Lt)  # L = U^T, bands (1, 0)
        self.L[0] = self.Lt[1]
        self.L[1, :-1] = self.Lt[0, 1:]
        self.R = np.linalg.cholesky(D_inv)  # D^{-1} = R R^T, R lower
        self.diagonal = np.count_nonzero(D_inv - np.diag(np.diag(D_inv))) == 0

    def _right(self, Z, trans: str):
        """Z R^{-1} (trans "T") or Z R^{-T} (trans "N"); a scaling when D is diagonal."""
        if self.diagonal:
            return Z / np.diag(self.R)
        return solve_triangular(self.R, Z.T, lower=True, trans=trans).T

    def to_x(self, Y):
        """X = L^{-T} Y R^{-1}."""
        return self._right(solve_banded((0, 1), self.Lt, Y), "T")

    def grad_to_y(self, G):
        """dS/dY = L^{-1} G R^{-T} from dS/dX = G."""
        return self._right(solve_banded((1, 0), self.L, G), "N")

    def to_y(self, X):
        """Y = L^T X R."""
        XR = X @ self.R
        Y = self.Lt[1][:, None] * XR
        Y[:-1] += self.Lt[0, 1:][:, None] * XR[1:]
        return Y


def lbfgs(fun, y, *, gtol: float, maxiter: int, memory: int = MEMORY):
    """Minimise ``fun(y) -> (value, gradient)`` by L-BFGS (two-loop recursion, initial
    scaling s.y / y.y, Armijo backtracking from the unit step), O(memory * y.size) work
    per iteration. Stops when max |gradient| <= gtol ('gradient'), when no step
    decreases the value, or three in a row decrease it by less than 1e-15 |value|
    without halving the gradient ('round-off': the value's round-off hides the
    decrease; within it, steps that shrink the gradient are taken), or after ``maxiter``
    iterations ('maxiter'). That round-off rule is why this is not scipy's L-BFGS-B,
    which stops at its first failed line search: on the oscillator ring at d = 64-256
    (benchmarks/instanton_network.py) it left the U(1) charge's drift at 1-2e-6 of its
    terms, ``Charges.holds(1e-6)`` false, where this loop meets it.
    Returns (y, value, gradient, iterations, evaluations, stop)."""
    f, g = fun(y)
    pairs, nfev, flat = [], 1, 0
    for it in range(1, maxiter + 1):  # noqa: B007 - reported
        if np.max(np.abs(g)) <= gtol:
            return y, f, g, it - 1, nfev, "gradient"
        q = g.copy()
        alphas = []
        for s_, y_, rho in reversed(pairs):
            a = rho * np.dot(s_, q)
            q -= a * y_
            alphas.append(a)
        if pairs:
            s_, y_, _ = pairs[-1]
            q *= np.dot(s_, y_) / np.dot(y_, y_)
        for (s_, y_, rho), a in zip(pairs, reversed(alphas), strict=True):
            q += s_ * (a - rho * np.dot(y_, q))
        step, slope = -q, -np.dot(g, q)
        if slope >= 0:  # not a descent direction (round-off in the pairs): restart
            pairs, step, slope = [], -g, -np.dot(g, g)
        lam = 1.0
        for _ in range(40):
            fn, gn = fun(y + lam * step)
            nfev += 1
            if fn <= f + 1e-4 * lam * slope:
                break
            # near the minimum the value's round-off hides the decrease: a step that
            # keeps the value within it and shrinks the gradient is taken
            if fn <= f + 1e-14 * abs(f) and np.max(np.abs(gn)) < np.max(np.abs(g)):
                break
            lam *= 0.5
        else:
            return y, f, g, it, nfev, "round-off"
        s_, y_ = lam * step, gn - g
        sy = np.dot(s_, y_)
        if sy > 1e-300:  # curvature condition: keep the pair
            pairs.append((s_, y_, 1.0 / sy))
            pairs = pairs[-memory:]
        shrunk = np.max(np.abs(gn)) < 0.5 * np.max(np.abs(g))
        flat = flat + 1 if f - fn <= 1e-15 * abs(f) and not shrunk else 0
        y, f, g = y + s_, fn, gn
        if flat == 3:
            return y, f, g, it, nfev, "round-off"
    return y, f, g, maxiter, nfev, "maxiter"


def lbfgs_midpoint(system, X, t, *, gtol: float = 1e-12, maxiter: int = 20000):
    """Minimise the midpoint action over the interior nodes of X (n, d) on the grid t by
    L-BFGS in the preconditioned variables (module docstring). Returns (X, S, iterations,
    stop) with stop as in :func:`lbfgs`."""
    X = np.array(X, dtype=float)
    t = np.ascontiguousarray(t, dtype=float)
    pre = _KineticPreconditioner(t, system.D_inv)
    shape = X[1:-1].shape

    def fun(y):
        X[1:-1] = pre.to_x(y.reshape(shape))
        S, G = discrete_action(system, X, t, grad=True)
        return S, pre.grad_to_y(G[1:-1]).ravel()

    y, S, _, nit, _, stop = lbfgs(fun, pre.to_y(X[1:-1]).ravel(), gtol=gtol, maxiter=maxiter)
    X[1:-1] = pre.to_x(y.reshape(shape))
    return X, float(discrete_action(system, X, t)), nit, stop


def lbfgs_instanton(
    system,
    x_start,
    x_end,
    T: float,
    *,
    n: int = 100,
    t0: float = 0.0,
    guess=None,
    rtol: float = 1e-6,
    max_nodes: int = 20000,
    gtol: float = 1e-12,
) -> Instanton:
    """The finite-T instanton from ``x_start`` to ``x_end`` by preconditioned L-BFGS on
    the midpoint action (module docstring), for systems too large for the banded Newton
    of :func:`theory.instanton` (d of a few hundred).

    Starts from ``guess`` (points (m, d) at uniform times, interpolated) or the straight
    line on a uniform grid of ``n`` segments, and doubles the grid until the action
    changes by at most ``rtol`` relative (``success`` only then, else the message says
    by how much it changed at ``max_nodes``). The charges are the discrete Noether
    charges at the nodes (:func:`theory.instanton._newton.discrete_charges`): exactly
    constant at an exact discrete minimiser for linear symmetries, so their drift
    measures how far the minimiser is from one. A local method: the minimum found is
    the one the start leads to (no multi-start, no saddle test).
    """
    if T is None or not (np.isfinite(T) and T > 0):
        raise ValueError(f"`T` must be a positive finite duration, got {T!r}")
    if n < 2 or max_nodes < n:
        raise ValueError(f"need 2 <= n <= max_nodes, got n = {n}, max_nodes = {max_nodes}")
    a = as_point(system, x_start, "x_start")
    b = as_point(system, x_end, "x_end")
    t = t0 + T * np.linspace(0.0, 1.0, n + 1)
    if guess is None:
        X = a + np.linspace(0.0, 1.0, n + 1)[:, None] * (b - a)
    else:
        g = np.asarray(guess, dtype=float)
        if g.ndim != 2 or g.shape[1] != system.dim or g.shape[0] < 2:
            raise ValueError(f"`guess` must be points (m, {system.dim}), got {g.shape}")
        u = np.linspace(0.0, 1.0, g.shape[0])
        X = np.column_stack([np.interp(t, t0 + T * u, c) for c in g.T])
        X[0], X[-1] = a, b
    start = time.perf_counter()
    history, iterations, stops, change = [], [], [], np.inf
    while True:
        X, S, nit, stop = lbfgs_midpoint(system, X, t, gtol=gtol)
        history.append(S)
        iterations.append(nit)
        stops.append(stop)
        if len(history) > 1:
            change = abs(history[-1] - history[-2]) / max(abs(history[-1]), 1e-300)
        if change <= rtol or 2 * (t.size - 1) > max_nodes:
            break
        tn = np.linspace(t[0], t[-1], 2 * (t.size - 1) + 1)
        X = np.column_stack([np.interp(tn, t, c) for c in X.T])
        t = tn
    ok = change <= rtol
    message = (
        f"converged: grid halving changed the action by {change:.1e} (relative)"
        if ok
        else f"not converged: the action changed by {change:.1e} under the last grid halving "
        f"(rtol {rtol:g}) at {t.size - 1} segments (max_nodes {max_nodes})"
    )
    return Instanton(
        path=X,
        t=t,
        p=node_momenta(system, X, t),
        action=S,
        T=float(T),
        charges=discrete_charges(system, X, t),
        success=ok,
        message=message,
        diagnostics={
            "method": "lbfgs",
            "actions": history,
            "lbfgs_iterations": iterations,
            "lbfgs_stops": stops,
            "precision": change,
            "seconds": time.perf_counter() - start,
        },
        label="straight" if guess is None else "guess",
    )
