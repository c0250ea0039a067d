"""Hamilton's boundary value problem by collocation, and its continuation in a parameter.

:func:`scipy.integrate.solve_bvp` on Hamilton's equations

    xdot = f + 2 D(t) p,   pdot = -Df^T p,   sdot = p^T D(t) p,

with x(t0) = x_start, x(t0 + T) = x_end, s(t0) = 0, seeded by a MAM minimiser. Collocation
with an adaptive mesh resolves steep drifts and conserves the charges to the BVP
tolerance; s(t0 + T) is the action. The fallback of the Galerkin polish, and the solver
of a continuation (:func:`continue_bvp`, :func:`homotopy`).
"""

from __future__ import annotations

import warnings

import numpy as np
from scipy.integrate import solve_bvp

from .._hamilton import hamilton_jac, hamilton_rhs
from ._mam import node_momenta


def solve_hamilton_bvp(system, x0, x1, t, Y0, *, tol, max_nodes):
    """:func:`scipy.integrate.solve_bvp` on Hamilton's equations for y = (x, p, s) from
    the guess Y0 (2d + 1, m) on the mesh t, with x(t0) = x0, x(t1) = x1, s(t0) = 0, and
    the analytic Jacobians (:func:`theory._hamilton.hamilton_jac` when the system has an
    analytic drift Jacobian; solve_bvp's finite differences otherwise)."""
    d = system.dim
    ea = np.zeros((2 * d + 1, 2 * d + 1))
    eb = np.zeros((2 * d + 1, 2 * d + 1))
    ea[np.arange(d), np.arange(d)] = 1.0
    ea[2 * d, 2 * d] = 1.0
    eb[d + np.arange(d), np.arange(d)] = 1.0

    def bc(ya, yb):
        return np.concatenate([ya[:d] - x0, yb[:d] - x1, ya[2 * d : 2 * d + 1]])

    fun_jac = None if system.jac is None else (lambda tt, yy: hamilton_jac(system, tt, yy))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return solve_bvp(
            lambda tt, yy: hamilton_rhs(system, tt, yy),
            bc,
            t,
            Y0,
            fun_jac=fun_jac,
            bc_jac=lambda ya, yb: (ea, eb),
            tol=tol,
            bc_tol=tol,
            max_nodes=max_nodes,
        )


def polish_bvp(system, X, t, *, tol=1e-9, max_nodes=200000):
    """Solve Hamilton's BVP from the discrete path X on grid t; returns scipy's solution."""
    P = node_momenta(system, X, t)
    seg = np.einsum("ki,ij,kj->k", P[:-1], system.D, P[:-1])
    s = np.concatenate([[0.0], np.cumsum(seg * np.diff(t))])
    Y0 = np.vstack([X.T, P.T, s[None]])
    return solve_hamilton_bvp(system, X[0], X[-1], t, Y0, tol=tol, max_nodes=max_nodes)


def remesh(sol, m: int, uniform: float = 0.3) -> tuple[np.ndarray, np.ndarray]:
    """``m`` nodes equidistributing the (x, p) arc length of a BVP solution (a fraction
    ``uniform`` spread evenly in time), and the solution there: solve_bvp only adds nodes,
    so a continuation that reuses its meshes grows them without bound."""
    tf = sol.x
    d2 = sol.y.shape[0] - 1
    mon = np.sqrt(1.0 + np.sum(sol.yp[:d2] ** 2, axis=0))
    c = np.concatenate([[0.0], np.cumsum(0.5 * (mon[1:] + mon[:-1]) * np.diff(tf))])
    c = (1.0 - uniform) * c / c[-1] + uniform * (tf - tf[0]) / (tf[-1] - tf[0])
    tn = np.interp(np.linspace(0.0, 1.0, int(m)), c, tf)
    tn[0], tn[-1] = tf[0], tf[-1]
    tn = np.unique(tn)
    return tn, sol.sol(tn)


def continue_bvp(systems, sol, x0, x1, *, tol=1e-7, max_nodes=200000, nodes=4000):
    """Warm-start Hamilton's BVP on each system in turn from the previous solution
    (remeshed to ``nodes`` points). Returns (solution, index of the last system solved,
    record); stops at the first failure, returning the last converged solution."""
    record = []
    last = -1
    for i, system in enumerate(systems):
        tm, ym = remesh(sol, nodes)
        new = solve_hamilton_bvp(system, x0, x1, tm, ym, tol=tol, max_nodes=max_nodes)
        record.append(
            (repr(system), int(new.status), int(new.x.size), float(new.y[2 * x0.size, -1]))
        )
        if new.status != 0:
            break
        sol, last = new, i
    return sol, last, record


def homotopy(system, name: str, start: float, factor: float = 0.9) -> list:
    """Systems for a continuation in one parameter: ``name`` from ``start`` to the system's
    own value geometrically (ratio ``factor`` per step, or its inverse), the system last.

    Example: ``instanton(s, a, b, T=40, continuation=homotopy(s, "n", 0.3))`` solves a
    smooth ``decision_memory`` first and sharpens its switches step by step."""
    target = float(system.params[system.param_names.index(name)])
    if start <= 0 or target <= 0:
        raise ValueError("`homotopy` steps geometrically: values must be positive")
    ratio = factor if target < start else 1.0 / factor
    values = []
    v = float(start)
    while (v - target) * (start - target) > 0 and abs(np.log(v / target)) > 1e-12:
        values.append(v)
        v *= ratio
    return [system.with_params(**{name: v}) for v in values] + [system]


def replace_status(sol, status: int, message: str):
    """A copy of a solve_bvp result with another status and message."""
    out = type(sol)(sol)
    out.status, out.message = status, message
    return out
