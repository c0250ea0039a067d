"""Endpoint and time-window conditioning: keep the paths that end in a set.

Two rules, both built on :func:`~simulate.ensemble` (so paths, streams and the bridge
test are the engine's own):

- **time window** ``window=(t_lo, t_hi)``: the target set absorbs; a path is accepted
  when it is absorbed in ``target`` (before any of the other ``absorbing`` sets) at a
  time in ``[t_lo, t_hi]``. The hitting time is either the engine's ``stop_time``
  (``time="interpolated"``: linear interpolation of the distance to the boundary within
  the step, or the bridge-crossing step) or the first grid time at which the path is seen
  inside (``time="grid"``, as a grid-monitored experiment would record it).
- **fixed time** ``window=None``: nothing but ``absorbing`` stops the paths; a path is
  accepted when its state at the final time T lies in ``target``.

The acceptance rate p_hat = n_accepted / n_paths carries the binomial standard error
sqrt(p_hat (1 - p_hat) / n_paths).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ._euler_maruyama import RUNNING, STOPPED, EnsembleResult, ensemble
from ._sets import StopSet, resolve_set
from ._system import System

_TIME_RULES = ("interpolated", "grid")


@dataclass(frozen=True)
class ConditionedResult:
    """Paths of an ensemble conditioned on their end.

    Attributes
    ----------
    ensemble
        The whole unconditioned ensemble (its ``paths`` if they were saved).
    accepted
        Boolean mask (n_paths,) of the paths that satisfy the condition.
    hit_time
        Time at which each path met the target under the chosen rule (NaN if never;
        the final time for the fixed-time rule).
    window
        ``(t_lo, t_hi)``, or None for the fixed-time rule.
    time_rule
        ``"interpolated"`` or ``"grid"`` (see the module docstring).
    wall_time
        Seconds spent.
    """

    ensemble: EnsembleResult
    accepted: np.ndarray
    hit_time: np.ndarray
    window: tuple[float, float] | None
    time_rule: str
    wall_time: float

    @property
    def n_paths(self) -> int:
        return int(self.accepted.size)

    @property
    def n_accepted(self) -> int:
        return int(np.count_nonzero(self.accepted))

    @property
    def acceptance(self) -> float:
        return self.n_accepted / self.n_paths

    @property
    def acceptance_se(self) -> float:
        """Binomial standard error sqrt(p (1 - p) / n) of :attr:`acceptance`."""
        p = self.acceptance
        return math.sqrt(p * (1.0 - p) / self.n_paths)

    @property
    def path_steps(self) -> int:
        """Euler–Maruyama steps taken (each path until it stopped or ran to the end)."""
        e = self.ensemble
        t_end = np.where(e.status == RUNNING, e.t_span[1], e.stop_time)
        steps = np.ceil((np.nan_to_num(t_end, nan=e.t_span[1]) - e.t_span[0]) / e.dt - 1e-9)
        return int(steps.sum())

    @property
    def paths(self) -> np.ndarray:
        """Saved states of the accepted paths (n_accepted, n_saved, d)."""
        if not self.ensemble.t.size:
            raise ValueError("no paths were saved: call with save='all' or save=k")
        return self.ensemble.paths[self.accepted]

    def to_frame(self, kind: str = "summary") -> pd.DataFrame:
        """``"summary"``: one row (attempts, accepted, rate and its standard error, wall
        time); ``"final"``: one row per accepted path (final state, hit time);
        ``"paths"``: one row per accepted path and saved time."""
        if kind == "summary":
            lo, hi = self.window if self.window is not None else (np.nan, np.nan)
            return pd.DataFrame(
                {
                    "system": [self.ensemble.system],
                    "eps": [self.ensemble.eps],
                    "dt": [self.ensemble.dt],
                    "bridge": [self.ensemble.bridge],
                    "time_rule": [self.time_rule],
                    "t_lo": [lo],
                    "t_hi": [hi],
                    "attempts": [self.n_paths],
                    "successes": [self.n_accepted],
                    "acceptance": [self.acceptance],
                    "acceptance_se": [self.acceptance_se],
                    "wall_time": [self.wall_time],
                }
            )
        frame = self.ensemble.to_frame(kind)
        keep = np.flatnonzero(self.accepted)
        frame = frame[frame["path"].isin(keep)].reset_index(drop=True)
        if kind == "final":
            frame["hit_time"] = self.hit_time[frame["path"].to_numpy()]
        return frame


def condition(
    system: System,
    eps: float,
    target: StopSet | str,
    x0,
    window: tuple[float, float] | None = None,
    t_span: tuple[float, float] | float | None = None,
    absorbing=None,
    n_paths: int = 1000,
    dt: float = 1e-3,
    seed: int = 0,
    time: str = "interpolated",
    bridge: bool = False,
    save: str | int = "final",
    **ensemble_kwargs,
) -> ConditionedResult:
    """Simulate ``n_paths`` paths and keep those that end in ``target`` (in a time window).

    Parameters
    ----------
    system, eps, x0, dt, seed, bridge, save
        As for :func:`~simulate.ensemble` (``ensemble_kwargs`` are passed on too:
        ``n_jobs``, ``n_threads``, ``chunk_size``, ``memory_budget``, ``progress``).
    target
        The set the paths must end in: a :class:`StopSet` or the name of one of the
        system's sets.
    window
        ``(t_lo, t_hi)``: accept the paths absorbed in ``target`` at a time in
        ``[t_lo, t_hi]``; the simulation runs over ``[t0, t_hi]`` with ``t0`` from
        ``t_span`` (default 0). ``None``: fixed-time rule, accept the paths in ``target``
        at the final time of ``t_span`` (``target`` does not absorb then).
    absorbing
        Other sets that stop paths (a set, a name, or a list of them); a path absorbed
        there is rejected. For the paper's drift-diffusion experiment: the upper bound.
    time
        ``"interpolated"`` (the engine's within-step hitting time) or ``"grid"`` (the
        first grid time at which the path is inside, or just after a bridge crossing).

    Examples
    --------
    >>> from simulate import zoo, Interval
    >>> dd = zoo.drift_diffusion()
    >>> res = condition(dd, 1.0, Interval(-float("inf"), -1.0), [0.5], window=(0.95, 1.0),
    ...                 absorbing=Interval(1.0, float("inf")), n_paths=2000, dt=0.025)
    >>> 0.0 <= res.acceptance < 0.05
    True
    """
    import time as _time

    if not isinstance(system, System):
        raise ValueError(f"`system` must be a System, got {type(system).__name__}")
    if time not in _TIME_RULES:
        raise ValueError(f"`time` must be one of {_TIME_RULES}, got {time!r}")
    target = resolve_set(system, target, "target")
    if absorbing is None:
        others = []
    elif isinstance(absorbing, (StopSet, str)):
        others = [absorbing]
    else:
        others = list(absorbing)
    if window is not None:
        lo, hi = (float(v) for v in window)
        if not (np.isfinite(lo) and np.isfinite(hi) and lo <= hi):
            raise ValueError(f"`window` must be finite with t_lo <= t_hi, got {window}")
        t0 = 0.0
        if t_span is not None:
            t0 = float(t_span[0]) if np.ndim(t_span) else 0.0
        if hi <= t0:
            raise ValueError(f"`window` ends at {hi}, not after the start time {t0}")
        t_span = (t0, hi)
        stop = {"target": target} | {f"absorbing{k}": s for k, s in enumerate(others)}
    else:
        stop = {f"absorbing{k}": s for k, s in enumerate(others)} or None
    start = _time.perf_counter()
    ens = ensemble(
        system,
        x0,
        t_span=t_span,
        dt=dt,
        eps=eps,
        n_paths=n_paths,
        seed=seed,
        save=save,
        stop=stop,
        bridge=bridge,
        **ensemble_kwargs,
    )
    t0, t1 = ens.t_span
    if window is not None:
        in_target = (ens.status == STOPPED) & (ens.stop_set == 0)
        hit = np.where(in_target, ens.stop_time, np.nan)
        if time == "grid":  # the step at which the engine saw the path inside (or crossed)
            hit = t0 + np.ceil((hit - t0) / ens.dt - 1e-9) * ens.dt
        accepted = in_target & (hit >= lo - 1e-12) & (hit <= hi + 1e-12)
    else:
        accepted = (ens.status == RUNNING) & target.contains(ens.final)
        hit = np.where(accepted, t1, np.nan)
    return ConditionedResult(
        ensemble=ens,
        accepted=accepted,
        hit_time=hit,
        window=None if window is None else (lo, hi),
        time_rule=time,
        wall_time=_time.perf_counter() - start,
    )
