"""Engine throughput at network size: the batched engine vs a vectorised numpy
Euler–Maruyama vs the per-path engine, on a rate network x' = -x + W tanh(x) + b.

    python benchmarks/network.py [--dims 8 32 64 128 256] [--paths 2048] [--per-path 8 64]
    python benchmarks/network.py --theory   # find_symmetries and fixed_points at d = 64
    python benchmarks/network.py --first-passage [--fp-dim 64] [--fp-paths 4096]

For each d: path-steps per second of ``simulate.ensemble_batched`` (second call), of
plain numpy (the same step, ``rng.standard_normal`` for the noise) and, for the dims in
``--per-path``, of ``simulate.ensemble`` with the per-path drift; numpy is timed with
its default BLAS threads and with one (small products across threads are slow on a busy
machine); the recurrent product
costs 2 d^2 flops per path-step, so the batched engine's flop rate is compared with
numpy's own dgemm rate (a 1024^3 product, best of 3) measured in the same run. First-call
latency: the first call at a new d in this process (kernel load or compilation
included), of each engine.

``--first-passage``: at one d, in the same run, the batched engine's fixed-horizon rate,
the rate with a stopping set no path reaches (the cost of the set tests), and the
useful rate (steps taken until each path stopped, per second) of first exits from a
ball about the network's attractor, with rows refilled from the group (autonomous) and
in generations (the same system declared non-autonomous); ``transitions`` A -> B on the
same network (all with one BLAS thread, threads over blocks); and a check of the BLAS
behaviour the engine relies on (a row's product does not depend on the other rows; a
smaller block, as compaction would make, may sum in another order).
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import time

import numpy as np
from threadpoolctl import threadpool_limits

from simulate import Ball, Shell, ensemble, ensemble_batched, transitions, zoo
from simulate._driver import grid_steps


def gemm_rate(n: int = 1024, repeat: int = 3) -> float:
    """numpy's dgemm rate in GFLOP/s (best of ``repeat``)."""
    a, b = np.random.default_rng(0).random((2, n, n))
    best = np.inf
    for _ in range(repeat):
        start = time.perf_counter()
        a @ b
        best = min(best, time.perf_counter() - start)
    return 2 * n**3 / best / 1e9


def numpy_ensemble(W, b, x0, n_paths, n_steps, dt, eps, seed):
    """Vectorised Euler–Maruyama of x' = -x + W tanh(x) + b (the baseline)."""
    rng = np.random.default_rng(seed)
    x = np.tile(x0, (n_paths, 1))
    amp = np.sqrt(2 * eps * dt)
    for _ in range(n_steps):
        x = x + (-x + np.tanh(x) @ W.T + b) * dt + amp * rng.standard_normal(x.shape)
    return x


def timed(fn, *args, **kwargs) -> float:
    start = time.perf_counter()
    fn(*args, **kwargs)
    return time.perf_counter() - start


def theory_at_network_size(n: int = 32) -> None:
    """Time find_symmetries on the ring of n oscillators (2n dims) and on a random rate
    network of the same size, and fixed_points on the ring from its twisted states."""
    from theory import find_symmetries, fixed_points

    ring = zoo.oscillator_ring(n=n)
    start = time.perf_counter()
    sym = find_symmetries(ring)
    found = ", ".join(f"{g.name} ({k}, residual {r:.1e})" for g, k, r in
                      zip(sym.generators, sym.kinds, sym.residuals, strict=True))  # fmt: skip
    same = len(sym) == 1 and np.allclose(sym.generators[0].A, ring.generators[0].A, atol=1e-10)
    print(f"find_symmetries, ring d = {2 * n}: {time.perf_counter() - start:.1f} s: {found}; "
          f"the declared U(1): {same}")  # fmt: skip
    rng = np.random.default_rng(0)
    net = zoo.rate_network(rng.normal(size=(2 * n, 2 * n)) * 1.5 / np.sqrt(2 * n))
    start = time.perf_counter()
    sym = find_symmetries(net)
    print(f"find_symmetries, random W d = {2 * n}: {time.perf_counter() - start:.1f} s: "
          f"{len(sym)} generators, smallest relative singular value "
          f"{sym.singular_values[-1]:.1e}")  # fmt: skip
    twists = [k for k in ring.states if k.startswith("twist_")]
    start = time.perf_counter()
    fps = fixed_points(ring, guesses=["origin", *twists])
    print(f"fixed_points, ring d = {2 * n} (guesses: the origin and {len(twists)} twisted states): "
          f"{time.perf_counter() - start:.1f} s, {len(fps)} points")  # fmt: skip
    for p in fps:
        r = np.hypot(p.x[0], p.x[1])
        print(f"  {p.kind:>14} index {p.index:>2}  |z_0| = {r:.4f}  residual {p.residual:.1e}")


def blas_row_check(d: int, block: int) -> str:
    """Whether one row of phi(X) W^T, at block shape (block, d), depends on the other
    rows' values, on its position in the block, and on the block's height."""
    rng = np.random.default_rng(1)
    W, X = rng.normal(size=(d, d)), rng.normal(size=(block, d))
    ref = X @ W.T
    other = X.copy()
    other[1:] = rng.normal(size=(block - 1, d))
    perm = rng.permutation(block)
    heights = [m for m in (1, 7, 8, 13, block // 2) if m < block]
    shorter = [m for m in heights if not np.array_equal((X[:m] @ W.T), ref[:m])]
    return (
        f"other rows change a row: {not np.array_equal((other @ W.T)[0], ref[0])}; "
        f"its position does: {not np.array_equal(X[perm] @ W.T, ref[perm])}; "
        f"a block of height {shorter or 'none of ' + str(heights)} sums it differently"
    )


def useful_steps(res) -> int:
    """Steps the paths took until they stopped (a path that ran to the end: all)."""
    n_steps = int(round((res.t_span[1] - res.t_span[0]) / res.dt))
    stopped = res.path_status != 0
    taken = grid_steps(res.stop_time[stopped] - res.t_span[0], res.dt)
    return int(taken.sum()) + n_steps * int(np.count_nonzero(~stopped))


def first_passage(d: int, n_paths: int, eps: float = 0.05, dt: float = 1e-2) -> None:
    """First-exit and fixed-horizon throughput of the batched engine at dimension d."""
    rng = np.random.default_rng(d)
    net = zoo.rate_network(rng.normal(size=(d, d)) * 1.5 / np.sqrt(d), 0.1 * rng.normal(size=d))
    x_star = np.zeros(d)
    for _ in range(2000):  # the attractor the noise-free flow from 0 reaches
        x_star = x_star + 0.05 * net.f(x_star)
    rms = np.sqrt(eps * np.sum(-1.0 / np.linalg.eigvals(net.jacobian(x_star)).real))
    radius = 1.3 * rms  # the linearised stationary rms distance, times 1.3
    out = Shell(x_star, radius, 1e3)
    kw = {"dt": dt, "n_paths": n_paths, "seed": 1}
    ensemble_batched(net, x_star, eps, t_span=dt, dt=dt, n_paths=8, stop=out)  # kernel load
    horizon = 300
    start = time.perf_counter()
    ensemble_batched(net, x_star, eps, t_span=horizon * dt, **kw)
    fixed = n_paths * horizon / (time.perf_counter() - start)
    start = time.perf_counter()
    ensemble_batched(net, x_star, eps, t_span=horizon * dt, stop=Shell(x_star, 1e3, 2e3), **kw)
    never = n_paths * horizon / (time.perf_counter() - start)
    t_max = 50.0
    rows = []
    for label, system in (
        ("rows refilled (autonomous)", net),
        ("generations (declared non-autonomous)", dataclasses.replace(net, autonomous=False)),
    ):
        start = time.perf_counter()
        res = ensemble_batched(system, x_star, eps, t_span=t_max, stop=out, **kw)
        wall = time.perf_counter() - start
        rows.append((label, res, useful_steps(res), wall))
    A, B = Ball(x_star, 0.8 * rms), Shell(x_star, radius, 1e3)
    start = time.perf_counter()
    tr = transitions(net, A, B, eps, x0=x_star, t_span=t_max, progress=False, **kw)
    tr_wall = time.perf_counter() - start
    with open("/proc/loadavg") if os.path.exists("/proc/loadavg") else open(os.devnull) as fh:
        load = " ".join(fh.read().split()[:3])
    print(f"first passage at d = {d}: rate network (gain 1.5), eps = {eps}, dt = {dt}, "
          f"{n_paths} paths, block {rows[0][1].meta['block_paths']} rows; load {load}")  # fmt: skip
    print(f"  fixed horizon ({horizon} steps)        : {fixed:10.3g} path-steps/s")
    print(f"  set never reached                   : {never:10.3g} ({never / fixed:.2f} of it)")
    for label, res, steps, wall in rows:
        taken = res.stop_time[res.path_status == 1]
        print(
            f"  first exit |x - x*| >= {radius:.2f}, {label}: {steps / wall:10.3g} useful "
            f"path-steps/s ({steps / wall / fixed:.2f} of fixed horizon; row use "
            f"{res.meta['row_use']:.2f}; {res.n_stopped} stopped, mean exit time "
            f"{taken.mean():.3g}, {steps:.3g} steps in {wall:.2f} s)"
        )
    print(
        f"  transitions A = |x - x*| <= {0.8 * rms:.2f} -> B ({tr.meta['engine']}): "
        f"{tr.path_steps / tr_wall:10.3g} path-steps/s ({tr.path_steps / tr_wall / fixed:.2f} "
        f"of fixed horizon, replay included; {tr.successes} segments, mean duration "
        f"{tr.mean_duration()[0]:.3g}, {tr_wall:.2f} s)"
    )
    print(f"  BLAS ({rows[0][1].meta['block_paths']} x {d}): "
          + blas_row_check(d, rows[0][1].meta["block_paths"]))  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dims", type=int, nargs="+", default=[8, 32, 64, 128, 256])
    parser.add_argument("--paths", type=int, default=2048)
    parser.add_argument("--per-path", type=int, nargs="*", default=[8, 64])
    parser.add_argument("--theory", action="store_true", help="time the theory only")
    parser.add_argument("--first-passage", action="store_true", help="first exits only")
    parser.add_argument("--fp-dim", type=int, default=64)
    parser.add_argument("--fp-paths", type=int, default=4096)
    args = parser.parse_args()
    if args.theory:
        theory_at_network_size()
        return
    if args.first_passage:
        # one BLAS thread throughout: threads take whole blocks (groups) in every run, so
        # the rates compare the engine's work, not how BLAS threads fare on a busy machine
        with threadpool_limits(1, user_api="blas"):
            first_passage(args.fp_dim, args.fp_paths)
        return
    dt, eps = 1e-2, 0.1
    gflops = gemm_rate()
    print(f"cores: {os.cpu_count()}, numpy dgemm: {gflops:.1f} GFLOP/s")
    header = (
        f"{'d':>4} {'steps':>5} {'batched':>10} {'numpy':>10} {'numpy 1T':>10} {'per-path':>10} "
        f"{'GEMM frac':>9} {'1st call':>9} {'1st per-path':>12}"
    )
    print(header + "\n" + "-" * len(header))
    for d in args.dims:
        rng = np.random.default_rng(d)
        W = rng.normal(size=(d, d)) * 1.5 / np.sqrt(d)
        b = 0.1 * rng.normal(size=d)
        net = zoo.rate_network(W, b)
        x0 = np.zeros(d)
        n_steps = int(np.clip(4e9 / (args.paths * 2 * d * d), 20, 1000))
        kw = {"t_span": n_steps * dt, "dt": dt, "n_paths": args.paths, "seed": 1}
        first = timed(ensemble_batched, net, x0, eps, t_span=dt, dt=dt, n_paths=8)
        work = args.paths * n_steps
        batched = work / timed(ensemble_batched, net, x0, eps, **kw)
        baseline = work / timed(numpy_ensemble, W, b, x0, args.paths, n_steps, dt, eps, 1)
        with threadpool_limits(1, user_api="blas"):
            serial = work / timed(numpy_ensemble, W, b, x0, args.paths, n_steps, dt, eps, 1)
        per_path, first_pp = float("nan"), float("nan")
        if d in args.per_path:
            first_pp = timed(ensemble, net, x0, eps, t_span=dt, dt=dt, n_paths=8)
            small = max(8, work // 80)  # the per-path engine is slow at large d: less work
            per_path = (
                10 * small / timed(ensemble, net, x0, eps, t_span=10 * dt, dt=dt, n_paths=small)
            )
        frac = batched * 2 * d * d / 1e9 / gflops
        print(
            f"{d:>4} {n_steps:>5} {batched:>10.3g} {baseline:>10.3g} {serial:>10.3g} "
            f"{per_path:>10.3g} {frac:>9.2f} {first:>8.2f}s "
            + (f"{first_pp:>11.2f}s" if d in args.per_path else f"{'-':>12}")
        )
    print(
        "path-steps/s; numpy 1T: numpy with one BLAS thread; "
        "GEMM frac = 2 d^2 x batched path-steps/s / dgemm rate"
    )


if __name__ == "__main__":
    main()
