"""Scaling fits with bootstrap confidence intervals.

- power laws y ~ c eps^beta (tube radius: theory beta = 1/2; charge spread: gamma) by
  least squares in log-log coordinates;
- eps -> 0 limits by weighted least squares in a small-noise model
  (:func:`extrapolate`; with its t interval :func:`limit_interval`): ``"linear"``
  y = y0 + b eps (path-mean charges, whose bias is a power series in eps),
  ``"eps_log_eps"`` y = y0 + a eps log eps + b eps (the large-deviation limit
  -eps log P -> S, the instanton action: a prefactor P ~ C eps^alpha exp(-S/eps) gives
  -eps log P = S - alpha eps log eps - eps log C, and a straight line in eps is biased
  by the eps log eps term; see ``docs/statistics.md``).

Power-law intervals come from refitting bootstrap replicates: non-parametric replicates
of each level's statistic when given (paths resampled within each eps level), else
parametric ones drawn from each level's value and standard error; the seed is fixed.
The action's interval propagates the levels' standard errors through the least-squares
fit (Student t, Welch–Satterthwaite degrees of freedom from the levels' independent
units: AMS runs, or paths).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.stats import norm
from scipy.stats import t as student_t

from theory._display import fields_repr

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

    def __repr__(self) -> str:
        return fields_repr(self)

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


EXTRAPOLATION_MODELS = ("linear", "eps_log_eps", "quadratic")


def _design(eps, model):
    if model == "linear":
        return np.column_stack([np.ones_like(eps), eps])
    if model == "eps_log_eps":
        return np.column_stack([np.ones_like(eps), eps * np.log(eps), eps])
    if model == "quadratic":  # eps log E tau = dV + eps log C + a eps^2 (docs/rates.md)
        return np.column_stack([np.ones_like(eps), eps, eps**2])
    raise ValueError(f"`model` must be one of {EXTRAPOLATION_MODELS}, got {model!r}")


def extrapolate(eps, value, se, model: str = "linear") -> tuple[float, float, float]:
    """eps -> 0 limit of ``value`` by weighted least squares in a small-noise model.

    ``"linear"``: value = y0 + b eps; ``"eps_log_eps"``: value = y0 + a eps log eps + b eps
    (needs three levels); ``"quadratic"``: value = y0 + b eps + c eps^2 (three levels).
    Weights 1 / se^2. Returns (y0, se(y0), chi2/dof): the standard
    error comes from the levels' standard errors, inflated by sqrt(chi2/dof) when the
    scatter about the model exceeds them (dof > 0). With one level the 'limit' is that
    level's value (any model); with fewer levels than the model's parameters, the
    linear model is used. :func:`limit_interval` adds the interval.
    """
    y0, s, chi2, _ = _weighted_limit(eps, value, se, None, model)
    return y0, s, chi2


def limit_interval(
    eps, value, se, dof=None, model: str = "linear", level: float = 0.95
) -> tuple[float, float, float, float, float]:
    """The eps -> 0 limit of :func:`extrapolate` with its interval y0 ± t se.

    The limit is y0 = sum_i c_i y_i (c: the intercept's least-squares weights), so its
    error has the Welch–Satterthwaite degrees of freedom
    nu = (sum_i (c_i se_i)^2)^2 / sum_i (c_i se_i)^4 / dof_i, from each level's ``dof``
    (the degrees of freedom of its se: accepted paths - 1 for an endpoint ensemble, runs -
    1 for AMS; NaN or None: normal). At a few effective paths per level the normal
    quantile undercovers (``docs/statistics.md``). Returns (y0, se, ci_low, ci_high, nu).
    """
    y0, s, _, nu = _weighted_limit(eps, value, se, dof, model)
    q = float(
        norm.ppf(0.5 + level / 2) if not np.isfinite(nu) else student_t.ppf(0.5 + level / 2, nu)
    )
    return y0, s, y0 - q * s, y0 + q * s, nu


def _weighted_limit(eps, value, se, dof, model):
    """(y0, se(y0), chi2/dof, Welch–Satterthwaite nu) of the weighted least-squares fit."""
    eps, value, se = (np.asarray(v, dtype=float) for v in (eps, value, se))
    d = np.full(eps.shape, np.inf) if dof is None else np.asarray(dof, dtype=float)
    if d.shape != eps.shape:
        raise ValueError(f"`dof` must have one value per level ({eps.size}), got {d.shape}")
    if np.any(d < 1):
        raise ValueError(f"`dof` must be >= 1 per level (NaN: normal), got {dof}")
    ok = np.isfinite(value) & np.isfinite(se) & (se > 0)
    eps, value, se, d = eps[ok], value[ok], se[ok], np.where(np.isnan(d[ok]), np.inf, d[ok])
    if eps.size == 0:
        return np.nan, np.nan, np.nan, np.nan
    if eps.size == 1:
        return float(value[0]), float(se[0]), np.nan, float(d[0])
    X = _design(eps, model)
    if X.shape[1] > eps.size:
        X = _design(eps, "linear")
    w = 1.0 / se**2
    cov = np.linalg.inv(X.T @ (w[:, None] * X))
    beta = cov @ (X.T @ (w * value))
    resid = value - X @ beta
    n_dof = eps.size - X.shape[1]
    chi2 = float(np.sum(w * resid**2) / n_dof) if n_dof > 0 else np.nan
    inflate = max(1.0, np.sqrt(chi2)) if n_dof > 0 else 1.0
    parts = ((cov @ (X.T * w))[0] * se) ** 2  # (c_i se_i)^2, summing to cov[0, 0]
    denom = float(np.sum(parts**2 / d))  # 0 when every level is normal (dof inf)
    nu = parts.sum() ** 2 / denom if denom > 0 else np.inf
    return float(beta[0]), float(np.sqrt(cov[0, 0]) * inflate), chi2, float(nu)


def fit_action(
    eps,
    probability,
    *,
    se=None,
    log_se=None,
    dof=None,
    theory: float = np.nan,
    model: str = "eps_log_eps",
    level: float = 0.95,
) -> ScalingFit:
    """Extrapolate y = -eps log P to eps = 0; the limit estimates the action S.

    Large deviations with a prefactor, P ~ C eps^alpha exp(-S/eps), give
    y = S - alpha eps log eps - eps log C + o(eps): ``model="eps_log_eps"`` (default) fits
    y = S + a eps log eps + b eps (three or more levels; with two, a straight line),
    ``"linear"`` the straight line y = S + b eps, biased by the eps log eps term when
    alpha != 0 (alpha = 1/2 for a 1-D escape from a point over a saddle).

    The fit is ordinary least squares (weights from estimated standard errors would
    correlate with the errors: an AMS level whose runs fell low also reports a small
    error). Each level's y has se(y) = eps se(log P): ``log_se`` when given (AMS: from the
    logs of the run estimates, :func:`validate._statistics.run_mean_interval`), else
    se(P) / P (the delta method on the log scale); the limit's se propagates them,
    se^2 = sum_i c_i^2 se(y_i)^2 with c the least-squares weights of the intercept, and
    its interval is S ± t se with the Welch–Satterthwaite degrees of freedom
    nu = se^4 / sum_i (c_i se(y_i))^4 / dof_i (``dof`` per level: runs - 1 for AMS;
    None: normal quantiles).
    """
    eps = np.asarray(eps, dtype=float)
    p = np.asarray(probability, dtype=float)
    if (se is None) == (log_se is None):
        raise ValueError("give one of `se` (of P) and `log_se` (of log P)")
    if np.any(p <= 0):
        raise ValueError("every level needs a positive probability estimate")
    rel = np.asarray(log_se if se is None else np.asarray(se, dtype=float) / p, dtype=float)
    if eps.size < 2 or eps.shape != p.shape or rel.shape != p.shape:
        raise ValueError("`eps`, `probability` and its errors must have one value per level (>= 2)")
    if not np.all(np.isfinite(rel) & (rel >= 0)):
        raise ValueError("the standard errors must be finite and non-negative")
    _design(eps, model)  # validates the model name
    if eps.size < 3:
        model = "linear"
    y = -eps * np.log(p)
    y_se = eps * rel
    X = _design(eps, model)
    rows = np.linalg.pinv(X)  # (params, levels): least-squares coefficients
    coef = rows @ y
    parts = (rows[0] * y_se) ** 2
    s = float(np.sqrt(parts.sum()))
    if dof is None:
        q = float(norm.ppf(0.5 + level / 2))
    else:
        d = np.broadcast_to(np.asarray(dof, dtype=float), eps.shape)
        if np.any(d < 1):
            raise ValueError(f"`dof` must be >= 1 per level, got {dof}")
        nu = parts.sum() ** 2 / np.sum(parts**2 / d) if parts.sum() > 0 else np.inf
        q = float(student_t.ppf(0.5 + level / 2, nu))
    return ScalingFit(
        kind="action",
        statistic="neg_eps_log_p",
        estimate=float(coef[0]),
        se=s,
        ci_low=float(coef[0] - q * s),
        ci_high=float(coef[0] + q * s),
        level=level,
        n_levels=int(eps.size),
        eps_range=(float(eps.min()), float(eps.max())),
        theory=float(theory),
        other=float(coef[-1]),
        n_boot=0,
    )


def _level_dof(sub: pd.DataFrame):
    """The levels' degrees of freedom (sweep column ``dof``; None when absent or NaN)."""
    if "dof" not in sub or not np.all(np.isfinite(sub["dof"])):
        return None
    return sub["dof"].to_numpy(dtype=float)


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
    logs = frame[frame["statistic"] == "neg_eps_log_p"].sort_values("eps")
    if len(sub) >= 2 and np.all(sub["value"] > 0):
        same = len(logs) == len(sub) and np.allclose(logs["eps"].values, sub["eps"].values)
        fits.append(
            fit_action(
                sub["eps"],
                sub["value"],
                # se of log P from the -eps log P rows (AMS: from the runs' logs)
                log_se=(logs["se"] / logs["eps"]).to_numpy() if same else None,
                se=None if same else sub["se"],
                dof=_level_dof(logs if same else sub),
                # the theory of -eps log P (the action) is on its own rows
                theory=float(logs["theory"].dropna().iloc[0])
                if logs["theory"].notna().any()
                else np.nan,
            ).to_frame()
        )
    return pd.concat(fits, ignore_index=True) if fits else pd.DataFrame()
