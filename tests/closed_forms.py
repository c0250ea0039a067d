"""Closed forms and independent references the tests (and benchmarks) compare against
(derivations in docs/conventions.md)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

OU_START = np.array([-2.0, 2.0])
OU_END = np.array([2.0, 2.0])


@dataclass(frozen=True)
class OUInstanton:
    """The finite-T instanton of the 2-D Ornstein–Uhlenbeck process f = -x, D = I
    (``zoo.monostable``) from ``start`` to ``end`` over [0, T].

    Euler–Lagrange for S = 1/4 ∫ |xdot + x|^2 dt gives xddot = x, so per component
    x(t) = A e^t + B e^{-t} with A + B = x_0, A e^T + B e^{-T} = x_T, i.e.
    A = (x_T - x_0 e^{-T}) / (2 sinh T), B = x_0 - A. Then p = 1/2 (xdot + x) = A e^t,
    H = |p|^2 - p . x = -A . B (constant), L_12 = x_1 p_2 - x_2 p_1 = B_1 A_2 - B_2 A_1
    (constant) and S = sum_i (x_T,i - x_0,i e^{-T})^2 / (2 (1 - e^{-2T})).
    """

    T: float
    start: np.ndarray
    end: np.ndarray

    @property
    def A(self) -> np.ndarray:
        return (self.end - self.start * np.exp(-self.T)) / (2.0 * np.sinh(self.T))

    @property
    def B(self) -> np.ndarray:
        return self.start - self.A

    def path(self, t) -> np.ndarray:
        t = np.asarray(t, dtype=float)
        return np.outer(np.exp(t), self.A) + np.outer(np.exp(-t), self.B)

    def momentum(self, t) -> np.ndarray:
        return np.outer(np.exp(np.asarray(t, dtype=float)), self.A)

    @property
    def action(self) -> float:
        gap = self.end - self.start * np.exp(-self.T)
        return float(gap @ gap / (2.0 * (1.0 - np.exp(-2.0 * self.T))))

    @property
    def energy(self) -> float:
        return float(-self.A @ self.B)

    @property
    def angular_momentum(self) -> float:
        return float(self.B[0] * self.A[1] - self.B[1] * self.A[0])


def ou_instanton(T: float, start=OU_START, end=OU_END) -> OUInstanton:
    """The closed-form OU instanton (:class:`OUInstanton`), by default from (-2, 2) to
    (2, 2): the worked check of docs/conventions.md."""
    return OUInstanton(float(T), np.asarray(start, dtype=float), np.asarray(end, dtype=float))


def maier_stein_graph_minimum(alpha: float, modes: int = 32, points: int = 400):
    """An independent minimiser of Maier–Stein's (mu = 1) geometric action from (-1, 0) to
    (0, 0): the path as a graph y(x) = sum_k c_k sin(k pi (x + 1)), the action integrated by
    ``points``-point Gauss–Legendre in x, minimised by BFGS from an off-axis bump. Any
    graph's action bounds the minimum from above (48 modes and 600 points: ~1e-7 relative
    at alpha = 6). Returns (action, y as a function of x)."""
    from scipy.optimize import minimize

    g, w = np.polynomial.legendre.leggauss(points)
    x, w = 0.5 * (g - 1.0), 0.5 * w
    k = np.arange(1, modes + 1)
    B = np.sin(np.pi * np.outer(x + 1.0, k))
    dB = np.pi * k * np.cos(np.pi * np.outer(x + 1.0, k))

    def action(c):
        y, yp = B @ c, dB @ c
        f0, f1 = x - x**3 - alpha * x * y**2, -(1 + x**2) * y
        return 0.5 * np.sum(w * (np.hypot(1.0, yp) * np.hypot(f0, f1) - (f0 + yp * f1)))

    c0 = np.zeros(modes)
    c0[0] = 0.3
    c = minimize(action, c0, method="BFGS", options={"gtol": 1e-12}).x
    return float(action(c)), lambda xs: np.sin(np.pi * np.outer(xs + 1.0, k)) @ c


def diagonal_ou_action(rates, T: float, start=OU_START, end=OU_END) -> float:
    """The finite-T action of f = -diag(rates) x, D = I, from ``start`` to ``end`` over
    [0, T]: the components decouple, and for one component with rate k the time
    tau = k t turns 1/4 ∫ (xdot + k x)^2 dt into k times the rate-1 action over k T, so
    S = sum_i k_i (x_T,i - x_0,i e^{-k_i T})^2 / (2 (1 - e^{-2 k_i T}))."""
    k = np.asarray(rates, dtype=float)
    gap = np.asarray(end, dtype=float) - np.asarray(start, dtype=float) * np.exp(-k * T)
    return float(np.sum(k * gap**2 / (2.0 * (1.0 - np.exp(-2.0 * k * T)))))


def _chain_drift(x, t, p, out):
    # f = -B ∇V, V = (x0² - 1)²/4 + Σ_{i>=1} w_i², w_i = x_i + b_i (x0² - 1) + g_i x0 x_{i-1}
    # (p = b (d - 1), g (d - 1), B row-major)
    d = x.shape[0]
    grad = np.zeros(d)
    grad[0] = x[0] * (x[0] ** 2 - 1.0)
    for i in range(1, d):
        b, g = p[i - 1], p[d + i - 2]
        w = x[i] + b * (x[0] ** 2 - 1.0) + g * x[0] * x[i - 1]
        grad[i] += 2.0 * w
        grad[0] += 2.0 * w * (2.0 * b * x[0] + g * x[i - 1])
        grad[i - 1] += 2.0 * w * g * x[0]
    o = 2 * d - 2
    for i in range(d):
        acc = 0.0
        for j in range(d):
            acc += p[o + i * d + j] * grad[j]
        out[i] = -acc


def _chain_jacobian(x, t, p, out):
    # Df = -B ∇²V, ∇²V = (3 x0² - 1) e0 e0^T + 2 Σ_i (∇w_i ∇w_i^T + w_i ∇²w_i)
    d = x.shape[0]
    H = np.zeros((d, d))
    H[0, 0] = 3.0 * x[0] ** 2 - 1.0
    gw = np.zeros(d)
    for i in range(1, d):
        b, g = p[i - 1], p[d + i - 2]
        w = x[i] + b * (x[0] ** 2 - 1.0) + g * x[0] * x[i - 1]
        gw[:] = 0.0
        gw[0] += 2.0 * b * x[0] + g * x[i - 1]
        gw[i - 1] += g * x[0]
        gw[i] += 1.0
        for j in range(d):
            for k in range(d):
                H[j, k] += 2.0 * gw[j] * gw[k]
        H[0, 0] += 2.0 * w * 2.0 * b
        H[0, i - 1] += 2.0 * w * g
        H[i - 1, 0] += 2.0 * w * g
    o = 2 * d - 2
    for i in range(d):
        for k in range(d):
            acc = 0.0
            for j in range(d):
                acc += p[o + i * d + j] * H[j, k]
            out[i, k] = -acc


def chain_system(b, g, D=None, J=None, name: str = "chain"):
    """f = -(D + J) ∇V in d = len(b) + 1 dimensions, D SPD (default I), J antisymmetric
    (default 0: the gradient case), with the non-separable
    V = (x0² - 1)²/4 + Σ_{i>=1} (x_i + b_i (x0² - 1) + g_i x0 x_{i-1})². The map
    x -> (x0, w_1, ..., w_{d-1}) is triangular with unit diagonal, so V's critical points
    are w = 0, x0 in {-1, 0, 1} (:func:`chain_points`): minima at x0 = ±1, an index-1
    saddle at x0 = 0, barrier 1/4. l = -J ∇V is orthogonal to ∇V, so V is the
    quasipotential for every D."""
    from simulate import System

    b, g = np.atleast_1d(np.asarray(b, dtype=float)), np.atleast_1d(np.asarray(g, dtype=float))
    d = len(b) + 1
    D = np.eye(d) if D is None else np.asarray(D, dtype=float)
    J = np.zeros((d, d)) if J is None else np.asarray(J, dtype=float)
    if len(g) != d - 1 or D.shape != (d, d) or not np.allclose(J, -J.T):
        raise ValueError("chain_system: b, g of length d - 1, D (d, d), J antisymmetric (d, d)")
    return System(
        drift=_chain_drift,
        jac=_chain_jacobian,
        D=D,
        params=np.concatenate([b, g, (D + J).ravel()]),
        name=name,
    )


def chain_points(b, g) -> tuple[np.ndarray, np.ndarray]:
    """The minimum at x0 = -1 (x_i = g_i x_{i-1}) and the saddle at x0 = 0 (x_i = b_i) of
    :func:`chain_system`."""
    b, g = np.atleast_1d(b), np.atleast_1d(g)
    m = [-1.0]
    for gi in g:
        m.append(gi * m[-1])
    return np.array(m), np.concatenate([[0.0], b])


def chain_prefactor(system, m, s) -> float:
    """The Bouchet–Reygner prefactor of f = -B ∇V with V the quasipotential and l = f + D ∇V
    divergence-free (:func:`chain_system`: div l = -tr(J ∇²V) = 0), from m over s:
    C = 2π/λ_s sqrt(|det ∇²V(s)| / det ∇²V(m)), λ_s the unstable eigenvalue of
    -B ∇²V(s) (docs/rates.md). ∇²V = -B^{-1} Df by central differences of the drift (not
    the analytic Jacobian the rate uses)."""
    d = system.dim
    B = system.params[2 * d - 2 :].reshape(d, d)

    def hess(x):
        h = 1e-5
        cols = [(system.f(x + h * e) - system.f(x - h * e)) / (2 * h) for e in np.eye(d)]
        H = -np.linalg.solve(B, np.column_stack(cols))
        return 0.5 * (H + H.T)

    Hm, Hs = hess(np.asarray(m, float)), hess(np.asarray(s, float))
    lam = max(np.linalg.eigvals(-B @ Hs).real)
    return float(2 * np.pi / lam * np.sqrt(abs(np.linalg.det(Hs)) / np.linalg.det(Hm)))


def antisymmetric_system(b: float, j: float):
    """The 2-D :func:`chain_system` f = -(I + J) ∇V, V = (x² - 1)²/4 + (y + b (x² - 1))²,
    J = j [[0, 1], [-1, 0]]: minima (±1, 0), saddle (0, b), barrier 1/4."""
    return chain_system([b], [0.0], J=j * np.array([[0.0, 1.0], [-1.0, 0.0]]), name="antisymmetric")


def antisymmetric_prefactor(b: float, j: float) -> float:
    """The prefactor of :func:`antisymmetric_system` from (-1, 0) over (0, b)
    (:func:`chain_prefactor`)."""
    return chain_prefactor(antisymmetric_system(b, j), [-1.0, 0.0], [0.0, b])


def _embedded_maier_stein_drift(x, t, p, out):
    # f(x) = R g(R^{-1} x), g(u) = (Maier–Stein(u0, u1), -k u2); p = alpha, mu, k, R, R^{-1}
    alpha, mu, k = p[0], p[1], p[2]
    u = np.zeros(3)
    for i in range(3):
        for j in range(3):
            u[i] += p[12 + 3 * i + j] * x[j]
    g0 = u[0] - u[0] ** 3 - alpha * u[0] * u[1] ** 2
    g1 = -mu * (1.0 + u[0] ** 2) * u[1]
    g2 = -k * u[2]
    for i in range(3):
        out[i] = p[3 + 3 * i] * g0 + p[4 + 3 * i] * g1 + p[5 + 3 * i] * g2


def _embedded_maier_stein_jacobian(x, t, p, out):
    alpha, mu, k = p[0], p[1], p[2]
    u = np.zeros(3)
    for i in range(3):
        for j in range(3):
            u[i] += p[12 + 3 * i + j] * x[j]
    G = np.zeros((3, 3))
    G[0, 0] = 1.0 - 3.0 * u[0] ** 2 - alpha * u[1] ** 2
    G[0, 1] = -2.0 * alpha * u[0] * u[1]
    G[1, 0] = -2.0 * mu * u[0] * u[1]
    G[1, 1] = -mu * (1.0 + u[0] ** 2)
    G[2, 2] = -k
    for i in range(3):
        for j in range(3):
            acc = 0.0
            for a in range(3):
                for c in range(3):
                    acc += p[3 + 3 * i + a] * G[a, c] * p[12 + 3 * c + j]
            out[i, j] = acc


def embedded_maier_stein(alpha: float, mu: float, k: float, R):
    """Maier–Stein (D = I) with a decoupled OU coordinate u2' = -k u2 in the
    coordinates x = R u (R invertible): f(x) = R g(R^{-1} x), D = R R^T. The mean exit
    time does not depend on the coordinates, and the OU coordinate adds the same block to
    ∇²V at m and s and nothing to div l, so the prefactor is the 2-D one; the
    quasipotential is not known in closed form (alpha != 1: not a gradient)."""
    from simulate import System

    R = np.asarray(R, dtype=float)
    return System(
        drift=_embedded_maier_stein_drift,
        jac=_embedded_maier_stein_jacobian,
        D=R @ R.T,
        params=np.concatenate([[alpha, mu, k], R.ravel(), np.linalg.inv(R).ravel()]),
        name="embedded_maier_stein",
    )
