"""Instantons: most likely paths between two points, as minimisers of the action.

Modules, one concept each:

- :mod:`._result`: the result type :class:`Instanton`;
- :mod:`._driver`: the public :func:`instanton` (checks, initial paths, dispatch);
- :mod:`._initial_paths`: straight line, waypoint polylines, seeded perturbations;
- :mod:`._mam`: the minimum action method on the midpoint-rule action (Newton / L-BFGS-B);
- :mod:`._newton`: Newton's method with the banded Hessian, discrete Noether charges,
  the curvature tests;
- :mod:`._elements`: the piecewise-polynomial elements and the Lagrangians they integrate;
- :mod:`._polish`: the Galerkin polish (energy re-timing, h-refinement, grid halving);
- :mod:`._bvp`: Hamilton's BVP by collocation, its continuation and :func:`homotopy`;
- :mod:`._ranking`: candidates merged and sorted into minima, saddles, unconverged;
- :mod:`._finite_time`: the finite-T solver, an orchestration of the stages above;
- :mod:`._geometric`: the geometric MAM for infinite-time instantons (``T=None``);
- :mod:`._branches`: :func:`continuation`, instantons followed across a parameter;
- :mod:`._lbfgs`: :func:`lbfgs_instanton`, finite-T instantons at network size
  (preconditioned L-BFGS, gradient only).

See ``docs/instanton-notes.md`` for the solver's design and ``docs/conventions.md`` for
the action, momentum and Hamiltonian conventions.
"""

from ._branches import Continuation, continuation
from ._bvp import homotopy
from ._driver import instanton
from ._lbfgs import lbfgs_instanton
from ._result import Instanton

__all__ = ["Continuation", "Instanton", "continuation", "homotopy", "instanton", "lbfgs_instanton"]
