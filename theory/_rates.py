"""Absolute transition rates: Eyring–Kramers (gradient) and Bouchet–Reygner (non-gradient)
prefactors of the mean exit time through an index-1 saddle.

Convention (docs/rates.md): dX = f(X) dt + sqrt(2 eps D) dW, D constant symmetric positive
definite, S = 1/4 ∫ (xdot - f)^T D^{-1} (xdot - f) dt, P ~ e^{-S/eps}. The quasipotential
V(x) (the least action from the attractor m to x) solves the Hamilton–Jacobi equation
∇V^T D ∇V + f·∇V = 0, so f = -D ∇V + l with l·∇V = 0 (the transverse decomposition).
The mean time from m to beyond the saddle s is, as eps -> 0,

    E tau ≈ C e^{ΔV/eps},  ΔV = V(s),
    C = 2π/λ_s sqrt(|det ∇²V(s)| / det ∇²V(m)) exp(∫_{-∞}^{∞} div l(φ(t)) dt),

λ_s the positive eigenvalue of Df(s) and φ the instanton (fluctuation path)
φ' = f + 2 D ∇V(φ) from m (t = -∞) to s (t = +∞). For f = -D ∇U, V = U - U(m), l = 0:
Eyring–Kramers–Langer.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.linalg import expm, solve_continuous_lyapunov
from scipy.optimize import brentq, root

from ._hamilton import drift_curvature
from ._inputs import as_point
from ._rate_kernels import ARRIVED, PASSED, TABLEAU, flow


@dataclass(frozen=True, repr=False)
class Rate:
    """The small-noise mean exit time E tau ≈ C e^{ΔV/eps} through an index-1 saddle.

    Attributes
    ----------
    barrier : float
        ΔV = V(s) - V(m), the quasipotential difference in the action convention
        S = 1/4 ∫ |xdot - f|²_{D^{-1}} dt (no factor 2).
    prefactor : float
        C = 2π/λ_s sqrt(|det ∇²V(s)| / det ∇²V(m)) exp(divergence_integral).
    x_min, x_saddle : numpy.ndarray
        The fixed points (polished by Newton from the points given).
    hessian_min, hessian_saddle : numpy.ndarray
        ∇²V at m and s.
    unstable_eigenvalue : float
        λ_s, the positive eigenvalue of Df(s).
    divergence_integral : float
        ∫ div l(φ(t)) dt along the instanton (0 for gradient systems).
    method : str
        ``"gradient"`` (Eyring–Kramers) or ``"general"`` (Bouchet–Reygner).
    success, message
        Whether every step converged, and how.
    diagnostics : dict
        BVP and Riccati records (``"general"``): residuals, tail estimates, the path.
    """

    barrier: float
    prefactor: float
    x_min: np.ndarray
    x_saddle: np.ndarray
    hessian_min: np.ndarray
    hessian_saddle: np.ndarray
    unstable_eigenvalue: float
    divergence_integral: float
    method: str
    success: bool = True
    message: str = ""
    diagnostics: dict = field(default_factory=dict)

    def mean_time(self, eps):
        """E tau ≈ C e^{ΔV/eps} at noise level(s) ``eps`` (float or array)."""
        e = np.asarray(eps, dtype=float)
        if np.any(~np.isfinite(e)) or np.any(e <= 0):
            raise ValueError(f"`eps` must be positive and finite, got {eps!r}")
        out = self.prefactor * np.exp(self.barrier / e)
        return float(out) if out.ndim == 0 else out

    def __repr__(self) -> str:
        flag = "" if self.success else f", success=False ({self.message})"
        return (
            f"Rate(barrier={self.barrier:.10g}, prefactor={self.prefactor:.10g}, "
            f"method={self.method!r}{flag})"
        )


# --------------------------------------------------------------------------------------
# Fixed points and local quadratic quasipotentials
# --------------------------------------------------------------------------------------


def polish_fixed_point(system, x, what: str) -> np.ndarray:
    """The fixed point f(x) = 0 near ``x`` (a point or state name) by Powell's hybrid
    method; ValueError naming ``what`` when none is found."""
    x0 = as_point(system, x, what)
    sol = root(system.f, x0, jac=system.jacobian, method="hybr", options={"xtol": 1e-14})
    y = sol.x
    res = float(np.max(np.abs(system.f(y))))
    scale = max(1.0, float(np.max(np.abs(system.jacobian(y)))) * max(1.0, np.abs(y).max()))
    if not (np.all(np.isfinite(y)) and res <= 1e-10 * scale):
        raise ValueError(f"`{what}`: no fixed point f(x) = 0 found near {x0} (|f| = {res:.2e})")
    return y


def lyapunov_hessian(A: np.ndarray, D: np.ndarray) -> np.ndarray:
    """∇²V at a stable fixed point with Df = A: P = Σ^{-1}, A Σ + Σ A^T + 2 D = 0
    (Σ/eps is the covariance of the linearised stationary law)."""
    sigma = solve_continuous_lyapunov(A, -2.0 * D)
    P = np.linalg.inv(0.5 * (sigma + sigma.T))
    return 0.5 * (P + P.T)


def riccati_hessian(A: np.ndarray, D: np.ndarray) -> np.ndarray:
    """∇²V at a hyperbolic fixed point: the symmetric solution of the algebraic Riccati
    equation P A + A^T P + 2 P D P = 0 whose graph {(x, P x)} is the invariant subspace of
    the linearised Hamilton equations xdot = A x + 2 D p, pdot = -A^T p with spectrum
    spec(-A^T) (the quasipotential's Lagrangian manifold; the other choice, p = 0, is the
    deterministic flow). Each eigenpair A^T w = λ w gives the vector (x, w) with
    (A + λ) x = -2 D w, eigenvalue -λ; the least-squares x is taken where A + λ is
    singular (λ_i + λ_j = 0, e.g. Maier–Stein's saddle), the symmetric choice there."""
    lam, W = np.linalg.eig(A.T)
    d = A.shape[0]
    X = np.empty_like(W)
    for k in range(d):
        X[:, k] = np.linalg.lstsq(A + lam[k] * np.eye(d), -2.0 * D @ W[:, k], rcond=1e-10)[0]
    P = np.real(W @ np.linalg.inv(X))
    return 0.5 * (P + P.T)


def _riccati_residual(P, A, D) -> float:
    R = P @ A + A.T @ P + 2.0 * P @ D @ P
    return float(np.max(np.abs(R)) / max(1.0, float(np.max(np.abs(P @ A)))))


# --------------------------------------------------------------------------------------
# Checks: index-1 saddle, the saddle on the boundary of the attractor's basin, gradient
# --------------------------------------------------------------------------------------


def _descent(system, s: np.ndarray, u: np.ndarray, m: np.ndarray, lam: float, nu: float):
    """Follow both branches of the saddle's unstable manifold downhill (xdot = f) from
    s ± delta u; returns the branch (relaxation path, (k, d)) that falls into m, or None
    and where the branches ended. lam: the saddle's unstable rate, nu: the slowest rate at
    m (both bound the time). (Hamilton's equations at p = 0 are xdot = f: the rate
    kernel's flow, with m as its target.)"""
    from ._kernels import functions

    d = system.dim
    scale = max(1.0, float(np.linalg.norm(s - m)))
    delta = 1e-6 * scale
    t_max = 4.0 * (np.log(scale / delta) / lam + (np.log(1e3) + 60.0) / nu)
    drift, jac, _ = functions(system)
    n = 2 * d + 2 + d * d
    atol = np.full(n, 1e-12)
    out, info, path = np.empty(n), np.zeros(4), np.empty((20000, d))
    ends = []
    for sign in (1.0, -1.0):
        y0 = np.concatenate([s + sign * delta * u, np.zeros(n - d)])
        status = flow(
            drift, jac, system.params, np.ascontiguousarray(system.D, dtype=float), m, s,
            y0, 0.0, 1.0, 1e-9, atol, np.zeros(n), 0.0, 1e3 * scale, 1e-3 * scale, t_max,
            *TABLEAU, out, info, path,
        )  # fmt: skip
        if status == ARRIVED:
            return np.concatenate([[y0[:d]], path[: min(int(info[1]), len(path))]]), ends
        ends.append(out[:d].copy())
    return None, ends


def _is_gradient(system, points: np.ndarray, tol: float = 1e-7) -> bool:
    """Whether D^{-1} Df(x) is symmetric at every point (then f = -D ∇U locally)."""
    M = system.D_inv @ system.jacobian(points)
    asym = np.abs(M - np.swapaxes(M, -1, -2)).max(axis=(-1, -2))
    return bool(np.all(asym <= tol * (1.0 + np.abs(M).max(axis=(-1, -2)))))


def _gradient_barrier(system, m, s, n: int = 64) -> float:
    """U(s) - U(m) = -∫_m^s (D^{-1} f)·dx on the straight segment (Gauss–Legendre), path
    independent for f = -D ∇U."""
    z, w = np.polynomial.legendre.leggauss(n)
    x = m + np.outer(0.5 * (z + 1.0), s - m)
    g = system.f(x) @ system.D_inv
    return float(-0.5 * np.sum(w * (g @ (s - m))))


# --------------------------------------------------------------------------------------
# General case: the instanton by shooting on the unstable manifold of (m, 0), the Riccati
# equation for ∇²V and the divergence integral along it (numba, theory._rate_kernels)
# --------------------------------------------------------------------------------------


def cubic_quasipotential(A, F, P, D):
    """The cubic Taylor term of V at the attractor, V(m + y) = y^T P y/2 + T[y, y, y]/6 +
    O(|y|⁴): the Hamilton–Jacobi equation ∇V^T D ∇V + f·∇V = 0 at third order in y, with
    f = A y + F[y, y]/2, reads T[y, y, M y] = -(P y)·F[y, y], M = A + 2 D P; in the
    eigenbasis M = W Λ W^{-1} it is diagonal, T'_ijk = -3 G'_ijk/(λ_i + λ_j + λ_k) with
    G the symmetrised cubic form (P y)·F[y, y]."""
    M = A + 2.0 * D @ P
    lam, W = np.linalg.eig(M)
    G = np.einsum("il,ijk->ljk", P, F)
    G = (
        G
        + G.transpose(0, 2, 1)
        + G.transpose(1, 0, 2)
        + G.transpose(1, 2, 0)
        + G.transpose(2, 0, 1)
        + G.transpose(2, 1, 0)
    ) / 6.0
    Gp = np.einsum("abc,ai,bj,ck->ijk", G, W, W, W)
    Tp = -3.0 * Gp / (lam[:, None, None] + lam[None, :, None] + lam[None, None, :])
    Wi = np.linalg.inv(W)
    return np.real(np.einsum("ijk,ia,jb,kc->abc", Tp, Wi, Wi, Wi))


class _Shooter:
    """Hamilton's equations (with the Riccati equation of ∇²V and ∫ div l) from
    m + r0 u on the unstable manifold of (m, 0), to third order in r0: p = P y + T[y, y]/2,
    rescaled to H = 0 exactly, ∇²V = P + T[y], S = V(m + y), and the divergence integral
    before the start, ∫_{-∞}^0 div l dt = c·M^{-1} y (div l = c·y + O(|y|²) near m, the
    path y(t) = e^{M t} y); their errors are O(r0²) and decay or are O(r0²) in total."""

    def __init__(self, system, m, s, Pm, lam, r0, rtol, kappa):
        from ._kernels import functions

        self.system, self.m, self.s, self.Pm, self.r0, self.rtol = system, m, s, Pm, r0, rtol
        d = system.dim
        D = system.D
        A = system.jacobian(m)
        # F[i, j, k] = ∂_j ∂_k f_i(m): the curvature contracted with each unit vector
        F = drift_curvature(system, np.tile(m, (d, 1)), np.zeros(d), np.eye(d))
        self.T = cubic_quasipotential(A, F, Pm, D)
        self.M = A + 2.0 * D @ Pm
        self.c = np.einsum("iik->k", F) + np.einsum("ij,jik->k", D, self.T)
        L = float(np.linalg.norm(s - m))
        self.L = L
        self.near, self.far = 0.5 * L, 2.0 * L
        # the slower of the departure from m and the arrival at s sets the time scale
        rate_min = min(lam, float(np.min(np.real(np.linalg.eigvals(self.M)))))
        self.t_max = 20.0 * (np.log(L / r0) + 10.0) / rate_min
        self.kappa, self.width = kappa, 0.25 * L
        self.drift, self.jac, _ = functions(system)
        self.D = np.ascontiguousarray(D, dtype=float)
        self.n = 2 * d + 2 + d * d
        # absolute error scales: x and p at the start's, S at V's there, ∇²V's, I's
        p_scale = r0 * float(np.max(np.abs(Pm)))
        self.atol = rtol * np.concatenate(
            [
                np.full(d, 1e-3 * r0),
                np.full(d, 1e-3 * p_scale),
                [1e-3 * r0 * p_scale],
                np.full(d * d, float(np.max(np.abs(Pm)))),
                [1.0],
            ]
        )
        self.center = np.concatenate([m, np.zeros(self.n - d)])
        self.path = np.empty((20000, d))

    def start(self, u):
        m = self.m
        y = self.r0 * u / np.linalg.norm(u)
        x0 = m + y
        p0 = self.Pm @ y + 0.5 * np.einsum("ijk,j,k->i", self.T, y, y)
        p0 *= -(p0 @ self.system.f(x0)) / (p0 @ self.D @ p0)
        P0 = self.Pm + np.einsum("ijk,k->ij", self.T, y)
        S0 = 0.5 * y @ self.Pm @ y + np.einsum("ijk,i,j,k->", self.T, y, y, y) / 6.0
        I0 = self.c @ np.linalg.solve(self.M, y)
        return np.concatenate([x0, p0, [S0], P0.ravel(), [I0]])

    def run(self, y0, r_stop):
        out, info = np.empty(self.n), np.zeros(4)
        status = flow(
            self.drift,
            self.jac,
            self.system.params,
            self.D,
            self.s,
            self.m,
            y0,
            self.kappa,
            self.width,
            self.rtol,
            self.atol,
            self.center,
            self.near,
            self.far,
            r_stop,
            self.t_max,
            *TABLEAU,
            out,
            info,
            self.path,
        )
        return status, out, info

    def closest(self, status, out, info):
        """The orbit's closest point to s: the located closest approach (PASSED), else the
        closest step."""
        d = self.system.dim
        k = int(info[3])
        return out[:d] if status == PASSED or k >= len(self.path) else self.path[k].copy()


def _side(guide: np.ndarray, x: np.ndarray, width: float):
    """Where the first of the points x (k, 2) farther than ``width`` from the polyline
    ``guide`` (n, 2) lies: its signed distance across the guide (left positive) and the
    guide's fraction [0, 1] at its nearest point; None if no point is that far."""
    a, seg = guide[:-1], np.diff(guide, axis=0)
    seg2 = np.einsum("ni,ni->n", seg, seg)
    for c in range(0, len(x), 32):  # in chunks: most orbits leave early
        rel = x[c : c + 32, None, :] - a[None]
        w = np.clip(np.einsum("kni,ni->kn", rel, seg) / seg2, 0, 1)
        off = rel - w[..., None] * seg[None]
        dist = np.linalg.norm(off, axis=-1)
        j = np.argmin(dist, axis=1)
        k = np.flatnonzero(dist[np.arange(len(j)), j] > width)
        if k.size:
            k, jk = k[0], j[k[0]]
            cross = seg[jk, 0] * off[k, jk, 1] - seg[jk, 1] * off[k, jk, 0]
            return float(cross / np.linalg.norm(seg[jk])), float((jk + w[k, jk]) / len(seg))
    return None


class _Converged(Exception):
    """Raised by the shooting's miss function at an orbit close enough to s."""

    def __init__(self, theta: float):
        self.theta = theta


def _heteroclinic(shooter, guide, first_step, r_end, basis):
    """The departure direction from m of the instanton m -> s. d = 1: ±1. d = 2: the angle
    where the side on which an orbit of the unstable manifold leaves the instanton changes
    (the orbits fill the plane around it without crossing), by Brent's method on a signed
    miss: for an orbit still inside a tube of width w = |s - m|/20 around the geometric
    instanton ``guide`` (its nodes) when it passes s, the signed distance of its closest
    approach across the guide's last chord (continuous through the root); for one that
    leaves the tube first, ±w (2 - the guide's fraction where it leaves), the side where
    it leaves (nearly continuous, which keeps Brent's method fast). Brackets are sought
    between angles spreading out from the direction of ``first_step``, then on a fan of
    64, nearest first, until an orbit converges onto s. The angle is measured in
    ``basis`` (columns e1, e2: the direction is cos θ e1 + sin θ e2), the slow and fast
    eigenvectors of the linearised fluctuation flow at m where they are real: the
    instanton leaves m tangent to e1, at an angle that shrinks like r0^{q - 1} (q the
    ratio of the rates), which must stay representable."""
    d = shooter.system.dim
    s = shooter.s
    u0 = first_step / np.linalg.norm(first_step)
    if d == 1:
        return u0, 0.0
    if d != 2:
        raise ValueError(
            f"`method='general'` shoots the instanton in d <= 2 only; `system` has d = {d}"
        )
    chord = (guide[-1] - guide[-2]) / np.linalg.norm(guide[-1] - guide[-2])
    ab = np.linalg.solve(basis, u0)
    theta0 = float(np.arctan2(ab[1], ab[0]))
    width = 0.05 * shooter.L
    cache = {}

    def miss(theta):
        if theta not in cache:
            u = basis @ np.array([np.cos(theta), np.sin(theta)])
            status, out, info = shooter.run(shooter.start(u), 0.0)
            steps = min(int(info[1]), len(shooter.path))
            exit_ = _side(guide, shooter.path[:steps], width)
            if status == PASSED and (exit_ is None or info[2] < width):
                x = out[:d]
                value = float(chord[0] * (x[1] - s[1]) - chord[1] * (x[0] - s[0]))
            elif exit_ is None:
                value = width
            else:  # the earlier an orbit leaves the tube, the larger its miss
                value = float(np.sign(exit_[0])) * width * (2.0 - exit_[1])
            cache[theta] = (value, float(info[2]))
            if info[2] < 1e-3 * r_end:
                # close enough: an orbit passing s at c ≪ r_end follows the instanton to
                # within ~c (c/r_end)^{μ/λ} at r_end; Brent's method stops here
                raise _Converged(theta)
        return cache[theta][0]

    def brackets():
        for k in range(12):  # out to ±0.01 * 2^11 rad ≈ ±π on each side, pairwise
            step = 0.01 * 2.0**k
            yield theta0 + 0.5 * step, theta0 + step
            yield theta0 - step, theta0 - 0.5 * step
        fan = theta0 + np.linspace(-np.pi, np.pi, 65)
        for k in np.argsort(np.abs(fan[:-1] + np.pi / 64 - theta0)):
            yield fan[k], fan[k + 1]

    tried = set()
    found = False
    for lo, hi in [(theta0, theta0 + 0.005), (theta0 - 0.005, theta0), *brackets()]:
        try:
            if (lo, hi) in tried or miss(lo) * miss(hi) > 0:
                continue
            tried.add((lo, hi))
            theta = brentq(miss, lo, hi, xtol=1e-15, rtol=1e-15)
            miss(theta)
        except _Converged as done:
            theta = done.theta
        if cache[theta][1] < 0.5 * r_end:
            return basis @ np.array([np.cos(theta), np.sin(theta)]), 0.0
        # a root of the side within the tube that does not reach s: the departure
        # direction is not resolved in double precision at this r0
        if cache[theta][1] < width:
            found = True
            break
    if not found:
        raise ValueError(
            "the instanton from `x_min` does not reach `x_saddle`: no departure direction "
            "from x_min leads to the saddle (no orbit of Hamilton's equations on the "
            "unstable manifold of (x_min, 0) passes it; also the case when the least-"
            "action path is not such an orbit, e.g. when it slides along a steep layer "
            "of the drift, where the quasipotential is not smooth)"
        )
    return None, cache[theta][1]


def _to_saddle(shooter, u, lam, r_abs, messages):
    """The instanton from the start in direction u to |x - s| = 2 r_end and on to r_end:
    the divergence integral truncated there plus its tail div l/λ_s, Richardson-
    extrapolated in |x - s|²; returns it, the final state, ∇²V at both ends and the time."""
    system, s = shooter.system, shooter.s
    d = system.dim
    o = 2 * d + 1
    ends, P_ends = [], []
    y = shooter.start(u)
    T = 0.0
    for r in (2.0 * r_abs, r_abs):
        status, y, info = shooter.run(y, r)
        T += float(info[0])
        if status != ARRIVED:
            messages.append(f"the shot instanton passes s at distance {info[2]:.1e}, not {r:.1e}")
        P = y[o : o + d * d].reshape(d, d)
        P_ends.append(P)
        ends.append((y[-1] + _div_l(system, y[:d], P) / lam, float(np.linalg.norm(y[:d] - s))))
    (I2, r2), (I1, r1) = ends
    return float((I1 * r2**2 - I2 * r1**2) / (r2**2 - r1**2)), y, P_ends, T


def _div_l(system, x, P):
    return float(np.trace(system.jacobian(x)) + np.trace(system.D @ P))


def connecting_saddles(system, x_min, x_to, **fixed_point_options) -> list[np.ndarray]:
    """The index-1 saddles s between the attractors near ``x_min`` and ``x_to``: one branch
    of the unstable manifold of s falls into each (``theory.fixed_points`` finds the
    candidates; options go to it). Sorted by distance from x_min; empty if none."""
    from ._fixed_points import fixed_points

    m = polish_fixed_point(system, x_min, "x_min")
    b = polish_fixed_point(system, x_to, "x_to")
    nu_m = float(np.min(-np.linalg.eigvals(system.jacobian(m)).real))
    nu_b = float(np.min(-np.linalg.eigvals(system.jacobian(b)).real))
    if nu_m <= 0 or nu_b <= 0:
        raise ValueError("`x_min` and `x_to` must be stable fixed points")
    found = []
    for fp in fixed_points(system, guesses=[m, b], **fixed_point_options).points:
        # index 1: one unstable eigenvalue (in 1-D the 'unstable' kind)
        if fp.kind == "non-hyperbolic" or int(np.sum(fp.eigenvalues.real > 0)) != 1:
            continue
        w, V = np.linalg.eig(system.jacobian(fp.x))
        k = int(np.argmax(w.real))
        u = np.real(V[:, k]) / np.linalg.norm(np.real(V[:, k]))
        into_m, _ = _descent(system, fp.x, u, m, float(w[k].real), nu_m)
        into_b, _ = _descent(system, fp.x, u, b, float(w[k].real), nu_b)
        if into_m is not None and into_b is not None:
            # the two branches, not one branch passing near both
            if (into_m[0] - fp.x) @ (into_b[0] - fp.x) < 0:
                found.append(fp.x)
    return sorted(found, key=lambda x: float(np.linalg.norm(x - m)))


# --------------------------------------------------------------------------------------
# The entry point
# --------------------------------------------------------------------------------------


def rate(
    system,
    x_min,
    x_saddle,
    *,
    method: str = "auto",
    n: int = 40,
    r_end: float = 1e-3,
    r_start: float = 1e-4,
    rtol: float = 1e-12,
) -> Rate:
    """Eyring–Kramers / Bouchet–Reygner mean exit time E tau ≈ C e^{ΔV/eps} from the
    attractor near ``x_min`` through the index-1 saddle near ``x_saddle``.

    For dX = f dt + sqrt(2 eps D) dW (D constant SPD), with V the quasipotential from m
    (∇V^T D ∇V + f·∇V = 0, V(m) = 0) and l = f + D ∇V (so that l·∇V = 0):

        ΔV = V(s),
        C  = 2π/λ_s sqrt(|det ∇²V(s)| / det ∇²V(m)) exp(∫_{-∞}^{∞} div l(φ(t)) dt),

    λ_s > 0 the unstable eigenvalue of Df(s), φ the instanton φ' = f + 2 D ∇V(φ) from m to
    s (Bouchet & Reygner 2016, Ann. Henri Poincaré 17, 3499, written for our D and eps:
    change variables y = L^{-1} x with L L^T = D; see docs/rates.md). E tau is the mean time
    to go beyond the saddle (e.g. to the next attractor), to leading order 1/rate;
    the time to merely reach s is half of it.

    - ``method="gradient"`` (chosen by ``"auto"`` when D^{-1} Df is symmetric at m, s and
      along the relaxation path s -> m, i.e. f = -D ∇U): V = U - U(m), ∇²V = -D^{-1} Df,
      l = 0 (Eyring–Kramers–Langer); ΔV by Gauss–Legendre on the straight segment.
    - ``method="general"``: ∇²V(m) from the Lyapunov equation A Σ + Σ A^T + 2 D = 0,
      ∇²V(m) = Σ^{-1} (A = Df(m)); ∇²V(s) from the algebraic Riccati equation
      P A + A^T P + 2 P D P = 0 on the right invariant subspace (:func:`riccati_hessian`);
      the instanton by shooting Hamilton's equations from |x - m| = ``r_start`` on the
      unstable manifold of (m, 0) (to third order: the cubic Taylor term of V from the
      Hamilton–Jacobi equation), its departure direction seeded by the geometric minimum
      action method (``theory.instanton(..., T=None)``), to |x - s| = ``r_end``; ΔV its
      action; ∇²V along it from the Riccati equation
      P' = -(P A + A^T P + 2 P D P + Σ_k p_k ∇²f_k), integrated forward (where it is
      stable) with the orbit, with div l = tr Df + tr(D P); the integral's ends: the
      linear part before r_start in closed form, the tail beyond r_end as div l/λ_s,
      Richardson-extrapolated from 2 r_end and r_end.

    Parameters
    ----------
    system
        An autonomous :class:`~simulate.System` without a diffusion schedule.
    x_min, x_saddle
        Points (or state names) near the attractor m and the saddle s; both are polished
        by Newton's method.
    method
        ``"auto"``, ``"gradient"`` or ``"general"``.
    n
        Nodes of the geometric instanton that seeds the shooting (``"general"``).
    r_end, r_start
        Distances from s and m (relative to |s - m|) where the integration ends and
        starts; the ends' errors are O(r_end³) and O(r_start²).
    rtol
        Relative tolerance of the integration (DOP853).

    Returns
    -------
    Rate
        ``barrier``, ``prefactor``, ``mean_time(eps)``; ``success``/``message`` report
        whether the instanton reached s and ∇²V along it ended at ∇²V(s) (``"general"``).

    Raises
    ------
    ValueError
        When ``x_min`` is not a stable fixed point, ``x_saddle`` not an index-1 saddle, or
        the saddle's unstable manifold does not fall into ``x_min`` (then no instanton
        from ``x_min`` reaches ``x_saddle``).

    Examples
    --------
    >>> from simulate import zoo
    >>> from theory import rate
    >>> r = rate(zoo.double_well(), "left", "saddle")
    >>> round(r.barrier, 12), round(r.prefactor, 12)   # 1/4 and pi sqrt(2)
    (0.25, 4.442882938158)
    """
    if method not in ("auto", "gradient", "general"):
        raise ValueError(f"`method` must be 'auto', 'gradient' or 'general', got {method!r}")
    if not system.autonomous or system.schedule is not None:
        raise ValueError("`system` must be autonomous with a constant D for a rate")
    for name, r in (("r_end", r_end), ("r_start", r_start)):
        if not (np.isfinite(r) and 0 < r < 0.1):
            raise ValueError(f"`{name}` must be in (0, 0.1), got {r!r}")
    if not (np.isfinite(rtol) and 1e-14 <= rtol < 1e-3):
        raise ValueError(f"`rtol` must be in [1e-14, 1e-3), got {rtol!r}")
    m = polish_fixed_point(system, x_min, "x_min")
    s = polish_fixed_point(system, x_saddle, "x_saddle")
    if np.linalg.norm(s - m) < 1e-8:
        raise ValueError("`x_min` and `x_saddle` polish to the same fixed point")
    A_m, A_s = system.jacobian(m), system.jacobian(s)
    eig_m, eig_s = np.linalg.eigvals(A_m), np.linalg.eigvals(A_s)
    tol_eig = 1e-9 * max(1.0, float(np.max(np.abs(eig_s))))
    if np.any(eig_m.real >= 0):
        raise ValueError(f"`x_min` = {m} is not a stable fixed point: Df eigenvalues {eig_m}")
    if np.any(np.abs(eig_s.real) <= tol_eig) or int(np.sum(eig_s.real > 0)) != 1:
        raise ValueError(
            f"`x_saddle` = {s} is not an index-1 saddle: Df eigenvalues {eig_s} "
            f"({int(np.sum(eig_s.real > tol_eig))} unstable)"
        )
    k = int(np.argmax(eig_s.real))
    lam = float(eig_s[k].real)
    w, V = np.linalg.eig(A_s)
    u = np.real(V[:, int(np.argmax(w.real))])
    nu = float(np.min(-eig_m.real))
    path, ends = _descent(system, s, u / np.linalg.norm(u), m, lam, nu)
    if path is None:
        raise ValueError(
            f"the instanton from `x_min` = {m} does not reach `x_saddle` = {s}: neither "
            f"branch of the saddle's unstable manifold falls into x_min (they end near "
            f"{[np.round(e, 6).tolist() for e in ends]}), so s is not on its basin's boundary"
        )
    # test symmetry on the relaxation path and off it (on an invariant line, e.g.
    # Maier–Stein's axis, Df can be symmetric although f is not a gradient)
    pts = np.concatenate([path, [m, s]])
    offsets = (
        0.1 * np.linalg.norm(s - m) * np.concatenate([np.eye(system.dim), -np.eye(system.dim)])
    )
    gradient = _is_gradient(system, (pts[:, None, :] + offsets[None]).reshape(-1, system.dim))
    if method == "auto":
        method = "gradient" if gradient else "general"
    elif method == "gradient" and not gradient:
        raise ValueError("`method='gradient'` but D^{-1} Df is not symmetric: f is not -D ∇U")
    if method == "gradient":
        Hm, Hs = -system.D_inv @ A_m, -system.D_inv @ A_s
        Hm, Hs = 0.5 * (Hm + Hm.T), 0.5 * (Hs + Hs.T)
        C = 2 * np.pi / lam * np.sqrt(abs(np.linalg.det(Hs)) / np.linalg.det(Hm))
        return Rate(
            barrier=_gradient_barrier(system, m, s),
            prefactor=float(C),
            x_min=m,
            x_saddle=s,
            hessian_min=Hm,
            hessian_saddle=Hs,
            unstable_eigenvalue=lam,
            divergence_integral=0.0,
            method="gradient",
            message="Eyring–Kramers (gradient drift)",
        )
    return _general(system, m, s, A_m, A_s, lam, n=n, r_end=r_end, r_start=r_start, rtol=rtol)


def _general(system, m, s, A_m, A_s, lam, *, n, r_end, r_start, rtol) -> Rate:
    from . import instanton  # the public solver (imported late: theory imports this module)

    d = system.dim
    D = system.D
    Pm = lyapunov_hessian(A_m, D)
    Ps = riccati_hessian(A_s, D)
    res_m, res_s = _riccati_residual(Pm, A_m, D), _riccati_residual(Ps, A_s, D)
    ev_s = np.linalg.eigvalsh(Ps)
    messages = []
    if res_s > 1e-8 or int(np.sum(ev_s < 0)) != 1:
        messages.append(
            f"∇²V(s) from the Riccati equation has residual {res_s:.1e} and eigenvalues {ev_s}"
        )
    scale = float(np.linalg.norm(s - m))
    Mm = A_m + 2.0 * D @ Pm
    mu_m, E = np.linalg.eig(Mm)
    basis, q = np.eye(d), 1.0
    if d == 2 and np.all(np.abs(mu_m.imag) <= 1e-12 * np.abs(mu_m).max()):
        order = np.argsort(mu_m.real)
        basis = np.real(E[:, order]) / np.linalg.norm(np.real(E[:, order]), axis=0)
        q = float(mu_m.real[order[1]] / mu_m.real[order[0]])
    # an anisotropic minimum (rates mu_2 = q mu_1): the instanton's angle to e1 at
    # r0 is ~ r0^{q-1}; start at least where it is >= 1e-12 (the cost: O(r0²) start
    # errors), farther out if the shooting's sensitivity still needs it (below)
    r_start = max(r_start, 1e-12 ** (1.0 / (q - 1.0)) if q > 1.0 else 0.0)
    r_abs, r0 = r_end * scale, r_start * scale
    notes = []
    Ms = A_s + 2.0 * D @ Ps
    ev, R = np.linalg.eig(Ms)
    arrival = np.real(R[:, int(np.argmin(np.abs(ev + lam)))])
    arrival /= np.linalg.norm(arrival)
    # the penalty rate of the Riccati equation's tangential part: the linear rates
    kappa = 10.0 * max(float(np.max(np.abs(np.linalg.eigvals(A_m)))), float(np.max(np.abs(ev))))
    inst = instanton(system, m, s, T=None, n=n, tol=1e-5)
    d1 = inst.path[1] - m
    mu = float(np.min(np.real(np.linalg.eigvals(Mm))))
    while True:
        shooter = _Shooter(system, m, s, Pm, lam, r0, rtol, kappa)
        # the geometric instanton's first node, followed back to |x - m| = r0 along the
        # linearised fluctuation flow x - m = e^{M_m t} (x_1 - m) (it spirals where M_m
        # has complex eigenvalues, so the chord's direction alone would be wrong)
        first = expm(-Mm * np.log(np.linalg.norm(d1) / r0) / mu) @ d1
        u, closest = _heteroclinic(shooter, inst.path, first, r_abs, basis)
        if u is not None:
            break
        # the orbits' sensitivity to the angle, ~ (|s - m|/r0)^q, exceeds double
        # precision: start farther out
        if r0 >= 0.05 * scale:
            raise ValueError(
                "the instanton from `x_min` to `x_saddle` cannot be resolved by shooting "
                f"in double precision: from |x - m| = {r0 / scale:.2g} |s - m| the best "
                f"orbit passes s at {closest / scale:.1e} |s - m|, more than r_end"
            )
        r0 = min(10.0 * r0, 0.05 * scale)
    r_start = r0 / scale
    integral, y, P_ends, T = _to_saddle(shooter, u, lam, r_abs, messages)
    if r_start > 1e-3:
        # the start's O(r0²) error in the integral, Richardson-extrapolated from r0 and
        # 2 r0 (the farther start is resolved too: the sensitivity falls with r0)
        far_shooter = _Shooter(system, m, s, Pm, lam, 2.0 * r0, rtol, kappa)
        first = expm(-Mm * np.log(np.linalg.norm(d1) / (2.0 * r0)) / mu) @ d1
        u2, _ = _heteroclinic(far_shooter, inst.path, first, r_abs, basis)
        if u2 is not None:
            integral2 = _to_saddle(far_shooter, u2, lam, r_abs, messages)[0]
            spread = abs(integral2 - integral)
            integral = (4.0 * integral - integral2) / 3.0
            notes.append(
                f"the instanton starts at |x - m| = {r_start:.2g} |s - m| (anisotropic "
                f"minimum, rates in the ratio {q:.3g}); the start's O(r0²) error is "
                f"extrapolated away from r0 and 2 r0 (the integrals differ by "
                f"{spread:.1e}), leaving O(r0³)"
            )
        else:
            notes.append(
                f"the instanton starts at |x - m| = {r_start:.2g} |s - m| (anisotropic "
                f"minimum, rates in the ratio {q:.3g}), so the prefactor's error is "
                f"O({r_start**2:.0e})"
            )
    P = P_ends[1]
    tail = float(_div_l(system, y[:d], P) / lam)
    db = y[:d] - s
    barrier = float(y[2 * d] - 0.5 * db @ Ps @ db)
    # ∇²V(x) = ∇²V(s) + O(|x - s|): extrapolated linearly from 2 r_end and r_end to s
    end_error = float(np.max(np.abs(2.0 * P_ends[1] - P_ends[0] - Ps)) / np.max(np.abs(Ps)))
    if end_error > 1e-4:
        messages.append(
            f"∇²V along the instanton ends at {P.tolist()}, not at the Riccati solution "
            f"∇²V(s) = {Ps.tolist()} (relative difference {end_error:.1e}): a degenerate "
            "saddle (two eigenvalues of Df(s) summing to 0) admits several"
        )
    det_ratio = abs(np.linalg.det(Ps)) / np.linalg.det(Pm)
    C = 2 * np.pi / lam * np.sqrt(det_ratio) * np.exp(integral)
    success = not messages
    status, _, info = shooter.run(shooter.start(u), r_abs)
    path = np.concatenate([[m], shooter.path[: min(int(info[1]), len(shooter.path))], [s]])
    return Rate(
        barrier=barrier,
        prefactor=float(C),
        x_min=m,
        x_saddle=s,
        hessian_min=Pm,
        hessian_saddle=Ps,
        unstable_eigenvalue=lam,
        divergence_integral=integral,
        method="general",
        success=success,
        message="; ".join(
            ["Bouchet–Reygner (non-gradient drift)" if success else "", *messages, *notes]
        ).strip("; "),
        diagnostics={
            "T": T,
            "riccati_residual": (res_m, res_s),
            "riccati_end_error": end_error,
            "tail": tail,
            "gmam_action": float(inst.action),
            "arrival_direction": arrival,
            "path": path,
        },
    )
