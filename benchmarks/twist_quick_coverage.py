"""Coverage over seeds of the quick oscillator_ring study's AMS checks (H, U1, beta, S).

    PYTHONPATH=. python benchmarks/twist_quick_coverage.py [--n-rep 20] [--first-seed 1]
        [--runs R] [--replicas N] [--eps 0.14 0.1 0.07] [--levels-csv FILE]

Seed i runs the ``ams`` part of ``noisy-noether study oscillator_ring --quick`` (by
default its configuration, ``validate._catalogue.parts("oscillator_ring", quick=True)[0]``,
with ``seed`` = i; ``--runs``, ``--replicas`` and ``--eps`` change it) level by level
with :func:`validate._sweep.run_level`, as ``Study.run`` does, without writing a study
folder, and judges the levels with :func:`validate._report.verdicts` as the report does.
Prints, per check, the fraction of seeds whose 95 % interval holds the theory value (with
its binomial se) and the fraction judged consistent; per level, the mean over seeds of
H / eps and U1 with the spread of the seeds' values against the mean of their standard
errors (a ratio near 1: the se is calibrated), and for H and U1 how often the limit
refitted by ordinary least squares holds 0 (a diagnosis). docs/networks.md, "Quick
variant", has the table (seeds 1-20; --runs 3 --replicas 8: the configuration before).
"""

from __future__ import annotations

import argparse
import time
import warnings
from dataclasses import replace

import numpy as np
import pandas as pd
from scipy import stats

from validate._catalogue import parts
from validate._report import verdicts
from validate._runner import ReferenceStudy
from validate._scaling import scaling_table


def quick_config(seed, runs=None, replicas=None, eps=None):
    """The quick study's AMS part with ``seed`` (and other runs, replicas or levels)."""
    cfg = parts("oscillator_ring", quick=True)[0]
    opts = dict(cfg.sampler_options)
    if runs is not None:
        opts["options"] = dict(opts["options"], n_runs=int(runs))
    return replace(
        cfg,
        seed=int(seed),
        sampler_options=opts,
        n_paths=cfg.n_paths if replicas is None else int(replicas),
        eps_grid=cfg.eps_grid if eps is None else tuple(float(e) for e in eps),
    )


def run_part(cfg):
    """(summary, verdicts) of one quick AMS part, computed as ``Study.run`` and the report
    compute them."""
    level = ReferenceStudy(cfg).level_runner()
    levels = [level(e) for e in cfg.eps_grid]
    summary = pd.concat([lv.summary for lv in levels], ignore_index=True)
    reps = pd.concat([lv.replicates for lv in levels], ignore_index=True)
    fits = scaling_table(summary, reps, seed=cfg.seed)
    return summary, verdicts(summary, fits, part=cfg.name)


def ols_limit_covers(g, theory):
    """Whether the eps -> 0 limit of one seed's levels ``g`` (eps, value, se, dof), fitted
    by ordinary least squares instead of weights 1 / se^2 (se propagated, the same
    Welch–Satterthwaite degrees of freedom as ``validate._scaling.limit_interval``), holds
    ``theory``: the diagnosis of weights that correlate with the errors."""
    eps, y, se, dof = (g[c].to_numpy(dtype=float) for c in ("eps", "value", "se", "dof"))
    c = np.linalg.pinv(np.column_stack([np.ones_like(eps), eps]))[0]
    parts = (c * se) ** 2
    nu = parts.sum() ** 2 / np.sum(parts**2 / dof)
    half = stats.t.ppf(0.975, nu) * np.sqrt(parts.sum())
    return abs(c @ y - theory) <= half


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n-rep", type=int, default=20)
    ap.add_argument("--first-seed", type=int, default=1)
    ap.add_argument("--runs", type=int, default=None, help="AMS runs per level")
    ap.add_argument("--replicas", type=int, default=None, help="replicas per run")
    ap.add_argument("--eps", type=float, nargs="+", default=None)
    ap.add_argument("--levels-csv", default=None, help="write every seed's level rows here")
    args = ap.parse_args(argv)
    start, vs, levels = time.perf_counter(), [], []
    for i in range(args.first_seed, args.first_seed + args.n_rep):
        cfg = quick_config(i, args.runs, args.replicas, args.eps)
        t0 = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # a level's status is in its rows
            summary, v = run_part(cfg)
        vs.append(v.assign(seed=i))
        levels.append(summary.assign(seed=i))
        h = v.set_index("quantity")
        print(f"seed {i}: {time.perf_counter() - t0:.0f} s; "
              + "; ".join(f"{q} {r.estimate:.3g} [{r.ci_low:.3g}, {r.ci_high:.3g}] {r.verdict}"
                          for q, r in h.iterrows()), flush=True)  # fmt: skip
    v, lv = pd.concat(vs, ignore_index=True), pd.concat(levels, ignore_index=True)
    if args.levels_csv:
        lv.to_csv(args.levels_csv, index=False)
    n = args.n_rep
    print(f"\neps {list(cfg.eps_grid)}, {cfg.sampler_options['options']['n_runs']} runs of "
          f"{cfg.n_paths} replicas, {n} seeds, {time.perf_counter() - start:.0f} s")  # fmt: skip
    print("\n| check | theory inside | consistent | mean estimate | sd over seeds | mean se "
          "| OLS refit inside |\n|---|---|---|---|---|---|---|")  # fmt: skip
    for q, g in v.groupby("quantity", sort=False):
        c = g["theory_inside"].astype(float).mean()
        ok = (g["verdict"] == "consistent").mean()
        ols = ""
        if q in ("H", "U1"):
            th = float(g["theory"].iloc[0])
            rows = lv[lv["statistic"] == f"charge_mean_{q}"].sort_values("eps")
            ols = f"{np.mean([ols_limit_covers(s, th) for _, s in rows.groupby('seed')]):.2f}"
        print(f"| {q} | {c:.2f} ± {np.sqrt(c * (1 - c) / n):.2f} | {ok:.2f} | "
              f"{g['estimate'].mean():.3g} | {g['estimate'].std(ddof=1):.3g} | "
              f"{g['se'].mean():.3g} | {ols} |")  # fmt: skip
    print("\n| eps | statistic | mean over seeds | sd over seeds | mean se | sd / mean se | "
          "median dof |\n|---|---|---|---|---|---|---|")  # fmt: skip
    for stat in ("charge_mean_H", "charge_mean_U1", "neg_eps_log_p", "tube_l2_q0.5"):
        for e, g in lv[lv["statistic"] == stat].groupby("eps"):
            scale = e if stat == "charge_mean_H" else 1.0  # H / eps: the estimator's bias
            name = "H / eps" if stat == "charge_mean_H" else stat.removeprefix("charge_mean_")
            sd = g["value"].std(ddof=1) / scale
            print(f"| {e:g} | {name} | {g['value'].mean() / scale:.4g} | {sd:.3g} | "
                  f"{g['se'].mean() / scale:.3g} | {sd / (g['se'].mean() / scale):.2f} | "
                  f"{g['dof'].median():.2g} |")  # fmt: skip


if __name__ == "__main__":
    main()
