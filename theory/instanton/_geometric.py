"""Infinite-time instantons: geometric minimum action method (after Heymann & Vanden-Eijnden),
solved by Newton's method.

Minimising S_T over T too gives the geometric action of the curve alone,

    S[x] = 1/2 ∫ ( |x'|_{D^{-1}} |f(x)|_{D^{-1}} - <x', f(x)>_{D^{-1}} ) ds,

(AM-GM on 1/4 ∫ |xdot - f|^2: the optimal speed is |xdot| = |f|, i.e. H = 0). For f = -∇U,
D = I, an uphill curve costs U(x_end) - U(x_start), a downhill one nothing.

Discretisation: nodes X_0..X_N, the action by the midpoint rule on each chord
(:func:`theory._kernels.geometric_terms`). The action does not see where the nodes sit
along the curve, so the chord lengths are pinned by a penalty on their spread,
mu sum_k (a_k - mean a)^2: it and its gradient vanish on equally spaced nodes whatever
the curve's length (a penalty on sum a_k^2 would pull the curve short: on rotating_ring,
whose instanton winds along the limit cycle at no cost, it biased the action by 1e-3).
Its gradient is exact (sum_k (a_k - mean a) = 0 removes the mean's derivative); its
exact Hessian is the kernel's band minus a rank-one term of the mean
(:func:`mean_chord_term`), which Newton's method with the banded Hessian
(:func:`theory.instanton._newton.newton_geometric`, compiled) adds by Sherman–Morrison.
Without it the band overestimates the curvature along a uniform stretch of the curve:
harmless where the action is stiff there, but where the curve can wind along a limit
cycle at nearly no cost (rotating_ring) Newton crept along the stretch and never
converged. Newton's method replaces L-BFGS-B and the reparametrisation rounds.

Minimum or saddle: the penalised Hessian is positive definite along the curve, so a
negative eigenvalue below -saddle_tol times its largest diagonal entry is a direction
across the curve that lowers the action (a saddle path, e.g. Maier–Stein's x-axis for
alpha > 4). Such a stationary point is kept as a saddle and left along its negative
eigenvector, both ways, to the minima (:func:`descend_from_saddles`).

Precision: the grid is doubled (nodes by the cubic spline through them) until the
reported action, integrated along the cubic spline through the nodes (Gauss–Legendre),
changes by at most ``tol`` relative; ``success`` says whether it did within
``max_nodes``.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import numpy as np
from scipy.interpolate import CubicSpline
from scipy.linalg import eig_banded, solve_banded

from .._kernels import chord_length_gradient, functions, geometric_terms
from .._noether import charges_of
from ._newton import has_negative_curvature, newton_geometric
from ._ranking import merge_minima, rank_candidates
from ._result import Instanton

_TINY = 1e-300
#: weight of the chord penalty relative to the action's stiffness across the curve
#: (1e-2 and 1e-1 let Newton creep near saddles: Levenberg shifts then damp the soft
#: along-curve modes)
_KAPPA = 1.0


def _norm(V: np.ndarray, M: np.ndarray) -> np.ndarray:
    return np.sqrt(np.maximum(np.einsum("ki,ij,kj->k", V, M, V), 0.0))


def chord_terms(system, X: np.ndarray, mu: float = 0.0, want: bool = False):
    """(S, interior gradient, lower banded Hessian (2d, (n-2)d)) of the midpoint-rule
    geometric action of the nodes X (n, d) plus mu times the spread of the chord lengths
    (module docstring); gradient and Hessian are empty without ``want``."""
    X = np.ascontiguousarray(X, dtype=float)
    n, d = X.shape
    chord = float(np.mean(_norm(np.diff(X, axis=0), system.D_inv)))
    size = (n - 2) * d if want else 0
    G = np.zeros(size)
    ab = np.zeros((2 * d, size))
    drift, jac, _ = functions(system)
    S = geometric_terms(
        drift, jac, X, system.params, np.ascontiguousarray(system.D_inv), mu, chord, want, G, ab
    )
    return S, G, ab


def mean_chord_term(system, X: np.ndarray, mu: float):
    """(c, v) with the penalty's exact Hessian = the kernel's band - c v v^T: the term of
    the mean chord that :func:`chord_terms` drops, c = 2 mu / m (m chords), v = the
    gradient of sum_k a_k in the interior nodes (u_{j-1} - u_j at node j, u_k the unit
    chord M Delta_k / a_k). Along a uniform stretch of the curve the band alone
    overestimates the curvature, and there the action is nearly flat where the curve may
    wind along a limit cycle at no cost (rotating_ring): Newton then crept along that
    stretch, linearly, instead of converging (:func:`theory._kernels.chord_length_gradient`;
    the compiled Newton loop adds the same term)."""
    X = np.ascontiguousarray(X, dtype=float)
    v = np.empty((X.shape[0] - 2) * X.shape[1])
    chord_length_gradient(X, np.ascontiguousarray(system.D_inv, dtype=float), v)
    return 2.0 * mu / (X.shape[0] - 1), v


def geometric_action(system, X: np.ndarray) -> float:
    """Midpoint-rule geometric action of the nodes X (n, d) (the chords' sum)."""
    return chord_terms(system, X)[0]


def _penalty_weight(system, X: np.ndarray) -> float:
    """mu: _KAPPA times the action's stiffness across the curve, |f| / chord."""
    a = _norm(np.diff(X, axis=0), system.D_inv)
    b = _norm(system.f(0.5 * (X[1:] + X[:-1]), 0.0), system.D_inv)
    return _KAPPA * max(float(np.mean(b)), _TINY) / max(float(np.mean(a)), _TINY)


@dataclass(frozen=True)
class Stationary:
    """A stationary path of the penalised discrete action: nodes, whether Newton converged,
    its iterations, kind ("minimum" or "saddle"), the smallest Hessian eigenvalue of a
    saddle (None for a minimum) and its eigenvector (interior nodes, flattened)."""

    X: np.ndarray
    success: bool
    iterations: int
    kind: str
    min_eig: float | None = None
    direction: np.ndarray | None = None


def _curvature(system, X, mu, saddle_tol):
    """(kind, smallest eigenvalue or None, its eigenvector or None) of the penalised
    Hessian at X: a saddle when ab + saddle_tol max|diag| I is not positive definite."""
    ab = chord_terms(system, X, mu, True)[2]
    if not has_negative_curvature(ab, saddle_tol):
        return "minimum", None, None
    lam, vec = eig_banded(ab, lower=True, select="i", select_range=(0, 0))
    return "saddle", float(lam[0]), vec[:, 0]


def _minimise(system, X, mu, saddle_tol, maxiter=1000) -> Stationary:
    """Newton's method (Levenberg-shifted, so every step descends) on the penalised
    action; where it stops at an indefinite Hessian (it creeps near a saddle), the
    undamped Newton iteration :func:`_stationary` finds the saddle itself. ``maxiter``
    is generous: where the curve winds along a limit cycle, each finer grid winds
    further and Newton's straight steps rotate the nodes along the cycle a little at a
    time (rotating_ring, omega = 1: 161 steps at 25600 chords; omega = 2 needs a few
    hundred at 51200)."""
    r = newton_geometric(system, X, mu, rtol=1e-15, maxiter=maxiter)
    kind, lam, vec = _curvature(system, r.X, mu, saddle_tol)
    if r.success or kind == "minimum":
        return Stationary(r.X, r.success, r.iterations, kind, lam, vec)
    s = _stationary(system, r.X, mu)
    kind, lam, vec = _curvature(system, s.X, mu, saddle_tol)
    return Stationary(s.X, s.success, r.iterations + s.iterations, kind, lam, vec)


def _stationary(system, X, mu, maxiter=50) -> Stationary:
    """Undamped Newton steps on the gradient (banded LU, indefinite Hessians allowed),
    halved while they do not lower |gradient|: converges to the nearby stationary point,
    saddle or not. Converged when |gradient| stops falling at round-off."""
    X = np.array(X, dtype=float)
    n, d = X.shape
    _, G, ab = chord_terms(system, X, mu, True)
    best = float(G @ G)
    ok, it = False, 0
    band = 2 * d - 1
    for it in range(1, maxiter + 1):  # noqa: B007 - reported
        full = np.zeros((2 * band + 1, ab.shape[1]))
        for j in range(band + 1):  # symmetric: lower band j is the upper band j too
            full[band + j, : ab.shape[1] - j] = ab[j, : ab.shape[1] - j]
            full[band - j, j:] = ab[j, : ab.shape[1] - j]
        c, v = mean_chord_term(system, X, mu)
        # Sherman–Morrison for the exact Hessian, band - c v v^T (mean_chord_term)
        y, z = solve_banded((band, band), full, np.column_stack([-G, v])).T
        den = 1.0 - c * float(v @ z)
        dx = (y + z * (c * float(v @ y) / den) if den != 0.0 else y).reshape(n - 2, d)
        step = 1.0
        for _ in range(30):
            Y = X.copy()
            Y[1:-1] += step * dx
            _, Gy, aby = chord_terms(system, Y, mu, True)
            if float(Gy @ Gy) < best:
                break
            step *= 0.5
        else:
            ok = best <= 1e-20 * (1.0 + float(np.max(np.abs(ab[0])))) ** 2
            break
        X, G, ab, best = Y, Gy, aby, float(Gy @ Gy)
        if best <= 1e-26 * (1.0 + float(np.max(np.abs(ab[0])))) ** 2:
            ok = True
            break
    return Stationary(X, ok, it, "")


def _resolve(system, X, kind, mu, saddle_tol) -> Stationary:
    """The stationary path near X of the kind X had on a coarser grid or at a nearby
    parameter: a saddle by undamped Newton (Newton's descent would creep away from it
    under Levenberg shifts), a minimum by Newton's descent."""
    if kind != "saddle":
        return _minimise(system, X, mu, saddle_tol)
    s = _stationary(system, X, mu)
    kind, lam, vec = _curvature(system, s.X, mu, saddle_tol)
    return Stationary(s.X, s.success, s.iterations, kind, lam, vec)


def descend_from_saddles(system, cand: Stationary, mu, saddle_tol, depth: int = 3):
    """The stationary points reached from ``cand``: itself, and where it is a saddle, the
    minima reached from it displaced along its negative eigenvector both ways (by a tenth
    of the path's extent), recursively up to ``depth`` saddles deep."""
    out = [cand]
    if cand.kind != "saddle" or depth == 0:
        return out
    n, d = cand.X.shape
    v = cand.direction.reshape(n - 2, d)
    v = v * 0.1 * max(float(np.ptp(cand.X)), 1e-12) / max(float(np.max(np.abs(v))), _TINY)
    for sign in (1.0, -1.0):
        Y = cand.X.copy()
        Y[1:-1] += sign * v
        out += descend_from_saddles(
            system, _minimise(system, Y, mu, saddle_tol), mu, saddle_tol, depth - 1
        )
    return out


def refined(system, X: np.ndarray) -> np.ndarray:
    """The grid doubled: the nodes X and the midpoints (in the spline parameter) of the
    cubic spline through them."""
    u = np.linspace(0.0, 1.0, X.shape[0])
    return CubicSpline(u, X, axis=0)(np.linspace(0.0, 1.0, 2 * X.shape[0] - 1))


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


@cache
def _gauss(order: int):
    return np.polynomial.legendre.leggauss(order)


def spline_action(system, X: np.ndarray, order: int = 8) -> float:
    """Geometric action along the cubic spline through the (equidistributed) nodes."""
    u = np.linspace(0.0, 1.0, X.shape[0])
    spline = CubicSpline(u, X, axis=0)
    g, w = _gauss(order)
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


def converge(system, cand: Stationary, mu: float, tol: float, saddle_tol: float, max_nodes: int):
    """Double the grid of a stationary path until its spline action changes by at most
    ``tol`` relative between two grids on which Newton converged (or the next grid would
    pass ``max_nodes``, or Newton failed on two grids in a row: a coarse grid that cannot
    resolve a sharp layer is doubled too); returns the last stationary path, the record
    (grids, actions, Newton iterations, converged) and the precision (inf without two
    converged grids in a row)."""
    grids = [cand.X.shape[0] - 1]
    actions = [spline_action(system, cand.X)]
    iters = [cand.iterations]
    ok = [cand.success]
    precision = np.inf
    while 2 * (cand.X.shape[0] - 1) + 1 <= max_nodes and (ok[-1] or len(ok) < 2 or ok[-2]):
        cand = _resolve(system, refined(system, cand.X), cand.kind, 2.0 * mu, saddle_tol)
        mu *= 2.0
        grids.append(cand.X.shape[0] - 1)
        actions.append(spline_action(system, cand.X))
        iters.append(cand.iterations)
        ok.append(cand.success)
        precision = np.inf
        if ok[-1] and ok[-2]:
            precision = abs(actions[-1] - actions[-2]) / max(abs(actions[-1]), 1e-12)
            if precision <= tol:
                break
    record = {"n": grids, "history": actions, "newton_iterations": iters, "newton_success": ok}
    return cand, record, precision


def geometric_nodes(system, n: int) -> np.ndarray:
    """The T = None solver's start grid: n + 1 equally spaced nodes in s in [0, 1], after
    the checks that this mode needs (an autonomous system, n >= 4)."""
    if not system.autonomous:
        raise ValueError(
            "`T=None` (infinite time) needs an autonomous system; give a finite `T` or `t`"
        )
    if int(n) < 4:
        raise ValueError(f"`n` must be at least 4 for T=None, got {n!r}")
    return np.linspace(0.0, 1.0, int(n) + 1)


def geometric(
    system,
    starts: list,
    *,
    tol: float,
    saddle_tol: float,
    max_nodes: int,
) -> Instanton:
    """The T = None solver behind :func:`theory.instanton`: every start (label, path on
    the nodes of :func:`geometric_nodes`) minimised by Newton's method; saddles left
    along their negative curvature to the minima (:func:`descend_from_saddles`); each
    distinct stationary path's grid doubled until its action has converged to ``tol``
    (:func:`converge`); the candidates ranked."""
    tol = max(float(tol), 1e-15)
    found = []
    for label, guess in starts:
        X = reparametrise(system, guess)
        mu = _penalty_weight(system, X)
        first = _minimise(system, X, mu, saddle_tol)
        for i, cand in enumerate(descend_from_saddles(system, first, mu, saddle_tol)):
            found.append(_coarse(system, cand, label if i == 0 else f"{label}+descent{i}", mu))
    scale = max(float(np.ptp(np.vstack([c.path for c in found]))), 1e-12)
    results = []
    for c in merge_minima(found, scale, action_tol=1e-4):
        cand, mu = c.diagnostics["stationary"], c.diagnostics["mu"]
        cand, record, precision = converge(system, cand, mu, tol, saddle_tol, max_nodes)
        results.append(_result(system, cand, record, precision, tol, c.label))
    return rank_candidates(results, scale)


def _coarse(system, cand: Stationary, label: str, mu: float) -> Instanton:
    """A stationary path on the first grid, as a candidate to merge duplicates by."""
    return Instanton(
        path=cand.X,
        t=None,
        p=cand.X,
        action=spline_action(system, cand.X),
        T=None,
        charges=None,
        success=cand.success,
        diagnostics={"stationary": cand, "mu": mu, "kind": cand.kind},
        label=label,
    )


def _result(system, cand: Stationary, record, precision, tol, label) -> Instanton:
    """The candidate as an :class:`Instanton`: successful only when Newton converged on
    the finest grid and the last doubling met ``tol``."""
    X = cand.X
    S = record["history"][-1]
    s = np.linspace(0.0, 1.0, X.shape[0])
    t, P = _timed(system, X)
    ok = bool(cand.success and precision <= tol)
    if ok:
        message = f"converged (geometric MAM, Newton): grid-converged to {precision:.1e}"
    elif not cand.success:
        message = "not converged: Newton stopped on the finest grid"
    else:
        message = (
            f"not converged: the action changed by {precision:.1e} relative under the"
            f" last grid doubling (n = {record['n'][-1]}), above tol = {tol:.1e}; raise"
            " `max_nodes` or `n`"
        )
    return Instanton(
        path=X,
        t=t,
        p=P,
        action=S,
        T=None,
        charges=charges_of(system, X, P, s, at=0.0),
        s=s,
        success=ok,
        message=message,
        diagnostics={
            **record,
            "precision": precision,
            "chord_action": geometric_action(system, X),
            "kind": cand.kind,
            "hessian_min_eig": cand.min_eig,
        },
        label=label,
    )
