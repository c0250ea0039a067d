"""Stopping and absorbing sets: balls, shells, half-spaces, boxes (intervals), unions.

Python objects describe the sets; :func:`encode_sets` flattens any number of them into
plain arrays for the numba kernels, where :func:`set_distance` gives, for each primitive,
the signed distance from a point to its boundary and the normal there (used by the
Brownian-bridge crossing test and to interpolate hitting times).
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import numba as nb
import numpy as np

from ._numba_types import JIT

BALL, HALFSPACE, BOX, SHELL = 0, 1, 2, 3


class StopSet:
    """Base class: a closed set in R^d, made of primitives (a union when several)."""

    dim: int

    def primitives(self) -> list[StopSet]:
        return [self]

    def __or__(self, other: StopSet) -> Union:
        return Union(self, other)

    def contains(self, x: np.ndarray) -> np.ndarray:
        """Membership of points (..., d), vectorised in numpy (reference implementation)."""
        x = np.asarray(x, dtype=float)
        return np.any([p._contains(x) for p in self.primitives()], axis=0)


@dataclass(frozen=True)
class Ball(StopSet):
    """{x : |x - center| <= radius}."""

    center: np.ndarray
    radius: float

    def __post_init__(self):
        c = np.atleast_1d(np.asarray(self.center, dtype=float))
        if c.ndim != 1 or not np.all(np.isfinite(c)):
            raise ValueError(f"`center` must be a finite vector, got {self.center!r}")
        if not (np.isfinite(self.radius) and self.radius > 0):
            raise ValueError(f"`radius` must be positive and finite, got {self.radius}")
        object.__setattr__(self, "center", c)
        object.__setattr__(self, "radius", float(self.radius))

    @property
    def dim(self) -> int:
        return self.center.size

    def _contains(self, x):
        return np.linalg.norm(x - self.center, axis=-1) <= self.radius


@dataclass(frozen=True)
class Shell(StopSet):
    """{x : inner <= |x - center| <= outer}, e.g. a neighbourhood of a limit cycle."""

    center: np.ndarray
    inner: float
    outer: float

    def __post_init__(self):
        c = np.atleast_1d(np.asarray(self.center, dtype=float))
        if c.ndim != 1 or not np.all(np.isfinite(c)):
            raise ValueError(f"`center` must be a finite vector, got {self.center!r}")
        if not (0 <= self.inner < self.outer < np.inf):
            raise ValueError(f"need 0 <= `inner` < `outer` < inf, got {self.inner}, {self.outer}")
        object.__setattr__(self, "center", c)

    @property
    def dim(self) -> int:
        return self.center.size

    def _contains(self, x):
        r = np.linalg.norm(x - self.center, axis=-1)
        return (r >= self.inner) & (r <= self.outer)


@dataclass(frozen=True)
class HalfSpace(StopSet):
    """{x : normal . x >= offset} (``normal`` is normalised)."""

    normal: np.ndarray
    offset: float

    def __post_init__(self):
        n = np.atleast_1d(np.asarray(self.normal, dtype=float))
        norm = np.linalg.norm(n)
        if n.ndim != 1 or not np.isfinite(norm) or norm == 0:
            raise ValueError(f"`normal` must be a finite non-zero vector, got {self.normal!r}")
        if not np.isfinite(self.offset):
            raise ValueError(f"`offset` must be finite, got {self.offset}")
        object.__setattr__(self, "normal", n / norm)
        object.__setattr__(self, "offset", float(self.offset) / norm)

    @property
    def dim(self) -> int:
        return self.normal.size

    def _contains(self, x):
        return x @ self.normal >= self.offset


@dataclass(frozen=True)
class Box(StopSet):
    """{x : lower <= x <= upper}, componentwise; infinite bounds allowed."""

    lower: np.ndarray
    upper: np.ndarray

    def __post_init__(self):
        lo = np.atleast_1d(np.asarray(self.lower, dtype=float))
        hi = np.atleast_1d(np.asarray(self.upper, dtype=float))
        if lo.shape != hi.shape or lo.ndim != 1:
            raise ValueError(f"`lower` {lo.shape} and `upper` {hi.shape} must be equal vectors")
        if np.any(np.isnan(lo)) or np.any(np.isnan(hi)) or np.any(lo > hi):
            raise ValueError(f"box needs lower <= upper, got {lo} and {hi}")
        object.__setattr__(self, "lower", lo)
        object.__setattr__(self, "upper", hi)

    @property
    def dim(self) -> int:
        return self.lower.size

    def _contains(self, x):
        return np.all((x >= self.lower) & (x <= self.upper), axis=-1)


def Interval(lower: float, upper: float, axis: int = 0, dim: int = 1) -> Box:
    """{x : lower <= x[axis] <= upper} in R^dim, e.g. ``Interval(-inf, -1)`` for x <= -1."""
    lo = np.full(dim, -np.inf)
    hi = np.full(dim, np.inf)
    lo[axis] = lower
    hi[axis] = upper
    return Box(lo, hi)


class Union(StopSet):
    """The union of several sets; it counts as one set (one index in the results)."""

    def __init__(self, *sets: StopSet):
        prims = [p for s in sets for p in s.primitives()]
        if not prims:
            raise ValueError("a Union needs at least one set")
        dims = {p.dim for p in prims}
        if len(dims) != 1:
            raise ValueError(f"sets of a Union must share one dimension, got {sorted(dims)}")
        self._prims = prims
        self.dim = dims.pop()

    def primitives(self) -> list[StopSet]:
        return list(self._prims)

    def __repr__(self) -> str:
        return "Union(" + ", ".join(map(repr, self._prims)) + ")"


def resolve_set(system, s, what: str) -> StopSet:
    """``s`` itself, or the set named ``s`` among ``system.states``; checked against
    the system's dimension, errors naming the argument ``what``."""
    if isinstance(s, str):
        value = system.states.get(s)
        if not isinstance(value, StopSet):
            raise ValueError(f"`{what}`: {system.name!r} has no set named {s!r}")
        s = value
    if not isinstance(s, StopSet):
        raise ValueError(f"`{what}` must be a StopSet or a set name, got {s!r}")
    if s.dim != system.dim:
        raise ValueError(f"`{what}` lives in R^{s.dim}, the system in R^{system.dim}")
    return s


def _probe_points(p: StopSet) -> np.ndarray:
    """A few points of a primitive (interior and boundary) used to detect overlaps."""
    if isinstance(p, Ball):
        eye = np.eye(p.dim)
        return np.concatenate(
            [p.center[None], p.center + p.radius * eye, p.center - p.radius * eye]
        )
    if isinstance(p, Shell):
        r = 0.5 * (p.inner + p.outer)
        eye = np.eye(p.dim)
        return np.concatenate([p.center + r * eye, p.center - r * eye])
    if isinstance(p, HalfSpace):
        foot = p.offset * p.normal
        return np.stack([foot, foot + p.normal])
    lo, hi = p.lower, p.upper
    # the middle where both bounds are finite, else 1 inside the finite one, else 0;
    # lo + hi only where both are finite (-inf + inf would be NaN, and a RuntimeWarning)
    bounded = np.isfinite(lo) & np.isfinite(hi)
    mid = np.where(np.isfinite(hi), hi - 1.0, np.where(np.isfinite(lo), lo + 1.0, 0.0))
    mid[bounded] = 0.5 * (lo[bounded] + hi[bounded])
    points = [mid]
    for j in range(p.dim):
        for bound in (lo[j], hi[j]):
            if np.isfinite(bound):
                q = mid.copy()
                q[j] = bound
                points.append(q)
    if p.dim <= 6:  # the corners, with infinite bounds replaced by the middle
        lo_f, hi_f = np.where(np.isfinite(lo), lo, mid), np.where(np.isfinite(hi), hi, mid)
        for mask in itertools.product((False, True), repeat=p.dim):
            points.append(np.where(mask, hi_f, lo_f))
    return np.array(points)


def check_disjoint(sets: list[StopSet], names: list[str], what: str = "stop") -> None:
    """Raise a ValueError naming two sets that overlap.

    A probe test: each primitive's centre, extreme points, faces and corners are tested
    for membership in the other sets, which catches nested, identical and most
    intersecting sets (not every sliver of a partial overlap)."""
    for a in range(len(sets)):
        for b in range(a + 1, len(sets)):
            for first, second in ((sets[a], sets[b]), (sets[b], sets[a])):
                probes = np.concatenate([_probe_points(p) for p in first.primitives()])
                if np.any(second.contains(probes)):
                    raise ValueError(
                        f"sets {names[a]!r} and {names[b]!r} of `{what}` overlap: a path "
                        "entering both could be counted in either; make them disjoint"
                    )


def encode_sets(sets: list[StopSet], dim: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Flatten sets into (kind[int64], owner[int64], data[float64, (n, 2 dim + 1)])."""
    rows, kinds, owners = [], [], []
    for k, s in enumerate(sets):
        if not isinstance(s, StopSet):
            raise ValueError(f"`stop[{k}]` must be a Ball, Shell, HalfSpace, Box or Union: {s!r}")
        if s.dim != dim:
            raise ValueError(f"`stop[{k}]` lives in R^{s.dim}, the system in R^{dim}")
        for p in s.primitives():
            row = np.zeros(2 * dim + 1)
            if isinstance(p, Ball):
                kinds.append(BALL)
                row[:dim] = p.center
                row[2 * dim] = p.radius
            elif isinstance(p, Shell):
                kinds.append(SHELL)
                row[:dim] = p.center
                row[dim] = p.inner
                row[2 * dim] = p.outer
            elif isinstance(p, HalfSpace):
                kinds.append(HALFSPACE)
                row[:dim] = p.normal
                row[2 * dim] = p.offset
            else:
                kinds.append(BOX)
                row[:dim] = p.lower
                row[dim : 2 * dim] = p.upper
            owners.append(k)
            rows.append(row)
    data = np.array(rows, dtype=float).reshape(len(rows), 2 * dim + 1)
    return np.array(kinds, dtype=np.int64), np.array(owners, dtype=np.int64), data


@nb.njit(**JIT)
def inside_primitive(kind, row, x):
    d = x.shape[0]
    if kind == BALL:
        s = 0.0
        for j in range(d):
            s += (x[j] - row[j]) ** 2
        return s <= row[2 * d] * row[2 * d]
    if kind == SHELL:
        s = 0.0
        for j in range(d):
            s += (x[j] - row[j]) ** 2
        return row[d] * row[d] <= s <= row[2 * d] * row[2 * d]
    if kind == HALFSPACE:
        s = 0.0
        for j in range(d):
            s += row[j] * x[j]
        return s >= row[2 * d]
    for j in range(d):
        if x[j] < row[j] or x[j] > row[d + j]:
            return False
    return True


@nb.njit(**JIT)
def first_set_containing(kinds, owners, data, x):
    """Index of the first set (by owner) containing x, or -1."""
    for k in range(kinds.shape[0]):
        if inside_primitive(kinds[k], data[k], x):
            return owners[k]
    return -1


@nb.njit(inline="always", **JIT)  # called every step: inline it into the kernels
def signed_distance(kind, row, x, normal):
    """Signed distance from x to the primitive's boundary (> 0 outside, < 0 inside).

    Writes into ``normal`` the unit normal of the boundary at the nearest point, pointing
    into the primitive (for points outside; the Brownian-bridge test only uses those).
    """
    d = x.shape[0]
    if kind == BALL or kind == SHELL:
        r2 = 0.0
        for j in range(d):
            normal[j] = row[j] - x[j]
            r2 += normal[j] ** 2
        r = max(math.sqrt(r2), 1e-300)
        if kind == SHELL and r < 0.5 * (row[d] + row[2 * d]):
            for j in range(d):  # nearer the inner sphere: inward means outward from center
                normal[j] /= -r
            return row[d] - r
        for j in range(d):
            normal[j] /= r
        return r - row[2 * d]
    if kind == HALFSPACE:
        s = 0.0
        for j in range(d):
            normal[j] = row[j]
            s += row[j] * x[j]
        return row[2 * d] - s
    # Box: outside, the Euclidean distance to the box, the normal pointing from x to the
    # nearest point; inside, minus the distance to the nearest finite face.
    s = 0.0
    for j in range(d):
        gap = 0.0
        if x[j] < row[j]:
            gap = row[j] - x[j]
        elif x[j] > row[d + j]:
            gap = row[d + j] - x[j]
        normal[j] = gap
        s += gap * gap
    if s > 0.0:
        r = math.sqrt(s)
        for j in range(d):
            normal[j] /= r
        return r
    depth = math.inf
    for j in range(d):
        depth = min(depth, x[j] - row[j], row[d + j] - x[j])
    return -depth
