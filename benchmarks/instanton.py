"""This package's instanton solver against the paper's method (plain gradient descent on a
50-point grid, 60 000 steps): wall time, final action and charge drift side by side.

Run: ``python benchmarks/instanton.py``. Two comparisons per case:
- same grid: L-BFGS-B (analytic gradient) on the paper's 50-point grid, the same discrete
  action as the gradient descent -> time to an equal or lower action;
- converged: the full solver (adaptive MAM + Hamiltonian BVP polish) -> the continuum
  action and the charges' drift.
"""

from __future__ import annotations

import time

import numpy as np

from simulate import zoo
from theory import charges, instanton
from theory._action import discrete_action
from theory._instanton import minimise_discrete


def gradient_descent(system, X, t, steps=60000, lr=None):
    """The paper's method: x <- x - lr * grad S on the interior nodes, fixed step size."""
    X = X.copy()
    if lr is None:
        lr = 0.2 * np.min(np.diff(t)) * float(np.min(np.linalg.eigvalsh(system.D)))
    for _ in range(steps):
        _, G = discrete_action(system, X, t, grad=True)
        X[1:-1] -= lr * G[1:-1]
    return X


def row(name, system, x0, x1, t, **kw):
    line = np.linspace(0.0, 1.0, t.size)[:, None]
    X0 = x0 + line * (x1 - x0)
    t0 = time.perf_counter()
    Xg = gradient_descent(system, X0, t)
    t_gd = time.perf_counter() - t0
    S_gd = float(discrete_action(system, Xg, t))
    c_gd = charges(system, Xg, t)
    t0 = time.perf_counter()
    Xl, S_l, _ = minimise_discrete(system, X0, t)
    t_l = time.perf_counter() - t0
    t0 = time.perf_counter()
    r = instanton(system, x0, x1, t=t, **kw)
    t_full = time.perf_counter() - t0
    key = "L" if "L" in c_gd.values else "H"
    print(
        f"{name:28s} GD: {t_gd:7.2f} s S={S_gd:.6f} drift({key})={c_gd.relative_drift[key]:.1e} | "
        f"L-BFGS same grid: {t_l:6.3f} s S={S_l:.6f} ({t_gd / t_l:6.0f}x) | "
        f"converged: {t_full:6.2f} s S={r.action:.6f} drift({key})="
        f"{r.charges.relative_drift[key]:.1e} ({t_gd / t_full:5.1f}x) {r.message}",
        flush=True,
    )


def main():
    dm = zoo.get("decision_memory")
    for T in (1.0, 40.0):
        row(
            f"decision_memory T={T:g}",
            dm,
            dm.point("x_wins"),
            dm.point("y_wins"),
            np.linspace(0.0, T, 50),
        )
    ring = zoo.get("reverse_diffusion_ring")
    grid = ring.params[2] - np.logspace(1.5, -0.4, 50)
    for end in ("ring_pi/4", "ring_0", "ring_-pi/4", "ring_-pi/2"):
        row(f"reverse_diffusion {end}", ring, ring.point("start"), ring.point(end), grid)


if __name__ == "__main__":
    main()
