"""Samplers of conditioned ensembles, picked by name in :func:`validate.noise_sweep`.

A sampler is a small object with ``sample(system, eps, n_paths, seed) -> Sample``; the
registry :data:`SAMPLERS` maps the names ``"endpoint"``, ``"reactive"`` and ``"ams"`` to
the classes (instances are accepted directly too).

- :class:`Endpoint`: Euler–Maruyama paths from x0, kept when they end in a target. Two
  rules: fixed time (state at T in ``target``), or absorption (``target`` absorbs, with
  the other ``absorbing`` sets; kept when absorbed in ``target`` at a time in
  ``window``). With ``guide`` (an instanton, or a path (m, d) on [t0, t0 + T]) the
  paths are simulated with the added control u_k = (phi_{k+1} - phi_k)/dt - f(phi_k, t_k)
  that makes the noiseless chain follow phi, and reweighted by the exact likelihood
  ratio of the Euler–Maruyama transition densities (importance sampling): this reaches
  small eps where plain rejection accepts nothing.
- :class:`Reactive`: A -> B reactive segments from :func:`simulate.transitions`.
- :class:`AMS`: adaptive multilevel splitting, :func:`simulate.ams` (weighted).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numba as nb
import numpy as np

import simulate
from simulate import Status, System, ensemble
from simulate._driver import grid_steps, save_stride
from simulate._numba_types import DRIFT_SIGNATURE
from simulate._sets import resolve_set
from theory._display import fields_repr

from ._statistics import independent_dof, run_mean_interval


@dataclass(frozen=True)
class Sample:
    """A conditioned ensemble, the input of every validation statistic.

    Attributes
    ----------
    paths : (n, m, d) array with NaN rows after a stop, or a list of (m_i, d) arrays
    t : (m,) array, or a list of (m_i,) arrays
    weights : (n,) or None (uniform)
    probability, probability_se : estimate of the conditioning event's probability
    n_trials : paths simulated (or AMS replicas)
    align : "time" (common clock) or "progress" (reactive segments)
    duration : (n,) duration of each path (absorption time, reactive duration)
    groups : (n,) labels of dependent paths (the AMS run of each replica) or None; the
        bootstrap resamples whole groups
    probability_ci : 95 % interval of ``probability`` when it is not p ± 1.96 se (AMS:
        :func:`validate._statistics.run_mean_interval`), else None
    log_probability_se, log_probability_dof : standard error of log P and its degrees of
        freedom (AMS: from the logs of the run estimates), else None (se / p, normal)
    dof : degrees of freedom of the run-clustered standard errors of path statistics:
        for AMS the Kish effective number of runs minus one
        (:func:`validate._statistics.independent_dof`); None: many independent paths
    """

    paths: object
    t: object
    weights: np.ndarray | None
    probability: float
    probability_se: float
    n_trials: int
    align: str
    eps: float
    duration: np.ndarray | None = None
    meta: dict = field(default_factory=dict)
    groups: np.ndarray | None = None
    probability_ci: tuple | None = None
    log_probability_se: float | None = None
    log_probability_dof: float | None = None
    dof: float | None = None

    def __repr__(self) -> str:
        return fields_repr(self)

    @property
    def n(self) -> int:
        return len(self.paths)


def guided_system(system: System, control: np.ndarray, t0: float, dt: float) -> System:
    """``system`` with the added time-dependent drift u(t) = control[k], k = round((t-t0)/dt)
    (clipped to the table), the control table carried after the system's own params."""
    base = system.drift
    k0 = system.params.size
    n_ctl, d = control.shape

    @nb.njit(DRIFT_SIGNATURE, cache=False)
    def drift(x, t, p, out):
        base(x, t, p, out)
        k = int(round((t - p[k0]) / p[k0 + 1]))
        k = min(max(k, 0), n_ctl - 1)
        for j in range(d):
            out[j] += p[k0 + 2 + k * d + j]

    params = np.concatenate([system.params, [t0, dt], control.ravel()])
    return System(
        drift=drift,
        D=system.D,
        params=params,
        schedule=system.schedule,
        autonomous=False,
        name=f"{system.name}+guide",
        dim=system.dim,
        probe=system.probe,
        t_span=system.t_span,
    )


def log_likelihood_ratio(system, paths, t, control, eps) -> np.ndarray:
    """log dP/dQ of Euler–Maruyama paths (n, m, d) simulated with the added control
    u_k (m - 1, d): sum_k [|r_k - u_k dt|^2 - |r_k|^2]_{Sigma_k^{-1}} / 2 with
    r_k = x_{k+1} - x_k - f(x_k, t_k) dt and Sigma_k = 2 eps d(t_k) D dt."""
    n, m, d = paths.shape
    dt = np.diff(t)
    f = system.f(paths[:, :-1], t[:-1])
    r = np.diff(paths, axis=1) - f * dt[None, :, None]
    rq = r - control[None] * dt[None, :, None]
    Dinv = system.D_inv
    scale = 2 * eps * np.asarray(system.diffusion_scale(t[:-1])) * dt
    a = np.einsum("nki,ij,nkj->nk", rq, Dinv, rq)
    b = np.einsum("nki,ij,nkj->nk", r, Dinv, r)
    return np.sum((a - b) / (2 * scale[None, :]), axis=1)


def window_at(window, exponent: float, eps: float) -> tuple[float, float]:
    """The absorption-time window (t_hi - (t_hi - t_lo) eps^exponent, t_hi) at noise eps:
    ``window`` itself at eps = 1 or exponent 0."""
    lo, hi = (float(v) for v in window)
    if not (exponent >= 0 and eps > 0 and lo <= hi):
        raise ValueError(
            f"`window_exponent` must be >= 0 with eps > 0 and t_lo <= t_hi, got "
            f"{exponent!r}, eps {eps!r}, window {window!r}"
        )
    return hi - (hi - lo) * float(eps) ** float(exponent), hi


@dataclass(frozen=True)
class Endpoint:
    """Paths from ``x0`` kept when they end in ``target`` (see the module docstring).

    Parameters
    ----------
    x0 : start point or state name
    T : duration (the paths run on [t0, t0 + T])
    target : StopSet or set name (fixed time: membership of the state at T), or a function
        eps -> StopSet (e.g. a ball whose radius shrinks with the tube, ~ sqrt(eps))
    dt : Euler–Maruyama step
    window : (t_lo, t_hi) absorption-time window (absorption rule), or None (fixed time)
    window_exponent : k >= 0; the window at noise eps is (t_hi - (t_hi - t_lo) eps^k, t_hi)
        (:func:`window_at`), so with k > 0 it shrinks onto t_hi as eps -> 0
    absorbing : other absorbing sets (absorption rule)
    snap : replace the last point of a kept path by this point at the interpolated
        absorption time (e.g. the boundary point of the target)
    guide : instanton or path (k, d) for importance sampling (fixed time only)
    save : keep every k-th step of the paths (an integer k, or "all" for k = 1; the
        sampler keeps paths, so "final" is refused)
    """

    x0: object
    T: float
    target: object
    dt: float = 0.01
    window: tuple | None = None
    window_exponent: float = 0.0
    absorbing: tuple = ()
    snap: object = None
    guide: object = None
    save: int | str = "all"
    t0: float = 0.0
    bridge: bool = True

    def _stride(self) -> int:
        stride = save_stride(self.save)
        if stride == 0:
            raise ValueError("`save` must be 'all' or an integer k: this sampler keeps paths")
        return stride

    def sample(self, system, eps, n_paths, seed, n_jobs: int = 1) -> Sample:
        target = self.target(eps) if callable(self.target) else self.target
        target = resolve_set(system, target, "target")
        t0, T = float(self.t0), float(self.T)
        if self.window is None:
            return self._fixed_time(system, target, eps, n_paths, seed, n_jobs)
        if self.guide is not None:
            raise ValueError("`guide` is supported with the fixed-time rule only")
        stop = {"target": target}
        for k, s in enumerate(self.absorbing):
            stop[f"absorbing{k}"] = resolve_set(system, s, "absorbing")
        res = ensemble(
            system,
            self.x0,
            eps,
            t_span=(t0, t0 + T),
            dt=self.dt,
            n_paths=n_paths,
            seed=seed,
            save=self._stride(),
            stop=stop,
            bridge=self.bridge,
            n_jobs=n_jobs,
        )
        lo, hi = window_at(self.window, self.window_exponent, eps)
        keep = res.stopped_in("target") & (res.stop_time >= lo) & (res.stop_time <= hi)
        paths = res.paths[keep].copy()
        t = res.t
        plist, tlist = [], []
        for x, ts in zip(paths, res.stop_time[keep], strict=True):
            ok = np.all(np.isfinite(x), axis=1)
            m = int(ok.sum())
            xi, ti = x[:m].copy(), t[:m].copy()
            if self.snap is not None:
                xi[-1] = system.point(np.atleast_1d(np.asarray(self.snap, dtype=float)))
                ti[-1] = max(ts, ti[-2] + 1e-12)
            plist.append(xi)
            tlist.append(ti)
        p = keep.mean()
        return Sample(
            paths=plist,
            t=tlist,
            weights=None,
            probability=float(p),
            probability_se=float(np.sqrt(p * (1 - p) / n_paths)),
            n_trials=n_paths,
            align="time",
            eps=float(eps),
            duration=res.stop_time[keep] - t0,
            meta={"t_grid": t},
        )

    def _fixed_time(self, system, target, eps, n_paths, seed, n_jobs) -> Sample:
        t0, T = float(self.t0), float(self.T)
        n_steps = max(1, int(grid_steps(T, self.dt)))
        dt = T / n_steps
        run_system, control = system, None
        if self.guide is not None:
            g = self.guide
            gp = np.asarray(g.path if hasattr(g, "path") else g, dtype=float)
            gt = np.asarray(g.t, float) if hasattr(g, "t") else np.linspace(t0, t0 + T, len(gp))
            tg = t0 + dt * np.arange(n_steps + 1)
            phi = np.column_stack([np.interp(tg, gt, gp[:, j]) for j in range(system.dim)])
            control = np.diff(phi, axis=0) / dt - system.f(phi[:-1], tg[:-1])
            control = np.ascontiguousarray(control)
            run_system = guided_system(system, control, t0, dt)
        res = ensemble(
            run_system,
            system.point(self.x0),
            eps,
            t_span=(t0, t0 + T),
            dt=dt,
            n_paths=n_paths,
            seed=seed,
            save=1 if control is not None else self._stride(),
            n_jobs=n_jobs,
        )
        keep = target.contains(res.final) & (res.path_status == Status.RUNNING)
        paths, t = res.paths[keep], res.t
        p = float(keep.mean())
        weights, p_se = None, float(np.sqrt(p * (1 - p) / n_paths))
        if control is not None:
            logw = log_likelihood_ratio(system, paths, t, control, eps)
            shift = logw.max() if logw.size else 0.0
            weights = np.exp(logw - shift)
            all_w = np.zeros(n_paths)
            all_w[keep] = weights
            scale = np.exp(shift)
            p = float(all_w.mean() * scale)
            p_se = float(all_w.std(ddof=1) / np.sqrt(n_paths) * scale)
            if self._stride() > 1:
                paths, t = paths[:, :: self._stride()], t[:: self._stride()]
        return Sample(
            paths=paths,
            t=t,
            weights=weights,
            probability=p,
            probability_se=p_se,
            n_trials=n_paths,
            align="time",
            eps=float(eps),
            duration=np.full(int(keep.sum()), T),
        )


def _from_transitions(res, eps, probability, probability_se, **fields) -> Sample:
    plist, tlist = [], []
    for s in range(res.n_segments):
        ts, xs = res.segment(s)
        plist.append(np.asarray(xs))
        tlist.append(np.asarray(ts))
    w = np.asarray(res.weights, dtype=float)
    return Sample(
        paths=plist,
        t=tlist,
        weights=None if w.size == 0 or np.all(w == w[0]) else w,
        probability=probability,
        probability_se=probability_se,
        n_trials=int(res.attempts),
        align="progress",
        eps=float(eps),
        duration=np.asarray(res.duration),
        meta={"method": res.method},
        **fields,
    )


@dataclass(frozen=True)
class Reactive:
    """Reactive A -> B segments from :func:`simulate.transitions` (one per path)."""

    A: object
    B: object
    x0: object
    dt: float = 1e-3
    t_span: object = 1e4
    options: dict = field(default_factory=dict)

    def sample(self, system, eps, n_paths, seed, n_jobs: int = 1) -> Sample:
        res = simulate.transitions(
            system,
            self.A,
            self.B,
            eps,
            x0=self.x0,
            n_paths=n_paths,
            dt=self.dt,
            t_span=self.t_span,
            seed=seed,
            n_jobs=n_jobs,
            **self.options,
        )
        return _from_transitions(res, eps, np.nan, np.nan)


@dataclass(frozen=True)
class AMS:
    """Adaptive multilevel splitting, :func:`simulate.ams`: weighted reactive segments and
    the probability of reaching B before returning to A.

    The sampler protocol's ``n_paths`` is AMS's ``n_replicas`` (replicas per run); the
    number of independent runs is ``options["n_runs"]`` (simulate.ams's default if absent).
    ``Sample.n_trials`` counts every replica the runs created (initial ones and clones)."""

    A: object
    B: object
    x0: object
    dt: float = 1e-3
    options: dict = field(default_factory=dict)

    def sample(self, system, eps, n_paths, seed, n_jobs: int = 1) -> Sample:
        res = simulate.ams(
            system,
            self.A,
            self.B,
            eps,
            n_replicas=n_paths,
            x0=self.x0,
            dt=self.dt,
            seed=seed,
            n_jobs=n_jobs,
            **self.options,
        )
        ens = res.ensemble
        # replicas of one run descend from common ancestors: bootstrap whole runs, and
        # take the probability's interval from the spread of the independent runs
        # (runs stopped at max_iter carry NaN: out of the estimate, simulate warned)
        runs = np.asarray(res.run_estimates, dtype=float)
        runs = runs[np.isfinite(runs)]
        fields = {"groups": np.asarray(ens.source)}
        if runs.size:
            lo, hi, log_se, log_dof = run_mean_interval(runs)
            fields |= {
                "probability_ci": (lo, hi),
                "log_probability_se": log_se,
                "log_probability_dof": log_dof,
                "dof": independent_dof(runs),
            }
        sample = _from_transitions(ens, eps, res.probability, res.probability_se, **fields)
        sample.meta.update(status=res.status, success=res.success, message=res.message)
        return sample


SAMPLERS = {"endpoint": Endpoint, "reactive": Reactive, "ams": AMS}


def make_sampler(sampler, **options):
    """A sampler from its name and options, or a sampler instance as is."""
    if hasattr(sampler, "sample"):
        if options:
            raise ValueError("`sampler_options` apply only when `sampler` is a name")
        return sampler
    if sampler not in SAMPLERS:
        raise ValueError(f"`sampler` must be one of {list(SAMPLERS)} or a sampler, got {sampler!r}")
    return SAMPLERS[sampler](**options)
