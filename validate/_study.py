"""Studies: a configuration, a noise sweep run level by level, tables and figures on disk.

``Study(config).run()`` writes ``<root>/<name>/``:

- ``config.json`` (the scientific configuration and seed: the study's identity),
- while it runs, ``levels/eps=<eps>/<table>.parquet`` for each finished noise level
  (summary, replicates, profile, charges, paths): the unit of resumption,
- once every level is done, ``summary.parquet``, ``replicates.parquet``,
  ``profile.parquet``, ``charges.parquet``, ``paths.parquet`` (the levels concatenated in
  eps order; the per-level files are then removed, so each table is stored once) and
  ``scaling.parquet`` (fits),
- ``README.md`` (what each file and column is: the data dictionary, ``docs/data.md``),
- ``figures/*.png``.

Tables are Parquet (pyarrow, zstd-compressed): the format is fixed before any work
starts, and one ``pd.read_parquet`` reads a table. Every file is written atomically (a
temporary file in the same folder, then ``os.replace``) with the user's umask. A study
that was interrupted resumes: the levels already on disk are read back, only the missing
ones are computed, and since each level's seed depends on (seed, eps) alone the tables
are bit-identical to an uninterrupted run's.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import joblib
import numpy as np
import pandas as pd

from simulate import zoo
from simulate._files import atomic_write, clear_stale_temporaries

from ._empirical_charges import DEFAULT_WINDOW
from ._samplers import make_sampler
from ._scaling import scaling_table
from ._sweep import Level, run_level

TABLES = ("summary", "replicates", "profile", "charges", "paths")


def write_csv(frame: pd.DataFrame, path: Path) -> None:
    atomic_write(path, lambda tmp: frame.to_csv(tmp, index=False))


def write_table(frame: pd.DataFrame, path: Path) -> Path:
    """Write ``frame`` as ``path`` with the suffix ``.parquet`` (zstd); returns the path."""
    path = Path(path).with_suffix(".parquet")
    atomic_write(path, lambda tmp: frame.to_parquet(tmp, index=False, compression="zstd"))
    return path


def read_table(path: str | Path) -> pd.DataFrame:
    """The table ``path`` names, with or without its suffix: ``.parquet`` if there is
    one, else ``.csv`` (studies written by older versions); empty if neither exists."""
    path = Path(path)
    for candidate in (path.with_suffix(".parquet"), path.with_suffix(".csv")):
        if candidate.exists():
            if candidate.suffix == ".parquet":
                return pd.read_parquet(candidate)
            try:
                return pd.read_csv(candidate)
            except pd.errors.EmptyDataError:
                return pd.DataFrame()
    return pd.DataFrame()


@dataclass(frozen=True)
class StudyConfig:
    """What a study samples and how.

    Parameters
    ----------
    name : folder name under ``root``
    system : zoo name; ``params`` overrides its parameters
    eps_grid : noise levels
    sampler : "endpoint", "reactive" or "ams"; ``sampler_options`` its settings (set and
        state names, or lists for points; ``target_radius`` with ``target_center`` makes a
        ball target whose radius is target_radius * eps^target_exponent)
    n_paths, seed, n_boot : sizes and the master seed. ``n_paths`` is the number of
        simulated paths per level for "endpoint" and "reactive"; for "ams" it is the
        number of replicas of each AMS run (``n_replicas``), the runs per level being
        ``sampler_options["options"]["n_runs"]``
    instanton : how to get the reference: {"x_start", "x_end", "T"} for theory.instanton,
        or {"path": [[...]], "t": [...]} for a given path
    theory : theoretical values overriding the instanton's (e.g. {"H": 0.0})
    window, quantile : empirical-charge window, tube quantile
    symmetry : the symmetries the tube is quotiented by: the name of a system generator
        (continuous, at most one) or of a declared discrete symmetry
        (``System.discrete``), a list of such names, or None
    """

    name: str
    system: str
    eps_grid: tuple
    sampler: str = "endpoint"
    sampler_options: dict = field(default_factory=dict)
    n_paths: int = 1000
    seed: int = 0
    params: dict = field(default_factory=dict)
    instanton: dict = field(default_factory=dict)
    theory: dict = field(default_factory=dict)
    window: float = DEFAULT_WINDOW
    quantile: float = 0.5
    symmetry: str | list | None = None
    n_boot: int = 200
    root: str = "data/studies"

    def to_json(self) -> str:
        """The study's identity: its scientific configuration, without ``root`` (where the
        study lives is no part of it, so a moved or renamed folder stays resumable)."""
        d = asdict(self)
        del d["root"]
        d["eps_grid"] = [float(e) for e in self.eps_grid]
        return json.dumps(d, indent=2, sort_keys=True)


def _level_dir(folder: Path, eps: float) -> Path:
    return folder / "levels" / f"eps={eps!r}"


class Study:
    """A noise sweep that writes its tables and figures to ``<root>/<name>/``.

    Examples
    --------
    >>> from validate import Study, StudyConfig
    >>> cfg = StudyConfig(name="mono", system="monostable", eps_grid=(0.2, 0.1),
    ...     sampler_options=dict(x0="start", T=1.0, target_center=[2, 2],
    ...     target_radius=0.5, target_exponent=0.5, dt=0.01, guide="instanton"),
    ...     instanton=dict(x_start="start", x_end="end", T=1.0), n_paths=2000)
    >>> Study(cfg).run()  # doctest: +SKIP
    """

    def __init__(self, config: StudyConfig):
        if not isinstance(config, StudyConfig):
            raise ValueError(f"`config` must be a StudyConfig, got {type(config).__name__}")
        if not config.eps_grid:
            raise ValueError("`eps_grid` is empty")
        self.config = config
        self.folder = Path(config.root) / config.name

    # -- pieces --------------------------------------------------------------------

    def system(self):
        return zoo.get(self.config.system, **self.config.params)

    def reference(self, system):
        spec = dict(self.config.instanton)
        if not spec:
            return None
        if "path" in spec:
            path = np.asarray(spec["path"], dtype=float)
            t = np.asarray(spec["t"], dtype=float) if "t" in spec else None
            return (path, t) if t is not None else path
        from theory import instanton

        return instanton(system, spec.pop("x_start"), spec.pop("x_end"), spec.pop("T"), **spec)

    def sampler(self, reference, options: dict | None = None):
        """The sampler of ``options`` (default: the configuration's ``sampler_options``)."""
        opts = dict(self.config.sampler_options if options is None else options)
        if "target_radius" in opts:
            from simulate import Ball

            c = np.asarray(opts.pop("target_center"), dtype=float)
            r, k = float(opts.pop("target_radius")), float(opts.pop("target_exponent", 0.0))
            opts["target"] = _BallOfEps(tuple(c), r, k)
            _ = Ball  # the target builds simulate.Ball on demand
        if opts.get("guide") == "instanton":
            opts["guide"] = reference
        for key in ("absorbing",):
            if key in opts:
                opts[key] = tuple(opts[key])
        if "window" in opts and opts["window"] is not None:
            opts["window"] = tuple(opts["window"])
        return make_sampler(self.config.sampler, **opts)

    def level_runner(self) -> Callable[[float], Level]:
        """``level(eps)``: one noise level of this study, :func:`run_level` with the
        configuration's system, reference, sampler and statistics options."""
        cfg = self.config
        system = self.system()
        ref = self.reference(system)
        smp = self.sampler(ref)
        sym, discrete = _symmetries(system, cfg.symmetry)
        kw = dict(
            n_paths=cfg.n_paths,
            seed=cfg.seed,
            reference=ref,
            theory=cfg.theory,
            window=cfg.window,
            quantile=cfg.quantile,
            symmetry=sym,
            discrete=discrete,
            n_boot=cfg.n_boot,
        )

        def level(eps: float) -> Level:
            return run_level(system, eps, smp, **kw)

        return level

    def missing(self) -> list[float]:
        """Noise levels whose tables are not on disk yet."""
        if self._assembled():
            return []
        return [
            float(e)
            for e in self.config.eps_grid
            if not (_level_dir(self.folder, float(e)) / "summary.parquet").exists()
        ]

    def _assembled(self) -> bool:
        """Whether the tables of every level are in the study's top-level files (written
        by :meth:`assemble`, last of all ``summary.parquet``)."""
        return (self.folder / "summary.parquet").exists()

    # -- running -------------------------------------------------------------------

    def run(
        self,
        n_jobs: int = 1,
        figures: bool = True,
        max_levels: int | None = None,
        on_level=None,
    ):
        """Compute the missing levels (at most ``max_levels`` of them), then assemble the
        tables, the scaling fits and the figures. Returns the summary frame, or None
        while levels are missing. ``on_level(eps)`` is called as each level finishes (in
        the order they finish when ``n_jobs`` > 1), e.g. to advance a progress bar."""
        cfg = self.config
        self.folder.mkdir(parents=True, exist_ok=True)
        clear_stale_temporaries(self.folder)
        cfg_path = self.folder / "config.json"
        if cfg_path.exists():
            check_same_study(self.folder, json.loads(cfg_path.read_text()), cfg.to_json())
        atomic_write(cfg_path, lambda tmp: Path(tmp).write_text(cfg.to_json()))
        level = self.level_runner()
        todo = self.missing()
        if max_levels is not None:
            todo = todo[:max_levels]

        # a worker computes a level and sends its tables back; this process writes them,
        # so workers need no access to the output folder (a cluster's nodes may not share
        # a file system with the client)
        def one(eps):
            return eps, level(eps).tables()

        if n_jobs == 1 or len(todo) <= 1:
            done = map(one, todo)
        else:
            try:  # each level written and reported as it finishes
                done = joblib.Parallel(n_jobs=n_jobs, return_as="generator_unordered")(
                    joblib.delayed(one)(e) for e in todo
                )
            except ValueError:  # a backend without generators (multiprocessing): at the end
                done = joblib.Parallel(n_jobs=n_jobs)(joblib.delayed(one)(e) for e in todo)
        for eps, tables in done:
            folder = _level_dir(self.folder, eps)
            for name, table in tables.items():
                if name != "summary":
                    write_table(table, folder / name)
            write_table(tables["summary"], folder / "summary")  # last: marks the level done
            if on_level is not None:
                on_level(eps)
        if self.missing():
            return None
        return self.assemble(figures=figures)

    def load(self, table: str = "summary") -> pd.DataFrame:
        """A table of the finished levels, concatenated in the order of ``eps_grid``."""
        if self._assembled():
            return read_table(self.folder / table)
        frames = [
            read_table(_level_dir(self.folder, float(e)) / table) for e in self.config.eps_grid
        ]
        frames = [f for f in frames if len(f.columns)]
        return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()

    def assemble(self, figures: bool = True) -> pd.DataFrame:
        """Write the study's tables (each level's concatenated, in eps order), then remove
        the per-level files, the scaling fits, the folder's README and the figures."""
        tables = {name: self.load(name) for name in TABLES}
        accepted = tables["summary"].query("statistic == 'n_accepted'")["value"]
        if len(accepted) and (accepted < 2).all():
            raise ValueError(
                f"{self.folder}: no noise level has two accepted paths (accepted: "
                f"{accepted.astype(int).tolist()} at eps = {list(self.config.eps_grid)}): the "
                "study checks nothing; use larger noise levels or more paths"
            )
        fits = scaling_table(
            tables["summary"],
            tables["replicates"] if len(tables["replicates"]) else None,
            seed=self.config.seed,
        )
        write_table(fits, self.folder / "scaling")
        for name in sorted(TABLES, key=lambda n: n == "summary"):  # summary last: the mark
            write_table(tables[name], self.folder / name)
        shutil.rmtree(self.folder / "levels", ignore_errors=True)
        from ._data_dictionary import write_readme

        write_readme(self.folder, "sweep")
        if figures:
            self.figures(tables, fits)
        return tables["summary"]

    def figures(self, tables=None, fits=None) -> list[Path]:
        """Draw the study's figures to ``figures/`` (PNG)."""
        import matplotlib.pyplot as plt  # the caller's backend (Agg where there is no display)

        from . import _plotting as P

        tables = tables or {name: self.load(name) for name in TABLES}
        summary = tables["summary"]
        fits = fits if fits is not None else scaling_table(summary)
        out = []

        def save(fig, name):
            path = self.folder / "figures" / f"{name}.png"
            path.parent.mkdir(parents=True, exist_ok=True)
            atomic_write(path, lambda tmp: fig.savefig(tmp, dpi=110, format="png"))
            plt.close(fig)
            out.append(path)

        where = f"{self.config.system}, {self.folder.parent.name}/{self.folder.name}"
        eps_list = list(self.config.eps_grid)
        prof, paths = tables["profile"], tables["paths"]
        if len(prof):
            fig, axes = plt.subplots(
                1, len(eps_list), figsize=(4 * len(eps_list), 3.5), squeeze=False
            )
            two_d = bool((prof["coordinate"] == 1).any()) and "t" not in prof.columns
            for ax, e in zip(axes[0], eps_list, strict=True):
                P.plot_tube(
                    paths[paths["eps"] == e],
                    prof[prof["eps"] == e],
                    ax=ax,
                    coord=None if two_d else 0,
                    title=f"eps = {e:g}",
                )
            fig.suptitle(f"{where}: sampled paths, mean path and tube around the instanton")
            fig.tight_layout()
            save(fig, "tubes")
        ch = tables["charges"]
        if len(ch):
            for c in ch["charge"].unique():
                rows = summary[summary["statistic"] == f"charge_mean_{c}"]
                th = rows["theory"].iloc[0] if len(rows) else None
                fig, ax = plt.subplots(figsize=(5, 3.5))
                P.plot_charges(ch, c, th, ax=ax, where=where)
                fig.tight_layout()
                save(fig, f"charge_{c}")
        for stat in [s for s in fits.get("statistic", []) if s.startswith("tube_")][:2]:
            fig, ax = plt.subplots(figsize=(5, 3.5))
            P.plot_scaling(summary, stat, fits[fits["statistic"] == stat], ax=ax, where=where)
            fig.tight_layout()
            save(fig, f"scaling_{stat}")
        keep = [
            s
            for s in summary["statistic"].unique()
            if s.startswith("charge_mean") or s in ("probability", "tube_l2_q0.5")
        ]
        fig, ax = plt.subplots(figsize=(8, 0.25 * (summary["statistic"].isin(keep).sum() + 4)))
        P.plot_summary_table(summary, keep, ax=ax, where=where)
        save(fig, "summary_table")
        return out


def _symmetries(system, names) -> tuple:
    """(generator or None, tuple of DiscreteSymmetry or None) named by ``names`` (a name,
    a list of names, or None): see ``StudyConfig.symmetry``."""
    names = [names] if isinstance(names, str) else list(names or [])
    sym, discrete = None, []
    for name in names:
        g = next((g for g in system.generators if g.name == name), None)
        h = next((h for h in system.discrete if h.name == name), None)
        if g is not None:
            if sym is not None:
                raise ValueError(f"`symmetry`: at most one continuous generator, got {names}")
            sym = g
        elif h is not None:
            discrete.append(h)
        else:
            have = [g.name for g in system.generators] + [h.name for h in system.discrete]
            raise ValueError(f"`symmetry`: {system.name!r} has no symmetry {name!r} ({have})")
    return sym, tuple(discrete) or None


def check_same_study(folder: Path, stored: dict, identity: str) -> None:
    """Refuse to add to a folder holding another study: ``stored`` is the configuration
    on disk, ``identity`` the JSON of the one wanted (``StudyConfig.to_json``, or a rates
    case's); the error names the fields that differ. The folder's name and place
    (``name``, and ``root`` written by older versions) are no part of the identity: a
    moved or renamed study resumes."""
    stored = {k: v for k, v in stored.items() if k not in ("root", "name")}
    wanted = {k: v for k, v in json.loads(identity).items() if k != "name"}
    differ = sorted(k for k in stored.keys() | wanted.keys() if stored.get(k) != wanted.get(k))
    if differ:
        changes = "; ".join(
            f"{k}: {json.dumps(stored.get(k))} on disk, {json.dumps(wanted.get(k))} now"
            for k in differ
        )
        raise ValueError(
            f"{folder} holds a study with another configuration ({changes}); start over with "
            "`--fresh` (run_study(..., fresh=True)), or choose another output folder"
        )


@dataclass(frozen=True)
class _BallOfEps:
    """A ball target whose radius is radius * eps^exponent (picklable)."""

    center: tuple
    radius: float
    exponent: float

    def __call__(self, eps):
        from simulate import Ball

        return Ball(np.asarray(self.center), self.radius * eps**self.exponent)
