"""Initial paths for the instanton solvers, as functions of a normalised parameter s in [0, 1].

Straight line, polylines through waypoints (e.g. fixed points) and seeded smooth random
perturbations of those (sine modes that vanish at both ends).
"""

from __future__ import annotations

import numpy as np
from scipy.interpolate import interp1d

from .._inputs import as_point


def polyline(points: np.ndarray, s: np.ndarray) -> np.ndarray:
    """The polyline through ``points`` (k, d), parametrised by fraction of its length."""
    seg = np.linalg.norm(np.diff(points, axis=0), axis=1)
    knots = np.concatenate([[0.0], np.cumsum(seg)])
    if knots[-1] == 0:
        return np.repeat(points[:1], s.size, axis=0)
    keep = np.concatenate([[True], seg > 0])
    return interp1d(knots[keep] / knots[-1], points[keep], axis=0)(s)


def resample(path: np.ndarray, s: np.ndarray) -> np.ndarray:
    """A user path (k, d), taken as uniform in its own parameter, at parameters ``s``."""
    return interp1d(np.linspace(0.0, 1.0, path.shape[0]), path, axis=0, kind="linear")(s)


def initial_paths(
    system,
    x0: np.ndarray,
    x1: np.ndarray,
    s: np.ndarray,
    *,
    guesses=None,
    waypoints=None,
    n_random: int = 0,
    amplitude: float = 0.5,
    seed: int = 0,
) -> list[tuple[str, np.ndarray]]:
    """Labelled initial paths (len(s), d) from x0 to x1.

    Parameters
    ----------
    guesses
        Paths (k, d) given by the user, resampled uniformly onto ``s``.
    waypoints
        A sequence of waypoint lists; each gives the polyline x0 -> waypoints -> x1.
        A waypoint may be a point or the name of a state of the system.
    n_random
        Number of random perturbations of each deterministic guess.
    amplitude
        Perturbation size relative to |x1 - x0| (or 1 if x0 = x1).
    seed
        Seed of the perturbations.
    """
    d = system.dim
    out = [("straight", polyline(np.array([x0, x1]), s))]
    for i, wps in enumerate(waypoints or ()):
        if isinstance(wps, str) or np.ndim(wps) == 1 and d > 1:
            wps = [wps]
        pts = [as_point(system, w, f"waypoints[{i}]") for w in wps]
        out.append((f"waypoints{i}", polyline(np.array([x0, *pts, x1]), s)))
    for i, g in enumerate(guesses or ()):
        g = np.asarray(g, dtype=float).reshape(-1, d)
        path = resample(g, s)
        path[0], path[-1] = x0, x1
        out.append((f"guess{i}", path))
    rng = np.random.default_rng(seed)
    scale = amplitude * max(float(np.linalg.norm(x1 - x0)), 1.0)
    base = list(out)
    for label, path in base:
        for r in range(n_random):
            modes = np.arange(1, 4)
            coef = rng.normal(size=(modes.size, d)) * scale / modes[:, None]
            bump = np.sin(np.pi * np.outer(s, modes)) @ coef
            out.append((f"{label}+random{r}", path + bump))
    return out
