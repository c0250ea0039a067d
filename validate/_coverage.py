"""Coverage of confidence intervals, measured by repetition against an exact truth.

An interval is calibrated when it covers the truth as often as it claims. On a case with
an exact answer, :func:`coverage` repeats an estimator with independent seeds and
reports, per quantity: the nominal level, the empirical coverage with its binomial 95 %
interval (Wilson), the bias (mean estimate - truth, with its standard error) and the
ratio of the spread of the estimates across repetitions to the mean standard error they
report (1 for an honest standard error; below 1 too wide, above 1 too narrow).
See ``docs/statistics.md`` (Calibration) for the cases the project measures.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import joblib
import numpy as np
import pandas as pd
from scipy.stats import binomtest, norm
from tqdm.auto import tqdm

from theory._display import fields_repr

COVERAGE_COLUMNS = [
    "case",
    "quantity",
    "truth",
    "nominal",
    "coverage",
    "coverage_low",
    "coverage_high",
    "calibrated",
    "spread_over_se",
    "bias",
    "bias_se",
    "mean_se",
    "n_rep",
    "n_failed",
]


@dataclass(frozen=True)
class Interval:
    """One estimate with its standard error and (optionally) an interval that is not
    value ± z se (Student t, bootstrap percentile, a fit's interval).

    ``ci_low``/``ci_high`` NaN: the interval is value ± z se, z the normal quantile of
    the level :func:`coverage` is asked for.
    """

    value: float
    se: float
    ci_low: float = math.nan
    ci_high: float = math.nan

    def __repr__(self) -> str:
        return fields_repr(self)

    def bounds(self, level: float) -> tuple[float, float]:
        if math.isfinite(self.ci_low) and math.isfinite(self.ci_high):
            return self.ci_low, self.ci_high
        z = float(norm.ppf(0.5 + level / 2))
        return self.value - z * self.se, self.value + z * self.se


def rep_seed(seed: int, rep: int) -> int:
    """Seed of repetition ``rep``: a function of (seed, rep) only (SeedSequence), so a
    repetition's result does not depend on n_rep, n_jobs or the order of evaluation."""
    return int(np.random.SeedSequence([int(seed), int(rep)]).generate_state(1, np.uint64)[0])


def _as_intervals(out) -> dict:
    if isinstance(out, Mapping):
        items = out.items()
    else:
        items = [("", out)]
    res = {}
    for name, v in items:
        if isinstance(v, Interval):
            res[name] = v
        elif hasattr(v, "ci_low") and hasattr(v, "estimate"):  # a ScalingFit
            res[name] = Interval(float(v.estimate), float(v.se), float(v.ci_low), float(v.ci_high))
        else:
            value, se = v
            res[name] = Interval(float(value), float(se))
    return res


def _one(estimate, seed):
    return _as_intervals(estimate(seed))


def coverage(
    estimate: Callable[[int], object],
    truth,
    *,
    n_rep: int,
    seed: int,
    n_jobs: int = 1,
    level: float = 0.95,
    case: str = "",
    progress: bool | None = None,
) -> pd.DataFrame:
    """Empirical coverage of an estimator's intervals over independent repetitions.

    Repetition i calls ``estimate(rep_seed(seed, i))`` (:func:`rep_seed`); the estimate
    is an :class:`Interval`, a pair (value, se) (interval value ± z se, z = Phi^{-1}(1/2 +
    level/2)), an object with ``estimate``, ``se``, ``ci_low``, ``ci_high`` (a
    :class:`~validate.ScalingFit`), or a dict name -> one of these for several quantities
    of one sample. A repetition whose value or interval is not finite counts in
    ``n_failed`` and is left out of the coverage (never silently: the column says so).

    For each quantity, with c the number of the n valid repetitions whose interval
    contains the truth:

    - ``coverage`` = c / n with its 95 % Wilson interval (``coverage_low``,
      ``coverage_high``); ``calibrated`` says whether that interval contains ``level``;
    - ``bias`` = mean(value) - truth, ``bias_se`` = sd(value) / sqrt(n);
    - ``spread_over_se`` = sd(value) / mean(se): about 1 when the reported standard
      error is the true spread (above 1: the errors are too small).

    Parameters
    ----------
    estimate
        Function seed -> estimate (see above). It must depend on the seed only.
    truth
        The exact value, or a dict name -> value matching the estimate's names.
    n_rep, seed
        Repetitions and master seed.
    n_jobs
        joblib workers over repetitions; results are bit-identical for any ``n_jobs``.
    level
        Nominal level of the intervals.
    case
        Label of the case (first column).
    progress
        tqdm bar (default: when more than 20 repetitions).

    Returns
    -------
    pandas.DataFrame
        One row per quantity, columns :data:`COVERAGE_COLUMNS`.
    """
    if isinstance(n_rep, bool) or not isinstance(n_rep, int | np.integer) or n_rep < 2:
        raise ValueError(f"`n_rep` must be an integer >= 2, got {n_rep!r}")
    if not (0 < level < 1):
        raise ValueError(f"`level` must be in (0, 1), got {level}")
    if not callable(estimate):
        raise ValueError("`estimate` must be a function seed -> estimate")
    seeds = [rep_seed(seed, i) for i in range(int(n_rep))]
    show = progress if progress is not None else n_rep > 20
    bar = tqdm(total=int(n_rep), desc=case or "coverage", unit="rep", disable=not show, delay=2)
    if n_jobs == 1:
        results = (_one(estimate, s) for s in seeds)
    else:
        results = joblib.Parallel(n_jobs=n_jobs, return_as="generator")(
            joblib.delayed(_one)(estimate, s) for s in seeds
        )
    reps = []
    for r in results:
        reps.append(r)
        bar.update(1)
    bar.close()
    names = list(reps[0])
    truths = dict(truth) if isinstance(truth, Mapping) else {names[0]: truth}
    missing = [q for q in names if q not in truths]
    if missing:
        raise ValueError(f"`truth` has no value for {missing}")
    rows = []
    for q in names:
        th = float(truths[q])
        vals = np.array([r[q].value for r in reps])
        ses = np.array([r[q].se for r in reps])
        lohi = np.array([r[q].bounds(level) for r in reps])
        ok = np.isfinite(vals) & np.all(np.isfinite(lohi), axis=1)
        n = int(ok.sum())
        hit = int(np.sum((lohi[ok, 0] <= th) & (th <= lohi[ok, 1])))
        if n > 0:
            ci = binomtest(hit, n).proportion_ci(confidence_level=0.95, method="wilson")
            lo, hi = float(ci.low), float(ci.high)
        else:
            lo = hi = math.nan
        v = vals[ok]
        sd = float(np.std(v, ddof=1)) if n > 1 else math.nan
        mean_se = float(np.nanmean(ses[ok])) if n > 0 and np.any(np.isfinite(ses[ok])) else math.nan
        rows.append(
            {
                "case": case,
                "quantity": q,
                "truth": th,
                "nominal": float(level),
                "coverage": hit / n if n else math.nan,
                "coverage_low": lo,
                "coverage_high": hi,
                "calibrated": bool(lo <= level <= hi) if n else False,
                "spread_over_se": sd / mean_se if mean_se > 0 else math.nan,
                "bias": float(v.mean() - th) if n else math.nan,
                "bias_se": sd / math.sqrt(n) if n > 1 else math.nan,
                "mean_se": mean_se,
                "n_rep": n,
                "n_failed": int(n_rep) - n,
            }
        )
    return pd.DataFrame(rows, columns=COVERAGE_COLUMNS)
