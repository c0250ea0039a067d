"""Candidate ranking: distinct critical paths merged, sorted by action, and sorted into
minima, saddles and unconverged candidates."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from ._result import Instanton


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
