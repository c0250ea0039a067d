"""Noise sweeps: sample a conditioned ensemble at each eps and compare it with theory.

For each noise level the sampler gives a (weighted) ensemble; the tube statistics
(:func:`tube_statistics`), the empirical charges (:func:`empirical_charges`) and the
probability of the conditioning event are computed and collected in one tidy frame with
columns system, eps, statistic, value, se, ci_low, ci_high, theory, n, ess, dof (the
degrees of freedom of se: for AMS the effective number of independent runs minus one,
see :func:`validate._statistics.independent_dof`, otherwise the accepted paths minus one;
NaN: normal quantiles). Levels are independent (each has its own seed, derived from the
sweep's seed and eps only), so they run in parallel with joblib and a study can resume
with any subset of them.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import joblib
import numpy as np
import pandas as pd

from theory._display import fields_repr

from ._empirical_charges import DEFAULT_WINDOW, empirical_charges
from ._samplers import make_sampler
from ._statistics import bootstrap, normalise_weights, t_interval, weighted_mean_se
from ._tubes import as_path_list, tube_statistics

COLUMNS = [
    "system", "eps", "statistic", "value", "se", "ci_low", "ci_high", "theory", "n", "ess", "dof",
]  # fmt: skip


class DegenerateLevelWarning(UserWarning):
    """A noise level with fewer than two accepted paths: no statistic, no check."""


#: At most this many points of each shown path are stored (evenly spaced, both ends kept):
#: a figure cannot resolve more, and long AMS paths otherwise fill hundreds of MB.
SHOW_POINTS = 2000


def _thinned(n: int, at_most: int) -> np.ndarray:
    """Indices of at most ``at_most`` evenly spaced points of ``n``, first and last kept."""
    if n <= at_most:
        return np.arange(n)
    return np.unique(np.linspace(0, n - 1, at_most).round().astype(np.int64))


def level_seed(seed: int, eps: float) -> int:
    """The seed of the level eps: a function of (seed, eps) only, never of the grid."""
    bits = int(np.float64(eps).view(np.uint64))
    return int(np.random.SeedSequence([int(seed), bits]).generate_state(1, np.uint64)[0])


@dataclass(frozen=True)
class Level:
    """Everything a sweep keeps of one noise level, as tidy frames.

    summary : rows of the sweep frame; replicates : bootstrap replicates (statistic,
    replicate, value); profile : the tube profile (reference, mean, median, radii along
    the reference; one row per grid point and coordinate); charges : per-path charge means
    and drifts; paths : up to ``n_show`` sampled paths (path, t, coordinate, value; at most
    :data:`SHOW_POINTS` points each, float32) for figures.
    """

    eps: float
    summary: pd.DataFrame
    replicates: pd.DataFrame
    profile: pd.DataFrame
    charges: pd.DataFrame
    paths: pd.DataFrame

    def __repr__(self) -> str:
        return fields_repr(self)

    def tables(self) -> dict:
        return {
            "summary": self.summary,
            "replicates": self.replicates,
            "profile": self.profile,
            "charges": self.charges,
            "paths": self.paths,
        }


def _theory_value(reference, key, default=np.nan):
    if reference is None:
        return default
    if key == "action":
        return float(getattr(reference, "action", default))
    ch = getattr(reference, "charges", None)
    if ch is None or key not in ch.values:
        return default
    return float(np.mean(ch.values[key]))


def run_level(
    system,
    eps: float,
    sampler,
    *,
    n_paths: int,
    seed: int,
    reference=None,
    theory: dict | None = None,
    window: float = DEFAULT_WINDOW,
    quantile: float = 0.5,
    symmetry=None,
    discrete=None,
    n_boot: int = 200,
    n_show: int = 40,
    n_jobs: int = 1,
) -> Level:
    """Sample and analyse one noise level (see :func:`noise_sweep`)."""
    theory = dict(theory or {})
    sample = sampler.sample(system, eps, n_paths, level_seed(seed, eps), n_jobs=n_jobs)
    rows = []

    # the se's degrees of freedom: AMS's from its independent runs; otherwise the accepted
    # paths - 1 (the Student t of an unweighted mean; for an importance-weighted one it is
    # the measured calibration, docs/statistics.md: the Kish ESS - 1 over-covers)
    if sample.dof is not None:
        dof = float(sample.dof)
    else:
        dof = float(sample.n - 1) if sample.n >= 2 else np.nan

    def row(
        stat, value, se=np.nan, lo=np.nan, hi=np.nan, th=np.nan, n=sample.n, ess=np.nan, dof=dof
    ):
        if np.isnan(lo) and np.isfinite(se):  # value ± t se (AMS: few effective runs)
            lo, hi = t_interval(value, se, None if np.isnan(dof) else dof)
        rows.append(
            {
                "statistic": stat,
                "value": value,
                "se": se,
                "ci_low": lo,
                "ci_high": hi,
                "theory": th,
                "n": n,
                "ess": ess,
                "dof": dof,
            }
        )

    p, p_se = sample.probability, sample.probability_se
    row("n_accepted", float(sample.n), th=np.nan, n=sample.n_trials)
    if np.isfinite(p):
        # AMS: the interval and log P's error come from the logs of the run estimates.
        # The theory of a probability is a probability (none in general); the action is
        # the theory of -eps log P
        ci = sample.probability_ci or t_interval(p, p_se)
        log_se = sample.log_probability_se
        if log_se is None:
            log_se = p_se / p if p > 0 else np.nan
        log_dof = sample.log_probability_dof if sample.log_probability_dof is not None else np.nan
        action = theory.get("action", _theory_value(reference, "action"))
        th_p = theory.get("probability", np.nan)
        row("probability", p, p_se, *ci, th=th_p, n=sample.n_trials, dof=log_dof)
        if p > 0:
            with np.errstate(divide="ignore"):
                hi, lo = -eps * np.log(np.clip(np.asarray(ci, dtype=float), 0.0, None))
            row(
                "neg_eps_log_p",
                -eps * np.log(p),
                eps * log_se,
                lo,
                hi,
                th=action,
                n=sample.n_trials,
                dof=log_dof,
            )
    empty = pd.DataFrame()
    if sample.n < 2:
        warnings.warn(
            f"{system.name}, eps = {eps:g}: {sample.n} of {sample.n_trials} paths accepted, "
            "too few for any statistic: this level checks nothing (more paths, or a larger "
            "eps or target)",
            DegenerateLevelWarning,
            stacklevel=2,
        )
        summary = pd.DataFrame(rows)
        summary.insert(0, "eps", float(eps))
        summary.insert(0, "system", system.name)
        return Level(float(eps), summary[COLUMNS], empty, empty, empty, empty)
    w = None if sample.weights is None else normalise_weights(sample.weights, sample.n)
    if sample.duration is not None:
        m, se, ne = weighted_mean_se(sample.duration, w, groups=sample.groups)
        row("duration", float(m), float(se), th=theory.get("duration", np.nan), ess=float(ne))
    replicates = []
    profile = empty
    if reference is not None:
        tb = tube_statistics(
            sample.paths,
            reference,
            t=sample.t,
            align=sample.align,
            weights=w,
            symmetry=symmetry,
            discrete=discrete,
            groups=sample.groups,
        )
        ts, tr = tb.summary(
            q=quantile, n_boot=n_boot, seed=level_seed(seed, eps) % 2**32, return_replicates=True
        )
        for r in ts.to_dict("records"):
            th = 0.0 if r["statistic"] == "mean_path_gap" else np.nan
            row(
                r["statistic"], r["value"], r["se"], r["ci_low"], r["ci_high"], th, r["n"], r["ess"]
            )
        replicates.append(tr)
        profile = tb.to_frame("profile")
    ec = empirical_charges(
        system,
        sample.paths,
        sample.t,
        window=window,
        eps=eps,
        weights=w,
        reference=reference,
        groups=sample.groups,
    )
    cs = ec.summary()
    for r in cs.to_dict("records"):
        th = r["theory"]
        if r["statistic"].startswith("charge_mean_") and r["charge"] in theory:
            th = theory[r["charge"]]
        row(r["statistic"], r["value"], r["se"], th=th, n=r["n"], ess=r["ess"])
    pm = ec.path_mean

    def sds(idx, ww):
        ww = normalise_weights(ww, len(idx))
        mu = np.sum(ww[:, None] * pm[idx], axis=0)
        return np.sqrt(np.sum(ww[:, None] * (pm[idx] - mu) ** 2, axis=0))

    reps = bootstrap(
        sds, ec.n, n_boot, level_seed(seed, eps) % 2**32 + 1, ec.weights, sample.groups
    )
    names = [f"charge_sd_{c}" for c in ec.names]
    replicates.append(
        pd.DataFrame(
            {
                "statistic": np.repeat(names, reps.shape[0]),
                "replicate": np.tile(np.arange(reps.shape[0]), len(names)),
                "value": reps.T.ravel(),
            }
        )
    )
    summary = pd.DataFrame(rows)
    summary.insert(0, "eps", float(eps))
    summary.insert(0, "system", system.name)
    rep = pd.concat(replicates, ignore_index=True)
    rep.insert(0, "eps", float(eps))
    plist, tlist = as_path_list(sample.paths, sample.t)
    show = []
    for i in range(min(n_show, len(plist))):
        keep = _thinned(len(tlist[i]), SHOW_POINTS)
        x = plist[i][keep].astype(np.float32)  # for figures: float32 is finer than a pixel
        n, d = x.shape
        # long, coordinate-major: the rows of one (path, coordinate) are a time series
        show.append(
            pd.DataFrame(
                {
                    "path": i,
                    "t": np.tile(tlist[i][keep].astype(np.float32), d),
                    "coordinate": np.repeat(np.arange(d, dtype=np.int16), n),
                    "value": x.T.ravel(),
                }
            )
        )
    paths = pd.concat(show, ignore_index=True)
    paths.insert(0, "eps", float(eps))
    charges = ec.to_frame()
    charges.insert(0, "eps", float(eps))
    if not profile.empty:
        profile.insert(0, "eps", float(eps))
    return Level(float(eps), summary[COLUMNS], rep, profile, charges, paths)


def noise_sweep(
    system,
    eps_grid,
    sampler="endpoint",
    *,
    n_paths: int = 1000,
    seed: int = 0,
    n_jobs: int = 1,
    reference=None,
    theory: dict | None = None,
    sampler_options: dict | None = None,
    window: float = DEFAULT_WINDOW,
    quantile: float = 0.5,
    symmetry=None,
    discrete=None,
    n_boot: int = 200,
    return_levels: bool = False,
):
    """Sample at each noise level and compare tubes, charges and probabilities with theory.

    Parameters
    ----------
    system
        The :class:`~simulate.System`.
    eps_grid
        Noise levels.
    sampler
        ``"endpoint"``, ``"reactive"`` or ``"ams"`` (with ``sampler_options``, see
        :class:`Endpoint`, :class:`Reactive`, :class:`AMS`), or a sampler instance.
    n_paths
        Paths simulated per level (AMS: replicas).
    seed
        Master seed; level eps uses :func:`level_seed` (seed, eps), so results do not
        depend on the grid, its order, or ``n_jobs``.
    n_jobs
        joblib workers over the levels.
    reference
        The instanton (:class:`theory.Instanton`) or a reference path (k, d) for the
        tubes; its action and mean charges are the theoretical values.
    theory
        Theoretical values overriding the reference's (keys "action", charge names,
        "duration").
    window
        Coarse-graining window of the empirical momentum.
    quantile
        Quantile of the tube statistics.
    symmetry
        A generator: compare paths with the nearest member of the instanton family.
    discrete
        A finite symmetry group (``System.discrete`` values or matrices): each path is
        also mapped by its nearest group element first (:func:`tube_statistics`).
    n_boot
        Bootstrap replicates per level (fixed seeds).
    return_levels
        Also return the :class:`Level` objects (profiles, per-path charges, paths).

    Returns
    -------
    pandas.DataFrame
        Columns system, eps, statistic, value, se, ci_low, ci_high, theory, n, ess.
    """
    eps_grid = [float(e) for e in np.atleast_1d(eps_grid)]
    if not eps_grid or any(not (np.isfinite(e) and e > 0) for e in eps_grid):
        raise ValueError(f"`eps_grid` must be positive noise levels, got {eps_grid}")
    smp = make_sampler(sampler, **(sampler_options or {}))
    kw = dict(
        n_paths=n_paths,
        seed=seed,
        reference=reference,
        theory=theory,
        window=window,
        quantile=quantile,
        symmetry=symmetry,
        discrete=discrete,
        n_boot=n_boot,
    )
    if n_jobs == 1 or len(eps_grid) == 1:
        levels = [run_level(system, e, smp, **kw) for e in eps_grid]
    else:
        levels = joblib.Parallel(n_jobs=n_jobs)(
            joblib.delayed(run_level)(system, e, smp, **kw) for e in eps_grid
        )
    frame = pd.concat([lv.summary for lv in levels], ignore_index=True)
    return (frame, levels) if return_levels else frame
