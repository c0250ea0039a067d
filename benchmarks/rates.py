"""Time one `theory.rate` call (best of 3, after a warm-up call that compiles the drifts).

Run: ``python benchmarks/rates.py``. Cases: the 1-D double well (Eyring–Kramers) and
Maier–Stein alpha = 2 (Bouchet–Reygner: geometric instanton, shooting, Riccati).
"""

import time

from simulate import zoo
from theory import rate

CASES = [
    ("double_well (gradient)", zoo.double_well(), {}),
    ("maier_stein alpha=2 (general)", zoo.maier_stein(alpha=2.0), {}),
]

if __name__ == "__main__":
    for name, system, kw in CASES:
        rate(system, "left", "saddle", **kw)
        best = min(
            (lambda t0: (rate(system, "left", "saddle", **kw), time.perf_counter() - t0)[1])(
                time.perf_counter()
            )
            for _ in range(3)
        )
        r = rate(system, "left", "saddle", **kw)
        print(f"{name:32s} {best * 1e3:8.1f} ms   {r}")
