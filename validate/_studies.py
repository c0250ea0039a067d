"""The prebuilt studies: the paper's experiments and the literature anchors, end to end.

``run_study(name, quick=..., out=..., n_jobs=...)`` writes ``<out>/<name>/``:

- one folder per part (a :class:`validate.Study` noise sweep: ``config.json``, tidy
  tables ``summary.parquet``, ``charges.parquet``, ``profile.parquet``,
  ``paths.parquet``, ``scaling.parquet`` and ``figures/``; see ``docs/data.md``),
- ``instantons.csv`` (every reference instanton: action and charges with their drift),
- ``figures/`` with the paper's figure as this project reproduces it,
- ``verdicts.csv`` and ``report.md`` (:func:`validate.write_report`): whether the charges
  and tubes converge to theory, with uncertainty.

Studies (one per system of the zoo, :mod:`simulate.zoo`; conventions of docs/conventions.md,
dX = f dt + sqrt(2 eps D) dW, eps = 1 the paper's noise):

- ``drift_diffusion``: Fig. 1a (paths hitting -1 at a time in [0.95, 1] against the
  straight least-action path, momentum p = -1.6), then its noise sweep;
- ``monostable``: the T = 1 and T = 10 instantons from (-2, 2) to (2, 2) (Fig. 1b), with
  importance-sampled endpoint-conditioned ensembles around both (H and L);
- ``decision_memory``: the T = 1 and T = 40 instantons, global and local minima
  (Fig. 1c), and A -> B reactive transitions by AMS below the paper's noise;
- ``reverse_diffusion_ring``: Fig. 2, reverse-diffusion paths from (0, 10) conditioned on
  their data-end angle (pi/4, 0, -pi/4, -pi/2), angular momentum against the instantons;
- ``maier_stein``, ``rotating_ring``: reactive transitions against exact instantons
  (brute force for maier_stein; AMS for rotating_ring at the levels where
  :func:`ring_end_ratios` <= 1/3: eps = 0.02 ... 0.00125);
- ``paper``: the four paper studies in one folder with one report.
"""

from __future__ import annotations

import json
import shutil
import time
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd

from simulate import zoo

from ._data_dictionary import write_readme
from ._instanton_cache import cached_instanton
from ._study import (
    Study,
    StudyConfig,
    atomic_write,
    clear_stale_temporaries,
    read_table,
    write_csv,
)

DD_NOTE = """**drift_diffusion.** The paper keeps paths absorbed at -1 at a time tau in
[0.95, 1]; their path-mean momentum is ((-1 - 0.5)/tau - 0.1)/sigma^2, between -1.679 and
-1.6. It reaches the T = 1 instanton's -1.6 only when eps << 0.05 (the window's width in
units of H = 1.12), far below the levels sampled here, so the `charge p` verdict against
-1.6 is expected to fail; the `exact` rows compare the sampled momentum and acceptance with
the exact finite-noise image-sum solution at each eps instead.
"""

PAPER = ("drift_diffusion", "monostable", "decision_memory", "reverse_diffusion_ring")


def _stop_set(spec):
    """A set from its JSON form {"kind": "ball", "center": [...], "radius": r}, or as is."""
    if isinstance(spec, dict):
        from simulate import Ball

        if spec.get("kind") != "ball":
            raise ValueError(f"only ball sets can be given as JSON, got {spec!r}")
        return Ball(np.asarray(spec["center"], dtype=float), float(spec["radius"]))
    return spec


class ReferenceStudy(Study):
    """A :class:`Study` whose reference instanton comes from the on-disk cache and whose
    sampler's sets A, B may be given as JSON balls."""

    def sampler(self, reference):
        opts = dict(self.config.sampler_options)
        if any(isinstance(opts.get(k), dict) for k in ("A", "B")):
            from ._samplers import make_sampler

            opts = {k: _stop_set(v) if k in ("A", "B") else v for k, v in opts.items()}
            return make_sampler(self.config.sampler, **opts)
        return super().sampler(reference)

    def reference(self, system):
        spec = dict(self.config.instanton)
        if not spec or "path" in spec:
            return super().reference(system)
        return cached_instanton(
            system, spec.pop("x_start"), spec.pop("x_end"), spec.pop("T"), **spec
        )


@dataclass(frozen=True)
class StudyRun:
    """What a prebuilt study wrote: its folder, parts, figures, report and timing."""

    name: str
    folder: Path
    parts: tuple
    figures: tuple
    report: Path
    seconds: float
    verdicts: pd.DataFrame

    def summary(self) -> str:
        ok = self.verdicts["converges"].astype("boolean")
        lines = [
            f"study {self.name}: {len(self.parts)} noise sweeps in {self.seconds:.0f} s",
            f"  verdicts: {int(ok.sum())} of {int(ok.notna().sum())} checks consistent "
            "with theory (see the report)",
            f"  tables:  {self.folder}/<part>/*.parquet (columns: README.md)",
            f"  figures: {len(self.figures)} PNG files under {self.folder}",
            f"  report:  {self.report}",
        ]
        return "\n".join(lines)


# --- the parts of each study ------------------------------------------------------------


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
                dt=0.005,
                save=5,
                window=[0.95, 1.0],
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


# decision_memory: the piecewise-linear limit (n -> 0) of the drift gives the exact
# reactive instanton from the x-wins attractor (3.25, 0.35) to the y-wins one (0.35, 3.25):
# uphill straight to the switching line y = c = 1.5, downhill to the intermediate attractor
# (2.35, 2.35), uphill to x = 1.5, downhill to (0.35, 3.25); H = 0 along it. Barrier of
# the first hop (1.15^2 / (2 * 0.16) = 4.13), minus the quasi-potential of the start x0.
_DM_REF = np.array([[3.25, 0.35], [3.25, 1.5], [2.35, 2.35], [1.5, 2.35], [0.35, 3.25]])
_DM_X0 = [3.25, 0.65]


def _polyline(points, n=400):
    seg = np.linalg.norm(np.diff(points, axis=0), axis=1)
    s = np.concatenate([[0.0], np.cumsum(seg)])
    u = np.linspace(0.0, s[-1], n)
    return np.column_stack([np.interp(u, s, c) for c in points.T])


def _decision_memory_parts(quick):
    v0 = np.sum((np.array(_DM_X0) - _DM_REF[0]) ** 2) / (2 * 0.16)
    return [
        StudyConfig(
            name="ams",
            system="decision_memory",
            eps_grid=_grid(quick, (0.6, 0.45, 0.35), (0.6, 0.45, 0.35, 0.25)),
            sampler="ams",
            sampler_options=dict(
                A={"kind": "ball", "center": [3.25, 0.35], "radius": 0.25},
                B={"kind": "ball", "center": [0.35, 3.25], "radius": 0.25},
                x0=_DM_X0,
                dt=0.01,
                options={"n_runs": 6 if quick else 10, "t_span": 2000.0},
            ),
            n_paths=40 if quick else 100,
            seed=3,
            instanton={"path": _polyline(_DM_REF).tolist()},
            theory={"H": 0.0, "action": float(1.15**2 / (2 * 0.16) - v0)},
            window=0.1,
            n_boot=100 if quick else 400,
        )
    ]


RING_ANGLES = {"pi/4": np.pi / 4, "0": 0.0, "-pi/4": -np.pi / 4, "-pi/2": -np.pi / 2}


def _ring_parts(quick):
    ring = zoo.reverse_diffusion_ring()
    T = float(ring.t_span[1] - ring.t_span[0])
    out = []
    for label, angle in RING_ANGLES.items():
        out.append(
            StudyConfig(
                name=f"angle={label.replace('/', '_')}",
                system="reverse_diffusion_ring",
                eps_grid=_grid(quick, (1.0, 0.5, 0.25), (1.0, 0.5, 0.25, 0.125, 0.0625)),
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
                n_paths=1000 if quick else 3000,
                seed=4,
                instanton=dict(x_start="start", x_end=f"ring_{label}", T=T),
                window=0.25,
                n_boot=100 if quick else 400,
            )
        )
    return out


# Exact references of the literature anchors:
# maier_stein at alpha = mu = 1 is a gradient system whose instanton from (-1, 0) to (1, 0)
# runs along the x-axis; rotating_ring's instanton solves xdot = grad U + omega J x
# (r' = r (r^2 - 1), theta' = omega), so H = 0 and L = 0 on it.
def _ring_spiral(omega=1.0, r_start=0.9, r_end=0.1, n=2000):
    """The rotating_ring instanton from radius r_start (at angle 0) to r_end: the spiral
    theta(r) - theta(r_start) = -omega [log r - log(1 - r^2) / 2]_{r_start}^{r}."""
    r = np.linspace(r_start, r_end, n)
    theta = -omega * (np.log(r) - 0.5 * np.log(1 - r**2))
    theta -= theta[0]
    return np.column_stack([r * np.cos(theta), r * np.sin(theta)])


# rotating_ring reactive paths: AMS start x0 = (RING_X0, 0), A the system's shell
# r >= RING_RA, B the ball r < RING_RB; the noise levels are those of RING_EPS whose end
# ratios (ring_end_ratios) are at most RING_MAX_RATIO.
RING_X0, RING_RA, RING_RB = 0.7, 0.9, 0.3
RING_EPS = (0.04, 0.02, 0.01, 0.005, 0.0025, 0.00125)
RING_MAX_RATIO = 1.0 / 3.0


def ring_end_ratios(eps, r0=RING_X0, r_a=RING_RA, r_b=RING_RB):
    """How far rotating_ring's reactive paths are from their small-noise regime at the two
    ends, for U(r) = (r^2 - 1)^2 / 4 (|U'(r)| = r (1 - r^2) is the instanton's speed):

    - rho_A = eps / ((r_a - r0) |U'(r0)|): the boundary layer of A, of width eps / |U'|,
      against the distance of the start from A. Inside it the conditioning on not
      returning to A (drift 2 eps grad log q, q the committor) outruns the instanton and
      the paths leave the start faster than the instanton does;
    - rho_B = eps / (r_b^2 (1 - r_b^2)): the radial Ito drift eps / r of the 2-D motion
      against the instanton's speed at B's edge; where it dominates, paths fall into B
      faster than the instanton.

    Because the angle is a neutral (symmetry) direction, its fluctuation is a random walk
    that integrates the time spent everywhere before, so a distorted time at either end
    changes the tube along the whole path, not only near the sets. The eps^(1/2) tube
    needs rho_A, rho_B << 1. Returns (rho_A, rho_B)."""
    eps = np.asarray(eps, dtype=float)
    speed = lambda r: r * (1.0 - r**2)  # noqa: E731
    return eps / ((r_a - r0) * speed(r0)), eps / (r_b * speed(r_b))


def _ring_eps_grid():
    """The levels of RING_EPS in the small-noise regime: max(rho_A, rho_B) <= RING_MAX_RATIO."""
    return tuple(e for e in RING_EPS if max(ring_end_ratios(e)) <= RING_MAX_RATIO)


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
    ref = _ring_spiral(r_start=RING_X0, r_end=RING_RB, n=400)
    u = lambda r: (r**2 - 1) ** 2 / 4  # noqa: E731
    return [
        StudyConfig(
            name="ams",
            system=name,
            eps_grid=_ring_eps_grid(),
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


# --- running ------------------------------------------------------------------------------


def _run_parts(folder: Path, configs, n_jobs, bar, quick) -> list[Path]:
    done = []
    for cfg in configs:
        cfg = replace(cfg, root=str(folder))
        study = ReferenceStudy(cfg)
        on_level = None
        if bar is not None:
            bar.set_postfix_str(f"{folder.name}/{cfg.name}")
            bar.update(len(cfg.eps_grid) - len(study.missing()))  # resumed levels count
            on_level = lambda eps: bar.update(1)  # noqa: E731 - as each level finishes
        study.run(n_jobs=n_jobs, figures=True, on_level=on_level)
        done.append(study.folder)
    return done


def run_study(
    name: str,
    *,
    quick: bool = False,
    out="data/studies",
    n_jobs: int = 1,
    progress: bool = True,
    fresh: bool = False,
    _bar=None,
) -> StudyRun:
    """Run the prebuilt study ``name`` (see the module docstring) into ``<out>/<name>/``.

    Finished noise levels already on disk are kept (an interrupted study resumes);
    ``fresh=True`` removes the folder first. ``quick`` uses fewer levels and paths (the
    README's main job). Returns a :class:`StudyRun`.
    """
    if name not in STUDIES:
        raise ValueError(f"unknown study {name!r}; choose from {', '.join(STUDIES)}")
    t0 = time.time()
    folder = Path(out) / name
    if fresh and folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True, exist_ok=True)
    clear_stale_temporaries(folder)
    if name == "paper":
        return _run_paper(folder, quick, n_jobs, progress, t0)
    configs = parts(name, quick)
    own_bar = None
    if _bar is None and progress:
        from tqdm.auto import tqdm

        own_bar = _bar = tqdm(total=sum(len(c.eps_grid) for c in configs), desc=name, unit="level")
    try:
        part_dirs = _run_parts(folder, configs, n_jobs, _bar, quick)
    finally:
        if own_bar is not None:
            own_bar.close()
    insts = instantons(name)
    if insts:
        write_csv(instanton_table(insts), folder / "instantons.csv")
    if name == "drift_diffusion":
        write_csv(_drift_diffusion_exact(folder), folder / "extra_verdicts.csv")
        atomic_write(folder / "notes.md", lambda tmp: Path(tmp).write_text(DD_NOTE))
    figs = paper_figures(name, folder, insts)
    atomic_write(
        folder / "study.json",
        lambda tmp: Path(tmp).write_text(
            json.dumps({"study": name, "quick": quick, "parts": [p.name for p in part_dirs]})
        ),
    )
    from ._report import write_report

    write_readme(folder, "study")
    report, verdicts = write_report(folder)
    all_figs = tuple(sorted(folder.rglob("*.png")))
    del figs
    return StudyRun(name, folder, tuple(part_dirs), all_figs, report, time.time() - t0, verdicts)


def _run_paper(folder, quick, n_jobs, progress, t0) -> StudyRun:
    total = sum(len(c.eps_grid) for n in PAPER for c in parts(n, quick))
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=total, desc="paper", unit="level")
    runs = []
    try:
        for n in PAPER:
            runs.append(run_study(n, quick=quick, out=folder, n_jobs=n_jobs, _bar=bar))
    finally:
        if bar is not None:
            bar.close()
    atomic_write(
        folder / "study.json",
        lambda tmp: Path(tmp).write_text(
            json.dumps({"study": "paper", "quick": quick, "parts": list(PAPER)})
        ),
    )
    from ._report import write_report

    write_readme(folder, "study")
    report, verdicts = write_report(folder)
    parts_ = tuple(p for r in runs for p in r.parts)
    figs = tuple(sorted(folder.rglob("*.png")))
    return StudyRun("paper", folder, parts_, figs, report, time.time() - t0, verdicts)


STUDIES = {
    "drift_diffusion": "momentum; the paper's Fig. 1a, then its noise sweep",
    "monostable": "energy and angular momentum, T = 1 and T = 10 (Fig. 1b)",
    "decision_memory": "energy; T = 1 and T = 40 instantons (Fig. 1c), AMS transitions",
    "reverse_diffusion_ring": "angular momentum in reverse diffusion (Fig. 2)",
    "maier_stein": "literature anchor: reactive transitions, gradient case",
    "rotating_ring": "literature anchor: non-gradient, rotation symmetry",
    "paper": "the four paper studies in one run, with one report",
}


# --- the paper's figures --------------------------------------------------------------------


def _load(folder: Path, part: str, table: str) -> pd.DataFrame:
    return read_table(folder / part / table)


def paper_figures(name: str, folder: Path, insts: dict) -> list[Path]:
    """Draw the study's headline figure(s) into ``folder/figures``."""
    import matplotlib.pyplot as plt  # the caller's backend (Agg where there is no display)

    from . import _plotting as P

    out = []

    def save(fig, stem):
        path = folder / "figures" / f"{stem}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        fig.tight_layout()
        atomic_write(path, lambda tmp: fig.savefig(tmp, dpi=100, format="png"))
        plt.close(fig)
        out.append(path)

    if name == "drift_diffusion":
        fig, axes = plt.subplots(1, 3, figsize=(15, 4))
        _fig1a(folder, axes, P)
        save(fig, "fig1a_drift_diffusion")
    elif name == "monostable":
        fig, axes = plt.subplots(1, 3, figsize=(15, 4.2))
        for k, (label, inst) in enumerate(insts.items()):
            part = label
            paths = _load(folder, part, "paths")
            if len(paths):
                small = paths[paths["eps"] == paths["eps"].min()]
                P.plot_paths_2d(small, ax=axes[0], color=f"C{k}", n_max=15, alpha=0.3)
            P.plot_instanton(
                inst.to_frame(), ax=axes[0], color=f"C{k}", label=f"{label}, S = {inst.action:.4g}"
            )
        P.plot_vector_field(zoo.monostable(), ax=axes[0], lim=((-2.6, 2.6), (-0.6, 2.6)))
        axes[0].set_title("Fig. 1b: instantons (-2, 2) -> (2, 2), paths at the smallest eps")
        for j, ch in enumerate(("H", "L")):
            for k, label in enumerate(insts):
                s = _load(folder, label, "summary")
                if len(s):
                    P.plot_charge_convergence(
                        s, ch, ax=axes[1 + j], color=f"C{k}", label=f"{label}: {ch} ± 2 se"
                    )
            axes[1 + j].set_title(f"{ch}: sampled path means -> instanton values")
        save(fig, "fig1b_monostable")
    elif name == "decision_memory":
        fig, axes = plt.subplots(1, 2, figsize=(11, 4.8))
        s = zoo.decision_memory()
        for k, (label, inst) in enumerate(insts.items()):
            fr = inst.to_frame()
            for rank, m in enumerate(inst.minima or (inst,)):
                kind = "global" if rank == 0 else "local"
                P.plot_instanton(
                    fr[fr["minimum"] == rank].assign(minimum=0),
                    ax=axes[0],
                    color=f"C{k}",
                    ls="-" if rank == 0 else ":",
                    label=f"{label} {kind}: S = {m.action:.4g}, H = {m.charges.mean('H'):.3g}",
                )
        paths = _load(folder, "ams", "paths")
        if len(paths):
            P.plot_paths_2d(
                paths[paths["eps"] == paths["eps"].min()],
                ax=axes[0],
                n_max=10,
                color="C2",
                alpha=0.4,
            )
        axes[0].plot(
            _DM_REF[:, 0], _DM_REF[:, 1], "k--", lw=1, label="reactive instanton (T = inf)"
        )
        axes[0].legend(fontsize=7)
        P.plot_vector_field(s, ax=axes[0], lim=((-0.2, 3.8), (-0.2, 3.8)))
        axes[0].set_title("Fig. 1c: decision-memory instantons (3, 0.1) -> (0.1, 3)")
        sm = _load(folder, "ams", "summary")
        if len(sm):
            P.plot_charge_convergence(sm, "H", ax=axes[1], label="AMS reactive paths: H ± 2 se")
            axes[1].set_title("energy of reactive A -> B paths (AMS) -> 0")
        save(fig, "fig1c_decision_memory")
    elif name == "reverse_diffusion_ring":
        fig, axes = plt.subplots(1, 2, figsize=(12, 5))
        _fig2(folder, insts, axes, P)
        save(fig, "fig2_reverse_diffusion")
    return out


def _drift_diffusion_exact(folder) -> pd.DataFrame:
    """Finite-noise checks against the exact image-sum solution: at each eps the sampled
    mean momentum and acceptance against :func:`validate.drift_diffusion_bridge`."""
    from ._references import drift_diffusion_bridge

    sm = _load(folder, "sweep", "summary")
    rows = []
    for eps, g in sm.groupby("eps"):
        g = g.set_index("statistic")
        ex = drift_diffusion_bridge(zoo.drift_diffusion(), float(eps), np.linspace(0, 0.9, 10))
        for stat, exact, what in (
            ("charge_mean_p", ex.momentum_mean, "mean momentum"),
            ("probability", ex.acceptance, "acceptance"),
        ):
            if stat not in g.index:
                continue
            v, se = float(g.loc[stat, "value"]), float(g.loc[stat, "se"])
            z = (v - exact) / se
            rows.append(
                {
                    "part": "sweep",
                    "kind": "exact",
                    "quantity": f"{stat}@eps={eps:g}",
                    "estimate": v,
                    "se": se,
                    "ci_low": v - 2 * se,
                    "ci_high": v + 2 * se,
                    "theory": exact,
                    "eps_min": eps,
                    "eps_max": eps,
                    "n_levels": 1,
                    "converges": bool(abs(z) < 3),
                    "statement": f"eps = {eps:g}: {what} {v:.5g} ± {se:.2g} vs exact (image "
                    f"sums) {exact:.5g}, z = {z:.1f}",
                }
            )
    return pd.DataFrame(rows)


def _fig1a(folder, axes, P):
    from ._references import drift_diffusion_bridge

    paths, prof = _load(folder, "sweep", "paths"), _load(folder, "sweep", "profile")
    ch, sm = _load(folder, "sweep", "charges"), _load(folder, "sweep", "summary")
    if not len(prof):
        return
    e0 = float(prof["eps"].max())
    P.plot_tube(paths[paths["eps"] == e0], prof[prof["eps"] == e0], ax=axes[0], coord=0)
    t = np.linspace(0, 0.95, 40)
    exact = drift_diffusion_bridge(zoo.drift_diffusion(), e0, t)
    axes[0].plot(t, exact.mean, color="C3", lw=1.5, label="exact conditioned mean (images)")
    axes[0].legend(fontsize=7)
    axes[0].set_title(f"Fig. 1a: hit -1 at t in [0.95, 1], eps = {e0:g}")
    sub = ch[(ch["charge"] == "p") & (ch["eps"] == e0)]
    import seaborn as sns

    sns.histplot(sub["mean"], ax=axes[1], stat="density", color="C0", bins=30)
    axes[1].axvline(-1.6, color="k", ls="--", label="instanton p = -1.6")
    axes[1].axvline(exact.momentum_mean, color="C3", label=f"exact mean {exact.momentum_mean:.3f}")
    axes[1].set(xlabel="path mean of p", title=f"momentum across {len(sub)} paths, eps = {e0:g}")
    axes[1].legend(fontsize=7)
    P.plot_charge_convergence(sm, "p", ax=axes[2])
    axes[2].set_title("momentum -> -1.6 as eps -> 0")


def _fig2(folder, insts, axes, P):
    import matplotlib.pyplot as plt

    th = np.linspace(0, 2 * np.pi, 200)
    axes[0].plot(5 * np.cos(th), 5 * np.sin(th), color="0.3", lw=1)
    axes[0].plot([0, 0], [10, 5], "k--", lw=1.5, label="probability-flow ODE path (L = 0)")
    rows = []
    for k, (label, inst) in enumerate(insts.items()):
        part = label.replace("/", "_")
        paths = _load(folder, part, "paths")
        if len(paths):
            P.plot_paths_2d(
                paths[paths["eps"] == paths["eps"].min()],
                ax=axes[0],
                color=f"C{k}",
                n_max=8,
                alpha=0.35,
            )
        P.plot_instanton(
            inst.to_frame(),
            ax=axes[0],
            color=f"C{k}",
            label=f"{label}: L = {inst.charges.mean('L'):.3g}",
        )
        ch = _load(folder, part, "charges")
        if len(ch):
            sub = ch[ch["charge"] == "L"].copy()
            sub["angle"] = label.split("=")[1]
            sub["theory"] = inst.charges.mean("L")
            rows.append(sub)
    axes[0].set(
        aspect="equal", xlim=(-9, 9), ylim=(-8, 12), title="Fig. 2: reverse diffusion from (0, 10)"
    )
    axes[0].legend(fontsize=7, loc="lower left")
    if rows:
        import seaborn as sns

        df = pd.concat(rows, ignore_index=True)
        df["eps"] = df["eps"].map(lambda e: f"{e:g}")
        sns.boxplot(data=df, x="angle", y="mean", hue="eps", ax=axes[1], showfliers=False)
        th_ = df.groupby("angle", sort=False)["theory"].first()
        axes[1].scatter(
            range(len(th_)), th_.values, marker="_", s=900, color="k", zorder=5, label="instanton L"
        )
        axes[1].set(
            ylabel="path mean of L = x p_y - y p_x",
            title="angular momentum vs the instantons as eps shrinks",
        )
        axes[1].legend(fontsize=7, title="eps")
    del plt
