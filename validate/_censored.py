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
The interval is on the log scale, E tau exp(± z se / E tau): the tail term is a
time at risk over a count, right-skewed at a few events.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

from theory._display import fields_repr

from ._statistics import t_interval

#: Fewer events than this after ``t_tail`` (when some paths are censored) make the tail
#: hazard, and with it the estimate, too uncertain to trust: :class:`CensoringWarning`.
MIN_TAIL_EVENTS = 20


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
        E tau, its delta-method standard error and the log-scale interval at ``level``.
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
    a = np.minimum(T, t_tail)
    b = np.maximum(T - t_tail, 0.0)
    c = (T > t_tail).astype(float)
    e = (obs & (T > t_tail)).astype(float)
    am, bm, cm, em = a.mean(), b.mean(), c.mean(), e.mean()
    n_tail = int(e.sum())
    common = dict(
        level=level,
        n_paths=n,
        n_events=int(np.count_nonzero(obs)),
        n_censored=n_cens,
        t_tail=t_tail,
        n_tail_events=n_tail,
        tail_exposure=float(b.sum()),
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
    tail = cm * bm / em if cm > 0 else 0.0
    mean = float(am + tail)
    if cm > 0:
        infl = (a - am) + (cm / em) * (b - bm) + (bm / em) * (c - cm) - (tail / em) * (e - em)
    else:
        infl = a - am
    se = float(infl.std(ddof=1) / math.sqrt(n))
    lo, hi = t_interval(mean, se, None, level, log=True) if mean > 0 else (math.nan, math.nan)
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
