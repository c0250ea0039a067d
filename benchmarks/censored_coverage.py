"""Coverage of the brute-force mean-time interval (``validate.censored_mean``) at few paths.

    PYTHONPATH=. python benchmarks/censored_coverage.py [--n-pool 250000] [--cap 1000]

Double well f = x - x^3, from -1 to the first entry into [1, inf), dt = 1e-3 (the rates
study's brute force). For each eps a pool of ``--n-pool`` independent paths (chunks of
25 000, seeds ``rep_seed(777, chunk)``) runs to t = 5 C e^{dV/eps}; each configuration
censors the pool's passage times at its t_max (exactly what a run to t_max gives) and cuts
it into disjoint blocks of n paths (at most ``--cap`` blocks): the blocks are independent
samples. Per block: the estimate, its se, the studentised-bootstrap interval of
``censored_mean`` ("after") and the log-normal E tau exp(+-1.96 se / E tau) it replaced
("before"); against the exact mean time by quadrature (``mean_first_passage_1d``). Prints
a markdown table: coverage ± its binomial se, the fractions of intervals lying above and
below the truth, spread/se and the relative bias (docs/statistics.md).
"""

from __future__ import annotations

import argparse
import math
import time
import warnings

import numpy as np
from scipy.stats import norm

from simulate import Interval, ensemble, zoo
from theory import rate
from validate import censored_mean
from validate._coverage import rep_seed
from validate._references import mean_first_passage_1d

CHUNK = 25_000
#: (label, t_max, t_tail) in units of the predicted C e^{dV/eps}: the quick rates study's
#: (about 1 % censored) and one with about 38 % censored (t_tail: t_max / 2, the default)
CENSORING = (("t_max 5, t_tail 1", 5.0, 1.0), ("t_max 1.2", 1.2, None))


def pool(eps: float, n_pool: int):
    dw = zoo.double_well()
    predicted = rate(dw, "left", "saddle").mean_time(eps)
    t_max = 5 * predicted
    T, hit = [], []
    for c in range(math.ceil(n_pool / CHUNK)):
        res = ensemble(dw, [-1.0], eps, t_span=t_max, dt=1e-3,
                       n_paths=min(CHUNK, n_pool - c * CHUNK), seed=rep_seed(777, c),
                       stop={"target": Interval(1.0, np.inf)}, progress=False)  # fmt: skip
        h = res.stopped_in("target")
        T.append(np.where(h, res.stop_time - res.t_span[0], t_max))
        hit.append(h)
    exact = mean_first_passage_1d(dw, -1.0, 1.0, eps, reflect=-3.0)
    return np.concatenate(T)[:n_pool], np.concatenate(hit)[:n_pool], predicted, exact


def rows(eps, T0, hit, predicted, exact, ns, cap):
    z = norm.ppf(0.975)
    for label, tm, tt in CENSORING:
        t_max = tm * predicted
        obs, T = hit & (T0 <= t_max), np.minimum(T0, t_max)
        for n in ns:
            m = min(T.size // n, cap)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # few tail events at 60 paths: counted below
                fits = [censored_mean(T[i * n : (i + 1) * n], obs[i * n : (i + 1) * n],
                                      t_tail=None if tt is None else tt * predicted)
                        for i in range(m)]  # fmt: skip
            est = np.array([f.estimate for f in fits])
            se = np.array([f.se for f in fits])
            f_log = np.exp(z * se / est)
            cells = []
            for lo, hi in ((est / f_log, est * f_log),
                           (np.array([f.ci_low for f in fits]),
                            np.array([f.ci_high for f in fits]))):  # fmt: skip
                c = float(np.mean((lo <= exact) & (exact <= hi)))
                up, down = np.mean(lo > exact), np.mean(hi < exact)
                cells.append(f"{c:.3f} ± {math.sqrt(c * (1 - c) / m):.3f} ({up:.3f} / {down:.3f})")
            cens = np.mean([f.n_censored / n for f in fits])
            ok = np.mean([f.success for f in fits])
            yield (f"| {eps:g} | {label} ({cens:.0%}) | {n} | {m} | {cells[0]} | {cells[1]} | "
                   f"{est.std(ddof=1) / se.mean():.2f} | {est.mean() / exact - 1:+.4f} | "
                   f"{ok:.2f} |")  # fmt: skip


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n-pool", type=int, default=250_000)
    ap.add_argument("--cap", type=int, default=1000, help="most blocks per row")
    ap.add_argument("--eps", type=float, nargs="+", default=[0.18, 0.1])
    ap.add_argument("--paths", type=int, nargs="+", default=[60, 150, 400, 1000])
    args = ap.parse_args(argv)
    print("| eps | censoring (censored) | paths | blocks | before: coverage ± se (above / "
          "below) | after | spread/se | bias | ok |")  # fmt: skip
    print("|" + "---|" * 9)
    for eps in args.eps:
        start = time.perf_counter()
        data = pool(eps, args.n_pool)
        for line in rows(eps, *data, args.paths, args.cap):
            print(line, flush=True)
        print(f"<!-- eps {eps:g}: {time.perf_counter() - start:.0f} s -->", flush=True)


if __name__ == "__main__":
    main()
