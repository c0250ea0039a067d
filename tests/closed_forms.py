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


def _antisymmetric_drift(x, t, p, out):
    # f = -(I + J) ∇V, V = (x^2 - 1)^2/4 + (y + b (x^2 - 1))^2, J = j [[0, 1], [-1, 0]]
    b, j = p[0], p[1]
    w = x[1] + b * (x[0] ** 2 - 1.0)
    gx = x[0] * (x[0] ** 2 - 1.0) + 4.0 * b * x[0] * w
    gy = 2.0 * w
    out[0] = -(gx + j * gy)
    out[1] = -(gy - j * gx)


def _antisymmetric_jacobian(x, t, p, out):
    b, j = p[0], p[1]
    w = x[1] + b * (x[0] ** 2 - 1.0)
    hxx = 3.0 * x[0] ** 2 - 1.0 + 4.0 * b * w + 8.0 * b * b * x[0] ** 2
    hxy = 4.0 * b * x[0]
    hyy = 2.0
    out[0, 0] = -(hxx + j * hxy)
    out[0, 1] = -(hxy + j * hyy)
    out[1, 0] = -(hxy - j * hxx)
    out[1, 1] = -(hyy - j * hxy)


def antisymmetric_system(b: float, j: float):
    """f = -(I + J) ∇V, D = I, with V = (x² - 1)²/4 + (y + b (x² - 1))² and
    J = j [[0, 1], [-1, 0]]: minima (±1, 0), saddle (0, b), barrier 1/4."""
    from simulate import System

    return System(
        drift=_antisymmetric_drift,
        jac=_antisymmetric_jacobian,
        D=np.eye(2),
        params=[b, j],
        name="antisymmetric",
    )


def antisymmetric_prefactor(b: float, j: float) -> float:
    """The Bouchet–Reygner prefactor of :func:`antisymmetric_system` from (-1, 0) over
    (0, b) in closed form: l = -J ∇V is orthogonal to ∇V, so V is the quasipotential and
    div l = -tr(J ∇²V) = 0, leaving C = 2π/λ_s sqrt(|det ∇²V(s)| / det ∇²V(m)) with λ_s
    the unstable eigenvalue of Df(s) = -(I + J) ∇²V(s) (docs/rates.md)."""
    Hm = np.array([[2 + 8 * b * b, -4 * b], [-4 * b, 2.0]])  # ∇²V(-1, 0)
    Hs = np.diag([-1.0, 2.0])  # ∇²V(0, b)
    J = j * np.array([[0.0, 1.0], [-1.0, 0.0]])
    lam = max(np.linalg.eigvals(-(np.eye(2) + J) @ Hs).real)
    return float(2 * np.pi / lam * np.sqrt(abs(np.linalg.det(Hs)) / np.linalg.det(Hm)))
