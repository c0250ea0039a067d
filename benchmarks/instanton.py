"""This package's instanton solver against the paper's method (plain gradient descent on a
50-point grid, 60 000 steps): wall time, final action and charge drift side by side.

Run: ``python benchmarks/instanton.py [steps]`` (``steps`` of gradient descent, default
60 000), or ``python benchmarks/instanton.py geometric`` for the infinite-time rows only
(first in either case): the default ``T=None`` call on Maier–Stein (alpha = 6, straight
start only: it must leave the on-axis saddle path itself) against an independent
minimiser of the same geometric action (a 48-mode sine series for the path as a graph
y(x), BFGS); :func:`theory.continuation` over alpha = 1..10 in 91 steps; rotating_ring's
barrier (1/4). The load average is printed: the machine may be shared.

All methods evaluate the same compiled action (:mod:`theory._kernels`), so the ratios
measure the methods, not the implementations. Columns per case:
- GD: the paper's method (unchanged), on its 50-point grid from the straight line;
- L-BFGS: L-BFGS-B with the analytic gradient, same grid, same discrete action;
- Newton: Newton's method with the banded Hessian (:mod:`theory.instanton._newton`), same grid, same
  discrete action, from the same straight line: the exact discrete minimiser;
- full: ``theory.instanton`` from that grid (Newton MAM split where the drift jumps, then
  the degree-3 Galerkin polish of :mod:`theory.instanton._polish`, refined until the action is
  converged and, for autonomous systems, re-timed and refined until H is conserved):
  the continuum instanton.
S is the discrete action on the 50-point grid (GD, L-BFGS, Newton) or the continuum action
(full). "drift" is the relative drift of the conserved charge (L for the ring, H for
decision_memory): for the three 50-point methods the discrete Noether charge of
:func:`theory.instanton._newton.discrete_charges` (exactly constant at the discrete minimiser for L;
H only up to the O(h^2) discretisation error), for the full solver the continuum charge,
also relative to the terms that make it ("to its terms", :class:`theory.Charges`).
Times are the best of 3 runs of each method; with the wall-clock ratio the full solver's
row gives its CPU time and the ratio of CPU times (steadier on a shared machine).

Reading the T = 40 row: 50 points (h = 0.8) cannot resolve the switching layers of width
~0.01, so the discrete minimum (Newton, S ~ 2.6) is far below the continuum instanton
(S = 6.6108540) and GD's S = 18.6 is far above both. Only the full solver answers the
continuum question there; its H drift is ~4e-9 absolute, about 1e-3 of |H| ~ 3e-6
(the floor set by round-off in the stiff switching-layer directions, see
docs/instanton-notes.md).
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

# the independent Maier–Stein reference lives with the tests' closed forms
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

# Small dense algebra (L-BFGS-B's updates): multithreaded BLAS only adds contention.
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import numpy as np  # noqa: E402

from simulate import zoo  # noqa: E402
from tests.closed_forms import maier_stein_graph_minimum  # noqa: E402
from theory import continuation, instanton  # noqa: E402
from theory._action import discrete_action  # noqa: E402
from theory.instanton._mam import lbfgs_discrete  # noqa: E402
from theory.instanton._newton import discrete_charges, newton_discrete  # noqa: E402


def gradient_descent(system, X, t, steps=60000, lr=None):
    """The paper's method: x <- x - lr * grad S on the interior nodes, fixed step size."""
    X = X.copy()
    if lr is None:
        lr = 0.2 * np.min(np.diff(t)) * float(np.min(np.linalg.eigvalsh(system.D)))
    for _ in range(steps):
        _, G = discrete_action(system, X, t, grad=True)
        X[1:-1] -= lr * G[1:-1]
    return X


def _timed(fn, *args, repeats=3, **kw):
    """(wall seconds, CPU seconds, result): the best of ``repeats`` runs (the machine is
    shared; the minimum is the least disturbed run), for every method alike. The CPU time
    of this process (time.process_time) leaves out the time other jobs held the cores, so
    its ratios are the steadier measure on a loaded machine."""
    best, best_cpu = np.inf, np.inf
    for _ in range(repeats):
        t0, c0 = time.perf_counter(), time.process_time()
        out = fn(*args, **kw)
        best = min(best, time.perf_counter() - t0)
        best_cpu = min(best_cpu, time.process_time() - c0)
    return best, best_cpu, out


def row(name, system, x0, x1, t, steps=60000, **kw):
    line = np.linspace(0.0, 1.0, t.size)[:, None]
    X0 = x0 + line * (x1 - x0)
    key = "L" if "L" in discrete_charges(system, X0, t).values else "H"

    def drift(X):
        return discrete_charges(system, X, t).relative_drift[key]

    t_gd, c_gd, Xg = _timed(gradient_descent, system, X0, t, steps=steps)
    S_gd = float(discrete_action(system, Xg, t))
    t_l, _, (Xl, S_l, _) = _timed(lbfgs_discrete, system, X0, t)
    t_n, _, rn = _timed(newton_discrete, system, X0, t)
    t_f, c_f, rf = _timed(instanton, system, x0, x1, t=t, **kw)
    print(
        f"{name:24s} {key} | GD {t_gd:6.2f} s S={S_gd:.6f} drift={drift(Xg):.1e}"
        f" | L-BFGS {t_l * 1e3:5.1f} ms S={S_l:.6f} drift={drift(Xl):.1e} {t_gd / t_l:5.0f}x"
        f" | Newton {t_n * 1e3:5.1f} ms S={rn.S:.6f} drift={drift(rn.X):.1e}"
        f" {t_gd / t_n:5.0f}x {'ok' if rn.success else 'NOT CONVERGED'}"
        f" | full {t_f * 1e3:7.1f} ms S={rf.action:.6f} drift={rf.charges.relative_drift[key]:.1e}"
        f" (to its terms {rf.charges.scaled_drift[key]:.1e})"
        f" {t_gd / t_f:5.0f}x (CPU {c_f * 1e3:.1f} ms, {c_gd / c_f:.0f}x)"
        f" {'ok' if rf.success else rf.message}",
        flush=True,
    )


def _best(fn, repeats=7):
    """(wall seconds, CPU seconds, result): the best of ``repeats`` warm runs."""
    fn()
    return _timed(fn, repeats=repeats)


def geometric_rows():
    print(f"load average (1, 5, 15 min): {os.getloadavg()}", flush=True)
    ms = zoo.get("maier_stein", alpha=6.0)
    ref, _ = maier_stein_graph_minimum(6.0, modes=48, points=600)
    t, c, r = _best(lambda: instanton(ms, [-1, 0], [0, 0], T=None))
    print(
        f"maier_stein alpha=6 T=None default | {t * 1e3:6.1f} ms (CPU {c * 1e3:.1f} ms)"
        f" S={r.action:.9f}"
        f" |S/S_ref - 1|={abs(r.action / ref - 1):.1e} (S_ref={ref:.9f}, graph minimiser)"
        f" kind={r.diagnostics['kind']} saddles={[round(m.action, 6) for m in r.saddles]}"
        f" {'ok' if r.success else r.message}",
        flush=True,
    )
    base = zoo.get("maier_stein")
    values = np.linspace(1.0, 10.0, 91)
    t, cpu, c = _best(lambda: continuation(base, "left", "saddle", param="alpha", values=values), 3)
    ex = c.events[c.events.event == "stability exchange"]
    print(
        f"maier_stein continuation alpha 1..10 (91) | {t:6.2f} s (CPU {cpu:.2f} s)"
        f" bifurcation alpha={ex.param.iloc[0]:.5f} ± {ex.error.iloc[0]:.1e}"
        f" branches={c.frame.branch.nunique()}",
        flush=True,
    )
    ring = zoo.get("rotating_ring")
    t, _, r = _best(lambda: instanton(ring, [1, 0], [0, 0], T=None), 1)
    print(
        f"rotating_ring (1,0)->(0,0) T=None | {t:6.2f} s S-1/4={r.action - 0.25:.1e}"
        f" L={r.charges.mean('L'):.1e} (scaled drift {r.charges.scaled_drift['L']:.1e})"
        f" {'ok' if r.success else r.message}",
        flush=True,
    )


def main():
    geometric_rows()
    if sys.argv[1:] == ["geometric"]:
        return
    steps = int(sys.argv[1]) if len(sys.argv) > 1 else 60000
    dm = zoo.get("decision_memory")
    # compile and warm every method once, outside the timings
    row("(warm-up)", dm, dm.point("x_wins"), dm.point("y_wins"), np.linspace(0, 1, 50), steps=10)
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
