"""Parameter continuation of instantons: minima and saddle paths followed across a
parameter grid with warm starts, with the points where branches appear, merge or exchange
stability (infinite time: located by bisection).

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

At a finite T (:func:`_finite_time_branches`) each value is one call of the finite-T
solver with every branch's previous path as a warm start; branches are matched to its
converged minima and saddles by their curves (taken by arc length, so that the dwell
times of long-T paths may move), see :func:`continuation`'s Notes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.linalg import eigvals_banded

from .._inputs import as_point
from .._noether import charges_of
from ._driver import _same, instanton
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
        or "saddle"), ``action`` (T = None: geometric action along the spline through the
        nodes; finite T: the polished action), ``min_eig`` (smallest eigenvalue of the
        penalised Hessian; finite T: of the polished Hessian for saddles, NaN for
        minima), ``success`` (T = None: Newton converged; finite T: the solver's
        ``success``), and each charge's mean and relative drift (``H``, ``H_drift``, ...;
        finite T also the drift scaled by the charge's terms, ``H_scaled_drift``, ...).
    events : pandas.DataFrame
        One row per event: ``param`` (T = None: located by bisection; finite T: the
        midpoint of the two values), ``error`` (half the final bracket), ``event``
        ("stability exchange", "appears", "merges"; finite T also "lost": no converged
        path near the branch), ``branch`` and ``detail``.
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


#: the finite-T options and their defaults: T = None refuses any other value
_FINITE_T_DEFAULTS = {"waypoints": None, "guesses": None, "n_random": 0, "seed": 0, "tol": 1e-7}

#: a branch continues as the nearest converged candidate within this fraction of the
#: paths' extent (finite T)
_FOLLOW_TOL = 0.25


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
    waypoints=None,
    guesses=None,
    n_random: int = 0,
    seed: int = 0,
    tol: float = 1e-7,
) -> Continuation:
    """Follow the instantons from ``x_start`` to ``x_end`` (infinite time, or at a finite
    ``T``) across the values of the parameter ``param`` (warm starts), and locate where
    branches appear, merge or exchange stability.

    Parameters
    ----------
    system
        The :class:`~simulate.System` (autonomous for T = None); its parameter ``param``
        is set to each of ``values`` in turn (:meth:`~simulate.System.with_params`).
    x_start, x_end
        End points (d,) or names of the system's states.
    param
        Name of the parameter.
    values
        Increasing or decreasing parameter values (at least 2).
    T
        ``None`` follows the infinite-time (geometric) instantons; a finite duration
        follows the finite-T minima and saddles of :func:`theory.instanton` at that T
        (see Notes).
    n
        Number of segments of the paths (finite T: of the uniform time grid each solve
        starts on).
    saddle_tol
        As in :func:`theory.instanton`: a path is a saddle when its (penalised) Hessian
        has an eigenvalue below -saddle_tol times its largest diagonal entry.
    locate_tol
        T = None: bisection stops when the bracket of an event is below this (absolute,
        in the parameter).
    waypoints, guesses, n_random, seed
        Finite T: the multi-start of :func:`theory.instanton` at the first value (e.g.
        ``waypoints=["both_high", "origin"]`` for both of decision_memory's minima at
        T = 40); its converged minima and saddles start the branches.
    tol
        Finite T: as in :func:`theory.instanton` (the polished action's precision).

    Notes
    -----
    Finite T: at each next value one :func:`theory.instanton` call solves every alive
    branch from its path at the previous value, interpolated in time onto the uniform
    grid (as ``guesses``; the straight line is always tried too). Each branch continues
    as the converged candidate nearest to its previous path; a branch whose nearest
    candidate another branch already took merges into it; a branch with no converged
    candidate within a quarter of the paths' extent is lost (event "lost"; its row is
    the nearest unconverged candidate within that distance, with ``success`` False, if
    any); a converged candidate that no branch took appears as a new branch ("appears":
    first found by these starts, it may have existed before). A change of kind is
    reported at the midpoint of the two values with their half-distance as the error (no
    bisection: each finite-T solve costs seconds). ``min_eig`` is the smallest eigenvalue
    of the polished Hessian for saddles and NaN for minima (finite T computes it only as
    a saddle's certificate).

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
    if T is not None:
        if not (np.isfinite(T) and T > 0):
            raise ValueError(f"`T` must be positive and finite (or None), got {T!r}")
        start = {"waypoints": waypoints, "guesses": guesses, "n_random": n_random, "seed": seed}
        return _finite_time_branches(
            at, x0, x1, param, values, float(T), int(n), saddle_tol, tol, start
        )
    given = {"waypoints": waypoints, "guesses": guesses, "n_random": n_random, "seed": seed}
    given["tol"] = tol
    unused = [k for k, v in given.items() if not _same(v, _FINITE_T_DEFAULTS[k])]
    if unused:
        raise ValueError(
            f"{', '.join(f'`{k}`' for k in unused)} only apply to a finite `T`; the"
            " infinite-time continuation starts from the straight line"
        )
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


# --- finite T -----------------------------------------------------------------------------


@dataclass
class _TimedBranch:
    ident: int
    inst: object  # the branch's Instanton at the last value
    alive: bool = True


def _finite_time_branches(at, x0, x1, param, values, T, n, saddle_tol, tol, start):
    """The finite-T continuation of :func:`continuation` (its Notes)."""
    t0 = at[0].t_span[0] if at[0].t_span is not None else 0.0
    grid = t0 + np.linspace(0.0, T, n + 1)
    branches, rows, events = [], [], []
    for i, sys_i in enumerate(at):
        alive = [b for b in branches if b.alive]
        if i == 0:
            r = instanton(sys_i, x0, x1, T, n=n, saddle_tol=saddle_tol, tol=tol, **start)
        else:
            warm = [_on_grid(b.inst, grid) for b in alive]
            r = instanton(sys_i, x0, x1, T, n=n, saddle_tol=saddle_tol, tol=tol, guesses=warm)
        found = [c for c in (*r.minima, *r.saddles) if c.success]
        extent = max(float(np.ptp(np.vstack([c.path for c in (*found, r)]))), 1e-12)
        taken = {}
        for b in alive:
            near = sorted(found, key=lambda c, b=b: path_distance(c, b.inst))
            if not near or path_distance(near[0], b.inst) > _FOLLOW_TOL * extent:
                b.alive = False
                events.append(_event(values[i], values[i - 1], "lost", b.ident, _lost(r)))
                rest = sorted(r.unconverged, key=lambda c, b=b: path_distance(c, b.inst))
                if rest and path_distance(rest[0], b.inst) <= _FOLLOW_TOL * extent:
                    rows.append(_timed_row(values[i], b.ident, rest[0]))
                continue
            c = near[0]
            if id(c) in taken:
                b.alive = False
                detail = f"into branch {taken[id(c)]}"
                events.append(_event(values[i], values[i - 1], "merges", b.ident, detail))
                continue
            taken[id(c)] = b.ident
            before, after = b.inst.diagnostics["kind"], c.diagnostics["kind"]
            if before != after:
                detail = f"{before} -> {after} (S = {b.inst.action:.8g} -> {c.action:.8g})"
                events.append(
                    _event(values[i], values[i - 1], "stability exchange", b.ident, detail)
                )
            b.inst = c
        for c in found:
            if id(c) in taken:
                continue
            b = _TimedBranch(len(branches), c)
            branches.append(b)
            taken[id(c)] = b.ident
            if i > 0:
                detail = f"{c.diagnostics['kind']}, S = {c.action:.8g}"
                events.append(_event(values[i], values[i - 1], "appears", b.ident, detail))
        for b in branches:
            if b.alive:
                rows.append(_timed_row(values[i], b.ident, b.inst))
    return Continuation(
        frame=pd.DataFrame(rows),
        events=pd.DataFrame(events, columns=["param", "error", "event", "branch", "detail"]),
        param=param,
    )


def _by_arc_length(X: np.ndarray, m: int = 401) -> np.ndarray:
    """The curve X (k, d) at m points equally spaced in arc length."""
    ell = np.concatenate([[0.0], np.cumsum(np.linalg.norm(np.diff(X, axis=0), axis=1))])
    if ell[-1] <= 0:
        return np.repeat(X[:1], m, axis=0)
    keep = np.concatenate([[True], np.diff(ell) > 0])
    u = np.linspace(0.0, ell[-1], m)
    return np.array([np.interp(u, ell[keep], c) for c in X[keep].T]).T


def path_distance(a, b) -> float:
    """Max distance between two instantons' curves, each taken by arc length: long-T
    paths whose dwell times (when they jump) move with the parameter still match."""
    A, B = _by_arc_length(a.path), _by_arc_length(b.path)
    return float(np.max(np.linalg.norm(A - B, axis=1)))


def _on_grid(inst, grid: np.ndarray) -> np.ndarray:
    """An instanton's path interpolated (linearly in time) onto ``grid``."""
    return np.array([np.interp(grid, inst.t, c) for c in inst.path.T]).T


def _event(value, previous, event, branch, detail) -> dict:
    """An event between two grid values: their midpoint, half their distance as error."""
    return {
        "param": 0.5 * (float(value) + float(previous)),
        "error": 0.5 * abs(float(value) - float(previous)),
        "event": event,
        "branch": branch,
        "detail": detail,
    }


def _lost(r) -> str:
    """Why a branch ended: no converged candidate near it (and how many did not converge)."""
    if r.unconverged:
        return f"no converged path near it ({len(r.unconverged)} unconverged candidates)"
    return "no converged path near it"


def _timed_row(value, ident, inst) -> dict:
    """A frame row of a finite-T branch (columns as :func:`_row`, ``min_eig`` NaN for
    minima, plus each charge's drift scaled by its terms)."""
    ch = inst.charges
    eig = inst.diagnostics.get("hessian_min_eig")
    row = {
        "param": float(value),
        "branch": ident,
        "kind": inst.diagnostics["kind"],
        "action": inst.action,
        "min_eig": np.nan if eig is None else float(eig),
        "success": bool(inst.success),
    }
    for k in ch.values:
        row[k] = ch.mean(k)
        row[f"{k}_drift"] = ch.relative_drift[k]
        row[f"{k}_scaled_drift"] = ch.scaled_drift.get(k, np.nan)
    return row
