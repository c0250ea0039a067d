"""Numba kernels of the theory layer: the midpoint-rule action and its gradient in one pass.

Compiled once for the fixed signatures of :mod:`simulate._config` (drift, Jacobian and
schedule are first-class function values), so one cached kernel serves every system.
"""

from __future__ import annotations

import numba as nb
import numpy as np
from numba.core.types.function_type import WrapperAddressProtocol
from numba.core.typing.typeof import typeof_impl
from numba.experimental.function_type import _get_wrapper_address

from simulate._config import (
    DRIFT_SIGNATURE,
    JACOBIAN_SIGNATURE,
    JIT,
    SCHEDULE_SIGNATURE,
    DriftType,
    JacobianType,
    ScheduleType,
)


class _Compiled(WrapperAddressProtocol):
    """A compiled function with its wrapper address looked up once: numba otherwise
    recomputes it on every call of a kernel that takes the function as an argument."""

    def __init__(self, fn, sig):
        self.fn = fn  # keeps the code alive
        self.sig = sig
        self.addr = _get_wrapper_address(fn, sig)
        self.type = nb.types.FunctionType(sig)

    def __wrapper_address__(self):
        return self.addr

    def signature(self):
        return self.sig


@typeof_impl.register(_Compiled)
def _typeof_compiled(val, c):
    return val.type


_CACHE: dict = {}


def compiled(fn, sig):
    """The :class:`_Compiled` of ``fn`` for ``sig`` (cached by function)."""
    key = (id(fn), id(sig))
    hit = _CACHE.get(key)
    if hit is None or hit.fn is not fn:
        hit = _CACHE[key] = _Compiled(fn, sig)
    return hit


def functions(system):
    """(drift, jac, schedule) of a system as address-cached first-class functions."""
    return (
        compiled(system.drift, DRIFT_SIGNATURE),
        compiled(system.jac, JACOBIAN_SIGNATURE),
        compiled(system.schedule_function, SCHEDULE_SIGNATURE),
    )


_points = nb.float64[:, ::1]
_times = nb.float64[::1]


@nb.njit(
    nb.float64(
        DriftType, JacobianType, ScheduleType, _points, _times, _times, _points, nb.boolean, _points
    ),
    **JIT,
)
def action_and_gradient(drift, jac, schedule, X, t, params, D_inv, want_grad, G):
    """S = sum_k dt_k/4 r_k^T D(tau_k)^{-1} r_k with r_k = v_k - f(m_k, tau_k); with
    ``want_grad`` also dS/dX into G (n, d) (see :func:`theory._action.discrete_action`)."""
    n, d = X.shape
    m = np.empty(d)
    f = np.empty(d)
    r = np.empty(d)
    g = np.empty(d)
    J = np.empty((d, d))
    if want_grad:
        for k in range(n):
            for i in range(d):
                G[k, i] = 0.0
    S = 0.0
    for k in range(n - 1):
        dt = t[k + 1] - t[k]
        tau = 0.5 * (t[k + 1] + t[k])
        for i in range(d):
            m[i] = 0.5 * (X[k + 1, i] + X[k, i])
        drift(m, tau, params, f)
        inv_sched = 1.0 / schedule(tau, params)
        for i in range(d):
            r[i] = (X[k + 1, i] - X[k, i]) / dt - f[i]
        s = 0.0
        for i in range(d):
            acc = 0.0
            for j in range(d):
                acc += D_inv[i, j] * r[j]
            g[i] = acc * inv_sched  # D(tau)^{-1} r
            s += r[i] * g[i]
        S += 0.25 * dt * s
        if want_grad:
            jac(m, tau, params, J)
            for i in range(d):
                g[i] *= 0.5 * dt
            for j in range(d):
                jtg = 0.0
                for i in range(d):
                    jtg += J[i, j] * g[i]
                G[k + 1, j] += g[j] / dt - 0.5 * jtg
                G[k, j] += -g[j] / dt - 0.5 * jtg
    return S
