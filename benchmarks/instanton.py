"""This package's instanton solver against the paper's method (plain gradient descent on a
50-point grid, 60 000 steps): wall time, final action and charge drift side by side.

Run: ``python benchmarks/instanton.py [steps]`` (``steps`` of gradient descent, default
60 000). Both methods evaluate the same compiled action and gradient
(:mod:`theory._kernels`), so the ratio measures the methods, not the implementations.
Two comparisons per case:
- same grid: L-BFGS-B (analytic gradient) on the paper's 50-point grid, the same discrete
  action as the gradient descent -> time to an equal or lower action;
- converged: the full solver (adaptive MAM + Hamiltonian BVP polish) -> the continuum
  action and the charges' drift.
"""

from __future__ import annotations

import os
import sys
import time

# Small dense algebra (L-BFGS-B's updates): multithreaded BLAS only adds contention.
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import numpy as np  # noqa: E402

from simulate import zoo  # noqa: E402
from theory import charges, instanton  # noqa: E402
from theory._action import discrete_action  # noqa: E402
from theory._instanton import lbfgs_discrete as minimise_discrete  # noqa: E402


def gradient_descent(system, X, t, steps=60000, lr=None):
    """The paper's method: x <- x - lr * grad S on the interior nodes, fixed step size."""
    X = X.copy()
    if lr is None:
        lr = 0.2 * np.min(np.diff(t)) * float(np.min(np.linalg.eigvalsh(system.D)))
    for _ in range(steps):
        _, G = discrete_action(system, X, t, grad=True)
        X[1:-1] -= lr * G[1:-1]
    return X


def row(name, system, x0, x1, t, steps=60000, **kw):
    line = np.linspace(0.0, 1.0, t.size)[:, None]
    X0 = x0 + line * (x1 - x0)
    t0 = time.perf_counter()
    Xg = gradient_descent(system, X0, t, steps=steps)
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
    c_l = charges(system, Xl, t)
    print(
        f"{name:26s} {key} | GD {t_gd:6.2f} s S={S_gd:.6f} drift={c_gd.relative_drift[key]:.1e}"
        f" | L-BFGS {t_l:6.3f} s S={S_l:.6f} drift={c_l.relative_drift[key]:.1e}"
        f" {t_gd / t_l:5.0f}x | full {t_full:6.2f} s S={r.action:.6f}"
        f" drift={r.charges.relative_drift[key]:.1e} {t_gd / t_full:5.1f}x"
        f" {'ok' if r.success else r.message}",
        flush=True,
    )


def main():
    steps = int(sys.argv[1]) if len(sys.argv) > 1 else 60000
    dm = zoo.get("decision_memory")
    for T in (1.0, 40.0):
        row(
            f"decision_memory T={T:g}",
            dm,
            dm.point("x_wins"),
            dm.point("y_wins"),
            np.linspace(0.0, T, 50),
            steps=steps,
        )
    ring = zoo.get("reverse_diffusion_ring")
    grid = ring.params[2] - np.logspace(1.5, -0.4, 50)
    for end in ("ring_pi/4", "ring_0", "ring_-pi/4", "ring_-pi/2"):
        row(
            f"reverse_diffusion {end}",
            ring,
            ring.point("start"),
            ring.point(end),
            grid,
            steps=steps,
        )


if __name__ == "__main__":
    main()
