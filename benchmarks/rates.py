"""Time one `theory.rate` call (best of 3, after a warm-up call that compiles the drifts).

Run: ``python benchmarks/rates.py`` (from the repository root). Cases: the 1-D double
well (Eyring–Kramers), Maier–Stein alpha = 2, the J-antisymmetric closed form in d = 2 and
the chain closed form f = -(D + J) ∇V in d = 3, 5 and 10 with a random non-diagonal D and
antisymmetric J (Bouchet–Reygner: geometric instanton, Hamilton's BVP, Riccati;
tests/closed_forms.py), with the relative error of the closed-form prefactors.
"""

import time

import numpy as np

from simulate import zoo
from tests.closed_forms import (
    antisymmetric_prefactor,
    antisymmetric_system,
    chain_points,
    chain_prefactor,
    chain_system,
)
from theory import rate


def chain_case(d: int, seed: int = 1):
    """The chain system in d dimensions with random b, g, D and J (seeded)."""
    rng = np.random.default_rng(seed)
    b, g = 0.3 * rng.uniform(-1, 1, d - 1), 0.4 * rng.uniform(-1, 1, d - 1)
    L = np.eye(d) + 0.2 * rng.normal(size=(d, d))
    W = rng.normal(size=(d, d))
    system = chain_system(b, g, D=L @ L.T / d + 0.5 * np.eye(d), J=0.4 * (W - W.T))
    m, s = chain_points(b, g)
    return (f"chain d={d} (general)", system, m, s, chain_prefactor(system, m, s))


CASES = [
    ("double_well (gradient)", zoo.double_well(), "left", "saddle", None),
    ("maier_stein alpha=2 (general)", zoo.maier_stein(alpha=2.0), "left", "saddle", None),
    (
        "antisymmetric b=0.3 j=0.5 (general)",
        antisymmetric_system(0.3, 0.5),
        [-1.0, 0.0],
        [0.0, 0.3],
        antisymmetric_prefactor(0.3, 0.5),
    ),
    (
        "antisymmetric b=0.5 j=1 (general)",
        antisymmetric_system(0.5, 1.0),
        [-1.0, 0.0],
        [0.0, 0.5],
        antisymmetric_prefactor(0.5, 1.0),
    ),
    chain_case(3),
    chain_case(5),
    chain_case(10),
]

if __name__ == "__main__":
    with open("/proc/loadavg") as fh:
        print(f"load average: {fh.read().split()[:3]}")
    for name, system, a, s, exact in CASES:
        rate(system, a, s)  # compiles the drift
        times = []
        for _ in range(3):
            t0 = time.perf_counter()
            r = rate(system, a, s)
            times.append(time.perf_counter() - t0)
        err = "" if exact is None else f"   relative error {r.prefactor / exact - 1:.1e}"
        print(f"{name:36s} {min(times) * 1e3:8.1f} ms (best of 3){err}   {r}")
