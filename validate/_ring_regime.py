"""rotating_ring's small-noise regime: its exact instanton (a spiral) and the a-priori
criterion that picks the noise levels where its reactive paths follow the instanton.
"""

from __future__ import annotations

import numpy as np


# rotating_ring's instanton solves xdot = grad U + omega J x (r' = r (r^2 - 1),
# theta' = omega), so H = 0 and L = 0 on it.
def ring_spiral(omega=1.0, r_start=0.9, r_end=0.1, n=2000):
    """The rotating_ring instanton from radius r_start (at angle 0) to r_end: the spiral
    theta(r) - theta(r_start) = -omega [log r - log(1 - r^2) / 2]_{r_start}^{r}."""
    r = np.linspace(r_start, r_end, n)
    theta = -omega * (np.log(r) - 0.5 * np.log(1 - r**2))
    theta -= theta[0]
    return np.column_stack([r * np.cos(theta), r * np.sin(theta)])


# rotating_ring reactive paths: AMS start x0 = (RING_X0, 0), A the system's shell
# r >= RING_RA, B the ball r < RING_RB; the noise levels are those of RING_EPS whose end
# ratios (ring_end_ratios) are at most RING_MAX_RATIO.
RING_X0, RING_RA, RING_RB = 0.7, 0.9, 0.3
RING_EPS = (0.04, 0.02, 0.01, 0.005, 0.0025, 0.00125)
RING_MAX_RATIO = 1.0 / 3.0


def ring_end_ratios(eps, r0=RING_X0, r_a=RING_RA, r_b=RING_RB):
    """How far rotating_ring's reactive paths are from their small-noise regime at the two
    ends, for U(r) = (r^2 - 1)^2 / 4 (|U'(r)| = r (1 - r^2) is the instanton's speed):

    - rho_A = eps / ((r_a - r0) |U'(r0)|): the boundary layer of A, of width eps / |U'|,
      against the distance of the start from A. Inside it the conditioning on not
      returning to A (drift 2 eps grad log q, q the committor) outruns the instanton and
      the paths leave the start faster than the instanton does;
    - rho_B = eps / (r_b^2 (1 - r_b^2)): the radial Ito drift eps / r of the 2-D motion
      against the instanton's speed at B's edge; where it dominates, paths fall into B
      faster than the instanton.

    Because the angle is a neutral (symmetry) direction, its fluctuation is a random walk
    that integrates the time spent everywhere before, so a distorted time at either end
    changes the tube along the whole path, not only near the sets. The eps^(1/2) tube
    needs rho_A, rho_B << 1. Returns (rho_A, rho_B)."""
    eps = np.asarray(eps, dtype=float)
    speed = lambda r: r * (1.0 - r**2)  # noqa: E731
    return eps / ((r_a - r0) * speed(r0)), eps / (r_b * speed(r_b))


def ring_eps_grid():
    """The levels of RING_EPS in the small-noise regime: max(rho_A, rho_B) <= RING_MAX_RATIO."""
    return tuple(e for e in RING_EPS if max(ring_end_ratios(e)) <= RING_MAX_RATIO)
