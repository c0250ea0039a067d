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
    """(drift, jac, schedule) of a system as address-cached first-class functions; a
    system without ``jac`` gets central differences of its drift (:func:`fd_jacobian`)."""
    jac = system.jac if system.jac is not None else fd_jacobian(system.drift)
    return (
        compiled(system.drift, DRIFT_SIGNATURE),
        compiled(jac, JACOBIAN_SIGNATURE),
        compiled(system.schedule_function, SCHEDULE_SIGNATURE),
    )


_FD_JACOBIANS: dict = {}


def fd_jacobian(drift):
    """A numba ``jac(x, t, params, out)`` by central differences of ``drift`` with the
    relative step of :meth:`simulate.System.jacobian` (1e-6 max(1, |x_j|)), so kernels that
    need Df serve systems given without an analytic Jacobian. Cached per drift (the entry
    keeps the drift alive, so its id is not reused)."""
    hit = _FD_JACOBIANS.get(id(drift))
    if hit is not None:
        return hit[1]

    @nb.njit(**JIT)
    def jac(x, t, params, out):
        d = x.shape[0]
        xs = x.copy()
        fp = np.empty(d)
        fm = np.empty(d)
        for j in range(d):
            h = 1e-6 * max(1.0, abs(x[j]))
            xs[j] = x[j] + h
            drift(xs, t, params, fp)
            xs[j] = x[j] - h
            drift(xs, t, params, fm)
            xs[j] = x[j]
            for i in range(d):
                out[i, j] = (fp[i] - fm[i]) / (2.0 * h)

    _FD_JACOBIANS[id(drift)] = (drift, jac)
    return jac


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
        nb.int64,
        _points,
        nb.float64[:, :, ::1],
    ),
    **JIT,
)
def element_hessians(
    drift, jac, schedule, X, t, params, D_inv, N, dN, xg, wg, alpha, beta, level, g, H
):
    """Galerkin action of a continuous piecewise-polynomial path and, with ``level`` 1,
    each element's gradient g (n_el, (q+1)d) in its own q + 1 nodes; with ``level`` 2 also
    each element's Hessian H (n_el, (q+1)d, (q+1)d) (see :mod:`theory.instanton._polish`);
    level 0: the action only.

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
    want = level > 0
    hess = level > 1
    x = np.empty(d)
    v = np.empty(d)
    xp = np.empty(d)
    f = np.empty(d)
    r = np.empty(d)
    w = np.empty(d)
    Jw = np.empty(d)
    J = np.empty((d, d))
    Jp = np.empty((d, d))
    Jm = np.empty((d, d))
    K = np.empty((d, d))
    M = np.empty((d, d))
    MJ = np.empty((d, d))
    JMJ = np.empty((d, d))
    S = 0.0
    for k in range(n_el):
        h = t[k + 1] - t[k]
        base = k * q
        if want:
            for a in range(nq * d):
                g[k, a] = 0.0
        if hess:
            for a in range(nq * d):
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
            if hess:
                # M = D(tau)^{-1}, M J and J^T M J: the blocks of R_a^T M R_b below
                for i in range(d):
                    for j in range(d):
                        M[i, j] = D_inv[i, j] * inv_sched
                for i in range(d):
                    for j in range(d):
                        acc = 0.0
                        for l in range(d):
                            acc += M[i, l] * J[l, j]
                        MJ[i, j] = acc
                for i in range(d):
                    for j in range(d):
                        acc = 0.0
                        for l in range(d):
                            acc += J[l, i] * MJ[l, j]
                        JMJ[i, j] = acc
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
                # dS/dX_a = c/2 R_a^T w = c/2 (alpha dN_a/h w - beta N_a J^T w)
                for j in range(d):
                    acc = 0.0
                    for i in range(d):
                        acc += J[i, j] * w[i]
                    Jw[j] = acc
                for a in range(nq):
                    ca = 0.5 * c * al * dN[gp, a] / h
                    cb = 0.5 * c * be * N[gp, a]
                    for j in range(d):
                        g[k, a * d + j] += ca * w[j] - cb * Jw[j]
                if not hess:
                    continue
                if be != 0.0:
                    _drift_curvature(jac, x, tau, params, w, be, xp, Jp, Jm, K)
                else:
                    K[:, :] = 0.0
                # c/2 (R_a^T M R_b - N_a N_b K): R_a^T M R_b = al^2 dN_a dN_b / h^2 M
                #   - al be / h (dN_a N_b M J + N_a dN_b J^T M) + be^2 N_a N_b J^T M J
                for a in range(nq):
                    da = dN[gp, a] / h
                    na = N[gp, a]
                    for b in range(a, nq):
                        db = dN[gp, b] / h
                        nb_ = N[gp, b]
                        cmm = 0.5 * c * al * al * da * db
                        cab = -0.5 * c * al * be * da * nb_
                        cba = -0.5 * c * al * be * na * db
                        cnn = 0.5 * c * na * nb_
                        for j in range(d):
                            for col in range(d):
                                H[k, a * d + j, b * d + col] += (
                                    cmm * M[j, col]
                                    + cab * MJ[j, col]
                                    + cba * MJ[col, j]
                                    + cnn * (be * be * JMJ[j, col] - K[j, col])
                                )
        if hess:
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


@nb.njit(nb.int64(_points, nb.float64, _points), **JIT)
def band_cholesky(ab, mu, L):
    """Cholesky factor of A + mu I into L, A symmetric positive definite given by its
    lower band ab (kd + 1, n) in LAPACK's storage (ab[i - j, j] = A[i, j]); L has the
    same layout (LAPACK dpbtf2's right-looking column sweep). Returns 0, or the 1-based
    column whose pivot is not positive (A + mu I is not positive definite; LAPACK's
    ``info``)."""
    kd = ab.shape[0] - 1
    n = ab.shape[1]
    for j in range(n):
        for r in range(kd + 1):
            L[r, j] = ab[r, j]
        L[0, j] += mu
    for j in range(n):
        pivot = L[0, j]
        if not pivot > 0.0:  # also catches NaN
            return j + 1
        root = np.sqrt(pivot)
        L[0, j] = root
        m = min(kd, n - 1 - j)
        for r in range(1, m + 1):
            L[r, j] /= root
        for s in range(1, m + 1):
            ls = L[s, j]
            for r in range(s, m + 1):
                L[r - s, j + s] -= L[r, j] * ls
    return 0


@nb.njit(nb.void(_points, _times), **JIT)
def band_solve(L, b):
    """Solve (L L^T) x = b in place, L from :func:`band_cholesky`."""
    kd = L.shape[0] - 1
    n = L.shape[1]
    for j in range(n):
        b[j] /= L[0, j]
        bj = b[j]
        for r in range(1, min(kd, n - 1 - j) + 1):
            b[j + r] -= L[r, j] * bj
    for j in range(n - 1, -1, -1):
        acc = b[j]
        for r in range(1, min(kd, n - 1 - j) + 1):
            acc -= L[r, j] * b[j + r]
        b[j] = acc / L[0, j]


@nb.njit(nb.float64(_points, nb.float64, _points), **JIT)
def shifted_cholesky(ab, start, L):
    """L: the Cholesky factor of ab + mu I (lower band, :func:`band_cholesky`) with
    mu = 0 when ab is positive definite, else the first of start, 4 start, 16 start, ...
    (start at least 1e-10 max|diag|) that makes it so. Returns mu, or -1 when 60 shifts
    did not. Newton passes a quarter of its previous shift as ``start``: the Hessian
    changes little between steps, and each failed factorisation costs as much as a good
    one."""
    scale = 1e-300
    for j in range(ab.shape[1]):
        scale = max(scale, abs(ab[0, j]))
    mu = 0.0
    for _ in range(60):
        if band_cholesky(ab, mu, L) == 0:
            return mu
        mu = max(4.0 * mu, start, 1e-10 * scale)
    return -1.0


@nb.njit(inline="always", **JIT)
def _scatter(k, d, span, gx, Hx, G, ab):
    """Add a term's gradient gx and Hessian Hx in the nodes k..k+span-1 into the interior
    gradient G and lower band ab (end nodes fixed; node j has unknowns (j-1)d..)."""
    size = G.shape[0]
    for a in range(span * d):
        ia = (k + a // d - 1) * d + a % d
        if ia < 0 or ia >= size:
            continue
        G[ia] += gx[a]
        for b in range(span * d):
            ib = (k + b // d - 1) * d + b % d
            if ib < 0 or ib > ia:
                continue
            ab[ia - ib, ib] += Hx[a, b]


@nb.njit(
    nb.float64(
        DriftType,
        JacobianType,
        _points,
        _times,
        _points,
        nb.float64,
        nb.float64,
        nb.boolean,
        _times,
        _points,
    ),
    **JIT,
)
def geometric_terms(drift, jac, X, params, D_inv, mu, chord, want, G, ab):
    """Midpoint-rule geometric action of the nodes X (n, d) plus the chord penalty,

        S = sum_k 1/2 (a_k b_k - c_k) + mu sum_k (a_k - chord)^2,
        a_k = |Delta_k|, b_k = |f(m_k)|, c_k = <Delta_k, f(m_k)>   (D^{-1} norms),

    Delta_k = X_{k+1} - X_k, m_k their midpoint; with ``want`` its gradient in the
    interior nodes into G ((n-2)d) and the lower band (2d, (n-2)d) of its Hessian into ab
    (both zeroed here). Per chord, with u = M Delta/a, w = M f/b (M = D^{-1}):

        d/dDelta = 1/2 (b u - M f) + 2 mu (a - chord) u,     d/df = 1/2 (a w - M Delta),
        d2/dDelta2 = (b/2 + 2 mu (a - chord))/a (M - u u^T) + 2 mu u u^T,
        d2/dDelta df = 1/2 (u w^T - M),                       d2/df2 = a/(2b) (M - w w^T),

    chained through f = f(m) (Jacobian J, curvature sum_i (d/df)_i d2 f_i by central
    differences of J) and Delta, m to X_k, X_{k+1}. With ``chord`` the mean chord, the
    penalty and its gradient vanish on equally spaced nodes, whatever the curve's length
    (see :mod:`theory.instanton._geometric`)."""
    n, d = X.shape
    nd = 2 * d
    m = np.empty(d)
    f = np.empty(d)
    delta = np.empty(d)
    u = np.empty(d)
    w = np.empty(d)
    gF = np.empty(d)
    gD = np.empty(d)
    gm = np.empty(d)
    J = np.empty((d, d))
    xp = np.empty(d)
    Jp = np.empty((d, d))
    Jm = np.empty((d, d))
    K = np.empty((d, d))
    HDD = np.empty((d, d))
    HDF = np.empty((d, d))
    HFF = np.empty((d, d))
    HDm = np.empty((d, d))
    Hmm = np.empty((d, d))
    gx = np.empty(nd)
    Hx = np.empty((nd, nd))
    if want:
        for i in range(G.shape[0]):
            G[i] = 0.0
            for j in range(nd):
                ab[j, i] = 0.0
    S = 0.0
    for k in range(n - 1):
        for i in range(d):
            m[i] = 0.5 * (X[k + 1, i] + X[k, i])
            delta[i] = X[k + 1, i] - X[k, i]
        drift(m, 0.0, params, f)
        a2 = 0.0
        b2 = 0.0
        c = 0.0
        for i in range(d):
            Md = 0.0
            Mf = 0.0
            for j in range(d):
                Md += D_inv[i, j] * delta[j]
                Mf += D_inv[i, j] * f[j]
            u[i] = Md
            w[i] = Mf
            a2 += delta[i] * Md
            b2 += f[i] * Mf
            c += delta[i] * Mf
        a = np.sqrt(max(a2, 0.0))
        b = np.sqrt(max(b2, 0.0))
        e = a - chord
        S += 0.5 * (a * b - c) + mu * e * e
        if not want:
            continue
        ia = max(a, 1e-300)
        ib = max(b, 1e-300)
        for i in range(d):
            u[i] /= ia
            gD[i] = 0.5 * (b * u[i] - w[i]) + 2.0 * mu * e * u[i]
            gF[i] = 0.5 * (a * w[i] / ib - u[i] * a)
        for i in range(d):
            w[i] /= ib
        bend = (0.5 * b + 2.0 * mu * e) / ia
        for i in range(d):
            for j in range(d):
                uu = u[i] * u[j]
                HDD[i, j] = bend * (D_inv[i, j] - uu) + 2.0 * mu * uu
                HDF[i, j] = 0.5 * (u[i] * w[j] - D_inv[i, j])
                HFF[i, j] = 0.5 * a / ib * (D_inv[i, j] - w[i] * w[j])
        jac(m, 0.0, params, J)
        _drift_curvature(jac, m, 0.0, params, gF, 1.0, xp, Jp, Jm, K)
        for j in range(d):
            acc = 0.0
            for i in range(d):
                acc += J[i, j] * gF[i]
            gm[j] = acc
        for i in range(d):
            for j in range(d):
                acc = 0.0
                for l in range(d):
                    acc += HDF[i, l] * J[l, j]
                HDm[i, j] = acc
        for i in range(d):
            for j in range(d):
                acc = K[i, j]
                for l in range(d):
                    for r in range(d):
                        acc += J[l, i] * HFF[l, r] * J[r, j]
                Hmm[i, j] = acc
        # X_k = m - Delta/2, X_{k+1} = m + Delta/2: d/dX_k = -d/dDelta + 1/2 d/dm
        for i in range(d):
            gx[i] = -gD[i] + 0.5 * gm[i]
            gx[d + i] = gD[i] + 0.5 * gm[i]
        for i in range(d):
            for j in range(d):
                mm = 0.25 * Hmm[i, j]
                cij = 0.5 * HDm[i, j]
                cji = 0.5 * HDm[j, i]
                Hx[i, j] = HDD[i, j] - cij - cji + mm
                Hx[d + i, d + j] = HDD[i, j] + cij + cji + mm
                Hx[i, d + j] = -HDD[i, j] - cij + cji + mm
                Hx[d + j, i] = Hx[i, d + j]
        _scatter(k, d, 2, gx, Hx, G, ab)
    return S


@nb.njit(**JIT)
def _mean_chord(X, D_inv):
    """Mean length of the chords X_{k+1} - X_k in the D^{-1} norm."""
    n, d = X.shape
    total = 0.0
    for k in range(n - 1):
        a2 = 0.0
        for i in range(d):
            acc = 0.0
            for j in range(d):
                acc += D_inv[i, j] * (X[k + 1, j] - X[k, j])
            a2 += (X[k + 1, i] - X[k, i]) * acc
        total += np.sqrt(max(a2, 0.0))
    return total / (n - 1)


@nb.njit(nb.void(_points, _points, _times), **JIT)
def chord_length_gradient(X, D_inv, v):
    """v = the gradient of sum_k a_k (a_k = |X_{k+1} - X_k| in the D^{-1} norm) in the
    interior nodes: u_{j-1} - u_j at node j, u_k = D^{-1} Delta_k / a_k the unit chord.
    The exact Hessian of the chord penalty is :func:`geometric_terms`' band minus
    2 mu / (n - 1) v v^T, the term of the mean chord (see
    :mod:`theory.instanton._geometric`)."""
    n, d = X.shape
    u = np.empty(d)
    for k in range(n - 1):
        a2 = 0.0
        for i in range(d):
            acc = 0.0
            for j in range(d):
                acc += D_inv[i, j] * (X[k + 1, j] - X[k, j])
            u[i] = acc
            a2 += (X[k + 1, i] - X[k, i]) * acc
        ia = max(np.sqrt(max(a2, 0.0)), 1e-300)
        for i in range(d):
            if k < n - 2:  # chord k ends at node k + 1: +u_k there
                v[k * d + i] = u[i] / ia
            if k > 0:  # and starts at node k: -u_k
                v[(k - 1) * d + i] -= u[i] / ia


@nb.njit(**JIT)
def _newton_terms(
    kind,
    drift,
    jac,
    schedule,
    X,
    t,
    params,
    D_inv,
    N,
    dN,
    xg,
    wg,
    alpha,
    beta,
    mu,
    hess,
    g,
    H,
    G,
    ab,
):
    """The action of the nodes X for :func:`newton_loop` and, with ``hess``, its interior
    gradient G and lower banded Hessian ab: ``kind`` 0 the element action
    (:func:`element_hessians`, scattered), 1 the penalised geometric action
    (:func:`geometric_terms` with the mean chord of X)."""
    if kind == 1:
        chord = _mean_chord(X, D_inv)
        return geometric_terms(drift, jac, X, params, D_inv, mu, chord, hess, G, ab)
    S = element_hessians(
        drift,
        jac,
        schedule,
        X,
        t,
        params,
        D_inv,
        N,
        dN,
        xg,
        wg,
        alpha,
        beta,
        2 if hess else 0,
        g,
        H,
    )
    if hess:
        G[:] = 0.0
        ab[:, :] = 0.0
        scatter_banded_kernel(g, H, N.shape[1] - 1, G, ab)
    return S


@nb.njit(**JIT)
def _mean_chord_corrected(X, D_inv, c, L, dx, v, z):
    """dx = -B^{-1} G (L the Cholesky factor of B, the band of :func:`geometric_terms`)
    becomes the exact Newton step -(B - c v v^T)^{-1} G, v from
    :func:`chord_length_gradient` (Sherman–Morrison: dx + z c (v.dx) / (1 - c v.z),
    z = B^{-1} v); dx stays where B - c v v^T is not positive definite
    (1 - c v.z <= 0). v and z are scratch."""
    chord_length_gradient(X, D_inv, v)
    z[:] = v
    band_solve(L, z)
    vz = 0.0
    vdx = 0.0
    for i in range(v.shape[0]):
        vz += v[i] * z[i]
        vdx += v[i] * dx[i]
    den = 1.0 - c * vz
    if not den > 0.0:
        return
    scale = c * vdx / den
    for i in range(v.shape[0]):
        dx[i] += scale * z[i]


#: :func:`newton_loop`'s stopping codes (:class:`theory.instanton._newton.NewtonResult`)
NEWTON_CRITERIA = ("", "decrement", "action", "round-off", "no positive definite shift")


@nb.njit(
    nb.types.UniTuple(nb.float64, 5)(
        nb.int64,
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
        nb.float64,
        nb.float64,
        nb.float64,
        nb.int64,
        nb.float64,
    ),
    **JIT,
)
def newton_loop(
    kind,
    drift,
    jac,
    schedule,
    X,
    t,
    params,
    D_inv,
    N,
    dN,
    xg,
    wg,
    alpha,
    beta,
    mu,
    rtol,
    stall,
    maxiter,
    roundoff,
):
    """Newton's method over the interior nodes of X (updated in place; the end nodes stay)
    on the element action (``kind`` 0, degree ``N.shape[1] - 1``: :func:`element_hessians`)
    or the geometric action with chord penalty ``mu`` (``kind`` 1: :func:`geometric_terms`;
    the element arguments are then unused), compiled so that small problems do not pay
    Python's overhead per step (tests and criteria:
    :func:`theory.instanton._newton.newton_elements_loop`). Each step: assembly,
    banded Cholesky of the Hessian shifted (Levenberg, starting at a quarter of the last
    shift) until positive definite, Newton direction (``kind`` 1 where no shift was
    needed: with the rank-one term of the mean chord, :func:`_mean_chord_corrected`, so
    the Hessian is exact), Armijo backtracking (at most 40 halvings), then the stopping
    tests. Returns (S, iterations, last decrement, largest shift, criterion) with
    criterion an index into :data:`NEWTON_CRITERIA` (0: not converged)."""
    n, d = X.shape
    n_el = t.shape[0] - 1 if kind == 0 else 0
    nq = N.shape[1]
    size = (n - 2) * d
    bands = nq * d if kind == 0 else 2 * d
    g = np.empty((n_el, nq * d))
    H = np.empty((n_el, nq * d, nq * d))
    G = np.empty(size)
    ab = np.empty((bands, size))
    L = np.empty((bands, size))
    dx = np.empty(size)
    v = np.empty(size if kind == 1 else 0)
    z = np.empty(size if kind == 1 else 0)
    Xt = X.copy()
    history = np.empty(maxiter + 1)
    dec, shift, last_mu, it, how = np.inf, 0.0, 0.0, 0, 0
    S = _newton_terms(
        kind,
        drift,
        jac,
        schedule,
        X,
        t,
        params,
        D_inv,
        N,
        dN,
        xg,
        wg,
        alpha,
        beta,
        mu,
        False,
        g,
        H,
        G,
        ab,
    )
    history[0] = S
    for it in range(1, maxiter + 1):
        S = _newton_terms(
            kind,
            drift,
            jac,
            schedule,
            X,
            t,
            params,
            D_inv,
            N,
            dN,
            xg,
            wg,
            alpha,
            beta,
            mu,
            True,
            g,
            H,
            G,
            ab,
        )
        if size == 0:
            how = 1
            break
        shift_now = shifted_cholesky(ab, 0.25 * last_mu, L)
        if shift_now < 0.0:
            how = 4
            break
        last_mu = shift_now
        shift = max(shift, shift_now)
        for i in range(size):
            dx[i] = -G[i]
        band_solve(L, dx)
        if kind == 1 and shift_now == 0.0:
            _mean_chord_corrected(X, D_inv, 2.0 * mu / (n - 1), L, dx, v, z)
        dec = 0.0
        for i in range(size):
            dec -= G[i] * dx[i]
        if not np.isfinite(dec) or dec < 0.0:
            break
        step, accepted, St = 1.0, False, S
        for _ in range(40):
            for k in range(1, n - 1):
                for i in range(d):
                    Xt[k, i] = X[k, i] + step * dx[(k - 1) * d + i]
            St = _newton_terms(
                kind,
                drift,
                jac,
                schedule,
                Xt,
                t,
                params,
                D_inv,
                N,
                dN,
                xg,
                wg,
                alpha,
                beta,
                mu,
                False,
                g,
                H,
                G,
                ab,
            )
            if np.isfinite(St) and St <= S - 1e-4 * step * dec + 1e-15 * abs(S):
                accepted = True
                break
            step *= 0.5
        if accepted:
            X[:, :] = Xt
            S = St
        history[it] = S
        if dec <= rtol * (1.0 + abs(S)):
            how = 1
            break
        if it >= 5 and history[it - 5] - S <= stall * (1.0 + abs(S)):
            how = 2
            break
        if not accepted:
            # no descent left: converged when the predicted decrease is at round-off
            if dec <= roundoff * (1.0 + abs(S)):
                how = 3
            break
    return S, float(it), dec, shift, float(how)


@nb.njit(
    nb.types.UniTuple(nb.float64, 3)(
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
        nb.int64,
    ),
    **JIT,
)
def settle_loop(drift, jac, schedule, X, t, params, D_inv, N, dN, xg, wg, alpha, beta, maxiter):
    """Full (undamped) Newton steps on the element action from the nodes X, keeping the
    nodes with the smallest largest gradient component max_i |dS/dX_i| (written back into
    X); stops after two steps that do not lower it, or ``maxiter`` steps (see
    :func:`theory.instanton._newton.settle_gradient`). Returns (their action, steps, 0)
    (the action nan and X unchanged when no gradient was finite), or (nan, steps, 1) when
    no shift made the Hessian positive definite."""
    n, d = X.shape
    n_el = t.shape[0] - 1
    nq = N.shape[1]
    size = (n - 2) * d
    g = np.empty((n_el, nq * d))
    H = np.empty((n_el, nq * d, nq * d))
    G = np.empty(size)
    ab = np.empty((nq * d, size))
    L = np.empty((nq * d, size))
    best_X = X.copy()
    best, best_S, worse, it = np.inf, np.nan, 0, 0
    for it in range(1, maxiter + 1):
        S = _newton_terms(
            0,
            drift,
            jac,
            schedule,
            X,
            t,
            params,
            D_inv,
            N,
            dN,
            xg,
            wg,
            alpha,
            beta,
            0.0,
            True,
            g,
            H,
            G,
            ab,
        )
        largest = 0.0
        for i in range(size):
            largest = max(largest, abs(G[i]))
        if largest < best:
            best, best_S, worse = largest, S, 0
            best_X[:, :] = X
        else:
            worse += 1
            if worse >= 2:
                break
        if shifted_cholesky(ab, 0.0, L) < 0.0:
            X[:, :] = best_X
            return np.nan, float(it), 1.0
        for i in range(size):
            G[i] = -G[i]
        band_solve(L, G)
        for k in range(1, n - 1):
            for i in range(d):
                X[k, i] += G[(k - 1) * d + i]
    X[:, :] = best_X
    return best_S, float(it), 0.0
