"""Reaction coordinates for splitting: numba functions ``xi(x, params) -> float``.

Every reaction coordinate is compiled for one signature, :data:`XI_SIGNATURE`, so the
splitting kernel receives it as a first-class function value and is compiled and cached
once for all of them. Larger values mean closer to B. Built-ins:

- :func:`distance_to`: xi(x) = -dist(x, B), the signed distance to B's boundary with the
  sign flipped (0 on the boundary, positive inside);
- :func:`path_progress`: progress along a given path (an instanton) phi_0..phi_{m-1}:
  xi(x) = (j + u) / (m - 1) for the segment [phi_j, phi_{j+1}] nearest to x and u in
  [0, 1] the position of x's projection on it.

Any other: ``reaction_coordinate(fn, params)`` with ``fn(x, params)`` numba-compilable.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numba as nb
import numpy as np
from numba import types

from ._numba_types import JIT
from ._sets import BALL, HALFSPACE, SHELL, StopSet, encode_sets
from ._system import compile_for

#: ``xi(x, params) -> float64``
XI_SIGNATURE = types.float64(types.float64[::1], types.float64[::1])
ReactionCoordinateType = types.FunctionType(XI_SIGNATURE)

# The built-ins allocate nothing: compiled without reference counting (``_nrt=False``),
# which would otherwise cost an atomic increment and decrement of each argument (and of
# each slice) on every call, about as much as an Euler–Maruyama step.
xi_fn = nb.njit(XI_SIGNATURE, _nrt=False, **JIT)


@dataclass(frozen=True, eq=False)
class ReactionCoordinate:
    """A compiled ``xi(x, params)`` with its parameter vector."""

    function: Callable
    params: np.ndarray = field(default_factory=lambda: np.zeros(0))
    name: str = "xi"

    def __call__(self, x: np.ndarray) -> np.ndarray | float:
        """xi at one point (d,) or at points (n, d)."""
        x = np.asarray(x, dtype=float)
        if x.ndim == 1:
            return float(self.function(np.ascontiguousarray(x), self.params))
        return np.array([self.function(np.ascontiguousarray(p), self.params) for p in x])


def reaction_coordinate(fn: Callable, params=(), name: str | None = None) -> ReactionCoordinate:
    """Wrap ``fn(x, params) -> float`` (compiled for :data:`XI_SIGNATURE` if needed)."""
    if isinstance(fn, ReactionCoordinate):
        return fn
    fn = compile_for(fn, XI_SIGNATURE, "reaction_coordinate")
    params = np.ascontiguousarray(np.atleast_1d(np.asarray(params, dtype=float)))
    return ReactionCoordinate(fn, params, name or getattr(fn, "__name__", "xi"))


@nb.njit(**JIT)
def _primitive_distance(kind, row, x):
    """Signed distance to a primitive's boundary (> 0 outside), as in ``_sets``."""
    d = x.shape[0]
    if kind == BALL or kind == SHELL:
        r2 = 0.0
        for j in range(d):
            r2 += (x[j] - row[j]) ** 2
        r = math.sqrt(r2)
        if kind == SHELL and r < 0.5 * (row[d] + row[2 * d]):
            return row[d] - r
        return r - row[2 * d]
    if kind == HALFSPACE:
        s = 0.0
        for j in range(d):
            s += row[j] * x[j]
        return row[2 * d] - s
    s = 0.0
    depth = math.inf
    for j in range(d):
        gap = 0.0
        if x[j] < row[j]:
            gap = row[j] - x[j]
        elif x[j] > row[d + j]:
            gap = x[j] - row[d + j]
        s += gap * gap
        depth = min(depth, x[j] - row[j], row[d + j] - x[j])
    return math.sqrt(s) if s > 0.0 else -depth


@xi_fn
def _minus_distance(x, p):
    # p = [n_primitives, d, kinds..., rows (2 d + 1 each)...]
    n = int(p[0])
    d = int(p[1])
    w = 2 * d + 1
    best = math.inf
    for k in range(n):
        row = p[2 + n + k * w : 2 + n + (k + 1) * w]
        best = min(best, _primitive_distance(int(p[2 + k]), row, x))
    return -best


def distance_to(B: StopSet) -> ReactionCoordinate:
    """xi(x) = -dist(x, B): minus the signed distance to the boundary of ``B``."""
    if not isinstance(B, StopSet):
        raise ValueError(f"`B` must be a StopSet, got {B!r}")
    kinds, _, data = encode_sets([B], B.dim)
    params = np.concatenate([[kinds.size, B.dim], kinds.astype(float), data.ravel()])
    return ReactionCoordinate(_minus_distance, np.ascontiguousarray(params), "minus_distance_to_B")


@xi_fn
def _path_progress(x, p):
    # p = [m, d, points (m x d)...]
    m = int(p[0])
    d = int(p[1])
    best = math.inf
    where = 0.0
    for j in range(m - 1):
        a = 2 + j * d
        b = a + d
        num = 0.0
        den = 0.0
        for i in range(d):
            seg = p[b + i] - p[a + i]
            num += (x[i] - p[a + i]) * seg
            den += seg * seg
        u = min(1.0, max(0.0, num / den)) if den > 0.0 else 0.0
        dist = 0.0
        for i in range(d):
            diff = x[i] - p[a + i] - u * (p[b + i] - p[a + i])
            dist += diff * diff
        if dist < best:
            best = dist
            where = j + u
    return where / (m - 1)


def path_progress(points: np.ndarray) -> ReactionCoordinate:
    """Progress along the polyline ``points`` (m, d), m >= 2: 0 at its start, 1 at its
    end (the normalised arc-index of the nearest point on it)."""
    pts = np.asarray(points, dtype=float)
    if pts.ndim != 2 or pts.shape[0] < 2:
        raise ValueError(f"`points` must have shape (m, d) with m >= 2, got {pts.shape}")
    if not np.all(np.isfinite(pts)):
        raise ValueError("`points` has non-finite entries")
    params = np.concatenate([[pts.shape[0], pts.shape[1]], pts.ravel()])
    return ReactionCoordinate(_path_progress, np.ascontiguousarray(params), "path_progress")
