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
    "reduced": (np.array([1.0, 0.0]), np.array([0.0, -1.0])),
}


def lagrangian_terms(name: str):
    """(alpha, beta) of a Lagrangian L = 1/4 sum_i |alpha_i v - beta_i f|^2 (norms in
    D(t)^{-1}) by name: ``"fw"`` the Freidlin–Wentzell L = 1/4 |v - f|^2, ``"reduced"``
    L = 1/4 |v|^2 + 1/4 |f|^2 = L_FW + 1/2 v^T D(t)^{-1} f, which drops the cross term
    (-v . score for the reverse diffusion, f = 2 t score, D = t I)."""
    if name not in LAGRANGIANS:
        raise ValueError(f"`lagrangian` must be one of {sorted(LAGRANGIANS)}, got {name!r}")
    return LAGRANGIANS[name]


def lagrangian_hamiltonian(system, x, p, t, name: str) -> tuple[np.ndarray, np.ndarray]:
    """The Hamiltonian of the Lagrangian ``name`` at points x (n, d), times t (n,) and its
    own momenta p = dL/dv (n, d); and the largest magnitude of the terms summed (the scale
    of its round-off).

    With L = 1/4 sum_i |alpha_i v - beta_i f|^2 in the D(t)^{-1} norm, D(t) = d(t) D, and
    A = sum alpha_i^2, B = sum beta_i^2, C = sum alpha_i beta_i:
    p = 1/2 D(t)^{-1} (A v - C f), so v = (2 D(t) p + C f) / A and

        H = p . v - L = 1/4 (A |v|^2 - B |f|^2)
          = (d p^T D p + C p^T f) / A + (C^2 / A - B) f^T D^{-1} f / (4 d).

    Freidlin–Wentzell (A = B = C = 1): H = d p^T D p + p^T f. Reduced (A = B = 1, C = 0):
    H = d p^T D p - f^T D^{-1} f / (4 d). Both equal 1/4 (|v|^2 - |f|^2) on the same
    path (the Lagrangians differ by a term linear in v, which the energy v . dL/dv - L
    does not see), and each is conserved along its own minimisers when f and D do not
    depend on t."""
    alpha, beta = lagrangian_terms(name)
    A, B, C = float(alpha @ alpha), float(beta @ beta), float(alpha @ beta)
    F = system.f(x, t)
    sched = system.diffusion_scale(t)
    kinetic = sched * np.einsum("ki,ij,kj->k", p, system.D, p)
    work = C * np.einsum("ki,ki->k", p, F)
    potential = (C * C / A - B) * np.einsum("ki,ij,kj->k", F, system.D_inv, F) / (4.0 * sched)
    scale = np.maximum(np.maximum(np.abs(kinetic), np.abs(work)), np.abs(potential))
    return (kinetic + work) / A + potential, scale / A


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


def kernel_arguments(system, X, t, q: int, lagrangian: str = "fw") -> tuple:
    """The arguments of the element kernels (:func:`theory._kernels.element_hessians`,
    :func:`theory._kernels.newton_loop`) up to their own options: drift, Jacobian and
    schedule, the nodes X ((len(t) - 1) q + 1, d) (not copied when already a C-contiguous
    float array: the Newton kernel updates it in place), the grid t, the parameters,
    D^{-1}, the degree-q basis at the Gauss points and the Lagrangian's terms."""
    _, xg, wg, N, dN = basis(q)
    alpha, beta = lagrangian_terms(lagrangian)
    return (
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
    )


def element_terms(system, X, t, q: int, want: bool, lagrangian: str = "fw", hessian: bool = True):
    """(S, g, H) of the degree-q element action of the nodes X ((len(t) - 1) q + 1, d):
    the action, and with ``want`` each element's gradient (n_el, (q+1)d) and, unless
    ``hessian`` is False (H is then empty), its Hessian (n_el, (q+1)d, (q+1)d) in its own
    nodes (:func:`theory._kernels.element_hessians`)."""
    n_el = len(t) - 1
    nq = (q + 1) * system.dim
    level = (2 if hessian else 1) if want else 0
    g = np.empty((n_el if level else 0, nq))
    H = np.empty((n_el if level == 2 else 0, nq, nq))
    S = element_hessians(*kernel_arguments(system, X, t, q, lagrangian), level, g, H)
    return S, g, H


def halve(t: np.ndarray) -> np.ndarray:
    """The grid t with every segment split at its midpoint."""
    out = np.empty(2 * t.size - 1)
    out[::2] = t
    out[1::2] = 0.5 * (t[1:] + t[:-1])
    return out
