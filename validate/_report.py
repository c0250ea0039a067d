"""Markdown reports of study folders: do the charges and tubes converge to theory?

:func:`verdicts` turns a noise sweep's tables into checks with uncertainty, one row per
quantity that theory predicts, each judged by the one rule of ``docs/verdicts.md``
(:func:`judge`):

- **charge** (one per charge with a theoretical value): the sampled path means are
  extrapolated to eps -> 0 by a weighted straight line value = a + b eps (the finite-noise
  bias of a path-mean charge is O(eps) for smooth statistics); the quantity is the limit a,
  its interval a ± t se with the levels' ``dof`` combined by Welch–Satterthwaite
  (:func:`validate._scaling.limit_interval`).
- **tube** (the median L2 distance to the instanton, ``tube_l2_q0.5``): the exponent beta
  of tube ~ c eps^beta (:func:`validate.fit_scaling`, bootstrap interval); theory 1/2.
- **action** (when P is estimated): the eps -> 0 limit of -eps log P in the model
  S + a eps log eps + b eps (:func:`validate.fit_action`) against the instanton action.

The rule: a check is *consistent* iff the theory value lies inside the 95 % interval of
the quantity, *and* the levels are in the asymptotic regime: the model the quantity is
extrapolated with (:func:`regime`: a + b eps, log c + beta log eps for the tube,
S + a eps log eps + b eps for -eps log P) fits the levels, by a
chi-square test at the 1 % level (:func:`regime`). Where the levels are not in that
regime the verdict is "not yet asymptotic" with the reason, whatever the interval says.

:func:`write_report` walks a study folder (every sub-folder holding a ``config.json`` is a
sweep), writes ``verdicts.csv`` and ``report.md`` with the tables and figures.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from ._scaling import _design, limit_interval
from ._study import atomic_write, read_table, write_csv

LEVEL = 0.95  # every verdict's interval is a 95 % interval
Z95 = float(stats.norm.ppf(0.5 + LEVEL / 2))  # 1.96: the normal 95 % half-width in se
P_REGIME = 0.01  # a chi-square p-value below this rejects the extrapolation model

VERDICTS = ("consistent", "inconsistent", "not yet asymptotic", "undetermined")

VERDICT_COLUMNS = [
    "part",
    "kind",
    "quantity",
    "estimate",
    "se",
    "ci_low",
    "ci_high",
    "theory",
    "eps_min",
    "eps_max",
    "n_levels",
    "theory_inside",
    "asymptotic",
    "verdict",
    "reason",
    "statement",
]


def _wls(X, y, se):
    """Weighted least squares y ~ X b with weights 1/se^2: (b, cov(b), chi2)."""
    w = 1.0 / se**2
    cov = np.linalg.inv(X.T @ (w[:, None] * X))
    b = cov @ (X.T @ (w * y))
    chi2 = float(np.sum(w * (y - X @ b) ** 2))
    return b, cov, chi2


_FORMS = {
    "line": "a + b eps",
    "power": "c eps^beta",
    "eps_log_eps": "a + a' eps log eps + b eps",
    "quadratic": "a + b eps + c eps^2",
}


def regime(eps, value, se, model: str = "line") -> tuple[bool, str]:
    """Are the levels in the asymptotic regime of the extrapolation model?

    ``model="line"``: value = a + b eps (charges); ``model="power"``: log value = log c +
    beta log eps (tubes; se of log value = se / value); ``model="eps_log_eps"``: value =
    a + a' eps log eps + b eps (-eps log P, whose limit is fitted in that model, see
    :func:`validate.fit_action`); ``model="quadratic"``: value = a + b eps + c eps^2 (eps
    log E tau, docs/rates.md). The model is fitted by weighted least squares and its
    chi-square, chi2 = sum (residual / se)^2 on n - k degrees of freedom (k parameters),
    is tested: the levels are asymptotic iff its p-value is at least ``P_REGIME`` (1 %),
    i.e. the levels differ from what the fitted model predicts by no more than their
    uncertainties allow. Levels that leave no degree of freedom cannot test the model:
    not asymptotic. For ``"eps_log_eps"`` the nested line is tested first: levels that
    follow a + b eps follow the larger model too (also for ``"quadratic"``). Returns
    (asymptotic, reason)."""
    if model not in _FORMS:
        raise ValueError(f"`model` must be one of {list(_FORMS)}, got {model!r}")
    eps, value, se = (np.asarray(v, dtype=float) for v in (eps, value, se))
    ok = np.isfinite(value) & np.isfinite(se) & (se > 0) & (eps > 0)
    if model == "power":
        ok &= value > 0
    eps, value, se = eps[ok], value[ok], se[ok]
    if model in ("eps_log_eps", "quadratic"):
        line_ok, line_reason = regime(eps, value, se, "line")
        if line_ok:
            return True, line_reason
    form = _FORMS[model]
    if model == "power":
        X, y, s = np.column_stack([np.ones_like(eps), np.log(eps)]), np.log(value), se / value
    else:
        X, y, s = _design(eps, "linear" if model == "line" else model), value, se
    dof = eps.size - X.shape[1]
    if dof < 1:
        return False, f"{eps.size} levels with errors: too few to test the model {form}"
    _, _, chi2 = _wls(X, y, s)
    p = float(stats.chi2.sf(chi2, dof))
    fit = f"chi2 = {chi2:.3g} on {dof} dof, p = {p:.2g}"
    if p < P_REGIME:
        return False, f"the levels depart from {form} beyond their errors ({fit})"
    return True, f"the levels follow {form} ({fit})"


def judge(theory, ci_low, ci_high, asymptotic) -> tuple[bool | None, str]:
    """The verdict rule (docs/verdicts.md): (theory inside the interval, verdict).

    "consistent" iff ``theory`` lies in [ci_low, ci_high] (the 95 % interval of the
    quantity theory predicts) and the levels are asymptotic (``asymptotic`` True, or None
    where no extrapolation is involved); "not yet asymptotic" whenever ``asymptotic`` is
    False; "inconsistent" when theory lies outside in the asymptotic regime;
    "undetermined" when the theory value or the interval is missing."""
    th, lo, hi = float(theory), float(ci_low), float(ci_high)
    if not (np.isfinite(th) and np.isfinite(lo) and np.isfinite(hi)):
        return None, "undetermined"
    inside = bool(lo <= th <= hi)
    if asymptotic is False:
        return inside, "not yet asymptotic"
    return inside, "consistent" if inside else "inconsistent"


def verdict_row(
    *,
    part: str,
    kind: str,
    quantity: str,
    estimate: float,
    se: float,
    ci_low: float,
    ci_high: float,
    theory: float,
    eps,
    asymptotic: bool | None,
    reason: str,
    what: str,
    detail: str = "",
) -> dict:
    """One row of ``verdicts.csv`` judged by :func:`judge`; ``what`` names the quantity and
    theory in the statement, ``detail`` adds context after the verdict."""
    inside, verdict = judge(theory, ci_low, ci_high, asymptotic)
    eps = np.asarray(eps, dtype=float)
    where = "inside" if inside else "outside"
    text = (
        f"{what}: {estimate:.4g} [{ci_low:.4g}, {ci_high:.4g}] (95 %) vs theory {theory:.4g}"
        f" ({where} the interval) -> {verdict}"
    )
    if verdict == "not yet asymptotic" or (asymptotic is not None and verdict == "inconsistent"):
        text += f": {reason}"
    if detail:
        text += f"; {detail}"
    return {
        "part": part,
        "kind": kind,
        "quantity": quantity,
        "estimate": estimate,
        "se": se,
        "ci_low": ci_low,
        "ci_high": ci_high,
        "theory": theory,
        "eps_min": float(eps.min()),
        "eps_max": float(eps.max()),
        "n_levels": int(eps.size),
        "theory_inside": inside,
        "asymptotic": asymptotic,
        "verdict": verdict,
        "reason": reason,
        "statement": text,
    }


def verdict_counts(frame: pd.DataFrame) -> str:
    """'N of M checks consistent with theory (k inconsistent, j not yet asymptotic)'."""
    if frame is None or frame.empty or "verdict" not in frame:
        return "no checks"
    counts = frame["verdict"].value_counts()
    rest = ", ".join(f"{counts[v]} {v}" for v in VERDICTS[1:] if counts.get(v, 0))
    text = f"{counts.get('consistent', 0)} of {len(frame)} checks consistent with theory"
    return text + (f" ({rest})" if rest else "")


def verdicts(
    summary: pd.DataFrame, scaling: pd.DataFrame | None = None, part: str = "", action=True
) -> pd.DataFrame:
    """The checks of one noise sweep, judged by :func:`judge` (see the module docstring).
    ``action``: include the -eps log P check (off when the target shrinks with eps, whose
    volume adds an eps log eps term to -eps log P)."""
    rows = []
    if summary is None or summary.empty:
        return pd.DataFrame(columns=VERDICT_COLUMNS)
    for stat in sorted(s for s in summary["statistic"].unique() if s.startswith("charge_mean_")):
        sub = summary[summary["statistic"] == stat].sort_values("eps")
        theory = sub["theory"].dropna()
        if theory.empty:
            continue
        th = float(theory.iloc[0])
        name = stat.removeprefix("charge_mean_")
        dof = sub["dof"] if "dof" in sub else None  # the levels' t degrees of freedom
        lim, lim_se, lim_lo, lim_hi, _ = limit_interval(sub["eps"], sub["value"], sub["se"], dof)
        asym, reason = regime(sub["eps"], sub["value"], sub["se"], "line")
        small = sub.iloc[0]
        z = (small["value"] - th) / small["se"] if small["se"] > 0 else np.nan
        rows.append(
            verdict_row(
                part=part,
                kind="charge",
                quantity=name,
                estimate=lim,
                se=lim_se,
                ci_low=lim_lo,
                ci_high=lim_hi,
                theory=th,
                eps=sub["eps"],
                asymptotic=asym,
                reason=reason,
                what=f"{name}: eps -> 0 limit (a + b eps)",
                detail=f"at eps = {small['eps']:g}: {small['value']:.4g} ± {small['se']:.2g} "
                f"(z = {z:.1f}, n = {int(small['n'])})",
            )
        )
    if scaling is None or scaling.empty:
        return pd.DataFrame(rows, columns=VERDICT_COLUMNS)
    tube_stat = "tube_l2_q0.5"
    if tube_stat not in set(scaling.statistic):
        tube_stat = next((s for s in scaling.statistic if s.startswith("tube_l2")), None)
    for r in scaling.itertuples():
        if r.statistic == tube_stat:
            sub = summary[summary["statistic"] == r.statistic].sort_values("eps")
            asym, reason = regime(sub["eps"], sub["value"], sub["se"], "power")
            rows.append(
                verdict_row(
                    part=part,
                    kind="tube",
                    quantity="beta",
                    estimate=r.estimate,
                    se=r.se,
                    ci_low=r.ci_low,
                    ci_high=r.ci_high,
                    theory=0.5,
                    eps=sub["eps"],
                    asymptotic=asym,
                    reason=reason,
                    what="tube (median L2 distance to the instanton) ~ eps^beta, beta",
                )
            )
        elif action and r.kind == "action":
            sub = summary[summary["statistic"] == "neg_eps_log_p"].sort_values("eps")
            # the theory of -eps log P is the action, carried by its own summary rows
            th = sub["theory"].dropna()
            th = float(th.iloc[0]) if len(th) else float(r.theory)
            if not np.isfinite(th):
                continue
            asym, reason = regime(sub["eps"], sub["value"], sub["se"], "eps_log_eps")
            rows.append(
                verdict_row(
                    part=part,
                    kind="action",
                    quantity="S",
                    estimate=r.estimate,
                    se=r.se,
                    ci_low=r.ci_low,
                    ci_high=r.ci_high,
                    theory=th,
                    eps=sub["eps"],
                    asymptotic=asym,
                    reason=reason,
                    what="-eps log P -> S (S + a eps log eps + b eps), S",
                )
            )
    return pd.DataFrame(rows, columns=VERDICT_COLUMNS)


def _read(path: Path) -> pd.DataFrame:
    return read_table(path)  # Parquet, or the CSV of an older study


def _md_table(frame: pd.DataFrame, floatfmt: str = ".4g") -> str:
    if frame.empty:
        return "_(empty)_\n"
    cols = list(frame.columns)
    out = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for row in frame.itertuples(index=False):
        cells = []
        for v in row:
            if isinstance(v, float | np.floating):
                cells.append("" if not np.isfinite(v) else format(v, floatfmt))
            else:
                cells.append(str(v))
        out.append("| " + " | ".join(cells) + " |")
    return "\n".join(out) + "\n"


def _autonomous(name: str) -> bool:
    from simulate import zoo

    try:
        return bool(zoo.get(name).autonomous)
    except ValueError:
        return True


def sweeps(folder: Path) -> list[Path]:
    """The noise-sweep folders (holding ``config.json``) under ``folder``, sorted."""
    return sorted(p.parent for p in Path(folder).rglob("config.json"))


def _charge_table(summary: pd.DataFrame) -> pd.DataFrame:
    keep = summary[
        summary["statistic"].str.startswith("charge_mean_")
        | summary["statistic"].isin(["tube_l2_q0.5", "probability", "n_accepted"])
    ]
    out = keep.assign(
        **{
            "value ± se": [
                f"{v:.4g} ± {s:.2g}" if np.isfinite(s) else f"{v:.4g}"
                for v, s in zip(keep["value"], keep["se"], strict=True)
            ]
        }
    )
    return out[["eps", "statistic", "value ± se", "theory", "n"]]


def write_report(folder) -> tuple[Path, pd.DataFrame]:
    """Write ``verdicts.csv`` and ``report.md`` for the study folder ``folder`` (a sweep
    or a folder of sweeps, possibly nested); returns (report path, verdicts frame)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise ValueError(f"`{folder}` is not a study folder")
    parts = sweeps(folder)
    extras = sorted(folder.rglob("extra_verdicts.csv"))
    if not parts and not extras:  # a study of checks only (rates) has no sweep
        raise ValueError(f"`{folder}` holds no study (no config.json below it)")
    meta = {}
    if (folder / "study.json").exists():
        meta = json.loads((folder / "study.json").read_text())
    title = meta.get("study", folder.name)
    all_v = []
    sections = []
    for p in parts:
        rel = p.relative_to(folder).as_posix() if p != folder else "."
        cfg = json.loads((p / "config.json").read_text())
        summary, scaling = _read(p / "summary.csv"), _read(p / "scaling.csv")
        shrinking = cfg["sampler_options"].get("target_exponent", 0) != 0
        if len(summary) and not _autonomous(cfg["system"]):  # H is not conserved: no check
            summary_v = summary[summary["statistic"] != "charge_mean_H"]
        else:
            summary_v = summary
        v = verdicts(summary_v, scaling, part=rel, action=not shrinking)
        all_v.append(v)
        sec = [f"### `{rel}`: {cfg['system']}, sampler {cfg['sampler']}\n"]
        sec.append(
            f"eps grid {cfg['eps_grid']}, {cfg['n_paths']} paths per level, seed {cfg['seed']}.\n"
        )
        if len(v):
            sec.append("\n".join(f"- {s}" for s in v["statement"]) + "\n")
        if len(summary):
            sec.append("\n" + _md_table(_charge_table(summary)))
        if len(scaling):
            cols = ["statistic", "kind", "estimate", "ci_low", "ci_high", "theory"]
            sec.append("\nScaling fits (95 % bootstrap intervals):\n\n" + _md_table(scaling[cols]))
        figs = sorted((p / "figures").glob("*.png"))
        if figs:
            sec.append(
                "\n" + "\n".join(f"![{f.stem}]({f.relative_to(folder).as_posix()})" for f in figs)
            )
        sections.append("\n".join(sec))
    for extra in extras:
        ev = _read(extra)
        if len(ev):
            prefix = extra.parent.relative_to(folder).as_posix()
            if prefix != ".":
                ev["part"] = prefix + "/" + ev["part"].astype(str)
            all_v.append(ev)
    verdict = pd.concat(all_v, ignore_index=True) if all_v else pd.DataFrame()
    write_csv(verdict, folder / "verdicts.csv")
    lines = [f"# Study report: {title}\n"]
    if meta.get("quick"):
        lines.append("Quick run (fewer noise levels and paths than the full study).\n")
    lines.append(
        "Conventions: dX = f dt + sqrt(2 eps D) dW (eps = 1 the paper's noise); charges are "
        "path means of p = 1/2 D^{-1}(xdot - f) contracted with each symmetry generator; "
        "uncertainties are 95 % intervals (1.96 se or bootstrap percentiles).\n"
    )
    for note in sorted(folder.rglob("notes.md")):
        lines.append(note.read_text().strip() + "\n")
    if len(verdict):
        lines.append("## Verdicts\n")
        lines.append(
            f"{verdict_counts(verdict)}. The rule (docs/verdicts.md): consistent iff the theory "
            "value lies inside the 95 % interval of the quantity theory predicts and the noise "
            "levels are in the asymptotic regime of the extrapolation model (a chi-square test "
            "of the model at the 1 % level); otherwise not yet asymptotic, with the reason. "
            f"At 95 % each, about {0.05 * len(verdict):.1f} of {len(verdict)} checks are "
            "expected outside their interval by chance alone.\n"
        )
        cols = ["part", "kind", "quantity", "estimate", "ci_low", "ci_high", "theory"]
        lines.append(_md_table(verdict[cols + ["verdict"]]))
        pending = verdict[verdict["verdict"] != "consistent"]
        if len(pending):
            lines.append("Not consistent, and why:\n")
            lines.append(
                "\n".join(
                    f"- `{r.part}` {r.kind} {r.quantity}: {r.statement}"
                    for r in pending.itertuples()
                )
                + "\n"
            )
    top = sorted(folder.glob("*/figures/fig*.png")) + sorted(folder.glob("figures/fig*.png"))
    if top:
        lines.append("## Figures\n")
        lines += [f"![{f.stem}]({f.relative_to(folder).as_posix()})\n" for f in top]
    insts = sorted(folder.rglob("instantons.csv"))
    if insts:
        lines.append("## Instantons\n")
        for f in insts:
            t = _read(f)
            if len(t):
                lines.append(f"`{f.relative_to(folder).as_posix()}`:\n")
                lines.append(
                    _md_table(t[["instanton", "kind", "T", "action", "charge", "value", "drift"]])
                )
    if sections:
        lines.append("## Noise sweeps\n")
        lines += sections
    report = folder / "report.md"
    atomic_write(report, lambda tmp: Path(tmp).write_text("\n".join(lines) + "\n"))
    return report, verdict
