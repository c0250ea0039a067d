"""The model zoo: the paper's systems and the textbook checks, with the paper's parameters as
defaults (``noisy-noether systems`` lists them).

Each entry is a function returning a :class:`~simulate.System`; ``get(name, **params)``
looks one up by name and ``names()`` lists them. Conventions (docs/conventions.md):
dX = f dt + sqrt(2 eps D) dW.
The paper's systems carry the paper's noise amplitude in D, so that **eps = 1 is the
paper's noise level** and smaller eps sweeps toward the zero-noise limit; the literature
anchors use D = I.
"""

from __future__ import annotations

from collections.abc import Callable

from ._bessel import bessel_ratio
from ._models import (
    anisotropic_well,
    decision_memory,
    double_well,
    drift_diffusion,
    maier_stein,
    monostable,
    ornstein_uhlenbeck,
    reverse_diffusion_ring,
    rotating_ring,
)
from ._networks import (
    oscillator_ring,
    phase_rotation,
    rate_network,
    ring_fourier_power,
    ring_potential,
    ring_shift,
    ring_winding,
    twist_is_stable,
    twisted_spectrum,
    twisted_state,
)

_REGISTRY: dict[str, Callable] = {
    f.__name__: f
    for f in (
        drift_diffusion,
        monostable,
        decision_memory,
        reverse_diffusion_ring,
        double_well,
        anisotropic_well,
        maier_stein,
        rotating_ring,
        ornstein_uhlenbeck,
        oscillator_ring,
    )
}


def names() -> list[str]:
    """Names of the zoo's systems."""
    return list(_REGISTRY)


def get(name: str, **params):
    """The zoo system ``name`` with optional parameter overrides."""
    if name not in _REGISTRY:
        raise ValueError(f"unknown system {name!r}; the zoo has {', '.join(_REGISTRY)}")
    return _REGISTRY[name](**params)


__all__ = [
    *_REGISTRY,
    "names",
    "get",
    "bessel_ratio",
    "rate_network",
    "phase_rotation",
    "twisted_state",
    "twisted_spectrum",
    "twist_is_stable",
    "ring_fourier_power",
    "ring_potential",
    "ring_winding",
    "ring_shift",
]
