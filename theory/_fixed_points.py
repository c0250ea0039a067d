"""Fixed points f(x*, t) = 0, found by root finding from a grid of guesses and from points on
the nullclines, and classified by the eigenvalues of the Jacobian Df(x*)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.optimize import brentq, root

from ._display import block, vector
from ._inputs import as_point, search_box


@dataclass(frozen=True)
class FixedPoint:
    """A fixed point x with its Jacobian eigenvalues and kind: 'stable' (all Re < 0),
    'unstable' (all Re > 0), 'saddle' (``index`` = number of Re > 0) or 'non-hyperbolic'."""

    x: np.ndarray
    eigenvalues: np.ndarray
    kind: str
    index: int
    residual: float

    def __repr__(self) -> str:
        return (
            f"FixedPoint({self.kind} at {vector(self.x)}, eigenvalues"
            f" {_eigenvalues(self.eigenvalues)}, residual {self.residual:.2g})"
        )


@dataclass(frozen=True)
class FixedPoints:
    """The distinct fixed points found, stable ones first."""

    points: tuple

    def __len__(self) -> int:
        return len(self.points)

    def __repr__(self) -> str:
        kinds = {}
        for p in self.points:
            kinds[p.kind] = kinds.get(p.kind, 0) + 1
        counts = ", ".join(f"{v} {k}" for k, v in kinds.items())
        header = f"FixedPoints({len(self.points)} found{': ' + counts if counts else ''})"
        return block(header, [repr(p) for p in self.points], "more points")

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


def _eigenvalues(eig: np.ndarray) -> str:
    """Real eigenvalues as a vector, complex ones as a+bj."""
    if np.all(np.imag(eig) == 0):
        return vector(np.real(eig), 4)
    return "[" + ", ".join(f"{complex(e):.4g}" for e in eig) + "]"


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


def _grid(axes: list) -> np.ndarray:
    """The points (k, d) of the Cartesian grid of ``axes``, the last axis varying fastest
    (as ``np.meshgrid(..., indexing="ij")``, which refuses more than 32 axes)."""
    pts = np.zeros((1, 0))
    for a in axes:
        a = np.asarray(a, dtype=float)
        pts = np.hstack([np.repeat(pts, a.size, axis=0), np.tile(a, pts.shape[0])[:, None]])
    return pts


def _scan(system, bases: np.ndarray, axis: int, lo, hi, n_scan: int, t: float) -> list:
    """Zeros of every f_i on the lines through ``bases`` (k, d) parallel to ``axis``,
    sampled at ``n_scan`` points over [lo, hi] and located by Brent's method."""
    u = np.linspace(lo[axis], hi[axis], n_scan)
    pts = np.repeat(bases[:, None, :], n_scan, axis=1)
    pts[..., axis] = u
    F = system.f(pts, t)
    out = []
    for b, k, i in zip(*np.nonzero(np.sign(F[:, :-1]) * np.sign(F[:, 1:]) < 0), strict=True):
        x = pts[b, k].copy()

        def fi(v, x=x, i=i):
            x[axis] = v
            return system.f(x, t)[i]

        x[axis] = brentq(fi, u[k], u[k + 1], xtol=1e-14)
        out.append(x)
    return out


def nullcline_points(system, lo, hi, n_lines: int, n_scan: int, t: float) -> list[np.ndarray]:
    """Points where a component f_i of the drift vanishes, found in two passes of 1-D scans
    (:func:`_scan`): along each axis on the lines of an ``n_lines``^(d-1) grid, then along
    every other axis through each point of the first pass.

    Saddles of steep drifts (e.g. sigmoids of width 0.01) sit in layers far thinner than
    any grid of starting points, where Newton steps from outside jump over them. A fixed
    point lies on every nullcline: the first pass lands inside a layer of one coordinate,
    the second inside the crossing of two layers (e.g. decision_memory's unstable node)."""
    d = system.dim
    first = []
    for axis in range(d):
        others = [np.linspace(lo[j], hi[j], n_lines) if j != axis else [0.0] for j in range(d)]
        bases = _grid(others)
        first += _scan(system, bases, axis, lo, hi, n_scan, t)
    if not first or d == 1:
        return first
    bases = np.unique(np.round(np.array(first), 12), axis=0)
    second = []
    for axis in range(d):
        second += _scan(system, bases, axis, lo, hi, n_scan, t)
    return first + second


def newton_batch(system, X: np.ndarray, t: float, iters: int = 60) -> np.ndarray:
    """Damped Newton x <- x - lam Df(x)^{-1} f(x) on all starting points (k, d) at once,
    lam halved (down to 2^-10) until |f| decreases, point by point. Singular Jacobians
    give NaN rows, dropped by the caller."""
    X = np.array(X, dtype=float)
    F = system.f(X, t)
    norm = np.linalg.norm(F, axis=1)
    for _ in range(iters):
        active = norm > 1e-13
        if not np.any(active):
            break
        with np.errstate(all="ignore"):
            try:
                step = np.linalg.solve(system.jacobian(X[active], t), F[active][..., None])[..., 0]
            except np.linalg.LinAlgError:
                step = np.stack(
                    [
                        np.linalg.lstsq(J, f, rcond=None)[0]
                        for J, f in zip(system.jacobian(X[active], t), F[active], strict=True)
                    ]
                )
        idx = np.nonzero(active)[0]
        lam = np.ones(idx.size)
        todo = np.ones(idx.size, dtype=bool)
        for _ in range(11):
            trial = X[idx[todo]] - lam[todo, None] * step[todo]
            ok = np.all(np.isfinite(trial), axis=1)
            Ft = system.f(np.where(ok[:, None], trial, 0.0), t)
            nt = np.where(ok, np.linalg.norm(Ft, axis=1), np.inf)
            better = nt < norm[idx[todo]]
            sel = idx[todo][better]
            X[sel], F[sel], norm[sel] = trial[better], Ft[better], nt[better]
            todo[np.nonzero(todo)[0][better]] = False
            lam[todo] *= 0.5
            if not np.any(todo):
                break
    return X


def fixed_points(
    system,
    bounds=None,
    *,
    guesses=None,
    n_grid: int = 21,
    n_scan: int = 2001,
    t: float = 0.0,
    tol: float = 1e-10,
    merge_tol: float = 1e-6,
) -> FixedPoints:
    """Fixed points of the drift, f(x*, t) = 0, classified by the eigenvalues of Df(x*, t).

    Roots are found by damped Newton (:func:`newton_batch`, all starts at once) and
    polished with :func:`scipy.optimize.root` (hybrid Powell, analytic Jacobian), starting
    from every point of an ``n_grid``^d grid over ``bounds``, from the nullcline points
    f_i = 0 found on that grid's lines (:func:`nullcline_points`), and from ``guesses``;
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
        Guesses per dimension on the grid (kept to ~4000 in all); also the number of scan
        lines per dimension for the nullclines.
    n_scan
        Points per scan line (0: no nullcline scan).
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
    lo, hi = search_box(system, bounds)
    if int(n_grid) < 1:
        raise ValueError(f"`n_grid` must be >= 1, got {n_grid!r}")
    n_grid = min(int(n_grid), max(1, int(round(4000 ** (1 / d)))))
    axes = [np.linspace(a, b, n_grid) for a, b in zip(lo, hi, strict=True)]
    starts = list(_grid(axes))
    if int(n_scan) >= 2:
        starts += nullcline_points(system, lo, hi, n_grid, int(n_scan), t)
    for i, g in enumerate(() if guesses is None else guesses):
        starts.append(as_point(system, g, f"guesses[{i}]"))
    X = newton_batch(system, np.array(starts), t)
    found: list[np.ndarray] = []
    for x in X[np.all(np.isfinite(X), axis=1)]:
        if np.any(x < lo - 1e-9) or np.any(x > hi + 1e-9):
            continue
        if float(np.max(np.abs(system.f(x, t)))) > 1e-6 or any(
            np.linalg.norm(x - z) <= merge_tol for z in found
        ):
            continue
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
