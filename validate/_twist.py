"""The oscillator ring's twist transition sync -> twist_1 (N = 16, mu = K = 1): the
geometry of the ``oscillator_ring`` study (docs/networks.md, "The twist transition").

The ring is a gradient system, f = -grad V (``zoo.ring_potential``), so the reactive
instanton from the sync circle to the twist_1 circle climbs the reversed gradient flow
to an index-1 phase-slip saddle and falls down the flow on its other side; its action
from a start x0 on the uphill leg is V(saddle) - V(x0), and along it H = 0 and the U(1)
charge is 0 (p = grad V is orthogonal to the rotation, V being U(1) invariant).

- A, B: unions of balls on the circles of equilibria (8 balls of radius 2.0 on the sync
  circle, 16 of radius 1.4 on the twist_1 circle; docs/networks.md gives why smaller
  balls are not reached in 32 dimensions);
- x0: the point of the flow leg saddle -> sync at distance ``TWIST_X0`` from the sync
  circle; the noise levels are those where A's boundary layer is thin against the
  distance of x0 from A (:func:`twist_end_ratio`, docs/studies.md);
- the reference: x0 -> saddle (the reversed flow) -> B's edge (the flow), as points.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np
from scipy.integrate import solve_ivp

from simulate import zoo
from theory._display import fields_repr

TWIST_N = 16
TWIST_A = (8, 2.0)  # balls on the sync circle: number, radius
TWIST_B = (16, 1.4)  # balls on the twist_1 circle
TWIST_X0 = 2.8  # distance of the start from the sync circle
TWIST_EPS = (0.2, 0.14, 0.1, 0.07, 0.05, 0.035)
TWIST_MAX_RATIO = 1.0 / 3.0


def twist_system():
    """The ring of the study: ``zoo.oscillator_ring(TWIST_N)``, mu = K = 1."""
    return zoo.oscillator_ring(TWIST_N)


def circle_balls(q: int, m: int, radius: float) -> list[dict]:
    """m balls of ``radius`` centred on the twist_q circle at phases 2 pi j / m, as JSON
    sets (a union, ``validate._runner._stop_set``); the centres rounded to 12 decimals
    (they are in the study's identity, and sin and cos may differ in the last bit
    between numpy builds)."""
    return [
        {
            "kind": "ball",
            "center": zoo.twisted_state(q, TWIST_N, 1.0, 1.0, 2 * math.pi * j / m)
            .round(12)
            .tolist(),
            "radius": float(radius),
        }
        for j in range(m)
    ]


def _flow(system, x, t_end=300.0, n=30001):
    sol = solve_ivp(
        lambda t, y: system.f(y, t),
        (0.0, t_end),
        x,
        method="DOP853",
        rtol=1e-10,
        atol=1e-12,
        dense_output=True,
    )
    if not sol.success:
        raise RuntimeError(f"gradient flow from the saddle failed: {sol.message}")
    return sol.sol(np.linspace(0.0, t_end, n)).T


def sync_distance(x) -> np.ndarray:
    """Distance of ring states (..., 2N) from the sync circle: min over the phase of
    |x - sync(phi)|, = sqrt(|x|^2 + N - 2 N |Z_0|) (mu = K = 1)."""
    x = np.asarray(x, dtype=float)
    z = x[..., 0::2] + 1j * x[..., 1::2]
    n = z.shape[-1]
    return np.sqrt(np.maximum(np.sum(x * x, -1) + n - 2 * np.abs(z.sum(-1)), 0.0))


@dataclass(frozen=True)
class TwistGeometry:
    """The geometry of the twist transition (:func:`twist_geometry`); shared by every
    caller, so frozen, with read-only arrays.

    Attributes
    ----------
    saddle : (2N,) the index-1 phase-slip saddle
    x0 : (2N,) the start, on the flow leg saddle -> sync at distance ``TWIST_X0`` from
        the sync circle
    reference : (200, 2N) x0 -> saddle -> B's edge, by arc length
    action : V(saddle) - V(x0)
    barrier : V(saddle) - V(sync)
    dist_x0_A : distance of x0 from A's boundary
    speed_x0 : |f(x0)|
    """

    saddle: np.ndarray
    x0: np.ndarray
    reference: np.ndarray
    action: float
    barrier: float
    dist_x0_A: float
    speed_x0: float

    def __post_init__(self) -> None:
        for name in ("saddle", "x0", "reference"):
            a = np.array(getattr(self, name), dtype=float)  # a copy: no outside view of it
            a.setflags(write=False)
            object.__setattr__(self, name, a)

    def __repr__(self) -> str:
        return fields_repr(self)


@functools.cache
def twist_geometry() -> TwistGeometry:
    """The saddle, its two flow legs, x0, the reference and the action (computed once,
    an ODE solve; a :class:`TwistGeometry`)."""
    import theory

    system = twist_system()
    r = np.ones(TWIST_N)
    r[[0, -1]] = 0.5  # the slipped bond's two ends (docs/networks.md, "The saddle")
    z = r * np.exp(1j * np.pi * np.arange(TWIST_N) / (TWIST_N - 1))
    guess = np.column_stack([z.real, z.imag]).ravel()
    found = theory.fixed_points(system, guesses=guess[None], n_scan=0)
    saddle = next((p.x for p in found.points if p.index == 1), None)
    if saddle is None:
        raise RuntimeError("the phase-slip saddle was not found from its guess")
    J = system.jacobian(saddle)
    u = np.linalg.eigh(0.5 * (J + J.T))[1][:, -1]  # J is symmetric: f = -grad V
    legs = [_flow(system, saddle + s * 1e-6 * u) for s in (1.0, -1.0)]
    winding = [int(zoo.ring_winding(leg[-1])) for leg in legs]
    if sorted(winding) != [0, 1]:
        raise RuntimeError(f"the saddle's flow legs end at windings {winding}, not 0 and 1")
    down_a, down_b = (legs[0], legs[1]) if winding[0] == 0 else (legs[1], legs[0])
    k0 = int(np.argmax(sync_distance(down_a) < TWIST_X0))
    x0 = down_a[k0]
    m_b, r_b = TWIST_B
    centres = np.array([b["center"] for b in circle_balls(1, m_b, r_b)])
    to_b = np.min(np.linalg.norm(down_b[:, None, :] - centres[None], axis=-1), axis=1)
    kb = int(np.argmax(to_b <= r_b))
    ref = np.concatenate([down_a[k0::-1], down_b[1 : kb + 1]])
    m_a, r_a = TWIST_A
    centres_a = np.array([b["center"] for b in circle_balls(0, m_a, r_a)])
    v = zoo.ring_potential
    return TwistGeometry(
        saddle=saddle,
        x0=x0,
        reference=_by_arclength(ref, 200),
        action=float(v(saddle) - v(x0)),
        barrier=float(v(saddle) - v(system.states["sync"])),
        dist_x0_A=float(np.min(np.linalg.norm(centres_a - x0, axis=1)) - r_a),
        speed_x0=float(np.linalg.norm(system.f(x0, 0.0))),
    )


def _by_arclength(path, n):
    s = np.concatenate([[0.0], np.cumsum(np.linalg.norm(np.diff(path, axis=0), axis=1))])
    u = np.linspace(0.0, s[-1], n)
    return np.column_stack([np.interp(u, s, c) for c in path.T])


def twist_end_ratio(eps):
    """rho_A = eps / (delta |f(x0)|): the width eps D / |f| of A's boundary layer (where
    the conditioning on not returning to A, drift 2 eps grad log q, outruns the
    instanton) against the distance delta of the start from A, as for rotating_ring
    (:func:`validate._ring_regime.ring_end_ratios`). The small-noise regime needs it
    small; the study keeps rho_A <= ``TWIST_MAX_RATIO``."""
    g = twist_geometry()
    return np.asarray(eps, dtype=float) / (g.dist_x0_A * g.speed_x0)


def twist_eps_grid(quick: bool = False) -> tuple:
    """The levels of TWIST_EPS with rho_A <= 1/3, the largest three (quick) or four."""
    ok = [e for e in TWIST_EPS if twist_end_ratio(e) <= TWIST_MAX_RATIO]
    return tuple(ok[: 3 if quick else 4])
