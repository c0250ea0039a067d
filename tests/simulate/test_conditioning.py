"""Endpoint and time-window conditioning (simulate.condition)."""

import math

import numpy as np
import pytest
from scipy.stats import norm

from simulate import Interval, condition, zoo

from .exact_conditioned import lower_hit_probability

LOWER = Interval(-np.inf, -1.0)
UPPER = Interval(1.0, np.inf)


@pytest.mark.parametrize("bridge", [False, True])
def test_drift_diffusion_window_matches_image_series(bridge):
    # The paper's experiment: 1e5 paths, dt = 0.025, x0 = 0.5, absorbing at +-1, keep the
    # paths that hit -1 at a time in [0.95, 1] (interpolated hitting time).
    dd = zoo.drift_diffusion()
    res = condition(dd, [0.5], LOWER, 1.0, window=(0.95, 1.0), absorbing=UPPER, n_paths=100_000,
        dt=0.025, seed=2024, bridge=bridge,
    )  # fmt: skip
    exact = lower_hit_probability(0.95, 1.0)
    assert res.n_paths == 100_000
    assert abs(res.acceptance - exact) < 4 * res.acceptance_se
    assert res.acceptance_se == pytest.approx(
        math.sqrt(res.acceptance * (1 - res.acceptance) / 1e5)
    )
    assert np.all(res.hit_time[res.accepted] >= 0.95)
    assert np.all(res.hit_time[res.accepted] <= 1.0)
    frame = res.to_frame()
    assert frame.loc[0, "successes"] == res.n_accepted


def test_grid_rule_counts_the_step_of_detection():
    # Grid rule: the first grid time seen inside, so [0.95, 1] means crossings in
    # (0.925, 1] up to the discretisation: compare with the image series there.
    dd = zoo.drift_diffusion()
    res = condition(dd, [0.5], LOWER, 1.0, window=(0.95, 1.0), absorbing=UPPER, n_paths=100_000,
        dt=0.025, seed=2024, bridge=True, time="grid",
    )  # fmt: skip
    grid_times = res.hit_time[res.accepted]
    assert np.allclose(grid_times / 0.025, np.round(grid_times / 0.025))
    exact = lower_hit_probability(0.925, 1.0)
    assert abs(res.acceptance - exact) < 4 * res.acceptance_se


def test_fixed_time_endpoint_rule():
    # No absorption: x_T = x0 + v T + sigma W_T exactly under Euler for constant drift.
    dd = zoo.drift_diffusion()
    res = condition(dd, [0.5], LOWER, 1.0, t_span=1.0, n_paths=20_000, dt=0.05, seed=7)
    exact = norm.cdf(-1.0 - 0.5 - 0.1)
    assert abs(res.acceptance - exact) < 4 * res.acceptance_se
    assert res.window is None
    assert np.all(res.ensemble.final[res.accepted, 0] <= -1.0)


def test_conditioning_saves_accepted_paths():
    dd = zoo.drift_diffusion()
    res = condition(dd, [0.5], "lower_bound", 1.0, window=(0.5, 1.0), absorbing=UPPER, n_paths=500,
        dt=0.025, seed=1, save="all", bridge=False,
    )  # fmt: skip
    assert res.paths.shape == (res.n_accepted, 41, 1)
    frame = res.to_frame("final")
    assert len(frame) == res.n_accepted
    assert set(frame.columns) >= {"path", "x0", "hit_time"}


def test_conditioning_rejects_bad_input():
    dd = zoo.drift_diffusion()
    with pytest.raises(ValueError, match="window"):
        condition(dd, [0.5], LOWER, 1.0, window=(1.0, 0.5))
    with pytest.raises(ValueError, match="time"):
        condition(dd, [0.5], LOWER, 1.0, window=(0.5, 1.0), time="exact")
    with pytest.raises(ValueError, match="target"):
        condition(dd, [0.5], Interval(-1, 1, dim=2), 1.0, window=(0.5, 1.0))
    with pytest.raises(ValueError, match="target"):
        condition(dd, [0.5], "nowhere", 1.0, window=(0.5, 1.0))
    with pytest.raises(ValueError, match="eps"):
        condition(dd, [0.5], LOWER, 0.0, window=(0.5, 1.0))
