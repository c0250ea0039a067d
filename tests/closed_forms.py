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
