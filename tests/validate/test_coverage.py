"""Unit tests of :func:`validate.coverage` on estimators whose coverage is known."""

import numpy as np
import pytest
from scipy.stats import norm

from validate import Interval, coverage, rep_seed


def normal_mean(n=25, sigma=2.0, shrink=1.0):
    """Mean of n N(1, sigma^2) draws with the exact standard error (times ``shrink``)."""

    def estimate(seed):
        x = np.random.default_rng(seed).normal(1.0, sigma, n)
        return x.mean(), shrink * sigma / np.sqrt(n)

    return estimate


def test_exact_normal_interval_is_calibrated():
    out = coverage(normal_mean(), 1.0, n_rep=2000, seed=3, case="normal")
    row = out.iloc[0]
    assert row["n_rep"] == 2000 and row["n_failed"] == 0
    assert row["calibrated"]
    # binomial se of the coverage at 0.95 with 2000 reps is 0.0049
    assert abs(row["coverage"] - 0.95) < 4 * np.sqrt(0.95 * 0.05 / 2000)
    assert abs(row["spread_over_se"] - 1.0) < 0.1
    assert abs(row["bias"]) < 4 * row["bias_se"]


def test_too_narrow_interval_is_detected():
    out = coverage(normal_mean(shrink=0.6), 1.0, n_rep=400, seed=4)
    row = out.iloc[0]
    expected = 2 * norm.cdf(0.6 * norm.ppf(0.975)) - 1  # 0.76
    assert not row["calibrated"]
    assert row["coverage_high"] < 0.95
    assert abs(row["coverage"] - expected) < 4 * np.sqrt(expected * (1 - expected) / 400)
    assert abs(row["spread_over_se"] - 1 / 0.6) < 0.25


def test_biased_estimator_is_detected():
    def estimate(seed):
        value, se = normal_mean()(seed)
        return value + 3 * se, se

    row = coverage(estimate, 1.0, n_rep=300, seed=5).iloc[0]
    assert not row["calibrated"] and row["bias"] > 4 * row["bias_se"]


def test_several_quantities_explicit_intervals_and_failures():
    def estimate(seed):
        rng = np.random.default_rng(seed)
        x = rng.normal(0.0, 1.0, 10)
        m, s = x.mean(), x.std(ddof=1) / np.sqrt(10)
        t = 2.262  # Student t_{9, 0.975}: the exact interval for 10 normal draws
        bad = Interval(np.nan, 1.0) if rng.random() < 0.1 else Interval(m, s)
        return {"t": Interval(m, s, m - t * s, m + t * s), "z": (m, s), "bad": bad}

    out = coverage(estimate, {"t": 0.0, "z": 0.0, "bad": 0.0}, n_rep=1500, seed=6).set_index(
        "quantity"
    )
    assert out.loc["t", "calibrated"]
    assert out.loc["z", "coverage"] < 0.935  # z with 9 dof undercovers (0.92)
    assert 100 < out.loc["bad", "n_failed"] < 200
    assert out.loc["bad", "n_rep"] + out.loc["bad", "n_failed"] == 1500


def test_bit_identical_for_any_n_jobs():
    a = coverage(normal_mean(), 1.0, n_rep=40, seed=7, n_jobs=1)
    b = coverage(normal_mean(), 1.0, n_rep=40, seed=7, n_jobs=2)
    assert a.equals(b)
    assert rep_seed(7, 3) == rep_seed(7, 3) != rep_seed(7, 4)


def test_bad_arguments():
    with pytest.raises(ValueError, match="n_rep"):
        coverage(normal_mean(), 1.0, n_rep=1, seed=0)
    with pytest.raises(ValueError, match="level"):
        coverage(normal_mean(), 1.0, n_rep=10, seed=0, level=1.5)
    with pytest.raises(ValueError, match="truth"):
        coverage(normal_mean(), {"other": 1.0}, n_rep=3, seed=0)
