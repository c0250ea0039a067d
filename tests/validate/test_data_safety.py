"""Results you can keep: caches keyed by the drift's code, studies that move, umask,
temporary files, degenerate work refused."""

import os
import stat
import subprocess
import sys
import textwrap

import numpy as np
import pandas as pd
import pytest

from simulate import System, zoo
from validate._instanton_cache import CACHE_ENV, REFERENCE, cache_dir, cached_instanton

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _linear(rate):
    def drift(x, t, p, out):
        out[0] = -rate * x[0]

    return drift


def test_instanton_cache_is_keyed_by_the_drift_code(tmp_path):
    # two drifts of one name and qualified name that differ only in a closure constant
    old = System(drift=_linear(1.0), D=np.eye(1), name="ou1")
    new = System(drift=_linear(3.0), D=np.eye(1), name="ou1")
    first = cached_instanton(old, [0.0], [1.0], 1.0, cache=tmp_path)
    assert len(list(tmp_path.glob("*.json"))) == 1
    again = cached_instanton(old, [0.0], [1.0], 1.0, cache=tmp_path)
    assert again.diagnostics.get("cached") and again.action == pytest.approx(first.action)
    edited = cached_instanton(new, [0.0], [1.0], 1.0, cache=tmp_path)
    assert not edited.diagnostics.get("cached")
    assert edited.action > 2 * first.action  # a stiffer drift costs more to climb against
    assert len(list(tmp_path.glob("*.json"))) == 2


def test_reference_instantons_are_read_not_written(tmp_path):
    before = sorted(p.name for p in REFERENCE.iterdir())
    inst = cached_instanton(zoo.monostable(), "start", "end", 10.0, cache=tmp_path)
    assert inst.diagnostics.get("cached")
    assert list(tmp_path.iterdir()) == []
    assert sorted(p.name for p in REFERENCE.iterdir()) == before


def test_cache_folder_from_the_environment_and_write_errors_are_loud(tmp_path, monkeypatch):
    monkeypatch.setenv(CACHE_ENV, str(tmp_path / "mine"))
    assert cache_dir() == tmp_path / "mine"
    blocked = tmp_path / "file"
    blocked.write_text("")  # a file where the cache folder should be
    with pytest.raises(OSError, match=CACHE_ENV):
        cached_instanton(System(drift=_linear(2.0), D=np.eye(1)), [0.0], [1.0], 1.0, cache=blocked)


def _tiny(root, name="mono", **change):
    from dataclasses import replace

    from validate._catalogue import parts
    from validate._runner import ReferenceStudy

    cfg = parts("monostable", quick=True)[0]
    cfg = replace(cfg, name=name, root=str(root), eps_grid=(0.2, 0.1), n_paths=60, n_boot=5)
    return ReferenceStudy(replace(cfg, **change))


def test_a_moved_and_renamed_study_resumes(tmp_path):
    study = _tiny(tmp_path / "a")
    assert study.run(figures=False, max_levels=1) is None  # interrupted after one level
    before = study.load("summary")
    moved = tmp_path / "elsewhere" / "renamed"
    moved.parent.mkdir()
    study.folder.rename(moved)
    again = _tiny(moved.parent, name="renamed")
    assert again.missing() == [0.1]
    again.run(figures=False)
    after = again.load("summary")
    pd.testing.assert_frame_equal(after[after["eps"] == 0.2], before)  # kept, not redone


def test_another_configuration_is_refused_naming_the_fields(tmp_path):
    _tiny(tmp_path).run(figures=False, max_levels=1)
    with pytest.raises(ValueError, match=r"n_paths: 60 on disk, 80 now.*seed.*--fresh"):
        _tiny(tmp_path, n_paths=80, seed=9).run(figures=False, max_levels=1)


@pytest.mark.parametrize("umask", [0o022, 0o002, 0o077])
def test_files_are_written_with_the_users_umask(tmp_path, umask):
    from validate._study import atomic_write, write_csv

    previous = os.umask(umask)
    try:
        write_csv(pd.DataFrame({"a": [1]}), tmp_path / "t.csv")
        atomic_write(tmp_path / "r.md", lambda tmp: open(tmp, "w").write("x"))
    finally:
        os.umask(previous)
    for name in ("t.csv", "r.md"):
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == 0o666 & ~umask


_KILLED_WHILE_WRITING = """
import os, signal, sys
import pandas as pd
from validate._cli import main

def to_csv(self, path, **kw):  # half a table written, then the signal arrives
    open(path, "w").write("x0,x1\\n1,2\\n")
    os.kill(os.getpid(), signal.{sig})

pd.DataFrame.to_csv = to_csv
sys.exit(main(["simulate", "monostable", "--x0", "start", "--n-paths", "10",
               "--out", sys.argv[1]]))
"""


@pytest.mark.parametrize(("sig", "code"), [("SIGTERM", 143), ("SIGINT", 130)])
def test_simulate_removes_its_temporary_file_when_killed(tmp_path, sig, code):
    script = textwrap.dedent(_KILLED_WHILE_WRITING).replace("{sig}", sig)
    out = tmp_path / "run.csv"
    env = os.environ | {"PYTHONPATH": ROOT}
    result = subprocess.run(
        [sys.executable, "-c", script, str(out)], capture_output=True, text=True, env=env
    )
    assert result.returncode == code, result.stderr
    assert list(tmp_path.iterdir()) == []  # neither the table nor a temporary file


def test_a_resumed_study_clears_stale_temporary_files(tmp_path):
    study = _tiny(tmp_path)
    study.run(figures=False, max_levels=1)
    stale = [study.folder / ".summary.csv.abc.tmp", study.folder / "levels" / ".x.tmp"]
    for tmp in stale:
        tmp.write_text("left by a killed run")
    study.run(figures=False, max_levels=1)
    assert not any(tmp.exists() for tmp in stale)


def test_tables_are_parquet_stored_once_and_documented(tmp_path):
    from validate._data_dictionary import SWEEP_TABLES, markdown, undocumented

    study = _tiny(tmp_path)
    study.run(figures=False)
    folder = study.folder
    assert not (folder / "levels").exists()  # per-level files gone once assembled
    assert not list(folder.rglob("*.csv"))
    for table in SWEEP_TABLES:
        frame = pd.read_parquet(folder / f"{table}.parquet")
        assert len(frame), table
        assert undocumented(table, frame.columns) == [], table
    paths = pd.read_parquet(folder / "paths.parquet")
    assert paths["value"].dtype == np.float32 and paths["t"].dtype == np.float32
    per_path = paths.groupby(["eps", "path", "coordinate"])
    assert per_path.size().max() <= 2000 and per_path["t"].is_monotonic_increasing.all()
    # long, not wide: the coordinates are rows, and each starts where the sampler starts
    assert set(paths["coordinate"]) == {0, 1}
    start = paths[paths["t"] == 0].groupby("coordinate")["value"]
    np.testing.assert_array_equal(start.min(), start.max())
    np.testing.assert_allclose(start.first(), study.system().point("start"), rtol=1e-6)
    profile = pd.read_parquet(folder / "profile.parquet")
    assert set(profile["coordinate"]) == {0, 1}
    assert profile.groupby(["eps", "coordinate"]).size().nunique() == 1  # one grid for all
    assert "`charges.parquet`" in (folder / "README.md").read_text()
    with open(os.path.join(ROOT, "docs", "data.md")) as fh:
        assert fh.read() == markdown() + "\n", "regenerate docs/data.md from markdown()"
    assert study.missing() == [] and len(study.load("charges")) == len(
        pd.read_parquet(folder / "charges.parquet")
    )


def test_dt_larger_than_the_time_span_is_refused():
    from simulate import ensemble

    with pytest.raises(ValueError, match="`dt` = 0.5 is larger than the time span"):
        ensemble(zoo.monostable(), "start", 0.1, t_span=0.1, dt=0.5, n_paths=4)


def test_an_ensemble_that_is_all_non_finite_warns():
    from simulate import NonFiniteWarning, ensemble

    def cubic(x, t, p, out):
        out[0] = 1e3 * x[0] ** 3

    system = System(drift=cubic, D=np.eye(1), name="cubic")
    with pytest.warns(NonFiniteWarning, match="all 8 paths became non-finite"):
        ensemble(system, [10.0], 0.01, t_span=1.0, dt=0.01, n_paths=8)


def test_a_study_without_accepted_paths_warns_per_level_and_fails(tmp_path):
    from validate._sweep import DegenerateLevelWarning

    study = _tiny(tmp_path, eps_grid=(1e-6, 1e-7))
    with (
        pytest.warns(DegenerateLevelWarning, match="0 of 60 paths accepted"),
        pytest.raises(ValueError, match="no noise level has two accepted paths"),
    ):
        study.run(figures=False)


@pytest.mark.parametrize("grid", ["0.2,,0.1", ",0.2", "0.2,"])
def test_malformed_eps_grids_are_refused(tmp_path, grid):
    from tests.test_cli import run_cli

    result = run_cli("study", "monostable", "--eps", grid, "--out", str(tmp_path / "o"))
    assert result.returncode == 2 and "has an empty entry" in result.stderr
    assert not (tmp_path / "o").exists()  # refused before any folder is made


class _Bar:
    def __init__(self):
        self.n = 0

    def update(self, k):
        self.n += k

    def set_postfix_str(self, text):
        pass


def test_progress_counts_resumed_levels_and_parallel_levels_as_they_finish(tmp_path):
    from validate._runner import _run_parts

    study = _tiny(tmp_path / "p")
    seen = []
    study.run(n_jobs=2, figures=False, max_levels=1, on_level=seen.append)
    assert seen == [0.2]
    bar = _Bar()
    _run_parts(tmp_path, [study.config], 2, bar, True)
    assert bar.n == 2  # one resumed level, one computed


def test_figures_say_what_and_where_they_are():
    import matplotlib

    matplotlib.use("Agg")  # the test's own choice; the library leaves the backend alone
    import matplotlib.pyplot as plt

    from validate import _plotting as P

    assert P.describe("tube_l2_q0.5") == (
        "median L2 distance of the paths to the instanton (dimensionless)"
    )
    summary = pd.DataFrame(
        {
            "eps": [0.1, 0.2, 0.1],
            "statistic": ["tube_l2_q0.5", "tube_l2_q0.5", "probability"],
            "value": [0.3, 0.42, 0.01],
            "se": [0.01, 0.01, 0.001],
            "theory": [np.nan, np.nan, 5.25],
            "n": [100, 100, 1000],
        }
    )
    fig, ax = plt.subplots()
    P.plot_scaling(summary, "tube_l2_q0.5", ax=ax, where="monostable, monostable/T=1")
    assert ax.get_title() == "monostable, monostable/T=1: tube_l2_q0.5 against eps"
    assert "dimensionless" in ax.get_ylabel() and "dimensionless" in ax.get_xlabel()
    fig, ax = plt.subplots()
    P.plot_summary_table(summary, ["probability"], ax=ax, where="here")
    cells = [c.get_text().get_text() for c in ax.tables[0].get_celld().values()]
    assert "5.25" not in cells  # the action is not shown as the probability's theory
    plt.close("all")
