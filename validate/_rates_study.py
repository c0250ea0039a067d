"""The rates study (``noisy-noether study rates [--quick]``): measured mean transition times
against the small-noise prediction E tau ≈ C e^{ΔV/eps} of :func:`theory.rate`.

Convention (docs/conventions.md): dX = f dt + sqrt(2 eps D) dW; ΔV and C as in
docs/rates.md. For each case a noise sweep of E tau from the attractor ``x_min`` to a ball
around the attractor beyond the saddle (:func:`validate.mean_time`: brute force with
censored passages at the larger eps, the AMS loop decomposition at the smaller), then two
checks judged by the one rule of docs/verdicts.md (:func:`validate._report.judge`):

- ``prefactor``: y = E tau e^{-ΔV/eps} = C (1 + a eps + O(eps^2)), extrapolated by the
  weighted line y0 + b eps;
- ``barrier``: y = eps log E tau = ΔV + eps log C + eps log(1 + a eps + ...) =
  ΔV + eps log C + a eps^2 + O(eps^3) (no eps log eps term: the prefactor of a mean exit
  time over a non-degenerate saddle is eps-independent at leading order), extrapolated by
  the weighted quadratic y0 + b eps + c eps^2 (four or more levels; with three, the line),
  the model that matches the prefactor's line (a line would miss the a eps^2 term:
  through the double well's exact mean times at the full study's levels, with the
  measured errors, it extrapolates to 0.2441 ± 0.0020, excluding 1/4; the quadratic to
  0.2472);
  se(y) = eps se(E tau) / E tau.

The limits' intervals are :func:`validate._scaling.limit_interval`'s (t quantile with
Welch–Satterthwaite degrees of freedom from each level's ``dof``: inf for brute force,
the Kish effective number of AMS runs minus one), the regime test
:func:`validate._report.regime` (chi-square of the line at 1 %). For the 1-D double well
each level is also compared with the exact mean first-passage time by quadrature
(:func:`validate._references.mean_first_passage_1d`; ``exact`` rows, the level's own
interval).

Each case writes ``<folder>/<case>/case.json`` (its configuration; a different one is
refused), ``levels/eps=<eps>.parquet`` while it runs (an interrupted study resumes) and
``times.parquet`` at the end (docs/data.md).
"""

from __future__ import annotations

import json
import math
import shutil
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from simulate import zoo

from ._mean_times import mean_time
from ._references import mean_first_passage_1d
from ._report import VERDICT_COLUMNS, regime, verdict_row
from ._scaling import limit_interval
from ._study import atomic_write, check_same_study, read_table, write_csv, write_table

RATES_NOTE = """**rates.** Measured mean transition times E tau (validate.mean_time: brute
force with censored passages at the larger eps, the AMS loop decomposition at the smaller)
against theory.rate's E tau ≈ C e^{dV/eps}. Checks: E tau e^{-dV/eps} -> C by a weighted
line in eps, and eps log E tau -> dV by a weighted quadratic dV + eps log C + a eps^2 (a
line with three levels; no eps log eps term for a mean exit time); for the 1-D double
well, each level against the exact mean first-passage time by quadrature. Method and
measurements: docs/rates.md.
"""


@dataclass(frozen=True)
class RateLevel:
    """One noise level of a case: ``method`` and its :func:`validate.mean_time` keywords.
    Brute force: ``n_paths``, and ``t_max``/``t_tail`` in units of the predicted E tau
    (``t_max`` = 5 predicted times, the exponential tail from one)."""

    eps: float
    method: str
    options: dict = field(default_factory=dict)


@dataclass(frozen=True)
class RateCase:
    """A system, its attractor ``x_min`` and index-1 saddle (state names), the target
    (the ball of radius ``target_frac`` |saddle - beyond| around the attractor ``beyond``;
    in 1-D the half-line from ``beyond`` on), the AMS sets (A: the ball of radius
    ``a_radius`` around x_min; Sigma: the level set of the reaction coordinate u.x through
    x_min + ``sigma_frac`` (saddle - x_min), see :func:`_sets`), the levels, time step and
    seed."""

    name: str
    system: str
    params: dict
    x_min: str
    x_saddle: str
    beyond: str
    levels: tuple
    dt: float = 1e-3
    seed: int = 0
    target_frac: float = 0.5
    a_radius: float = 0.1
    sigma_frac: float = 0.2
    exact_1d: bool = False

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)


def _brute(n, t_max=5.0, t_tail=1.0):
    return dict(n_paths=n, t_max=t_max, t_tail=t_tail)


def _ams(runs, replicas, loops):
    return dict(n_runs=runs, n_replicas=replicas, n_loops=loops)


#: The quick study's levels: brute force where the double well's exact E tau e^{-dV/eps}
#: already falls with eps (its line through the exact values extrapolates to 1.04 C; from
#: 0.25, 0.18, 0.13, where the ratio is 1.18, 1.25, 1.25, to 1.34 C), four of them so that
#: the barrier takes the quadratic (the line's eps^2 bias is -0.012 here, about one
#: standard error): docs/rates.md, "Rates study".
QUICK_EPS = (0.12, 0.1, 0.08, 0.065)


def cases(quick: bool = False) -> list[RateCase]:
    """The rates study's cases (maier_stein, alpha = mu = 1, in the full study only).
    Quick: brute force at :data:`QUICK_EPS` (400 paths in 1-D, 200 in 2-D; seconds
    each); full: brute force at eps = 0.14, 0.1, 0.07 and the AMS loop decomposition at
    0.05, 0.035, 0.025 (docs/rates.md: the double well's exact E tau e^{-dV/eps} / C is
    1.26, 1.22, 1.16, 1.11, 1.07, 1.04 there; the line through those six exact values
    extrapolates to C within 1 %)."""
    if quick:

        def grid(n):
            return tuple(RateLevel(e, "brute", _brute(n)) for e in QUICK_EPS)

        runs = {"double_well": grid(400), "anisotropic_well": grid(200)}
    else:
        brute = tuple(RateLevel(e, "brute", _brute(400)) for e in (0.14, 0.1, 0.07))

        def ams(n_runs):
            return brute + tuple(
                RateLevel(e, "ams", _ams(n_runs, 100, 1000)) for e in (0.05, 0.035, 0.025)
            )

        # 30 runs in 2-D with the non-diagonal D: its AMS run weights are heavier-tailed
        # (Kish effective number 12 of 20 runs at eps = 0.05)
        runs = {"double_well": ams(20), "anisotropic_well": ams(30), "maier_stein": ams(20)}
    out = [
        RateCase("double_well", "double_well", {}, "left", "saddle", "right",
                 runs["double_well"], exact_1d=True),
        RateCase("anisotropic_well", "anisotropic_well", {}, "left", "saddle", "right",
                 runs["anisotropic_well"], seed=1),
    ]  # fmt: skip
    if not quick:  # gradient at alpha = mu = 1 (C = pi, dV = 1/4); minutes: full only
        out.append(
            RateCase(
                "maier_stein",
                "maier_stein",
                {"alpha": 1.0, "mu": 1.0},
                "left",
                "saddle",
                "right",
                runs["maier_stein"],
                seed=2,
            )
        )
    return out


def _sets(case: RateCase, system):
    """(target, A, sigma, reaction coordinate) of ``case``. The AMS reaction coordinate is
    the linear xi(x) = u.x, u the left eigenvector of Df(s) for its unstable eigenvalue
    (towards ``beyond``): near the saddle the committor is a function of u.(x - s) (the
    linearised dynamics), which is not the direction of the path when D is not a multiple
    of the identity (39 degrees apart in anisotropic_well); Sigma is one of its level sets."""
    from simulate import Ball, HalfSpace, Interval, distance_to

    m, s, b = (np.asarray(system.point(k), dtype=float) for k in (case.x_min, case.x_saddle,
                                                                  case.beyond))  # fmt: skip
    w, U = np.linalg.eig(system.jacobian(s).T)
    u = np.real(U[:, int(np.argmax(w.real))])
    u *= np.sign(u @ (b - s)) / np.linalg.norm(u)
    surface = float(u @ (m + case.sigma_frac * (s - m)))
    if system.dim == 1:  # half-lines: the target is everything beyond the attractor b
        up = u[0] > 0
        target = Interval(b[0], np.inf) if up else Interval(-np.inf, b[0])
        a_edge = m[0] + case.a_radius * u[0]
        A = Interval(-np.inf, a_edge) if up else Interval(a_edge, np.inf)
    else:
        target = Ball(b, case.target_frac * float(np.linalg.norm(s - b)))
        A = Ball(m, case.a_radius)
    sigma = HalfSpace(u, surface)
    # minus the signed distance to {u.x >= u.s}: u.x - u.s
    return target, A, sigma, distance_to(HalfSpace(u, float(u @ s)))


def _level_path(folder: Path, eps: float) -> Path:
    return folder / "levels" / f"eps={eps!r}.parquet"


def run_level(case: RateCase, level: RateLevel, system, theory, n_jobs: int = 1) -> pd.DataFrame:
    """One row of ``times.parquet``: the measured E tau at ``level`` with the prediction
    C e^{ΔV/eps} (and, for a 1-D case, the exact mean first-passage time)."""
    from ._coverage import rep_seed

    target, A, sigma, xi = _sets(case, system)
    eps = float(level.eps)
    predicted = theory.mean_time(eps)
    kw = dict(level.options)
    if level.method == "brute":
        kw["t_max"] = kw["t_max"] * predicted
        kw["t_tail"] = kw["t_tail"] * predicted
    else:
        kw.update(A=A, sigma=sigma, reaction_coordinate=xi)
    start = time.perf_counter()
    mt = mean_time(system, case.x_min, target, eps, method=level.method, dt=case.dt,
                   seed=rep_seed(case.seed, int(round(eps * 1e6))), n_jobs=n_jobs,
                   **kw)  # fmt: skip
    seconds = time.perf_counter() - start
    exact = math.nan
    if case.exact_1d:  # reflecting at x_min - (beyond - x_min), where e^{-U/eps} is negligible
        m, b = (float(system.point(k)[0]) for k in (case.x_min, case.beyond))
        exact = mean_first_passage_1d(system, m, b, eps)
    row = mt.to_frame().drop(columns=["system"])
    row.insert(0, "case", case.name)
    row.insert(1, "system", case.system)
    return row.assign(predicted=predicted, exact=exact, seconds=seconds)


def rate_verdicts(times: pd.DataFrame, barrier: float, prefactor: float, part: str) -> pd.DataFrame:
    """The checks of one case's ``times`` table (module docstring), judged by the rule of
    docs/verdicts.md: ``barrier`` (eps log E tau -> ΔV) and ``prefactor``
    (E tau e^{-ΔV/eps} -> C), each the weighted line's eps -> 0 limit with its t interval
    and the line's chi-square regime test; and one ``exact`` row per level with an exact
    mean time (the level's own interval, no extrapolation)."""
    ok = times[np.isfinite(times["estimate"]) & (times["estimate"] > 0)].sort_values("eps")
    eps = ok["eps"].to_numpy(dtype=float)
    est, se = ok["estimate"].to_numpy(dtype=float), ok["se"].to_numpy(dtype=float)
    dof = ok["dof"].to_numpy(dtype=float)
    rows = []
    if len(ok):
        scale = np.exp(-barrier / eps)
        # the quadratic needs a fourth level to leave the regime test a degree of freedom
        # (and not to amplify three levels' errors into the limit): with three, the line
        quad = eps.size >= 4
        for kind, quantity, y, y_se, theory, model, what in (
            ("barrier", "dV", eps * np.log(est), eps * se / est, barrier,
             "quadratic" if quad else "linear",
             f"eps log E tau -> dV ({'a + b eps + c eps^2' if quad else 'a + b eps'}), dV"),
            ("prefactor", "C", est * scale, se * scale, prefactor, "linear",
             "E tau e^{-dV/eps} -> C (a + b eps), C"),
        ):  # fmt: skip
            lim, lim_se, lo, hi, nu = limit_interval(eps, y, y_se, dof, model)
            asym, reason = regime(eps, y, y_se, "quadratic" if model == "quadratic" else "line")
            rows.append(
                verdict_row(
                    part=part,
                    kind=kind,
                    quantity=quantity,
                    estimate=lim,
                    se=lim_se,
                    ci_low=lo,
                    ci_high=hi,
                    theory=theory,
                    eps=eps,
                    asymptotic=asym,
                    reason=reason,
                    what=what,
                    detail=f"theory.rate: dV = {barrier:.6g}, C = {prefactor:.6g}; t dof {nu:.3g}",
                )  # fmt: skip
            )
    for r in ok[np.isfinite(ok["exact"])].itertuples():
        rows.append(
            verdict_row(
                part=part,
                kind="exact",
                quantity=f"E tau@eps={r.eps:g}",
                estimate=r.estimate,
                se=r.se,
                ci_low=r.ci_low,
                ci_high=r.ci_high,
                theory=r.exact,
                eps=[r.eps],
                asymptotic=None,
                reason="finite-noise value, exact at this eps (quadrature)",
                what=f"eps = {r.eps:g}: E tau ({r.method})",
                detail=f"z = {(r.estimate - r.exact) / r.se:.1f}",
            )  # fmt: skip
        )
    return pd.DataFrame(rows, columns=VERDICT_COLUMNS)


def run_case(case: RateCase, folder: Path, n_jobs: int = 1, on_level=None) -> pd.DataFrame:
    """Run (or resume) ``case`` into ``folder`` (``case.json``, ``levels/``, then
    ``times.parquet``); returns the times table."""
    from theory import rate

    folder.mkdir(parents=True, exist_ok=True)
    stored = folder / "case.json"
    if stored.exists():
        check_same_study(folder, json.loads(stored.read_text()), case.to_json())
    atomic_write(stored, lambda tmp: Path(tmp).write_text(case.to_json()))
    done = folder / "times.parquet"
    if done.exists():
        return read_table(done)
    system = zoo.get(case.system, **case.params)
    theory = rate(system, case.x_min, case.x_saddle)
    if not theory.success:
        raise RuntimeError(f"theory.rate failed on {case.name}: {theory.message}")
    for level in case.levels:
        path = _level_path(folder, float(level.eps))
        if not path.exists():
            row = run_level(case, level, system, theory, n_jobs)
            write_table(row.assign(barrier=theory.barrier, prefactor=theory.prefactor), path)
        if on_level is not None:
            on_level(level.eps)
    times = pd.concat([read_table(_level_path(folder, float(lv.eps))) for lv in case.levels],
                      ignore_index=True)  # fmt: skip
    write_table(times, done)
    shutil.rmtree(folder / "levels")
    return times


def _md_times(times: pd.DataFrame) -> str:
    head = ("| eps | method | E tau ± se | 95 % interval | C e^{dV/eps} | exact | "
            "E tau e^{-dV/eps} | path-steps | s |")  # fmt: skip
    lines = [head, "|" + "---|" * 9]
    for r in times.itertuples():
        scale = math.exp(-r.barrier / r.eps)
        exact = f"{r.exact:.5g}" if np.isfinite(r.exact) else ""
        lines.append(
            f"| {r.eps:g} | {r.method} | {r.estimate:.5g} ± {r.se:.2g} | "
            f"[{r.ci_low:.5g}, {r.ci_high:.5g}] | {r.predicted:.5g} | {exact} | "
            f"{r.estimate * scale:.4g} ± {r.se * scale:.2g} | {r.path_steps:.3g} | "
            f"{r.seconds:.0f} |"
        )
    return "\n".join(lines) + "\n"


def run_rates(folder: Path, quick: bool, n_jobs: int = 1, bar=None) -> list[Path]:
    """Run every case into ``folder/<case>/``; write ``extra_verdicts.csv`` (the checks)
    and ``notes.md`` (the method and each case's times table) for the report."""
    done, verdicts, notes = [], [], [RATES_NOTE]
    for case in cases(quick):
        sub = folder / case.name
        if bar is not None:
            bar.set_postfix_str(case.name)
        times = run_case(case, sub, n_jobs,
                         on_level=None if bar is None else lambda e: bar.update(1))  # fmt: skip
        r = times.iloc[0]
        verdicts.append(rate_verdicts(times, float(r.barrier), float(r.prefactor), case.name))
        notes.append(f"`{case.name}` ({case.system}, {case.x_min} -> {case.beyond}; "
                     f"theory.rate: dV = {r.barrier:.8g}, C = {r.prefactor:.8g}):\n\n"
                     + _md_times(times))  # fmt: skip
        done.append(sub)
    write_csv(pd.concat(verdicts, ignore_index=True), folder / "extra_verdicts.csv")
    atomic_write(folder / "notes.md", lambda tmp: Path(tmp).write_text("\n".join(notes)))
    return done
