"""Sampling layer: the system description, the model zoo and the ensemble engines.

Convention (Itô, noise level eps > 0): dX = f(X, t) dt + sqrt(2 eps D(t)) dW.
"""

from . import zoo
from ._euler_maruyama import EnsembleResult, MemoryBudgetError, ensemble
from ._random import standard_normals
from ._sets import Ball, Box, HalfSpace, Interval, Shell, StopSet, Union
from ._system import Generator, System, rotation, translation

__all__ = [
    "ensemble",
    "EnsembleResult",
    "MemoryBudgetError",
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
]
