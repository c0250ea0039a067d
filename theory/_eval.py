"""Vectorised evaluation of a system's drift, Jacobian and diffusion schedule along a path.

Thin numba loops over the system's compiled functions (one cached kernel serves every
system); the Python wrappers convert to contiguous float64 and broadcast the times.
"""

from __future__ import annotations

import numba as nb
import numpy as np

from simulate._config import JIT, DriftType, JacobianType, ScheduleType


@nb.njit(
    nb.types.void(
        JacobianType, nb.float64[:, ::1], nb.float64[::1], nb.float64[::1], nb.float64[:, :, ::1]
    ),
    **JIT,
)
def _jac_many(jac, xs, ts, params, out):
    for i in range(xs.shape[0]):
        jac(xs[i], ts[i], params, out[i])


@nb.njit(nb.types.void(ScheduleType, nb.float64[::1], nb.float64[::1], nb.float64[::1]), **JIT)
def _schedule_many(schedule, ts, params, out):
    for i in range(ts.shape[0]):
        out[i] = schedule(ts[i], params)


@nb.njit(
    nb.types.void(
        DriftType, nb.float64[:, ::1], nb.float64[::1], nb.float64[::1], nb.float64[:, ::1]
    ),
    **JIT,
)
def _drift_many(drift, xs, ts, params, out):
    for i in range(xs.shape[0]):
        drift(xs[i], ts[i], params, out[i])


def _times(t, n: int) -> np.ndarray:
    return np.array(np.broadcast_to(np.asarray(t, dtype=float), (n,)), dtype=float, order="C")


def drift(system, x: np.ndarray, t) -> np.ndarray:
    """f(x_i, t_i) for points x (n, d) and times t (scalar or (n,))."""
    xs = np.ascontiguousarray(x, dtype=float)
    out = np.empty_like(xs)
    _drift_many(system.drift, xs, _times(t, xs.shape[0]), system.params, out)
    return out


def jacobian(system, x: np.ndarray, t, step: float = 1e-6) -> np.ndarray:
    """Df(x_i, t_i) (n, d, d): analytic when the system has ``jac``, else central differences."""
    xs = np.ascontiguousarray(x, dtype=float)
    n, d = xs.shape
    ts = _times(t, n)
    out = np.empty((n, d, d))
    if system.jac is not None:
        _jac_many(system.jac, xs, ts, system.params, out)
        return out
    h = step * np.maximum(1.0, np.abs(xs))
    for j in range(d):
        xp = xs.copy()
        xm = xs.copy()
        xp[:, j] += h[:, j]
        xm[:, j] -= h[:, j]
        out[:, :, j] = (drift(system, xp, ts) - drift(system, xm, ts)) / (2 * h[:, j : j + 1])
    return out


def schedule(system, t) -> np.ndarray:
    """d(t_i) (n,), the scalar factor of D(t) = d(t) D (ones without a schedule)."""
    ts = np.array(np.atleast_1d(np.asarray(t, dtype=float)), order="C")
    if system.schedule is None:
        return np.ones_like(ts)
    out = np.empty_like(ts)
    _schedule_many(system.schedule, ts, system.params, out)
    return out
