"""AMS against brute force on the double well, and -eps log p on Maier–Stein.

    PYTHONPATH=. python benchmarks/ams.py [--quick] [--speed-only]

First, side by side in this process: the engine's fixed-horizon path-steps/s on the
double well (:func:`~simulate.ensemble`, no stopping set) and AMS's path-steps/s at
eps = 0.05 and 0.02 (100 replicas, 8 runs, same threads), in interleaved rounds, with
their ratio (issue 12's target: AMS at least a quarter of the engine's rate). Wall-clock
rates: on a shared machine they move with the load, printed with them.

Double well (f = x - x^3, D = 1), A = (-inf, -0.9], B = [0.9, inf), x0 = -0.8, dt = 1e-3
with the Brownian-bridge test at A and B (brute force at dt = 1e-3 with the bridge
matches the committor at eps = 0.1 to 0.1 %). For each eps: the AMS estimate (100
replicas, k = 1) with its standard error from independent runs, the path-steps and wall
time spent, and brute force: run where it can (eps >= 0.05), else its cost extrapolated
for the same relative error r, as (1 - p) / (p r^2) paths x the mean steps per path
(measured on a short brute-force run at that eps).
"""

from __future__ import annotations

import argparse
import math
import os
import time

import numpy as np
from scipy.integrate import quad

from simulate import Ball, ams, ensemble, zoo


def committor(x, eps, a=-0.9, b=0.9):
    def f(y):
        return np.exp((y**4 / 4 - y**2 / 2) / eps)

    opts = {"epsabs": 0, "epsrel": 1e-12, "limit": 200}
    return quad(f, a, x, **opts)[0] / quad(f, a, b, **opts)[0]


def speed_side_by_side(eps_list=(0.05, 0.02), n_runs=8, rounds=3, seed=2):
    """Engine fixed-horizon vs AMS path-steps/s on the double well: ``rounds`` rounds of
    one engine call and one AMS call per eps, interleaved so that a change of load hits
    all of them alike; the best of each."""
    dw = zoo.double_well()
    ensemble(dw, [-0.8], 0.05, t_span=0.01, dt=1e-3, n_paths=16, seed=0)  # compile / load cache
    ams(dw, "A", "B", 0.1, x0=[-0.8], n_replicas=10, n_runs=2, dt=1e-2, seed=0, progress=False)
    n_paths, n_steps = 40_000, 2000
    load = os.getloadavg()[0]
    engine = 0.0
    rate = dict.fromkeys(eps_list, 0.0)
    calls = {}
    for _ in range(rounds):
        t = time.perf_counter()
        ensemble(dw, [-0.8], 0.05, t_span=n_steps * 1e-3, dt=1e-3, n_paths=n_paths, seed=1)
        engine = max(engine, n_paths * n_steps / (time.perf_counter() - t))
        for eps in eps_list:
            res = ams(dw, "A", "B", eps, n_replicas=100, n_runs=n_runs, x0=[-0.8], dt=1e-3,
                      seed=seed, progress=False)  # fmt: skip
            rate[eps] = max(rate[eps], res.path_steps / res.wall_time)
            calls[eps] = res
    print(f"engine fixed-horizon (double well, no stop set): {engine:.3g} path-steps/s", flush=True)
    for eps in eps_list:
        res = calls[eps]
        print(f"AMS eps = {eps}: {rate[eps]:.3g} path-steps/s ({res.path_steps} per call, "
              f"{res.path_steps / res.iterations.sum():.0f} per iteration), ratio to the "
              f"engine {rate[eps] / engine:.3f} (target >= 0.25)", flush=True)  # fmt: skip
    print(f"load average: {load:.2f} before, {os.getloadavg()[0]:.2f} after, on "
          f"{os.cpu_count()} cores", flush=True)  # fmt: skip


def double_well_table(eps_list, n_runs, seed=2024):
    dw = zoo.double_well()
    rows = []
    for eps in eps_list:
        exact = committor(-0.8, eps)
        res = ams(dw, "A", "B", eps, n_replicas=100, n_runs=n_runs, x0=[-0.8], dt=1e-3,
                  seed=seed, n_jobs=1, progress=False)  # fmt: skip
        rel = res.probability_se / res.probability
        # brute force: a short run for the steps per path (and the estimate when feasible)
        n_bf = 200_000 if eps >= 0.05 else 20_000
        t = time.perf_counter()
        bf = ensemble(dw, [-0.8], eps, t_span=60, dt=1e-3, n_paths=n_bf, stop=["A", "B"],
                      bridge=True, seed=seed + 1, progress=False)  # fmt: skip
        bf_wall = time.perf_counter() - t
        steps_per_path = float(np.mean(np.ceil(bf.stop_time / 1e-3)))
        p_bf = bf.stopped_in("B").mean()
        se_bf = math.sqrt(p_bf * (1 - p_bf) / n_bf) if p_bf > 0 else math.nan
        bf_paths_needed = (1 - exact) / (exact * rel**2)
        bf_steps_needed = bf_paths_needed * steps_per_path
        rows.append(
            {
                "eps": eps,
                "exact": exact,
                "ams": res.probability,
                "ams_se": res.probability_se,
                "z": (res.probability - exact) / res.probability_se,
                "ams_steps": res.path_steps,
                "ams_wall_s": res.wall_time,
                "bf_p": p_bf,
                "bf_se": se_bf,
                "bf_paths_run": n_bf,
                "bf_wall_s": bf_wall,
                "bf_steps_for_same_relerr": bf_steps_needed,
                "bf_wall_for_same_relerr_s": bf_wall / (n_bf * steps_per_path) * bf_steps_needed,
                "cost_ratio": bf_steps_needed / res.path_steps,
            }
        )
        print({k: (f"{v:.4g}" if isinstance(v, float) else v) for k, v in rows[-1].items()},
              flush=True)  # fmt: skip
    return rows


def maier_stein_fit(eps_list, n_runs, seed=7):
    """-eps log p for escaping from a small ball around (-1, 0) to a ball around (1, 0):
    fit a + b eps + c eps log eps (prefactor terms); a -> U(saddle) - U(x0) ~ 1/4."""
    ms = zoo.maier_stein()
    A = Ball([-1.0, 0.0], 0.02)
    B = Ball([1.0, 0.0], 0.1)
    x0 = [-0.97, 0.0]
    rows = []
    for eps in eps_list:
        res = ams(ms, A, B, eps, n_replicas=100, n_runs=n_runs, x0=x0, dt=1e-3, seed=seed,
                  progress=False)  # fmt: skip
        y = -eps * math.log(res.probability)
        dy = eps * res.probability_se / res.probability
        rows.append({"eps": eps, "p": res.probability, "se": res.probability_se, "y": y, "dy": dy})
        print(rows[-1], flush=True)
    e = np.array([r["eps"] for r in rows])
    y = np.array([r["y"] for r in rows])
    dy = np.array([r["dy"] for r in rows])
    X = np.column_stack([np.ones_like(e), e, e * np.log(e)])
    W = 1 / dy**2
    cov = np.linalg.inv(X.T @ (X * W[:, None]))
    coef = cov @ (X.T @ (W * y))
    x = x0[0]
    barrier = 0.0 - (x**4 / 4 - x**2 / 2)
    print(
        f"fit a + b eps + c eps log eps: a = {coef[0]:.4f} +- {math.sqrt(cov[0, 0]):.4f}; "
        f"exact limit from x0: U(0) - U(x0) = {barrier:.4f} (1/4 - {0.25 - barrier:.4f})"
    )
    X2 = X[:, :2]
    cov2 = np.linalg.inv(X2.T @ (X2 * W[:, None]))
    coef2 = cov2 @ (X2.T @ (W * y))
    print(f"fit a + b eps: a = {coef2[0]:.4f} +- {math.sqrt(cov2[0, 0]):.4f}")
    return rows, coef, cov


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--speed-only", action="store_true")
    args = parser.parse_args()
    speed_side_by_side()
    if args.speed_only:
        raise SystemExit
    runs = 10 if args.quick else 40
    double_well_table([0.1, 0.05, 0.025, 0.0125, 0.01], runs)
    maier_stein_fit([0.1, 0.07, 0.05, 0.035, 0.025], 10 if args.quick else 20)
