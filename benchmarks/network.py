"""Engine throughput at network size: the batched engine vs a vectorised numpy
Euler–Maruyama vs the per-path engine, on a rate network x' = -x + W tanh(x) + b.

    python benchmarks/network.py [--dims 8 32 64 128 256] [--paths 2048] [--per-path 8 64]

For each d: path-steps per second of ``simulate.ensemble_batched`` (second call), of
plain numpy (the same step, ``rng.standard_normal`` for the noise) and, for the dims in
``--per-path``, of ``simulate.ensemble`` with the per-path drift; the recurrent product
costs 2 d^2 flops per path-step, so the batched engine's flop rate is compared with
numpy's own dgemm rate (a 1024^3 product, best of 3) measured in the same run. First-call
latency: the first call at a new d in this process (kernel load or compilation
included), of each engine.
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np

from simulate import ensemble, ensemble_batched, zoo


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dims", type=int, nargs="+", default=[8, 32, 64, 128, 256])
    parser.add_argument("--paths", type=int, default=2048)
    parser.add_argument("--per-path", type=int, nargs="*", default=[8, 64])
    args = parser.parse_args()
    dt, eps = 1e-2, 0.1
    gflops = gemm_rate()
    print(f"cores: {os.cpu_count()}, numpy dgemm: {gflops:.1f} GFLOP/s")
    header = (
        f"{'d':>4} {'steps':>5} {'batched':>10} {'numpy':>10} {'per-path':>10} "
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
        per_path, first_pp = float("nan"), float("nan")
        if d in args.per_path:
            first_pp = timed(ensemble, net, x0, eps, t_span=dt, dt=dt, n_paths=8)
            small = max(8, work // 80)  # the per-path engine is slow at large d: less work
            per_path = (
                10 * small / timed(ensemble, net, x0, eps, t_span=10 * dt, dt=dt, n_paths=small)
            )
        frac = batched * 2 * d * d / 1e9 / gflops
        print(
            f"{d:>4} {n_steps:>5} {batched:>10.3g} {baseline:>10.3g} {per_path:>10.3g} "
            f"{frac:>9.2f} {first:>8.2f}s {first_pp:>11.2f}s"
        )
    print("path-steps/s; GEMM frac = 2 d^2 x batched path-steps/s / dgemm rate")


if __name__ == "__main__":
    main()
