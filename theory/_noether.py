"""Noether charges along a path: the quasi-energy H and Q_xi = p . xi(x) per generator.

A generator xi(x) = A x + b is a symmetry when [xi, f] = 0 (Df(x) xi(x) = A f(x)) and
A D + D A^T = 0; then Q_xi = p . (A x + b) is conserved along every instanton. For an
autonomous system H = p^T D p + p^T f is conserved too (DESIGN.md §2).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ._action import hamiltonian, momentum
from ._checks import as_path, as_times


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
    """

    t: np.ndarray
    values: dict
    conserved: dict
    drift: dict = field(default_factory=dict)
    relative_drift: dict = field(default_factory=dict)

    def mean(self, name: str) -> float:
        """The mean of charge ``name`` along the path."""
        return float(np.mean(self.values[name]))

    def summary(self) -> pd.DataFrame:
        """One row per charge: mean, drift, relative drift and whether it should be conserved."""
        return pd.DataFrame(
            [
                {
                    "charge": k,
                    "mean": self.mean(k),
                    "drift": self.drift[k],
                    "relative_drift": self.relative_drift[k],
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
    if generators is None:
        generators = system.generators
    elif isinstance(generators, str):
        if generators != "discover":
            raise ValueError(
                f"`generators` must be None, 'discover' or generators, got {generators!r}"
            )
        from ._symmetries import find_symmetries

        generators = find_symmetries(system).generators
    values = {"H": np.asarray(hamiltonian(system, X, P, t))}
    conserved = {"H": bool(system.autonomous)}
    for g in generators:
        values[g.name] = np.einsum("ki,ki->k", P, g(X))
        conserved[g.name] = bool(getattr(g, "exact", True))
    drift, rel = {}, {}
    for k, v in values.items():
        drift[k], rel[k] = drift_of(v)
    return Charges(t=t, values=values, conserved=conserved, drift=drift, relative_drift=rel)
