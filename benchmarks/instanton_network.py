"""Finite-T instantons at network size: the banded Newton solver against L-BFGS.

    python benchmarks/instanton_network.py [--dims 64 128 256] [--banded 64] [--assembly 128 256]

Case: the oscillator ring ``zoo.oscillator_ring(N)`` (d = 2N, mu = K = 1), its stable
q = 1 twisted state turned by a = 1 rad of the U(1) phase in T = 2, a transition whose
U(1) charge is not zero. By the ring's symmetry z_k -> z_{k+1} e^{-2 pi i q / N} the
minimiser is z_k(t) = w(t) e^{2 pi i q k / N}, and w solves the 2-D Stuart–Landau problem
w' = (mu' - |w|^2) w, mu' = mu - 4 K sin^2(pi q / N); rescaling w = sqrt(mu') u,
s = mu' t maps it onto ``zoo.rotating_ring(omega=0)`` from (1, 0) to (cos a, sin a) in
s = mu' T, so S = N mu'^2 S_2D and U1 = N mu'^2 L_2D (exact reduction, 2-D solve by
``theory.instanton``: ``validate._ring_phase.phase_turn(free_end=False)``).

``--system rate``: a random rate network x' = -x + W tanh(x) (W Gaussian, gain 1.5, no
symmetry) from the origin to a random point in T = 2; no exact reference (the banded
rows are the cross-check).

Rows, each case in a fresh process (peak RSS includes ~0.3 GB of imports):
- lbfgs: :func:`theory.lbfgs_instanton` (preconditioned L-BFGS on the
  midpoint action, grid doubled from 100 segments until the action changes by < 1e-6);
- banded: ``theory.instanton`` (banded Newton MAM on 100 segments, degree-3 Galerkin
  polish), at the dims of ``--banded``;
- assembly: one assembly of the degree-3 Galerkin Hessians on 100 elements (the banded
  solver's dominant cost: 22 of them in the d = 64 run), at the dims of ``--assembly``.
Time is wall time on a shared machine (the load average is printed); memory is the
tracemalloc peak of numpy allocations and the process's peak RSS; "grid change" the
relative change of the action under the last grid halving (L-BFGS) or the Galerkin
polish's last refinement (banded); holds(1e-6): ``Charges.holds`` for U1, its drift
along the path at most 1e-6 of the terms that make it.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
import tracemalloc

import numpy as np

Q, PHASE, T = 1, 1.0, 2.0


def _ends(n, system="ring"):
    """(system, start, end) of the case with d = 2n."""
    from simulate import zoo

    if system == "rate":  # a random rate network, gain 1.5: no symmetry, no reduction
        rng = np.random.default_rng(1)
        W = 1.5 * rng.normal(size=(2 * n, 2 * n)) / np.sqrt(2 * n)
        return zoo.rate_network(W), np.zeros(2 * n), 0.5 * rng.normal(size=2 * n)
    a = zoo.twisted_state(Q, n, 1.0, 1.0, 0.0)
    return zoo.oscillator_ring(n), a, zoo.twisted_state(Q, n, 1.0, 1.0, PHASE)


def reduced(n: int) -> tuple[float, float]:
    """(S, U1) of the ring's instanton by the exact 2-D reduction (module docstring)."""
    from validate._ring_phase import phase_turn

    turn = phase_turn(n, PHASE, T, q=Q, free_end=False)
    return turn.action, turn.U1


def case(kind: str, n: int, system: str = "ring") -> dict:
    """One measurement in this process: time, memory, action, U1 and its drift."""
    ring, a, b = _ends(n, system)
    tracemalloc.start()
    start = time.perf_counter()
    if kind == "assembly":
        from theory.instanton._elements import element_terms

        t = np.linspace(0.0, T, 101)
        nodes = np.linspace(0.0, T, 301)  # degree 3: 3 nodes per element
        X = a + np.linspace(0.0, 1.0, nodes.size)[:, None] * (b - a)
        element_terms(ring, X, t, 3, True)
        out = {}
    else:
        if kind == "lbfgs":
            from theory import lbfgs_instanton

            inst = lbfgs_instanton(ring, a, b, T, n=100)
        else:
            from theory import instanton

            inst = instanton(ring, a, b, T, n=100)
        ch = inst.charges
        u1 = "U1" in ch.values
        out = {
            "action": inst.action,
            "U1": ch.mean("U1") if u1 else np.nan,
            "U1_drift": ch.drift["U1"] if u1 else np.nan,
            "U1_scaled_drift": ch.scaled_drift["U1"] if u1 else np.nan,
            "U1_holds": bool(ch.holds(1e-6)["U1"]) if u1 else None,
            "success": bool(inst.success),
            "segments": int(inst.t.size - 1),
            "precision": inst.diagnostics.get("precision")
            or inst.diagnostics.get("galerkin_precision"),
            "iterations": inst.diagnostics.get("lbfgs_iterations"),
        }
    seconds = time.perf_counter() - start
    peak = tracemalloc.get_traced_memory()[1]
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    return out | {
        "kind": kind,
        "d": 2 * n,
        "seconds": seconds,
        "peak_MB": peak / 1e6,
        "rss_MB": rss / 1e6,
    }


def _in_fresh_process(kind: str, n: int, system: str) -> dict:
    cmd = [sys.executable, __file__, "--case", kind, str(n), system]
    done = subprocess.run(cmd, check=True, capture_output=True, text=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dims", type=int, nargs="*", default=[64, 128, 256])
    ap.add_argument("--banded", type=int, nargs="*", default=[64])
    ap.add_argument("--assembly", type=int, nargs="*", default=[64, 128, 256])
    ap.add_argument(
        "--system", choices=("ring", "rate"), default="ring", help="rate: a random rate network"
    )
    ap.add_argument("--case", nargs=3, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.case:
        print(json.dumps(case(args.case[0], int(args.case[1]), args.case[2])))
        return
    print(f"load average {os.getloadavg()[0]:.1f} (2-core machine shared with other jobs)")
    print(
        "| method | d | time (s) | tracemalloc peak (MB) | peak RSS (MB) | S | S / exact - 1 "
        "| grid change | U1 | U1 drift (to terms) | holds(1e-6) | segments |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    rows = [("lbfgs", d) for d in args.dims] + [("banded", d) for d in args.banded]
    rows += [("assembly", d) for d in args.assembly]
    for kind, d in rows:
        r = _in_fresh_process(kind, d // 2, args.system)
        if kind == "assembly":
            print(
                f"| one degree-3 Hessian assembly | {d} | {r['seconds']:.2f} | "
                f"{r['peak_MB']:.0f} | {r['rss_MB']:.0f} | | | | | | | 100 |"
            )
            continue
        S, U1 = reduced(d // 2) if args.system == "ring" else (np.nan, np.nan)
        print(
            f"| {kind} | {d} | {r['seconds']:.2f} | {r['peak_MB']:.0f} | {r['rss_MB']:.0f} | "
            f"{r['action']:.10g} | {r['action'] / S - 1:.1e} | {r['precision']:.1e} | "
            f"{r['U1']:.8g} (exact {U1:.8g}) | {r['U1_drift']:.1e} ({r['U1_scaled_drift']:.1e}) "
            f"| {r['U1_holds']} | {r['segments']} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
