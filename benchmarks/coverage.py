"""Coverage of the project's 95 % intervals on cases with an exact answer.

    PYTHONPATH=. python benchmarks/coverage.py [--n-rep 200] [--n-jobs 2] [--case NAME]

Runs :func:`validate.coverage` on every case of ``validate._coverage_cases`` (described
there and in ``docs/statistics.md``) and prints the table in markdown: per interval, the
empirical coverage with its Wilson 95 % interval (marked **x** when that interval misses
the nominal 0.95), the spread of the estimates over their mean standard error, the bias
with its standard error, and the repetitions.
"""

from __future__ import annotations

import argparse
import time

import pandas as pd

from validate import coverage
from validate._coverage_cases import CASES


def markdown(frame: pd.DataFrame) -> str:
    cols = ["case", "quantity", "truth", "coverage", "spread/se", "bias (se)", "reps"]
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for r in frame.itertuples():
        cov = f"{r.coverage:.3f} [{r.coverage_low:.3f}, {r.coverage_high:.3f}]"
        if not r.calibrated:
            cov += " **x**"
        bias = f"{r.bias:.3g} ({r.bias_se:.2g})"
        fail = f" ({r.n_failed} failed)" if r.n_failed else ""
        lines.append(
            f"| {r.case} | {r.quantity} | {r.truth:.6g} | {cov} | {r.spread_over_se:.2f} | "
            f"{bias} | {r.n_rep}{fail} |"
        )
    return "\n".join(lines)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n-rep", type=int, default=200)
    ap.add_argument("--n-jobs", type=int, default=2)
    ap.add_argument("--seed", type=int, default=2026)
    ap.add_argument("--case", action="append", choices=list(CASES), help="default: all")
    ap.add_argument("--csv", help="also write the table here")
    args = ap.parse_args(argv)
    frames = []
    for name in args.case or list(CASES):
        start = time.perf_counter()
        estimate, truth = CASES[name]()
        frames.append(
            coverage(
                estimate, truth, n_rep=args.n_rep, seed=args.seed, n_jobs=args.n_jobs, case=name
            )
        )
        print(f"{name}: {time.perf_counter() - start:.0f} s", flush=True)
    table = pd.concat(frames, ignore_index=True)
    print(markdown(table))
    if args.csv:
        table.to_csv(args.csv, index=False)
    return table


if __name__ == "__main__":
    main()
