"""The one verdict rule (docs/verdicts.md): judge, regime and the rows of verdicts()."""

import numpy as np
import pandas as pd
import pytest

from validate._report import Z95, judge, regime, verdict_counts, verdicts


def test_never_consistent_when_theory_lies_outside():
    rng = np.random.default_rng(0)
    for _ in range(2000):
        lo, hi = np.sort(rng.normal(size=2))
        th = rng.normal(scale=2.0)
        for asym in (True, False, None):
            inside, verdict = judge(th, lo, hi, asym)
            assert inside == (lo <= th <= hi)
            if verdict == "consistent":
                assert lo <= th <= hi and asym is not False
            if asym is False:
                assert verdict == "not yet asymptotic"
    assert judge(0.5, 0.299, 0.484, True) == (False, "inconsistent")  # shrinks, but not as 1/2
    assert judge(np.nan, 0.0, 1.0, True) == (None, "undetermined")


def test_regime_accepts_the_model_and_rejects_curvature():
    eps = np.array([0.1, 0.2, 0.4, 0.8])
    se = np.full(4, 0.01)
    ok, reason = regime(eps, 1.0 + 0.5 * eps, se, "line")
    assert ok and "p = 1" in reason
    bent, reason = regime(eps, 1.0 + 0.5 * eps**2 * 10, se, "line")
    assert not bent and "depart" in reason
    assert regime(eps, 0.3 * eps**0.5, 0.01 * 0.3 * eps**0.5, "power")[0]
    assert not regime(eps, 0.3 * eps**0.5 + 0.2 * eps**2, 0.001 * eps**0.5, "power")[0]
    two, reason = regime(eps[:2], eps[:2], se[:2], "line")
    assert not two and "too few" in reason
    with pytest.raises(ValueError, match="model"):
        regime(eps, eps, se, "cubic")


def _summary(stat, eps, value, se, theory=np.nan):
    return pd.DataFrame(
        {"eps": eps, "statistic": stat, "value": value, "se": se, "theory": theory, "n": 100}
    )


def test_verdict_rows_follow_the_rule():
    eps = np.array([0.35, 0.45, 0.6])
    # a charge whose levels lie on a line that ends away from theory: inconsistent, with
    # the regime test in its statement
    h = _summary("charge_mean_H", eps, -0.17 - 0.4 * eps, np.full(3, 0.01), theory=0.0)
    # a charge whose levels bend: not yet asymptotic, even though theory is inside
    c = _summary("charge_mean_L", eps, [0.0, 0.3, 0.0], np.full(3, 0.01), theory=0.0)
    tube = _summary("tube_l2_q0.5", eps, 0.4 * eps**0.4, 0.01 * 0.4 * eps**0.4)
    logp = _summary("neg_eps_log_p", eps, 3.85 + 0.5 * eps, np.full(3, 0.05), theory=3.85)
    prob = _summary("probability", eps, np.exp(-(3.85 + 0.5 * eps) / eps), np.nan)
    summary = pd.concat([h, c, tube, logp, prob], ignore_index=True)
    scaling = pd.DataFrame(
        [
            {"statistic": "tube_l2_q0.5", "kind": "power", "estimate": 0.399, "se": 0.05,
             "ci_low": 0.299, "ci_high": 0.484, "theory": 0.5},
            {"statistic": "neg_eps_log_p", "kind": "action", "estimate": 3.86, "se": 0.05,
             "ci_low": 3.76, "ci_high": 3.96, "theory": np.nan},
        ]
    )  # fmt: skip
    v = verdicts(summary, scaling, part="x").set_index("quantity")
    assert v.loc["H", "verdict"] == "inconsistent" and "follow" in v.loc["H", "statement"]
    assert v.loc["H", "ci_high"] - v.loc["H", "estimate"] == pytest.approx(Z95 * v.loc["H", "se"])
    assert v.loc["L", "verdict"] == "not yet asymptotic" and not v.loc["L", "asymptotic"]
    assert v.loc["beta", "verdict"] == "inconsistent" and v.loc["beta", "theory"] == 0.5
    # the action row carries the action, taken from the -eps log P rows
    assert v.loc["S", "theory"] == 3.85 and v.loc["S", "verdict"] == "consistent"
    assert (
        verdict_counts(v)
        == "1 of 4 checks consistent with theory (2 inconsistent, 1 not yet asymptotic)"
    )
