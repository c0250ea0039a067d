"""Engine throughput: this engine vs numpy-vectorised Euler–Maruyama vs sdeint.

    python benchmarks/engine.py [--paths 20000 --steps 2000]

Maier–Stein (alpha = mu = 1), eps = 0.05, dt = 1e-3, final state saved. Prints
path-steps per second of each method measured in this process, their ratios, and the wall
time of the paper's drift-diffusion experiment (1e5 paths x 40 steps).
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np

from simulate import ensemble, zoo


def numpy_ensemble(x0, n_paths, n_steps, dt, eps, seed):
    """Plain vectorised Euler–Maruyama for Maier–Stein (the baseline)."""
    rng = np.random.default_rng(seed)
    x = np.tile(np.asarray(x0, float), (n_paths, 1))
    amp = np.sqrt(2 * eps * dt)
    for _ in range(n_steps):
        u, v = x[:, 0], x[:, 1]
        drift = np.stack([u - u**3 - u * v**2, -(1 + u**2) * v], axis=1)
        x = x + drift * dt + amp * rng.standard_normal(x.shape)
    return x


def sdeint_euler(x0, n_paths, n_steps, dt, eps, seed):
    import sdeint

    def f(x, t):
        return np.array([x[0] - x[0] ** 3 - x[0] * x[1] ** 2, -(1 + x[0] ** 2) * x[1]])

    def g(x, t):
        return np.sqrt(2 * eps) * np.eye(2)

    tspan = np.linspace(0.0, n_steps * dt, n_steps + 1)
    rng = np.random.default_rng(seed)
    return [
        sdeint.itoEuler(f, g, np.asarray(x0, float), tspan, generator=rng)[-1]
        for _ in range(n_paths)
    ]


def rate(fn, n_paths, n_steps, repeat=1):
    best = np.inf
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return n_paths * n_steps / best, best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--paths", type=int, default=20000)
    parser.add_argument("--steps", type=int, default=2000)
    args = parser.parse_args()
    system = zoo.maier_stein()
    x0, eps, dt = [-1.0, 0.0], 0.05, 1e-3
    T = args.steps * dt
    ensemble(system, x0, eps, t_span=10 * dt, dt=dt, n_paths=8, seed=0)  # compile / load cache

    ours, ours_s = rate(
        lambda: ensemble(system, x0, eps, t_span=T, dt=dt, n_paths=args.paths, seed=1),
        args.paths,
        args.steps,
        repeat=3,
    )
    np_paths, np_steps = args.paths, max(100, args.steps // 10)
    base, _ = rate(lambda: numpy_ensemble(x0, np_paths, np_steps, dt, eps, 1), np_paths, np_steps)
    sd_paths, sd_steps = 4, args.steps
    sde, _ = rate(lambda: sdeint_euler(x0, sd_paths, sd_steps, dt, eps, 1), sd_paths, sd_steps)

    dd = zoo.drift_diffusion()
    stop = {"lower": "lower_bound", "upper": "upper_bound"}
    ensemble(dd, "start", 1.0, t_span=1.0, dt=0.025, n_paths=10, seed=0, stop=stop, bridge=False)
    start = time.perf_counter()
    res = ensemble(
        dd, "start", 1.0, t_span=1.0, dt=0.025, n_paths=100_000, seed=0, stop=stop, bridge=False
    )
    dd_s = time.perf_counter() - start

    print(f"machine: {os.cpu_count()} cores; Maier–Stein eps={eps}, dt={dt}")
    print(
        f"this engine    : {ours:12.4g} path-steps/s ({args.paths} x {args.steps} in "
        f"{ours_s:.3f} s, best of 3)"
    )
    print(f"numpy baseline : {base:12.4g} path-steps/s ({np_paths} x {np_steps})")
    print(f"sdeint itoEuler: {sde:12.4g} path-steps/s ({sd_paths} x {sd_steps})")
    print(f"ratio engine / numpy : {ours / base:8.1f}x")
    print(f"ratio engine / sdeint: {ours / sde:8.0f}x")
    print(
        f"drift-diffusion experiment (1e5 paths x 40 steps, absorbing): {dd_s:.3f} s, "
        f"{np.count_nonzero(res.stopped_in('lower') & (res.stop_time >= 0.95))} kept"
    )


if __name__ == "__main__":
    main()
