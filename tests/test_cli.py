"""The command line: every mistake gives a one-line error and exit status 2."""

import re
import subprocess
import sys

import pandas as pd
import pytest

from tests.closed_forms import ou_instanton
from validate._cli import main


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "validate", *args], capture_output=True, text=True, timeout=120
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["simulate", "no_such_system", "--x0", "0"], "unknown system 'no_such_system'"),
        (["simulate", "monostable", "--x0", "1,x"], "is not a list of numbers"),
        (["simulate", "monostable", "--x0", "1,2,3"], "has 3 coordinates"),
        (["simulate", "monostable", "--x0", "nowhere"], "has no state 'nowhere'"),
        (["simulate", "monostable", "--x0", "start", "--eps", "-0.1"], "must be positive"),
        (["simulate", "monostable", "--x0", "start", "--out", "/proc/no/x.csv"], "cannot write"),
    ],
)
def test_mistakes_give_one_line_errors(args, message):
    result = run_cli(*args)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], result.stderr
    assert "Traceback" not in result.stderr


def test_simulate_writes_a_tidy_table(tmp_path, capsys):
    out = tmp_path / "runs" / "ou.csv"
    code = main(
        [
            "simulate",
            "monostable",
            "--x0",
            "start",
            "--T",
            "1",
            "--dt",
            "0.01",
            "--n-paths",
            "5",
            "--save",
            "10",
            "--out",
            str(out),
        ]
    )
    assert code == 0
    frame = pd.read_csv(out)
    assert list(frame.columns) == ["path", "t", "x0", "x1"] and len(frame) == 5 * 11
    assert "wrote 55 rows" in capsys.readouterr().out


def test_systems_lists_the_zoo(capsys):
    assert main(["systems"]) == 0
    text = capsys.readouterr().out
    for name in ("drift_diffusion", "monostable", "reverse_diffusion_ring", "maier_stein"):
        assert name in text


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["instanton", "nope", "--from", "0", "--to", "1"], "unknown system 'nope'"),
        (["instanton", "monostable", "--from", "1;2", "--to", "end"], "is not a list of numbers"),
        (["instanton", "monostable", "--from", "start", "--to", "2"], "has 1 coordinates"),
        (["instanton", "monostable", "--from", "start", "--to", "end", "--T", "-1"], "positive"),
        (
            ["instanton", "monostable", "--from", "start", "--to", "end", "--out", "/proc/x"],
            "cannot write",
        ),
    ],
)
def test_instanton_mistakes_give_one_line_errors(args, message):
    result = run_cli(*args)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], result.stderr
    assert "Traceback" not in result.stderr


def test_instanton_prints_action_and_charges(tmp_path, capsys):
    code = main(
        ["instanton", "monostable", "--from", "start", "--to", "end", "--T", "1", "--n", "40"]
        + ["--out", str(tmp_path)]
    )
    assert code == 0
    text = capsys.readouterr().out
    ou = ou_instanton(1.0)
    printed = {
        key: float(re.search(rf"{key} = *(-?[0-9.]+)", text).group(1))
        for key in ("action S", "H", "L")
    }
    assert printed["action S"] == pytest.approx(ou.action, abs=1e-5)
    assert printed["H"] == pytest.approx(ou.energy, abs=1e-5)
    assert printed["L"] == pytest.approx(ou.angular_momentum, abs=1e-5)
    frame = pd.read_csv(tmp_path / "instanton_monostable_start_end_T1.csv")
    assert {"t", "x0", "x1", "p0", "p1", "H", "L"} <= set(frame.columns)
    assert (tmp_path / "instanton_monostable_start_end_T1.png").stat().st_size > 1000


def test_every_option_has_help_with_its_default():
    import argparse

    from validate._cli import build_parser

    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    for name, command in sub.choices.items():
        for action in command._actions:
            if not action.option_strings or isinstance(action, argparse._HelpAction):
                continue
            assert action.help, (name, action.dest)
            assert action.required or "default" in action.help, (name, action.option_strings)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["simulate", "monostable", "--x0", "start", "--save", "0"], "--save"),
        (["simulate", "monostable", "--x0", "start", "--n-paths", "0"], "--n-paths"),
        (["simulate", "monostable", "--x0", "start", "--n-jobs", "0"], "--n-jobs"),
        (["simulate", "monostable", "--x0", "start", "--dt", "2"], "--dt 2 is larger than --T"),
        (
            ["simulate", "monostable", "--x0", "start", "--save", "1", "--n-paths"]
            + ["100000", "--memory-budget", "0.1"],
            "--memory-budget 0.1 GiB",
        ),
        (["study", "monostable", "--n-jobs", "0"], "--n-jobs"),
        (["study", "monostable", "--eps", "abc"], "--eps 'abc'"),
        (["study", "monostable", "--backend", "dask"], "--backend dask needs --scheduler"),
    ],
)
def test_errors_name_the_cli_options_and_create_nothing(tmp_path, args, message):
    out = tmp_path / "o"
    result = run_cli(*args, "--out", str(out / "x.csv" if args[0] == "simulate" else out))
    assert result.returncode == 2, result.stderr
    assert message in result.stderr and "Traceback" not in result.stderr
    assert not out.exists()


def test_systems_piped_into_head_ends_quietly():
    result = subprocess.run(
        f"{sys.executable} -m validate systems | head -n 1",
        shell=True,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.stdout.count("\n") == 1
    assert "Broken pipe" not in result.stderr and "Traceback" not in result.stderr


def test_instanton_file_names_carry_the_duration(tmp_path):
    for extra in (["--T", "1"], ["--T", "10"]):
        code = main(
            ["instanton", "monostable", "--from", "start", "--to", "end", "--n", "20"]
            + extra
            + ["--out", str(tmp_path)]
        )
        assert code == 0
    assert {p.name for p in tmp_path.glob("*.csv")} == {
        "instanton_monostable_start_end_T1.csv",
        "instanton_monostable_start_end_T10.csv",
    }


def test_study_runs_on_a_dask_scheduler(tmp_path):
    distributed = pytest.importorskip("dask.distributed")
    with distributed.LocalCluster(n_workers=1, threads_per_worker=2, processes=False) as cluster:
        code = main(
            ["study", "drift_diffusion", "--quick", "--eps", "1.0,0.5", "--n-jobs", "2"]
            + ["--backend", "dask", "--scheduler", cluster.scheduler_address]
            + ["--out", str(tmp_path)]
        )
    assert code == 0
    assert (tmp_path / "drift_diffusion" / "sweep" / "summary.parquet").exists()


def test_instanton_continuation_writes_frame_events_and_figure(tmp_path, capsys):
    code = main(
        ["instanton", "maier_stein", "--from", "left", "--to", "saddle", "--param", "alpha"]
        + ["--values", "3.5:4.5:11", "--n", "40", "--out", str(tmp_path)]
    )
    assert code == 0
    assert "stability exchange" in capsys.readouterr().out
    stem = tmp_path / "continuation_maier_stein_left_saddle_alpha"
    frame = pd.read_csv(f"{stem}.csv")
    assert {"param", "branch", "kind", "action", "H", "H_drift"} <= set(frame.columns)
    events = pd.read_csv(f"{stem}_events.csv")
    (where,) = events[events.event == "stability exchange"].param
    assert abs(where - 4.0) < 5e-3  # 40 segments: the grid's error, see the theory test
    assert (tmp_path / "continuation_maier_stein_left_saddle_alpha.png").stat().st_size > 1000


def test_instanton_continuation_at_finite_t(tmp_path, capsys):
    code = main(
        ["instanton", "monostable", "--from", "start", "--to", "end", "--T", "1", "--n", "40"]
        + ["--param", "K00", "--values", "1:2:3", "--out", str(tmp_path)]
    )
    assert code == 0
    stem = tmp_path / "continuation_monostable_start_end_K00"
    frame = pd.read_csv(f"{stem}.csv")
    assert list(frame.param) == [1.0, 1.5, 2.0] and frame.success.all()
    assert frame.action.iloc[0] == pytest.approx(5.2521411, abs=1e-6)  # docs/conventions.md
    assert (tmp_path / "continuation_monostable_start_end_K00.png").stat().st_size > 1000


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--param", "alpha"], "--param needs --values"),
        (["--param", "alpha", "--values", "1:2"], "START:STOP:COUNT"),
        (["--param", "beta", "--values", "1:2:3"], "no parameter 'beta'"),
        (["--param", "alpha", "--values", "1:2:3", "--via", "right"], "need --T"),
    ],
)
def test_instanton_continuation_mistakes(extra, message):
    result = run_cli("instanton", "maier_stein", "--from", "left", "--to", "saddle", *extra)
    assert result.returncode == 2
    assert message in result.stderr and "Traceback" not in result.stderr
