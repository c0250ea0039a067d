"""Sampling layer: the system description, the model zoo and the ensemble engines.

Every sampler (``ensemble``, ``condition``, ``transitions``, ``ams``) follows one calling
convention and returns a result with ``status``, ``success`` and ``message``; see
``docs/sampling.md``.

Convention (Itô, noise level eps > 0): dX = f(X, t) dt + sqrt(2 eps D(t)) dW.
"""

from . import zoo
from ._ams import AMSResult, AMSRunWarning, ams
from ._batched import ensemble_batched
from ._conditioning import ConditionedResult, condition
from ._driver import MemoryBudgetError
from ._ensemble import EnsembleResult, NonFiniteWarning, ensemble
from ._random import standard_normals
from ._reaction_coordinates import (
    ReactionCoordinate,
    distance_to,
    path_progress,
    reaction_coordinate,
)
from ._sets import Ball, Box, HalfSpace, Interval, Shell, StopSet, Union
from ._status import Status
from ._system import (
    DiscreteCheckWarning,
    DiscreteSymmetry,
    Generator,
    System,
    rotation,
    translation,
)
from ._transitions import TransitionResult, transitions

__all__ = [
    "ensemble",
    "ensemble_batched",
    "EnsembleResult",
    "MemoryBudgetError",
    "NonFiniteWarning",
    "standard_normals",
    "System",
    "Generator",
    "DiscreteSymmetry",
    "DiscreteCheckWarning",
    "rotation",
    "translation",
    "zoo",
    "Ball",
    "Box",
    "HalfSpace",
    "Interval",
    "Shell",
    "StopSet",
    "Union",
    "condition",
    "ConditionedResult",
    "transitions",
    "TransitionResult",
    "ams",
    "AMSResult",
    "AMSRunWarning",
    "Status",
    "ReactionCoordinate",
    "reaction_coordinate",
    "distance_to",
    "path_progress",
]
