"""Sampling layer: the system description, the model zoo and the ensemble engines.

Convention (Itô, noise level eps > 0): dX = f(X, t) dt + sqrt(2 eps D(t)) dW.
"""

from . import zoo
from ._ams import AMSResult, ams
from ._conditioning import ConditionedResult, condition
from ._euler_maruyama import EnsembleResult, MemoryBudgetError, NonFiniteWarning, ensemble
from ._random import standard_normals
from ._reaction_coordinates import (
    ReactionCoordinate,
    distance_to,
    path_progress,
    reaction_coordinate,
)
from ._sets import Ball, Box, HalfSpace, Interval, Shell, StopSet, Union
from ._system import Generator, System, rotation, translation
from ._transitions import TransitionResult, transitions

__all__ = [
    "ensemble",
    "EnsembleResult",
    "MemoryBudgetError",
    "NonFiniteWarning",
    "standard_normals",
    "System",
    "Generator",
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
    "ReactionCoordinate",
    "reaction_coordinate",
    "distance_to",
    "path_progress",
]
