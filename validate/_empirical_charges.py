"""Noether charges measured on noisy paths.

The momentum p = 1/2 D(t)^{-1} (xdot - f) of a sampled path is estimated on a coarse
grid: the path is subsampled every ``window`` time units and :func:`theory.momentum`
(``at="midpoints"``) gives, on each coarse segment of duration Delta, p from the segment's
velocity and the drift at its midpoint; :func:`theory.charges` then gives H and every
Q_xi = p . xi(x) at the midpoints. The window trades noise for smoothing bias:

- Noise: the Brownian increment adds to p a term of covariance eps D^{-1} / (2 Delta), so
  a pointwise charge fluctuates by ~ sqrt(eps / Delta) and the quasi-energy is biased by
  E[p_noise^T D p_noise] = eps d / (2 Delta) (removed when ``debias=True``). Too small a
  window (Delta ~ dt) is dominated by this noise, ~ sqrt(eps / dt).
- Smoothing: a window comparable to the time scale of the path blurs its curvature
  (bias O(Delta^2)).

Path means of charges are far less noisy than pointwise values (the noise averages over
T / Delta segments); the default window is 0.05 time units (20 segments per unit time),
see :func:`window_study` for its effect.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from theory import charges, momentum
from theory._display import fields_repr

from ._statistics import normalise_weights, weighted_mean_se
from ._tubes import as_path_list

DEFAULT_WINDOW = 0.05


def coarse_momentum(system, path, t, window: float = DEFAULT_WINDOW):
    """Midpoints, midpoint times and momenta of a path coarse-grained to ``window``.

    The path (m, d) at times t (m,) is subsampled every k = max(1, round(window / dt))
    points (the last point always kept) and p = 1/2 D(t)^{-1} (xdot - f) is taken on each
    coarse segment by :func:`theory.momentum` with ``at="midpoints"``.

    Returns
    -------
    tm : (k,), xm : (k, d), p : (k, d), delta : (k,) segment durations
    """
    x = np.asarray(path, dtype=float).reshape(len(path), -1)
    t = np.asarray(t, dtype=float)
    if x.shape[0] < 2:
        raise ValueError("a path needs at least 2 points")
    dt = np.median(np.diff(t))
    k = max(1, int(round(window / dt))) if window else 1
    idx = np.arange(0, x.shape[0], k)
    if idx[-1] != x.shape[0] - 1:
        if x.shape[0] - 1 - idx[-1] < k / 2 and idx.size > 1:
            idx[-1] = x.shape[0] - 1  # merge a short tail into the last segment
        else:
            idx = np.append(idx, x.shape[0] - 1)
    xc, tc = x[idx], t[idx]
    p = momentum(system, xc, tc, at="midpoints")
    return 0.5 * (tc[1:] + tc[:-1]), 0.5 * (xc[1:] + xc[:-1]), p, np.diff(tc)


@dataclass(frozen=True)
class EmpiricalCharges:
    """Charges measured on each path of an ensemble.

    Attributes
    ----------
    names : the charges ("H" and one per generator)
    path_mean : (n, k) time average of each charge along each path
    drift : (n, k) change of each charge across each path: the least-squares slope in time
        times the path's duration (0 for a conserved charge up to noise)
    theory : dict name -> instanton value (when a reference was given)
    conserved : dict name -> whether the theory predicts conservation
    weights : (n,) normalised path weights
    window, eps, debiased : the estimator's settings
    groups : (n,) labels of dependent paths (AMS runs) for cluster-robust errors, or None
    """

    names: tuple
    path_mean: np.ndarray
    drift: np.ndarray
    weights: np.ndarray
    window: float
    eps: float | None
    debiased: bool
    theory: dict = field(default_factory=dict)
    conserved: dict = field(default_factory=dict)
    groups: np.ndarray | None = None

    def __repr__(self) -> str:
        return fields_repr(self)

    @property
    def n(self) -> int:
        return int(self.path_mean.shape[0])

    def to_frame(self) -> pd.DataFrame:
        """Tidy frame: one row per (path, charge) with its path mean, drift and weight."""
        k = len(self.names)
        return pd.DataFrame(
            {
                "path": np.repeat(np.arange(self.n), k),
                "charge": np.tile(np.array(self.names, dtype=object), self.n),
                "mean": self.path_mean.ravel(),
                "drift": self.drift.ravel(),
                "weight": np.repeat(self.weights, k),
            }
        )

    def summary(self) -> pd.DataFrame:
        """Per charge: ensemble mean of the path means (with its standard error), their
        spread (sd across paths), the mean drift (with se), the instanton's value, n, ESS."""
        mean, se, n_eff = weighted_mean_se(self.path_mean, self.weights, groups=self.groups)
        dmean, dse, _ = weighted_mean_se(self.drift, self.weights, groups=self.groups)
        w = self.weights[:, None]
        sd = np.sqrt(np.sum(w * (self.path_mean - mean) ** 2, axis=0))
        rows = []
        for j, name in enumerate(self.names):
            th = self.theory.get(name, np.nan)
            rows += [
                {
                    "charge": name,
                    "statistic": f"charge_mean_{name}",
                    "value": mean[j],
                    "se": se[j],
                    "theory": th,
                },
                {
                    "charge": name,
                    "statistic": f"charge_sd_{name}",
                    "value": sd[j],
                    "se": sd[j] / np.sqrt(2 * max(n_eff[j] - 1, 1)),
                    "theory": 0.0,
                },
                {
                    "charge": name,
                    "statistic": f"charge_drift_{name}",
                    "value": dmean[j],
                    "se": dse[j],
                    "theory": 0.0 if self.conserved.get(name, True) else np.nan,
                },
            ]
        out = pd.DataFrame(rows)
        out["n"] = self.n
        out["ess"] = float(n_eff[0])
        return out


def _path_charges(system, x, ti, window, generators, eps, debias):
    tm, xm, p, delta = coarse_momentum(system, x, ti, window)
    if tm.size < 1:
        raise ValueError("a path is too short for the coarse-graining window")
    ch = charges(system, xm, tm, generators, p=p) if tm.size > 1 else None
    if ch is None:  # one segment: theory.charges needs two points; evaluate directly
        from theory import hamiltonian

        vals = {"H": np.atleast_1d(hamiltonian(system, xm, p, tm))}
        for g in generators if generators is not None else system.generators:
            vals[g.name] = np.einsum("ki,ki->k", p, g(xm))
        names, values = list(vals), vals
    else:
        names, values = list(ch.values), ch.values
    out_mean, out_drift = [], []
    for name in names:
        v = np.asarray(values[name], dtype=float)
        if name == "H" and debias:
            v = v - eps * system.dim / (2.0 * delta)
        out_mean.append(np.sum(v * delta) / np.sum(delta))
        if tm.size > 1:
            slope = np.polyfit(tm, v, 1, w=np.sqrt(delta))[0]
            out_drift.append(slope * (ti[-1] - ti[0]))
        else:
            out_drift.append(np.nan)
    return names, out_mean, out_drift


def empirical_charges(
    system,
    paths,
    t,
    *,
    window: float = DEFAULT_WINDOW,
    eps: float | None = None,
    debias: bool = True,
    generators=None,
    weights=None,
    reference=None,
    groups=None,
) -> EmpiricalCharges:
    """Measure the quasi-energy and the Noether charges on every path of an ensemble.

    Along each path, H = p^T D p + p^T f and Q_xi = p . xi(x) are evaluated with the
    coarse-grained momentum of :func:`coarse_momentum`; per path the charge's time
    average and its drift are kept.

    Parameters
    ----------
    system
        The :class:`~simulate.System`.
    paths, t
        (n, m, d) with NaN rows after a stop and times (m,), or lists of (m_i, d) paths
        and their times (reactive segments).
    window
        Coarse-graining window in time units (default 0.05; see the module docstring).
    eps
        Noise level of the paths; needed for ``debias``.
    debias
        Subtract the noise bias eps d / (2 Delta) of H on each segment.
    generators
        Generators whose charges are measured (default: the system's).
    weights
        Path weights (importance sampling, AMS); default uniform.
    reference
        A :class:`theory.Instanton` whose (path-mean) charges are the theoretical values.
    groups
        (n,) labels of dependent paths (the AMS run of each replica): standard errors are
        cluster-robust over the groups.
    """
    if debias and eps is None:
        raise ValueError("`debias=True` needs the noise level `eps`")
    if not (window is None or (np.isfinite(window) and window > 0)):
        raise ValueError(f"`window` must be positive, got {window!r}")
    plist, tlist = as_path_list(paths, t)
    if tlist is None:
        raise ValueError("`t` is required")
    n = len(plist)
    w = normalise_weights(weights, n)
    names = None
    means, drifts = [], []
    for x, ti in zip(plist, tlist, strict=True):
        nm, mu, dr = _path_charges(system, x, ti, window, generators, eps, debias)
        names = names or nm
        means.append(mu)
        drifts.append(dr)
    theory_values, conserved = {}, {"H": bool(system.autonomous)}
    for g in generators if generators is not None else system.generators:
        conserved[g.name] = bool(getattr(g, "exact", True))
    if reference is not None and getattr(reference, "charges", None) is not None:
        for name, v in reference.charges.values.items():
            theory_values[name] = float(np.mean(v))
    return EmpiricalCharges(
        names=tuple(names),
        path_mean=np.asarray(means, dtype=float),
        drift=np.asarray(drifts, dtype=float),
        weights=w,
        window=float(window) if window else 0.0,
        eps=None if eps is None else float(eps),
        debiased=bool(debias),
        theory=theory_values,
        conserved=conserved,
        groups=None if groups is None else np.asarray(groups),
    )


def window_study(
    system, paths, t, windows, *, eps: float, weights=None, generators=None, reference=None
) -> pd.DataFrame:
    """The effect of the coarse-graining window: for each window, every charge's ensemble
    mean (with se) and spread across paths, with and without the H debiasing. Tidy frame
    with columns window, debias, charge, statistic, value, se, theory, n."""
    frames = []
    for win in windows:
        for debias in (False, True):
            ec = empirical_charges(
                system,
                paths,
                t,
                window=win,
                eps=eps,
                debias=debias,
                generators=generators,
                weights=weights,
                reference=reference,
            )
            s = ec.summary()
            s.insert(0, "debias", debias)
            s.insert(0, "window", win)
            frames.append(s)
    return pd.concat(frames, ignore_index=True)
