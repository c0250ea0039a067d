"""Engine throughput: this engine vs numpy Euler–Maruyama (naive and tuned) vs sdeint, and
the engine with stopping sets against its own fixed-horizon rate.

    python benchmarks/engine.py [--paths 20000 --steps 2000 --fp-paths 20000 --n-jobs 1]

Maier–Stein (alpha = mu = 1), eps = 0.05, dt = 1e-3, final state saved: path-steps per
second of the engine, of a naive vectorised numpy loop, of a tuned one (preallocated
buffers, ``standard_normal(out=...)``, no ``**``, in-place operations) and of sdeint,
with their ratios. Then the 1-D double well (f = x - x^3, from x0 = -1, dt = 1e-2) in the
same run: the fixed-horizon rate (no set), the rate with a set that is never reached
(x >= 3), and first-passage ensembles that stop at x >= 1 (the well beyond the saddle,
t_max = 5 exact mean times, eps = 0.1 and 0.05) reported as *useful* path-steps per
second (the steps each path takes until it stops, summed) and as a fraction of the
fixed-horizon rate (target: at least 0.70), by wall time and, with ``--n-jobs 1``, by
this process's CPU time (the steadier measure on a machine shared with other jobs).
Last, the wall time of the paper's drift-diffusion experiment (1e5 paths x 40 steps).
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np

from simulate import Interval, Status, ensemble, zoo
from simulate._driver import grid_steps
from validate._references import mean_first_passage_1d

#: The first-passage ensemble's useful path-steps/s as a fraction of the fixed-horizon rate
#: (issue 12).
TARGET = 0.70


def numpy_ensemble(x0, n_paths, n_steps, dt, eps, seed):
    """Plain vectorised Euler–Maruyama for Maier–Stein (the naive baseline)."""
    rng = np.random.default_rng(seed)
    x = np.tile(np.asarray(x0, float), (n_paths, 1))
    amp = np.sqrt(2 * eps * dt)
    for _ in range(n_steps):
        u, v = x[:, 0], x[:, 1]
        drift = np.stack([u - u**3 - u * v**2, -(1 + u**2) * v], axis=1)
        x = x + drift * dt + amp * rng.standard_normal(x.shape)
    return x


def numpy_tuned(x0, n_paths, n_steps, dt, eps, seed):
    """Euler–Maruyama for Maier–Stein written for numpy's speed: components in separate
    contiguous rows, every buffer allocated once, normals drawn into a buffer, products
    instead of powers, in-place updates:

        u += (u (1 - u^2 - v^2)) dt + amp z_u,     v -= ((1 + u^2) v) dt - amp z_v.
    """
    rng = np.random.default_rng(seed)
    x = np.empty((2, n_paths))
    x[0], x[1] = x0
    u, v = x
    z = np.empty((2, n_paths))
    u2, w, fu, fv = (np.empty(n_paths) for _ in range(4))
    amp = np.sqrt(2 * eps * dt)
    for _ in range(n_steps):
        rng.standard_normal(out=z)
        np.multiply(u, u, out=u2)
        np.multiply(v, v, out=w)
        np.add(w, u2, out=w)
        np.subtract(1.0, w, out=w)
        np.multiply(u, w, out=fu)  # u - u^3 - u v^2
        np.add(u2, 1.0, out=u2)
        np.multiply(u2, v, out=fv)  # (1 + u^2) v = -f_v
        np.multiply(fu, dt, out=fu)
        np.multiply(fv, dt, out=fv)
        np.multiply(z, amp, out=z)
        u += fu
        u += z[0]
        v -= fv
        v += z[1]
    return x.T


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
    """Path-steps per second of wall time (best of ``repeat``), that time, and path-steps
    per second of this process's CPU time (best of ``repeat``; all its threads, not
    joblib's worker processes). On a loaded machine the CPU rate is the steadier one."""
    best, best_cpu = np.inf, np.inf
    for _ in range(repeat):
        start, start_cpu = time.perf_counter(), time.process_time()
        fn()
        best = min(best, time.perf_counter() - start)
        best_cpu = min(best_cpu, time.process_time() - start_cpu)
    return n_paths * n_steps / best, best, n_paths * n_steps / best_cpu


def useful_steps(res) -> int:
    """Steps the paths took until they stopped (a path that ran to the end: all)."""
    n_steps = int(round((res.t_span[1] - res.t_span[0]) / res.dt))
    stopped = res.path_status != Status.RUNNING
    taken = grid_steps(res.stop_time[stopped] - res.t_span[0], res.dt)
    return int(taken.sum()) + n_steps * int(np.count_nonzero(~stopped))


def double_well_rates(n_paths: int, n_jobs: int, dt: float = 1e-2, fh_steps: int = 5000):
    """Fixed-horizon, never-reached-set and first-passage rates on the double well."""
    dw = zoo.double_well()
    kw = {"dt": dt, "n_jobs": n_jobs, "bridge": True}
    ensemble(dw, "left", 0.1, t_span=10 * dt, n_paths=8, seed=0, stop=Interval(3.0, np.inf), **kw)
    horizon = fh_steps * dt
    fixed, _, fixed_cpu = rate(
        lambda: ensemble(dw, "left", 0.05, t_span=horizon, n_paths=n_paths, seed=1, **kw),
        n_paths,
        fh_steps,
        repeat=3,
    )
    never, *_ = rate(
        lambda: ensemble(
            dw, "left", 0.05, t_span=horizon, n_paths=n_paths, seed=1, stop=Interval(3.0, np.inf),
            **kw,
        ),
        n_paths,
        fh_steps,
        repeat=3,
    )  # fmt: skip
    rows = []
    for eps in (0.1, 0.05):
        mean = mean_first_passage_1d(dw, -1.0, 1.0, eps, reflect=-3.0)
        start, start_cpu = time.perf_counter(), time.process_time()
        res = ensemble(
            dw, "left", eps, t_span=5 * mean, n_paths=n_paths, seed=2, stop=Interval(1.0, np.inf),
            **kw,
        )  # fmt: skip
        wall, cpu = time.perf_counter() - start, time.process_time() - start_cpu
        steps = useful_steps(res)
        rows.append((eps, mean, res.n_stopped, steps, steps / wall, wall, steps / cpu))
    return fixed, fixed_cpu, never, rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--paths", type=int, default=20000)
    parser.add_argument("--steps", type=int, default=2000)
    parser.add_argument("--fp-paths", type=int, default=20000, help="double-well paths")
    parser.add_argument("--n-jobs", type=int, default=1, help="joblib workers (1: threads)")
    args = parser.parse_args()
    system = zoo.maier_stein()
    x0, eps, dt = [-1.0, 0.0], 0.05, 1e-3
    T = args.steps * dt
    ensemble(system, x0, eps, t_span=10 * dt, dt=dt, n_paths=8, seed=0)  # compile / load cache

    ours, ours_s, _ = rate(
        lambda: ensemble(system, x0, eps, t_span=T, dt=dt, n_paths=args.paths, seed=1),
        args.paths,
        args.steps,
        repeat=3,
    )
    np_paths, np_steps = args.paths, max(100, args.steps // 10)
    base, *_ = rate(lambda: numpy_ensemble(x0, np_paths, np_steps, dt, eps, 1), np_paths, np_steps)
    tuned, *_ = rate(
        lambda: numpy_tuned(x0, np_paths, np_steps, dt, eps, 1), np_paths, np_steps, repeat=3
    )
    sd_paths, sd_steps = 4, args.steps
    sde, *_ = rate(lambda: sdeint_euler(x0, sd_paths, sd_steps, dt, eps, 1), sd_paths, sd_steps)

    fixed, fixed_cpu, never, rows = double_well_rates(args.fp_paths, args.n_jobs)

    dd = zoo.drift_diffusion()
    stop = {"lower": "lower_bound", "upper": "upper_bound"}
    ensemble(dd, "start", 1.0, t_span=1.0, dt=0.025, n_paths=10, seed=0, stop=stop, bridge=False)
    start = time.perf_counter()
    res = ensemble(
        dd, "start", 1.0, t_span=1.0, dt=0.025, n_paths=100_000, seed=0, stop=stop, bridge=False
    )
    dd_s = time.perf_counter() - start

    with open("/proc/loadavg") if os.path.exists("/proc/loadavg") else open(os.devnull) as fh:
        load = fh.read().split()[:3]
    print(f"machine: {os.cpu_count()} cores, load average {' '.join(load) or 'n/a'}")
    print(f"Maier–Stein eps={eps}, dt={dt}")
    print(
        f"this engine    : {ours:12.4g} path-steps/s ({args.paths} x {args.steps} in "
        f"{ours_s:.3f} s, best of 3)"
    )
    print(f"numpy naive    : {base:12.4g} path-steps/s ({np_paths} x {np_steps})")
    print(f"numpy tuned    : {tuned:12.4g} path-steps/s ({np_paths} x {np_steps}, best of 3)")
    print(f"sdeint itoEuler: {sde:12.4g} path-steps/s ({sd_paths} x {sd_steps})")
    print(f"ratio engine / numpy tuned: {ours / tuned:8.1f}x")
    print(f"ratio engine / numpy naive: {ours / base:8.1f}x")
    print(f"ratio engine / sdeint     : {ours / sde:8.0f}x")
    print(f"double well, dt=1e-2, {args.fp_paths} paths, n_jobs={args.n_jobs}")
    print(f"fixed horizon (no set)     : {fixed:12.4g} path-steps/s (best of 3)")
    print(f"set never reached (x >= 3) : {never:12.4g} path-steps/s ({never / fixed:.2f} of it)")
    for eps_fp, mean, n_stopped, steps, useful, wall, useful_cpu in rows:
        print(
            f"first passage to x >= 1, eps={eps_fp:g} (E tau = {mean:.4g}, t_max = 5 E tau): "
            f"{useful:.4g} useful path-steps/s ({useful / fixed:.2f} of fixed horizon, target "
            f">= {TARGET:.2f}; {steps:.3g} steps in {wall:.2f} s, {n_stopped} stopped)"
        )
        if args.n_jobs == 1:  # CPU time counts this process only
            print(
                f"  per CPU second: {useful_cpu:.4g} useful path-steps against {fixed_cpu:.4g} "
                f"at fixed horizon ({useful_cpu / fixed_cpu:.2f}, target >= {TARGET:.2f})"
            )
    print(
        f"drift-diffusion experiment (1e5 paths x 40 steps, absorbing): {dd_s:.3f} s, "
        f"{np.count_nonzero(res.stopped_in('lower') & (res.stop_time >= 0.95))} kept"
    )


if __name__ == "__main__":
    main()
