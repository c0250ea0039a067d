"""The paper's figures as this project reproduces them, drawn from a study's tables."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from simulate import zoo

from ._catalogue import DM_REF, part_table
from ._study import atomic_write


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
            paths = part_table(folder, part, "paths")
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
                s = part_table(folder, label, "summary")
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
        paths = part_table(folder, "ams", "paths")
        if len(paths):
            P.plot_paths_2d(
                paths[paths["eps"] == paths["eps"].min()],
                ax=axes[0],
                n_max=10,
                color="C2",
                alpha=0.4,
            )
        axes[0].plot(
            DM_REF[:, 0], DM_REF[:, 1], "k--", lw=1, label="instanton of the first hop (T = inf)"
        )
        axes[0].legend(fontsize=7)
        P.plot_vector_field(s, ax=axes[0], lim=((-0.2, 3.8), (-0.2, 3.8)))
        axes[0].set_title("Fig. 1c: decision-memory instantons (3, 0.1) -> (0.1, 3)")
        sm = part_table(folder, "ams", "summary")
        if len(sm):
            P.plot_charge_convergence(sm, "H", ax=axes[1], label="AMS reactive paths: H ± 2 se")
            axes[1].set_title("energy of the first hop's reactive paths (AMS) -> 0")
        save(fig, "fig1c_decision_memory")
    elif name == "reverse_diffusion_ring":
        fig, axes = plt.subplots(1, 2, figsize=(12, 5))
        _fig2(folder, insts, axes, P)
        save(fig, "fig2_reverse_diffusion")
    return out


def _fig1a(folder, axes, P):
    from ._references import drift_diffusion_bridge
    from ._samplers import window_at

    paths, prof = part_table(folder, "sweep", "paths"), part_table(folder, "sweep", "profile")
    ch, sm = part_table(folder, "sweep", "charges"), part_table(folder, "sweep", "summary")
    if not len(prof):
        return
    e0 = float(prof["eps"].max())
    P.plot_tube(paths[paths["eps"] == e0], prof[prof["eps"] == e0], ax=axes[0], coord=0)
    opts = json.loads((folder / "sweep" / "config.json").read_text())["sampler_options"]
    window = window_at(opts["window"], opts.get("window_exponent", 0.0), e0)
    t = np.linspace(0, window[0], 40)
    exact = drift_diffusion_bridge(zoo.drift_diffusion(), e0, t, window)
    axes[0].plot(t, exact.mean, color="C3", lw=1.5, label="exact conditioned mean (images)")
    axes[0].legend(fontsize=7)
    axes[0].set_title(f"Fig. 1a: hit -1 at t in [{window[0]:.3g}, 1], eps = {e0:g}")
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
        paths = part_table(folder, part, "paths")
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
        ch = part_table(folder, part, "charges")
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
