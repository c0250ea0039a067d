"""Noether charges along a path: the quasi-energy H and Q_xi = p . xi(x) per generator.

A generator xi(x) = A x + b is a symmetry when [xi, f] = 0 (Df(x) xi(x) = A f(x)) and
A D + D A^T = 0; then Q_xi = p . (A x + b) is conserved along every instanton. For an
autonomous system H = p^T D p + p^T f is conserved too (docs/conventions.md, section 4).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ._action import momentum
from ._display import block
from ._inputs import as_path, as_times


def drift_of(values: np.ndarray, atol: float = 1e-12) -> tuple[float, float]:
    """(absolute, relative) drift of a charge: max - min, and that over max(|mean|, atol)."""
    values = np.asarray(values, dtype=float)
    spread = float(np.max(values) - np.min(values))
    scale = max(float(np.abs(np.mean(values))), atol)
    return spread, spread / scale


@dataclass(frozen=True)
class Charges:
    """Charges along one path.

    Attributes
    ----------
    t : numpy.ndarray
        Times (n,).
    values : dict[str, numpy.ndarray]
        Each charge's value at every time; ``"H"`` is the quasi-energy.
    conserved : dict[str, bool]
        Whether the theory predicts conservation (H: autonomous system; a generator:
        an exact symmetry).
    drift : dict[str, float]
        max - min of each charge along the path.
    relative_drift : dict[str, float]
        drift / |mean| (the mean floored at 1e-12, so a zero charge reports ~ its drift).
    scale : dict[str, float]
        The largest magnitude, along the path, of the terms summed into each charge:
        max(|p^T D p|, |p^T f|) for H, max_i |p_i xi_i(x)| for Q_xi.
    scaled_drift : dict[str, float]
        drift / scale: how well the charge is conserved relative to the terms that make
        it, meaningful where the charge itself is (nearly) zero and ``relative_drift``
        only measures the cancellation (H of a long-T instanton: |H| ~ 1e-6 from terms
        ~ 1).
    """

    t: np.ndarray
    values: dict
    conserved: dict
    drift: dict = field(default_factory=dict)
    relative_drift: dict = field(default_factory=dict)
    scale: dict = field(default_factory=dict)
    scaled_drift: dict = field(default_factory=dict)

    def __repr__(self) -> str:
        n = self.t.size
        span = f"t in [{self.t[0]:.6g}, {self.t[-1]:.6g}]" if n else "no points"
        rows = [
            f"{k}: mean {self.mean(k):.8g}, drift {self.drift[k]:.2g}"
            f" (relative {self.relative_drift[k]:.2g}),"
            f" {'conserved' if self.conserved[k] else 'not conserved'} in theory"
            for k in self.values
        ]
        return block(f"Charges({n} points, {span})", rows, "more charges")

    def holds(self, tol: float) -> dict:
        """Whether each charge is conserved within ``tol``: predicted by theory
        (``conserved``) and its drift at most ``tol`` times the terms that make it
        (``scaled_drift``; the relative drift of a charge near zero only measures the
        cancellation). A charge the theory conserves but whose drift exceeds ``tol`` is
        not called conserved."""
        if not (np.isfinite(tol) and tol >= 0):
            raise ValueError(f"`tol` must be finite and >= 0, got {tol!r}")
        return {k: bool(self.conserved[k] and self.scaled_drift[k] <= tol) for k in self.values}

    def mean(self, name: str) -> float:
        """The mean of charge ``name`` along the path."""
        return float(np.mean(self.values[name]))

    def summary(self) -> pd.DataFrame:
        """One row per charge: mean, drift, relative and scaled drift, and whether it should
        be conserved."""
        return pd.DataFrame(
            [
                {
                    "charge": k,
                    "mean": self.mean(k),
                    "drift": self.drift[k],
                    "relative_drift": self.relative_drift[k],
                    "scaled_drift": self.scaled_drift.get(k, np.nan),
                    "conserved": self.conserved[k],
                }
                for k in self.values
            ]
        )

    def to_frame(self) -> pd.DataFrame:
        """Tidy frame: one row per (time, charge) with its value and the charge's drift."""
        rows = []
        for k, v in self.values.items():
            rows.append(
                pd.DataFrame(
                    {
                        "t": self.t,
                        "charge": k,
                        "value": v,
                        "relative_drift": self.relative_drift[k],
                        "conserved": self.conserved[k],
                    }
                )
            )
        return pd.concat(rows, ignore_index=True)


def charges(system, path, t, generators=None, *, p=None) -> Charges:
    """The quasi-energy and Noether charges of a path.

    H = p^T D(t) p + p^T f(x, t) and, for every generator xi(x) = A x + b,
    Q_xi = p . xi(x) (e.g. L_ij = x_i p_j - x_j p_i for a rotation), with
    p = 1/2 D(t)^{-1} (xdot - f) the conjugate momentum.

    Parameters
    ----------
    system
        The :class:`~simulate.System`.
    path, t
        Points (n, d) and strictly increasing times (n,).
    generators
        ``None`` (the system's declared generators), ``"discover"`` (those found by
        :func:`find_symmetries`), or a sequence of :class:`~simulate.Generator`.
    p
        The momenta (n, d) if known (an instanton carries them); by default they are
        estimated from the path by second-order differences (:func:`momentum`).

    Returns
    -------
    Charges
        Values along the path and each charge's drift; ``.to_frame()`` is tidy.
    """
    X = as_path(system, path)
    t = as_times(t, X.shape[0])
    if p is None:
        P = momentum(system, X, t)
    else:
        P = np.asarray(p, dtype=float).reshape(X.shape)
    if isinstance(generators, str):
        if generators != "discover":
            raise ValueError(
                f"`generators` must be None, 'discover' or generators, got {generators!r}"
            )
        from ._symmetries import find_symmetries

        generators = find_symmetries(system).generators
    return charges_of(system, X, P, t, generators=generators)


def charges_of(system, X, P, t, *, at=None, H=None, H_scale=None, generators=None) -> Charges:
    """The charges of points X (n, d) with momenta P (n, d), stored against t (n,): H
    (given, e.g. a discrete energy or another Lagrangian's Hamiltonian, with the
    magnitude ``H_scale`` of its terms when known; else p^T D(tau) p + p^T f(x, tau) at
    the times ``at``, default t) and p . xi(x) for every generator (default: the
    system's), with their drifts and term scales (:class:`Charges`)."""
    at = t if at is None else at
    taus = np.broadcast_to(np.asarray(at, dtype=float), (X.shape[0],))
    kinetic = system.diffusion_scale(taus) * np.einsum("ki,ij,kj->k", P, system.D, P)
    work = np.einsum("ki,ki->k", P, system.f(X, taus))
    values = {"H": kinetic + work if H is None else np.asarray(H, dtype=float)}
    terms = {"H": np.maximum(np.abs(kinetic), np.abs(work)) if H_scale is None else H_scale}
    conserved = {"H": bool(system.autonomous)}
    for g in system.generators if generators is None else generators:
        parts = P * g(X)
        values[g.name] = parts.sum(axis=1)
        terms[g.name] = np.max(np.abs(parts), axis=1)
        conserved[g.name] = bool(getattr(g, "exact", True))
    drift, rel, scale, scaled = {}, {}, {}, {}
    for k, v in values.items():
        drift[k], rel[k] = drift_of(v)
        scale[k] = float(np.max(terms[k]))
        scaled[k] = drift[k] / max(scale[k], 1e-300)
    return Charges(
        t=np.asarray(t, dtype=float),
        values=values,
        conserved=conserved,
        drift=drift,
        relative_drift=rel,
        scale=scale,
        scaled_drift=scaled,
    )
