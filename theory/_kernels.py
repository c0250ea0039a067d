"""Numba kernels of the theory layer: the midpoint-rule action and its gradient in one pass.

Compiled once for the fixed signatures of :mod:`simulate._numba_types` (drift, Jacobian and
schedule are first-class function values), so one cached kernel serves every system.
"""

from __future__ import annotations

import numba as nb
import numpy as np

from simulate._numba_types import (
    DRIFT_SIGNATURE,
    JACOBIAN_SIGNATURE,
    JIT,
    SCHEDULE_SIGNATURE,
    DriftType,
    JacobianType,
    ScheduleType,
    compiled,
)


def functions(system):
    """(drift, jac, schedule) of a system as address-cached first-class functions."""
    return (
        compiled(system.drift, DRIFT_SIGNATURE),
        compiled(system.jac, JACOBIAN_SIGNATURE),
        compiled(system.schedule_function, SCHEDULE_SIGNATURE),
    )


@nb.njit(inline="always", **JIT)  # inlined into the kernels below
def _weighted_residual(D_inv, inv_sched, r, w):
    """w = D(tau)^{-1} r = D^{-1} r / d(tau) into ``w``; returns r^T D(tau)^{-1} r."""
    d = r.shape[0]
    phi = 0.0
    for i in range(d):
        acc = 0.0
        for j in range(d):
            acc += D_inv[i, j] * r[j]
        w[i] = acc * inv_sched
        phi += r[i] * w[i]
    return phi


@nb.njit(inline="always", **JIT)
def _drift_curvature(jac, x, tau, params, w, scale, xp, Jp, Jm, K):
    """K[j, l] = scale sum_i w_i d^2 f_i / dx_j dx_l at x, by central differences of the
    analytic Jacobian (step 1e-6 max(1, |x_l|)), symmetrised (as
    :func:`theory._hamilton.drift_curvature`); xp, Jp, Jm are scratch."""
    d = x.shape[0]
    for col in range(d):
        eps = 1e-6 * max(1.0, abs(x[col]))
        for i in range(d):
            xp[i] = x[i]
        xp[col] = x[col] + eps
        jac(xp, tau, params, Jp)
        xp[col] = x[col] - eps
        jac(xp, tau, params, Jm)
        for j in range(d):
            acc = 0.0
            for i in range(d):
                acc += w[i] * (Jp[i, j] - Jm[i, j])
            K[j, col] = scale * acc / (2.0 * eps)
    for j in range(d):
        for col in range(j + 1, d):
            sym = 0.5 * (K[j, col] + K[col, j])
            K[j, col] = sym
            K[col, j] = sym


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
        s = _weighted_residual(D_inv, inv_sched, r, g)  # g = D(tau)^{-1} r
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


@nb.njit(
    nb.float64(
        DriftType,
        JacobianType,
        ScheduleType,
        _points,
        _times,
        _times,
        _points,
        _points,
        _points,
        _times,
        _times,
        _times,
        _times,
        nb.boolean,
        _points,
        nb.float64[:, :, ::1],
    ),
    **JIT,
)
def element_hessians(
    drift, jac, schedule, X, t, params, D_inv, N, dN, xg, wg, alpha, beta, want, g, H
):
    """Galerkin action of a continuous piecewise-polynomial path and, with ``want``, each
    element's gradient g (n_el, (q+1)d) and Hessian H (n_el, (q+1)d, (q+1)d) in its own
    q + 1 nodes (see :mod:`theory.instanton._polish`).

    Element k spans [t_k, t_{k+1}] (h = t_{k+1} - t_k) with nodes X[kq + a], a = 0..q;
    at its Gauss points (xi_g, w_g): x_g = sum_a N_ga X_a, v_g = sum_a dN_ga X_a / h,
    r_g = v_g - f(x_g, tau_g), w = M r_g with M = D(tau_g)^{-1}, and

        S_k = h sum_g w_g/4 r_g^T M r_g,    R_a = dN_ga/h I - N_ga Df(x_g),
        dS_k/dX_a = h sum_g w_g/2 R_a^T w,
        d2S_k/dX_a dX_b = h sum_g w_g/2 (R_a^T M R_b - N_ga N_gb K_g),

    K_g = sum_i w_i d^2 f_i (central differences of the analytic Jacobian). q = 1 with
    one Gauss point is the midpoint rule of :func:`action_and_gradient`.

    The Lagrangian is a sum of terms 1/4 |r|^2_M with r = alpha_j v - beta_j f (then
    R_a = alpha_j dN_ga/h I - beta_j N_ga Df and K_g carries beta_j): Freidlin–Wentzell is
    alpha = beta = (1,); the paper's reduced 1/4 |v|^2 + 1/4 |f|^2 is alpha = (1, 0),
    beta = (0, -1)."""
    n_el = t.shape[0] - 1
    d = X.shape[1]
    nq = N.shape[1]
    q = nq - 1
    x = np.empty(d)
    v = np.empty(d)
    xp = np.empty(d)
    f = np.empty(d)
    r = np.empty(d)
    w = np.empty(d)
    J = np.empty((d, d))
    Jp = np.empty((d, d))
    Jm = np.empty((d, d))
    K = np.empty((d, d))
    R = np.empty((d, nq * d))
    MR = np.empty((d, nq * d))
    S = 0.0
    for k in range(n_el):
        h = t[k + 1] - t[k]
        base = k * q
        if want:
            for a in range(nq * d):
                g[k, a] = 0.0
                for b in range(nq * d):
                    H[k, a, b] = 0.0
        for gp in range(xg.shape[0]):
            tau = t[k] + h * xg[gp]
            for i in range(d):
                acc = 0.0
                vel = 0.0
                for a in range(nq):
                    acc += N[gp, a] * X[base + a, i]
                    vel += dN[gp, a] * X[base + a, i]
                x[i] = acc
                v[i] = vel / h
            drift(x, tau, params, f)
            inv_sched = 1.0 / schedule(tau, params)
            if want:
                jac(x, tau, params, J)
            for term in range(alpha.shape[0]):
                al = alpha[term]
                be = beta[term]
                for i in range(d):
                    r[i] = al * v[i] - be * f[i]
                phi = _weighted_residual(D_inv, inv_sched, r, w)
                c = h * wg[gp]
                S += 0.25 * c * phi
                if not want:
                    continue
                _drift_curvature(jac, x, tau, params, w, be, xp, Jp, Jm, K)
                for a in range(nq):
                    for i in range(d):
                        for j in range(d):
                            R[i, a * d + j] = (al * dN[gp, a] / h if i == j else 0.0) - be * N[
                                gp, a
                            ] * J[i, j]
                for i in range(d):
                    for col in range(nq * d):
                        acc = 0.0
                        for j in range(d):
                            acc += D_inv[i, j] * R[j, col]
                        MR[i, col] = acc * inv_sched
                for a in range(nq * d):
                    acc = 0.0
                    for i in range(d):
                        acc += R[i, a] * w[i]
                    g[k, a] += 0.5 * c * acc
                    for b in range(a, nq * d):
                        acc = 0.0
                        for i in range(d):
                            acc += R[i, a] * MR[i, b]
                        H[k, a, b] += 0.5 * c * acc
                for a in range(nq):
                    for b in range(nq):
                        nn = 0.5 * c * N[gp, a] * N[gp, b]
                        for j in range(d):
                            for col in range(d):
                                if a * d + j <= b * d + col:
                                    H[k, a * d + j, b * d + col] -= nn * K[j, col]
        if want:
            for a in range(nq * d):
                for b in range(a):
                    H[k, a, b] = H[k, b, a]
    return S


@nb.njit(
    nb.void(nb.float64[:, ::1], nb.float64[:, :, ::1], nb.int64, nb.float64[::1], _points),
    **JIT,
)
def scatter_banded_kernel(g, H, q, G, ab):
    """Add per-element gradients g (n_el, (q+1)d) and Hessians H (n_el, (q+1)d, (q+1)d)
    into the interior gradient G ((n-2)d) and the lower band ab ((q+1)d, (n-2)d) of the
    Hessian; element k holds nodes kq..kq+q, node j has unknowns (j-1)d.. (end nodes
    fixed). G and ab must be zeroed."""
    n_el, nz = g.shape
    d = nz // (q + 1)
    size = G.shape[0]
    for k in range(n_el):
        for a in range(nz):
            ia = (k * q + a // d - 1) * d + a % d
            if ia < 0 or ia >= size:
                continue
            G[ia] += g[k, a]
            for b in range(nz):
                ib = (k * q + b // d - 1) * d + b % d
                if ib < 0 or ib > ia:
                    continue
                ab[ia - ib, ib] += H[k, a, b]
