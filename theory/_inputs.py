"""Input checks shared by the theory functions: each failure names the argument."""

from __future__ import annotations

import numpy as np


def as_path(system, path, what: str = "path") -> np.ndarray:
    """A path (n, d) of finite values (a 1-D array is accepted for d = 1)."""
    arr = np.asarray(path, dtype=float)
    if arr.ndim == 1 and system.dim == 1:
        arr = arr[:, None]
    if arr.ndim != 2 or arr.shape[1] != system.dim:
        raise ValueError(f"`{what}` must have shape (n, {system.dim}), got {arr.shape}")
    if arr.shape[0] < 2:
        raise ValueError(f"`{what}` needs at least 2 points, got {arr.shape[0]}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"`{what}` has non-finite entries")
    return arr


def as_times(t, n: int, what: str = "t") -> np.ndarray:
    """Strictly increasing finite times of length n."""
    arr = np.asarray(t, dtype=float)
    if arr.ndim != 1 or arr.shape[0] != n:
        raise ValueError(f"`{what}` must have shape ({n},), got {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"`{what}` has non-finite entries")
    if np.any(np.diff(arr) <= 0):
        raise ValueError(f"`{what}` must be strictly increasing")
    return arr


def as_point(system, x, what: str) -> np.ndarray:
    """A named state of the system or a finite point (d,)."""
    if isinstance(x, str):
        try:
            return np.array(system.point(x), dtype=float)
        except ValueError as exc:
            raise ValueError(f"`{what}`: {exc}") from None
    arr = np.atleast_1d(np.asarray(x, dtype=float))
    if arr.shape != (system.dim,) or not np.all(np.isfinite(arr)):
        raise ValueError(f"`{what}` must be a finite point of shape ({system.dim},), got {x!r}")
    return arr


def search_box(system, bounds) -> tuple[np.ndarray, np.ndarray]:
    """(lower, upper) corners of the box to search: ``bounds`` when given, else the
    system's named points padded by half their spread (at least 1) and covering [-2, 2]."""
    d = system.dim
    if bounds is None:
        pts = [np.asarray(v) for v in system.states.values() if isinstance(v, np.ndarray)]
        if not pts:
            return -2.0 * np.ones(d), 2.0 * np.ones(d)
        lo, hi = np.min(pts, axis=0), np.max(pts, axis=0)
        pad = np.maximum(0.5 * (hi - lo), 1.0)
        return np.minimum(lo - pad, -2.0), np.maximum(hi + pad, 2.0)
    if len(bounds) != 2:
        raise ValueError(f"`bounds` must be (lower, upper), got {bounds!r}")
    lo = np.broadcast_to(np.asarray(bounds[0], dtype=float), (d,))
    hi = np.broadcast_to(np.asarray(bounds[1], dtype=float), (d,))
    if not np.all(hi > lo):
        raise ValueError(f"`bounds` must have upper > lower, got {bounds!r}")
    return lo, hi
