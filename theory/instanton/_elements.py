"""Elements of the variational discretisation: continuous piecewise polynomials of degree
q on a time grid, with nodes at the Gauss–Lobatto points of each element and the action
integrated by Gauss–Legendre quadrature (:func:`theory._kernels.element_hessians`).

q = 1 with one Gauss point is the midpoint rule of the MAM (:mod:`theory.instanton._newton`);
q >= 2 is the high-order polish (:mod:`theory.instanton._polish`).
"""

from __future__ import annotations

from functools import cache

import numpy as np

from .._kernels import element_hessians, functions

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


def lagrange(xi: np.ndarray, u: np.ndarray, derivative: bool = False) -> np.ndarray:
    """Values (m, len(xi)) of the Lagrange basis on the nodes xi (or of its derivatives)
    at the points u (m,): l_a(u) = prod_{b != a} (u - xi_b) / (xi_a - xi_b), and
    l_a'(u) = sum_{c != a} prod_{b != a, c} (u - xi_b) / (xi_a - xi_b)."""
    diff = np.atleast_1d(np.asarray(u, dtype=float))[:, None] - xi[None, :]
    out = np.empty((diff.shape[0], xi.size))
    for a in range(xi.size):
        others = np.delete(np.arange(xi.size), a)
        scale = np.prod(xi[a] - xi[others])
        if derivative:
            terms = [np.prod(diff[:, np.delete(others, c)], axis=1) for c in range(others.size)]
            out[:, a] = np.sum(terms, axis=0) / scale
        else:
            out[:, a] = np.prod(diff[:, others], axis=1) / scale
    return out


@cache
def basis(q: int):
    """Lobatto nodes xi (q+1) on [0, 1]; Gauss points xg and weights wg on [0, 1] (q+1,
    one for q = 1: the midpoint rule); Lagrange basis values N and xi-derivatives dN at
    the Gauss points."""
    if q < 1:
        raise ValueError(f"`order` must be at least 1, got {q!r}")
    if q == 1:
        xi = np.array([0.0, 1.0])
    else:
        inner = np.polynomial.legendre.Legendre.basis(q).deriv().roots()
        xi = 0.5 * (np.concatenate([[-1.0], np.sort(inner.real), [1.0]]) + 1.0)
    g, w = np.polynomial.legendre.leggauss(q + 1 if q > 1 else 1)
    xg, wg = 0.5 * (g + 1.0), 0.5 * w
    return (
        xi,
        np.ascontiguousarray(xg),
        np.ascontiguousarray(wg),
        lagrange(xi, xg),
        lagrange(xi, xg, True),
    )


def nodes(t: np.ndarray, q: int) -> np.ndarray:
    """Times of the Lobatto nodes of every element of the grid t: (len(t) - 1) q + 1."""
    xi = basis(q)[0]
    h = np.diff(t)
    inner = (t[:-1, None] + h[:, None] * xi[None, :-1]).ravel()
    return np.concatenate([inner, t[-1:]])


def element_terms(system, X, t, q: int, want: bool, lagrangian: str = "fw"):
    """(S, g, H) of the degree-q element action of the nodes X ((len(t) - 1) q + 1, d):
    the action, and with ``want`` each element's gradient (n_el, (q+1)d) and Hessian
    (n_el, (q+1)d, (q+1)d) in its own nodes (:func:`theory._kernels.element_hessians`)."""
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


def halve(t: np.ndarray) -> np.ndarray:
    """The grid t with every segment split at its midpoint."""
    out = np.empty(2 * t.size - 1)
    out[::2] = t
    out[1::2] = 0.5 * (t[1:] + t[:-1])
    return out
