"""Newton's method on the discrete action: the exact minimiser of the midpoint-rule action
on a grid, its discrete Noether charges, and its Hessian (is it a minimum?).

The midpoint action S = sum_k L_k(x_k, x_{k+1}, h_k), L_k = h_k/4 |v_k - f(m_k)|^2 in the
D(tau_k)^{-1} norm (see :mod:`theory._action`), is a discrete Lagrangian: its stationary
points are a variational integrator. Discrete Noether theorem: with the node momenta

    P_k^- = dL_{k-1}/dx_k = p_{k-1} - h_{k-1}/2 J_{k-1}^T p_{k-1},
    P_k^+ = -dL_k/dx_k    = p_k + h_k/2 J_k^T p_k                   (p_k = 1/2 M_k r_k),

stationarity in x_k is P_k^- = P_k^+, and a linear symmetry xi(x) = A x + b of every L_k
(f equivariant, A D + D A^T = 0) makes Q_k = P_k . xi(x_k) exactly constant in k, to
round-off, on any grid (the reverse-diffusion rotation on the paper's 50-point grid).
The energy is not: on a fixed grid the discrete energy

    E_k = 1/4 (|v_k|^2 - |f(m_k)|^2)       (norms in D^{-1}; = H on a continuous path)

drifts by O(h^2) times the drift's curvature. (Freeing the node times would make E_k
exactly constant too, but the midpoint rule then lets long segments "tunnel" through
regions their midpoint does not see: on decision_memory the nodes collapse.)

The Hessian is banded (each segment couples two nodes); it is assembled from the
per-segment Hessians (degree-1 elements, :func:`theory.instanton._elements.element_terms`) and
factored by banded Cholesky, shifted (Levenberg) where not positive definite.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
from scipy.linalg import LinAlgError, eigvals_banded

from .._kernels import (
    NEWTON_CRITERIA,
    band_cholesky,
    newton_loop,
    scatter_banded_kernel,
    settle_loop,
)
from .._noether import Charges, charges_of
from ._elements import element_terms, kernel_arguments


def scatter_banded(g, H, n_points: int, d: int, q: int = 1):
    """Sum per-element gradients g (n_el, (q+1)d) and Hessians H (n_el, (q+1)d, (q+1)d)
    into the interior gradient and the lower banded Hessian ((q+1)d, (n-2)d): element k
    holds the nodes kq..kq+q, the end nodes are fixed; bandwidth (q+1)d - 1 (numba
    kernel)."""
    size = (n_points - 2) * d
    G = np.zeros(size)
    ab = np.zeros(((q + 1) * d, size))
    scatter_banded_kernel(
        np.ascontiguousarray(g, dtype=float), np.ascontiguousarray(H, dtype=float), q, G, ab
    )
    return G, ab


def _assemble(system, X, t):
    """(S, gradient (N-2)*d, lower banded Hessian (2d, (N-2)*d)) of the discrete action
    in the interior nodes: the midpoint rule is the degree-1 element action."""
    S, g, H = element_terms(system, X, t, 1, True)
    return S, *scatter_banded(g, H, X.shape[0], system.dim)


@dataclass(frozen=True)
class NewtonResult:
    """The discrete minimiser: nodes X, action S, iterations, the last Newton decrement
    -g^T dx, the largest Levenberg shift used, whether it converged and by which test
    ('decrement'; 'action' when it crept along a flat valley, see
    :func:`newton_discrete`; 'round-off' when no step descends and the predicted decrease
    is at round-off, see :func:`newton_elements_loop`)."""

    X: np.ndarray
    S: float
    iterations: int
    decrement: float
    shift: float
    success: bool
    criterion: str = ""


def newton_discrete(
    system, X, t, *, rtol: float = 1e-14, stall: float = 1e-11, maxiter: int = 100
) -> NewtonResult:
    """Minimise the midpoint-rule action over the interior nodes of X (n, d) on the grid t
    by Newton's method: banded Hessian (:func:`_assemble`), Levenberg shift where it is
    not positive definite (so every step descends), Armijo backtracking.

    Converged when the Newton decrement -g^T dx (twice the predicted decrease) is below
    ``rtol`` (1 + |S|): the gradient is then at round-off level. Long-T paths that rest
    near fixed points have a nearly flat, curved valley (when the jump happens), along
    which Newton creeps; they count as converged ('action') when S fell by less than
    ``stall`` (1 + |S|) over the last 5 iterations."""
    return newton_elements_loop(system, X, t, 1, rtol=rtol, stall=stall, maxiter=maxiter)


def newton_elements_loop(
    system,
    X,
    t,
    q: int,
    lagrangian: str = "fw",
    *,
    rtol: float = 1e-14,
    stall: float = 1e-11,
    maxiter: int = 100,
    roundoff: float = 1e-11,
) -> NewtonResult:
    """Newton's method on the degree-q element action
    (:func:`theory.instanton._elements.element_terms`) over the interior nodes of X
    ((len(t) - 1) q + 1, d), compiled (:func:`theory._kernels.newton_loop`: a loop in
    Python paid its overhead per step, which dominated small problems): banded Hessian,
    Levenberg shift where it is not positive definite (so every step descends), Armijo
    backtracking. Converged ('decrement') when the Newton decrement -g^T dx is below
    ``rtol`` (1 + |S|); ('action') when S fell by less than ``stall`` (1 + |S|) over the
    last 5 steps; ('round-off') when no backtracking makes a step descend and its
    decrement is below ``roundoff`` (1 + |S|): the action's round-off then hides the
    predicted decrease. Raises :class:`scipy.linalg.LinAlgError` where no shift makes the
    Hessian positive definite."""
    args = kernel_arguments(system, np.array(X, dtype=float, order="C"), t, q, lagrangian)
    return _compiled_newton(0, args, 0.0, rtol, stall, maxiter, roundoff)


def newton_geometric(
    system, X, mu: float, *, rtol: float = 1e-14, stall: float = 1e-11, maxiter: int = 100
) -> NewtonResult:
    """:func:`newton_elements_loop`'s method and tests on the midpoint-rule geometric
    action of the nodes X (n, d) with the chord penalty of weight ``mu``
    (:func:`theory._kernels.geometric_terms`, :mod:`theory.instanton._geometric`),
    compiled (:func:`theory._kernels.newton_loop`)."""
    # the element arguments are unused: any valid grid and degree
    args = kernel_arguments(system, np.array(X, dtype=float, order="C"), [0.0, 1.0], 1)
    return _compiled_newton(1, args, float(mu), rtol, stall, maxiter, 1e-11)


def _compiled_newton(kind, args, mu, rtol, stall, maxiter, roundoff) -> NewtonResult:
    """Run :func:`theory._kernels.newton_loop` on the kernel arguments ``args`` (their
    nodes, args[3], are updated in place) as a :class:`NewtonResult`."""
    S, it, dec, shift, how = newton_loop(
        kind, *args, mu, float(rtol), float(stall), int(maxiter), float(roundoff)
    )
    criterion = NEWTON_CRITERIA[int(how)]
    if criterion == NEWTON_CRITERIA[-1]:
        raise LinAlgError("Hessian could not be made positive definite")
    return NewtonResult(
        X=args[3],
        S=float(S),
        iterations=int(it),
        decrement=float(dec),
        shift=float(shift),
        success=how > 0,
        criterion=criterion,
    )


def settle_gradient(
    system, t, q: int, lagrangian: str, result: NewtonResult, *, maxiter: int = 12
) -> NewtonResult:
    """Full Newton steps on the degree-q element action after :func:`newton_elements_loop`
    has converged, keeping the nodes with the smallest largest gradient component
    max_i |dS/dX_i|; stops after two steps that do not lower it (or ``maxiter`` steps;
    compiled: :func:`theory._kernels.settle_loop`). Returns ``result`` with those nodes,
    their action and the steps added to its iterations.

    The decrement test cannot see a gradient that is large only in stiff directions (the
    nodes inside a switching layer of width ~0.01): a component g along a Hessian
    eigenvalue lam adds g^2 / lam to the decrement, below the action's round-off for
    g ~ 1e-7 when lam ~ 1e3. Such residual node gradients are the mismatch of the discrete
    momenta on either side of a node, and so the error of the energy there (at
    T = 40 on decision_memory, ~1e-7 where the discretisation error is ~1e-9). Newton's
    step still lowers them while the line search sees no descent, down to a noise floor
    (~1e-9 there) set by the round-off and the near-flat directions."""
    if result.X.shape[0] <= 2:
        return result
    args = kernel_arguments(system, np.array(result.X, dtype=float, order="C"), t, q, lagrangian)
    S, it, failed = settle_loop(*args, int(maxiter))
    if failed:
        raise LinAlgError("Hessian could not be made positive definite")
    # no finite gradient at all (S nan): the kernel gave back the nodes it started from
    S = float(S) if np.isfinite(S) else result.S
    return replace(result, X=args[3], S=S, iterations=result.iterations + int(it))


def hessian_min_eigenvalue(system, X, t) -> float:
    """Smallest eigenvalue of the Hessian of the discrete action in the interior nodes
    (fixed times): > 0 at a strict local minimum, < 0 at a saddle."""
    return banded_min_eigenvalue(_assemble(system, np.asarray(X, float), np.asarray(t, float))[2])


def has_negative_curvature(ab: np.ndarray, tol: float) -> bool:
    """Whether the symmetric matrix with lower band ab has an eigenvalue below -tol times
    its largest diagonal entry: exactly when ab + tol max|diag| I is not positive definite,
    i.e. when its banded Cholesky factorisation fails (a few band sweeps, where the
    eigenvalue itself costs a band reduction, 200x more on 800 unknowns)."""
    if ab.shape[1] == 0:
        return False
    ab = np.ascontiguousarray(ab, dtype=float)
    return band_cholesky(ab, tol * float(np.max(np.abs(ab[0]))), np.empty_like(ab)) != 0


def banded_min_eigenvalue(ab: np.ndarray) -> float:
    """Smallest eigenvalue of a symmetric matrix given by its lower band (inf if empty)."""
    if ab.shape[1] == 0:
        return np.inf
    return float(eigvals_banded(ab, lower=True, select="i", select_range=(0, 0))[0])


def node_momenta(system, X, t) -> tuple[np.ndarray, np.ndarray]:
    """Discrete Legendre momenta (P^-, P^+) at the nodes (module docstring); P^-_0 and
    P^+_{N-1} (no segment on that side) are set to the other one."""
    X = np.asarray(X, dtype=float)
    t = np.asarray(t, dtype=float)
    h = np.diff(t)
    tau = 0.5 * (t[1:] + t[:-1])
    m = 0.5 * (X[1:] + X[:-1])
    r = np.diff(X, axis=0) / h[:, None] - system.f(m, tau)
    p = 0.5 * (r @ system.D_inv) / system.diffusion_scale(tau)[:, None]
    JTp = np.einsum("kij,ki->kj", system.jacobian(m, tau), p)
    minus = np.empty_like(X)
    plus = np.empty_like(X)
    minus[1:] = p - 0.5 * h[:, None] * JTp
    plus[:-1] = p + 0.5 * h[:, None] * JTp
    minus[0], plus[-1] = plus[0], minus[-1]
    return minus, plus


def discrete_energy(system, X, t) -> np.ndarray:
    """E_k = 1/4 (|v_k|^2 - |f(m_k)|^2)_{D(tau_k)^{-1}} per segment (module docstring)."""
    X = np.asarray(X, dtype=float)
    t = np.asarray(t, dtype=float)
    h = np.diff(t)
    tau = 0.5 * (t[1:] + t[:-1])
    v = np.diff(X, axis=0) / h[:, None]
    F = system.f(0.5 * (X[1:] + X[:-1]), tau)
    M = system.D_inv
    q = np.einsum("ki,ij,kj->k", v, M, v) - np.einsum("ki,ij,kj->k", F, M, F)
    return 0.25 * q / system.diffusion_scale(tau)


def discrete_charges(system, X, t, generators=None) -> Charges:
    """The discrete Noether charges at the nodes: Q_k = P_k . xi(x_k) for every generator
    with P_k = (P_k^- + P_k^+)/2, and H_k = the mean of the discrete energies E of the
    segments meeting at node k. At a discrete minimiser the Q are exactly constant for
    exact linear symmetries; their drift measures how far a path is from it. H drifts by
    the discretisation error (module docstring)."""
    minus, plus = node_momenta(system, X, t)
    P = 0.5 * (minus + plus)
    E = discrete_energy(system, X, t)
    H = np.empty(np.asarray(X).shape[0])
    H[1:-1] = 0.5 * (E[1:] + E[:-1])
    H[0], H[-1] = E[0], E[-1]
    tau = np.asarray(t, dtype=float)
    return charges_of(system, np.asarray(X, dtype=float), P, tau, H=H, generators=generators)
