"""AMS across the oscillator ring's twist transition sync -> twist_1 (N = 16, mu = K = 1).

    python benchmarks/twist_ams.py [--eps 0.1,0.07,0.05] [--replicas 20] [--runs 4]

The ring is a gradient system (f = -grad V, ``zoo.ring_potential``), so -eps log P(reach
B before A | x0) -> V(saddle) - V(x0), the saddle being the index-1 phase slip found by
``theory.fixed_points`` (docs/networks.md, "The twist transition"). Sets: A and B are
unions of balls on the circles of equilibria (8 balls of radius 2.0 on the sync circle,
16 of radius 1.4 on the twist_1 circle): smaller balls are not reached at these eps in
32 dimensions (docs/networks.md). x0 is the point of the gradient-flow leg saddle ->
sync at distance 2.2 from the sync circle. Reaction coordinate: the Fourier power
(`zoo.ring_fourier_power`)
xi = |Z_1|^2 - |Z_0|^2, Z_m = (1/N) sum_k z_k e^{-2 pi i m k / N}, invariant under the
U(1) rotation and the ring's translation. Prints per eps the estimate, -eps log P, the
run spread, the wall time and the empirical charges (H and U1) of the weighted reactive
segments, then the eps log eps fit of the action against V(saddle) - V(x0).
"""

from __future__ import annotations

import argparse
import math
import time
from functools import reduce

import numpy as np
from scipy.integrate import solve_ivp

import theory
from simulate import Ball, ams, reaction_coordinate, zoo
from validate import empirical_charges, fit_action

N = 16


def drift(system, x):
    out = np.empty_like(x)
    system.drift(x, 0.0, np.asarray(system.params, dtype=float), out)
    return out


def slip_saddle(system):
    r = np.ones(N)
    r[[0, -1]] = 0.5
    z = r * np.exp(1j * np.pi * np.arange(N) / (N - 1))
    guess = np.column_stack([z.real, z.imag]).ravel()
    found = theory.fixed_points(system, guesses=guess[None], n_scan=0)
    return next(p.x for p in found.points if p.index == 1)


def start_point(system, saddle, distance):
    """The point of the gradient-flow leg saddle -> sync at ``distance`` from the sync
    circle (distance to the circle: |x|^2 + N - 2 N |Z_0|, minimised over the phase)."""
    h = 1e-6
    J = np.array(
        [
            (drift(system, saddle + h * e) - drift(system, saddle - h * e)) / (2 * h)
            for e in np.eye(2 * N)
        ]
    ).T
    u = np.linalg.eigh(0.5 * (J + J.T))[1][:, -1]

    def to_sync(x):
        z = x[0::2] + 1j * x[1::2]
        return math.sqrt(max(x @ x + N - 2 * abs(z.sum()), 0.0))

    for sign in (1, -1):
        sol = solve_ivp(
            lambda t, y: drift(system, y),
            (0, 300),
            saddle + sign * 1e-6 * u,
            rtol=1e-10,
            atol=1e-12,
            dense_output=True,
        )
        path = sol.sol(np.linspace(0, 300, 30001)).T
        d = np.array([to_sync(x) for x in path])
        if d[-1] < 1e-3:
            return path[np.argmax(d < distance)]
    raise RuntimeError("neither leg of the flow off the saddle reached sync")


def circle(q, m, radius):
    return reduce(
        lambda a, b: a | b,
        [Ball(zoo.twisted_state(q, N, 1.0, 1.0, 2 * math.pi * j / m), radius) for j in range(m)],
    )


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--eps", default="0.1,0.07,0.05")
    ap.add_argument("--replicas", type=int, default=20)
    ap.add_argument("--runs", type=int, default=4)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    t_all = time.time()
    system = zoo.oscillator_ring(N)
    saddle = slip_saddle(system)
    x0 = start_point(system, saddle, 2.2)
    action = float(zoo.ring_potential(saddle) - zoo.ring_potential(x0))
    barrier = zoo.ring_potential(saddle) - zoo.ring_potential(system.states["sync"])
    print(f"barrier V(saddle) - V(sync) = {barrier:.10f}")
    print(f"theory: -eps log P -> V(saddle) - V(x0) = {action:.6f}")
    A, B = circle(0, 8, 2.0), circle(1, 16, 1.4)
    rc = reaction_coordinate(zoo.ring_fourier_power, (1.0,))
    eps_grid = [float(e) for e in args.eps.split(",")]
    probs, log_se = [], []
    for eps in eps_grid:
        t0 = time.time()
        r = ams(
            system,
            A,
            B,
            eps,
            x0=x0,
            reaction_coordinate=rc,
            n_replicas=args.replicas,
            n_runs=args.runs,
            dt=2e-3,
            seed=args.seed,
            t_span=200.0,
        )
        logs = np.log(r.run_estimates)
        probs.append(r.probability)
        log_se.append(logs.std(ddof=1) / math.sqrt(logs.size))
        E = r.ensemble
        o = E.offsets
        segs = [E.x[o[i] : o[i + 1]] for i in range(len(o) - 1)]
        times = [E.t[o[i] : o[i + 1]] for i in range(len(o) - 1)]
        ch = empirical_charges(system, segs, times, eps=eps, weights=E.weights, groups=E.source)
        print(
            f"eps {eps}: P = {r.probability:.3e}, -eps log P ="
            f" {-eps * math.log(r.probability):.4f}, log of the runs {np.round(logs, 2)},"
            f" {time.time() - t0:.1f} s; {r.message}; {E.message}"
        )
        print(ch.summary().to_string())
    if len(eps_grid) < 2:
        print(f"total {time.time() - t_all:.1f} s (one level: no fit)")
        return
    fit = fit_action(
        eps_grid, probs, log_se=log_se, dof=[args.runs - 1] * len(eps_grid), theory=action
    )
    print(fit)
    print(f"total {time.time() - t_all:.1f} s")


if __name__ == "__main__":
    main()
