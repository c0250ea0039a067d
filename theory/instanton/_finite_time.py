"""Finite-time instantons: each distinct MAM minimiser polished to the continuum instanton.

:func:`finite_time` runs, for every start, the named stages below; each returns a small
record.

1. :func:`coarse_minima` (:class:`MamPath`): the MAM minimiser of each start on the given
   grid (:mod:`theory.instanton._mam`); duplicates are merged before the costlier stages.
2. :func:`refine_and_polish` (:class:`Refined`): the Galerkin polish
   (:mod:`theory.instanton._polish`) from the MAM minimiser on its grid; where it fails or
   is not used, the MAM grid is split where the drift jumps and then halved (``refine``
   times), the polish retried after each refinement.
3. :func:`curvature`: minimum or saddle, by the Hessian of the discretisation whose
   stationary point is returned (the polished one where the polish converged).
4. :func:`continuum_path` (:class:`Continuum`): the Galerkin solution; else Hamilton's BVP
   by collocation (:mod:`theory.instanton._bvp`, with its continuation); else the MAM
   minimiser, standing when its grid refinement has converged.

The candidates are then ranked (:mod:`theory.instanton._ranking`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.linalg import eig_banded
from scipy.optimize import OptimizeResult

from .._noether import charges, charges_of
from ._bvp import continue_bvp, polish_bvp, replace_status
from ._elements import halve, lagrangian_hamiltonian, lagrangian_terms
from ._mam import adapt, minimise_discrete, node_momenta
from ._newton import banded_min_eigenvalue, has_negative_curvature
from ._polish import GalerkinPath, galerkin_hessian, galerkin_stage
from ._ranking import merge_minima, rank_candidates
from ._result import Instanton


@dataclass(frozen=True)
class Settings:
    """The options of the finite-T solver (see :func:`theory.instanton`)."""

    polish: bool = True
    tol: float = 1e-7
    refine: int = 1
    max_nodes: int = 50000
    continuation_nodes: int = 4000
    mam_tol: float = 1e-5
    saddle_tol: float = 1e-8
    order: int = 3
    lagrangian: str = "fw"


@dataclass(frozen=True)
class MamPath:
    """A minimiser of the discrete action: nodes ``path`` on the grid ``t``, its action,
    the minimiser's record (``success``, ``nit``, ``message``) and its start's label."""

    path: np.ndarray
    t: np.ndarray
    action: float
    result: OptimizeResult
    label: str


@dataclass(frozen=True)
class Refined:
    """A candidate after refinement: the last MAM minimiser, the converged Galerkin
    solution (None where the polish failed or was not used) and the convergence record."""

    mam: MamPath
    galerkin: GalerkinPath | None
    diagnostics: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Continuum:
    """The path a candidate returns: times, points, momenta and action; the system on which
    its charges are evaluated (a continuation may stop short of the target); whether it
    converged, and how."""

    t: np.ndarray
    path: np.ndarray
    p: np.ndarray
    action: float
    success: bool
    message: str
    charge_system: object


def finite_time(
    system, x0, x1, grid, starts: list, settings: Settings, continuation=None
) -> Instanton:
    """The finite-T solver behind :func:`theory.instanton` (module docstring): the global
    minimum among the polished candidates of ``starts`` ((label, path) on ``grid``)."""
    _check_lagrangian(system, settings, continuation)
    target, steps = system, None
    if continuation:
        # The MAM and the first BVP solve use the first system; the BVP follows the rest.
        steps = list(continuation)
        if steps[-1] is not system:
            steps.append(system)
        system, steps = steps[0], steps[1:]
    coarse = coarse_minima(system, starts, grid, settings.lagrangian)
    scale = max(float(np.ptp(np.vstack([c.path for c in coarse]))), 1e-12)
    galerkin = settings.polish and not continuation and system.jac is not None
    galerkin = galerkin and settings.order > 1
    results = []
    queue = merge_minima(coarse, scale)
    escapes = 0
    while queue:
        mam = queue.pop(0)
        refined = refine_and_polish(system, x0, x1, mam, settings, galerkin)
        refined.diagnostics.update(curvature(system, refined, settings))
        path = continuum_path(system, target, steps, x0, x1, refined, settings)
        results.append(
            Instanton(
                path=path.path,
                t=path.t,
                p=path.p,
                action=path.action,
                T=float(grid[-1] - grid[0]),
                charges=_charges(path, settings.lagrangian),
                success=path.success,
                message=path.message,
                diagnostics=refined.diagnostics,
                label=mam.label,
            )
        )
        if refined.diagnostics["kind"] == "saddle" and escapes < _MAX_ESCAPES:
            escapes += 1
            queue += escape_saddle(system, mam, settings.lagrangian)
    return rank_candidates(results, scale)


#: saddles left along their negative curvature per call (each costs two solves)
_MAX_ESCAPES = 4


def escape_saddle(system, mam: MamPath, lagrangian: str) -> list[MamPath]:
    """The MAM minimisers reached from a saddle's MAM path displaced along the eigenvector
    of its discrete Hessian's smallest eigenvalue, both ways, by a tenth of the path's
    extent: a saddle is never the answer while a descent direction exists."""
    ab = galerkin_hessian(system, mam.path, mam.t, 1, lagrangian)
    _, vec = eig_banded(ab, lower=True, select="i", select_range=(0, 0))
    n, d = mam.path.shape
    v = vec[:, 0].reshape(n - 2, d)
    v *= 0.1 * max(float(np.ptp(mam.path)), 1e-12) / max(float(np.max(np.abs(v))), 1e-300)
    out = []
    for sign, tag in ((1.0, "+"), (-1.0, "-")):
        Y = mam.path.copy()
        Y[1:-1] += sign * v
        X, S, res = minimise_discrete(system, Y, mam.t, lagrangian)
        out.append(MamPath(X, mam.t, S, res, f"{mam.label}+escape{tag}"))
    return out


def _charges(path: Continuum, lagrangian: str):
    """The charges of a candidate, with the Hamiltonian of the Lagrangian it minimised
    (:func:`theory.instanton._elements.lagrangian_hamiltonian`) and its own momenta."""
    if lagrangian == "fw":
        return charges(path.charge_system, path.path, path.t, p=path.p)
    H, scale = lagrangian_hamiltonian(path.charge_system, path.path, path.p, path.t, lagrangian)
    return charges_of(path.charge_system, path.path, path.p, path.t, H=H, H_scale=scale)


def _check_lagrangian(system, settings: Settings, continuation) -> None:
    lagrangian_terms(settings.lagrangian)  # validates the name
    if settings.lagrangian != "fw" and (system.jac is None or continuation or settings.order < 2):
        raise ValueError(
            f"`lagrangian={settings.lagrangian!r}` needs a system with an analytic Jacobian,"
            " no `continuation` and `order` >= 2"
        )


def coarse_minima(system, starts: list, grid: np.ndarray, lagrangian: str) -> list[MamPath]:
    """Stage 1: the MAM minimiser of every start on the given grid."""
    out = []
    for label, guess in starts:
        X, S, res = minimise_discrete(system, guess, grid, lagrangian)
        out.append(MamPath(X, grid, S, res, label))
    return out


def refine_and_polish(system, x0, x1, mam: MamPath, settings: Settings, galerkin: bool):
    """Stage 2 (module docstring): returns :class:`Refined` with the MAM record
    (``mam_stage``, ``mam_n``, ``mam_action``, ``mam_iterations``, ``mam_message``,
    ``mam_precision``: |S_n - S_2n| / (1 + |S_2n|) from the last halving, inf without one)
    and the polish's (``galerkin_*``)."""
    diag = {
        "mam_stage": ["grid"],
        "mam_n": [mam.t.size - 1],
        "mam_action": [mam.action],
        "mam_iterations": [int(mam.result.nit)],
    }
    lagrangian = settings.lagrangian
    stages = (["grid"] if galerkin else []) + ["adapt"] + ["halve"] * settings.refine
    polished = None
    for step in stages:
        if step == "adapt":
            adapted = adapt(system, mam.path, mam.t, lagrangian=lagrangian)
            if adapted is None:
                continue  # nothing to split
            mam = MamPath(*adapted, mam.label)
        elif step == "halve":
            tf = halve(mam.t)
            Xf = np.array([np.interp(tf, mam.t, c) for c in mam.path.T]).T
            Xf[0], Xf[-1] = x0, x1
            X, S, res = minimise_discrete(system, Xf, tf, lagrangian)
            mam = MamPath(X, tf, S, res, mam.label)
        if step != "grid":
            diag["mam_stage"].append(step)
            diag["mam_n"].append(mam.t.size - 1)
            diag["mam_action"].append(mam.action)
            diag["mam_iterations"].append(int(mam.result.nit))
        if galerkin:
            path, record = galerkin_stage(
                system,
                mam.path,
                mam.t,
                order=settings.order,
                tol=settings.tol,
                lagrangian=lagrangian,
            )
            diag.update(record)
            if record["galerkin_success"]:
                polished = path
                break
    actions = diag["mam_action"]
    diag["mam_message"] = str(mam.result.message)
    halved = diag["mam_stage"][-1] == "halve"
    diag["mam_precision"] = (
        abs(actions[-1] - actions[-2]) / (1 + abs(actions[-1])) if halved else np.inf
    )
    return Refined(mam, polished, diag)


def curvature(system, refined: Refined, settings: Settings) -> dict:
    """Stage 3: ``kind`` "minimum" or "saddle" by the Hessian of the discretisation whose
    stationary point is returned (the Galerkin one where the polish converged, else the
    MAM's): a saddle has an eigenvalue below -saddle_tol times its largest diagonal entry
    (its certificate, that eigenvalue, in ``hessian_min_eig``); "unchecked" without an
    analytic Jacobian."""
    if system.jac is None:
        return {"kind": "unchecked"}
    gal, mam = refined.galerkin, refined.mam
    nodes, times, q = (gal.nodes, gal.t, gal.order) if gal else (mam.path, mam.t, 1)
    ab = galerkin_hessian(system, nodes, times, q, settings.lagrangian)
    if not has_negative_curvature(ab, settings.saddle_tol):
        return {"kind": "minimum"}
    return {"kind": "saddle", "hessian_min_eig": banded_min_eigenvalue(ab)}


def continuum_path(system, target, steps, x0, x1, refined: Refined, settings: Settings):
    """Stage 4: the Galerkin solution where the polish converged; else (Freidlin–Wentzell,
    ``polish``) Hamilton's BVP; else the MAM minimiser."""
    mam, diag = refined.mam, refined.diagnostics
    if refined.galerkin is not None:
        g = refined.galerkin
        diag["mam_minus_polish"] = mam.action - g.action
        message = f"converged: MAM then Galerkin polish (degree {settings.order})"
        return Continuum(g.t, g.x, g.p, g.action, True, message, system)
    if settings.polish and settings.lagrangian == "fw":
        return bvp_path(system, target, steps, x0, x1, refined, settings)
    return mam_path(system, refined, settings, None)


def bvp_path(system, target, steps, x0, x1, refined: Refined, settings: Settings):
    """Hamilton's BVP from the MAM minimiser, followed along the continuation ``steps``
    (None without one) to ``target``; the MAM minimiser where the BVP fails."""
    mam, diag = refined.mam, refined.diagnostics
    sol = polish_bvp(system, mam.path, mam.t, tol=settings.tol, max_nodes=settings.max_nodes)
    diag.update(
        bvp_status=int(sol.status),
        bvp_message=str(sol.message),
        bvp_nodes=int(sol.x.size),
        bvp_max_residual=float(np.max(sol.rms_residuals)) if sol.x.size > 1 else np.nan,
    )
    charge_system = system
    if sol.status == 0 and steps is not None:
        first = float(sol.y[2 * system.dim, -1])
        sol, last, record = continue_bvp(
            steps,
            sol,
            x0,
            x1,
            tol=settings.tol,
            max_nodes=settings.max_nodes,
            nodes=settings.continuation_nodes,
        )
        diag["continuation"] = record
        charge_system = target
        if last < len(steps) - 1:
            reached = steps[last] if last >= 0 else system
            diag["continuation_reached"] = repr(reached)
            sol = replace_status(sol, 1, f"continuation stopped after {reached!r}")
            charge_system = reached
        diag.update(bvp_nodes=int(sol.x.size), continuation_first_action=first)
    d = system.dim
    tt, path, P, S = sol.x, sol.y[:d].T, sol.y[d : 2 * d].T, float(sol.y[2 * d, -1])
    if sol.status == 0:
        diag["mam_minus_polish"] = mam.action - S
        # A BVP solution far from the MAM minimiser is a different extremal.
        if steps is None and abs(mam.action - S) > 1e-2 * (1 + abs(S)):
            message = "BVP left the MAM minimiser: try a larger `n`"
            return Continuum(tt, path, P, S, False, message, charge_system)
        message = "converged: MAM then Hamiltonian BVP"
        return Continuum(tt, path, P, S, True, message, charge_system)
    if "continuation_reached" in diag:
        return Continuum(tt, path, P, S, False, sol.message, charge_system)
    # A nearly discontinuous drift can defeat the BVP's mesh; the MAM minimiser stands
    # when its grid refinement has converged.
    return mam_path(system, refined, settings, f"BVP polish failed ({sol.message})")


def mam_path(system, refined: Refined, settings: Settings, failure: str | None):
    """The MAM minimiser as the answer: converged when its minimiser converged and its
    grid refinement changed the action by at most ``mam_tol``; ``failure`` says why the
    BVP did not stand (None: the polish was off or the Galerkin polish failed)."""
    mam, diag = refined.mam, refined.diagnostics
    precision = diag["mam_precision"]
    ok = (bool(mam.result.success) or "ABNORMAL" in str(mam.result.message)) and (
        precision <= settings.mam_tol
    )
    if failure is None:
        message = f"MAM only: {mam.result.message}; grid-converged to {precision:.1e} relative"
        if settings.polish:
            message = "Galerkin polish failed; " + message
    else:
        ns = diag["mam_n"]
        halved = diag["mam_stage"][-1] == "halve"
        grids = f"S at n = {ns[-2]} and {ns[-1]} segments" if halved else "no halving"
        message = (
            f"{failure}; MAM path returned, grid-converged to {precision:.1e} relative ({grids})"
        )
    P = node_momenta(system, mam.path, mam.t)
    return Continuum(mam.t, mam.path, P, mam.action, ok, message, system)
