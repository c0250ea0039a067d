"""Fixed points f(x*, t) = 0, found by root finding from a grid of guesses and classified by
the eigenvalues of the Jacobian Df(x*)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.optimize import root

from ._checks import as_point


@dataclass(frozen=True)
class FixedPoint:
    """A fixed point x with its Jacobian eigenvalues and kind: 'stable' (all Re < 0),
    'unstable' (all Re > 0), 'saddle' (``index`` = number of Re > 0) or 'non-hyperbolic'."""

    x: np.ndarray
    eigenvalues: np.ndarray
    kind: str
    index: int
    residual: float


@dataclass(frozen=True)
class FixedPoints:
    """The distinct fixed points found, stable ones first."""

    points: tuple

    def __len__(self) -> int:
        return len(self.points)

    def __getitem__(self, i) -> FixedPoint:
        return self.points[i]

    def of_kind(self, kind: str) -> list:
        """The fixed points of one kind."""
        return [p for p in self.points if p.kind == kind]

    def to_frame(self) -> pd.DataFrame:
        """One row per fixed point: coordinates, kind, index, residual, eigenvalues."""
        rows = []
        for p in self.points:
            row = {f"x{i}": v for i, v in enumerate(p.x)}
            row.update(kind=p.kind, index=p.index, residual=p.residual)
            row.update({f"eig{i}": e for i, e in enumerate(p.eigenvalues)})
            rows.append(row)
        return pd.DataFrame(rows)


def _classify(eig: np.ndarray, tol: float) -> tuple[str, int]:
    re = eig.real
    if np.any(np.abs(re) <= tol):
        return "non-hyperbolic", int(np.sum(re > tol))
    index = int(np.sum(re > 0))
    if index == 0:
        return "stable", 0
    if index == eig.size:
        return "unstable", index
    return "saddle", index


def fixed_points(
    system,
    bounds=None,
    *,
    guesses=None,
    n_grid: int = 21,
    t: float = 0.0,
    tol: float = 1e-10,
    merge_tol: float = 1e-6,
) -> FixedPoints:
    """Fixed points of the drift, f(x*, t) = 0, classified by the eigenvalues of Df(x*, t).

    Roots are found with :func:`scipy.optimize.root` (hybrid Powell, analytic Jacobian)
    from every point of an ``n_grid``^d grid over ``bounds`` and from ``guesses``;
    duplicates (closer than ``merge_tol``) are merged and points outside the bounds
    dropped. A fixed point is 'stable' when every eigenvalue has Re < 0, 'unstable' when
    all have Re > 0, a 'saddle' of index k when k of them have Re > 0.

    Parameters
    ----------
    system
        The :class:`~simulate.System`.
    bounds
        (lower, upper) arrays (d,) of the search box; default: the box of the system's
        named points, widened by half its size (at least [-2, 2]^d).
    guesses
        Extra starting points (k, d) or state names.
    n_grid
        Guesses per dimension on the grid (kept to ~4000 in all).
    t
        The time at which f is evaluated (non-autonomous systems).
    tol
        Largest |f(x*)| accepted as a root.
    merge_tol
        Distance below which two roots are the same.

    Returns
    -------
    FixedPoints
    """
    d = system.dim
    if bounds is None:
        pts = [np.asarray(v) for v in system.states.values() if isinstance(v, np.ndarray)]
        if pts:
            lo, hi = np.min(pts, axis=0), np.max(pts, axis=0)
            pad = np.maximum(0.5 * (hi - lo), 1.0)
            lo, hi = np.minimum(lo - pad, -2.0), np.maximum(hi + pad, 2.0)
        else:
            lo, hi = -2.0 * np.ones(d), 2.0 * np.ones(d)
    else:
        if len(bounds) != 2:
            raise ValueError(f"`bounds` must be (lower, upper), got {bounds!r}")
        lo = np.broadcast_to(np.asarray(bounds[0], dtype=float), (d,))
        hi = np.broadcast_to(np.asarray(bounds[1], dtype=float), (d,))
        if not np.all(hi > lo):
            raise ValueError(f"`bounds` must have upper > lower, got {bounds!r}")
    if int(n_grid) < 1:
        raise ValueError(f"`n_grid` must be >= 1, got {n_grid!r}")
    n_grid = min(int(n_grid), max(1, int(round(4000 ** (1 / d)))))
    axes = [np.linspace(a, b, n_grid) for a, b in zip(lo, hi, strict=True)]
    starts = list(np.stack(np.meshgrid(*axes, indexing="ij"), axis=-1).reshape(-1, d))
    for i, g in enumerate(guesses or ()):
        starts.append(as_point(system, g, f"guesses[{i}]"))
    found: list[np.ndarray] = []
    for x in starts:
        sol = root(
            lambda y: system.f(y, t),
            x,
            jac=lambda y: system.jacobian(y, t),
            method="hybr",
            options={"xtol": 1e-13},
        )
        y = sol.x
        res = float(np.max(np.abs(system.f(y, t))))
        if not (np.all(np.isfinite(y)) and res <= tol):
            continue
        if np.any(y < lo - 1e-9) or np.any(y > hi + 1e-9):
            continue
        if any(np.linalg.norm(y - z) <= merge_tol for z in found):
            continue
        found.append(y)
    out = []
    for y in found:
        eig = np.linalg.eigvals(system.jacobian(y, t))
        eig = eig[np.lexsort((eig.imag, eig.real))]
        kind, index = _classify(eig, 1e-9 * max(1.0, float(np.max(np.abs(eig)))))
        out.append(FixedPoint(y, eig, kind, index, float(np.max(np.abs(system.f(y, t))))))
    order = {"stable": 0, "saddle": 1, "unstable": 2, "non-hyperbolic": 3}
    out.sort(key=lambda p: (order[p.kind], p.index, tuple(p.x)))
    return FixedPoints(tuple(out))
