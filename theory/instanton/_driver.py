"""The public driver :func:`instanton`: checks the call, builds the initial paths and
hands them to the finite-T solver (:mod:`theory.instanton._finite_time`) or, for
``T=None``, to the geometric MAM (:mod:`theory.instanton._geometric`)."""

from __future__ import annotations

from functools import cache, wraps

import numpy as np
from threadpoolctl import ThreadpoolController

from .._inputs import as_point, as_times
from ._finite_time import Settings, finite_time
from ._geometric import geometric, geometric_nodes
from ._initial_paths import initial_paths
from ._result import Instanton


@cache
def _blas() -> ThreadpoolController:
    """The BLAS thread pools of this process, looked up once (~10 ms)."""
    return ThreadpoolController()


def _single_threaded_blas(fn):
    """Run ``fn`` with BLAS on one thread. The solvers' dense algebra is small (banded
    factorisations of bandwidth 2d, L-BFGS-B's updates): threads only add contention
    (8-26 s against 2.3 s on 2 cores for the former L-BFGS-B stage), and a reduction split
    differently across threads changes the last bits, so results would depend on the
    machine's thread count."""

    @wraps(fn)
    def limited(*args, **kwargs):
        with _blas().limit(limits=1, user_api="blas"):
            return fn(*args, **kwargs)

    return limited


@_single_threaded_blas
def instanton(
    system,
    x_start,
    x_end,
    T: float | None = None,
    *,
    n: int = 100,
    t=None,
    t0: float | None = None,
    guesses=None,
    waypoints=None,
    n_random: int = 0,
    amplitude: float = 0.5,
    seed: int = 0,
    polish: bool = True,
    tol: float = 1e-7,
    refine: int = 1,
    max_nodes: int = 50000,
    continuation=None,
    continuation_nodes: int = 4000,
    mam_tol: float = 1e-5,
    saddle_tol: float = 1e-8,
    order: int = 3,
    lagrangian: str = "fw",
) -> Instanton:
    """The most likely path from ``x_start`` to ``x_end``: the instanton minimising

        S_T[x] = 1/4 ∫_{t0}^{t0+T} (xdot - f(x, t))^T D(t)^{-1} (xdot - f(x, t)) dt

    (finite ``T``), or for ``T=None`` the infinite-time instanton between fixed points,
    minimising the geometric action S = 1/2 ∫ (|x'| |f| - <x', f>) ds (norms and inner
    product in D^{-1}), which for f = -∇U, D = I equals U(x_end) - U(x_start) uphill.

    Parameters
    ----------
    system
        The :class:`~simulate.System`.
    x_start, x_end
        End points (d,) or names of the system's states.
    T
        Duration; ``None`` for the infinite-time (geometric) instanton.
    n
        Number of segments of the initial grid (finite T) or of the path (T = None).
    t
        Explicit time grid (finite T; overrides ``T``, ``n``, ``t0``), uniform or not.
    t0
        Start time (default: ``system.t_span[0]`` if the system has one, else 0).
    guesses, waypoints, n_random, amplitude, seed
        Multi-start: user paths, polylines through waypoints (points or state names),
        and ``n_random`` seeded smooth perturbations of each (size ``amplitude``). The
        straight line is always tried.
    polish
        Polish each MAM minimiser to the continuum instanton (finite T): the Galerkin
        polish (see ``order``), else Hamilton's BVP by collocation.
    tol
        Finite T: the relative precision of the polished action (Galerkin: change under
        the last refinement; BVP: collocation tolerance). T = None: largest relative
        change of the geometric action under the last grid doubling; ``success`` is
        False when it was not met within ``max_nodes``.
    refine
        Grid halvings of the MAM minimiser (after the split where the drift jumps) where
        the Galerkin polish is not used or fails (its grid convergence decides whether it
        stands, see ``mam_tol``).
    max_nodes
        Mesh limit of the BVP; T = None: of the grid doubling.
    continuation
        Finite T: a sequence of systems ending near (or at) ``system``, e.g.
        :func:`homotopy` in a steepness parameter. The MAM and the first BVP solve use the
        first; each BVP is warm-started from the previous solution (remeshed to
        ``continuation_nodes`` points), the last on ``system``. If a step fails, the
        last converged solution is returned with ``success=False`` and
        ``diagnostics["continuation_reached"]``.
    mam_tol
        Finite T: largest relative change of the discrete action under the last grid
        halving, |S_n - S_2n| / (1 + |S_2n|) (``diagnostics["mam_precision"]``, inf when
        no halving ran), for the MAM minimiser to stand when the polish (Galerkin, then
        BVP) fails or is off.
    order
        Finite T, systems with an analytic Jacobian: degree of the Galerkin polish
        (:mod:`theory.instanton._polish`: Newton on a degree-``order`` piecewise-polynomial
        discretisation of the action from the MAM minimiser; autonomous systems re-timed
        and refined until H is conserved; the grid halved until the action has converged
        to ``tol``). Where it fails, it is retried from the MAM refined (split where the
        drift jumps, then halved); where it still fails, or with ``order=1``, no Jacobian
        or a ``continuation``, Hamilton's BVP is solved by collocation (solve_bvp).
    lagrangian
        Finite T: ``"fw"`` (default) minimises the Freidlin–Wentzell action above;
        ``"reduced"`` the Freidlin–Wentzell Lagrangian without its cross term,

            L = 1/4 xdot^T D(t)^{-1} xdot + 1/4 f^T D(t)^{-1} f
              = L_FW + 1/2 xdot^T D(t)^{-1} f

        (the reverse-diffusion example's: the dropped term is -xdot . score for
        f = 2 t score, D = t I). Its momenta are p = dL/dxdot = 1/2 D(t)^{-1} xdot and
        the result reports its own Hamiltonian, H = p^T D(t) p - 1/4 f^T D(t)^{-1} f
        (:func:`theory.instanton._elements.lagrangian_hamiltonian`), conserved along its
        minimisers when f and D do not depend on t; the Noether charges p . xi(x) use
        the same momenta. Needs an analytic Jacobian; Galerkin polish only.
    saddle_tol
        A candidate whose discrete Hessian (finite T: of the polished discretisation
        where the polish converged; T = None: of the penalised geometric action, see
        :mod:`theory.instanton._geometric`) has an eigenvalue below -saddle_tol times its
        largest diagonal entry is a saddle, reported in ``.saddles``. T = None: a saddle
        is also left along its negative curvature, both ways, and the minima reached
        are returned.

    The finite-T options (``t0``, ``polish``, ``refine``, ``continuation``,
    ``continuation_nodes``, ``mam_tol``, ``order``, ``lagrangian``) are refused with
    ``T=None``. BLAS runs on one thread throughout (results do not depend on the
    machine's thread count).

    Returns
    -------
    Instanton
        The global minimum found; ``.minima`` lists every distinct converged local
        minimum found, sorted by action, ``.saddles`` the critical paths that are not
        minima, ``.unconverged`` the candidates that did not converge.
        ``.diagnostics`` records the convergence.

    Examples
    --------
    >>> from simulate import zoo
    >>> from theory import instanton
    >>> inst = instanton(zoo.get("monostable"), "start", "end", T=1.0)
    >>> round(inst.action, 6), round(inst.charges.mean("L"), 6)
    (5.252141, -3.403673)
    """
    x0 = as_point(system, x_start, "x_start")
    x1 = as_point(system, x_end, "x_end")
    if int(n_random) < 0:
        raise ValueError(f"`n_random` must be >= 0, got {n_random!r}")
    infinite_time = T is None and t is None
    if infinite_time:
        _refuse_finite_time_options(
            t0=t0,
            polish=polish,
            refine=refine,
            continuation=continuation,
            continuation_nodes=continuation_nodes,
            mam_tol=mam_tol,
            order=order,
            lagrangian=lagrangian,
        )
        s = geometric_nodes(system, n)
    else:
        grid = _grid(system, T, n, t, t0)
        s = (grid - grid[0]) / (grid[-1] - grid[0])
    starts = initial_paths(
        system,
        x0,
        x1,
        s,
        guesses=guesses,
        waypoints=waypoints,
        n_random=n_random,
        amplitude=amplitude,
        seed=seed,
    )
    if infinite_time:
        return geometric(
            system, starts, tol=tol, saddle_tol=float(saddle_tol), max_nodes=int(max_nodes)
        )
    settings = Settings(
        polish=bool(polish),
        tol=float(tol),
        refine=int(refine),
        max_nodes=int(max_nodes),
        continuation_nodes=int(continuation_nodes),
        mam_tol=float(mam_tol),
        saddle_tol=float(saddle_tol),
        order=int(order),
        lagrangian=lagrangian,
    )
    return finite_time(system, x0, x1, grid, starts, settings, continuation)


#: The finite-T options and their defaults: T = None refuses any other value.
_FINITE_TIME_ONLY = {
    "t0": None,
    "polish": True,
    "refine": 1,
    "continuation": None,
    "continuation_nodes": 4000,
    "mam_tol": 1e-5,
    "order": 3,
    "lagrangian": "fw",
}


def _refuse_finite_time_options(**given) -> None:
    """ValueError naming every finite-T option given a value other than its default with
    ``T=None``, where it would have no effect."""
    unused = [k for k, v in given.items() if not _same(v, _FINITE_TIME_ONLY[k])]
    if unused:
        raise ValueError(
            f"{', '.join(f'`{k}`' for k in unused)} only apply to a finite `T` (or `t`);"
            " the infinite-time (T=None) solver cannot use them"
        )


def _same(value, default) -> bool:
    if default is None:
        return value is None
    try:
        return bool(value == default)
    except (TypeError, ValueError):
        return False


def _grid(system, T, n, t, t0) -> np.ndarray:
    if t is not None:
        t = np.asarray(t, dtype=float)
        return as_times(t, t.shape[0] if t.ndim == 1 else -1, "t")
    if not (np.isfinite(T) and T > 0):
        raise ValueError(f"`T` must be positive and finite (or None), got {T!r}")
    if int(n) < 2:
        raise ValueError(f"`n` must be at least 2, got {n!r}")
    if t0 is None:
        t0 = system.t_span[0] if system.t_span is not None else 0.0
    return float(t0) + np.linspace(0.0, float(T), int(n) + 1)
