"""Exact finite-noise references: what an ensemble must show at every eps, not only as
eps -> 0.

- **Linear Gaussian bridges** (f = -K x): conditioned on X_T = x1 the process is Gaussian;
  its mean is the instanton at every eps and its covariance is proportional to eps. Both
  the continuous-time bridge and the exact bridge of the Euler–Maruyama chain
  X_{k+1} = (I - K dt) X_k + sqrt(2 eps D dt) Z_k are given (the latter has no time-step
  bias, so tests can compare to it within standard errors).
- **Drift-diffusion between absorbing bounds** (dx = v dt + sigma dW on (a, b)): the
  absorbed density by image sums and, for the paper's experiment (absorbed at a at a time
  in [t_lo, t_hi]), the conditioned mean path, the acceptance probability and the
  distribution of the conserved momentum.
- **One-dimensional committors and mean reactive durations** by quadrature.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.linalg import expm
from scipy.special import log_ndtr

from theory._display import fields_repr

# --------------------------------------------------------------------------------------
# Linear Gaussian bridges
# --------------------------------------------------------------------------------------


def linear_drift_matrix(system, atol: float = 1e-9) -> np.ndarray:
    """K with f(x) = -K x, checked at a few points (``ValueError`` when f is not linear)."""
    d = system.dim
    K = -system.jacobian(np.zeros(d))
    rng = np.random.Generator(np.random.PCG64(0))
    for x in rng.normal(size=(3, d)) * 2:
        if not np.allclose(system.f(x), -K @ x, atol=atol * (1 + np.abs(x).max())):
            raise ValueError(f"`system` {system.name!r} is not linear f = -K x")
    return K


@dataclass(frozen=True)
class GaussianBridge:
    """The law of X(t) given X(t0) = x0 and X(T) = x1 for dX = -K X dt + sqrt(2 eps D) dW.

    mean(t) = m(t) + C(t) S(T)^{-1} (x1 - m(T)), cov(t) = S(t) - C(t) S(T)^{-1} C(t)^T,
    with m(t) = e^{-K t} x0, S(t) = Cov X(t) and C(t) = Cov(X(t), X(T)) = S(t) e^{-K^T (T-t)}.
    The mean is the instanton of duration T for every eps (the action is quadratic);
    the covariance is eps times a fixed matrix.

    Attributes
    ----------
    t : (n,) times; mean : (n, d); cov : (n, d, d)
    gain : (n, d, d)
        d mean(t) / d x1: the mean given another endpoint y is mean + gain (y - x1).
    joint_cov : (n d, n d)
        Covariance of all the nodes together (``joint=True``), row-major (node, coord).
    discrete : whether this is the exact bridge of the Euler–Maruyama chain.
    """

    t: np.ndarray
    mean: np.ndarray
    cov: np.ndarray
    gain: np.ndarray
    eps: float
    discrete: bool
    joint_cov: np.ndarray | None = None

    def __repr__(self) -> str:
        return fields_repr(self)

    def mean_given(self, ends: np.ndarray) -> np.ndarray:
        """Bridge means (k, n, d) for endpoints ``ends`` (k, d)."""
        ends = np.atleast_2d(ends)
        shift = ends - self.mean[-1]
        return self.mean[None] + np.einsum("nij,kj->kni", self.gain, shift)

    def to_frame(self) -> pd.DataFrame:
        d = self.mean.shape[1]
        cols = {"t": self.t}
        cols |= {f"x{i}": self.mean[:, i] for i in range(d)}
        cols |= {f"sd{i}": np.sqrt(np.maximum(self.cov[:, i, i], 0.0)) for i in range(d)}
        return pd.DataFrame(cols)


def gaussian_bridge(
    system, x0, x1, t, eps: float, *, dt: float | None = None, joint: bool = False
) -> GaussianBridge:
    """Exact Gaussian bridge of a linear system f = -K x from ``x0`` at t[0] to ``x1`` at t[-1].

    Parameters
    ----------
    system
        A linear :class:`~simulate.System` (f = -K x, constant D, no schedule).
    x0, x1
        End points (d,) or names of the system's states.
    t
        Times (n,) at which the bridge is wanted, increasing, t[-1] = T.
    eps
        Noise level.
    dt
        Euler–Maruyama step: the exact bridge of the EM chain with this step (the times
        ``t`` must lie on its grid). None: the continuous-time bridge.
    joint
        Also compute the covariance of all nodes together (for exact expectations of
        quadratic path statistics, see :func:`expected_statistic`).
    """
    K = linear_drift_matrix(system)
    D = system.D
    d = system.dim
    x0, x1 = system.point(x0), system.point(x1)
    t = np.asarray(t, dtype=float)
    if t.ndim != 1 or t.size < 2 or np.any(np.diff(t) <= 0):
        raise ValueError("`t` must be an increasing 1-D array of at least 2 times")
    if not (np.isfinite(eps) and eps > 0):
        raise ValueError(f"`eps` must be positive, got {eps}")
    t0 = t[0]
    if dt is not None:
        steps = np.rint((t - t0) / dt).astype(int)
        if not np.allclose(steps * dt, t - t0, atol=1e-9 * max(1.0, t[-1] - t0)):
            raise ValueError("`t` must lie on the Euler–Maruyama grid t[0] + k dt")
        M = np.eye(d) - K * dt
        Q = 2 * eps * dt * D
        Ms, Ss = [np.eye(d)], [np.zeros((d, d))]
        for _ in range(steps[-1]):
            Ms.append(M @ Ms[-1])
            Ss.append(M @ Ss[-1] @ M.T + Q)
        Phi = np.array([Ms[k] for k in steps])
        S = np.array([Ss[k] for k in steps])

        def transfer(i, j):  # Cov(X_i, X_j) = S_i (M^T)^{j - i}, i <= j (node indices)
            return S[i] @ Ms[steps[j] - steps[i]].T
    else:
        A = -K
        Phi = np.array([expm(A * (s - t0)) for s in t])
        S = np.empty((t.size, d, d))
        for k, s in enumerate(t):  # Van Loan: blocks of expm([[-A, Q], [0, A^T]] s)
            big = np.zeros((2 * d, 2 * d))
            big[:d, :d] = -A
            big[:d, d:] = 2 * eps * D
            big[d:, d:] = A.T
            E = expm(big * (s - t0))
            S[k] = E[d:, d:].T @ E[:d, d:]
        S = 0.5 * (S + S.transpose(0, 2, 1))

        def transfer(i, j):
            return S[i] @ expm(A * (t[j] - t[i])).T

    n = t.size
    m = Phi @ x0
    ST_inv = np.linalg.inv(S[-1])
    C = np.array([transfer(k, n - 1) for k in range(n)])
    gain = C @ ST_inv
    mean = m + gain @ (x1 - m[-1])
    cov = S - gain @ C.transpose(0, 2, 1)
    cov = 0.5 * (cov + cov.transpose(0, 2, 1))
    joint_cov = None
    if joint:
        J = np.zeros((n * d, n * d))
        for i in range(n):
            for j in range(i, n):
                J[i * d : (i + 1) * d, j * d : (j + 1) * d] = transfer(i, j)
                J[j * d : (j + 1) * d, i * d : (i + 1) * d] = transfer(i, j).T
        G = gain.reshape(n * d, d)
        joint_cov = J - G @ C.reshape(n * d, d).T
        joint_cov = 0.5 * (joint_cov + joint_cov.T)
    return GaussianBridge(
        t=t,
        mean=mean,
        cov=cov,
        gain=gain,
        eps=float(eps),
        discrete=dt is not None,
        joint_cov=joint_cov,
    )


def expected_statistic(statistic, bridge: GaussianBridge, ends=None, weights=None) -> np.ndarray:
    """Exact expectation of a path statistic that is quadratic in the path, under a
    Gaussian bridge (``joint=True``), averaged over the endpoints ``ends`` (k, d).

    For a quadratic g and X ~ N(mu, L L^T),
    E g(X) = g(mu) + 1/2 sum_i [g(mu + L e_i) + g(mu - L e_i) - 2 g(mu)]   (exact).
    ``statistic`` maps paths (k, n, d) to values (k, ...). The endpoint is conditioned on,
    so the fluctuation term does not depend on it; the mean term is averaged over ``ends``
    (with ``weights`` when the ensemble is weighted).
    Quadratic statistics include every momentum-based charge of a linear system (p is
    linear in the path, H and p . (A x + b) are quadratic).
    """
    if bridge.joint_cov is None:
        raise ValueError("`bridge` has no joint covariance: build it with joint=True")
    n, d = bridge.mean.shape
    mus = bridge.mean_given(bridge.mean[-1] if ends is None else ends)
    centre = np.asarray(statistic(mus))
    w = np.full(len(mus), 1.0 / len(mus)) if weights is None else np.asarray(weights, float)
    w = (w / w.sum()).reshape((-1,) + (1,) * (centre.ndim - 1))
    base = np.asarray(statistic(bridge.mean[None]))[0]
    lam, V = np.linalg.eigh(bridge.joint_cov)
    L = V * np.sqrt(np.clip(lam, 0.0, None))  # columns: principal directions
    keep = lam > 1e-14 * max(lam.max(), 1e-300)
    dirs = L[:, keep].T.reshape(-1, n, d)
    plus = np.asarray(statistic(bridge.mean[None] + dirs))
    minus = np.asarray(statistic(bridge.mean[None] - dirs))
    fluct = 0.5 * np.sum(plus + minus - 2 * base, axis=0)
    return np.sum(w * centre, axis=0) + fluct


# --------------------------------------------------------------------------------------
# Drift-diffusion between absorbing bounds: image sums
# --------------------------------------------------------------------------------------


def _dd_parameters(system, eps):
    v = float(system.f(np.zeros(1))[0])
    if not np.allclose(system.f(np.array([0.7])), v):
        raise ValueError(f"`system` {system.name!r} must have a constant drift")
    s2 = 2.0 * eps * float(system.D[0, 0])  # variance rate sigma^2 of the noise
    return v, s2


def absorbed_density(x, t, x0, v, s2, a=-1.0, b=1.0, n_images: int = 12):
    """Density at x (array) at time t > 0 of dx = v dt + sqrt(s2) dW from x0, killed at a
    and b (method of images, Girsanov factor for the drift):

        p = exp(v (x - x0)/s2 - v^2 t/(2 s2)) sum_k [g(x - x0 - 2kL) - g(x - (2a - x0) - 2kL)],

    g the N(0, s2 t) density and L = b - a.
    """
    x = np.asarray(x, dtype=float)
    L = b - a
    k = np.arange(-n_images, n_images + 1).reshape((-1,) + (1,) * x.ndim)
    var = s2 * t
    g1 = np.exp(-((x - x0 - 2 * k * L) ** 2) / (2 * var))
    g2 = np.exp(-((x - (2 * a - x0) - 2 * k * L) ** 2) / (2 * var))
    free = (g1 - g2).sum(0) / np.sqrt(2 * np.pi * var)
    out = np.exp(v * (x - x0) / s2 - v * v * t / (2 * s2)) * free
    return np.where((x > a) & (x < b), np.maximum(out, 0.0), 0.0)


def _log_ig_cdf(u, alpha, mu, s2):
    """log P(first passage of level alpha > 0 by BM with drift mu, variance rate s2, <= u)."""
    su = np.sqrt(s2 * u)
    l1 = log_ndtr((mu * u - alpha) / su)
    l2 = 2 * mu * alpha / s2 + log_ndtr((-mu * u - alpha) / su)
    return np.logaddexp(l1, l2)


def hitting_cdf(u, x, v, s2, a=-1.0, b=1.0, n_images: int = 12):
    """P(absorbed at the lower bound a before b and by time u | x(0) = x), by images.

    The flux into a is -sum_k (w_k / u) g(w_k) exp(v (a - x)/s2 - v^2 u/(2 s2)) with
    w_k = a - x - 2kL; each term is an inverse-Gaussian first-passage density with level
    |w_k| and drift -v sign(w_k), integrated in closed form.
    """
    u = np.asarray(u, dtype=float)
    x = np.asarray(x, dtype=float)
    u, x = np.broadcast_arrays(u, x)
    out = np.zeros(u.shape)
    pos = u > 0
    uu, xx = u[pos], x[pos]
    L = b - a
    total = np.zeros(uu.shape)
    for k in range(-n_images, n_images + 1):
        w = a - xx - 2 * k * L
        sign = -np.sign(w)
        mu = -v * np.sign(w)
        log_term = v * (a - xx + w) / s2 + _log_ig_cdf(uu, np.abs(w), mu, s2)
        total += sign * np.exp(log_term)
    out[pos] = total
    return np.clip(out, 0.0, 1.0)


def hitting_density(u, x, v, s2, a=-1.0, b=1.0, n_images: int = 12):
    """d/du of :func:`hitting_cdf`: density of the time of absorption at a (before b)."""
    u = np.asarray(u, dtype=float)
    L = b - a
    total = np.zeros(np.broadcast(u, np.asarray(x)).shape)
    for k in range(-n_images, n_images + 1):
        w = a - x - 2 * k * L
        g = np.exp(-(w**2) / (2 * s2 * u)) / np.sqrt(2 * np.pi * s2 * u)
        total += -w / u * g
    return total * np.exp(v * (a - x) / s2 - v * v * u / (2 * s2))


@dataclass(frozen=True)
class DriftDiffusionBridge:
    """Paths of dx = v dt + sqrt(2 eps D) dW from x0, absorbed at a at a time in
    [t_lo, t_hi] (before b): the paper's Fig. 1a experiment at noise eps.

    Attributes
    ----------
    t, mean, sd : the conditioned mean path and its spread over the paths still alive at t
    acceptance : probability that a path is accepted
    momentum_mean, momentum_sd : mean and sd over accepted paths of the path-mean momentum
        p = ((a - x0)/tau - v) / (2 D) (tau the absorption time), the conserved charge
    straight : the least-action path x0 + (a - x0) t / t_hi
    """

    t: np.ndarray
    mean: np.ndarray
    sd: np.ndarray
    alive: np.ndarray
    acceptance: float
    momentum_mean: float
    momentum_sd: float
    straight: np.ndarray
    eps: float

    def __repr__(self) -> str:
        return fields_repr(self)

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame(
            {
                "t": self.t,
                "mean": self.mean,
                "sd": self.sd,
                "alive": self.alive,
                "straight": self.straight,
            }
        )


def drift_diffusion_bridge(
    system,
    eps: float,
    t,
    window=(0.95, 1.0),
    x0=None,
    bounds=(-1.0, 1.0),
    n_nodes: int = 400,
) -> DriftDiffusionBridge:
    """Exact conditioned mean path of the drift-diffusion experiment by image sums.

    The density of X_t among accepted paths still alive at t is proportional to
    p(x, t | x0) [F_a(t_hi - t | x) - F_a(max(t_lo - t, 0) | x)], with p the absorbed
    density (:func:`absorbed_density`) and F_a the absorption-time CDF
    (:func:`hitting_cdf`); its mean and sd are integrated by Gauss–Legendre in x.

    Parameters
    ----------
    system
        ``zoo.drift_diffusion()`` or another constant-drift 1-D system.
    eps
        Noise level (noise variance rate 2 eps D).
    t
        Times in [0, t_hi] at which the mean path is wanted.
    window
        Acceptance window (t_lo, t_hi) of the absorption time at the lower bound.
    x0
        Start (default: the system's state "start").
    """
    v, s2 = _dd_parameters(system, eps)
    x0 = float(system.point("start" if x0 is None else np.atleast_1d(x0))[0])
    a, b = bounds
    t_lo, t_hi = (float(s) for s in window)
    t = np.asarray(t, dtype=float)
    nodes, wq = np.polynomial.legendre.leggauss(n_nodes)
    xs = a + (b - a) * (nodes + 1) / 2
    wq = wq * (b - a) / 2
    mean = np.full(t.shape, np.nan)
    sd = np.full(t.shape, np.nan)
    alive = np.full(t.shape, np.nan)
    acc = hitting_cdf(t_hi, x0, v, s2, a, b) - hitting_cdf(t_lo, x0, v, s2, a, b)
    for k, s in enumerate(t):
        if s <= 0:
            mean[k], sd[k], alive[k] = x0, 0.0, 1.0
            continue
        if s >= t_hi:
            continue
        dens = absorbed_density(xs, s, x0, v, s2, a, b)
        h = hitting_cdf(t_hi - s, xs, v, s2, a, b)
        h = h - hitting_cdf(max(t_lo - s, 0.0), xs, v, s2, a, b)
        q = dens * np.clip(h, 0.0, None) * wq
        z = q.sum()
        mean[k] = np.sum(q * xs) / z
        sd[k] = np.sqrt(max(np.sum(q * (xs - mean[k]) ** 2) / z, 0.0))
        alive[k] = z / acc
    # momentum p = ((a - x0)/tau - v)/(2D) over tau ~ absorption density on the window
    tn, tw = np.polynomial.legendre.leggauss(200)
    taus = t_lo + (t_hi - t_lo) * (tn + 1) / 2
    fw = hitting_density(taus, x0, v, s2, a, b) * tw
    pm = ((a - x0) / taus - v) / (2 * float(system.D[0, 0]))
    p_mean = np.sum(fw * pm) / fw.sum()
    p_sd = np.sqrt(max(np.sum(fw * (pm - p_mean) ** 2) / fw.sum(), 0.0))
    return DriftDiffusionBridge(
        t=t,
        mean=mean,
        sd=sd,
        alive=alive,
        acceptance=float(acc),
        momentum_mean=float(p_mean),
        momentum_sd=float(p_sd),
        straight=x0 + (a - x0) * np.clip(t, 0, t_hi) / t_hi,
        eps=float(eps),
    )


# --------------------------------------------------------------------------------------
# One-dimensional committors and reactive durations
# --------------------------------------------------------------------------------------


def _potential_1d(system, a, b, n):
    if system.dim != 1:
        raise ValueError(f"`system` must be one-dimensional, got dim = {system.dim}")
    x = np.linspace(a, b, n)
    f = system.f(x[:, None])[:, 0]
    D = float(system.D[0, 0])
    # Phi(x) = -int_a^x f / D (trapezoid), so f = -D Phi'
    phi = -np.concatenate([[0.0], np.cumsum(0.5 * (f[1:] + f[:-1]) * np.diff(x))]) / D
    return x, phi, D


def _cumtrapz(y, x):
    return np.concatenate([[0.0], np.cumsum(0.5 * (y[1:] + y[:-1]) * np.diff(x))])


def committor_1d(system, a: float, b: float, eps: float, n: int = 20001):
    """Committor q(x) = P(hit b before a | x) on a grid of [a, b] by quadrature:

        q(x) = int_a^x e^{Phi(y)/eps} dy / int_a^b e^{Phi(y)/eps} dy,   Phi' = -f / D.

    Returns (x, q).
    """
    x, phi, _ = _potential_1d(system, a, b, n)
    e = np.exp((phi - phi.max()) / eps)
    c = _cumtrapz(e, x)
    return x, c / c[-1]


def reactive_duration_1d(system, a: float, b: float, eps: float, n: int = 20001) -> float:
    """Mean duration of reactive trajectories from a to b (1-D, by quadrature):

        t_AB = [int_a^b e^{-Phi/eps} q (1 - q) dx] [int_a^b e^{Phi/eps} dx] / (eps D),

    q the committor (:func:`committor_1d`); for free diffusion this is (b - a)^2 / (6 eps D).
    """
    x, phi, D = _potential_1d(system, a, b, n)
    _, q = committor_1d(system, a, b, eps, n)
    m1, m2 = phi.min(), phi.max()
    i1 = np.trapezoid(np.exp(-(phi - m1) / eps) * q * (1 - q), x)
    i2 = np.trapezoid(np.exp((phi - m2) / eps), x)
    return float(i1 * i2 * np.exp((m2 - m1) / eps) / (eps * D))


def conditioned_occupation_1d(
    system, a: float, b: float, eps: float, x0: float, g=None, n: int = 20001
) -> float:
    """E[int_0^tau g(X_t) dt | X_0 = x0, X reaches b before a] in 1-D, by quadrature.

    Conditioned on reaching b first, X is the Doob h-transform of the diffusion by the
    committor q (drift f + 2 eps D q'/q, never reaching a); for it, with scale density
    s = e^{Phi/eps} / q^2 and speed density m = q^2 e^{-Phi/eps} / (eps D),

        E_x0[int_0^tau g] = int_x0^b s(y) int_a^y g(z) m(z) dz dy.

    ``g`` None is g = 1: the mean duration of the paths from x0 that reach b before a
    (from x0 = a: the mean reactive duration, :func:`reactive_duration_1d`). ``g`` maps
    an array of points x to values.
    """
    if not a < x0 < b:
        raise ValueError(f"`x0` must lie in (a, b) = ({a}, {b}), got {x0}")
    x, phi, D = _potential_1d(system, a, b, n)
    _, q = committor_1d(system, a, b, eps, n)
    gx = np.ones_like(x) if g is None else np.asarray(g(x), dtype=float)
    m1, m2 = phi.min(), phi.max()
    inner = _cumtrapz(q * q * np.exp(-(phi - m1) / eps) * gx, x)  # times e^{-m1/eps}
    with np.errstate(divide="ignore", invalid="ignore"):
        # at y = a both factors vanish: q^2 ~ (y - a)^2, the inner integral ~ (y - a)^3
        outer = np.where(q > 0, np.exp((phi - m2) / eps) * inner / (q * q), 0.0)
    keep = x >= x0
    xs = np.concatenate([[x0], x[keep]])
    ys = np.concatenate([[np.interp(x0, x, outer)], outer[keep]])
    return float(np.trapezoid(ys, xs) * np.exp((m2 - m1) / eps) / (eps * D))


def mean_first_passage_1d(
    system, a: float, b: float, eps: float, reflect: float | None = None, n: int = 40001
) -> float:
    """Exact mean first-passage time from ``a`` to ``b`` of a 1-D diffusion, by quadrature.

    For dX = f dt + sqrt(2 eps D) dW with f = -D Phi', reflected at ``reflect`` (on the far
    side of ``a`` from ``b``), the mean time T(a) to reach ``b`` solves eps D T'' + f T' = -1,
    T(b) = 0, T'(reflect) = 0:

        T(a) = 1/(eps D) int_a^b e^{Phi(y)/eps} int_reflect^y e^{-Phi(z)/eps} dz dy

    (for b < a the inner integral runs from y to ``reflect``). Both integrals are
    cumulative trapezoids on ``n`` points over [reflect, b], scaled by the extremes of Phi
    so that nothing overflows before the final factor e^{(max_[a,b] Phi - min Phi)/eps}.

    Parameters
    ----------
    system
        A one-dimensional :class:`~simulate.System`.
    a, b
        Start and target.
    eps
        Noise level.
    reflect
        Reflecting wall behind ``a``; default ``a - (b - a)``. Put it where e^{-Phi/eps}
        is negligible to model an unbounded domain (e.g. -3 for the double well).
    n
        Grid points.

    Returns
    -------
    float
        E tau; for the double well (f = x - x^3, D = 1) from -1 to +1 it tends to
        pi sqrt(2) e^{1/(4 eps)} (Eyring–Kramers) as eps -> 0.
    """
    a, b, eps = float(a), float(b), float(eps)
    if not (np.isfinite(eps) and eps > 0):
        raise ValueError(f"`eps` must be positive and finite, got {eps!r}")
    if a == b:
        raise ValueError(f"`a` and `b` must differ, got a = b = {a!r}")
    reflect = a - (b - a) if reflect is None else float(reflect)
    if not (min(a, b) > reflect or max(a, b) < reflect) or (reflect - a) * (b - a) > 0:
        raise ValueError(f"`reflect` = {reflect!r} must lie beyond `a` = {a!r}, away from `b`")
    if int(n) < 3:
        raise ValueError(f"`n` must be at least 3, got {n!r}")
    sign = 1.0 if b > a else -1.0
    # u = sign * x maps the problem onto reflect < a < b (Phi is unchanged); ``a`` is a node
    n_in = max(2, int(int(n) * abs(a - reflect) / abs(b - a)) + 1)
    u = np.concatenate(
        [np.linspace(sign * reflect, sign * a, n_in), np.linspace(sign * a, sign * b, n)[1:]]
    )
    f = sign * system.f(sign * u[:, None])[:, 0]
    D = float(system.D[0, 0])
    phi = -_cumtrapz(f, u) / D
    ia = n_in - 1
    lo, hi = phi.min(), phi[ia:].max()
    inner = _cumtrapz(np.exp(-(phi - lo) / eps), u)
    # the outer integrand only on [a, b], where e^{(Phi - hi)/eps} <= 1
    value = np.trapezoid(np.exp((phi[ia:] - hi) / eps) * inner[ia:], u[ia:])
    return float(value * np.exp((hi - lo) / eps) / (eps * D))
