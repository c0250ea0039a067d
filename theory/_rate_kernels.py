"""Numba kernel of :func:`theory.rate`'s general method: Hamilton's equations with the
action and, along them, the Riccati equation of ∇²V and the divergence integral, by an
adaptive Dormand–Prince 8(5,3) integrator (scipy's DOP853 tableau and error norm) with
events located by re-taking the last step with a shorter length (8th-order accurate).

State y = (x, p, S, P (d × d, row-major), I), docs/rates.md:

    x' = f + 2 D p,   p' = -Df^T p,   S' = p^T D p,
    P' = -(P A + A^T P + 2 P D P + K) - kappa w(x) (e u^T + u e^T - (u·e) u u^T),
    I' = div l = tr A + tr(D P),

A = Df(x), K = Σ_k p_k ∇²f_k, u = x'/|x'|, e = P u - p'/|x'| (zero for P = ∇²V, p = ∇V:
the tangential part of the Riccati equation, imposed near the saddle where its arrival
component is unstable in forward time), w(x) = exp(-(|x - s|/width)²) keeps the penalty
away from the start, whose small error in p would otherwise leak into P.
"""

from __future__ import annotations

import numba as nb
import numpy as np
from scipy.integrate import DOP853

from simulate._numba_types import JIT

from ._kernels import _drift_curvature

#: DOP853's tableau (12 stages), its 5th and 3rd order error estimators
TABLEAU = (
    np.ascontiguousarray(DOP853.A, dtype=float),
    np.ascontiguousarray(DOP853.B, dtype=float),
    np.ascontiguousarray(DOP853.C, dtype=float),
    np.ascontiguousarray(DOP853.E3, dtype=float),
    np.ascontiguousarray(DOP853.E5, dtype=float),
)

#: statuses of :func:`flow`
RUNNING, ESCAPED, ARRIVED, TOO_SMALL = 0, 2, 3, 4


@nb.njit(**JIT)
def _rhs(drift, jac, params, D, s, kappa, width, y, out, f, A, K, xp, Jp, Jm, u, e):
    d = s.shape[0]
    x = y[:d]
    p = y[d : 2 * d]
    drift(x, 0.0, params, f)
    jac(x, 0.0, params, A)
    speed2 = 0.0
    sdot = 0.0
    for i in range(d):
        dp = 0.0
        for j in range(d):
            dp += D[i, j] * p[j]
        out[i] = f[i] + 2.0 * dp
        speed2 += out[i] * out[i]
        sdot += p[i] * dp
        acc = 0.0
        for k in range(d):
            acc += A[k, i] * p[k]
        out[d + i] = -acc
    out[2 * d] = sdot
    o = 2 * d + 1
    _drift_curvature(jac, x, 0.0, params, p, 1.0, xp, Jp, Jm, K)
    P = y[o : o + d * d].reshape((d, d))
    Pdot = out[o : o + d * d].reshape((d, d))
    DP = D @ P
    R = P @ A
    Q = P @ DP
    div = 0.0
    for i in range(d):
        div += A[i, i] + DP[i, i]
        for j in range(d):
            Pdot[i, j] = -(R[i, j] + R[j, i] + 2.0 * Q[i, j] + K[i, j])
    r2 = 0.0
    for i in range(d):
        r2 += (x[i] - s[i]) ** 2
    w = kappa * np.exp(-r2 / (width * width))
    if w > 1e-300 and speed2 > 0.0:
        speed = np.sqrt(speed2)
        for i in range(d):
            u[i] = out[i] / speed
        ue = 0.0
        for i in range(d):
            acc = 0.0
            for j in range(d):
                acc += P[i, j] * u[j]
            e[i] = acc - out[d + i] / speed
        for i in range(d):
            ue += u[i] * e[i]
        for i in range(d):
            for j in range(d):
                Pdot[i, j] -= w * (e[i] * u[j] + u[i] * e[j] - ue * u[i] * u[j])
    out[o + d * d] = div


@nb.njit(**JIT)
def _step(drift, jac, params, D, s, kappa, width, y, f0, h, Atab, B, C, Ks, ynew, buf, scr):
    """One DOP853 step of length h from y (derivative f0); the 13th stage row is f(ynew)."""
    n = y.shape[0]
    ns = B.shape[0]
    f, A, K, xp, Jp, Jm, u, e = scr
    for i in range(n):
        Ks[0, i] = f0[i]
    for st in range(1, ns):
        for i in range(n):
            acc = 0.0
            for j in range(st):
                acc += Atab[st, j] * Ks[j, i]
            buf[i] = y[i] + h * acc
        _rhs(drift, jac, params, D, s, kappa, width, buf, Ks[st], f, A, K, xp, Jp, Jm, u, e)
    for i in range(n):
        acc = 0.0
        for j in range(ns):
            acc += B[j] * Ks[j, i]
        ynew[i] = y[i] + h * acc
    _rhs(drift, jac, params, D, s, kappa, width, ynew, Ks[ns], f, A, K, xp, Jp, Jm, u, e)


@nb.njit(**JIT)
def _event(kind, y, s, m, far, r_stop, d):
    """kind 0: |x - m| - far; 1: |x - s| - r_stop."""
    rs = 0.0
    rm = 0.0
    for i in range(d):
        rs += (y[i] - s[i]) ** 2
        rm += (y[i] - m[i]) ** 2
    if kind == 0:
        return np.sqrt(rm) - far
    return np.sqrt(rs) - r_stop


# compiled on first use (not at import: most processes never compute a rate), cached
@nb.njit(**JIT)
def flow(
    drift,
    jac,
    params,
    D,
    s,
    m,
    y0,
    kappa,
    width,
    rtol,
    atol,
    center,
    far,
    r_stop,
    t_max,
    Atab,
    B,
    C,
    E3,
    E5,
    out,
    info,
    path,
):
    """Integrate from y0 (t = 0) until the first event: |x - m| = ``far`` (ESCAPED),
    |x - s| = ``r_stop`` (ARRIVED; r_stop <= 0 disables it) or t = ``t_max``; the error
    of y_i is held below atol_i + rtol |y_i - center_i| (x relative to m: the motion's own
    scale near m). Writes the final state into ``out``; info = (t, steps); x at each
    accepted step into ``path`` (rows beyond its length are dropped). Returns the
    status."""
    d = s.shape[0]
    n = y0.shape[0]
    ns = B.shape[0]
    r0 = 0.0
    for i in range(d):
        r0 += (y0[i] - m[i]) ** 2
    f = np.empty(d)
    A = np.empty((d, d))
    K = np.empty((d, d))
    xp = np.empty(d)
    Jp = np.empty((d, d))
    Jm = np.empty((d, d))
    u = np.empty(d)
    e = np.empty(d)
    scr = (f, A, K, xp, Jp, Jm, u, e)
    Ks = np.empty((ns + 1, n))
    buf = np.empty(n)
    y = y0.copy()
    ynew = np.empty(n)
    ytry = np.empty(n)
    f0 = np.empty(n)
    _rhs(drift, jac, params, D, s, kappa, width, y, f0, f, A, K, xp, Jp, Jm, u, e)
    # first step: the linear scale of the start's motion
    nrm = 0.0
    for i in range(d):
        nrm += f0[i] * f0[i]
    h = 0.01 * np.sqrt(r0 / max(nrm, 1e-300))
    t = 0.0
    steps = 0
    n_path = path.shape[0]
    status = RUNNING
    g_old = np.empty(2)
    for k in range(2):
        g_old[k] = _event(k, y, s, m, far, r_stop, d)
    while status == RUNNING:
        if t >= t_max:
            break
        h = min(h, t_max - t)
        if h < 1e-14 * max(1.0, t):
            status = TOO_SMALL
            break
        _step(drift, jac, params, D, s, kappa, width, y, f0, h, Atab, B, C, Ks, ynew, buf, scr)
        e5 = 0.0
        e3 = 0.0
        for i in range(n):
            sc = atol[i] + max(abs(y[i] - center[i]), abs(ynew[i] - center[i])) * rtol
            a5 = 0.0
            a3 = 0.0
            for j in range(ns + 1):
                a5 += E5[j] * Ks[j, i]
                a3 += E3[j] * Ks[j, i]
            e5 += (a5 / sc) ** 2
            e3 += (a3 / sc) ** 2
        err = 0.0 if e5 == 0.0 and e3 == 0.0 else abs(h) * e5 / np.sqrt((e5 + 0.01 * e3) * n)
        if not np.isfinite(err) or err > 1.0:
            h *= max(0.2, 0.9 * err ** (-1.0 / 8.0)) if np.isfinite(err) else 0.2
            continue
        # accepted: look for an event inside the step
        fired = -1
        for k in range(2):
            if k == 1 and r_stop <= 0.0:
                continue
            g = _event(k, ynew, s, m, far, r_stop, d)
            if (g_old[k] > 0.0 >= g) if k == 1 else (g_old[k] < 0.0 <= g):
                fired = k
                break
        if fired == 1:
            # locate by the Illinois method on the step length, re-taking the step
            lo, hi = 0.0, h
            glo = g_old[fired]
            ghi = _event(fired, ynew, s, m, far, r_stop, d)
            side = 0
            for _ in range(60):
                hm = (lo * ghi - hi * glo) / (ghi - glo)
                _step(
                    drift, jac, params, D, s, kappa, width, y, f0, hm, Atab, B, C, Ks, ytry,
                    buf, scr,
                )  # fmt: skip
                gm = _event(fired, ytry, s, m, far, r_stop, d)
                if (gm < 0.0) == (glo < 0.0):
                    lo, glo = hm, gm
                    if side == -1:
                        ghi *= 0.5
                    side = -1
                else:
                    hi, ghi = hm, gm
                    if side == 1:
                        glo *= 0.5
                    side = 1
                if abs(gm) <= 1e-15 * max(1.0, r0) or hi - lo <= 1e-15 * max(1.0, t):
                    break
            h = hm
            for i in range(n):
                ynew[i] = ytry[i]
            status = ARRIVED
        elif fired == 0:
            status = ESCAPED
        t += h
        for i in range(n):
            y[i] = ynew[i]
            f0[i] = Ks[ns, i]
        if steps < n_path:
            for i in range(d):
                path[steps, i] = y[i]
        steps += 1
        for k in range(2):
            g_old[k] = _event(k, y, s, m, far, r_stop, d)
        if status == RUNNING:
            fac = 10.0 if err == 0.0 else min(10.0, 0.9 * err ** (-1.0 / 8.0))
            h *= fac
    for i in range(n):
        out[i] = y[i]
    info[0] = t
    info[1] = steps
    return status
