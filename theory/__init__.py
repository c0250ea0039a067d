"""Theory layer: action, momentum, quasi-energy, fixed points, instantons, Noether charges
and symmetry discovery.

Conventions (docs/conventions.md, sections 1-4):
dX = f(X, t) dt + sqrt(2 eps D(t)) dW, D(t) = d(t) D;
S_T = 1/4 ∫ (xdot - f)^T D^{-1} (xdot - f) dt, p = 1/2 D^{-1} (xdot - f),
H = p^T D p + p^T f, xdot = f + 2 D p, pdot = -(∇f)^T p.
"""

from ._action import action, hamiltonian, momentum
from ._fixed_points import FixedPoint, FixedPoints, fixed_points
from ._hamilton import HamiltonFlow, hamilton_flow
from ._noether import Charges, charges
from ._rates import Rate, connecting_saddles, rate
from ._sharp import SharpProbability, sharp_halfspace_probability, sharp_probability
from ._symmetries import Symmetries, find_symmetries
from .instanton import Continuation, Instanton, continuation, homotopy, instanton, lbfgs_instanton

__all__ = [
    "action",
    "momentum",
    "hamiltonian",
    "fixed_points",
    "FixedPoint",
    "FixedPoints",
    "instanton",
    "lbfgs_instanton",
    "Instanton",
    "homotopy",
    "continuation",
    "Continuation",
    "charges",
    "Charges",
    "find_symmetries",
    "Symmetries",
    "hamilton_flow",
    "HamiltonFlow",
    "rate",
    "connecting_saddles",
    "Rate",
    "sharp_probability",
    "sharp_halfspace_probability",
    "SharpProbability",
]
