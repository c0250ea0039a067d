"""The ``noisy-noether`` command line (also ``python -m validate``).

Every sub-command has ``--help``; mistakes (unknown system, malformed point, eps <= 0,
unwritable output folder) end with a one-line error and exit status 2, never a traceback.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import numpy as np


class UsageError(ValueError):
    """A mistake in the command line, reported in one line."""


def parse_point(text: str, dim: int | None = None, what: str = "point") -> np.ndarray:
    """Parse '1.5,-2' (or '1.5 -2') into a finite vector, checking its dimension."""
    try:
        values = np.array([float(v) for v in text.replace(",", " ").split()], dtype=float)
    except ValueError:
        raise UsageError(f"{what} {text!r} is not a list of numbers like '1.5,-2'") from None
    if values.size == 0 or not np.all(np.isfinite(values)):
        raise UsageError(f"{what} {text!r} must be finite numbers like '1.5,-2'")
    if dim is not None and values.size != dim:
        raise UsageError(f"{what} {text!r} has {values.size} coordinates; the system has {dim}")
    return values


def positive(text: str) -> float:
    """argparse type: a positive finite float."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not (np.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"must be positive, got {text}")
    return value


def writable_dir(path: str | Path) -> Path:
    """Create ``path`` if needed and check that files can be written there."""
    path = Path(path)
    try:
        path.mkdir(parents=True, exist_ok=True)
        probe = path / f".write-test-{os.getpid()}"
        probe.write_text("")
        probe.unlink()
    except OSError as exc:
        raise UsageError(f"cannot write to output folder {str(path)!r}: {exc.strerror}") from None
    return path


def load_system(name: str):
    from simulate import zoo

    if name not in zoo.names():
        raise UsageError(f"unknown system {name!r}; choose from: {', '.join(zoo.names())}")
    return zoo.get(name)


def resolve_point(system, text: str, what: str) -> np.ndarray:
    """A named state of the system or coordinates."""
    if text in system.states:
        return system.point(text)
    if text and (text[0].isalpha() or text[0] == "_"):
        named = [k for k, v in system.states.items() if isinstance(v, np.ndarray)]
        raise UsageError(f"{what}: {system.name} has no state {text!r}; named points: {named}")
    return parse_point(text, system.dim, what)


def cmd_systems(args: argparse.Namespace) -> int:
    from simulate import zoo

    for name in zoo.names():
        system = zoo.get(name)
        params = ", ".join(
            f"{k}={v:g}" for k, v in zip(system.param_names, system.params, strict=True)
        )
        points = {k: v.tolist() for k, v in system.states.items() if isinstance(v, np.ndarray)}
        sets = [k for k, v in system.states.items() if not isinstance(v, np.ndarray)]
        gens = (
            ", ".join(
                f"{g.name} ({g.kind}{'' if g.exact else ', approximate'})"
                for g in system.generators
            )
            or "none"
        )
        print(f"{name}  (d = {system.dim}{', time-dependent' if not system.autonomous else ''})")
        print(f"  {system.description}")
        print(f"  parameters: {params or '-'}")
        print(f"  points: {points}")
        if sets:
            print(f"  sets: {sets}")
        print(f"  declared symmetries: {gens}")
    return 0


def cmd_simulate(args: argparse.Namespace) -> int:
    from simulate import ensemble

    system = load_system(args.system)
    x0 = resolve_point(system, args.x0, "--x0")
    out = Path(args.out)
    writable_dir(out.parent if out.suffix else out)
    if not out.suffix:
        out = out / f"{system.name}_ensemble.csv"
    if out.suffix not in (".csv", ".parquet"):
        raise UsageError(f"--out {str(out)!r} must end in .csv or .parquet")
    save = "final" if args.save_every is None else args.save_every
    res = ensemble(
        system,
        x0,
        args.T,
        dt=args.dt,
        eps=args.eps,
        n_paths=args.n_paths,
        seed=args.seed,
        save=save,
        n_jobs=args.n_jobs,
        progress=True,
    )
    frame = res.to_frame()
    tmp = out.with_name(out.name + ".tmp")
    if out.suffix == ".csv":
        frame.to_csv(tmp, index=False)
    else:
        frame.to_parquet(tmp, index=False)
    os.replace(tmp, out)
    print(res.summary())
    print(f"wrote {len(frame)} rows to {out}")
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
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
    out = writable_dir(args.out)
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


class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors (the usage is one `--help` away)."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message} (see `{self.prog} --help`)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="noisy-noether",
        description="Noether charges of most-likely transition paths, checked on noisy "
        "ensembles (conventions: dX = f dt + sqrt(2 eps D) dW).",
    )
    sub = parser.add_subparsers(
        dest="command", required=True, metavar="COMMAND", parser_class=_Parser
    )

    p = sub.add_parser("systems", help="list the zoo: dimensions, parameters, states, symmetries")
    p.set_defaults(run=cmd_systems)

    p = sub.add_parser("simulate", help="simulate an Euler–Maruyama ensemble to CSV/parquet")
    p.add_argument("system", help="zoo name (see `noisy-noether systems`)")
    p.add_argument("--x0", required=True, help="start: a named point or coordinates '1,-2'")
    p.add_argument("--T", type=positive, default=1.0, help="time horizon (default 1)")
    p.add_argument("--dt", type=positive, default=1e-3, help="time step (default 1e-3)")
    p.add_argument("--eps", type=positive, default=1.0, help="noise level > 0 (default 1)")
    p.add_argument("--n-paths", type=int, default=1000)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument(
        "--save-every",
        type=int,
        default=None,
        help="save every k-th step (default: final states only)",
    )
    p.add_argument("--n-jobs", type=int, default=1)
    p.add_argument(
        "--out", default="data/studies/simulate", help="output file (.csv/.parquet) or folder"
    )
    p.set_defaults(run=cmd_simulate)

    p = sub.add_parser("demo", help="the paper's drift-diffusion experiment with a figure")
    p.add_argument("--n-paths", type=int, default=100_000)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default="data/studies/demo")
    p.set_defaults(run=cmd_demo)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.run(args)
    except (ValueError, OSError) as exc:
        print(f"noisy-noether {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("noisy-noether: interrupted; finished outputs are kept", file=sys.stderr)
        return 130
