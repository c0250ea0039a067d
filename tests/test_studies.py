"""Prebuilt studies, reports and the analysis notebook on tiny sizes."""

import os
from dataclasses import replace
from pathlib import Path

import pandas as pd
import pytest

from validate import _catalogue
from validate._catalogue import parts
from validate._report import write_report
from validate._runner import ReferenceStudy
from validate._scaling import extrapolate
from validate._study import read_table

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def tiny_study(tmp_path_factory):
    """The monostable T = 1 sweep at two levels and 300 paths, with its report."""
    root = tmp_path_factory.mktemp("studies") / "monostable"
    cfg = replace(parts("monostable", quick=True)[0], eps_grid=(0.2, 0.1), n_paths=300, n_boot=20)
    ReferenceStudy(replace(cfg, root=str(root))).run()
    return root


def test_every_study_has_parts():
    for name in _catalogue.STUDIES:
        if name not in ("paper", "rates"):  # rates: validate._rates_study.cases
            assert parts(name, quick=True), name
    assert parts("rates") == []
    with pytest.raises(ValueError, match="unknown study"):
        parts("nope")


def test_extrapolation_recovers_a_line():
    a, se, _ = extrapolate([0.1, 0.2, 0.4], [1.1, 1.2, 1.4], [0.01, 0.01, 0.01])
    assert abs(a - 1.0) < 1e-9 and 0 < se < 0.02


def test_report_states_verdicts_with_uncertainty(tiny_study):
    report, verdicts = write_report(tiny_study)
    text = report.read_text()
    assert "## Verdicts" in text and "±" in text and "instanton" in text
    assert {"charge", "tube"} <= set(verdicts["kind"])
    assert set(verdicts[verdicts["kind"] == "charge"]["quantity"]) == {"H", "L"}
    assert (tiny_study / "verdicts.csv").exists()
    # one rule (docs/verdicts.md): consistent only with theory inside the interval
    assert {"theory_inside", "asymptotic", "verdict", "reason"} <= set(verdicts.columns)
    ok = verdicts["verdict"] == "consistent"
    assert (verdicts.loc[ok, "theory_inside"] == True).all()  # noqa: E712
    assert "docs/verdicts.md" in text
    # the theory column of a probability is a probability (none here), -eps log P's the action
    summary = read_table(tiny_study / "T=1" / "summary")
    assert summary.loc[summary["statistic"] == "probability", "theory"].isna().all()
    assert summary.loc[summary["statistic"] == "neg_eps_log_p", "theory"].notna().all()


def _snapshot(folder: Path) -> dict:
    return {p: (p.stat().st_size, p.stat().st_mtime_ns) for p in folder.rglob("*")}


def test_notebook_runs_with_jupyter_execute_from_its_folder_and_the_root(tiny_study, tmp_path):
    """`jupyter execute notebooks/analysis.ipynb` from the repository root and from
    `notebooks/` (Jupyter's default directory), on the default study path, in a copy of
    the repository layout holding the tiny study where `study paper --quick` puts it."""
    import shutil
    import subprocess
    import sys

    repo = tmp_path / "repo"
    (repo / "validate").mkdir(parents=True)
    (repo / "pyproject.toml").write_text("")
    (repo / "notebooks").mkdir()
    shutil.copy(ROOT / "notebooks" / "analysis.ipynb", repo / "notebooks")
    study = repo / "data" / "studies" / "paper" / "monostable" / "T=1"
    shutil.copytree(tiny_study / "T=1", study)
    before = _snapshot(study)
    jupyter = Path(sys.executable).parent / "jupyter"
    env = {k: v for k, v in os.environ.items() if k not in ("NOISY_NOETHER_STUDY", "MPLBACKEND")}
    runs = [(repo, "notebooks/analysis.ipynb"), (repo / "notebooks", "analysis.ipynb")]
    for cwd, notebook in runs:
        result = subprocess.run(
            [str(jupyter), "execute", notebook], cwd=cwd, env=env, capture_output=True, text=True
        )
        assert result.returncode == 0, result.stderr[-3000:]
    assert _snapshot(study) == before  # nothing written into the study it reads


def test_notebook_draws_its_figures_inline(tiny_study):
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    nb = nbformat.read(ROOT / "notebooks" / "analysis.ipynb", as_version=4)
    before = _snapshot(tiny_study)
    os.environ["NOISY_NOETHER_STUDY"] = str(tiny_study / "T=1")
    try:
        nbclient.NotebookClient(
            nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": ROOT}}
        ).execute()
    finally:
        del os.environ["NOISY_NOETHER_STUDY"]
    images = [
        o
        for c in nb.cells
        if c.cell_type == "code"
        for o in c.outputs
        if "image/png" in o.get("data", {})
    ]
    assert len(images) == 3  # charges, tube scaling, tube profile per coordinate
    assert _snapshot(tiny_study) == before


def test_study_and_report_commands_give_one_line_errors(tmp_path):
    from tests.test_cli import run_cli

    for args, message in [
        (["study", "nope"], "unknown study 'nope'"),
        (["study", "monostable", "--eps", "0.1,-0.2"], "must be positive"),
        (["study", "monostable", "--eps", "0.1,x"], "is not a list of numbers"),
        (["study", "monostable", "--out", "/proc/nope"], "cannot write"),
        (["study", "rates", "--eps", "0.1"], "not available for the rates study"),
        (["report", str(tmp_path / "missing")], "does not exist"),
        (["report", str(tmp_path)], "holds no study"),
    ]:
        result = run_cli(*args)
        assert result.returncode == 2, (args, result.stderr)
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and message in lines[0], result.stderr


def test_study_command_runs_a_tiny_study(tmp_path, capsys):
    from validate._cli import main

    assert (
        main(["study", "drift_diffusion", "--quick", "--eps", "1.0,0.5", "--out", str(tmp_path)])
        == 0
    )
    out = capsys.readouterr().out
    assert "report:" in out and str(tmp_path) in out
    folder = tmp_path / "drift_diffusion"
    assert (folder / "figures" / "fig1a_drift_diffusion.png").exists()
    v = pd.read_csv(folder / "verdicts.csv")
    assert "exact" in set(v["kind"])


def test_window_at_shrinks_onto_the_upper_end():
    from validate._samplers import window_at

    assert window_at((0.95, 1.0), 1.0, 1.0) == pytest.approx((0.95, 1.0))
    assert window_at((0.95, 1.0), 1.0, 0.3) == pytest.approx((1.0 - 0.05 * 0.3, 1.0))
    assert window_at((0.95, 1.0), 0.0, 0.3) == pytest.approx((0.95, 1.0))
    with pytest.raises(ValueError, match="window_exponent"):
        window_at((0.95, 1.0), -1.0, 0.3)
    # the drift_diffusion study shrinks its window with eps (docs/studies.md)
    (cfg,) = parts("drift_diffusion", quick=True)
    assert cfg.sampler_options["window_exponent"] == 1.0


def test_decision_memory_samples_the_first_hop_in_its_small_noise_regime():
    import numpy as np

    for quick in (True, False):
        (cfg,) = parts("decision_memory", quick=quick)
        opts = cfg.sampler_options
        x0, a = np.array(opts["x0"]), np.array(opts["A"]["center"])
        # action = barrier at the switching line (3.25, 1.5) minus the quasi-potential of
        # x0, V = |x - (3.25, 0.35)|^2 / (2 * 0.16)
        barrier = np.sum((np.array([3.25, 1.5]) - a) ** 2) / 0.32
        assert cfg.theory["action"] == pytest.approx(barrier - np.sum((x0 - a) ** 2) / 0.32)
        assert opts["B"]["center"] == [2.35, 2.35]
        # A's boundary layer eps D / |f(x0)| is small against x0's distance from A
        gap = np.linalg.norm(x0 - a) - opts["A"]["radius"]
        rho = max(cfg.eps_grid) * 0.16 / (gap * np.linalg.norm(x0 - a))
        assert rho <= 1 / 3
