"""Weighted ensemble statistics: means with standard errors, effective sample size,
weighted quantiles and a seeded bootstrap.

Unweighted ensembles are the special case w = 1. For a weighted ensemble (importance
sampling, AMS) the self-normalised mean is m = sum w x / sum w and its standard error is
taken as sd_w / sqrt(ESS), with ESS = (sum w)^2 / sum w^2 the Kish effective sample size.
"""

from __future__ import annotations

import numpy as np
from scipy.stats import norm
from scipy.stats import t as student_t


def normalise_weights(weights, n: int) -> np.ndarray:
    """Weights (n,) as float64 summing to 1 (uniform when None)."""
    if weights is None:
        return np.full(n, 1.0 / n)
    w = np.asarray(weights, dtype=float)
    if w.shape != (n,):
        raise ValueError(f"`weights` must have shape ({n},), got {w.shape}")
    if not np.all(np.isfinite(w)) or np.any(w < 0) or not w.sum() > 0:
        raise ValueError("`weights` must be finite, non-negative and not all zero")
    return w / w.sum()


def ess(weights) -> float:
    """Kish effective sample size (sum w)^2 / sum w^2."""
    w = np.asarray(weights, dtype=float)
    return float(w.sum() ** 2 / np.sum(w * w))


def weighted_mean_se(x, weights=None, axis: int = 0, groups=None):
    """Mean, standard error and effective sample size of samples ``x`` along ``axis``.

    NaN samples are ignored (e.g. a path that has stopped); each output entry uses its
    own non-NaN samples and renormalised weights. se = sd_w / sqrt(ESS), with the
    weighted variance corrected by 1 / (1 - sum w^2) (unbiased for equal weights).
    With ``groups`` (labels of dependent samples, e.g. AMS runs) the standard error is
    the cluster-robust one, se^2 = G / (G - 1) sum_g (sum_{i in g} w_i (x_i - mean))^2.
    """
    x = np.moveaxis(np.asarray(x, dtype=float), axis, 0)
    n = x.shape[0]
    w = normalise_weights(weights, n).reshape((n,) + (1,) * (x.ndim - 1))
    ok = np.isfinite(x)
    wk = np.where(ok, w, 0.0)
    tot = wk.sum(0)
    with np.errstate(invalid="ignore", divide="ignore"):
        wk = wk / tot
        xz = np.where(ok, x, 0.0)
        mean = np.sum(wk * xz, 0)
        sw2 = np.sum(wk * wk, 0)
        var = np.sum(wk * (xz - mean) ** 2, 0) / (1.0 - sw2)
        n_eff = 1.0 / sw2
        se = np.sqrt(var / n_eff)
        if groups is not None:
            labels, inv = np.unique(np.asarray(groups), return_inverse=True)
            if inv.size != n:
                raise ValueError(f"`groups` must have {n} labels, got {inv.size}")
            g = labels.size
            sums = np.zeros((g,) + x.shape[1:])
            np.add.at(sums, inv, wk * np.where(ok, xz - mean, 0.0))
            se = np.sqrt(g / max(g - 1, 1) * np.sum(sums**2, 0))
    mean = np.where(tot > 0, mean, np.nan)
    return mean, se, n_eff


def independent_dof(unit_totals) -> float:
    """Degrees of freedom of a standard error estimated from independent units (AMS runs)
    whose contributions are the non-negative ``unit_totals`` (a run's probability
    estimate, or its total weight): the Kish effective number of units minus one,
    (sum T)^2 / sum T^2 - 1 (at least 1).

    With heavy-tailed unit totals (an AMS run's estimate is roughly log-normal, of
    log-variance ~ log(1/p) / n_replicas) a few runs carry most of the weight, and the
    spread of n_runs runs estimates the error with far fewer than n_runs - 1 degrees of
    freedom; ``docs/statistics.md`` shows the coverage this restores.
    """
    tot = np.asarray(unit_totals, dtype=float)
    if tot.size < 2 or not np.any(tot > 0):
        return np.nan
    return float(max(tot.sum() ** 2 / np.sum(tot * tot) - 1.0, 1.0))


def t_interval(value, se, dof=None, level: float = 0.95, log: bool = False):
    """Interval value ± q se with q the Student-t quantile (``dof``; None or inf: normal).
    ``log=True``: the delta method on the log scale, value exp(± q se / value), for a
    positive, right-skewed estimate (a probability)."""
    value, se = np.asarray(value, dtype=float), np.asarray(se, dtype=float)
    if dof is None or not np.all(np.isfinite(dof)):
        q = norm.ppf(0.5 + level / 2)
    else:
        q = student_t.ppf(0.5 + level / 2, dof)
    if log:
        with np.errstate(divide="ignore", invalid="ignore"):
            f = np.exp(q * se / value)
        return value / f, value * f
    return value - q * se, value + q * se


def run_mean_interval(
    run_estimates, level: float = 0.95, n_draws: int = 4000
) -> tuple[float, float, float, float]:
    """Interval for the mean of independent, positive, right-skewed run estimates (AMS):
    returns (ci_low, ci_high, log_se, dof).

    An AMS run's estimate is close to log-normal (with k = 1 it is (1 - 1/n)^N, N close
    to Poisson with mean n log(1/p)), so the spread of a few runs' raw estimates misses
    the tail and underestimates the error (``docs/statistics.md``). With y_r the logs of
    the m run estimates (mean ybar, variance s^2), the mean is exp(mu + sigma^2/2), and
    its generalised confidence interval (Krishnamoorthy & Mathew 2003) is the
    percentile interval of

        G = ybar - Z sqrt(G_s / m) + G_s / 2,   G_s = (m - 1) s^2 / U,

    Z ~ N(0, 1), U ~ chi^2_{m-1} (``n_draws`` draws from a fixed seed, so the interval
    is a function of the data). It holds its level for few runs and large log-variances
    where Cox's normal approximation does not. ``log_se`` = sqrt(s^2/m + s^4/(2(m-1)))
    is the standard error of log p (Cox), with ``dof`` = m - 1.

    When a run estimate is 0 (an extinct run) the logs do not exist: the fallback is
    the delta method on the log scale, mean exp(± t se / mean), se = sd / sqrt(m), with
    the Kish effective number of runs minus one (:func:`independent_dof`).
    """
    r = np.asarray(run_estimates, dtype=float)
    m = r.size
    if m < 2 or not np.all(np.isfinite(r)) or not np.any(r > 0):
        return np.nan, np.nan, np.nan, np.nan
    if np.all(r > 0):
        y = np.log(r)
        s2 = float(np.var(y, ddof=1))
        rng = np.random.Generator(np.random.PCG64(0))
        z = rng.standard_normal(n_draws)
        gs2 = (m - 1) * s2 / rng.chisquare(m - 1, n_draws)
        g = np.mean(y) - z * np.sqrt(gs2 / m) + gs2 / 2
        lo, hi = np.exp(np.quantile(g, [0.5 - level / 2, 0.5 + level / 2]))
        log_se = float(np.sqrt(s2 / m + s2 * s2 / (2 * (m - 1))))
        return float(lo), float(hi), log_se, m - 1.0
    mean, se = float(r.mean()), float(r.std(ddof=1) / np.sqrt(m))
    dof = independent_dof(r)
    lo, hi = t_interval(mean, se, dof, level, log=True)
    return float(lo), float(hi), se / mean, dof


def weighted_quantile(x, q, weights=None, axis: int = 0):
    """Quantile(s) ``q`` of samples ``x`` along ``axis`` with weights (NaN ignored):
    the inverse of the weighted empirical CDF with midpoint interpolation."""
    x = np.moveaxis(np.asarray(x, dtype=float), axis, 0)
    n = x.shape[0]
    w = normalise_weights(weights, n)
    q = np.atleast_1d(np.asarray(q, dtype=float))
    flat = x.reshape(n, -1)
    out = np.full((q.size, flat.shape[1]), np.nan)
    for j in range(flat.shape[1]):
        col = flat[:, j]
        ok = np.isfinite(col)
        if not ok.any():
            continue
        order = np.argsort(col[ok])
        xs, ws = col[ok][order], w[ok][order]
        cdf = (np.cumsum(ws) - 0.5 * ws) / ws.sum()
        out[:, j] = np.interp(q, cdf, xs)
    return out.reshape(q.shape + x.shape[1:])


def bootstrap(statistic, n: int, n_boot: int = 1000, seed: int = 0, weights=None, groups=None):
    """Bootstrap replicates of ``statistic(index, weights)`` over ``n`` samples.

    Each replicate resamples the sample indices with replacement (a seeded
    ``numpy.random.Generator(PCG64(seed))``, so replicates are reproducible) and passes
    them with the matching weights (None when unweighted). Returns an array (n_boot, ...).
    With ``groups`` (n,) labels, whole groups are resampled (a cluster bootstrap): samples
    of one group are dependent, e.g. the replicas of one AMS run, which share ancestors.
    """
    rng = np.random.Generator(np.random.PCG64(seed))
    w = None if weights is None else np.asarray(weights, dtype=float)
    members = None
    if groups is not None:
        groups = np.asarray(groups)
        if groups.shape != (n,):
            raise ValueError(f"`groups` must have shape ({n},), got {groups.shape}")
        members = [np.flatnonzero(groups == g) for g in np.unique(groups)]
    reps = []
    for _ in range(n_boot):
        if members is None:
            idx = rng.integers(0, n, n)
        else:
            pick = rng.integers(0, len(members), len(members))
            idx = np.concatenate([members[k] for k in pick])
        reps.append(statistic(idx, None if w is None else w[idx]))
    return np.asarray(reps)


def percentile_ci(replicates, level: float = 0.95, axis: int = 0):
    """Percentile bootstrap interval (low, high) at ``level``."""
    a = (1.0 - level) / 2.0
    lo, hi = np.nanquantile(replicates, [a, 1.0 - a], axis=axis)
    return lo, hi
