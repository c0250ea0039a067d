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
        try:
            frame.to_parquet(tmp, index=False)
        except ImportError:
            raise UsageError(
                "--out .parquet needs pyarrow (pip install pyarrow); or use .csv"
            ) from None
    os.replace(tmp, out)
    print(res.summary())
    print(f"wrote {len(frame)} rows to {out}")
    return 0


def cmd_instanton(args: argparse.Namespace) -> int:
    """The most likely path between two points: action and charges printed, the path
    (tidy CSV, every local minimum found) and a figure saved."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from theory import instanton

    from . import _plotting as P
    from ._study import atomic_write, write_csv

    system = load_system(args.system)
    x0 = resolve_point(system, args.start, "--from")
    x1 = resolve_point(system, args.end, "--to")
    via = [resolve_point(system, v, "--via") for v in args.via or ()]
    out = writable_dir(args.out)
    if args.param is not None or args.values is not None:
        return _instanton_continuation(args, system, x0, x1, out)
    T = args.T
    if T is None and system.t_span is not None:
        T = float(system.t_span[1] - system.t_span[0])
    kind = f"T = {T:g}" if T is not None else "T = infinity (geometric MAM)"
    print(f"instanton of {system.name} from {x0.tolist()} to {x1.tolist()}, {kind} ...")
    inst = instanton(
        system,
        x0,
        x1,
        T,
        n=args.n,
        waypoints=[[v] for v in via] or None,
        n_random=args.n_random,
    )
    print(
        f"action S = {inst.action:.8g}   ({'' if inst.success else 'NOT CONVERGED: '}"
        f"{inst.message})"
    )
    holds = inst.charges.holds(args.charge_tol)
    for row in inst.charges.summary().itertuples():
        if not row.conserved:
            note = "not conserved by theory"
        elif holds[row.charge]:
            note = f"conserved: drift within {args.charge_tol:g} of its terms"
        else:
            note = f"conserved by theory, but drifts by more than {args.charge_tol:g} of its terms"
        print(
            f"  {row.charge:>6} = {row.mean: .8g}   drift {row.drift:.2e} (relative"
            f" {row.relative_drift:.1e}, to its terms {row.scaled_drift:.1e}; {note})"
        )
    if len(inst.minima) > 1:
        print("local minima found (by action):")
        for rank, m in enumerate(inst.minima):
            print(f"  {rank}: S = {m.action:.8g}  (from the {m.label} guess)")
    for m in inst.saddles:
        print(f"  saddle (not a minimum): S = {m.action:.8g}  (from the {m.label} guess)")
    for m in inst.unconverged:
        print(f"  not converged: S = {m.action:.8g}  (from the {m.label} guess: {m.message})")
    stem = args.name or f"instanton_{system.name}_{_slug(args.start)}_{_slug(args.end)}"
    frame = inst.to_frame()
    csv = out / f"{stem}.csv"
    write_csv(frame, csv)
    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    for rank, m in enumerate(inst.minima or (inst,)):
        sub = frame[frame["minimum"] == rank].assign(minimum=0)
        P.plot_instanton(
            sub, ax=axes[0], label=f"{'global' if rank == 0 else 'local'} S = {m.action:.4g}"
        )
    if system.dim == 2:
        xy = frame[["x0", "x1"]].to_numpy()
        lo, hi = xy.min(axis=0), xy.max(axis=0)
        pad = np.maximum(0.15 * (hi - lo), 0.5)
        lim = list(zip(lo - pad, hi + pad, strict=True))
        t_f = float(frame["t"].iloc[0]) if T else 0.0
        P.plot_vector_field(system, ax=axes[0], lim=lim, t=t_f if np.isfinite(t_f) else 0.0)
    axes[0].set_title(f"{system.name}: {kind}")
    P.plot_charge_traces(frame, ax=axes[1])
    fig.tight_layout()
    png = out / f"{stem}.png"
    atomic_write(png, lambda tmp: fig.savefig(tmp, dpi=110, format="png"))
    plt.close(fig)
    print(f"path: {csv}\nfigure: {png}")
    return 0


def parse_values(text: str | None) -> np.ndarray:
    """'1:10:91' -> 91 values from 1 to 10; '1,2,4' -> those values."""
    if text is None:
        raise UsageError("--param needs --values (e.g. 1:10:91)")
    if ":" in text:
        parts = text.split(":")
        try:
            start, stop, count = float(parts[0]), float(parts[1]), int(parts[2])
        except (ValueError, IndexError):
            raise UsageError(f"--values {text!r}: expected START:STOP:COUNT") from None
        if len(parts) != 3 or count < 2:
            raise UsageError(f"--values {text!r}: expected START:STOP:COUNT, COUNT >= 2")
        return np.linspace(start, stop, count)
    return np.asarray(parse_point(text, None, "--values"), dtype=float)


def _instanton_continuation(args, system, x0, x1, out: Path) -> int:
    """``instanton --param P --values ...``: the branches followed across P
    (:func:`theory.continuation`), their frame and events as CSV, and the bifurcation
    figure (action of each branch against P; minima solid, saddles dashed)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from theory import continuation

    from ._study import atomic_write, write_csv

    if args.param is None:
        raise UsageError("--values needs --param")
    if args.T is not None:
        raise UsageError("--param follows infinite-time instantons: drop --T")
    values = parse_values(args.values)
    try:
        c = continuation(system, x0, x1, param=args.param, values=values, n=args.n)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    print(c)
    stem = args.name or (
        f"continuation_{system.name}_{_slug(args.start)}_{_slug(args.end)}_{args.param}"
    )
    csv, events = out / f"{stem}.csv", out / f"{stem}_events.csv"
    write_csv(c.frame, csv)
    write_csv(c.events, events)
    fig, ax = plt.subplots(figsize=(6, 4))
    for branch, rows in c.frame.groupby("branch"):
        # one line per stretch of constant kind: minima solid, saddles dashed
        stretch = (rows["kind"] != rows["kind"].shift()).cumsum()
        for _, part in rows.groupby(stretch):
            kind = part["kind"].iloc[0]
            ax.plot(
                part["param"],
                part["action"],
                ls="-" if kind == "minimum" else "--",
                color=f"C{branch % 10}",
                label=f"branch {branch}: {kind}",
            )
    for row in c.events[c.events.event == "stability exchange"].itertuples():
        ax.axvline(row.param, color="0.6", lw=0.8)
        ax.annotate(
            f"{args.param} = {row.param:.4f} ± {row.error:.0e}",
            (row.param, ax.get_ylim()[1]),
            fontsize=8,
            va="top",
        )
    ax.set_xlabel(args.param)
    ax.set_ylabel("geometric action S")
    ax.set_title(f"{system.name}: instantons from {args.start} to {args.end}")
    ax.legend(fontsize=8)
    fig.tight_layout()
    png = out / f"{stem}.png"
    atomic_write(png, lambda tmp: fig.savefig(tmp, dpi=110, format="png"))
    plt.close(fig)
    print(f"frame: {csv}\nevents: {events}\nfigure: {png}")
    return 0


def _slug(text: str) -> str:
    return "".join(c if c.isalnum() or c in "-." else "_" for c in text).strip("_")


def parse_eps_grid(text: str) -> tuple:
    """'0.2,0.1' -> (0.2, 0.1): positive finite noise levels."""
    values = parse_point(text, None, "--eps")
    if np.any(values <= 0):
        raise UsageError(f"--eps {text!r}: noise levels must be positive")
    return tuple(float(v) for v in values)


def cmd_study(args: argparse.Namespace) -> int:
    """A prebuilt study: noise sweeps, figures and a report under OUT/NAME."""
    from dataclasses import replace

    from . import _studies

    if args.name not in _studies.STUDIES:
        raise UsageError(f"unknown study {args.name!r}; choose from: {', '.join(_studies.STUDIES)}")
    writable_dir(args.out)
    if args.eps is not None:
        grid = parse_eps_grid(args.eps)
        original = _studies.parts

        def parts(name, quick=False):
            return [replace(c, eps_grid=grid) for c in original(name, quick)]

        _studies.parts = parts
    print(f"study {args.name}{' (quick)' if args.quick else ''}: {_studies.STUDIES[args.name]}")
    try:
        res = _studies.run_study(
            args.name, quick=args.quick, out=args.out, n_jobs=args.n_jobs, fresh=args.fresh
        )
    finally:
        if args.eps is not None:
            _studies.parts = original
    print(res.summary())
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    """Markdown report (tables, verdicts, figures) of a study folder."""
    from ._report import write_report

    folder = Path(args.folder)
    if not folder.is_dir():
        raise UsageError(f"study folder {str(folder)!r} does not exist")
    writable_dir(folder)
    report, verdicts = write_report(folder)
    for s in verdicts["statement"]:
        print(f"  {s}")
    print(f"report: {report}\nverdicts: {folder / 'verdicts.csv'}")
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

    p = sub.add_parser(
        "instanton",
        help="the most likely path between two points: action, charges, CSV and figure",
    )
    p.add_argument("system", help="zoo name (see `noisy-noether systems`)")
    p.add_argument("--from", dest="start", required=True, help="a named point or '1,-2'")
    p.add_argument("--to", dest="end", required=True, help="a named point or '1,-2'")
    p.add_argument(
        "--T",
        type=positive,
        default=None,
        help="duration (default: the system's time span, else infinite time between "
        "fixed points by the geometric MAM)",
    )
    p.add_argument("--n", type=int, default=100, help="segments of the initial grid")
    p.add_argument(
        "--via", action="append", help="try also a guess through this point (repeatable)"
    )
    p.add_argument("--n-random", type=int, default=0, help="random initial guesses (multi-start)")
    p.add_argument("--name", default=None, help="file stem (default from the arguments)")
    p.add_argument("--out", default="data/instantons", help="output folder")
    p.add_argument(
        "--charge-tol",
        type=positive,
        default=1e-6,
        help="a charge is called conserved when its drift is within this fraction of its terms",
    )
    p.add_argument(
        "--param",
        default=None,
        help="follow the instantons across this parameter (infinite time; needs --values)",
    )
    p.add_argument(
        "--values",
        default=None,
        help="parameter grid START:STOP:COUNT (e.g. 1:10:91) or a list '1,2,4'",
    )
    p.set_defaults(run=cmd_instanton)

    p = sub.add_parser(
        "study",
        help="run a prebuilt study (noise sweeps, figures, report); `paper` = the paper's four",
    )
    p.add_argument(
        "name",
        help="drift_diffusion, monostable, decision_memory, reverse_diffusion_ring, "
        "maier_stein, rotating_ring or paper",
    )
    p.add_argument("--quick", action="store_true", help="fewer levels and paths (minutes)")
    p.add_argument("--n-jobs", type=int, default=1, help="joblib workers over noise levels")
    p.add_argument("--out", default="data/studies", help="root folder (default data/studies)")
    p.add_argument("--eps", default=None, help="override the noise levels, e.g. '0.2,0.1'")
    p.add_argument("--fresh", action="store_true", help="remove earlier results first")
    p.set_defaults(run=cmd_study)

    p = sub.add_parser("report", help="write report.md (tables, verdicts, figures) of a study")
    p.add_argument("folder", help="a study folder, e.g. data/studies/paper")
    p.set_defaults(run=cmd_report)

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
