"""The data dictionary: every file a study writes and every column of its tables.

One source for ``docs/data.md`` (:func:`markdown`, checked against the file by the tests)
and the ``README.md`` written into each study folder (:func:`write_readme`), so that the
two cannot drift apart. Every table is long (tidy): a quantity that has one value per
coordinate is one row per coordinate i = 0 .. d-1 (a ``coordinate`` column), never one
column per coordinate; all quantities are dimensionless (the systems are
non-dimensionalised).
"""

from __future__ import annotations

import re
from pathlib import Path

#: {table: (what a row is, {column: meaning})}, for the tables of a noise sweep.
SWEEP_TABLES: dict[str, tuple[str, dict[str, str]]] = {
    "summary": (
        "one row per noise level and statistic",
        {
            "system": "zoo name of the system",
            "eps": "noise level eps (dX = f dt + sqrt(2 eps D) dW)",
            "statistic": "what is estimated: `charge_mean_<Q>` (ensemble mean of the path "
            "means of charge Q), `charge_sd_<Q>` (their spread across paths), "
            "`charge_drift_<Q>` (mean change of Q along a path), `tube_l2_q<q>`, "
            "`tube_sup_q<q>`, `tube_radius_q<q>` (q-quantile over paths of the L2 / sup / "
            "pointwise distance to the instanton), `tube_mean_dev` (distance of the mean "
            "path), `mean_path_gap`, `probability` (of the conditioning event), "
            "`neg_eps_log_p` (-eps log probability), `n_accepted`, `duration`",
            "value": "the estimate",
            "se": "its standard error (weighted, by the effective sample size)",
            "ci_low": "lower end of its 95 % interval",
            "ci_high": "upper end of its 95 % interval",
            "theory": "the instanton's (small-noise) value; empty when theory has none",
            "n": "number of accepted paths behind the estimate",
            "ess": "effective sample size of the weighted ensemble",
            "dof": "degrees of freedom of the estimate's t interval (AMS: from the number of "
            "independent runs; otherwise accepted paths - 1); empty where the interval is normal",
        },
    ),
    "replicates": (
        "one row per noise level, statistic and bootstrap replicate",
        {
            "eps": "noise level",
            "statistic": "as in `summary`",
            "replicate": "bootstrap replicate index (paths resampled within the level)",
            "value": "the statistic on that replicate",
        },
    ),
    "profile": (
        "one row per noise level, grid point along the reference instanton and "
        "coordinate (the rows of one level and coordinate, in grid order, are one profile)",
        {
            "eps": "noise level",
            "t": "time of the grid point (fixed-time references)",
            "s": "normalised arc length of the grid point (infinite-time references)",
            "coordinate": "index i = 0 .. d-1 of the coordinate",
            "reference": "coordinate i of the reference instanton",
            "mean": "coordinate i of the weighted mean path",
            "mean_se": "its standard error",
            "median": "coordinate i of the median path",
            "radius_q<q>": "q-quantile over paths of the distance (over all coordinates) to "
            "the reference: the tube's radius at the grid point, the same on each "
            "coordinate's row",
        },
    ),
    "charges": (
        "one row per noise level, sampled path and charge",
        {
            "eps": "noise level",
            "path": "index of the path in the level's ensemble",
            "charge": "charge name (H: quasi-energy, p: momentum, L: angular momentum, ...)",
            "mean": "the charge averaged along the path (its empirical value)",
            "drift": "its change along the path (end window minus start window)",
            "weight": "the path's normalised weight in the ensemble (sums to 1 per level)",
        },
    ),
    "paths": (
        "one row per noise level, shown path, coordinate and saved time: the first sampled "
        "paths of each level (at most 40, thinned to at most 2000 points each, float32) for "
        "figures; the rows of one path and coordinate, in time order, are its trajectory "
        "(wide: `paths.pivot(index=['eps', 'path', 't'], columns='coordinate', "
        "values='value')`)",
        {
            "eps": "noise level",
            "path": "index of the path in the level's ensemble",
            "t": "time",
            "coordinate": "index i = 0 .. d-1 of the coordinate",
            "value": "coordinate i of the path at time t",
        },
    ),
    "scaling": (
        "one row per fitted scaling law",
        {
            "statistic": "the summary statistic fitted",
            "kind": "`power` (y = prefactor eps^exponent, fitted in log-log) or `action` "
            "(y = intercept + slope eps: the eps -> 0 limit of -eps log P)",
            "estimate": "the exponent (power) or the intercept (action)",
            "se": "its bootstrap standard error",
            "ci_low": "lower end of its bootstrap interval",
            "ci_high": "upper end of its bootstrap interval",
            "level": "the interval's confidence level",
            "theory": "the theoretical value (exponent 1/2 for tubes, the action, ...)",
            "contains_theory": "whether the interval contains it",
            "n_levels": "number of noise levels fitted",
            "eps_min": "smallest noise level fitted",
            "eps_max": "largest noise level fitted",
            "other": "the other fitted parameter: prefactor (power) or slope (action)",
            "n_boot": "number of bootstrap replicates",
        },
    ),
}

#: The rates study's table (``noisy-noether study rates``), one per case.
RATES_TABLE = (
    "times",
    "one row per noise level: the measured mean transition time and theory.rate's prediction",
    {
        "case": "the case (folder name)",
        "system": "zoo name of the system",
        "method": "`brute` (censored first passages) or `ams` (loop decomposition)",
        "eps": "noise level eps (dX = f dt + sqrt(2 eps D) dW)",
        "dt": "time step",
        "seed": "the level's seed",
        "estimate": "measured mean time E tau from the attractor into the target",
        "se": "its standard error",
        "ci_low": "lower end of its interval (log scale)",
        "ci_high": "upper end of its interval",
        "level": "the interval's confidence level",
        "dof": "degrees of freedom of the interval's t quantile (inf: normal)",
        "path_steps": "Euler–Maruyama steps spent",
        "status": "`ok` or why the estimate is unreliable",
        "message": "the estimator's message",
        "success": "whether status is `ok`",
        "predicted": "theory.rate's C e^{dV/eps}",
        "exact": "the exact mean time by quadrature (1-D cases; else empty)",
        "seconds": "wall time of the level",
        "barrier": "theory.rate's barrier dV",
        "prefactor": "theory.rate's prefactor C",
    },
)

#: Files of a sweep folder besides its tables.
SWEEP_FILES = {
    "config.json": "the scientific configuration and seed: the study's identity (a rerun "
    "with another configuration is refused; the folder may be moved or renamed)",
    "levels/": "only while the study runs: each finished level's tables (resumption)",
    "figures/": "PNG figures (tubes, charges, scaling, summary table)",
}

#: Files of a prebuilt study's top folder (``noisy-noether study NAME``).
STUDY_FILES = {
    "study.json": "which study, quick or not, and its parts (sub-folders, one sweep each)",
    "instantons.csv": "every reference instanton: action and each charge's value and "
    "drift along it, whether theory conserves it, whether the solver converged",
    "verdicts.csv": "one row per check: the eps -> 0 extrapolation of a charge or tube "
    "exponent with its interval, the theory, whether it is consistent, and a sentence",
    "extra_verdicts.csv": "drift_diffusion: checks against the exact solution; rates: the "
    "barrier and prefactor checks and the exact mean times (same columns as verdicts.csv)",
    "notes.md": "drift_diffusion and rates: how to read the study (copied into the report)",
    "<case>/": "rates only, one folder per case: `case.json` (its configuration), "
    "`levels/` while it runs, then `times.parquet` (below)",
    "report.md": "the report: verdicts, figures, instantons and each sweep's tables",
    "figures/": "the paper's figure of the study",
}


def _table_section(name: str, level: int) -> list[str]:
    row, columns = SWEEP_TABLES[name]
    lines = [f"{'#' * level} `{name}.parquet`: {row}", "", "| column | meaning |", "|---|---|"]
    lines += [f"| `{c}` | {m} |" for c, m in columns.items()]
    return lines + [""]


def markdown() -> str:
    """The text of ``docs/data.md``."""
    lines = [
        "# Data dictionary",
        "",
        "What a study folder holds and what every column means (generated from",
        "`validate/_data_dictionary.py`; each study folder carries the same text in its",
        "`README.md`). Tables are Parquet files in long (tidy) format: read one with",
        '`pandas.read_parquet("summary.parquet")`. A quantity with one value per coordinate',
        "is one row per coordinate (a `coordinate` column, 0 .. d-1), not one column per",
        "coordinate. A column written `radius_q<q>` stands for one column per radius",
        "quantile q (`radius_q0.5`, ...). All quantities are dimensionless.",
        "",
        "## A prebuilt study (`noisy-noether study NAME`)",
        "",
        "| file | content |",
        "|---|---|",
    ]
    lines += [f"| `{f}` | {m} |" for f, m in STUDY_FILES.items()]
    name, row, columns = RATES_TABLE
    lines += ["", f"### `<case>/{name}.parquet` (rates): {row}", "", "| column | meaning |"]
    lines += ["|---|---|"] + [f"| `{c}` | {m} |" for c, m in columns.items()]
    lines += ["", "and one folder per part, a noise sweep:", "", "## A noise sweep", ""]
    lines += ["| file | content |", "|---|---|"]
    lines += [f"| `{f}` | {m} |" for f, m in SWEEP_FILES.items()]
    lines.append("")
    for name in SWEEP_TABLES:
        lines += _table_section(name, 3)
    return "\n".join(lines)


def write_readme(folder: Path, kind: str) -> Path:
    """Write ``README.md`` into a study (``kind="study"``) or sweep (``"sweep"``) folder:
    the files it holds and the columns of its tables."""
    from ._study import atomic_write

    text = markdown()
    if kind == "sweep":  # from the noise sweep's heading on
        text = "# A noise sweep (data dictionary)\n" + text.split("## A noise sweep", 1)[1]
    path = Path(folder) / "README.md"
    atomic_write(path, lambda tmp: Path(tmp).write_text(text + "\n"))
    return path


def undocumented(table: str, columns) -> list[str]:
    """The columns of ``table`` that the dictionary does not describe."""
    patterns = [re.escape(c).replace("<q>", r"[0-9.e+-]+") for c in SWEEP_TABLES[table][1]]
    return [c for c in columns if not any(re.fullmatch(p, c) for p in patterns)]
