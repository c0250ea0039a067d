"""Time one `theory.rate` call (best of 3, after a warm-up call that compiles the drifts).

Run: ``python benchmarks/rates.py`` (from the repository root). Cases: the 1-D double
well (Eyring–Kramers), Maier–Stein alpha = 2 and the J-antisymmetric closed form
(Bouchet–Reygner: geometric instanton, shooting, Riccati; tests/closed_forms.py), with the
relative error of the latter's prefactor.
"""

import time

from simulate import zoo
from tests.closed_forms import antisymmetric_prefactor, antisymmetric_system
from theory import rate

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
