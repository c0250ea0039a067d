"""The ``noisy-noether`` command line (also ``python -m validate``).

Every sub-command has ``--help``; mistakes (unknown system, malformed point, eps <= 0,
unwritable output folder) end with a one-line error and exit status 2, never a traceback.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import sys
import tempfile
from pathlib import Path

import numpy as np


class UsageError(ValueError):
    """A mistake in the command line, reported in one line."""


def parse_point(text: str, dim: int | None = None, what: str = "point") -> np.ndarray:
    """Parse '1.5,-2' (or '1.5 -2') into a finite vector, checking its dimension."""
    fields = text.split(",") if "," in text else text.split()
    if any(not f.strip() for f in fields):
        raise UsageError(f"{what} {text!r} has an empty entry: give numbers like '1.5,-2'")
    try:
        values = np.array([float(v) for v in fields], dtype=float)
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


def integer(minimum: int, what: str):
    """argparse type: an integer >= ``minimum`` (``what`` says which in the error)."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be {what}, got {text}")
        return value

    return parse


def n_jobs_type(text: str) -> int:
    """argparse type: joblib's n_jobs, a non-zero integer (-1: every core)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
    if value == 0:
        raise argparse.ArgumentTypeError("must be a positive number of workers or -1 (all cores)")
    return value


def writable_dir(path: str | Path) -> Path:
    """Check, without creating anything, that the folder ``path`` can be made and written:
    its nearest existing ancestor is a folder where a file can be created."""
    path = Path(path)
    existing = path
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        raise UsageError(f"cannot write to output folder {str(path)!r}: {existing} is a file")
    try:
        with tempfile.TemporaryFile(dir=existing):
            pass
    except OSError as exc:
        raise UsageError(
            f"cannot write to output folder {str(path)!r}: {exc.strerror or exc}"
        ) from None
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
    from simulate import MemoryBudgetError, ensemble
    from simulate._files import atomic_write

    system = load_system(args.system)
    x0 = resolve_point(system, args.x0, "--x0")
    out = Path(args.out)
    if not out.suffix:
        out = out / f"{system.name}_ensemble.csv"
    if out.suffix not in (".csv", ".parquet"):
        raise UsageError(f"--out {str(out)!r} must end in .csv or .parquet")
    if out.suffix == ".parquet":
        import pyarrow  # noqa: F401 - a dependency; fail here, not after the run
    writable_dir(out.parent)
    if args.dt > args.T:
        raise UsageError(f"--dt {args.dt:g} is larger than --T {args.T:g}: a single step")
    save = "final" if args.save is None else args.save
    # the table written at the end holds a row (path, t, x0..) per saved point: counted
    # with the arrays, so that the budget refuses before the run, not after it
    n_steps = int(np.ceil(args.T / args.dt - 1e-9))
    n_rows = args.n_paths * (n_steps // args.save + 1 if args.save else 1)
    budget = args.memory_budget * 1024**3
    frame_bytes = n_rows * 8 * (2 + system.dim) * (1 if args.save else 2)
    if frame_bytes >= budget:
        raise UsageError(
            f"the output table needs about {frame_bytes / 1024**3:.2f} GiB in memory, over "
            f"--memory-budget {args.memory_budget:g} GiB: a larger --save, fewer "
            "--n-paths, or a larger --memory-budget"
        )
    try:
        res = ensemble(
            system,
            x0,
            args.eps,
            t_span=args.T,
            dt=args.dt,
            n_paths=args.n_paths,
            seed=args.seed,
            save=save,
            n_jobs=args.n_jobs,
            progress=True,
            memory_budget=budget - frame_bytes,
        )
    except MemoryBudgetError as exc:
        raise UsageError(
            f"{exc} (with the output table: raise --memory-budget, now {args.memory_budget:g} GiB)"
        ) from None
    frame = res.to_frame("paths" if save != "final" else "final")
    if out.suffix == ".csv":
        atomic_write(out, lambda tmp: frame.to_csv(tmp, index=False))
    else:
        atomic_write(out, lambda tmp: frame.to_parquet(tmp, index=False))
    print(res.summary())
    print(f"wrote {len(frame)} rows to {out}")
    return 0


def cmd_instanton(args: argparse.Namespace) -> int:
    """The most likely path between two points: action and charges printed, the path
    (tidy CSV, every local minimum found) and a figure saved."""
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
    duration = f"T{T:g}" if T is not None else "Tinf"  # in the file names: one file per T
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
    stem = args.name or (
        f"instanton_{system.name}_{_slug(args.start)}_{_slug(args.end)}_{_slug(duration)}"
    )
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
    values = parse_values(args.values)
    via = [resolve_point(system, v, "--via") for v in args.via or ()]
    options = {}
    if args.T is not None:  # finite T: the multi-start of the first value
        options = {"waypoints": [[v] for v in via] or None, "n_random": args.n_random}
    elif via or args.n_random:
        raise UsageError("--via and --n-random need --T with --param (finite T)")
    try:
        c = continuation(
            system, x0, x1, param=args.param, values=values, T=args.T, n=args.n, **options
        )
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
    ax.set_ylabel("geometric action S" if args.T is None else f"action S (T = {args.T:g})")
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

    from . import _catalogue, _runner

    if args.name not in _catalogue.STUDIES:
        choices = ", ".join(_catalogue.STUDIES)
        raise UsageError(f"unknown study {args.name!r}; choose from: {choices}")
    grid = parse_eps_grid(args.eps) if args.eps is not None else None
    if grid is not None and args.name == "rates":
        raise UsageError("--eps is not available for the rates study (each case has its own "
                         "grid and method per level: validate._rates_study.cases)")  # fmt: skip
    scheduler = dask_scheduler(args.backend, args.scheduler)
    writable_dir(args.out)  # every check above: nothing is created before them
    if grid is not None:
        original = _catalogue.parts

        def parts(name, quick=False):
            return [replace(c, eps_grid=grid) for c in original(name, quick)]

        _catalogue.parts = parts
    print(f"study {args.name}{' (quick)' if args.quick else ''}: {_catalogue.STUDIES[args.name]}")
    try:
        with _backend(args.backend, scheduler):
            res = _runner.run_study(
                args.name, quick=args.quick, out=args.out, n_jobs=args.n_jobs, fresh=args.fresh
            )
    finally:
        if grid is not None:
            _catalogue.parts = original
    print(res.summary())
    return 0


def dask_scheduler(backend: str, scheduler: str | None) -> str | None:
    """The scheduler of ``--backend dask``: ``--scheduler``, else dask's own variable
    DASK_SCHEDULER_ADDRESS (so a batch script can choose the cluster without options)."""
    if scheduler and backend != "dask":
        raise UsageError("--scheduler is for --backend dask")
    if backend != "dask":
        return None
    scheduler = scheduler or os.environ.get("DASK_SCHEDULER_ADDRESS")
    if not scheduler:
        raise UsageError(
            "--backend dask needs --scheduler ADDRESS or FILE (a dask.distributed "
            "scheduler, or the file it wrote with --scheduler-file), or "
            "DASK_SCHEDULER_ADDRESS set"
        )
    return scheduler


@contextlib.contextmanager
def _backend(name: str, scheduler: str | None):
    """joblib's backend for the workers of ``--n-jobs``: loky (processes), threading, or
    dask on the dask.distributed scheduler ``scheduler``: an address (tcp://host:8786) or
    the JSON file a scheduler wrote with ``--scheduler-file`` (how SLURM jobs find it)."""
    import joblib

    if name != "dask":
        with joblib.parallel_config(backend=name):
            yield
        return
    try:
        from dask.distributed import Client
    except ImportError:
        raise UsageError(
            "--backend dask needs dask.distributed: pip install 'dask[distributed]'"
        ) from None
    where = {"scheduler_file": scheduler} if Path(scheduler).is_file() else {"address": scheduler}
    try:
        client = Client(**where, timeout=10)
    except (OSError, ValueError) as exc:  # unreachable, or not an address
        raise UsageError(f"--scheduler {scheduler!r}: cannot connect ({exc})") from None
    try:
        with joblib.parallel_config(backend="dask"):
            yield
    finally:
        client.close()


def cmd_report(args: argparse.Namespace) -> int:
    """Markdown report (tables, verdicts, figures) of a study folder."""
    from ._report import verdict_counts, write_report

    folder = Path(args.folder)
    if not folder.is_dir():
        raise UsageError(f"study folder {str(folder)!r} does not exist")
    writable_dir(folder)
    report, verdicts = write_report(folder)
    for s in verdicts["statement"]:
        print(f"  {s}")
    print(f"checks: {verdict_counts(verdicts)} (rule: docs/verdicts.md)")
    print(f"report: {report}\nverdicts: {folder / 'verdicts.csv'}")
    return 0


def cmd_rate(args: argparse.Namespace) -> int:
    """Predicted (and with ``--sample`` measured) mean transition times from an attractor
    over an index-1 saddle (docs/rates.md): E tau ≈ C e^{ΔV/eps}."""
    from theory import connecting_saddles, rate
    from theory._rates import polish_fixed_point

    if args.sample:
        try:
            from . import mean_time  # noqa: F401 - checked before any work
        except ImportError:
            raise UsageError("--sample needs validate.mean_time, not in this build") from None
    system = load_system(args.system)
    x0 = resolve_point(system, args.start, "--from")
    given = resolve_point(system, args.end, "--to")
    x1 = polish_fixed_point(system, given, "--to")
    if np.linalg.norm(x1 - given) > 0.1 * max(1.0, float(np.linalg.norm(given))):
        raise UsageError(
            f"--to {args.end!r} is not near a fixed point (Newton went to "
            f"{np.round(x1, 6).tolist()})"
        )
    eps = parse_eps_grid(args.eps) if args.eps is not None else None
    # an attractor: the saddles between the two basins
    if np.all(np.linalg.eigvals(system.jacobian(x1)).real < 0):
        saddles = connecting_saddles(system, x0, x1)
        if not saddles:
            raise UsageError(
                f"no index-1 saddle connects --from {args.start!r} and --to {args.end!r}"
            )
    else:
        saddles = [x1]
    results = [rate(system, x0, s) for s in saddles]
    best = min(results, key=lambda r: r.barrier)
    for r in results:
        mark = "" if len(results) == 1 else (" (lowest)" if r is best else "")
        print(
            f"{system.name}: from {np.round(r.x_min, 6).tolist()} over the saddle "
            f"{np.round(r.x_saddle, 6).tolist()}{mark}, method {r.method}: {r.message}"
        )
        print(
            f"  barrier dV = {r.barrier:.10g}   prefactor C = {r.prefactor:.10g}   "
            f"(unstable eigenvalue {r.unstable_eigenvalue:.6g}, divergence integral "
            f"{r.divergence_integral:.3g})"
        )
    if eps is None:
        eps = tuple(best.barrier / k for k in (5.0, 10.0, 20.0))
        print("mean times at eps = dV/5, dV/10, dV/20 (choose with --eps):")
    header = f"  {'eps':>10}  {'predicted E tau':>15}"
    if args.sample:
        header += f"  {'measured E tau':>14}  {'95% interval':>25}  {'paths':>5}  status"
    print(header)
    for e in eps:
        line = f"  {e:>10.4g}  {best.mean_time(e):>15.6g}"
        if args.sample:
            line += "  " + _sampled_mean_time(system, best, x1, e, args)
        print(line)
    return 0


def _sampled_mean_time(system, r, x1, eps: float, args) -> str:
    """Brute-force mean time (validate.mean_time, censored passages) from the attractor
    into a ball around the attractor beyond the saddle, t_max = 5 predicted times, the
    exponential tail from one predicted time (e^{-1} of the paths still run there)."""
    from simulate import Ball

    from . import mean_time

    beyond = _beyond(system, r)
    radius = 0.1 * float(np.linalg.norm(r.x_saddle - beyond))
    t_pred = r.mean_time(eps)
    dt = args.dt
    if t_pred / dt * args.n_paths > args.max_steps:
        return f"{'-':>14}  {'(skipped: over --max-steps)':>25}  {0:>5}  skipped"
    mt = mean_time(system, r.x_min, Ball(beyond, radius), eps, method="brute", seed=args.seed,
                   dt=dt, n_paths=args.n_paths, t_max=5.0 * t_pred, t_tail=t_pred)  # fmt: skip
    ci = f"[{mt.ci_low:.4g}, {mt.ci_high:.4g}]"
    return f"{mt.estimate:>14.6g}  {ci:>25}  {args.n_paths:>5}  {mt.status}"


def _beyond(system, r) -> np.ndarray:
    """The attractor the saddle's other unstable branch falls into."""
    from scipy.integrate import solve_ivp

    w, V = np.linalg.eig(system.jacobian(r.x_saddle))
    u = np.real(V[:, int(np.argmax(w.real))])
    u *= -np.sign(u @ (r.x_min - r.x_saddle)) / np.linalg.norm(u)
    x = r.x_saddle + 1e-4 * max(1.0, float(np.linalg.norm(r.x_saddle - r.x_min))) * u
    sol = solve_ivp(lambda t, y: system.f(y), (0, 200.0 / r.unstable_eigenvalue + 200.0), x,
                    rtol=1e-8, atol=1e-10)  # fmt: skip
    end = sol.y[:, -1]
    if float(np.max(np.abs(system.f(end)))) > 1e-5:
        raise UsageError("--sample: the saddle's other branch does not settle on an attractor")
    return end


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
    p.add_argument(
        "--n-paths", type=integer(1, "at least 1"), default=1000, help="paths (default 1000)"
    )
    p.add_argument(
        "--seed",
        type=integer(0, "non-negative"),
        default=0,
        help="master seed: path i draws from the stream (seed, i), so results do not depend "
        "on --n-jobs (default 0)",
    )
    p.add_argument(
        "--save",
        type=integer(1, "at least 1"),
        default=None,
        metavar="K",
        help="save every K-th step (default: final states only)",
    )
    p.add_argument(
        "--n-jobs",
        type=n_jobs_type,
        default=1,
        help="worker processes, -1 for every core (default 1: this process, all threads)",
    )
    p.add_argument(
        "--memory-budget",
        type=positive,
        default=2.0,
        help="GiB the ensemble and its output table may take; a larger run is refused "
        "before it starts (default 2)",
    )
    p.add_argument(
        "--out",
        default="data/studies/simulate",
        help="output file (.csv or .parquet, chosen before the run) or folder "
        "(default data/studies/simulate, file <system>_ensemble.csv)",
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
    p.add_argument(
        "--n", type=integer(2, "at least 2"), default=100, help="segments of the grid (default 100)"
    )
    p.add_argument(
        "--via",
        action="append",
        help="try also a guess through this point (repeatable; default: none)",
    )
    p.add_argument(
        "--n-random",
        type=integer(0, "non-negative"),
        default=0,
        help="random initial guesses for the multi-start (default 0)",
    )
    p.add_argument(
        "--name",
        default=None,
        help="file stem (default instanton_<system>_<from>_<to>_T<T>, Tinf for infinite time)",
    )
    p.add_argument(
        "--out", default="data/instantons", help="output folder (default data/instantons)"
    )
    p.add_argument(
        "--charge-tol",
        type=positive,
        default=1e-6,
        help="a charge is called conserved when its drift is within this fraction of its "
        "terms (default 1e-6)",
    )
    p.add_argument(
        "--param",
        default=None,
        help="follow the instantons across this parameter (infinite time, or at --T with "
        "--via / --n-random for the first value's starts; needs --values; default: none)",
    )
    p.add_argument(
        "--values",
        default=None,
        help="parameter grid START:STOP:COUNT (e.g. 1:10:91) or a list '1,2,4' (default: none)",
    )
    p.set_defaults(run=cmd_instanton)

    p = sub.add_parser(
        "study",
        help="run a prebuilt study (noise sweeps, figures, report); `paper` = the paper's four",
    )
    p.add_argument(
        "name",
        help="drift_diffusion, monostable, decision_memory, reverse_diffusion_ring, "
        "maier_stein, rotating_ring, oscillator_ring, rates or paper",
    )
    p.add_argument(
        "--quick", action="store_true", help="fewer levels and paths (minutes; default: full)"
    )
    p.add_argument(
        "--n-jobs",
        type=n_jobs_type,
        default=1,
        help="joblib workers over noise levels, -1 for every core (default 1)",
    )
    p.add_argument(
        "--backend",
        choices=("loky", "threading", "dask"),
        default="loky",
        help="joblib backend of the workers: loky (processes), threading, or dask (a "
        "dask.distributed cluster, with --scheduler) (default loky)",
    )
    p.add_argument(
        "--scheduler",
        default=None,
        help="the dask.distributed scheduler for --backend dask: its address, e.g. "
        "tcp://10.0.0.1:8786, or the file it wrote with --scheduler-file "
        "(default: $DASK_SCHEDULER_ADDRESS)",
    )
    p.add_argument("--out", default="data/studies", help="root folder (default data/studies)")
    p.add_argument(
        "--eps",
        default=None,
        help="override the noise levels, e.g. '0.2,0.1' (default: the study's own)",
    )
    p.add_argument(
        "--fresh",
        action="store_true",
        help="remove earlier results of this study first (default: resume them)",
    )
    p.set_defaults(run=cmd_study)

    p = sub.add_parser(
        "rate",
        help="predicted mean transition time over an index-1 saddle: barrier, prefactor, "
        "E tau (docs/rates.md)",
    )
    p.add_argument("system", help="zoo name (see `noisy-noether systems`)")
    p.add_argument(
        "--from", dest="start", required=True, help="the attractor: a named point or '1,-2'"
    )
    p.add_argument(
        "--to",
        dest="end",
        required=True,
        help="the index-1 saddle, or the attractor beyond it (the connecting saddles are "
        "searched; the lowest barrier is used)",
    )
    p.add_argument(
        "--eps",
        default=None,
        help="noise levels '0.1,0.05' (default: dV/5, dV/10, dV/20)",
    )
    p.add_argument(
        "--sample",
        action="store_true",
        help="also measure E tau by brute force (validate.mean_time: censored passages "
        "into a ball around the attractor beyond the saddle, up to 5 predicted times; "
        "default: off)",
    )
    p.add_argument(
        "--n-paths",
        type=integer(2, "at least 2"),
        default=200,
        help="paths per noise level with --sample (default 200)",
    )
    p.add_argument(
        "--dt", type=positive, default=1e-3, help="time step with --sample (default 1e-3)"
    )
    p.add_argument(
        "--max-steps",
        type=positive,
        default=2e9,
        help="skip a level whose predicted cost (paths x E tau / dt) exceeds this (default 2e9)",
    )
    p.add_argument(
        "--seed",
        type=integer(0, "non-negative"),
        default=0,
        help="master seed of --sample (default 0)",
    )
    p.set_defaults(run=cmd_rate)

    p = sub.add_parser("report", help="write report.md (tables, verdicts, figures) of a study")
    p.add_argument("folder", help="a study folder, e.g. data/studies/paper")
    p.set_defaults(run=cmd_report)

    return parser


class Terminated(BaseException):
    """SIGTERM, raised as an exception so that ``finally`` clauses remove temporary files."""


def _raise_terminated(signum, frame):
    raise Terminated


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    # figures go to files: no window, unless the user chose a backend (the library
    # modules leave matplotlib's backend alone, so notebooks draw inline); undone at the
    # end, for a caller that runs main() in its own process
    own_backend = "MPLBACKEND" not in os.environ
    if own_backend:
        os.environ["MPLBACKEND"] = "Agg"
    previous = signal.signal(signal.SIGTERM, _raise_terminated)
    try:
        return args.run(args)
    except BrokenPipeError:  # `noisy-noether systems | head`: the reader left, quietly
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())  # Python's flush at exit goes nowhere
        return 141
    except (ValueError, OSError) as exc:
        print(f"noisy-noether {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("noisy-noether: interrupted; finished outputs are kept", file=sys.stderr)
        return 130
    except Terminated:
        print("noisy-noether: terminated; finished outputs are kept", file=sys.stderr)
        return 143
    finally:
        signal.signal(signal.SIGTERM, previous)
        if own_backend:
            os.environ.pop("MPLBACKEND", None)
