"""High-order variational polish: Newton on a Galerkin discretisation of the action.

The path is continuous and polynomial of degree q on each element [t_k, t_{k+1}] of a
time grid, with nodes at the Gauss–Lobatto points t_k + h_k xi_a (a = 0..q). The action

    S = sum_k h_k sum_g w_g/4 (v_g - f(x_g, tau_g))^T D(tau_g)^{-1} (v_g - f(x_g, tau_g))

is integrated by (q + 1)-point Gauss–Legendre quadrature on each element (the midpoint rule
is q = 1 with one point). Its stationary points are a Galerkin variational integrator; the
discrete Legendre momenta at the element boundaries,

    P_k = -dS_k/dX_(k, start) = dS_(k-1)/dX_(k-1, end)   (equal at a stationary point),

approximate p(t_k) to high order, so the energy H(x_k, P_k) = P_k^T D P_k + P_k^T f is
conserved up to the (high-order) discretisation error. Newton's method with the banded
Hessian (:func:`theory._newton.newton_banded`) minimises it: unlike collocation of
Hamilton's BVP (solve_bvp), every step descends, so the near-flat time-shift directions of
long-T paths and the thin switching layers of near-discontinuous drifts do not make it
diverge.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import numpy as np
from scipy.interpolate import CubicSpline

from ._kernels import element_hessians, functions
from ._newton import NewtonResult, newton_banded, scatter_banded

LAGRANGIANS = {
    # name: (alpha, beta) of the terms 1/4 |alpha v - beta f|^2 (theory._kernels)
    "fw": (np.array([1.0]), np.array([1.0])),
    "paper": (np.array([1.0, 0.0]), np.array([0.0, -1.0])),
}


def lagrangian_terms(name: str):
    """(alpha, beta) of a Lagrangian by name: ``"fw"`` the Freidlin–Wentzell
    L = 1/4 |v - f|^2, ``"paper"`` the reduced L = 1/4 |v|^2 + 1/4 |f|^2 (norms in
    D(t)^{-1}), which drops the cross term -1/2 v^T D^{-1} f (= -v . score for the
    reverse diffusion)."""
    if name not in LAGRANGIANS:
        raise ValueError(f"`lagrangian` must be one of {sorted(LAGRANGIANS)}, got {name!r}")
    return LAGRANGIANS[name]


@cache
def basis(q: int):
    """Lobatto nodes xi (q+1) on [0, 1]; Gauss points xg and weights wg (q+1) on [0, 1];
    Lagrange basis values N (q+1, q+1) and xi-derivatives dN at the Gauss points."""
    if q < 1:
        raise ValueError(f"`order` must be at least 1, got {q!r}")
    if q == 1:
        xi = np.array([0.0, 1.0])
    else:
        inner = np.polynomial.legendre.Legendre.basis(q).deriv().roots()
        xi = 0.5 * (np.concatenate([[-1.0], np.sort(inner.real), [1.0]]) + 1.0)
    g, w = np.polynomial.legendre.leggauss(q + 1 if q > 1 else 1)
    xg, wg = 0.5 * (g + 1.0), 0.5 * w
    N = np.empty((xg.size, q + 1))
    dN = np.empty((xg.size, q + 1))
    for a in range(q + 1):
        others = np.delete(xi, a)
        poly = np.poly1d(others, r=True) / np.prod(xi[a] - others)
        N[:, a] = poly(xg)
        dN[:, a] = poly.deriv()(xg)
    return xi, np.ascontiguousarray(xg), np.ascontiguousarray(wg), N, dN


def nodes(t: np.ndarray, q: int) -> np.ndarray:
    """Times of the Lobatto nodes of every element of the grid t: (len(t) - 1) q + 1."""
    xi = basis(q)[0]
    h = np.diff(t)
    inner = (t[:-1, None] + h[:, None] * xi[None, :-1]).ravel()
    return np.concatenate([inner, t[-1:]])


def _kernel(system, X, t, q, want, lagrangian="fw"):
    _, xg, wg, N, dN = basis(q)
    alpha, beta = lagrangian_terms(lagrangian)
    n_el = t.size - 1
    nq = (q + 1) * system.dim
    g = np.empty((n_el if want else 0, nq))
    H = np.empty((n_el if want else 0, nq, nq))
    S = element_hessians(
        *functions(system),
        np.ascontiguousarray(X, dtype=float),
        np.ascontiguousarray(t, dtype=float),
        system.params,
        np.ascontiguousarray(system.D_inv),
        N,
        dN,
        xg,
        wg,
        alpha,
        beta,
        want,
        g,
        H,
    )
    return S, g, H


def galerkin_action(system, X, t, q: int, lagrangian: str = "fw") -> float:
    """The Galerkin action of the nodes X ((len(t) - 1) q + 1, d) (module docstring)."""
    return float(_kernel(system, X, t, q, False, lagrangian)[0])


def galerkin_hessian(system, X, t, q: int, lagrangian: str = "fw") -> np.ndarray:
    """Lower banded Hessian of the Galerkin action in the interior nodes."""
    _, g, H = _kernel(system, X, t, q, True, lagrangian)
    return scatter_banded(g, H, X.shape[0], system.dim, q)[1]


@dataclass(frozen=True)
class GalerkinPath:
    """A stationary point of the Galerkin action: element boundary times t, points x and
    discrete Legendre momenta p there, all Lobatto nodes, the action and Newton's record."""

    t: np.ndarray
    x: np.ndarray
    p: np.ndarray
    nodes: np.ndarray
    action: float
    newton: NewtonResult
    order: int


def galerkin_polish(
    system, X, t, *, order: int = 3, rtol: float = 1e-15, lagrangian: str = "fw"
) -> GalerkinPath:
    """Minimise the Galerkin action of degree ``order`` on the element grid t, starting
    from the path X (len(t), d) (a MAM minimiser on the same grid, interpolated by a cubic
    spline to the Lobatto nodes). Needs the system's analytic Jacobian. ``order=1`` is
    Newton on the midpoint rule. ``lagrangian``: see :func:`lagrangian_terms`; the
    momenta are its own, p = dL/dv."""
    t = np.ascontiguousarray(t, dtype=float)
    q = int(order)
    d = system.dim
    tn = nodes(t, q)
    Y = CubicSpline(t, X, axis=0)(tn)
    Y[0], Y[-1] = X[0], X[-1]

    def assemble(Z):
        S, g, H = _kernel(system, Z, t, q, True, lagrangian)
        return (float(S), *scatter_banded(g, H, Z.shape[0], d, q))

    res = newton_banded(
        assemble, lambda Z: galerkin_action(system, Z, t, q, lagrangian), Y, rtol=rtol
    )
    _, g, _ = _kernel(system, res.X, t, q, True, lagrangian)
    P = np.empty((t.size, d))
    P[:-1] = -g[:, :d]  # -dS_k/dX_(k, start)
    P[1:-1] = 0.5 * (P[1:-1] + g[:-1, q * d :])  # mean with dS_(k-1)/dX_(k-1, end)
    P[-1] = g[-1, q * d :]
    return GalerkinPath(
        t=t, x=res.X[::q].copy(), p=P, nodes=res.X, action=res.S, newton=res, order=q
    )
