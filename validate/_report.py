"""Markdown reports of study folders: do the charges and tubes converge to theory?

:func:`verdicts` turns a noise sweep's tables into statements with uncertainty:

- **charge** (one per charge with a theoretical value): the sampled path means at each
  eps are extrapolated to eps -> 0 by a weighted straight line in eps (the finite-noise
  bias of a path-mean charge is O(eps) for smooth statistics); the limit ± 2 se is
  compared with the instanton's value. It *converges* when the theory lies within 2 se
  of the limit (if the limit is imprecise, the report says how imprecise).
- **tube** (the median L2 distance to the instanton, ``tube_l2_q0.5``): the fitted
  exponent beta of tube ~ eps^beta with its bootstrap 95 % interval; the tube shrinks
  onto the instanton when the interval lies above 0, and the theory beta = 1/2 is
  consistent when the interval contains it. *converges* means the interval lies above 0.
- **action** (when P is estimated): the eps -> 0 limit of -eps log P (straight-line
  extrapolation) against the instanton action.

:func:`write_report` walks a study folder (every sub-folder holding a ``config.json`` is a
sweep), writes ``verdicts.csv`` and ``report.md`` with the tables and figures.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from ._scaling import extrapolate
from ._study import atomic_write, write_csv

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
    "converges",
    "statement",
]


def verdicts(
    summary: pd.DataFrame, scaling: pd.DataFrame | None = None, part: str = "", action=True
) -> pd.DataFrame:
    """Convergence statements of one noise sweep (see the module docstring). ``action``:
    include the -eps log P check (off when the target shrinks with eps, whose volume adds
    an eps log eps term to -eps log P)."""
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
        lim, lim_se, chi2 = extrapolate(sub["eps"], sub["value"], sub["se"])
        small = sub.iloc[0]
        ok = bool(abs(lim - th) <= 2 * lim_se) if np.isfinite(lim_se) else None
        z = (small["value"] - th) / small["se"] if small["se"] > 0 else np.nan
        scale = max(abs(th), 1.0)
        text = (
            f"{name}: eps -> 0 limit {lim:.4g} ± {2 * lim_se:.2g} (95 %) vs instanton {th:.4g}"
            f" -> {'consistent' if ok else 'NOT consistent'}"
            f"{' but imprecise' if ok and 2 * lim_se > 0.25 * scale else ''}; at eps = "
            f"{small['eps']:g}: {small['value']:.4g} ± {small['se']:.2g} (z = {z:.1f}, "
            f"n = {int(small['n'])})"
        )
        rows.append(
            {
                "part": part,
                "kind": "charge",
                "quantity": name,
                "estimate": lim,
                "se": lim_se,
                "ci_low": lim - 2 * lim_se,
                "ci_high": lim + 2 * lim_se,
                "theory": th,
                "eps_min": sub["eps"].min(),
                "eps_max": sub["eps"].max(),
                "n_levels": len(sub),
                "converges": ok,
                "statement": text,
            }
        )
    if scaling is not None and not scaling.empty:
        for r in scaling.itertuples():
            if r.statistic == "tube_l2_q0.5" or (
                r.statistic.startswith("tube_l2") and "tube_l2_q0.5" not in set(scaling.statistic)
            ):
                ok = bool(r.ci_low > 0)
                text = (
                    f"tube (median L2 distance to the instanton) ~ eps^beta, beta = "
                    f"{r.estimate:.3f} [{r.ci_low:.3f}, {r.ci_high:.3f}] (95 %, {r.n_levels} levels"
                    f" eps {r.eps_min:g}..{r.eps_max:g}): "
                    f"{'shrinks onto the instanton' if ok else 'does NOT shrink significantly'}"
                    f"; theory 1/2 {'inside' if r.ci_low <= 0.5 <= r.ci_high else 'outside'}"
                    " the interval"
                )
                rows.append(
                    {
                        "part": part,
                        "kind": "tube",
                        "quantity": "beta",
                        "estimate": r.estimate,
                        "se": r.se,
                        "ci_low": r.ci_low,
                        "ci_high": r.ci_high,
                        "theory": 0.5,
                        "eps_min": r.eps_min,
                        "eps_max": r.eps_max,
                        "n_levels": r.n_levels,
                        "converges": ok,
                        "statement": text,
                    }
                )
            elif action and r.kind == "action" and np.isfinite(r.theory):
                ok = bool(r.ci_low <= r.theory <= r.ci_high)
                text = (
                    f"-eps log P -> {r.estimate:.3g} [{r.ci_low:.3g}, {r.ci_high:.3g}] (95 %) vs "
                    f"action {r.theory:.4g}: {'consistent' if ok else 'NOT consistent'}"
                )
                rows.append(
                    {
                        "part": part,
                        "kind": "action",
                        "quantity": "S",
                        "estimate": r.estimate,
                        "se": r.se,
                        "ci_low": r.ci_low,
                        "ci_high": r.ci_high,
                        "theory": r.theory,
                        "eps_min": r.eps_min,
                        "eps_max": r.eps_max,
                        "n_levels": r.n_levels,
                        "converges": ok,
                        "statement": text,
                    }
                )
    return pd.DataFrame(rows, columns=VERDICT_COLUMNS)


def _read(path: Path) -> pd.DataFrame:
    if not path.exists() or path.stat().st_size < 2:
        return pd.DataFrame()
    try:
        return pd.read_csv(path)
    except pd.errors.EmptyDataError:
        return pd.DataFrame()


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
    if not parts:
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
    for extra in sorted(folder.rglob("extra_verdicts.csv")):
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
        "uncertainties are 95 % intervals (2 se or bootstrap percentiles).\n"
    )
    for note in sorted(folder.rglob("notes.md")):
        lines.append(note.read_text().strip() + "\n")
    if len(verdict):
        ok = verdict["converges"].astype("boolean")
        lines.append("## Verdicts\n")
        lines.append(
            f"{int(ok.sum())} of {int(ok.notna().sum())} checks are consistent with theory.\n"
        )
        table = verdict[["part", "kind", "quantity", "estimate", "ci_low", "ci_high", "theory"]]
        table = table.assign(converges=["yes" if c else "no" for c in verdict["converges"]])
        lines.append(_md_table(table))
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
    lines.append("## Noise sweeps\n")
    lines += sections
    report = folder / "report.md"
    atomic_write(report, lambda tmp: Path(tmp).write_text("\n".join(lines) + "\n"))
    return report, verdict
