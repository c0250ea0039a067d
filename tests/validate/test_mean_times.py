"""Measured mean transition times: the censored brute-force estimator and the AMS loop
decomposition, against closed forms and the exact 1-D mean first-passage time."""

import math
import warnings

import numpy as np
import pytest

from simulate import Interval, zoo
from validate import CensoringWarning, censored_mean, mean_time
from validate._references import mean_first_passage_1d

B = Interval(1.0, np.inf)  # first passage to +1
A = Interval(-np.inf, -0.9)  # around the minimum -1
SIGMA = Interval(-0.8, np.inf)  # beyond the start surface x = -0.8


def _exact(eps):
    return mean_first_passage_1d(zoo.double_well(), -1.0, 1.0, eps, reflect=-3.0)


def test_censored_mean_without_censoring_is_the_sample_mean():
    rng = np.random.Generator(np.random.PCG64(1))
    T = rng.gamma(2.0, 3.0, 500)
    for t_tail in (None, 1.0, 5.0):
        out = censored_mean(T, np.ones(T.size, bool), t_tail=t_tail)
        assert out.estimate == pytest.approx(T.mean(), rel=1e-13)
        assert out.se == pytest.approx(T.std(ddof=1) / math.sqrt(T.size), rel=1e-12)
        assert out.success and out.n_censored == 0


def test_censored_mean_with_tail_from_zero_is_the_exponential_mle():
    # t_tail = 0: E tau = total time at risk / events, the exponential MLE (closed form)
    rng = np.random.Generator(np.random.PCG64(2))
    T = rng.exponential(5.0, 400)
    obs = T < 4.0
    times = np.minimum(T, 4.0)
    out = censored_mean(times, obs, t_tail=0.0)
    assert out.estimate == pytest.approx(times.sum() / obs.sum(), rel=1e-13)
    assert out.tail_survival == 1.0 and out.restricted_mean == 0.0


def test_censored_mean_recovers_the_mean_under_heavy_censoring():
    # a transient then an exponential tail: tau = 1 + Exp(mean 20), censored at 15 (~ 50 %)
    rng = np.random.Generator(np.random.PCG64(3))
    tau = 1.0 + rng.exponential(20.0, 3000)
    out = censored_mean(np.minimum(tau, 15.0), tau < 15.0)
    assert out.n_censored > 1000
    assert abs(out.estimate - 21.0) < 3 * out.se
    assert out.ci_low < 21.0 < out.ci_high
    # counting censored paths as t_max (what the estimator avoids) would be far off
    assert abs(np.minimum(tau, 15.0).mean() - 21.0) > 10 * out.se


def test_censored_mean_se_is_the_delta_method_of_the_influence_values():
    # independent form: E tau = mean(a) + mean(c) mean(b) / mean(e), influence of each path
    rng = np.random.Generator(np.random.PCG64(5))
    tau = 0.5 + rng.exponential(10.0, 300)
    times, obs, t_tail = np.minimum(tau, 12.0), tau < 12.0, 4.0
    a, b = np.minimum(times, t_tail), np.maximum(times - t_tail, 0.0)
    c, e = (times > t_tail).astype(float), (obs & (times > t_tail)).astype(float)
    am, bm, cm, em = a.mean(), b.mean(), c.mean(), e.mean()
    tail = cm * bm / em
    infl = (a - am) + (cm / em) * (b - bm) + (bm / em) * (c - cm) - (tail / em) * (e - em)
    out = censored_mean(times, obs, t_tail=t_tail)
    assert out.n_censored > 50
    assert out.estimate == pytest.approx(am + tail, rel=1e-13)
    assert out.se == pytest.approx(infl.std(ddof=1) / math.sqrt(tau.size), rel=1e-10)
    assert out.ci_low < out.estimate < out.ci_high


def test_censored_mean_interval_misses_as_often_above_as_below():
    # tau = 0.2 + Exp(1) (mean 1.2, skewed like a passage time), 30 paths, 1500 samples:
    # the studentised bootstrap lies above the truth 36 times and below it 59 (coverage
    # 0.937), within 3 binomial se of the level and of balance; E tau exp(+-1.96 se/E tau)
    # 38 and 80 times (0.921) fails both (docs/statistics.md, brute-force mean times)
    rng = np.random.Generator(np.random.PCG64(6))
    n_rep, truth = 1500, 1.2
    above = below = 0
    for _ in range(n_rep):
        out = censored_mean(0.2 + rng.exponential(1.0, 30), np.ones(30, bool))
        above += out.ci_low > truth
        below += out.ci_high < truth
    miss = (above + below) / n_rep
    assert abs(miss - 0.05) < 3 * math.sqrt(0.05 * 0.95 / n_rep), (above, below)
    assert abs(above - below) / n_rep < 3 * math.sqrt(0.05 / n_rep), (above, below)


def test_censored_mean_warns_by_name_when_censoring_is_too_heavy():
    rng = np.random.Generator(np.random.PCG64(4))
    tau = rng.exponential(1000.0, 200)
    with pytest.warns(CensoringWarning, match="censoring too heavy"):
        out = censored_mean(np.minimum(tau, 20.0), tau < 20.0)
    assert out.status == "few_events" and not out.success
    with pytest.warns(CensoringWarning, match="no path reached"):
        out = censored_mean(np.full(10, 5.0), np.zeros(10, bool))
    assert out.status == "no_events" and out.estimate == math.inf


def test_censored_mean_bootstrap_counts_resamples_without_tail_events_as_infinite():
    # 40 paths, 9 censored at 5, tail from 1.5 carried by k events: a resample draws none
    # of them with probability (1 - k/40)^40 (36, 13, 4.7 % for k = 1, 2, 3), and its
    # E tau* = inf (survivors, zero hazard): more than 2.5 % of t* = +inf puts the
    # interval's lower end at 0, exactly, and never at NaN
    for k, low in ((1, 0.0), (2, 0.0), (3, 0.0), (5, None)):
        times = np.concatenate([np.full(30, 1.0), 2.0 + 0.1 * np.arange(k), np.full(10 - k, 5.0)])
        observed = np.arange(40) < 30 + k
        with pytest.warns(CensoringWarning):
            out = censored_mean(times, observed, t_tail=1.5)
        assert out.n_tail_events == k and math.isfinite(out.ci_high)
        if low is None:
            assert 0 < out.ci_low < out.estimate < out.ci_high
        else:
            assert out.ci_low == low


def test_censored_mean_of_identical_times_has_a_zero_width_interval():
    for value in (5.0, 0.0):
        out = censored_mean(np.full(10, value), np.ones(10, bool))
        assert (out.estimate, out.se, out.ci_low, out.ci_high) == (value, 0.0, value, value)
        assert out.success


def test_censored_mean_refuses_bad_input():
    with pytest.raises(ValueError, match="one shape"):
        censored_mean([1.0, 2.0], [True])
    with pytest.raises(ValueError, match="after the first censoring time"):
        censored_mean([1.0, 2.0, 3.0], [True, False, True], t_tail=2.5)
    with pytest.raises(ValueError, match="non-negative"):
        censored_mean([-1.0, 2.0], [True, True])


def test_brute_mean_time_double_well_eps_0_1_matches_quadrature():
    eps = 0.1
    res = mean_time(zoo.double_well(), "left", B, eps, method="brute", n_paths=300,
                    t_max=60.0, seed=5)  # fmt: skip
    exact = _exact(eps)
    fit = res.parts["passage"]
    assert res.success, res.message
    assert fit.n_censored > 50  # the censoring matters here
    assert abs(res.estimate - exact) < 3 * res.se, (res.estimate, res.se, exact)
    assert res.path_steps > 0


@pytest.mark.slow
def test_brute_mean_time_double_well_eps_0_05_matches_quadrature():
    eps = 0.05
    res = mean_time(zoo.double_well(), "left", B, eps, method="brute", n_paths=300,
                    t_max=800.0, seed=6)  # fmt: skip
    exact = _exact(eps)
    assert res.success, res.message
    assert abs(res.estimate - exact) < 3 * res.se, (res.estimate, res.se, exact)


def test_ams_mean_time_double_well_eps_0_025_matches_quadrature():
    eps = 0.025
    res = mean_time(zoo.double_well(), "left", B, eps, method="ams", A=A, sigma=SIGMA,
                    n_runs=10, n_replicas=50, n_loops=400, seed=7)  # fmt: skip
    exact = _exact(eps)
    assert res.success, res.message
    assert res.ci_low < res.estimate < res.ci_high
    assert abs(res.estimate - exact) < 3 * res.se, (res.estimate, res.se, exact)
    parts = res.parts
    # the error is at least half AMS's asymptotic one, p^2 log(1/p) / n per run (k = 1)
    assert res.relative_error > 0.5 * math.sqrt(-math.log(parts["p"]) / (50 * 10))
    # the decomposition's pieces add up to the estimate
    first, p, loop = parts["first_hit"].estimate, parts["p"], parts["loop"]
    total = first + (1 / p - 1) * loop + parts["reactive"] - parts["bias"]
    assert res.estimate == pytest.approx(total, rel=1e-12)
    assert 0 < parts["bias"] < 0.2 * res.se  # second order: small against the error
    assert res.path_steps == parts["loop_steps"] + parts["ams_steps"]


def test_mean_time_refuses_bad_input():
    dw = zoo.double_well()
    with pytest.raises(ValueError, match="t_max"):
        mean_time(dw, "left", B, 0.1)
    with pytest.raises(ValueError, match="needs `A`"):
        mean_time(dw, "left", B, 0.1, method="ams")
    with pytest.raises(ValueError, match="lies in `sigma`"):
        mean_time(dw, [-0.5], B, 0.1, method="ams", A=A, sigma=SIGMA)
    with pytest.raises(ValueError, match="overlap"):
        mean_time(dw, "left", B, 0.1, method="ams", A=Interval(-np.inf, -0.5), sigma=SIGMA)
    with pytest.raises(ValueError, match="lies in `target`"):
        mean_time(dw, [1.5], B, 0.1, t_max=1.0)
    with pytest.raises(ValueError, match="method"):
        mean_time(dw, "left", B, 0.1, method="tamed")


def test_results_print_compactly_with_their_status():
    out = censored_mean(np.arange(1.0, 11.0), np.ones(10, bool))
    with pytest.warns(CensoringWarning):  # 16 paths to t = 5, mean time 66: heavy censoring
        res = mean_time(zoo.double_well(), "left", B, 0.1, n_paths=16, t_max=5.0)
    assert not res.success and res.status in ("few_events", "no_events")
    for obj in (out, res):
        text = repr(obj)
        assert len(text.splitlines()) <= 15 and "status:" in text and "message:" in text, text


def test_mean_time_is_reproducible():
    dw = zoo.double_well()
    kw = dict(method="ams", A=A, sigma=SIGMA, n_runs=3, n_replicas=20, n_loops=50, seed=8)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        a = mean_time(dw, "left", B, 0.1, **kw)
    b = mean_time(dw, "left", B, 0.1, **kw)
    assert a.estimate == b.estimate and a.se == b.se
    np.testing.assert_array_equal(a.parts["run_p"], b.parts["run_p"])
