"""Tube exponent of reactive paths (issue 5 Must-show): maier_stein (alpha = 1) and
rotating_ring, four eps levels spanning a factor 8, simulate.transitions sampler.

The references are exact: maier_stein at alpha = mu = 1 is a gradient system whose
instanton from (-1, 0) to (1, 0) runs along the x-axis (uphill to the saddle, then
downhill); for rotating_ring, p = grad U and the instanton solves xdot = grad U + omega J x
(r' = r (r^2 - 1), theta' = omega), so H = 0 and L = 0 on it. Run:
PYTHONPATH=. python scripts/reactive_tube_exponent.py
"""

import sys
import time

import numpy as np
import pandas as pd

from simulate import zoo
from validate import Reactive, noise_sweep, scaling_table

pd.set_option("display.width", 200)
n_paths = int(sys.argv[1]) if len(sys.argv) > 1 else 200
only = sys.argv[2] if len(sys.argv) > 2 else None
eps_grid = [0.32, 0.16, 0.08, 0.04]

ms = zoo.maier_stein()
ref_ms = np.column_stack([np.linspace(-1, 1, 401), np.zeros(401)])
# only the reactive stretch, from the edge of A (r = 0.9) to the edge of B (r = 0.1): the
# full spiral winds without end near r = 1 and r = 0, where nearest-point projection would
# snap noisy points onto the wrong turn
r = np.linspace(0.9, 0.1, 4000)
theta = -1.0 * (
    np.log(r) - 0.5 * np.log(1 - r**2)
)  # omega = 1, spiral dtheta/dr = omega/(r (r^2-1))
theta -= theta[0]
ref_ring = np.column_stack([r * np.cos(theta), r * np.sin(theta)])
ring = zoo.rotating_ring()
for name, system, ref, kw in [
    ("maier_stein", ms, ref_ms, dict(A="A", B="B", x0=[-0.9, 0.0], dt=2e-3)),
    ("rotating_ring", ring, ref_ring, dict(A="A", B="B", x0=[0.9, 0.0], dt=2e-3)),
]:
    if only and name != only:
        continue
    t0 = time.time()
    sym = system.generators[0] if system.generators else None
    fr, levels = noise_sweep(
        system,
        eps_grid,
        Reactive(**kw),
        n_paths=n_paths,
        seed=1,
        reference=ref,
        theory={"H": 0.0, "L": 0.0},
        symmetry=sym,
        return_levels=True,
        n_boot=200,
    )
    reps = pd.concat([lv.replicates for lv in levels], ignore_index=True)
    keep = [
        "n_accepted",
        "duration",
        "tube_l2_q0.5",
        "tube_radius_q0.5",
        "charge_mean_H",
        "charge_mean_L",
    ]
    print(name, f"{time.time() - t0:.0f} s")
    print(fr[fr.statistic.isin(keep)][["eps", "statistic", "value", "se", "theory", "n"]])
    fits = scaling_table(fr, reps)
    print(fits[["statistic", "estimate", "ci_low", "ci_high", "contains_theory"]])
