"""Running a prebuilt study end to end.

``run_study(name, quick=..., out=..., n_jobs=...)`` writes ``<out>/<name>/``:

- one folder per part (a :class:`validate.Study` noise sweep: ``config.json``, tidy
  tables ``summary.parquet``, ``charges.parquet``, ``profile.parquet``,
  ``paths.parquet``, ``scaling.parquet`` and ``figures/``; see ``docs/data.md``),
- ``instantons.csv`` (every reference instanton: action and charges with their drift),
- ``figures/`` with the paper's figure as this project reproduces it,
- ``verdicts.csv`` and ``report.md`` (:func:`validate.write_report`): whether the charges
  and tubes converge to theory, with uncertainty.


The studies and their parts are in the catalogue (``validate._catalogue``).
"""

from __future__ import annotations

import json
import shutil
import time
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd

from simulate import zoo
from theory._display import fields_repr

from . import _catalogue, _rates_study
from ._catalogue import DD_NOTE, PAPER, STUDIES, drift_diffusion_exact, instanton_table, instantons
from ._data_dictionary import write_readme
from ._instanton_cache import cached_instanton
from ._paper_figures import paper_figures
from ._study import Study, atomic_write, clear_stale_temporaries, write_csv


def _stop_set(spec):
    """A set from its JSON form, or as is: {"kind": "ball", "center": [...], "radius": r},
    {"kind": "halfspace", "normal": [...], "offset": c} ({x : normal . x >= offset}), or
    {"kind": "union", "sets": [<set>, ...]} (e.g. balls on a circle of equilibria)."""
    if not isinstance(spec, dict):
        return spec
    from simulate import Ball, HalfSpace, Union

    kind = spec.get("kind")
    if kind == "ball":
        return Ball(np.asarray(spec["center"], dtype=float), float(spec["radius"]))
    if kind == "halfspace":
        return HalfSpace(np.asarray(spec["normal"], dtype=float), float(spec["offset"]))
    if kind == "union":
        sets = spec.get("sets")
        if not isinstance(sets, list) or not sets or not all(isinstance(x, dict) for x in sets):
            raise ValueError(f"a union set needs a non-empty list of JSON sets, got {sets!r}")
        return Union(*(_stop_set(x) for x in sets))
    raise ValueError(
        f"sets can be given as JSON of kind 'ball', 'halfspace' or 'union', got {spec!r}"
    )


def _reaction_coordinate(spec):
    """An AMS reaction coordinate from its JSON form, or as is: {"kind": "path_progress",
    "points": [[...], ...]} (:func:`simulate.path_progress`), or {"kind": "zoo", "name":
    NAME, "params": [...]}: the compiled function ``simulate.zoo.NAME(x, params)`` (e.g.
    ``ring_fourier_power``) through :func:`simulate.reaction_coordinate`."""
    if not isinstance(spec, dict):
        return spec
    from simulate import path_progress, reaction_coordinate

    kind = spec.get("kind")
    if kind == "path_progress":
        return path_progress(np.asarray(spec["points"], dtype=float))
    if kind == "zoo":
        name = spec.get("name")
        fn = getattr(zoo, str(name), None) if name in zoo.__all__ else None
        if fn is None:
            raise ValueError(f"`reaction_coordinate`: the zoo has no function {name!r}")
        return reaction_coordinate(fn, spec.get("params", ()), name=name)
    raise ValueError(
        f"reaction coordinates can be given as JSON of kind 'path_progress' or 'zoo', got {spec!r}"
    )


class ReferenceStudy(Study):
    """A :class:`Study` whose reference instanton comes from the on-disk cache and whose
    sampler's sets A, B, target (and AMS reaction coordinate) may be given in JSON form."""

    def sampler(self, reference):
        sets = ("A", "B", "target")
        opts = {k: _stop_set(v) if k in sets else v for k, v in self.config.sampler_options.items()}
        rc = opts.get("options", {}).get("reaction_coordinate")
        if rc is not None:
            opts["options"] = dict(opts["options"], reaction_coordinate=_reaction_coordinate(rc))
        return super().sampler(reference, opts)

    def reference(self, system):
        spec = dict(self.config.instanton)
        if not spec or "path" in spec:
            return super().reference(system)
        return cached_instanton(
            system, spec.pop("x_start"), spec.pop("x_end"), spec.pop("T"), **spec
        )


@dataclass(frozen=True)
class StudyRun:
    """What a prebuilt study wrote: its folder, parts, figures, report and timing."""

    name: str
    folder: Path
    parts: tuple
    figures: tuple
    report: Path
    seconds: float
    verdicts: pd.DataFrame

    def __repr__(self) -> str:
        return fields_repr(self)

    def summary(self) -> str:
        from ._report import verdict_counts

        lines = [
            f"study {self.name}: {len(self.parts)} noise sweeps in {self.seconds:.0f} s",
            f"  verdicts: {verdict_counts(self.verdicts)} (see the report)",
            f"  tables:  {self.folder}/<part>/*.parquet (columns: README.md)",
            f"  figures: {len(self.figures)} PNG files under {self.folder}",
            f"  report:  {self.report}",
        ]
        return "\n".join(lines)


def _run_parts(folder: Path, configs, n_jobs, bar, quick) -> list[Path]:
    done = []
    for cfg in configs:
        cfg = replace(cfg, root=str(folder))
        study = ReferenceStudy(cfg)
        on_level = None
        if bar is not None:
            bar.set_postfix_str(f"{folder.name}/{cfg.name}")
            bar.update(len(cfg.eps_grid) - len(study.missing()))  # resumed levels count
            on_level = lambda eps: bar.update(1)  # noqa: E731 - as each level finishes
        study.run(n_jobs=n_jobs, figures=True, on_level=on_level)
        done.append(study.folder)
    return done


def run_study(
    name: str,
    *,
    quick: bool = False,
    out="data/studies",
    n_jobs: int = 1,
    progress: bool = True,
    fresh: bool = False,
    _bar=None,
) -> StudyRun:
    """Run the prebuilt study ``name`` (see the module docstring) into ``<out>/<name>/``.

    Finished noise levels already on disk are kept (an interrupted study resumes);
    ``fresh=True`` removes the folder first. ``quick`` uses fewer levels and paths (the
    README's main job). Returns a :class:`StudyRun`.
    """
    if name not in STUDIES:
        raise ValueError(f"unknown study {name!r}; choose from {', '.join(STUDIES)}")
    t0 = time.time()
    folder = Path(out) / name
    if fresh and folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True, exist_ok=True)
    clear_stale_temporaries(folder)
    if name == "paper":
        return _run_paper(folder, quick, n_jobs, progress, t0)
    configs = _catalogue.parts(name, quick)
    own_bar = None
    if _bar is None and progress:
        from tqdm.auto import tqdm

        total = sum(len(c.eps_grid) for c in configs)
        if name == "rates":
            total = sum(len(c.levels) for c in _rates_study.cases(quick))
        own_bar = _bar = tqdm(total=total, desc=name, unit="level")
    try:
        if name == "rates":
            part_dirs = _rates_study.run_rates(folder, quick, n_jobs, _bar)
        else:
            part_dirs = _run_parts(folder, configs, n_jobs, _bar, quick)
    finally:
        if own_bar is not None:
            own_bar.close()
    insts = instantons(name)
    if insts:
        write_csv(instanton_table(insts), folder / "instantons.csv")
    if name == "drift_diffusion":
        write_csv(drift_diffusion_exact(folder), folder / "extra_verdicts.csv")
        atomic_write(folder / "notes.md", lambda tmp: Path(tmp).write_text(DD_NOTE))
    figs = paper_figures(name, folder, insts)
    atomic_write(
        folder / "study.json",
        lambda tmp: Path(tmp).write_text(
            json.dumps({"study": name, "quick": quick, "parts": [p.name for p in part_dirs]})
        ),
    )
    from ._report import write_report

    write_readme(folder, "study")
    report, verdicts = write_report(folder)
    all_figs = tuple(sorted(folder.rglob("*.png")))
    del figs
    return StudyRun(name, folder, tuple(part_dirs), all_figs, report, time.time() - t0, verdicts)


def _run_paper(folder, quick, n_jobs, progress, t0) -> StudyRun:
    total = sum(len(c.eps_grid) for n in PAPER for c in _catalogue.parts(n, quick))
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=total, desc="paper", unit="level")
    runs = []
    try:
        for n in PAPER:
            runs.append(run_study(n, quick=quick, out=folder, n_jobs=n_jobs, _bar=bar))
    finally:
        if bar is not None:
            bar.close()
    atomic_write(
        folder / "study.json",
        lambda tmp: Path(tmp).write_text(
            json.dumps({"study": "paper", "quick": quick, "parts": list(PAPER)})
        ),
    )
    from ._report import write_report

    write_readme(folder, "study")
    report, verdicts = write_report(folder)
    parts_ = tuple(p for r in runs for p in r.parts)
    figs = tuple(sorted(folder.rglob("*.png")))
    return StudyRun("paper", folder, parts_, figs, report, time.time() - t0, verdicts)
