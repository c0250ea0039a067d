"""Parameter continuation of infinite-time instantons: minima and saddle paths followed
across a parameter grid with warm starts, with the points where branches appear, merge or
exchange stability located by bisection.

At each parameter value every branch is re-solved from its path at the previous value:
a minimum by Newton's descent (:func:`theory.instanton._geometric._minimise`), a saddle by
undamped Newton on the gradient (:func:`theory.instanton._geometric._stationary`), so a
saddle path is followed as a saddle instead of sliding off it. Its kind and the smallest
eigenvalue of the penalised Hessian (:mod:`theory.instanton._geometric`) are recorded.
Where a branch's smallest eigenvalue changes sign between two values (a minimum turning
into a saddle, or back), the crossing is located by bisection on that sign, and a new
saddle is left along its negative curvature both ways: the minima reached start new
branches there (e.g. the off-axis pair of Maier–Stein at alpha = 4 for mu = 1). Two
branches whose paths coincide merge (the later one ends).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.linalg import eigvals_banded

from .._inputs import as_point
from .._noether import charges_of
from ._geometric import (
    _minimise,
    _penalty_weight,
    _resolve,
    _timed,
    chord_terms,
    descend_from_saddles,
    refined,
    reparametrise,
    spline_action,
)
from ._initial_paths import polyline


@dataclass(frozen=True)
class Continuation:
    """Branches of instantons followed across a parameter.

    Attributes
    ----------
    frame : pandas.DataFrame
        One row per (parameter value, branch): ``param``, ``branch``, ``kind`` ("minimum"
        or "saddle"), ``action`` (geometric action along the spline through the nodes),
        ``min_eig`` (smallest eigenvalue of the penalised Hessian), ``success`` (Newton
        converged), and each charge's mean and relative drift (``H``, ``H_drift``, ...).
    events : pandas.DataFrame
        One row per event: ``param`` (located by bisection), ``error`` (half the final
        bracket), ``event`` ("stability exchange", "appears", "merges"), ``branch`` and
        ``detail``.
    param : str
        The parameter followed.
    """

    frame: pd.DataFrame
    events: pd.DataFrame
    param: str

    def __repr__(self) -> str:
        values = self.frame["param"].unique()
        lines = [
            f"Continuation({self.param} from {values[0]:.6g} to {values[-1]:.6g},"
            f" {values.size} values, {self.frame['branch'].nunique()} branches)"
        ]
        for row in self.events.head(10).itertuples():
            lines.append(
                f"  {row.event} of branch {row.branch} at {self.param} = {row.param:.6g}"
                f" ± {row.error:.1e}: {row.detail}"
            )
        return "\n".join(lines)


@dataclass
class _Branch:
    ident: int
    X: np.ndarray
    kind: str
    min_eig: float
    alive: bool = True
    success: bool = True


def continuation(
    system,
    x_start,
    x_end,
    *,
    param: str,
    values,
    T: float | None = None,
    n: int = 100,
    saddle_tol: float = 1e-8,
    locate_tol: float = 1e-5,
) -> Continuation:
    """Follow the infinite-time instantons from ``x_start`` to ``x_end`` across the values
    of the parameter ``param`` (warm starts), and locate where branches appear, merge or
    exchange stability.

    Parameters
    ----------
    system
        The :class:`~simulate.System` (autonomous); its parameter ``param`` is set to
        each of ``values`` in turn (:meth:`~simulate.System.with_params`).
    x_start, x_end
        End points (d,) or names of the system's states.
    param
        Name of the parameter.
    values
        Increasing or decreasing parameter values (at least 2).
    T
        Only ``None`` (the geometric action) is followed so far; a finite ``T`` is
        refused.
    n
        Number of segments of the paths.
    saddle_tol
        As in :func:`theory.instanton`: a path is a saddle when its penalised Hessian has
        an eigenvalue below -saddle_tol times its largest diagonal entry.
    locate_tol
        Bisection stops when the bracket of an event is below this (absolute, in the
        parameter).

    Returns
    -------
    Continuation
        The tidy frame (parameter, branch, kind, action, charges, drifts) and the events.

    Examples
    --------
    >>> import numpy as np
    >>> from simulate import zoo
    >>> from theory import continuation
    >>> c = continuation(zoo.get("maier_stein"), "left", "saddle", param="alpha",
    ...                  values=np.linspace(3.5, 4.5, 11))
    >>> ev = c.events[c.events.event == "stability exchange"].iloc[0]
    >>> abs(ev.param - 4.0) < 1e-3
    True
    """
    if T is not None:
        raise ValueError(
            f"`T` must be None: continuation follows infinite-time instantons only, got {T!r}"
        )
    if param not in system.param_names:
        raise ValueError(f"`param`: {system.name!r} has no parameter {param!r}")
    values = np.asarray(values, dtype=float)
    if values.ndim != 1 or values.size < 2 or not np.all(np.isfinite(values)):
        raise ValueError("`values` must be at least 2 finite parameter values")
    steps = np.diff(values)
    if not (np.all(steps > 0) or np.all(steps < 0)):
        raise ValueError("`values` must be strictly monotone")
    if int(n) < 4:
        raise ValueError(f"`n` must be at least 4, got {n!r}")
    x0 = as_point(system, x_start, "x_start")
    x1 = as_point(system, x_end, "x_end")
    at = [system.with_params(**{param: float(v)}) for v in values]
    if not at[0].autonomous:
        raise ValueError("continuation needs an autonomous system (T=None)")
    s = np.linspace(0.0, 1.0, int(n) + 1)
    first = at[0]
    X = reparametrise(first, polyline(np.array([x0, x1]), s))
    mu = _penalty_weight(first, X)
    start = _minimise(first, X, mu, saddle_tol)
    branches, rows, events = [], [], []
    for cand in descend_from_saddles(first, start, mu, saddle_tol):
        _add(branches, first, cand.X, mu, saddle_tol)
    for b in branches:
        rows.append(_row(first, values[0], b, mu))
    for i in range(1, values.size):
        sys_i = at[i]
        mu = _penalty_weight(sys_i, branches[0].X)
        for b in [b for b in branches if b.alive]:
            prev_X, prev_kind, prev_eig = b.X, b.kind, b.min_eig
            X, ok = _follow(sys_i, b.X, b.kind, mu, saddle_tol)
            kind, eig = _kind(sys_i, X, mu, saddle_tol)
            b.X, b.kind, b.min_eig = X, kind, eig
            b.success = ok
            if kind != prev_kind:
                where, err = _bisect(
                    system, param, values[i - 1], values[i], prev_X, prev_kind, mu, locate_tol
                )
                events.append(
                    {
                        "param": where,
                        "error": err,
                        "event": "stability exchange",
                        "branch": b.ident,
                        "detail": f"{prev_kind} -> {kind} (smallest eigenvalue"
                        f" {prev_eig:.2e} -> {eig:.2e})",
                    }
                )
                if kind == "saddle":
                    cand = _minimise(sys_i, X, mu, saddle_tol)
                    for new in descend_from_saddles(sys_i, cand, mu, saddle_tol)[1:]:
                        nb = _add(branches, sys_i, new.X, mu, saddle_tol)
                        if nb is not None:
                            events.append(
                                {
                                    "param": where,
                                    "error": err,
                                    "event": "appears",
                                    "branch": nb.ident,
                                    "detail": f"{nb.kind} from the saddle branch {b.ident}",
                                }
                            )
        _merge(branches, sys_i, values[i], events)
        for b in branches:
            if b.alive:
                rows.append(_row(sys_i, values[i], b, mu))
    return Continuation(
        frame=pd.DataFrame(rows),
        events=pd.DataFrame(events, columns=["param", "error", "event", "branch", "detail"]),
        param=param,
    )


def _follow(system, X, kind, mu, saddle_tol):
    """(nodes, converged) of the branch at X re-solved on ``system``
    (:func:`theory.instanton._geometric._resolve`)."""
    r = _resolve(system, X, kind, mu, saddle_tol)
    return r.X, r.success


def _kind(system, X, mu, saddle_tol):
    """(kind, smallest eigenvalue) of the penalised Hessian at X."""
    ab = chord_terms(system, X, mu, True)[2]
    eig = float(eigvals_banded(ab, lower=True, select="i", select_range=(0, 0))[0])
    scale = float(np.max(np.abs(ab[0])))
    return ("saddle" if eig < -saddle_tol * scale else "minimum"), eig


def _bisect(system, param, lo, hi, X, kind_lo, mu, tol):
    """The parameter where the branch at X (kind ``kind_lo`` at ``lo``) changes kind,
    bisected on the sign of its smallest eigenvalue, on the path's grid and again on the
    doubled grid; returns (the doubled grid's location, its error bound: the change
    between the grids, a bound on the discretisation error of the coarse one, plus
    the final bracket's half-width)."""
    coarse, half = _bisect_on(system, param, lo, hi, X, kind_lo, mu, tol)
    fine, half_fine = _bisect_on(system, param, lo, hi, refined(system, X), kind_lo, 2 * mu, tol)
    return fine, abs(fine - coarse) + half + half_fine


def _bisect_on(system, param, lo, hi, X, kind_lo, mu, tol):
    """Bisection of :func:`_bisect` on one grid (each solve warm-started from the last
    path on the ``lo`` side): (midpoint, half-width of the final bracket)."""
    while abs(hi - lo) > tol:
        mid = 0.5 * (lo + hi)
        sys_m = system.with_params(**{param: float(mid)})
        Y, _ = _follow(sys_m, X, "saddle", mu, 0.0)
        kind, _ = _kind(sys_m, Y, mu, 0.0)
        if kind == kind_lo:
            lo, X = mid, Y
        else:
            hi = mid
    return 0.5 * (lo + hi), 0.5 * abs(hi - lo)


def _distance(A, B) -> float:
    return float(np.max(np.linalg.norm(A - B, axis=1)))


def _add(branches, system, X, mu, saddle_tol):
    """Start a branch at X unless an alive branch already has that path; returns it."""
    scale = max(float(np.ptp(X)), 1e-12)
    if any(b.alive and _distance(b.X, X) <= 1e-3 * scale for b in branches):
        return None
    kind, eig = _kind(system, X, mu, saddle_tol)
    b = _Branch(len(branches), X, kind, eig)
    branches.append(b)
    return b


def _merge(branches, system, value, events):
    """End every branch whose path coincides with an earlier alive branch's."""
    alive = [b for b in branches if b.alive]
    for j, b in enumerate(alive):
        for a in alive[:j]:
            if a.alive and b.alive and _distance(a.X, b.X) <= 1e-3 * max(np.ptp(a.X), 1e-12):
                b.alive = False
                events.append(
                    {
                        "param": float(value),
                        "error": np.nan,
                        "event": "merges",
                        "branch": b.ident,
                        "detail": f"into branch {a.ident}",
                    }
                )


def _row(system, value, b: _Branch, mu) -> dict:
    s = np.linspace(0.0, 1.0, b.X.shape[0])
    _, P = _timed(system, b.X)
    ch = charges_of(system, b.X, P, s, at=0.0)
    row = {
        "param": float(value),
        "branch": b.ident,
        "kind": b.kind,
        "action": spline_action(system, b.X),
        "min_eig": b.min_eig,
        "success": b.success,
    }
    for k in ch.values:
        row[k] = ch.mean(k)
        row[f"{k}_drift"] = ch.relative_drift[k]
    return row
