"""The rates study (`noisy-noether study rates --quick`): measured mean times against
theory.rate, checks judged by the one rule of docs/verdicts.md."""

from dataclasses import replace

import numpy as np
import pytest

from validate._data_dictionary import RATES_TABLE
from validate._rates_study import QUICK_EPS, cases, rate_verdicts, run_case
from validate._report import VERDICT_COLUMNS, judge
from validate._runner import run_study
from validate._study import read_table

BARRIERS = {"double_well": 0.25, "anisotropic_well": 0.31640625}  # 1/4 + c^2/4 + c^4/16


@pytest.fixture(scope="module")
def quick_rates(tmp_path_factory):
    return run_study("rates", quick=True, out=tmp_path_factory.mktemp("r"), progress=False)


def test_quick_rates_study_checks_barrier_and_prefactor_by_the_rule(quick_rates):
    v = quick_rates.verdicts
    assert list(v.columns) == VERDICT_COLUMNS
    for part, barrier in BARRIERS.items():
        rows = v[v["part"] == part].set_index("kind")
        assert {"barrier", "prefactor"} <= set(rows.index)
        assert rows.loc["barrier", "theory"] == pytest.approx(barrier, abs=1e-12)
    # the quick levels (eps = 0.12 ... 0.065), where the double well's exact ratio
    # E tau e^{-dV/eps} / C already falls linearly: both its limits hold their theory values
    dw = v[v["part"] == "double_well"].set_index("kind")
    for kind in ("barrier", "prefactor"):
        assert dw.loc[kind, "verdict"] == "consistent", dw.loc[kind, "statement"]
    assert (v[v["part"] == "double_well"]["kind"] == "exact").sum() == len(QUICK_EPS)
    for r in v.itertuples():  # every row judged by the rule, never consistent from outside
        asym = None if r.kind == "exact" else bool(r.asymptotic)
        assert judge(r.theory, r.ci_low, r.ci_high, asym) == (r.theory_inside, r.verdict)
        assert r.verdict != "consistent" or r.ci_low <= r.theory <= r.ci_high
    text = quick_rates.report.read_text()
    assert "## Verdicts" in text and "E tau e^{-dV/eps}" in text


def test_a_doubled_barrier_is_inconsistent(quick_rates):
    times = read_table(quick_rates.folder / "double_well" / "times")
    assert set(times.columns) == set(RATES_TABLE[2])  # every column in docs/data.md
    right = rate_verdicts(times, 0.25, np.pi * np.sqrt(2), "dw").set_index("kind")
    wrong = rate_verdicts(times, 0.5, np.pi * np.sqrt(2), "dw").set_index("kind")
    assert right.loc["barrier", "verdict"] == "consistent"
    assert wrong.loc["barrier", "verdict"] == "inconsistent"
    assert not wrong.loc["barrier", "theory_inside"]


def test_a_finished_case_resumes_and_another_configuration_is_refused(quick_rates):
    case = cases(quick=True)[0]
    folder = quick_rates.folder / case.name
    before = (folder / "times.parquet").stat().st_mtime_ns
    again = run_case(case, folder)  # read back, nothing recomputed
    assert (folder / "times.parquet").stat().st_mtime_ns == before and len(again) == len(QUICK_EPS)
    with pytest.raises(ValueError, match="another configuration"):
        run_case(replace(case, seed=case.seed + 1), folder)
