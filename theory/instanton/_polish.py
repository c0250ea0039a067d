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
Hessian (:func:`theory.instanton._newton.newton_elements_loop`, compiled) minimises it:
unlike collocation of Hamilton's BVP (solve_bvp), every step descends, so the near-flat
time-shift directions of long-T paths and the thin switching layers of near-discontinuous
drifts do not make it diverge.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import numpy as np
from scipy.interpolate import CubicSpline
from scipy.optimize import brentq

from ._elements import basis, element_terms, halve, lagrange, lagrangian_hamiltonian, nodes
from ._newton import NewtonResult, newton_elements_loop, scatter_banded, settle_gradient


def galerkin_action(system, X, t, q: int, lagrangian: str = "fw") -> float:
    """The Galerkin action of the nodes X ((len(t) - 1) q + 1, d) (module docstring)."""
    return float(element_terms(system, X, t, q, False, lagrangian)[0])


def galerkin_hessian(system, X, t, q: int, lagrangian: str = "fw") -> np.ndarray:
    """Lower banded Hessian of the Galerkin action in the interior nodes."""
    _, g, H = element_terms(system, X, t, q, True, lagrangian)
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
    system,
    X,
    t,
    *,
    order: int = 3,
    rtol: float = 1e-15,
    lagrangian: str = "fw",
    start: GalerkinPath | None = None,
    maxiter: int = 400,
) -> GalerkinPath:
    """Minimise the Galerkin action of degree ``order`` on the element grid t, starting
    from the path X (len(t), d) (a MAM minimiser on the same grid, interpolated by a cubic
    spline to the Lobatto nodes). Needs the system's analytic Jacobian. ``order=1`` is
    Newton on the midpoint rule. ``lagrangian``: see
    :func:`theory.instanton._elements.lagrangian_terms`; the momenta are its own,
    p = dL/dv. With ``start`` (a solution on another grid), the guess is that piecewise
    polynomial (``X`` gives only the end points).

    Newton stops on its decrement or when the action fell by less than 1e-13 (1 + |S|)
    over 5 steps: that is the action's round-off (a sum of ~1e4 quadrature terms), where
    the decrement can rest above its tolerance for hundreds of steps (~4e-13 on the
    T = 40 decision_memory paths) while the steps only stir the noise. The nearly flat
    dwell-time directions of long-T paths, which Newton only creeps along, are moved by
    :func:`retime` instead (:func:`energy_adaptive`)."""
    t = np.ascontiguousarray(t, dtype=float)
    q = int(order)
    tn = nodes(t, q)
    Y = CubicSpline(t, X, axis=0)(tn) if start is None else evaluate(start, tn)
    Y[0], Y[-1] = X[0], X[-1]
    res = newton_elements_loop(system, Y, t, q, lagrangian, rtol=rtol, stall=1e-13, maxiter=maxiter)
    return _with_momenta(system, t, q, lagrangian, res)


def settle(system, path: GalerkinPath, lagrangian: str = "fw") -> GalerkinPath:
    """The solution after :func:`theory.instanton._newton.settle_gradient`: full Newton steps that
    lower the node gradients left in the stiff directions (switching layers), which the
    decrement does not see but the discrete momenta, and so the boundary energy, do."""
    res = settle_gradient(system, path.t, path.order, lagrangian, path.newton)
    return _with_momenta(system, path.t, path.order, lagrangian, res)


def _with_momenta(system, t, q, lagrangian, res: NewtonResult) -> GalerkinPath:
    """The Galerkin path of Newton's nodes, with its discrete Legendre momenta."""
    d = system.dim
    _, g, _ = element_terms(system, res.X, t, q, True, lagrangian, hessian=False)
    P = np.empty((t.size, d))
    P[:-1] = -g[:, :d]  # -dS_k/dX_(k, start)
    P[1:-1] = 0.5 * (P[1:-1] + g[:-1, q * d :])  # mean with dS_(k-1)/dX_(k-1, end)
    P[-1] = g[-1, q * d :]
    return GalerkinPath(
        t=t, x=res.X[::q].copy(), p=P, nodes=res.X, action=res.S, newton=res, order=q
    )


def evaluate(path: GalerkinPath, times) -> np.ndarray:
    """The piecewise polynomial of a Galerkin solution at the given times (m, d)."""
    times = np.asarray(times, dtype=float)
    q, t = path.order, path.t
    k = np.clip(np.searchsorted(t, times, side="right") - 1, 0, t.size - 2)
    u = (times - t[k]) / (t[k + 1] - t[k])
    idx = k[:, None] * q + np.arange(q + 1)[None, :]
    return np.einsum("ma,mad->md", lagrange(basis(q)[0], u), path.nodes[idx])


def boundary_energy(system, path: GalerkinPath, lagrangian: str = "fw") -> np.ndarray:
    """The Hamiltonian of ``lagrangian`` at the element boundaries from the discrete
    Legendre momenta (:func:`theory.instanton._elements.lagrangian_hamiltonian`)."""
    return lagrangian_hamiltonian(system, path.x, path.p, path.t, lagrangian)[0]


def energy_adaptive(
    system,
    path: GalerkinPath,
    *,
    rtol: float = 1e-6,
    atol: float = 1e-8,
    rounds: int = 10,
    max_elements: int = 50000,
    lagrangian: str = "fw",
    jump: float = 0.05,
) -> tuple[GalerkinPath, list]:
    """h-refinement of a Galerkin solution of an autonomous system guided by its conserved
    energy. The discretisation error of H is a step across each element that under-
    resolves the path (a switching layer): the elements across which the energy at
    their boundaries jumps by more than ``jump`` times the target drift,
    target = max(rtol |median H|, atol), are halved and the action re-minimised from the
    previous piecewise polynomial, until the drift max H - min H meets the target (or
    ``rounds`` / ``max_elements`` run out). Each round first re-times the path at one
    energy (:func:`retime`, Freidlin–Wentzell only) and re-minimises; a drift above the
    target is measured again after :func:`settle`, before any element is split. After a
    split (Freidlin–Wentzell), at most ten Newton steps: the next round's re-timing and
    solve follow. Returns (solution, [(elements, drift, action, Newton converged, target),
    ...])."""
    record = []
    x0, x1 = path.x[0], path.x[-1]
    ends = np.vstack([x0, x1])

    def energy_drift(path):
        """(boundary energies, target drift, drift max H - min H)."""
        H = boundary_energy(system, path, lagrangian)
        return H, max(rtol * abs(float(np.median(H))), atol), float(np.ptp(H))

    for _ in range(rounds + 1):
        if lagrangian == "fw":
            timed, _ = retime(system, path)
            path = galerkin_polish(system, ends, timed.t, order=path.order, start=timed)
        H, target, drift = energy_drift(path)
        if drift > target:
            # Where Newton stopped in the stiff directions may be the drift, not the grid.
            path = settle(system, path, lagrangian)
            H, target, drift = energy_drift(path)
        record.append((path.t.size - 1, drift, path.action, path.newton.success, target))
        if drift <= target or len(record) > rounds:
            break
        split = np.abs(np.diff(H)) > jump * target
        t = path.t
        if t.size - 1 + int(split.sum()) > max_elements:
            break
        tn = np.sort(np.concatenate([t, 0.5 * (t[1:] + t[:-1])[split]]))
        # Freidlin–Wentzell: ten Newton steps; the next round's re-timing moves the flat
        # dwell-time directions, which a full solve here would only creep along.
        path = galerkin_polish(
            system,
            ends,
            tn,
            order=path.order,
            lagrangian=lagrangian,
            start=path,
            maxiter=10 if lagrangian == "fw" else 400,
        )
    return path, record


@cache
def _fine_quadrature(q: int):
    """12-point Gauss–Legendre points u and weights w on [0, 1], with the degree-q Lagrange
    basis (on the Lobatto nodes) and its derivative there: the quadrature of
    :func:`retime`."""
    g, w = np.polynomial.legendre.leggauss(12)
    u = 0.5 * (g + 1.0)
    xi = basis(q)[0]
    return u, 0.5 * w, lagrange(xi, u), lagrange(xi, u, derivative=True)


def retime(system, path: GalerkinPath) -> tuple[GalerkinPath, float]:
    """Re-time a Galerkin solution of an autonomous system at one energy E (same curve).

    H = 1/4 (|xdot|^2 - |f|^2) in the D^{-1} norm, so a path of energy E moves at speed
    |xdot| = (|f|^2 + 4E)^{1/2}: the new time is t'(t) = ∫ |xdot| (|f|^2 + 4E)^{-1/2} dt
    with E such that the duration is unchanged. The element boundaries move with the
    curve (their nodes keep their places). On a long-T path the dwell times near fixed
    points are exponentially weak directions of the action, which Newton can only creep
    along (a shift of a switching layer is linear only over its width); this moves them
    to their energy-balanced values in one step. Returns (re-timed path, E)."""
    q, t = path.order, path.t
    u, w, values, slopes = _fine_quadrature(q)
    h = np.diff(t)
    tq = (t[:-1, None] + h[:, None] * u[None, :]).ravel()
    idx = np.repeat(np.arange(t.size - 1), u.size)
    nodes_of = path.nodes[idx[:, None] * q + np.arange(q + 1)[None, :]]
    xq = np.einsum("ma,mad->md", np.tile(values, (t.size - 1, 1)), nodes_of)
    vq = np.einsum("ma,mad->md", np.tile(slopes, (t.size - 1, 1)), nodes_of) / h[idx][:, None]
    M = system.D_inv
    speed = np.sqrt(np.einsum("ki,ij,kj->k", vq, M, vq))
    F = system.f(xq, tq)
    f2 = np.einsum("ki,ij,kj->k", F, M, F)
    wq = (h[:, None] * w[None, :]).ravel()
    T = t[-1] - t[0]

    def duration(E):
        return float(np.sum(wq * speed / np.sqrt(f2 + 4.0 * E))) - T

    lo = -0.25 * float(np.min(f2)) * (1 - 1e-12)
    hi = max(1.0, 4.0 * abs(lo))
    while duration(hi) > 0:
        hi *= 4.0
    E = brentq(duration, lo, hi, xtol=1e-15, rtol=1e-14)
    dt = np.sum((wq * speed / np.sqrt(f2 + 4.0 * E)).reshape(t.size - 1, u.size), axis=1)
    tn = t[0] + np.concatenate([[0.0], np.cumsum(dt)])
    tn[-1] = t[-1]
    return GalerkinPath(
        t=tn, x=path.x, p=path.p, nodes=path.nodes, action=path.action, newton=path.newton, order=q
    ), E


def galerkin_stage(
    system,
    X,
    t,
    *,
    order: int,
    tol: float,
    lagrangian: str = "fw",
    rounds: int = 40,
    halvings: int = 3,
):
    """Galerkin polish  of the MAM minimiser X on its grid t.

    Autonomous systems (Freidlin–Wentzell action): re-timed at one energy and refined
    where the energy jumps (:func:`theory.instanton._polish.energy_adaptive`, up to ``rounds``
    rounds) until H is conserved to 1e-6 relative (1e-8 absolute); the precision is the
    change of the action over the last round. Where that is above ``tol`` (or there was
    no round), the grid is halved (up to ``halvings`` times) until the action changes by
    at most ``tol`` relative; the precision is the last change. Converged when Newton
    converged, the precision is <= tol and (autonomous) the energy target is met.
    Returns (solution, diagnostics)."""
    path = galerkin_polish(system, X, t, order=order, lagrangian=lagrangian)
    record, energy_ok = [], True
    if system.autonomous and lagrangian == "fw":
        path, record = energy_adaptive(system, path, rounds=rounds, max_elements=40 * t.size)
        energy_ok = record[-1][1] <= record[-1][4]
    actions = [r[2] for r in record] or [path.action]
    elements = [r[0] for r in record] or [path.t.size - 1]
    ok = path.newton.success and energy_ok
    precision = abs(actions[-1] - actions[-2]) / (1.0 + abs(path.action)) if record[1:] else np.inf
    # Halve the grid until the action changes by at most tol (or `halvings` run out);
    # pointless once Newton or the energy refinement has failed.
    for _ in range(halvings):
        if precision <= tol or not ok:
            break
        fine = galerkin_polish(
            system, X[[0, -1]], halve(path.t), order=order, lagrangian=lagrangian, start=path
        )
        precision = abs(path.action - fine.action) / (1.0 + abs(fine.action))
        actions.append(fine.action)
        elements.append(fine.t.size - 1)
        ok, path = ok and fine.newton.success, fine
    diag = {
        "galerkin_order": order,
        "galerkin_elements": elements,
        "galerkin_action": actions,
        "galerkin_energy_drift": [r[1] for r in record],
        "galerkin_iterations": path.newton.iterations,
        "galerkin_precision": precision,
        "galerkin_success": bool(ok and precision <= tol),
    }
    return path, diag
