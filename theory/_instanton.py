"""Finite-time instantons: minimum action method (MAM) polished to the continuum instanton.

1. MAM: the midpoint-rule action (see :mod:`theory._action`) on a time grid (uniform or
   the user's, e.g. log-spaced) is minimised over the interior nodes by L-BFGS-B with its
   analytic gradient (Newton with the banded Hessian when the system has an analytic
   Jacobian, :mod:`theory._newton`), from several initial paths.
2. Polish (systems with an analytic Jacobian): Newton on a degree-3 Galerkin
   discretisation of the action (:mod:`theory._galerkin`) from the MAM minimiser on its
   grid; for autonomous systems re-timed at one energy and refined where H jumps until H
   is conserved, and halved until the action is converged. Where that fails, the MAM grid
   is split where the drift jumps, then halved (``refine`` times, its grid convergence
   measured), and the polish retried after each refinement. Where it still fails (or
   without a Jacobian), the MAM minimiser seeds
   :func:`scipy.integrate.solve_bvp` on Hamilton's equations
   xdot = f + 2 D(t) p, pdot = -Df^T p, sdot = p^T D(t) p with x(t0) = x_start,
   x(t0 + T) = x_end, s(t0) = 0. Collocation with an adaptive mesh resolves steep drifts
   and conserves the charges to the BVP tolerance; s(t0 + T) is the action.
3. Distinct minima are merged (same action and path) and sorted by action.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field, replace
from types import SimpleNamespace

import numpy as np
import pandas as pd
from scipy.integrate import solve_bvp
from scipy.optimize import OptimizeResult, minimize

from ._action import discrete_action, momentum
from ._checks import as_point, as_times
from ._elements import lagrangian_terms
from ._galerkin import (
    energy_adaptive,
    galerkin_hessian,
    galerkin_polish,
)
from ._guesses import initial_paths
from ._hamilton import hamilton_jac, hamilton_rhs
from ._newton import banded_min_eigenvalue, has_negative_curvature, newton_discrete
from ._noether import Charges, charges


@dataclass(frozen=True)
class Instanton:
    """A most likely path (a local minimum of the action) and its charges.

    Attributes
    ----------
    path : numpy.ndarray
        Points (m, d).
    t : numpy.ndarray or None
        Times (m,) (for T = None: a truncated time window over the interior of the path).
    p : numpy.ndarray
        Conjugate momenta p = 1/2 D^{-1} (xdot - f) at the points (m, d).
    action : float
        S = 1/4 ∫ (xdot - f)^T D^{-1} (xdot - f) dt (T = None: the geometric action).
    T : float or None
        Duration; None for the infinite-time instanton.
    charges : Charges
        H and the generators' charges along the path, with their drifts.
    s : numpy.ndarray or None
        Normalised arc length in [0, 1] (T = None).
    success, message
        Whether the solver converged, and how.
    diagnostics : dict
        Convergence record (actions per refinement, BVP residuals, iterations, ...).
    minima : tuple of Instanton
        Every distinct converged local minimum found, sorted by action (the first is this
        one). A candidate counts as a minimum when the Hessian of the discrete action
        whose stationary point it is (the Galerkin action where the polish converged,
        else the MAM's) has no eigenvalue below -saddle_tol times its largest diagonal
        entry (``diagnostics["kind"]``; a saddle's ``diagnostics["hessian_min_eig"]`` is
        the negative eigenvalue).
    label : str
        Which initial path led here.
    saddles : tuple of Instanton
        The critical paths found that are not minima (e.g. a path held on a symmetry axis
        by a symmetric start). Finite T: negative eigenvalue of the discrete action's
        Hessian; T = None: of the geometric action's Hessian in the perturbations normal to
        the path (:func:`theory._gmam.classify`).
    unconverged : tuple of Instanton
        Candidates whose solve did not converge (``success`` False, see ``message``) and
        that match no converged one: kept for inspection, never counted as minima while
        any candidate converged.
    """

    path: np.ndarray
    t: np.ndarray | None
    p: np.ndarray
    action: float
    T: float | None
    charges: Charges | None
    s: np.ndarray | None = None
    success: bool = True
    message: str = ""
    diagnostics: dict = field(default_factory=dict)
    minima: tuple = ()
    label: str = ""
    saddles: tuple = ()
    unconverged: tuple = ()

    def to_frame(self) -> pd.DataFrame:
        """Tidy frame: one row per (minimum, point) with rank, action, t, s, x_i, p_i and
        the charges."""
        frames = []
        for rank, m in enumerate(self.minima or (self,)):
            d = m.path.shape[1]
            cols = {"minimum": rank, "label": m.label, "action": m.action}
            n = m.path.shape[0]
            cols["t"] = m.t if m.t is not None and m.t.size == n else np.full(n, np.nan)
            cols["s"] = m.s if m.s is not None else np.full(n, np.nan)
            cols.update({f"x{i}": m.path[:, i] for i in range(d)})
            cols.update({f"p{i}": m.p[:, i] for i in range(d)})
            if m.charges is not None and m.charges.t.size == n:
                cols.update(m.charges.values)
            frames.append(pd.DataFrame(cols))
        return pd.concat(frames, ignore_index=True)


def _grid(system, T, n, t, t0) -> np.ndarray:
    if t is not None:
        t = np.asarray(t, dtype=float)
        return as_times(t, t.shape[0] if t.ndim == 1 else -1, "t")
    if not (np.isfinite(T) and T > 0):
        raise ValueError(f"`T` must be positive and finite (or None), got {T!r}")
    if int(n) < 2:
        raise ValueError(f"`n` must be at least 2, got {n!r}")
    if t0 is None:
        t0 = system.t_span[0] if system.t_span is not None else 0.0
    return float(t0) + np.linspace(0.0, float(T), int(n) + 1)


def _halve(t: np.ndarray) -> np.ndarray:
    out = np.empty(2 * t.size - 1)
    out[::2] = t
    out[1::2] = 0.5 * (t[1:] + t[:-1])
    return out


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

    ``lagrangian="paper"`` (the reduced Lagrangian, :func:`theory._elements.lagrangian_terms`):
    Newton on its midpoint rule (degree-1 Galerkin), analytic Jacobian required.

    Newton's method with the banded Hessian (:func:`theory._newton.newton_discrete`) when
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


def _node_momenta(system, X, t):
    """Node momenta from the discrete minimiser: average of the adjacent midpoint momenta."""
    pm = momentum(system, X, t, at="midpoints")
    P = np.empty_like(X)
    P[1:-1] = 0.5 * (pm[1:] + pm[:-1])
    P[0], P[-1] = pm[0], pm[-1]
    return P


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
    P = _node_momenta(system, X, t)
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


def _parameter(c) -> np.ndarray:
    """A path's normalised parameter in [0, 1]: its time where it has finite times (non-
    uniform grids differ between candidates), else its node index."""
    t = c.t
    if t is not None and t.size == c.path.shape[0] and np.all(np.isfinite(t)):
        return (t - t[0]) / (t[-1] - t[0])
    return np.linspace(0.0, 1.0, c.path.shape[0])


def _distance(a, b) -> float:
    """Max distance between two candidates' paths resampled on a common normalised
    parameter (:func:`_parameter`)."""
    u = np.linspace(0.0, 1.0, 401)
    A = np.array([np.interp(u, _parameter(a), c) for c in a.path.T]).T
    B = np.array([np.interp(u, _parameter(b), c) for c in b.path.T]).T
    return float(np.max(np.linalg.norm(A - B, axis=1)))


def merge_minima(
    cands: list, scale: float, path_tol: float = 0.02, action_tol: float = 1e-5, known=()
) -> list:
    """Distinct candidates (by path and action), sorted by action; those the same as one
    in ``known`` are dropped."""
    out = []
    for c in sorted(cands, key=lambda c: c.action):
        same = any(
            abs(c.action - o.action) <= action_tol * (1 + abs(o.action))
            and _distance(c, o) <= path_tol * scale
            for o in (*known, *out)
        )
        if not same:
            out.append(c)
    return out


def rank_candidates(results: list, scale: float) -> Instanton:
    """The global minimum, with every distinct converged minimum and saddle found; the
    candidates that did not converge (and match no converged one) go to ``.unconverged``.
    Only when none converged do they stand in for the minima (then ``success`` is False);
    only when every candidate is a saddle does the lowest saddle stand in, with ``success``
    False."""
    converged = merge_minima([r for r in results if r.success], scale)
    failed = merge_minima([r for r in results if not r.success], scale, known=converged)
    pool = converged or failed
    minima = [r for r in pool if r.diagnostics["kind"] != "saddle"] or pool
    saddles = tuple(r for r in pool if r.diagnostics["kind"] == "saddle")
    best = minima[0]
    if best.diagnostics["kind"] == "saddle":
        note = "no minimum found, only saddles; "
        best = replace(best, success=False, message=note + best.message)
    return replace(
        best,
        minima=tuple(minima),
        saddles=saddles,
        unconverged=tuple(failed) if converged else (),
    )


def finite_time(
    system,
    x0: np.ndarray,
    x1: np.ndarray,
    grid: np.ndarray,
    *,
    starts: list,
    polish: bool,
    tol: float,
    refine: int,
    max_nodes: int,
    continuation=None,
    continuation_nodes: int = 4000,
    mam_tol: float = 1e-5,
    saddle_tol: float = 1e-8,
    order: int = 3,
    lagrangian: str = "fw",
) -> Instanton:
    """The finite-T solver behind :func:`theory.instanton`."""
    lagrangian_terms(lagrangian)  # validates the name
    if lagrangian != "fw" and (system.jac is None or continuation or order < 2):
        raise ValueError(
            "`lagrangian='paper'` needs a system with an analytic Jacobian, no"
            " `continuation` and `order` >= 2"
        )
    target = system
    if continuation:
        steps = list(continuation)
        if steps[-1] is not system:
            steps.append(system)
        system, steps = steps[0], steps[1:]
    T = float(grid[-1] - grid[0])
    coarse = []
    for label, guess in starts:
        X, S, res = minimise_discrete(system, guess, grid, lagrangian)
        coarse.append(SimpleNamespace(label=label, path=X, t=grid, action=S, res=res))
    scale = max(float(np.ptp(np.vstack([c.path for c in coarse]))), 1e-12)
    galerkin = polish and not continuation and system.jac is not None and order > 1
    results = []
    # Merge coarse duplicates before the (costlier) refinement and polish.
    for c in merge_minima(coarse, scale):
        label, X, S, res = c.label, c.path, c.action, c.res
        t = grid
        diag = {
            "mam_stage": ["grid"],
            "mam_n": [t.size - 1],
            "mam_action": [S],
            "mam_iterations": [int(res.nit)],
        }
        # The polish refines the path itself: try it first from the MAM minimiser on the
        # given grid. Where it fails or is not used, split the MAM grid where the drift
        # jumps, then halve it (`refine` times; the MAM may have to stand on its own or
        # seed the BVP), polishing again after each refinement.
        stages = (["grid"] if galerkin else []) + ["adapt"] + ["halve"] * refine
        gal = None
        for step in stages:
            if step == "adapt":
                adapted = adapt(system, X, t, lagrangian=lagrangian)
                if adapted is None:
                    continue  # nothing to split
                X, t, S, res = adapted
            elif step == "halve":
                tf = _halve(t)
                Xf = np.array([np.interp(tf, t, c) for c in X.T]).T
                Xf[0], Xf[-1] = x0, x1
                X, S, res = minimise_discrete(system, Xf, tf, lagrangian)
                t = tf
            if step != "grid":
                diag["mam_stage"].append(step)
                diag["mam_n"].append(t.size - 1)
                diag["mam_action"].append(S)
                diag["mam_iterations"].append(int(res.nit))
            if galerkin:
                gal = galerkin_stage(system, X, t, order=order, tol=tol, lagrangian=lagrangian)
                diag.update(gal[1])
                if gal[1]["galerkin_success"]:
                    break
                gal = None
        if system.jac is not None:
            # The Hessian of the discretisation whose stationary point is returned: the
            # polished path's where the polish converged, else the MAM minimiser's.
            nodes, times, q = (gal[0].nodes, gal[0].t, gal[0].order) if gal else (X, t, 1)
            ab = galerkin_hessian(system, nodes, times, q, lagrangian)
            saddle = has_negative_curvature(ab, saddle_tol)
            diag["kind"] = "saddle" if saddle else "minimum"
            if saddle:  # its certificate: the negative eigenvalue
                diag["hessian_min_eig"] = banded_min_eigenvalue(ab)
        else:
            diag["kind"] = "unchecked"  # no analytic Jacobian, no Hessian
        actions, ns = diag["mam_action"], diag["mam_n"]
        diag["mam_message"] = str(res.message)
        mam_ok = bool(res.success) or "ABNORMAL" in str(res.message)
        # grid convergence of the MAM: |S(n) - S(2n)| relative, from the last halving
        halved = diag["mam_stage"][-1] == "halve"
        precision = abs(actions[-1] - actions[-2]) / (1 + abs(actions[-1])) if halved else np.inf
        diag["mam_precision"] = precision
        if gal is not None:
            g = gal[0]
            tt, path, P, S_final, ch_sys = g.t, g.x, g.p, g.action, system
            diag["mam_minus_polish"] = actions[-1] - S_final
            ok, msg = True, f"converged: MAM then Galerkin polish (degree {order})"
        elif polish and lagrangian == "fw":
            sol = polish_bvp(system, X, t, tol=tol, max_nodes=max_nodes)
            d = system.dim
            diag.update(
                bvp_status=int(sol.status),
                bvp_message=str(sol.message),
                bvp_nodes=int(sol.x.size),
                bvp_max_residual=float(np.max(sol.rms_residuals)) if sol.x.size > 1 else np.nan,
            )
            if sol.status == 0 and continuation:
                S_first = float(sol.y[2 * system.dim, -1])
                sol, last, record = continue_bvp(
                    steps, sol, x0, x1, tol=tol, max_nodes=max_nodes, nodes=continuation_nodes
                )
                diag["continuation"] = record
                reached = steps[last] if last >= 0 else system
                if last < len(steps) - 1:
                    diag["continuation_reached"] = repr(reached)
                    sol = replace_status(sol, 1, f"continuation stopped after {reached!r}")
                    ch_sys = reached
                else:
                    ch_sys = target
                diag.update(bvp_nodes=int(sol.x.size), continuation_first_action=S_first)
            else:
                ch_sys = system
            if sol.status == 0:
                tt, path, P = sol.x, sol.y[:d].T, sol.y[d : 2 * d].T
                S_final = float(sol.y[2 * d, -1])
                diag["mam_minus_polish"] = actions[-1] - S_final
                ok, msg = True, "converged: MAM then Hamiltonian BVP"
                # A BVP solution far from the MAM minimiser is a different extremal.
                if not continuation and abs(actions[-1] - S_final) > 1e-2 * (1 + abs(S_final)):
                    ok, msg = False, "BVP left the MAM minimiser: try a larger `n`"
            elif "continuation_reached" in diag:
                d = system.dim
                tt, path, P = sol.x, sol.y[:d].T, sol.y[d : 2 * d].T
                S_final = float(sol.y[2 * d, -1])
                ok, msg = False, sol.message
            else:
                # A nearly discontinuous drift can defeat the BVP's mesh; the MAM minimiser
                # stands when its grid refinement has converged.
                tt, path, P, S_final = t, X, _node_momenta(system, X, t), actions[-1]
                ok = mam_ok and precision <= mam_tol
                grids = f"S at n = {ns[-2]} and {ns[-1]} segments" if halved else "no halving"
                msg = (
                    f"BVP polish failed ({sol.message}); MAM path returned, grid-converged to"
                    f" {precision:.1e} relative ({grids})"
                )
        else:
            tt, path, P, S_final = t, X, _node_momenta(system, X, t), actions[-1]
            ok = mam_ok and precision <= mam_tol
            msg = f"MAM only: {res.message}; grid-converged to {precision:.1e} relative"
            if polish:
                msg = "Galerkin polish failed; " + msg
        ch = charges(ch_sys if polish else system, path, tt, p=P)
        results.append(
            Instanton(
                path=path,
                t=tt,
                p=P,
                action=S_final,
                T=T,
                charges=ch,
                s=None,
                success=ok,
                message=msg,
                diagnostics=diag,
                label=label,
            )
        )
    return rank_candidates(results, scale)


def galerkin_stage(
    system,
    X,
    t,
    *,
    order: int,
    tol: float,
    lagrangian: str = "fw",
    rounds: int = 40,
    halvings: int = 3,
):
    """Galerkin polish (:mod:`theory._galerkin`) of the MAM minimiser X on its grid t.

    Autonomous systems (Freidlin–Wentzell action): re-timed at one energy and refined
    where the energy jumps (:func:`theory._galerkin.energy_adaptive`, up to ``rounds``
    rounds) until H is conserved to 1e-6 relative (1e-8 absolute); the precision is the
    change of the action over the last round. Where that is above ``tol`` (or there was
    no round), the grid is halved (up to ``halvings`` times) until the action changes by
    at most ``tol`` relative; the precision is the last change. Converged when Newton
    converged, the precision is <= tol and (autonomous) the energy target is met.
    Returns (solution, diagnostics)."""
    path = galerkin_polish(system, X, t, order=order, lagrangian=lagrangian)
    record, energy_ok = [], True
    if system.autonomous and lagrangian == "fw":
        path, record = energy_adaptive(system, path, rounds=rounds, max_elements=40 * t.size)
        energy_ok = record[-1][1] <= record[-1][4]
    actions = [r[2] for r in record] or [path.action]
    elements = [r[0] for r in record] or [path.t.size - 1]
    ok = path.newton.success and energy_ok
    precision = abs(actions[-1] - actions[-2]) / (1.0 + abs(path.action)) if record[1:] else np.inf
    # Halve the grid until the action changes by at most tol (or `halvings` run out);
    # pointless once Newton or the energy refinement has failed.
    for _ in range(halvings):
        if precision <= tol or not ok:
            break
        fine = galerkin_polish(
            system, X[[0, -1]], _halve(path.t), order=order, lagrangian=lagrangian, start=path
        )
        precision = abs(path.action - fine.action) / (1.0 + abs(fine.action))
        actions.append(fine.action)
        elements.append(fine.t.size - 1)
        ok, path = ok and fine.newton.success, fine
    diag = {
        "galerkin_order": order,
        "galerkin_elements": elements,
        "galerkin_action": actions,
        "galerkin_energy_drift": [r[1] for r in record],
        "galerkin_iterations": path.newton.iterations,
        "galerkin_precision": precision,
        "galerkin_success": bool(ok and precision <= tol),
    }
    return path, diag


def instanton(
    system,
    x_start,
    x_end,
    T: float | None = None,
    *,
    n: int = 100,
    t=None,
    t0: float | None = None,
    guesses=None,
    waypoints=None,
    n_random: int = 0,
    amplitude: float = 0.5,
    seed: int = 0,
    polish: bool = True,
    tol: float = 1e-7,
    refine: int = 1,
    max_nodes: int = 50000,
    continuation=None,
    continuation_nodes: int = 4000,
    mam_tol: float = 1e-5,
    saddle_tol: float = 1e-8,
    order: int = 3,
    lagrangian: str = "fw",
) -> Instanton:
    """The most likely path from ``x_start`` to ``x_end``: the instanton minimising

        S_T[x] = 1/4 ∫_{t0}^{t0+T} (xdot - f(x, t))^T D(t)^{-1} (xdot - f(x, t)) dt

    (finite ``T``), or for ``T=None`` the infinite-time instanton between fixed points,
    minimising the geometric action S = 1/2 ∫ (|x'| |f| - <x', f>) ds (norms and inner
    product in D^{-1}), which for f = -∇U, D = I equals U(x_end) - U(x_start) uphill.

    Parameters
    ----------
    system
        The :class:`~simulate.System`.
    x_start, x_end
        End points (d,) or names of the system's states.
    T
        Duration; ``None`` for the infinite-time (geometric) instanton.
    n
        Number of segments of the initial grid (finite T) or of the path (T = None).
    t
        Explicit time grid (finite T; overrides ``T``, ``n``, ``t0``), uniform or not.
    t0
        Start time (default: ``system.t_span[0]`` if the system has one, else 0).
    guesses, waypoints, n_random, amplitude, seed
        Multi-start: user paths, polylines through waypoints (points or state names),
        and ``n_random`` seeded smooth perturbations of each (size ``amplitude``). The
        straight line is always tried.
    polish
        Polish each MAM minimiser to the continuum instanton (finite T): the Galerkin
        polish (see ``order``), else Hamilton's BVP by collocation.
    tol
        Finite T: the relative precision of the polished action (Galerkin: change under
        the last refinement; BVP: collocation tolerance). T = None: of the geometric
        action.
    refine
        Grid halvings of the MAM minimiser (after the split where the drift jumps) where
        the Galerkin polish is not used or fails (its grid convergence decides whether it
        stands, see ``mam_tol``).
    max_nodes
        Mesh limit of the BVP.
    continuation
        Finite T: a sequence of systems ending near (or at) ``system``, e.g.
        :func:`homotopy` in a steepness parameter. The MAM and the first BVP solve use the
        first; each BVP is warm-started from the previous solution (remeshed to
        ``continuation_nodes`` points), the last on ``system``. If a step fails, the
        last converged solution is returned with ``success=False`` and
        ``diagnostics["continuation_reached"]``.
    mam_tol
        Finite T: largest relative change of the discrete action under the last grid
        halving, |S_n - S_2n| / (1 + |S_2n|) (``diagnostics["mam_precision"]``, inf when
        no halving ran), for the MAM minimiser to stand when the polish (Galerkin, then
        BVP) fails or is off.
    order
        Finite T, systems with an analytic Jacobian: degree of the Galerkin polish
        (:mod:`theory._galerkin`: Newton on a degree-``order`` piecewise-polynomial
        discretisation of the action from the MAM minimiser; autonomous systems re-timed
        and refined until H is conserved; the grid halved until the action has converged
        to ``tol``). Where it fails, it is retried from the MAM refined (split where the
        drift jumps, then halved); where it still fails, or with ``order=1``, no Jacobian
        or a ``continuation``, Hamilton's BVP is solved by collocation (solve_bvp).
    lagrangian
        Finite T: ``"fw"`` (default) minimises the Freidlin–Wentzell action above;
        ``"paper"`` the reduced Lagrangian of the paper's reverse-diffusion example,

            L = 1/4 xdot^T D^{-1} xdot + 1/4 f^T D^{-1} f   (= L_FW + 1/2 xdot^T D^{-1} f),

        i.e. without the cross term (-xdot . score when f = 2 t score, D = t I); its
        momenta are p = 1/2 D^{-1} xdot. The angular momentum x p_y - y p_x is the same
        formula (and for a radial score the same number for a given path); ``charges``
        still evaluates H = p^T D p + p^T f, not the reduced Hamiltonian
        p^T D p - 1/4 f^T D^{-1} f. Needs an analytic Jacobian; Galerkin polish only.
    saddle_tol
        Finite T: a candidate whose discrete Hessian (of the polished discretisation where
        the polish converged) has an eigenvalue below -saddle_tol times its largest
        diagonal entry is a saddle, reported in ``.saddles``.

    Returns
    -------
    Instanton
        The global minimum found; ``.minima`` lists every distinct converged local
        minimum found, sorted by action, ``.saddles`` the critical paths that are not
        minima, ``.unconverged`` the candidates that did not converge.
        ``.diagnostics`` records the convergence.

    Examples
    --------
    >>> from simulate import zoo
    >>> from theory import instanton
    >>> inst = instanton(zoo.get("monostable"), "start", "end", T=1.0)
    >>> round(inst.action, 6), round(inst.charges.mean("L"), 6)
    (5.252141, -3.403673)
    """
    x0 = as_point(system, x_start, "x_start")
    x1 = as_point(system, x_end, "x_end")
    if int(n_random) < 0:
        raise ValueError(f"`n_random` must be >= 0, got {n_random!r}")
    if T is None and t is None:
        from ._gmam import geometric

        return geometric(
            system,
            x0,
            x1,
            n=n,
            guesses=guesses,
            waypoints=waypoints,
            n_random=n_random,
            amplitude=amplitude,
            seed=seed,
            tol=tol,
        )
    grid = _grid(system, T, n, t, t0)
    s = (grid - grid[0]) / (grid[-1] - grid[0])
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
    return finite_time(
        system,
        x0,
        x1,
        grid,
        starts=starts,
        polish=polish,
        tol=tol,
        refine=refine,
        max_nodes=max_nodes,
        continuation=continuation,
        continuation_nodes=continuation_nodes,
        mam_tol=mam_tol,
        saddle_tol=saddle_tol,
        order=order,
        lagrangian=lagrangian,
    )
