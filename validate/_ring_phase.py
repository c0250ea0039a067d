"""The oscillator ring's phase turn: a finite-T transition whose U(1) charge is not zero.

Paths of ``zoo.oscillator_ring(N)`` (d = 2N, convention dX = f dt + sqrt(2 eps) dW,
docs/conventions.md) start at the twisted state q (phase 0) and are conditioned on the
phase of its Fourier mode Z_q = (1/N) sum_k z_k e^{-2 pi i q k / N} having turned past a
at time T: the half-space

    G_a = {x : Im(e^{-i a} Z_q(x)) >= 0}  (the phase of Z_q in [a, a + pi]),

one linear condition on 2N coordinates, so the transverse fluctuations do not make the
event rarer than the turn itself (a ball about the turned state would, ``docs/networks.md``).

**The reduction.** G_a and the start are invariant under the ring's discrete symmetry
z_k -> z_{k+1} e^{-2 pi i q / N} (it leaves Z_q unchanged), so the minimiser has the form
z_k(t) = w(t) e^{2 pi i q k / N} with w' = (mu' - |w|^2) w, mu' = mu - 4 K sin^2(pi q / N).
With w = sqrt(mu') u and s = mu' t this is ``zoo.rotating_ring(omega=0)`` from (1, 0) to
the ray at angle a in s = mu' T, and

    S = N mu'^2 S_2D,   U1 = N mu'^2 L_2D,   H = N mu'^3 H_2D

(the 2N real coordinates carry N copies of the 2-D action, and dt = ds / mu'). The end is
free along the ray: the end radius rho* solves the transversality condition
p_2D(T) . (cos a, sin a) = 0 (dS/dx_end = p(T)), i.e. the turned state is reached with
the amplitude sqrt(mu') rho* < sqrt(mu') that makes the turn cheapest. In 2N dimensions
the same condition reads p(T) parallel to the normal of G_a, which the tests check on the
2N-dimensional instanton (``tests/validate/test_ring_phase.py``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from simulate import HalfSpace, zoo
from theory._display import fields_repr

#: The phase-turn study's case: N = 16 oscillators (d = 32), mu = K = 1, the twisted
#: state q = 1 turned by 1 rad in T = 2 (the instanton of ``docs/networks.md``).
TURN_N, TURN_Q, TURN_A, TURN_T = 16, 1, 1.0, 2.0


def phase_turn_normal(n: int, a: float, q: int = 1) -> np.ndarray:
    """The normal nu of G_a = {x : nu . x >= 0}: nu . x = N Im(e^{-i a} Z_q(x)) =
    sum_k (cos(a + theta_k) Im z_k - sin(a + theta_k) Re z_k), theta_k = 2 pi q k / N."""
    theta = a + 2.0 * math.pi * q * np.arange(n) / n
    return np.column_stack([-np.sin(theta), np.cos(theta)]).ravel()


def phase_turn_target(n: int, a: float, q: int = 1) -> HalfSpace:
    """G_a as a :class:`simulate.HalfSpace` (the paths' states at T must lie in it)."""
    return HalfSpace(phase_turn_normal(n, a, q), 0.0)


@dataclass(frozen=True)
class PhaseTurn:
    """The phase turn's instanton by the exact reduction (module docstring).

    Attributes
    ----------
    n, q, mu, coupling, a, T : the case
    mu_eff : mu' = mu - 4 K sin^2(pi q / N)
    rho : end radius of the 2-D problem (1 for the fixed end, rho* for the free one)
    end : the instanton's end point in 2N dimensions, sqrt(mu') rho e^{i (theta_k + a)}
    action, U1, H : S = N mu'^2 S_2D, U1 = N mu'^2 L_2D, H = N mu'^3 H_2D
    two : the 2-D instanton (``theory.instanton`` on ``zoo.rotating_ring(0)``)
    """

    n: int
    q: int
    mu: float
    coupling: float
    a: float
    T: float
    mu_eff: float
    rho: float
    end: np.ndarray
    action: float
    U1: float
    H: float
    two: object

    def __repr__(self) -> str:
        return fields_repr(self)


def phase_turn(
    n: int = TURN_N,
    a: float = TURN_A,
    T: float = TURN_T,
    *,
    q: int = TURN_Q,
    mu: float = 1.0,
    coupling: float = 1.0,
    free_end: bool = True,
    segments: int = 200,
) -> PhaseTurn:
    """The instanton from twist_q (phase 0) to the state turned by ``a`` in time ``T``, by
    the 2-D reduction. ``free_end=True``: the end anywhere on G_a's boundary (the
    study's conditioning; the end radius from transversality, to 1e-12); ``False``: the
    twisted state itself, turned (``benchmarks/instanton_network.py``)."""
    from scipy.optimize import brentq

    from theory import instanton

    mu_eff = mu - 4.0 * coupling * math.sin(math.pi * q / n) ** 2
    if mu_eff <= 0:
        raise ValueError(f"no twisted state q = {q} at N = {n}: mu' = {mu_eff:g}")
    if not (0.0 < a < math.pi and T > 0):
        raise ValueError(f"need 0 < a < pi and T > 0, got a = {a!r}, T = {T!r}")
    plane, ray = zoo.rotating_ring(0.0), np.array([math.cos(a), math.sin(a)])

    def two_d(rho):
        two = instanton(plane, [1.0, 0.0], rho * ray, mu_eff * T, n=segments)
        if not two.success:  # also inside the root search: its p(T) would be noise
            raise RuntimeError(
                f"the 2-D instanton to radius {rho:.12g} did not converge: {two.message}"
            )
        return two

    rho = 1.0
    if free_end:
        # dS_2D / drho = p(T) . ray: negative at a small radius, positive beyond the
        # optimum (turning at a larger radius costs more)
        rho = brentq(lambda r: float(two_d(r).p[-1] @ ray), 0.5, 1.5, xtol=1e-12)
    two = two_d(rho)
    scale = n * mu_eff**2
    return PhaseTurn(
        n=n,
        q=q,
        mu=mu,
        coupling=coupling,
        a=a,
        T=T,
        mu_eff=mu_eff,
        rho=float(rho),
        end=rho * zoo.twisted_state(q, n, mu, coupling, a),
        action=scale * two.action,
        U1=scale * two.charges.mean("L"),
        H=scale * mu_eff * two.charges.mean("H"),
        two=two,
    )
