"""Figures (seaborn/matplotlib), the only plotting module: every function takes ``ax=None``
and returns the axes it drew on."""

from __future__ import annotations

import numpy as np
import pandas as pd


def _axes(ax):
    if ax is None:
        import matplotlib.pyplot as plt

        _, ax = plt.subplots(figsize=(6, 4))
    return ax


def _coordinate(frame: pd.DataFrame, j: int, column: str) -> pd.Series:
    """Column ``column`` of the rows of coordinate ``j`` of a long table (``coordinate``
    column: the study tables ``profile`` and ``paths``), in their stored order."""
    return frame.loc[frame["coordinate"] == j, column].reset_index(drop=True)


def plot_tube(paths: pd.DataFrame, profile: pd.DataFrame, ax=None, coord: int = 0, title=""):
    """Sampled paths (thin grey), the reference (dashed black), the mean path with its
    standard-error band and the median-radius tube band, against time (fixed-T) or one
    coordinate against another (``coord=None``: x1 against x0). ``paths`` and ``profile``
    are the long study tables (one row per point and coordinate, docs/data.md)."""
    ax = _axes(ax)
    key = "t" if "t" in profile.columns else "s"
    rad = [c for c in profile.columns if c.startswith("radius_q")]
    if coord is None:
        plot_paths_2d(paths, ax=ax, n_max=paths["path"].nunique(), color="0.6", alpha=0.5)
        for column, style in (("reference", {"ls": "--", "color": "k"}), ("mean", {"color": "C0"})):
            x, y = (_coordinate(profile, j, column) for j in (0, 1))
            label = "instanton" if column == "reference" else "mean path"
            ax.plot(x, y, lw=2, label=label, **style)
        ax.set(xlabel="x0", ylabel="x1", title=title)
    else:
        for _, g in paths[paths["coordinate"] == coord].groupby("path"):
            ax.plot(g["t"], g["value"], color="0.6", lw=0.4, alpha=0.5)
        prof = profile[profile["coordinate"] == coord]
        s, ref, mean = prof[key], prof["reference"], prof["mean"]
        se = prof["mean_se"].fillna(0.0)
        if rad and key == "t":
            r = prof[rad[0]]
            ax.fill_between(s, ref - r, ref + r, color="C1", alpha=0.2, label=f"tube ({rad[0]})")
        ax.fill_between(s, mean - 2 * se, mean + 2 * se, color="C0", alpha=0.3)
        ax.plot(s, mean, color="C0", lw=2, label="mean path ± 2 se")
        ax.plot(s, ref, "k--", lw=2, label="instanton")
        ax.set(xlabel=key, ylabel=f"x{coord}", title=title)
    ax.legend(fontsize=8)
    return ax


#: What each summary statistic measures, for axis labels and titles (all dimensionless).
_STATISTICS = {
    "tube_l2_q": "L2 distance of the paths to the instanton",
    "tube_sup_q": "sup distance of the paths to the instanton",
    "tube_radius_q": "tube radius around the instanton",
    "tube_mean_dev": "distance of the mean path to the instanton",
    "charge_sd_": "spread across paths of the path mean of ",
    "charge_mean_": "ensemble mean of the path mean of ",
    "charge_drift_": "mean change along a path of ",
    "neg_eps_log_p": "-eps log P (-> the action)",
    "probability": "probability of the conditioning event",
}


def describe(statistic: str) -> str:
    """A summary statistic's name in words, e.g. ``tube_l2_q0.5`` -> 'median L2 distance
    of the paths to the instanton (dimensionless)'."""
    for key, text in _STATISTICS.items():
        if statistic.startswith(key):
            rest = statistic[len(key) :]
            if key.startswith("tube_") and key.endswith("_q"):
                q = float(rest)
                text = f"{'median' if q == 0.5 else f'{q:g}-quantile of the'} {text}"
            elif key.startswith("charge_"):
                text = f"{text}{rest}"
            return f"{text} (dimensionless)"
    return f"{statistic} (dimensionless)"


def plot_charges(
    charges: pd.DataFrame,
    charge: str,
    theory: float | None = None,
    ax=None,
    where: str = "",
):
    """Distribution of a charge's path mean at each eps (violins), with the theoretical
    value as a horizontal line; ``where`` (system and part) heads the title."""
    import seaborn as sns

    ax = _axes(ax)
    sub = charges[charges["charge"] == charge].copy()
    sub["eps"] = sub["eps"].map(lambda e: f"{e:g}")
    sns.violinplot(data=sub, x="eps", y="mean", ax=ax, color="C0", inner="quartile", cut=0)
    if theory is not None and np.isfinite(theory):
        ax.axhline(theory, color="k", ls="--", lw=1.5, label=f"instanton {theory:.4g}")
        ax.legend(fontsize=8)
    ax.set(
        xlabel="noise level eps (dimensionless)",
        ylabel=f"path mean of {charge} (dimensionless)",
        title=f"{where + ': ' if where else ''}charge {charge} across paths",
    )
    return ax


def plot_scaling(
    frame: pd.DataFrame,
    statistic: str,
    fit: pd.DataFrame | None = None,
    ax=None,
    where: str = "",
):
    """Log-log plot of a statistic against eps with error bars, the fitted power law and
    its bootstrap band, and the theoretical slope 1/2 through the middle point; titled
    with ``where`` (system and part) and the statistic in words."""
    ax = _axes(ax)
    sub = frame[frame["statistic"] == statistic].sort_values("eps")
    e, y, se = sub["eps"].values, sub["value"].values, sub["se"].values
    ax.errorbar(e, y, yerr=2 * se, fmt="o", color="C0", label=f"{statistic} ± 2 se")
    if fit is not None and len(fit):
        row = fit.iloc[0]
        grid = np.geomspace(e.min(), e.max(), 50)
        ax.plot(
            grid,
            row["other"] * grid ** row["estimate"],
            color="C0",
            label=f"fit β = {row['estimate']:.3f} [{row['ci_low']:.3f}, {row['ci_high']:.3f}]",
        )
        mid = np.exp(np.mean(np.log(grid)))
        y_mid = row["other"] * mid ** row["estimate"]
        lo = y_mid * (grid / mid) ** row["ci_low"]
        hi = y_mid * (grid / mid) ** row["ci_high"]
        ax.fill_between(grid, np.minimum(lo, hi), np.maximum(lo, hi), color="C0", alpha=0.15)
        k = len(e) // 2
        ax.plot(
            grid,
            y[k] * (grid / e[k]) ** row["theory"],
            "k--",
            lw=1,
            label=f"slope {row['theory']:g}",
        )
    ax.set(
        xscale="log",
        yscale="log",
        xlabel="noise level eps (dimensionless)",
        ylabel=describe(statistic),
        title=f"{where + ': ' if where else ''}{statistic} against eps",
    )
    ax.yaxis.label.set_fontsize(8)
    ax.legend(fontsize=8)
    return ax


def plot_summary_table(frame: pd.DataFrame, statistics=None, ax=None, where: str = ""):
    """A table of value ± se against theory per eps for the chosen statistics. The
    probability's "theory" in the sweep is the action (its limit is -eps log P -> S, a
    different quantity): the table leaves it blank rather than set the two side by side."""
    ax = _axes(ax)
    sub = frame if statistics is None else frame[frame["statistic"].isin(statistics)]
    cells = [
        [
            f"{r.eps:g}",
            r.statistic,
            f"{r.value:.4g} ± {r.se:.2g}",
            "" if r.statistic == "probability" or not np.isfinite(r.theory) else f"{r.theory:.4g}",
            f"{int(r.n)}",
        ]
        for r in sub.itertuples()
    ]
    ax.axis("off")
    if where:
        ax.set_title(where, fontsize=9)
    table = ax.table(
        cellText=cells, colLabels=["eps", "statistic", "value ± se", "theory", "n"], loc="center"
    )
    table.auto_set_font_size(False)
    table.set_fontsize(7)
    return ax


# --- instantons and the paper's figures (issue 6) ------------------------------------


def plot_instanton(frame: pd.DataFrame, ax=None, label: str | None = None, color=None, **kw):
    """An instanton from its tidy frame (``Instanton.to_frame()``: columns minimum, t, x0,
    x1, ...): x1 against x0 in 2-D, x0 against t in 1-D; only the global minimum (rank 0)
    unless the frame holds one minimum only. Endpoints are marked."""
    ax = _axes(ax)
    sub = frame[frame["minimum"] == 0] if "minimum" in frame.columns else frame
    if label is None and "action" in sub.columns:
        label = f"S = {sub['action'].iloc[0]:.4g}"
    if "x1" in sub.columns:
        (line,) = ax.plot(sub["x0"], sub["x1"], lw=2, color=color, label=label, **kw)
        ax.plot(sub["x0"].iloc[[0, -1]], sub["x1"].iloc[[0, -1]], "o", color=line.get_color())
        ax.set(xlabel="x0", ylabel="x1")
    else:
        (line,) = ax.plot(sub["t"], sub["x0"], lw=2, color=color, label=label, **kw)
        ax.set(xlabel="t", ylabel="x0")
    if label:
        ax.legend(fontsize=8)
    return ax


def plot_charge_traces(frame: pd.DataFrame, ax=None, charges=None):
    """Charges along an instanton (tidy frame of ``Instanton.to_frame()``, rank 0) against
    time (or normalised arc length for infinite-time instantons): flat lines are conserved
    charges."""
    ax = _axes(ax)
    sub = frame[frame["minimum"] == 0] if "minimum" in frame.columns else frame
    key = "t" if sub["t"].notna().all() else "s"
    skip = {"minimum", "label", "action", "t", "s"}
    names = charges or [
        c for c in sub.columns if c not in skip and not (c[0] in "xp" and c[1:].isdigit())
    ]
    for c in names:
        ax.plot(sub[key], sub[c], lw=2, label=c)
    ax.set(xlabel=key, ylabel="charge", title="charges along the instanton")
    ax.legend(fontsize=8)
    return ax


def plot_vector_field(system, ax=None, lim=None, n: int = 21, t: float = 0.0):
    """The drift f(x, t) of a 2-D system as a streamplot over the box ``lim``
    ((x_lo, x_hi), (y_lo, y_hi)), default the axes' current limits."""
    ax = _axes(ax)
    (x_lo, x_hi), (y_lo, y_hi) = lim if lim is not None else (ax.get_xlim(), ax.get_ylim())
    gx, gy = np.meshgrid(np.linspace(x_lo, x_hi, n), np.linspace(y_lo, y_hi, n))
    pts = np.column_stack([gx.ravel(), gy.ravel()])
    F = np.array([system.f(np.ascontiguousarray(p), float(t)) for p in pts])
    ax.streamplot(
        gx,
        gy,
        F[:, 0].reshape(gx.shape),
        F[:, 1].reshape(gx.shape),
        color="0.75",
        density=0.8,
        linewidth=0.6,
        arrowsize=0.7,
    )
    ax.set(xlim=(x_lo, x_hi), ylim=(y_lo, y_hi))
    return ax


def plot_paths_2d(paths: pd.DataFrame, ax=None, color="0.6", n_max: int = 40, alpha=0.5):
    """Sampled paths in the plane, thin lines: x1 against x0 from the long ``paths`` study
    table (path, t, coordinate, value), the first ``n_max`` paths."""
    ax = _axes(ax)
    for k, (_, g) in enumerate(paths.groupby("path")):
        if k >= n_max:
            break
        ax.plot(
            _coordinate(g, 0, "value"), _coordinate(g, 1, "value"), color=color, lw=0.4, alpha=alpha
        )
    return ax


def plot_charge_convergence(summary: pd.DataFrame, charge: str, ax=None, color="C0", label=None):
    """The mean of a charge over sampled paths against eps (± 2 se) with the instanton's
    value as a dashed line: convergence to theory as eps -> 0 (log eps axis)."""
    ax = _axes(ax)
    sub = summary[summary["statistic"] == f"charge_mean_{charge}"].sort_values("eps")
    ax.errorbar(
        sub["eps"],
        sub["value"],
        yerr=2 * sub["se"],
        fmt="o-",
        color=color,
        label=label or f"{charge}: sampled mean ± 2 se",
    )
    th = sub["theory"].dropna()
    if len(th):
        ax.axhline(th.iloc[0], color=color, ls="--", lw=1.2, label=f"instanton {th.iloc[0]:.4g}")
    ax.set(xscale="log", xlabel="eps", ylabel=charge)
    ax.legend(fontsize=8)
    return ax
