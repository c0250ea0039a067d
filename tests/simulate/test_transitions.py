"""Reactive trajectories (simulate.transitions)."""

import numpy as np
import pytest

from simulate import Interval, MemoryBudgetError, ensemble, transitions, zoo

from .exact_conditioned import mean_reactive_duration


def _check_duration(eps, n, dt, seed):
    dw = zoo.double_well()
    res = transitions(dw, "A", "B", eps, n_paths=n, x0=[-0.9], dt=dt, seed=seed, t_span=1e7)
    assert res.successes == n and res.n_timeout == 0 and res.n_nonfinite == 0
    mean, se = res.mean_duration()
    exact = mean_reactive_duration(eps)
    assert abs(mean - exact) < 4 * se, (eps, mean, se, exact)
    return res


def test_mean_reactive_duration_eps_0_1():
    res = _check_duration(0.1, 200, 1e-3, seed=11)
    # memory: only the reactive parts are stored
    assert res.x.shape[0] == res.offsets[-1] < res.path_steps / 10


@pytest.mark.slow
@pytest.mark.parametrize("eps, n, dt", [(0.05, 200, 2e-3), (0.025, 50, 5e-3)])
def test_mean_reactive_duration_small_eps(eps, n, dt):
    res = _check_duration(eps, n, dt, seed=12)
    print(eps, res.mean_duration(), mean_reactive_duration(eps), res.wall_time)


def test_segments_run_from_A_to_B():
    dw = zoo.double_well()
    A, B = dw.states["A"], dw.states["B"]
    res = transitions(dw, A, B, 0.2, n_paths=30, x0=[-1.0], dt=1e-2, seed=3, bridge=False)
    for s in range(res.n_segments):
        t, x = res.segment(s)
        assert A.contains(x[0]) and B.contains(x[-1])
        assert not np.any(A.contains(x[1:])) and not np.any(B.contains(x[:-1]))
        assert t[0] <= res.t_exit[s] <= t[1] and t[-2] <= res.t_entry[s] <= t[-1]
    assert np.all(res.duration > 0) and np.all(res.weights == 1)
    frame = res.to_frame("points")
    assert len(frame) == res.x.shape[0]
    assert res.to_frame("summary").loc[0, "successes"] == res.successes


def test_segments_are_the_engine_paths():
    # Without the bridge test a transitions path draws exactly the engine's increments.
    dw = zoo.double_well()
    res = transitions(dw, "A", "B", 0.2, n_paths=6, x0=[-1.0], dt=1e-2, seed=5, bridge=False)
    t_end = res.t[res.offsets[1:] - 1].max()
    ens = ensemble(dw, [-1.0], 0.2, t_span=t_end + 0.05, dt=1e-2, n_paths=6, seed=5, save="all")
    for s in range(res.n_segments):
        t, x = res.segment(s)
        steps = np.rint(t / 1e-2).astype(int)
        np.testing.assert_array_equal(x, ens.paths[res.source[s], steps])


def test_reproducible_whatever_the_parallelism():
    dw = zoo.double_well()
    kw = dict(x0=[-0.9], dt=1e-2, seed=9)
    ref = transitions(dw, "A", "B", 0.2, n_paths=12, n_jobs=1, n_threads=1, chunk_size=12, **kw)
    for extra in (dict(n_jobs=2), dict(n_jobs=1, n_threads=2, chunk_size=5)):
        other = transitions(dw, "A", "B", 0.2, n_paths=12, **kw, **extra)
        np.testing.assert_array_equal(ref.x, other.x)
        np.testing.assert_array_equal(ref.t_entry, other.t_entry)
        np.testing.assert_array_equal(ref.offsets, other.offsets)
        assert ref.path_steps == other.path_steps


def test_decimation_and_memory_budget():
    dw = zoo.double_well()
    full = transitions(dw, "A", "B", 0.2, n_paths=10, x0=[-0.9], dt=1e-2, seed=4)
    thin = transitions(dw, "A", "B", 0.2, n_paths=10, x0=[-0.9], dt=1e-2, seed=4, save=5)
    np.testing.assert_array_equal(full.t_entry, thin.t_entry)
    assert thin.x.shape[0] < full.x.shape[0] / 3
    with pytest.raises(MemoryBudgetError, match="GiB"):
        transitions(dw, "A", "B", 0.2, n_paths=10, x0=[-0.9], dt=1e-2, seed=4, memory_budget=100)


def test_transitions_reject_bad_input():
    dw = zoo.double_well()
    with pytest.raises(ValueError, match="overlap"):
        transitions(dw, Interval(-np.inf, 0.1), Interval(0.0, np.inf), 0.1, n_paths=5, x0=[-1.0])
    with pytest.raises(ValueError, match="x0"):
        transitions(dw, "A", "B", 0.1, n_paths=5, x0=[1.0])
    with pytest.raises(ValueError, match="eps"):
        transitions(dw, "A", "B", -0.1, n_paths=5, x0=[-1.0])
    with pytest.raises(ValueError, match="`A`"):
        transitions(dw, Interval(-1, 1, dim=2), "B", 0.1, n_paths=5, x0=[-1.0])
    with pytest.raises(ValueError, match="x0"):
        transitions(dw, "A", "B", 0.1, n_paths=5, x0=[np.nan])
    with pytest.raises(ValueError, match="`n_paths`"):
        transitions(dw, "A", "B", 0.1, n_paths=0, x0=[-1.0])
