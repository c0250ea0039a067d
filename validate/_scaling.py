"""Scaling fits with bootstrap confidence intervals.

- power laws y ~ c eps^beta (tube radius: theory beta = 1/2; charge spread: gamma) by
  least squares in log-log coordinates;
- the large-deviation limit -eps log P -> S (the instanton action) by a straight-line fit
  of -eps log P against eps, extrapolated to eps = 0.

Intervals come from refitting bootstrap replicates: non-parametric replicates of each
level's statistic when given (paths resampled within each eps level), else parametric
ones drawn from each level's value and standard error; the seed is fixed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ._statistics import percentile_ci


@dataclass(frozen=True)
class ScalingFit:
    """A fitted scaling law with its bootstrap interval.

    ``kind="power"``: y = prefactor eps^exponent; ``kind="action"``: y = intercept + slope
    eps, the intercept being the eps -> 0 limit of -eps log P.
    """

    kind: str
    statistic: str
    estimate: float
    se: float
    ci_low: float
    ci_high: float
    level: float
    n_levels: int
    eps_range: tuple
    theory: float
    other: float  # prefactor (power) or slope (action)
    n_boot: int

    @property
    def contains_theory(self) -> bool:
        return bool(self.ci_low <= self.theory <= self.ci_high)

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame(
            [
                {
                    "statistic": self.statistic,
                    "kind": self.kind,
                    "estimate": self.estimate,
                    "se": self.se,
                    "ci_low": self.ci_low,
                    "ci_high": self.ci_high,
                    "level": self.level,
                    "theory": self.theory,
                    "contains_theory": self.contains_theory,
                    "n_levels": self.n_levels,
                    "eps_min": self.eps_range[0],
                    "eps_max": self.eps_range[1],
                    "other": self.other,
                    "n_boot": self.n_boot,
                }
            ]
        )


def _replicates(y, se, replicates, n_boot, seed, positive):
    if replicates is not None:
        reps = np.asarray(replicates, dtype=float)
        if reps.ndim != 2 or reps.shape[0] != y.size:
            raise ValueError(f"`replicates` must have shape ({y.size}, n_boot), got {reps.shape}")
        return reps
    if se is None:
        raise ValueError("give the levels' standard errors `se` or bootstrap `replicates`")
    rng = np.random.Generator(np.random.PCG64(seed))
    se = np.asarray(se, dtype=float)
    if positive:  # log-normal with the same relative error
        sl = np.sqrt(np.log1p((se / y) ** 2))
        return y[:, None] * np.exp(sl[:, None] * rng.standard_normal((y.size, n_boot)))
    return y[:, None] + se[:, None] * rng.standard_normal((y.size, n_boot))


def fit_scaling(
    eps,
    y,
    *,
    se=None,
    replicates=None,
    statistic: str = "",
    theory: float = 0.5,
    n_boot: int = 2000,
    seed: int = 0,
    level: float = 0.95,
) -> ScalingFit:
    """Fit y = c eps^beta by least squares of log y on log eps, with a bootstrap interval.

    Parameters
    ----------
    eps, y
        Noise levels and the statistic at each (positive).
    se
        Standard errors of y (parametric bootstrap, log-normal), or
    replicates
        (n_levels, B) bootstrap replicates of y at each level (non-parametric).
    theory
        The predicted exponent (tube radius: 1/2).
    """
    eps = np.asarray(eps, dtype=float)
    y = np.asarray(y, dtype=float)
    if eps.size < 2 or eps.shape != y.shape:
        raise ValueError("`eps` and `y` must have the same shape with at least two levels")
    if np.any(y <= 0) or np.any(eps <= 0):
        raise ValueError("a power-law fit needs positive `eps` and `y`")
    X = np.log(eps)
    beta, logc = np.polyfit(X, np.log(y), 1)
    reps = _replicates(y, se, replicates, n_boot, seed, positive=True)
    reps = np.where(reps > 0, reps, np.nan)
    ok = np.all(np.isfinite(reps), axis=0)
    slopes = np.polyfit(X, np.log(reps[:, ok]), 1)[0]
    lo, hi = percentile_ci(slopes, level)
    return ScalingFit(
        kind="power",
        statistic=statistic,
        estimate=float(beta),
        se=float(np.std(slopes)),
        ci_low=float(lo),
        ci_high=float(hi),
        level=level,
        n_levels=int(eps.size),
        eps_range=(float(eps.min()), float(eps.max())),
        theory=float(theory),
        other=float(np.exp(logc)),
        n_boot=int(ok.sum()),
    )


def fit_action(
    eps,
    probability,
    *,
    se=None,
    theory: float = np.nan,
    n_boot: int = 2000,
    seed: int = 0,
    level: float = 0.95,
) -> ScalingFit:
    """Extrapolate -eps log P to eps = 0 by a straight-line fit in eps (the prefactor of
    P ~ C exp(-S/eps) gives the slope -log C); the intercept estimates the action S."""
    eps = np.asarray(eps, dtype=float)
    p = np.asarray(probability, dtype=float)
    if np.any(p <= 0):
        raise ValueError("every level needs a positive probability estimate")
    reps = _replicates(p, se, None, n_boot, seed, positive=True)
    y = -eps * np.log(p)
    slope, icpt = np.polyfit(eps, y, 1)
    yr = -eps[:, None] * np.log(reps)
    icpts = np.polyfit(eps, yr, 1)[1]
    lo, hi = percentile_ci(icpts, level)
    return ScalingFit(
        kind="action",
        statistic="neg_eps_log_p",
        estimate=float(icpt),
        se=float(np.std(icpts)),
        ci_low=float(lo),
        ci_high=float(hi),
        level=level,
        n_levels=int(eps.size),
        eps_range=(float(eps.min()), float(eps.max())),
        theory=float(theory),
        other=float(slope),
        n_boot=int(n_boot),
    )


def scaling_table(frame: pd.DataFrame, replicates: pd.DataFrame | None = None, seed: int = 0):
    """Scaling fits for every tube statistic (theory exponent 1/2), every charge spread
    (exponent reported, theory 1/2) and -eps log P of a :func:`noise_sweep` frame; uses the
    bootstrap ``replicates`` table (columns eps, statistic, replicate, value) when given."""
    fits = []
    stats = [
        s
        for s in frame["statistic"].unique()
        if s.startswith("tube_") or s.startswith("charge_sd_")
    ]
    for stat in stats:
        sub = frame[frame["statistic"] == stat].sort_values("eps")
        if len(sub) < 2 or np.any(sub["value"] <= 0):
            continue
        reps = None
        if replicates is not None and stat in set(replicates["statistic"]):
            r = replicates[replicates["statistic"] == stat]
            wide = r.pivot(index="eps", columns="replicate", values="value").sort_index()
            if np.allclose(wide.index.values, sub["eps"].values):
                reps = wide.values
        fits.append(
            fit_scaling(
                sub["eps"],
                sub["value"],
                se=sub["se"],
                replicates=reps,
                statistic=stat,
                theory=0.5,
                seed=seed,
            ).to_frame()
        )
    sub = frame[frame["statistic"] == "probability"].sort_values("eps")
    if len(sub) >= 2 and np.all(sub["value"] > 0):
        fits.append(
            fit_action(
                sub["eps"],
                sub["value"],
                se=sub["se"],
                theory=float(sub["theory"].iloc[0]),
                seed=seed,
            ).to_frame()
        )
    return pd.concat(fits, ignore_index=True) if fits else pd.DataFrame()
