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
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ._driver import DEFAULT_MEMORY_BUDGET, check_system, grid_steps
from ._ensemble import EnsembleResult, ensemble
from ._sets import StopSet, resolve_set
from ._status import RUNNING, STOPPED, Status
from ._system import System

_TIME_RULES = ("interpolated", "grid")


@dataclass(frozen=True, repr=False)
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
    status, success, message
        Those of the ensemble (``OK`` unless some path turned non-finite).
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
        t_end = np.where(e.path_status == RUNNING, e.t_span[1], e.stop_time)
        return int(grid_steps(np.nan_to_num(t_end, nan=e.t_span[1]) - e.t_span[0], e.dt).sum())

    @property
    def status(self) -> Status:
        return self.ensemble.status

    @property
    def success(self) -> bool:
        return self.ensemble.success

    @property
    def message(self) -> str:
        return self.ensemble.message

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
                    "status": [self.status.name],
                    "success": [self.success],
                    "message": [self.message],
                }
            )
        if kind not in ("final", "paths"):
            raise ValueError(f"`kind` must be 'summary', 'final' or 'paths', got {kind!r}")
        frame = self.ensemble.to_frame(kind)
        keep = np.flatnonzero(self.accepted)
        frame = frame[frame["path"].isin(keep)].reset_index(drop=True)
        if kind == "final":
            frame["hit_time"] = self.hit_time[frame["path"].to_numpy()]
        return frame

    def __repr__(self) -> str:
        e = self.ensemble
        rule = "fixed time" if self.window is None else f"window {self.window}"
        return (
            f"ConditionedResult({e.system!r}, {self.n_accepted} of {self.n_paths} paths "
            f"accepted ({rule}, {self.time_rule} time),\n"
            f"  acceptance = {self.acceptance:.4g} ± {self.acceptance_se:.2g}, "
            f"eps = {e.eps:g}, dt = {e.dt:g}, status {self.status.name})"
        )


def condition(
    system: System,
    x0: Sequence[float] | np.ndarray | str,
    target: StopSet | str,
    eps: float,
    *,
    window: tuple[float, float] | None = None,
    t_span: tuple[float, float] | float | None = None,
    absorbing=None,
    n_paths: int = 1000,
    dt: float = 1e-3,
    seed: int = 0,
    time: str = "interpolated",
    bridge: bool = True,
    save: str | int = "final",
    n_jobs: int = 1,
    n_threads: int | None = None,
    chunk_size: int | None = None,
    memory_budget: float = DEFAULT_MEMORY_BUDGET,
    progress: bool | None = None,
) -> ConditionedResult:
    """Simulate ``n_paths`` paths and keep those that end in ``target`` (in a time window).

    Parameters
    ----------
    system, x0, eps, dt, n_paths, seed, bridge, save
        As for :func:`~simulate.ensemble`, which runs the paths (the calling convention
        shared by every sampler is in ``docs/sampling.md``).
    n_jobs, n_threads, chunk_size, memory_budget, progress
        Passed on to :func:`~simulate.ensemble` (workers, threads, chunking, the memory
        refusal and the progress bar).
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
    >>> res = condition(dd, [0.5], Interval(-float("inf"), -1.0), 1.0, window=(0.95, 1.0),
    ...                 absorbing=Interval(1.0, float("inf")), n_paths=2000, dt=0.025)
    >>> 0.0 <= res.acceptance < 0.05
    True
    """
    import time as _time

    check_system(system)
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
        eps,
        t_span=t_span,
        dt=dt,
        n_paths=n_paths,
        seed=seed,
        save=save,
        stop=stop,
        bridge=bridge,
        n_jobs=n_jobs,
        n_threads=n_threads,
        chunk_size=chunk_size,
        memory_budget=memory_budget,
        progress=progress,
    )
    t0, t1 = ens.t_span
    if window is not None:
        in_target = (ens.path_status == STOPPED) & (ens.stop_set == 0)
        hit = np.where(in_target, ens.stop_time, np.nan)
        if time == "grid":  # the step at which the engine saw the path inside (or crossed)
            hit = t0 + grid_steps(hit - t0, ens.dt) * ens.dt
        accepted = in_target & (hit >= lo - 1e-12) & (hit <= hi + 1e-12)
    else:
        accepted = (ens.path_status == RUNNING) & target.contains(ens.final)
        hit = np.where(accepted, t1, np.nan)
    return ConditionedResult(
        ensemble=ens,
        accepted=accepted,
        hit_time=hit,
        window=None if window is None else (lo, hi),
        time_rule=time,
        wall_time=_time.perf_counter() - start,
    )
