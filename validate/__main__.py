"""Command line of noisy-noether (``noisy-noether`` or ``python -m validate``)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def _demo(args: argparse.Namespace) -> int:
    """The paper's drift-diffusion experiment: 1e5 Euler–Maruyama paths, conditioned on
    hitting -1 at a time in [0.95, 1], against the straight least-action path."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    from simulate import ensemble, zoo

    system = zoo.drift_diffusion()
    res = ensemble(
        system,
        "start",
        1.0,
        dt=0.025,
        eps=1.0,
        n_paths=args.n_paths,
        seed=args.seed,
        save="all",
        stop={"lower": "lower_bound", "upper": zoo.drift_diffusion().states["bounds"]},
    )
    keep = res.stopped_in("lower") & (res.stop_time >= 0.95)
    print(res.summary())
    p = keep.mean()
    print(
        f"hit -1 within [0.95, 1]: {keep.sum()} paths, fraction {p:.4f} "
        f"± {np.sqrt(p * (1 - p) / res.n_paths):.4f}"
    )
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    fig, ax = plt.subplots(figsize=(6, 4))
    for path in res.paths[keep][:200]:
        ax.plot(res.t, path[:, 0], color="0.6", lw=0.4, alpha=0.5)
    ax.plot(
        res.t,
        np.nanmean(res.paths[keep][:, :, 0], axis=0),
        color="C0",
        lw=2,
        label="conditioned mean",
    )
    ax.plot([0, 1], [0.5, -1.0], "k--", lw=2, label="least-action path x = 0.5 - 1.5 t")
    ax.set(xlabel="t", ylabel="x", title=f"drift-diffusion, {keep.sum()} conditioned paths")
    ax.legend()
    fig.tight_layout()
    fig.savefig(out / "drift_diffusion_paths.png", dpi=120)
    print(f"figure: {out / 'drift_diffusion_paths.png'}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="noisy-noether",
        description="Noether charges of most-likely transition paths, checked on ensembles.",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser("demo", help="the paper's drift-diffusion experiment with a figure")
    demo.add_argument("--n-paths", type=int, default=100_000)
    demo.add_argument("--seed", type=int, default=0)
    demo.add_argument("--out", default="data/studies/demo")
    demo.set_defaults(run=_demo)
    args = parser.parse_args(argv)
    try:
        return args.run(args)
    except (ValueError, OSError) as exc:
        print(f"noisy-noether: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
