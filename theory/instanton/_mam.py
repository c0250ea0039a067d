"""The minimum action method (MAM): the discrete action minimised over the interior nodes.

The midpoint-rule action (:mod:`theory._action`) on a time grid (uniform or the user's,
e.g. log-spaced) is minimised by Newton's method with the banded Hessian
(:mod:`theory.instanton._newton`) when the system has an analytic Jacobian, else by
L-BFGS-B with its analytic gradient. The grid is refined by splitting the segments across
which the drift jumps (:func:`adapt`) and by halving (:func:`halve`).
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import OptimizeResult, minimize

from .._action import discrete_action, momentum
from ._newton import newton_discrete
from ._polish import galerkin_polish


def adapt(system, X, t, eta: float = 0.1, rounds: int = 12, lagrangian: str = "fw"):
    """Split the segments across which the drift jumps (|f(x_{k+1}) - f(x_k)| above
    ``eta`` times the largest |f| on the path) and re-minimise, until none is left.
    Returns (X, t, S, result of the last minimisation with ``nit`` summed over the
    rounds), or None when nothing needed splitting."""
    out, nit = None, 0
    for _ in range(rounds):
        F = system.f(X, t)
        norm = np.sqrt(np.einsum("ki,ij,kj->k", F, system.D_inv, F))
        jump = np.diff(F, axis=0)
        jump = np.sqrt(np.einsum("ki,ij,kj->k", jump, system.D_inv, jump))
        split = jump > eta * max(float(norm.max()), 1e-12)
        if not np.any(split):
            break
        tn = np.sort(np.concatenate([t, 0.5 * (t[1:] + t[:-1])[split]]))
        Xn = np.array([np.interp(tn, t, c) for c in X.T]).T
        X, S, res = minimise_discrete(system, Xn, tn, lagrangian)
        t = tn
        nit += int(res.nit)
        out = (X, t, S, OptimizeResult(success=res.success, nit=nit, message=res.message))
    return out


def minimise_discrete(system, X: np.ndarray, t: np.ndarray, lagrangian: str = "fw"):
    """The minimiser of the discrete action from X (endpoints fixed); returns (X, S, result)
    with result.success, .nit, .message.

    Another ``lagrangian`` (:func:`theory.instanton._elements.lagrangian_terms`): Newton
    on its midpoint rule (degree-1 Galerkin), analytic Jacobian required.

    Newton's method with the banded Hessian (:func:`theory.instanton._newton.newton_discrete`) when
    the system has an analytic Jacobian; L-BFGS-B (:func:`lbfgs_discrete`) otherwise, or
    first when Newton fails from X (then Newton polishes its result)."""
    if lagrangian != "fw":
        g = galerkin_polish(system, X, t, order=1, rtol=1e-14, lagrangian=lagrangian)
        msg = "Newton converged" if g.newton.success else "Newton stopped"
        return (
            g.x,
            g.action,
            OptimizeResult(success=g.newton.success, nit=g.newton.iterations, message=msg),
        )
    if system.jac is None:
        return lbfgs_discrete(system, X, t)
    r = newton_discrete(system, X, t)
    nit = r.iterations
    if not r.success:
        Xl, _, res = lbfgs_discrete(system, X, t)
        r = newton_discrete(system, Xl, t)
        nit += int(res.nit) + r.iterations
    msg = "Newton converged" if r.success else f"Newton stopped (decrement {r.decrement:.1e})"
    return r.X, r.S, OptimizeResult(success=r.success, nit=nit, message=msg)


def lbfgs_discrete(system, X: np.ndarray, t: np.ndarray, gtol: float = 1e-7, maxiter=400):
    """L-BFGS-B on the interior nodes of X (endpoints fixed); returns (X, S, result)."""
    d = system.dim
    x0, x1 = X[0].copy(), X[-1].copy()
    shape = (X.shape[0] - 2, d)

    def fun(z):
        Y = np.vstack([x0, z.reshape(shape), x1])
        S, G = discrete_action(system, Y, t, grad=True)
        return S, G[1:-1].ravel()

    res = minimize(
        fun,
        X[1:-1].ravel(),
        jac=True,
        method="L-BFGS-B",
        options={
            "maxiter": maxiter,
            "maxfun": 2 * maxiter,
            "ftol": 1e-15,
            "gtol": gtol,
            "maxcor": 10,
        },
    )
    Y = np.vstack([x0, res.x.reshape(shape), x1])
    return Y, float(res.fun), res


def node_momenta(system, X, t):
    """Node momenta from the discrete minimiser: average of the adjacent midpoint momenta."""
    pm = momentum(system, X, t, at="midpoints")
    P = np.empty_like(X)
    P[1:-1] = 0.5 * (pm[1:] + pm[:-1])
    P[0], P[-1] = pm[0], pm[-1]
    return P
