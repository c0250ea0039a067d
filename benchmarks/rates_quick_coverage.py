"""Coverage over seeds of the rates study's double-well checks at a set of brute-force levels.

    PYTHONPATH=. python benchmarks/rates_quick_coverage.py [--eps 0.12 0.1 0.08 0.065]
        [--paths 400] [--n-rep 50]

Seed i makes the levels the quick rates study makes (``validate.mean_time``, brute force,
t_max five predicted mean times C e^{dV/eps}, the exponential tail from one; level eps
with seed ``rep_seed(rep_seed(4242, i), int(eps * 1e6))``) and judges them with
``validate._rates_study.rate_verdicts``. Prints, per check (barrier, prefactor, one exact
row per level), the fraction of seeds whose interval contains the theory value, with its
binomial se (docs/rates.md, "The quick study's levels").
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
import pandas as pd

from simulate import Interval, zoo
from theory import rate
from validate import mean_time
from validate._coverage import rep_seed
from validate._rates_study import rate_verdicts
from validate._references import mean_first_passage_1d


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--eps", type=float, nargs="+", default=[0.12, 0.1, 0.08, 0.065])
    ap.add_argument("--paths", type=int, default=400)
    ap.add_argument("--n-rep", type=int, default=50)
    args = ap.parse_args(argv)
    dw = zoo.double_well()
    theory = rate(dw, "left", "saddle")
    exact = {e: mean_first_passage_1d(dw, -1.0, 1.0, e) for e in args.eps}
    start, inside, names = time.perf_counter(), [], None
    for i in range(args.n_rep):
        rows = []
        for e in args.eps:
            p = theory.mean_time(e)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # a level's status is in its row
                r = mean_time(dw, "left", Interval(1.0, np.inf), e, n_paths=args.paths,
                              t_max=5 * p, t_tail=p,
                              seed=rep_seed(rep_seed(4242, i), int(e * 1e6)))  # fmt: skip
            rows.append(dict(eps=e, estimate=r.estimate, se=r.se, ci_low=r.ci_low,
                             ci_high=r.ci_high, dof=r.dof, exact=exact[e],
                             method="brute"))  # fmt: skip
        v = rate_verdicts(pd.DataFrame(rows), theory.barrier, theory.prefactor, "double_well")
        names = list(v["kind"] + " " + v["quantity"])
        inside.append(v["theory_inside"].to_numpy(dtype=float))
    cov = np.mean(inside, axis=0)
    print(f"levels {args.eps}, {args.paths} paths, {args.n_rep} seeds, "
          f"{time.perf_counter() - start:.0f} s")  # fmt: skip
    for name, c in zip(names, cov, strict=True):
        print(f"| {name} | {c:.3f} ± {np.sqrt(c * (1 - c) / args.n_rep):.3f} |")


if __name__ == "__main__":
    main()
