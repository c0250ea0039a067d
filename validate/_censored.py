"""Mean first-passage time from right-censored passage times (docs/rates.md, section
"Measured mean times").

Paths that have not reached the target by the end of the simulation, ``t_max``, are
right-censored observations: their passage time is only known to exceed ``t_max``.
Dropping them biases the mean down, counting them as ``t_max`` too; the estimator below
uses them through the exposure they contribute.

Model: the empirical survival function up to a time ``t_tail`` past the initial
transient, then an exponential tail. Once the surviving paths have relaxed to the
quasi-stationary distribution of the region they have not left, the survival is exactly
exponential, S(t) = S(t_tail) e^{-lambda (t - t_tail)}, and the maximum-likelihood hazard
is lambda = (events after t_tail) / (time at risk after t_tail). With every path censored
no earlier than t_tail (type-I censoring at t_max, the engine's case), the estimate

    E tau = int_0^{t_tail} S(t) dt + S(t_tail) / lambda
          = mean(a) + mean(c) mean(b) / mean(e),

a_i = min(T_i, t_tail), b_i = (T_i - t_tail)_+ (time at risk after t_tail), c_i = 1{T_i >
t_tail}, e_i = 1{event after t_tail}, is a smooth function of four means of independent
per-path vectors; its standard error is the delta method's (the sample standard
deviation of the influence values over the paths, divided by sqrt(n)). Without
censoring it is the sample mean and its se the usual s / sqrt(n), for any t_tail.

The interval is the studentised bootstrap on the log scale: with r = se / E tau and
t*_b = (log E tau*_b - log E tau) / r*_b over ``N_BOOT`` resamples of the paths (each
with its own delta-method se; a fixed seed, so the interval is a function of the data),

    [E tau exp(-t*_{(1+level)/2} r),  E tau exp(-t*_{(1-level)/2} r)].

Passage times are close to exponential (skewness 2, kurtosis 9): a low estimate comes
with a small se (correlation 0.7-0.9 across samples), so E tau exp(± z r) misses a
truth above it about twice as often as one below it (4.1 % and 2.1 % on the double well
at 60 paths, docs/statistics.md); the bootstrap of t takes the skewness and the noise of
the se from the data (2.7 % and 2.7 %).
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

from theory._display import fields_repr

#: Fewer events than this after ``t_tail`` (when some paths are censored) make the tail
#: hazard, and with it the estimate, too uncertain to trust: :class:`CensoringWarning`.
MIN_TAIL_EVENTS = 20

#: Bootstrap resamples of the studentised interval.
N_BOOT = 999


class CensoringWarning(UserWarning):
    """Censoring is too heavy to trust the mean passage time: fewer than
    ``min_tail_events`` paths reached the target after ``t_tail`` while some were censored
    (the exponential tail then rests on a handful of events), or none did."""


@dataclass(frozen=True, repr=False)
class CensoredMean:
    """Mean first-passage time from right-censored passage times.

    Attributes
    ----------
    estimate, se, ci_low, ci_high, level
        E tau, its delta-method standard error and the studentised-bootstrap interval at
        ``level`` (module docstring).
    n_paths, n_events, n_censored
        Paths, paths that reached the target, paths censored at the end.
    t_tail, n_tail_events, tail_exposure
        Start of the exponential tail, the events after it and the time at risk after it.
    restricted_mean, tail_survival, tail_hazard
        int_0^{t_tail} S dt, S(t_tail) and the tail's hazard (NaN without a tail).
    status, success, message
        ``"ok"``; ``"few_events"`` (some censoring and fewer than ``min_tail_events``
        events after t_tail: estimate given, success False); ``"no_events"`` (censored
        paths but no event after t_tail: estimate inf).
    """

    estimate: float
    se: float
    ci_low: float
    ci_high: float
    status: str
    message: str
    n_paths: int
    n_events: int
    n_censored: int
    t_tail: float
    n_tail_events: int
    tail_exposure: float
    restricted_mean: float
    tail_survival: float
    tail_hazard: float
    level: float

    @property
    def success(self) -> bool:
        return self.status == "ok"

    def __repr__(self) -> str:
        return fields_repr(self)

    def to_frame(self) -> pd.DataFrame:
        """One row: the estimate, its interval, the counts and the status."""
        row = {k: getattr(self, k) for k in self.__dataclass_fields__}
        return pd.DataFrame([row | {"success": self.success}])


def censored_mean(
    times,
    observed,
    *,
    t_tail: float | None = None,
    level: float = 0.95,
    min_tail_events: int = MIN_TAIL_EVENTS,
) -> CensoredMean:
    """Mean first-passage time from passage times ``times`` of which only those with
    ``observed`` True are events; the others are censoring times (the path had not
    arrived by then). Times are measured from the paths' common start.

    Parameters
    ----------
    times, observed
        Per path: the passage time or the censoring time (n,), and whether it is a
        passage (n,) bool.
    t_tail
        Start of the exponential tail; must lie past the initial transient (the time the
        surviving paths need to forget their start) and at or before every censoring
        time. Default: half the earliest censoring time (no censoring: the largest
        time, where the estimate is the sample mean whatever t_tail).
    level
        Level of the interval.
    min_tail_events
        With censored paths, fewer events after ``t_tail`` than this give status
        ``"few_events"`` and a :class:`CensoringWarning`.

    Returns
    -------
    CensoredMean
    """
    T = np.asarray(times, dtype=float)
    obs = np.asarray(observed, dtype=bool)
    if T.ndim != 1 or T.shape != obs.shape:
        raise ValueError(
            f"`times` and `observed` must be 1-D of one shape, got {T.shape} and {obs.shape}"
        )
    n = T.size
    if n < 2:
        raise ValueError(f"need at least 2 paths, got {n}")
    if not np.all(np.isfinite(T)) or np.any(T < 0):
        raise ValueError("`times` must be finite and non-negative")
    if not 0 < level < 1:
        raise ValueError(f"`level` must lie in (0, 1), got {level}")
    n_cens = int(np.count_nonzero(~obs))
    first_cens = float(T[~obs].min()) if n_cens else math.inf
    if t_tail is None:
        t_tail = 0.5 * first_cens if n_cens else float(T.max())
    t_tail = float(t_tail)
    if not (math.isfinite(t_tail) and t_tail >= 0):
        raise ValueError(f"`t_tail` must be finite and >= 0, got {t_tail}")
    if t_tail > first_cens:
        raise ValueError(
            f"`t_tail` = {t_tail:g} lies after the first censoring time {first_cens:g}: the "
            "survival before t_tail would need the Kaplan-Meier correction; choose t_tail <= "
            "every censoring time"
        )
    X = np.column_stack([np.minimum(T, t_tail), np.maximum(T - t_tail, 0.0), T > t_tail,
                         obs & (T > t_tail)]).astype(float)  # fmt: skip
    am, bm, cm, em = X.mean(0)
    n_tail = int(X[:, 3].sum())
    common = dict(
        level=level,
        n_paths=n,
        n_events=int(np.count_nonzero(obs)),
        n_censored=n_cens,
        t_tail=t_tail,
        n_tail_events=n_tail,
        tail_exposure=float(X[:, 1].sum()),
        restricted_mean=float(am),
        tail_survival=float(cm),
    )
    if cm > 0 and n_tail == 0:
        message = (
            f"no path reached the target after t_tail = {t_tail:g} ({n_cens} of {n} "
            "censored): the tail hazard is 0 and the mean unbounded; simulate longer"
        )
        warnings.warn(message, CensoringWarning, stacklevel=2)
        return CensoredMean(
            estimate=math.inf, se=math.nan, ci_low=math.nan, ci_high=math.inf, tail_hazard=0.0,
            status="no_events", message=message, **common,
        )  # fmt: skip
    mean, se, lo, hi = _bootstrap_t(X, level)
    status = "ok"
    message = (
        f"{common['n_events']} events, {n_cens} censored of {n} paths; exponential tail from "
        f"t_tail = {t_tail:g} with {n_tail} events"
    )
    if n_cens and n_tail < min_tail_events:
        status = "few_events"
        message = (
            f"censoring too heavy: {n_tail} events after t_tail = {t_tail:g} (fewer than "
            f"{min_tail_events}) carry the tail, {n_cens} of {n} paths censored; the interval "
            "is not trustworthy: simulate longer or more paths"
        )
        warnings.warn(message, CensoringWarning, stacklevel=2)
    return CensoredMean(
        estimate=mean, se=se, ci_low=float(lo), ci_high=float(hi),
        tail_hazard=float(em / bm) if cm > 0 else math.nan, status=status, message=message,
        **common,
    )  # fmt: skip


def _mean_se(m, s1, s2, n: int):
    """E tau = a + c b / e and its delta-method se, vectorised over bootstrap resamples:
    ``m`` (..., 4) the (resample's) means of the rows x = (a, b, c, e), ``s1`` (..., 4)
    and ``s2`` (..., 4, 4) its first and second moments of x - mu, mu the sample's
    means (centred against cancellation). A path's influence is g . (x - mean),
    g = (1, c/e, b/e, -c b/e^2) (g = (1, 0, 0, 0) without survivors past t_tail).
    The means of the 0/1 columns c, e are counts / n, exactly zero without survivors or
    tail events (so E tau = inf for survivors without tail events)."""
    am, bm, cm, em = np.moveaxis(m, -1, 0)
    on = cm > 0
    with np.errstate(divide="ignore", invalid="ignore"):
        tail = np.where(on, cm * bm / em, 0.0)
        g = np.stack([np.ones_like(am), np.where(on, cm / em, 0.0), np.where(on, bm / em, 0.0),
                      np.where(on, -tail / em, 0.0)], axis=-1)  # fmt: skip
        cov = s2 - s1[..., :, None] * s1[..., None, :]
        var = np.einsum("...i,...ij,...j->...", g, cov, g) * (n / (n - 1))
    return am + tail, np.sqrt(np.maximum(var, 0.0) / n)


def _bootstrap_t(X: np.ndarray, level: float) -> tuple[float, float, float, float]:
    """(E tau, se, ci_low, ci_high) from the per-path rows X (n, 4) = (a, b, c, e)
    (module docstring): the studentised bootstrap on the log scale over ``N_BOOT``
    resamples of the n paths (each path's count in a resample from n uniform draws; a
    fixed seed), in blocks of about 2e6 counts. A resample with survivors past t_tail
    but no event there (E tau* infinite) counts as t* = +inf."""
    n = X.shape[0]
    mu = X.mean(0)
    Z = X - mu
    Y = np.hstack([Z, (Z[:, :, None] * Z[:, None, :]).reshape(n, 16)])
    m, se = _mean_se(mu, np.zeros(4), Y[:, 4:].mean(0).reshape(4, 4), n)
    mean, se = float(m), float(se)
    if math.isfinite(mean) and se == 0:  # all paths alike: so is every resample
        return mean, se, mean, mean
    if not (math.isfinite(mean) and mean > 0 and se > 0):
        return mean, se, math.nan, math.nan
    rng = np.random.Generator(np.random.PCG64(0))
    block = max(1, 2_000_000 // n)
    t = np.empty(N_BOOT)
    for start in range(0, N_BOOT, block):
        k = min(block, N_BOOT - start)
        rows = rng.integers(0, n, size=(k, n)) + n * np.arange(k)[:, None]
        counts = np.bincount(rows.ravel(), minlength=k * n).reshape(k, n).astype(float)
        s = counts @ Y / n
        # the means from the counts, not mu + s: round-off in mu + s would leave a
        # resample without tail events a tiny e of either sign, not the exact 0
        m_b, se_b = _mean_se(counts @ X / n, s[:, :4], s[:, 4:].reshape(k, 4, 4), n)
        with np.errstate(divide="ignore", invalid="ignore"):
            t_b = (np.log(m_b) - math.log(mean)) * m_b / se_b
        t_b[~np.isfinite(m_b)] = np.inf
        t_b[np.isnan(t_b)] = 0.0  # se* = 0 with E tau* = E tau (all paths alike)
        t[start : start + k] = t_b
    levels = [0.5 - level / 2, 0.5 + level / 2]
    with np.errstate(invalid="ignore"):
        q = np.quantile(t, levels)
    # np.quantile interpolates between two infinite neighbours to NaN: they are equal,
    # and the quantile is that infinity (the order statistic)
    q_lo, q_hi = np.where(np.isnan(q), np.quantile(t, levels, method="lower"), q)
    r = se / mean
    return mean, se, mean * math.exp(-q_hi * r), mean * math.exp(-q_lo * r)
