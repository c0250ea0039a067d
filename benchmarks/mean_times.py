"""Measured mean transition times of the double well against the exact answer.

    PYTHONPATH=. python benchmarks/mean_times.py [--seed 0] [--quick]

f = x - x^3, D = 1: the mean time from -1 to the first entry into [1, inf), measured by
:func:`validate.mean_time` (brute force with censored passages at eps = 0.1 and 0.05; the
AMS loop decomposition at eps = 0.025, 0.0125 and 0.01, A = (-inf, -0.9], Sigma at -0.8),
against the exact value by quadrature (``mean_first_passage_1d``, reflecting at -3) and
the Eyring–Kramers prediction pi sqrt(2) e^{1/(4 eps)}. Prints a markdown table: exact,
estimate ± se, z = (estimate - exact) / se, Euler–Maruyama path-steps and wall time (the
table in docs/rates.md).

``--maier-stein``: Maier–Stein (mu = 1, alpha = 1, 2, 3) from (-1, 0) to the ball B of
radius 0.1 about (1, 0), AMS-based (A the ball of radius 0.1 about (-1, 0), Sigma the line
x = -0.8) at a few eps; E tau e^{-dV/eps} extrapolated to eps -> 0 by a weighted line in
eps (``validate._scaling.limit_interval``, Welch–Satterthwaite dof from the levels' Kish
dof) against the prefactor C of ``theory.rate``.
"""

from __future__ import annotations

import argparse
import math
import time

import numpy as np

from simulate import HalfSpace, Interval, zoo
from theory import rate
from validate import mean_time
from validate._references import mean_first_passage_1d
from validate._scaling import limit_interval

A, SIGMA, B = Interval(-np.inf, -0.9), Interval(-0.8, np.inf), Interval(1.0, np.inf)
AMS = dict(method="ams", A=A, sigma=SIGMA, n_runs=20, n_replicas=100, n_loops=1000)
CASES = [
    (0.1, dict(method="brute", n_paths=1000, t_max=150.0)),
    (0.05, dict(method="brute", n_paths=400, t_max=1500.0)),
    (0.025, AMS),
    (0.0125, AMS),
    (0.01, AMS),
]


MS_EPS = (0.05, 0.035, 0.025, 0.0175)


def maier_stein(seed: int, quick: bool):
    runs = dict(n_runs=5 if quick else 20, n_replicas=100, n_loops=250 if quick else 1000)
    print("| alpha | eps | E tau ± se | E tau e^{-dV/eps} | path-steps | wall s |")
    print("|---|---|---|---|---|---|")
    for alpha in (1.0, 2.0, 3.0):
        ms = zoo.maier_stein(alpha=alpha)
        theory = rate(ms, "left", "saddle")
        y, se, dof = [], [], []
        for eps in MS_EPS:
            start = time.perf_counter()
            res = mean_time(ms, "left", "B", eps, method="ams", A="A",
                            sigma=HalfSpace([1.0, 0.0], -0.8), seed=seed, **runs)  # fmt: skip
            scale = math.exp(-theory.barrier / eps)
            y.append(res.estimate * scale)
            se.append(res.se * scale)
            dof.append(res.dof)
            flag = "" if res.success else f" ({res.status})"
            print(
                f"| {alpha:g} | {eps:g}{flag} | {res.estimate:.5g} ± {res.se:.2g} | "
                f"{y[-1]:.4f} ± {se[-1]:.2g} | {res.path_steps:.3g} | "
                f"{time.perf_counter() - start:.0f} |",
                flush=True,
            )
        c0, c_se, lo, hi, nu = limit_interval(MS_EPS, y, se, dof)
        inside = "inside" if lo <= theory.prefactor <= hi else "OUTSIDE"
        print(
            f"alpha = {alpha:g}: C -> {c0:.4f} ± {c_se:.2g} [{lo:.4f}, {hi:.4f}] (dof {nu:.1f}) "
            f"vs theory.rate prefactor {theory.prefactor:.6f} (barrier {theory.barrier:.6f}): "
            f"{inside}",
            flush=True,
        )


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--quick", action="store_true", help="a quarter of the paths and runs")
    ap.add_argument("--maier-stein", action="store_true", help="the Maier–Stein sweep instead")
    args = ap.parse_args(argv)
    if args.maier_stein:
        return maier_stein(args.seed, args.quick)
    dw = zoo.double_well()
    print("| eps | method | exact | Eyring–Kramers | estimate ± se | z | path-steps | wall s |")
    print("|---|---|---|---|---|---|---|---|")
    for eps, kw in CASES:
        kw = dict(kw)
        if args.quick:
            for key in ("n_paths", "n_runs", "n_loops"):
                if key in kw:
                    kw[key] = max(4, kw[key] // 4)
        start = time.perf_counter()
        res = mean_time(dw, "left", B, eps, seed=args.seed, **kw)
        wall = time.perf_counter() - start
        exact = mean_first_passage_1d(dw, -1.0, 1.0, eps, reflect=-3.0)
        ek = math.pi * math.sqrt(2) * math.exp(0.25 / eps)
        z = (res.estimate - exact) / res.se
        flag = "" if res.success else f" ({res.status})"
        print(
            f"| {eps:g} | {res.method}{flag} | {exact:.5g} | {ek:.5g} | "
            f"{res.estimate:.5g} ± {res.se:.2g} | {z:+.2f} | {res.path_steps:.3g} | "
            f"{wall:.0f} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
