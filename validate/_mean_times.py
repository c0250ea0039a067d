"""Measured mean transition times E tau from an attractor to a target set, by brute force
(censored first passages) or by adaptive multilevel splitting (docs/rates.md, section
"Measured mean times"). Convention (docs/conventions.md): dX = f dt + sqrt(2 eps D) dW.

**Brute force** (``method="brute"``): ``n_paths`` paths from x_min stop on entering the
target; those still running at ``t_max`` are right-censored, and the mean comes from
:func:`~validate._censored.censored_mean` (empirical survival up to t_tail, exponential
tail with the maximum-likelihood hazard).

**AMS** (``method="ams"``; Cérou, Guyader, Lelièvre & Pommier 2011, J. Chem. Phys. 134,
054108): with A a set around the attractor and Sigma the boundary of a set ``sigma`` that
separates A from the target B, a path from x_min first reaches Sigma (time T_0), then
makes excursions from Sigma: each ends in A (probability 1 - p, a failure) or in B
(probability p). After a failure the path returns from A to Sigma, closing a *loop*
(Sigma -> A -> Sigma). By the strong Markov property the number of failures is geometric
with mean (1 - p) / p, so

    E tau = E T_0 + (1/p - 1) E[loop] + E[reactive],

E[loop] = E[time Sigma -> A | A before B] + E[time A -> Sigma] and E[reactive] = E[time
Sigma -> B | B before A]. The loops and T_0 come from short ensembles; p and the reactive
durations from independent AMS runs started at the loops' return points to Sigma (so the
excursions start from the law the loops give them; in 1-D Sigma is a point and the
decomposition is exact for the Euler–Maruyama chain up to the within-step overshoot).
With p_r a run's estimate and S_r = sum over its replicas in B of weight x duration
(an unbiased estimate of E[duration 1{B before A}]), p = mean p_r, S = mean S_r and

    E tau = E T_0 + (E[loop] + S) / p - E[loop] - bias,

where bias = (E[loop] + S) Var(p) / p^3 - Cov(S, p) / p^2 (Var and Cov of the means,
from the runs) removes the second-order bias of the ratio (E[1/p] > 1/E[p]; a few
per cent at eps = 0.025 with 10 runs of 50 replicas, docs/rates.md). The standard error
is the delta method's: over runs (the independent unit of AMS), the influence
(S_r - S) / p - (E[loop] + S)(p_r - p) / p^2; plus (1/p - 1) se(E[loop]) and se(E T_0),
independent. The interval is on the log scale, E tau exp(± t se / E tau), with
the Kish effective number of runs minus one as degrees of freedom
(``validate._statistics.independent_dof``, docs/statistics.md); its coverage is measured
in docs/rates.md.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from simulate import Status, StopSet, System, ams, ensemble
from simulate._sets import check_disjoint, resolve_set
from theory._display import fields_repr

from ._censored import CensoredMean, censored_mean
from ._coverage import rep_seed
from ._statistics import independent_dof, t_interval

METHODS = ("brute", "ams")


@dataclass(frozen=True, repr=False)
class MeanTime:
    """A measured mean transition time E tau with its interval.

    Attributes
    ----------
    method
        ``"brute"`` or ``"ams"``.
    system, eps, dt, seed
        What was simulated.
    estimate, se, ci_low, ci_high, level, dof
        E tau, its standard error, the interval at ``level`` and the degrees of freedom of
        its quantile (inf: normal).
    path_steps
        Euler–Maruyama steps spent (for the brute force, the useful ones: the sum of the
        paths' simulated times over dt).
    parts
        Brute force: ``"passage"``, the :class:`~validate._censored.CensoredMean`. AMS:
        ``"first_hit"``, ``"to_A"``, ``"to_sigma"`` (CensoredMean of T_0 and of the two legs
        of a loop), ``"loop"``, ``"loop_se"``, ``"p"``, ``"reactive"`` (S / p), ``"run_p"``,
        ``"run_s"`` (per run), ``"bias"`` (the second-order correction subtracted),
        ``"n_loop_reactive"`` (loop paths that reached B before A,
        left out), ``"loop_steps"``, ``"ams_steps"``.
    status, success, message
        ``"ok"`` or the failure that makes ``success`` False (``"few_events"``,
        ``"no_events"``, ``"non_finite"``, ``"ams_failed"``), with the reason.
    """

    method: str
    system: str
    eps: float
    estimate: float
    se: float
    ci_low: float
    ci_high: float
    status: str
    message: str
    path_steps: int
    level: float
    dof: float
    dt: float
    seed: int
    parts: dict = field(default_factory=dict)

    @property
    def success(self) -> bool:
        return self.status == "ok"

    @property
    def relative_error(self) -> float:
        return self.se / self.estimate if self.estimate > 0 else math.inf

    def __repr__(self) -> str:
        return fields_repr(self)

    def to_frame(self) -> pd.DataFrame:
        """One row: method, eps, estimate, se, interval, path-steps and the status."""
        keys = ("method", "system", "eps", "dt", "seed", "estimate", "se", "ci_low", "ci_high",
                "level", "dof", "path_steps", "status", "message")  # fmt: skip
        return pd.DataFrame([{k: getattr(self, k) for k in keys} | {"success": self.success}])


def _passages(res, name: str, t0: float, t_end: float):
    """Per path of an ensemble stopped by set ``name``: the time from t0 to the stop (or to
    t_end for a path still running), whether it stopped in ``name``, whether it ran to the
    end; and the steps of those paths (the time simulated over dt)."""
    hit = res.stopped_in(name)
    ran = res.path_status == Status.RUNNING
    times = np.where(hit, res.stop_time - t0, t_end - t0)
    steps = int(np.ceil(times[hit | ran] / res.dt).sum())
    return times, hit, ran, steps


def _censored_parts(times, observed, keep, t_tail, level, what: str) -> CensoredMean:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the combined result reports the status
        out = censored_mean(times[keep], observed[keep], t_tail=t_tail, level=level)
    if not out.success:
        return CensoredMean(**{**out.__dict__, "message": f"{what}: {out.message}"})
    return out


def mean_time(
    system: System,
    x_min: Sequence[float] | np.ndarray | str,
    target: StopSet | str,
    eps: float,
    *,
    method: str = "brute",
    seed: int = 0,
    dt: float = 1e-3,
    level: float = 0.95,
    n_jobs: int = 1,
    n_paths: int = 1000,
    t_max: float | None = None,
    t_tail: float | None = None,
    A: StopSet | str | None = None,
    sigma: StopSet | str | None = None,
    reaction_coordinate=None,
    n_replicas: int = 100,
    n_runs: int = 20,
    n_loops: int = 1000,
    t_loop: float = 100.0,
) -> MeanTime:
    """Measured mean time E tau from ``x_min`` to the first entry into ``target``.

    Parameters
    ----------
    system, x_min, target, eps
        The system, the start (a point or state name), the target set (a
        :class:`~simulate.StopSet` or a set name) and the noise level.
    method
        ``"brute"``: ``n_paths`` paths up to ``t_max`` (required), censored passages,
        exponential tail from ``t_tail`` (default t_max / 2). ``"ams"``: the loop
        decomposition (module docstring, docs/rates.md); needs ``A`` (a set around the
        attractor) and ``sigma`` (the set beyond the start surface Sigma; disjoint from
        A, not containing x_min, reached before ``target``). ``n_loops`` paths for T_0
        and the loops (each leg up to ``t_loop``, censored beyond), ``n_runs`` AMS runs
        of ``n_replicas`` replicas with ``reaction_coordinate`` (see
        :func:`~simulate.ams`; default minus the distance to the target).
    seed
        Master seed; each phase uses ``rep_seed(seed, phase)``, AMS run r the seed
        ``rep_seed(rep_seed(seed, 3), r)``: bit-identical for any ``n_jobs``.
    dt, level, n_jobs
        Time step, interval level, joblib workers for the ensembles (the AMS runs are
        sequential calls of :func:`~simulate.ams`, one per start point).

    Returns
    -------
    MeanTime
    """
    if method not in METHODS:
        raise ValueError(f"`method` must be one of {METHODS}, got {method!r}")
    target = resolve_set(system, target, "target")
    x0 = np.asarray(system.point(x_min), dtype=float)
    if target.contains(x0):
        raise ValueError(f"`x_min` = {x0.tolist()} lies in `target`")
    head = dict(method=method, system=system.name, eps=float(eps), dt=float(dt), seed=int(seed),
                level=level)  # fmt: skip
    if method == "brute":
        if t_max is None or not (math.isfinite(t_max) and t_max > 0):
            raise ValueError(
                f"`t_max` must be a positive time for method='brute' (a few expected mean "
                f"times; censored paths are handled), got {t_max!r}"
            )
        return _brute(system, x0, target, eps, head, n_paths, t_max, t_tail, n_jobs)
    if A is None or sigma is None:
        raise ValueError("method='ams' needs `A` (a set around x_min) and `sigma` (the set "
                         "beyond the start surface, reached before `target`)")  # fmt: skip
    A = resolve_set(system, A, "A")
    sigma = resolve_set(system, sigma, "sigma")
    if sigma.contains(x0):
        raise ValueError(f"`x_min` = {x0.tolist()} lies in `sigma`: start before the surface")
    check_disjoint([A, sigma], ["A", "sigma"], "mean_time")
    return _ams(system, x0, target, eps, head, A, sigma, reaction_coordinate, n_replicas,
                n_runs, n_loops, t_loop, n_jobs)  # fmt: skip


def _brute(system, x0, target, eps, head, n_paths, t_max, t_tail, n_jobs) -> MeanTime:
    res = ensemble(system, x0, eps, t_span=float(t_max), dt=head["dt"], n_paths=n_paths,
                   seed=head["seed"], stop={"target": target}, n_jobs=n_jobs)  # fmt: skip
    t0, t1 = res.t_span
    times, hit, ran, steps = _passages(res, "target", t0, t1)
    keep = hit | ran
    fit = censored_mean(times[keep], hit[keep], t_tail=t_tail, level=head["level"])
    status, message = fit.status, fit.message
    if res.n_nonfinite:
        status = "non_finite"
        message = f"{res.n_nonfinite} paths turned non-finite and were left out; {message}"
    return MeanTime(**head, estimate=fit.estimate, se=fit.se, ci_low=fit.ci_low,
                    ci_high=fit.ci_high, dof=math.inf, path_steps=steps, status=status,
                    message=message, parts={"passage": fit})  # fmt: skip


def _ams(system, x0, target, eps, head, A, sigma, xi, n_replicas, n_runs, n_loops, t_loop,
         n_jobs) -> MeanTime:  # fmt: skip
    seed, dt, level = head["seed"], head["dt"], head["level"]
    common = dict(t_span=float(t_loop), dt=dt, n_jobs=n_jobs)
    # T_0: x_min -> Sigma
    first = ensemble(system, x0, eps, n_paths=n_loops, seed=rep_seed(seed, 0),
                     stop={"sigma": sigma}, **common)  # fmt: skip
    t0, t1 = first.t_span
    T, hit0, ran0, steps0 = _passages(first, "sigma", t0, t1)
    first_hit = _censored_parts(T, hit0, hit0 | ran0, None, level, "time to Sigma")
    starts = first.final[hit0]
    if starts.shape[0] < 2:
        raise ValueError(f"fewer than 2 of {n_loops} paths reached `sigma` within t_loop = "
                         f"{t_loop:g}: raise t_loop")  # fmt: skip
    # loop, leg 1: Sigma -> A, conditioned on A before B (paths that reach B are left out)
    leg1 = ensemble(system, starts, eps, n_paths=starts.shape[0], seed=rep_seed(seed, 1),
                    stop={"A": A, "B": target}, **common)  # fmt: skip
    T1, in_a, ran1, steps1 = _passages(leg1, "A", t0, t1)
    n_loop_reactive = int(np.count_nonzero(leg1.stopped_in("B")))
    to_A = _censored_parts(T1, in_a, in_a | ran1, None, level, "loop leg Sigma -> A")
    entries = leg1.final[in_a]
    if entries.shape[0] < 2:
        raise ValueError(f"fewer than 2 loop paths reached `A` within t_loop = {t_loop:g}")
    # loop, leg 2: A -> Sigma; the return points start the AMS runs
    leg2 = ensemble(system, entries, eps, n_paths=entries.shape[0], seed=rep_seed(seed, 2),
                    stop={"sigma": sigma}, **common)  # fmt: skip
    T2, back, ran2, steps2 = _passages(leg2, "sigma", t0, t1)
    to_sigma = _censored_parts(T2, back, back | ran2, None, level, "loop leg A -> Sigma")
    returns = leg2.final[back]
    if returns.shape[0] < 1:
        raise ValueError(f"no loop path returned to `sigma` within t_loop = {t_loop:g}")
    loop = to_A.estimate + to_sigma.estimate
    loop_se = math.hypot(to_A.se, to_sigma.se)
    # AMS: run r from return point r (cycling), its own seed
    run_seed = rep_seed(seed, 3)
    p_r, s_r, ams_steps, failed = np.empty(n_runs), np.empty(n_runs), 0, []
    for r in range(n_runs):
        res = ams(system, A, target, eps, x0=returns[r % returns.shape[0]],
                  reaction_coordinate=xi, n_replicas=n_replicas, n_runs=1, dt=dt,
                  seed=rep_seed(run_seed, r), progress=False)  # fmt: skip
        if not res.success:
            failed.append(f"run {r}: {res.message}")
        ens = res.ensemble
        p_r[r] = res.run_estimates[0]
        s_r[r] = float(np.sum(ens.weights * ens.duration))
        ams_steps += res.path_steps
    p, s = float(p_r.mean()), float(s_r.mean())
    parts = dict(first_hit=first_hit, to_A=to_A, to_sigma=to_sigma, loop=loop,
                 loop_se=loop_se, p=p, reactive=s / p if p > 0 else math.nan, run_p=p_r,
                 run_s=s_r, n_loop_reactive=n_loop_reactive,
                 loop_steps=steps0 + steps1 + steps2, ams_steps=ams_steps)  # fmt: skip
    steps = steps0 + steps1 + steps2 + ams_steps
    if failed or not p > 0:
        why = "; ".join(failed) or f"every AMS run estimated p = 0 ({n_runs} runs): more replicas"
        return MeanTime(**head, estimate=math.nan, se=math.nan, ci_low=math.nan,
                        ci_high=math.nan, dof=math.nan, path_steps=steps, status="ams_failed",
                        message=why, parts=parts)  # fmt: skip
    # second-order (Jensen) bias of (loop + S) / p, removed: E[1/p] > 1/E[p] for the noisy p
    cov = np.cov(np.vstack([p_r, s_r])) / n_runs
    bias = (loop + s) * cov[0, 0] / p**3 - cov[0, 1] / p**2
    est = first_hit.estimate + (loop + s) / p - loop - bias
    parts["bias"] = float(bias)
    infl = (s_r - s) / p - (loop + s) * (p_r - p) / p**2
    var_ams = float(np.var(infl, ddof=1) / n_runs)
    se = math.sqrt(first_hit.se**2 + ((1 / p - 1) * loop_se) ** 2 + var_ams)
    dof = independent_dof(p_r)
    lo, hi = t_interval(est, se, dof, level, log=True)
    status = "ok"
    message = (
        f"p = {p:.4g} from {n_runs} AMS runs x {n_replicas} replicas (Kish dof {dof:.1f}), "
        f"loop {loop:.4g} ± {loop_se:.2g}, reactive {s / p:.4g}, T_0 {first_hit.estimate:.4g}"
    )
    bad = [c for c in (first_hit, to_A, to_sigma) if not c.success]
    n_nonfinite = first.n_nonfinite + leg1.n_nonfinite + leg2.n_nonfinite
    if n_nonfinite:
        status = "non_finite"
        message = f"{n_nonfinite} loop paths turned non-finite and were left out; {message}"
    elif bad:
        status, message = bad[0].status, "; ".join(c.message for c in bad)
    return MeanTime(**head, estimate=float(est), se=se, ci_low=float(lo), ci_high=float(hi),
                    dof=dof, path_steps=int(steps), status=status, message=message,
                    parts=parts)  # fmt: skip
