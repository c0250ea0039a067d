"""Closed forms and quadratures for the conditioned-ensemble tests (1-D, D = 1)."""

from __future__ import annotations

import numpy as np
from scipy.integrate import quad


def double_well_potential(x):
    return x**4 / 4 - x**2 / 2


def committor(x: float, eps: float, a: float = -0.9, b: float = 0.9) -> float:
    """P_x(reach b before a) for dx = -U'(x) dt + sqrt(2 eps) dW:
    q(x) = int_a^x e^{U/eps} / int_a^b e^{U/eps}."""

    def f(y):
        return np.exp(double_well_potential(y) / eps)

    opts = {"epsabs": 0, "epsrel": 1e-12, "limit": 200}
    return quad(f, a, x, **opts)[0] / quad(f, a, b, **opts)[0]


def mean_reactive_duration(eps: float, a: float = -0.9, b: float = 0.9) -> float:
    """Transition path theory (E & Vanden-Eijnden): the mean duration of reactive
    trajectories is P(reactive) / flux =
    int_a^b e^{-U/eps} q (1 - q) dx * int_a^b e^{U/eps} dx / eps."""
    Z = quad(lambda y: np.exp(double_well_potential(y) / eps), a, b, epsrel=1e-12, limit=200)[0]

    def density(x):
        q = committor(x, eps, a, b)
        return np.exp(-double_well_potential(x) / eps) * q * (1 - q)

    return quad(density, a, b, epsrel=1e-9, limit=200)[0] * Z / eps


def lower_first_passage_density(t, x0=0.5, v=0.1, sigma=1.0, lo=-1.0, hi=1.0, terms=50):
    """First-passage density to ``lo`` of dx = v dt + sigma dW absorbed at lo and hi
    (method of images): exp(-w z - w^2 t / 2) sum_k (z + 2 k a) phi_t(z + 2 k a) / t, with
    z = (x0 - lo) / sigma, a = (hi - lo) / sigma, w = v / sigma."""
    a = (hi - lo) / sigma
    z = (x0 - lo) / sigma
    w = v / sigma
    k = np.arange(-terms, terms + 1)
    y = z + 2 * k * a
    s = np.sum(y * np.exp(-(y**2) / (2 * t)))
    return np.exp(-w * z - w * w * t / 2) * s / np.sqrt(2 * np.pi * t**3)


def lower_hit_probability(t_lo: float, t_hi: float, **kw) -> float:
    return quad(lambda t: lower_first_passage_density(t, **kw), t_lo, t_hi, epsabs=1e-14)[0]
