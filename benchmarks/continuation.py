"""Finite-T continuation: decision_memory's global and local minima at T = 40 followed
across the sigmoid steepness n from 0.1 down to 0.01 (:func:`theory.continuation` with a
finite ``T``), printed as a table (n, each branch's kind, action, H and its drift) with
the events and the wall time.

Run: ``python benchmarks/continuation.py [count]`` (``count`` geometrically spaced values
of n, default 11). The load average is printed: the machine may be shared.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import numpy as np  # noqa: E402

from simulate import zoo  # noqa: E402
from theory import continuation  # noqa: E402


def main(count: int = 11) -> None:
    values = np.geomspace(0.1, 0.01, count)
    start = time.perf_counter()
    c = continuation(
        zoo.decision_memory(),
        "x_wins",
        "y_wins",
        T=40.0,
        param="n",
        values=values,
        waypoints=["both_high", "origin"],
    )
    wall = time.perf_counter() - start
    print(f"load average {os.getloadavg()[0]:.2f}; wall time {wall:.1f} s for {count} values")
    print(c)
    print("| n | branch | kind | action | H | H drift (abs) | H drift / terms | success |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for r in c.frame.itertuples():
        absolute = abs(r.H) * r.H_drift
        print(
            f"| {r.param:.5f} | {r.branch} | {r.kind} | {r.action:.7f} | {r.H:.2e} |"
            f" {absolute:.1e} | {r.H_scaled_drift:.1e} | {r.success} |"
        )
    print(c.events.to_string(index=False))


if __name__ == "__main__":
    main(*(int(a) for a in sys.argv[1:]))
