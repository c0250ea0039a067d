"""The catalogue of prebuilt studies: the parts (noise sweeps) of each named study, its
reference instantons, and the finite-noise checks some studies add.

Studies (one per system of the zoo, :mod:`simulate.zoo`; conventions of docs/conventions.md,
dX = f dt + sqrt(2 eps D) dW, eps = 1 the paper's noise):

- ``drift_diffusion``: Fig. 1a (paths hitting -1 at a time in [0.95, 1] against the
  straight least-action path, momentum p = -1.6), then its noise sweep with the window
  [1 - 0.05 eps, 1];
- ``monostable``: the T = 1 and T = 10 instantons from (-2, 2) to (2, 2) (Fig. 1b), with
  importance-sampled endpoint-conditioned ensembles around both (H and L);
- ``decision_memory``: the T = 1 and T = 40 instantons, global and local minima
  (Fig. 1c), and by AMS the reactive paths of the first hop, from near the x-wins
  attractor to the both-high one, in the small-noise regime (docs/studies.md);
- ``reverse_diffusion_ring``: Fig. 2, reverse-diffusion paths from (0, 10) conditioned on
  their data-end angle (pi/4, 0, -pi/4, -pi/2), angular momentum against the instantons;
- ``maier_stein``, ``rotating_ring``: reactive transitions against exact instantons
  (brute force for maier_stein; AMS for rotating_ring at the levels where
  :func:`validate._ring_regime.ring_end_ratios` <= 1/3: eps = 0.02 ... 0.00125);
- ``oscillator_ring``: the network study (docs/networks.md): by AMS the reactive paths of
  the twist transition sync -> twist_1 of a ring of 16 Stuart–Landau oscillators (32
  dimensions), against the gradient-flow instanton through the phase-slip saddle, with
  the tube quotiented by the ring's U(1) x Z_N symmetry (:mod:`validate._twist`),
  and a finite-T transition whose U(1) charge is not zero: the q = 1 twisted state
  conditioned on the phase of its Fourier mode having turned past 1 rad at T = 2
  (importance sampling along the instanton), against the exact 2-D reduction
  (:mod:`validate._ring_phase`);
- ``rates``: measured mean transition times against :func:`theory.rate` (the cases are
  in :mod:`validate._rates_study`; no noise-sweep parts);
- ``paper``: the four paper studies in one folder with one report.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path

import numpy as np
import pandas as pd

from simulate import zoo

from ._instanton_cache import cached_instanton
from ._ring_regime import RING_RB, RING_X0, ring_eps_grid, ring_spiral
from ._study import StudyConfig, read_table
from ._twist import TWIST_A, TWIST_B, circle_balls, twist_eps_grid, twist_geometry

DD_NOTE = """**drift_diffusion.** The paper keeps paths absorbed at -1 at a time tau in
[0.95, 1]; a path's mean momentum is ((-1 - 0.5)/tau - 0.1)/sigma^2 exactly (the path mean
of xdot telescopes), between -1.679 and -1.6. With that window fixed, the mean reaches the
T = 1 instanton's -1.6 only when eps << 0.05. Here the window is [1 - 0.05 eps, 1] (the
paper's at eps = 1): it shrinks onto tau = 1, so the mean momentum tends to -1.6 with a
bias linear in eps, which the a + b eps extrapolation removes. The `exact` rows compare
the sampled momentum and acceptance at each eps with the exact finite-noise image-sum
solution for the same window.
"""

PAPER = ("drift_diffusion", "monostable", "decision_memory", "reverse_diffusion_ring")


STUDIES = {
    "drift_diffusion": "momentum; the paper's Fig. 1a, then its noise sweep",
    "monostable": "energy and angular momentum, T = 1 and T = 10 (Fig. 1b)",
    "decision_memory": "energy; T = 1 and T = 40 instantons (Fig. 1c), AMS transitions",
    "reverse_diffusion_ring": "angular momentum in reverse diffusion (Fig. 2)",
    "maier_stein": "literature anchor: reactive transitions, gradient case",
    "rotating_ring": "literature anchor: non-gradient, rotation symmetry",
    "oscillator_ring": "network (32 dims): AMS across the twist transition sync -> twist_1, "
    "and a finite-T phase turn with non-zero U(1) charge",
    "rates": "mean transition times against theory.rate: barrier and prefactor as eps -> 0",
    "paper": "the four paper studies in one run, with one report",
}


def _grid(quick, q, full):
    return tuple(q if quick else full)


def _drift_diffusion_parts(quick):
    return [
        StudyConfig(
            name="sweep",
            system="drift_diffusion",
            eps_grid=_grid(quick, (1.0, 0.5, 0.3), (1.0, 0.7, 0.5, 0.35, 0.25)),
            sampler="endpoint",
            sampler_options=dict(
                x0="start",
                T=1.0,
                target="lower_bound",
                # the interpolated absorption time lags by about dt / 4 (docs/studies.md),
                # which moves the mean momentum by 1.5 dt / 4: dt = 0.001 keeps that
                # below a third of the quick study's standard errors
                dt=0.001,
                save=25,
                window=[0.95, 1.0],
                window_exponent=1.0,
                absorbing=["upper_bound"],
                snap=[-1.0],
            ),
            n_paths=100_000 if quick else 400_000,
            seed=1,
            instanton={"path": [[0.5], [-1.0]], "t": [0.0, 1.0]},
            theory={"p": -1.6},
            n_boot=100 if quick else 400,
        )
    ]


def _monostable_parts(quick):
    out = []
    for T, dt in ((1.0, 0.01), (10.0, 0.02)):
        out.append(
            StudyConfig(
                name=f"T={T:g}",
                system="monostable",
                eps_grid=_grid(quick, (0.2, 0.1, 0.05), (0.4, 0.2, 0.1, 0.05, 0.025)),
                sampler="endpoint",
                sampler_options=dict(
                    x0="start",
                    T=T,
                    target_center=[2.0, 2.0],
                    target_radius=1.0,
                    target_exponent=1.0,
                    dt=dt,
                    guide="instanton",
                ),
                n_paths=4000 if quick else 8000,
                seed=2,
                instanton=dict(x_start="start", x_end="end", T=T),
                n_boot=100 if quick else 400,
            )
        )
    return out


# decision_memory: in the piecewise-linear limit (n -> 0) of the drift the reactive
# instanton from the x-wins attractor (3.25, 0.35) to the y-wins one (0.35, 3.25) runs
# uphill straight to the switching line y = c = 1.5, downhill to the both-high attractor
# (2.35, 2.35), uphill to x = 1.5 and downhill to (0.35, 3.25); H = 0 along it. Each hop
# out of the both-high attractor costs 0.85^2 / (2 * 0.16) = 2.26, so below eps ~ 0.3 a
# path waits there ~ exp(2.26 / eps) (e^9 at eps = 0.25) before the second hop: AMS from
# A to y-wins is out of reach in the small-noise regime. The study samples the first hop,
# x0 -> B = the ball of radius DM_R around (2.35, 2.35), whose instanton is exact: straight
# up to (3.25, 1.5), straight down towards (2.35, 2.35); its action is the barrier
# 1.15^2 / (2 * 0.16) = 4.13 minus the quasi-potential |x0 - (3.25, 0.35)|^2 / 0.32 of the
# start. The start is 0.25 beyond A's edge so that A's boundary layer (width eps D / |f|)
# is small against that distance: rho_A = eps * 0.16 / (0.25 * 0.5) = 1.28 eps.
DM_X_WINS, DM_SWITCH, DM_BOTH = (
    np.array([3.25, 0.35]),
    np.array([3.25, 1.5]),
    np.array([2.35, 2.35]),
)
DM_X0, DM_RA, DM_R = np.array([3.25, 0.85]), 0.25, 0.25
DM_EPS_QUICK = (0.14, 0.1, 0.07)
DM_EPS_FULL = (0.2, 0.14, 0.1, 0.07, 0.05)
DM_REF = np.array(
    [
        DM_X0,
        DM_SWITCH,
        DM_BOTH + DM_R * (DM_SWITCH - DM_BOTH) / np.linalg.norm(DM_SWITCH - DM_BOTH),
    ]
)


def _polyline(points, n=400):
    seg = np.linalg.norm(np.diff(points, axis=0), axis=1)
    s = np.concatenate([[0.0], np.cumsum(seg)])
    u = np.linspace(0.0, s[-1], n)
    return np.column_stack([np.interp(u, s, c) for c in points.T])


def _decision_memory_parts(quick):
    d = 0.16  # sigma^2 / tau
    action = float(np.sum((DM_SWITCH - DM_X_WINS) ** 2) / (2 * d))
    action -= float(np.sum((DM_X0 - DM_X_WINS) ** 2) / (2 * d))
    return [
        StudyConfig(
            name="ams",
            system="decision_memory",
            eps_grid=_grid(quick, DM_EPS_QUICK, DM_EPS_FULL),
            sampler="ams",
            sampler_options=dict(
                A={"kind": "ball", "center": DM_X_WINS.tolist(), "radius": DM_RA},
                B={"kind": "ball", "center": DM_BOTH.tolist(), "radius": DM_R},
                x0=DM_X0.tolist(),
                dt=0.01,
                options={
                    "n_runs": 20 if quick else 40,
                    "t_span": 2000.0,
                    # progress along the hop from the x-wins attractor: the committor's
                    # level sets below the switching line are nearly y = const, unlike
                    # the circles of the default (distance to B)
                    "reaction_coordinate": {
                        "kind": "path_progress",
                        "points": [DM_X_WINS.tolist()] + DM_REF[1:].tolist(),
                    },
                },
            ),
            n_paths=40 if quick else 100,
            seed=3,
            instanton={"path": _polyline(DM_REF).tolist()},
            theory={"H": 0.0, "action": action},
            window=0.1,
            n_boot=100 if quick else 400,
        )
    ]


RING_ANGLES = {"pi/4": np.pi / 4, "0": 0.0, "-pi/4": -np.pi / 4, "-pi/2": -np.pi / 2}

# reverse_diffusion_ring: the instantons' L at the four ends differ by at most 0.019, so
# the full study needs eps -> 0 limits of L to +-0.009 (95 %). The path-mean L of the
# guided paths has an effective per-path sd of about 0.28, 0.05, 0.03 at eps = 0.5,
# 0.0625, 0.03125, and the effective sample size falls from 5 % to 0.85 % of the paths
# (docs/studies.md), so the full grid goes down to 0.03125 with 8000 paths per level
# (predicted half-width 0.0065, from those measurements). The quick
# grid starts at 0.5: at eps = 1 the tube is not yet eps^(1/2) (beta 0.63 [0.53, 0.72]
# at pi/4 on 1, 0.5, 0.25).
RING_EPS_QUICK = (0.5, 0.25, 0.125)
RING_EPS_FULL = (0.5, 0.25, 0.125, 0.0625, 0.03125)


def _ring_parts(quick):
    ring = zoo.reverse_diffusion_ring()
    T = float(ring.t_span[1] - ring.t_span[0])
    out = []
    for label, angle in RING_ANGLES.items():
        out.append(
            StudyConfig(
                name=f"angle={label.replace('/', '_')}",
                system="reverse_diffusion_ring",
                eps_grid=_grid(quick, RING_EPS_QUICK, RING_EPS_FULL),
                sampler="endpoint",
                sampler_options=dict(
                    x0="start",
                    T=T,
                    target_center=[5 * np.cos(angle), 5 * np.sin(angle)],
                    target_radius=1.0,
                    target_exponent=0.5,
                    dt=0.05,
                    guide="instanton",
                ),
                n_paths=1000 if quick else 8000,
                seed=4,
                instanton=dict(x_start="start", x_end=f"ring_{label}", T=T),
                window=0.25,
                n_boot=100 if quick else 400,
            )
        )
    return out


# Exact references of the literature anchors:
# maier_stein at alpha = mu = 1 is a gradient system whose instanton from (-1, 0) to (1, 0)
# runs along the x-axis; rotating_ring's is ring_spiral.
def _anchor_parts(name, quick):
    if name == "maier_stein":
        ref = np.column_stack([np.linspace(-1, 1, 201), np.zeros(201)])
        return [
            StudyConfig(
                name="reactive",
                system=name,
                eps_grid=_grid(quick, (0.32, 0.16, 0.08), (0.32, 0.16, 0.08, 0.04)),
                sampler="reactive",
                sampler_options=dict(A="A", B="B", x0=[-0.9, 0.0], dt=2e-3),
                n_paths=100 if quick else 400,
                seed=5,
                instanton={"path": ref.tolist()},
                theory={"H": 0.0, "action": 0.25},
                n_boot=100 if quick else 400,
            )
        ]
    # rotating_ring: brute force is hopeless (p ~ exp(-(U(r_B) - U(x0)) / eps)), so AMS
    # from x0 = (0.7, 0), paths that reach B = {r < 0.3} before returning to A. The start
    # and B's radius make both end ratios small (ring_end_ratios); with the system's B
    # (r < 0.1) and x0 = (0.85, 0), rho_A = 3.4 and rho_B = 4.0 at eps = 0.04, and the
    # time the paths spend near B grew six-fold between eps = 0.04 and 0.00125, biasing
    # the fitted exponent low (0.43 [0.32, 0.50]). The reference is the spiral from x0 to
    # B's edge, the stretch that the paths traverse. 40 AMS runs in the full study: the
    # runs' weights p_hat are heavy-tailed (at eps = 0.0025 their effective number is a
    # quarter of the runs), and with 20 runs the bootstrap over runs gave standard errors
    # of the tube 0.6 times the spread between independent blocks of 20 runs.
    ref = ring_spiral(r_start=RING_X0, r_end=RING_RB, n=400)
    u = lambda r: (r**2 - 1) ** 2 / 4  # noqa: E731
    return [
        StudyConfig(
            name="ams",
            system=name,
            eps_grid=ring_eps_grid(),
            sampler="ams",
            sampler_options=dict(
                A="A",
                B={"kind": "ball", "center": [0.0, 0.0], "radius": RING_RB},
                x0=[RING_X0, 0.0],
                dt=2e-3,
                options={"n_runs": 10 if quick else 40},
            ),
            n_paths=20 if quick else 40,
            seed=5,
            instanton={"path": ref.tolist()},
            # -eps log P(reach B before A | x0) -> U(r_B) - U(x0), U(r) = (r^2 - 1)^2 / 4
            theory={"H": 0.0, "L": 0.0, "action": u(RING_RB) - u(RING_X0)},
            symmetry="L",
            n_boot=100 if quick else 400,
        )
    ]


# oscillator_ring, part phase_turn: the q = 1 twisted state of the N = 16 ring turned by 1 rad of
# its phase in T = 2 (validate._ring_phase). The end set is the half-space "phase of Z_1
# past a" (one linear condition in 32 dimensions): P is as rare as the turn, exp(-S / eps)
# with S = 1.602, and brute force reaches only eps >~ 0.3 (P = 0.03 at eps = 0.4), so the
# paths are importance-sampled along the instanton (the guided sampler of monostable), at
# dt = 0.01 (the Euler–Maruyama chain's action exceeds S by 9e-4). The levels start at
# eps = 0.05: the conditioned mean path lies ~ 6.6 eps (L2) from the instanton, which
# raises the tube's log-log slope above 1/2 by about g / 2, g = gap^2 / tube^2 (0.21 at
# eps = 0.1, 0.11 at 0.05, 0.05 at 0.0125; docs/networks.md). They stop at 0.003125: P =
# 2e-224 there, and below eps ~ 0.0022 it underflows double precision.
TURN_EPS_QUICK = (0.05, 0.025, 0.0125, 0.00625)
TURN_EPS_FULL = (0.05, 0.025, 0.0125, 0.00625, 0.003125)


@functools.cache
def _phase_turn():
    from ._ring_phase import phase_turn

    return phase_turn()


def _ring_phase_turn_parts(quick):
    from ._ring_phase import TURN_A, TURN_N, TURN_Q, TURN_T, phase_turn_normal

    turn = _phase_turn()
    # rounded: the configuration is the study's identity, compared as JSON on resume
    return [
        StudyConfig(
            name="phase_turn",
            system="oscillator_ring",
            params={"n": TURN_N},
            eps_grid=_grid(quick, TURN_EPS_QUICK, TURN_EPS_FULL),
            sampler="endpoint",
            sampler_options=dict(
                x0=f"twist_{TURN_Q}",
                T=TURN_T,
                target={
                    "kind": "halfspace",
                    "normal": phase_turn_normal(TURN_N, TURN_A, TURN_Q).round(12).tolist(),
                    "offset": 0.0,
                },
                dt=0.01,
                guide="instanton",
            ),
            n_paths=2000 if quick else 8000,
            seed=8,
            instanton=dict(x_start=f"twist_{TURN_Q}", x_end=turn.end.round(12).tolist(), T=TURN_T),
            # the exact values of the 2-D reduction (the 32-D instanton agrees to 1e-12)
            theory={k: round(getattr(turn, k), 10) for k in ("action", "U1", "H")},
            n_boot=100 if quick else 400,
        )
    ]


def _oscillator_ring_parts(quick):
    """The twist transition (validate._twist; docs/networks.md, docs/studies.md). A list:
    further parts (a finite-T transition) are appended to it."""
    g = twist_geometry()
    (m_a, r_a), (m_b, r_b) = TWIST_A, TWIST_B
    # rounded, as the phase turn's: the configuration is the study's identity, compared as
    # JSON on resume, and x0, the reference and the action come from an ODE solve
    return [
        StudyConfig(
            name="ams",
            system="oscillator_ring",
            eps_grid=twist_eps_grid(quick),
            sampler="ams",
            sampler_options=dict(
                A={"kind": "union", "sets": circle_balls(0, m_a, r_a)},
                B={"kind": "union", "sets": circle_balls(1, m_b, r_b)},
                x0=g.x0.round(12).tolist(),
                # the stiffest mode of the ring is -2 r^2 - 8 K sin^2 (about -10): dt |lambda|
                # = 0.05, and the charges' window (0.05) spans 10 steps
                dt=5e-3,
                options={
                    "n_runs": 6 if quick else 16,
                    "t_span": 200.0,
                    # |Z_1|^2 - |Z_0|^2: invariant under U(1) and the ring's translation
                    "reaction_coordinate": {
                        "kind": "zoo",
                        "name": "ring_fourier_power",
                        "params": [1.0],
                    },
                },
            ),
            # the standard errors come from the spread of the runs (their Kish effective
            # number - 1 degrees of freedom); a run's estimate has log-variance about
            # log(1/P) / replicas (8.6 / replicas at eps = 0.07), so too few replicas leave
            # one run dominant, and too few runs a bootstrap of too few runs: 3 runs of 8
            # covered beta in 0.70 of 20 seeds, 6 of 16 in 0.875 of 40 (docs/networks.md,
            # "Quick variant"; benchmarks/twist_quick_coverage.py)
            n_paths=16 if quick else 10,
            seed=6,
            instanton={"path": g.reference.round(12).tolist()},
            # gradient system: S = V(saddle) - V(x0), H = 0, U1 = 0 (p = grad V is
            # orthogonal to the rotation)
            theory={"H": 0.0, "U1": 0.0, "action": round(g.action, 10)},
            symmetry=["U1", "shift"],
            n_boot=100 if quick else 400,
        )
    ]


def parts(name: str, quick: bool = False) -> list[StudyConfig]:
    """The noise sweeps of the prebuilt study ``name`` (without their root folder)."""
    if name == "drift_diffusion":
        return _drift_diffusion_parts(quick)
    if name == "monostable":
        return _monostable_parts(quick)
    if name == "decision_memory":
        return _decision_memory_parts(quick)
    if name == "reverse_diffusion_ring":
        return _ring_parts(quick)
    if name in ("maier_stein", "rotating_ring"):
        return _anchor_parts(name, quick)
    if name == "oscillator_ring":
        return _oscillator_ring_parts(quick) + _ring_phase_turn_parts(quick)
    if name == "rates":
        return []  # its cases are validate._rates_study.cases
    raise ValueError(f"unknown study {name!r}; choose from {', '.join(STUDIES)}")


# --- the instantons of each study ---------------------------------------------------------


def instantons(name: str) -> dict:
    """The reference instantons of study ``name``: {label: Instanton} (cached on disk)."""
    if name == "monostable":
        s = zoo.monostable()
        return {f"T={T:g}": cached_instanton(s, "start", "end", T) for T in (1.0, 10.0)}
    if name == "decision_memory":
        s = zoo.decision_memory()
        return {
            "T=1": cached_instanton(s, "x_wins", "y_wins", 1.0),
            # T = 40: the global minimum waits near the intermediate attractor (2.35, 2.35);
            # the start through the origin finds the other local minimum.
            "T=40": cached_instanton(
                s, "x_wins", "y_wins", 40.0, waypoints=[[[2.35, 2.35]], [[0.0, 0.0]]]
            ),
        }
    if name == "reverse_diffusion_ring":
        s = zoo.reverse_diffusion_ring()
        T = float(s.t_span[1] - s.t_span[0])
        return {
            f"angle={lab}": cached_instanton(s, "start", f"ring_{lab}", T) for lab in RING_ANGLES
        }
    if name == "oscillator_ring":
        (cfg,) = _ring_phase_turn_parts(True)
        spec = cfg.instanton
        ring = zoo.get(cfg.system, **cfg.params)
        return {"phase_turn": cached_instanton(ring, spec["x_start"], spec["x_end"], spec["T"])}
    return {}


def instanton_table(insts: dict) -> pd.DataFrame:
    """One row per (instanton, local minimum, charge): action, charge mean and drift."""
    rows = []
    for label, inst in insts.items():
        for rank, m in enumerate(inst.minima or (inst,)):
            for r in m.charges.summary().itertuples():
                rows.append(
                    {
                        "instanton": label,
                        "minimum": rank,
                        "kind": "global" if rank == 0 else "local",
                        "T": m.T,
                        "action": m.action,
                        "charge": r.charge,
                        "value": r.mean,
                        "drift": r.drift,
                        "conserved_by_theory": r.conserved,
                        "converged": m.success,
                    }
                )
    return pd.DataFrame(rows)


def part_table(folder: Path, part: str, table: str) -> pd.DataFrame:
    """The table ``<folder>/<part>/<table>`` (Parquet; empty when absent or empty)."""
    return read_table(folder / part / table)


def drift_diffusion_exact(folder) -> pd.DataFrame:
    """Finite-noise checks against the exact image-sum solution: at each eps the sampled
    mean momentum and acceptance against :func:`validate.drift_diffusion_bridge`, judged
    by the verdict rule (docs/verdicts.md) on the interval estimate ± 1.96 se (no
    extrapolation, so no asymptotic-regime test)."""
    from ._references import drift_diffusion_bridge
    from ._report import Z95, verdict_row
    from ._samplers import window_at

    sm = part_table(folder, "sweep", "summary")
    opts = json.loads((Path(folder) / "sweep" / "config.json").read_text())["sampler_options"]
    rows = []
    for eps, g in sm.groupby("eps"):
        g = g.set_index("statistic")
        window = window_at(opts["window"], opts.get("window_exponent", 0.0), float(eps))
        ex = drift_diffusion_bridge(zoo.drift_diffusion(), float(eps), [0.0], window)
        for stat, exact, what in (
            ("charge_mean_p", ex.momentum_mean, "mean momentum"),
            ("probability", ex.acceptance, "acceptance"),
        ):
            if stat not in g.index:
                continue
            v, se = float(g.loc[stat, "value"]), float(g.loc[stat, "se"])
            rows.append(
                verdict_row(
                    part="sweep",
                    kind="exact",
                    quantity=f"{stat}@eps={eps:g}",
                    estimate=v,
                    se=se,
                    ci_low=v - Z95 * se,
                    ci_high=v + Z95 * se,
                    theory=exact,
                    eps=[eps],
                    asymptotic=None,
                    reason="finite-noise value, exact at this eps (image sums)",
                    what=f"eps = {eps:g}: {what}",
                    detail=f"z = {(v - exact) / se:.1f}",
                )
            )
    return pd.DataFrame(rows)
