"""The result type of :func:`theory.instanton`."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .._display import vector
from .._noether import Charges


@dataclass(frozen=True)
class Instanton:
    """A most likely path (a local minimum of the action) and its charges.

    Attributes
    ----------
    path : numpy.ndarray
        Points (m, d).
    t : numpy.ndarray or None
        Times (m,) (for T = None: a truncated time window over the interior of the path).
    p : numpy.ndarray
        Conjugate momenta p = 1/2 D^{-1} (xdot - f) at the points (m, d).
    action : float
        S = 1/4 ∫ (xdot - f)^T D^{-1} (xdot - f) dt (T = None: the geometric action).
    T : float or None
        Duration; None for the infinite-time instanton.
    charges : Charges
        H and the generators' charges along the path, with their drifts.
    s : numpy.ndarray or None
        Normalised arc length in [0, 1] (T = None).
    success, message
        Whether the solver converged, and how.
    diagnostics : dict
        Convergence record (actions per refinement, BVP residuals, iterations, ...).
    minima : tuple of Instanton
        Every distinct converged local minimum found, sorted by action (the first is this
        one). A candidate counts as a minimum when the Hessian of the discrete action
        whose stationary point it is (the Galerkin action where the polish converged,
        else the MAM's) has no eigenvalue below -saddle_tol times its largest diagonal
        entry (``diagnostics["kind"]``; a saddle's ``diagnostics["hessian_min_eig"]`` is
        the negative eigenvalue).
    label : str
        Which initial path led here.
    saddles : tuple of Instanton
        The critical paths found that are not minima (e.g. a path held on a symmetry axis
        by a symmetric start). Finite T: negative eigenvalue of the discrete action's
        Hessian; T = None: of the penalised geometric action's Hessian
        (:mod:`theory.instanton._geometric`), whose negative direction crosses the path.
    unconverged : tuple of Instanton
        Candidates whose solve did not converge (``success`` False, see ``message``) and
        that match no converged one: kept for inspection, never counted as minima while
        any candidate converged.
    """

    path: np.ndarray
    t: np.ndarray | None
    p: np.ndarray
    action: float
    T: float | None
    charges: Charges | None
    s: np.ndarray | None = None
    success: bool = True
    message: str = ""
    diagnostics: dict = field(default_factory=dict)
    minima: tuple = ()
    label: str = ""
    saddles: tuple = ()
    unconverged: tuple = ()

    def __repr__(self) -> str:
        n, d = self.path.shape
        T = "None (infinite time)" if self.T is None else f"{self.T:.6g}"
        kind = self.diagnostics.get("kind", "")
        lines = [
            f"Instanton(T={T}, success={self.success}, {n} points, d={d})",
            f"  action {self.action:.10g}" + (f", kind {kind}" if kind else ""),
            f"  from {vector(self.path[0])} to {vector(self.path[-1])}",
            f"  message: {self.message}",
        ]
        if self.label:
            lines.append(f"  start: {self.label}")
        if self.charges is not None:
            lines.append(
                "  charges: "
                + ", ".join(
                    f"{k} {self.charges.mean(k):.8g} (drift {self.charges.relative_drift[k]:.1e})"
                    for k in list(self.charges.values)[:4]
                )
                + (", ..." if len(self.charges.values) > 4 else "")
            )
        found = [
            (name, group)
            for name, group in (
                ("minima", self.minima),
                ("saddles", self.saddles),
                ("unconverged", self.unconverged),
            )
            if group
        ]
        for name, group in found:
            actions = ", ".join(f"{m.action:.8g}" for m in group[:5])
            more = f", ... ({len(group)} in all)" if len(group) > 5 else ""
            lines.append(f"  {name}: {len(group)}, actions {actions}{more}")
        return "\n".join(lines)

    def to_frame(self) -> pd.DataFrame:
        """Tidy frame: one row per (minimum, point) with rank, action, t, s, x_i, p_i and
        the charges."""
        frames = []
        for rank, m in enumerate(self.minima or (self,)):
            d = m.path.shape[1]
            cols = {"minimum": rank, "label": m.label, "action": m.action}
            n = m.path.shape[0]
            cols["t"] = m.t if m.t is not None and m.t.size == n else np.full(n, np.nan)
            cols["s"] = m.s if m.s is not None else np.full(n, np.nan)
            cols.update({f"x{i}": m.path[:, i] for i in range(d)})
            cols.update({f"p{i}": m.p[:, i] for i in range(d)})
            if m.charges is not None and m.charges.t.size == n:
                cols.update(m.charges.values)
            frames.append(pd.DataFrame(cols))
        return pd.concat(frames, ignore_index=True)
