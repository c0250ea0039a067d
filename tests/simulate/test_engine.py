"""Euler–Maruyama engine: statistics against closed forms, stopping, reproducibility."""

import joblib
import numpy as np
import pytest
from scipy.linalg import solve_continuous_lyapunov

from simulate import Ball, HalfSpace, Interval, Status, System, ensemble, zoo


def _free(x, t, p, out):
    out[0] = 0.0


def _cubic(x, t, p, out):
    out[0] = x[0] ** 3


FREE = System(drift=_free, D=np.eye(1), name="free")


def _covariance_and_se(x):
    """Sample covariance and the standard error of each entry."""
    c = x - x.mean(0)
    prods = c[:, :, None] * c[:, None, :]
    return prods.mean(0), prods.std(0) / np.sqrt(len(x))


def test_ou_stationary_law_matches_lyapunov():
    K = np.array([[1.0, 0.6], [-0.4, 1.5]])
    D = np.array([[1.0, 0.3], [0.3, 0.5]])
    eps = 0.2
    ou = zoo.ornstein_uhlenbeck(K=K, D=D)
    res = ensemble(ou, [1.0, -1.0], eps, t_span=6.0, dt=2e-3, n_paths=20000, seed=2)
    # stationary covariance: K S + S K^T = 2 eps D
    exact = solve_continuous_lyapunov(K, 2 * eps * D)
    cov, se = _covariance_and_se(res.final)
    assert np.all(np.abs(cov - exact) < 5 * se), (cov, exact, se)
    mean_se = np.sqrt(np.diag(exact) / res.n_paths)
    assert np.all(np.abs(res.final.mean(0)) < 5 * mean_se)


def test_exit_time_bridge_corrected_is_unbiased_and_grid_monitoring_is_not():
    # dx = sqrt(2 eps) dW from x in (a, b): E[tau] = (x - a)(b - x) / (2 eps)
    a, b, x, eps, dt = -1.0, 1.0, 0.0, 0.5, 0.025
    exact = (x - a) * (b - x) / (2 * eps)
    outside = {"below": Interval(-np.inf, a), "above": Interval(b, np.inf)}
    kwargs = {"t_span": 40.0, "dt": dt, "n_paths": 40000, "seed": 8, "stop": outside}
    corrected = ensemble(FREE, [x], eps, bridge=True, **kwargs)
    plain = ensemble(FREE, [x], eps, bridge=False, **kwargs)
    for res in (corrected, plain):
        assert res.n_stopped == res.n_paths
    se = corrected.stop_time.std() / np.sqrt(corrected.n_paths)
    assert abs(corrected.stop_time.mean() - exact) < 5 * se
    # grid monitoring misses excursions: exits come late by O(sqrt(dt))
    assert plain.stop_time.mean() - exact > 10 * se


def test_weak_order_one_on_a_linear_sde():
    # dX = -X dt + sqrt(2 eps) dW: E[X_T] = x0 e^{-T}; Euler's mean is x0 (1 - dt)^{T/dt}
    ou = zoo.ornstein_uhlenbeck(K=[[1.0]], D=[[1.0]])
    exact = np.exp(-1.0)
    bias = []
    for dt in (0.1, 0.05, 0.025):
        res = ensemble(ou, [1.0], 0.01, t_span=1.0, dt=dt, n_paths=200000, seed=4)
        mean = res.final[:, 0].mean()
        se = res.final[:, 0].std() / np.sqrt(res.n_paths)
        assert abs(mean - (1 - dt) ** round(1 / dt)) < 5 * se
        bias.append(mean - exact)
    ratios = np.array(bias[:-1]) / np.array(bias[1:])
    assert np.all(np.abs(ratios - 2) < 0.2), ratios


def test_nonfinite_paths_are_stopped_and_counted():
    system = System(drift=_cubic, D=np.eye(1), name="cubic")
    res = ensemble(system, [[0.0], [3.0], [-0.1]], 1e-4, t_span=2.0, dt=0.1, n_paths=3, seed=0)
    assert res.path_status.tolist() == [Status.RUNNING, Status.NON_FINITE, Status.RUNNING]
    assert res.n_nonfinite == 1 and "non-finite: 1" in res.summary()
    assert 0 < res.stop_time[1] <= 2.0


def test_stopping_records_set_time_and_place_and_saved_paths_end():
    system = zoo.monostable()
    sets = {"ball": Ball([1.0, 0.0], 0.3), "half": HalfSpace([0.0, -1.0], 0.5)}
    res = ensemble(
        system,
        [0.0, 0.0],
        0.5,
        t_span=5.0,
        dt=0.01,
        n_paths=500,
        seed=3,
        stop=sets,
        save=10,
        bridge=False,
    )
    stopped = res.path_status == Status.STOPPED
    assert 0 < stopped.sum() < 500
    assert np.all((res.stop_time[stopped] > 0) & (res.stop_time[stopped] <= 5.0))
    for k, s in enumerate(sets.values()):
        assert np.all(s.contains(res.final[res.stop_set == k]))
    assert np.all(res.stop_set[~stopped] == -1)
    i = np.flatnonzero(stopped)[0]
    after = res.t > res.stop_time[i] + 0.1 + 1e-12
    assert np.all(np.isnan(res.paths[i, after]))
    frame = res.to_frame("final")
    assert set(frame.stop_set) <= {"ball", "half", ""}
    assert len(res.to_frame("paths")) == np.count_nonzero(~np.isnan(res.paths[:, :, 0]))


def test_time_dependent_diffusion_schedule():
    # D(t) = t1 - t on the ring system: with the drift cancelled, Var X_T = 2 eps ∫ d(t) dt.
    ring = zoo.reverse_diffusion_ring()
    t1 = ring.params[2]

    def no_drift(x, t, p, out):
        out[0] = 0.0
        out[1] = 0.0

    free = System(drift=no_drift, D=np.eye(2), schedule=ring.schedule, params=ring.params)
    T, eps = 20.0, 0.1
    res = ensemble(free, [0.0, 0.0], eps, t_span=T, dt=0.01, n_paths=20000, seed=6)
    exact = 2 * eps * (t1 * T - T**2 / 2)
    var = res.final.var(0)
    assert np.all(np.abs(var - exact) < 5 * exact * np.sqrt(2 / res.n_paths))


REPRO = {"t_span": 1.0, "dt": 0.01, "n_paths": 600, "seed": 123, "save": 7}


def _reproduce(**kwargs):
    system = zoo.maier_stein()
    res = ensemble(
        system, [-1.0, 0.0], 0.3, stop=Ball([0.0, 0.0], 0.3), bridge=True, **REPRO, **kwargs
    )
    return res.paths, res.final, res.stop_time, res.stop_set


@pytest.fixture(scope="module")
def reference_run():
    return _reproduce(n_jobs=1, n_threads=1)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"n_jobs": 1, "n_threads": 2},
        {"n_jobs": 1, "n_threads": 1, "chunk_size": 37},
        {"n_jobs": 1, "n_threads": 2, "chunk_size": 256},
        {"n_jobs": 2, "n_threads": 1, "chunk_size": 100},
        {"n_jobs": 2, "n_threads": 2},
    ],
)
def test_bit_identical_whatever_the_parallelism(reference_run, kwargs):
    for ref, got in zip(reference_run, _reproduce(**kwargs), strict=True):
        np.testing.assert_array_equal(ref, got)


def test_bit_identical_on_a_dask_cluster(reference_run):
    distributed = pytest.importorskip("distributed")
    with (
        distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False) as cluster,
        distributed.Client(cluster),
        joblib.parallel_config(backend="dask"),
    ):
        got = _reproduce(n_jobs=2, chunk_size=150)
    for ref, g in zip(reference_run, got, strict=True):
        np.testing.assert_array_equal(ref, g)


def test_checkpointed_run_resumes_bit_identically(tmp_path):
    system = zoo.maier_stein()
    kwargs = {
        "t_span": 0.5,
        "dt": 0.01,
        "n_paths": 1000,
        "seed": 5,
        "chunk_size": 100,
        "save": 5,
    }
    whole = ensemble(system, [-1.0, 0.0], 0.2, **kwargs)
    folder = tmp_path / "ckpt"
    ensemble(system, [-1.0, 0.0], 0.2, checkpoint=folder, **kwargs)
    chunks = sorted(folder.glob("chunk_*.npz"))
    assert len(chunks) == 10
    for chunk in chunks[3:]:  # as if interrupted after three chunks
        chunk.unlink()
    resumed = ensemble(system, [-1.0, 0.0], 0.2, checkpoint=folder, **kwargs)
    np.testing.assert_array_equal(whole.paths, resumed.paths)
    np.testing.assert_array_equal(whole.final, resumed.final)
    with pytest.raises(ValueError, match="holds another run"):
        ensemble(system, [-1.0, 0.0], 0.2, checkpoint=folder, **(kwargs | {"seed": 6}))


def _module_drift(folder, rate: str):
    """A drift ``out[0] = -rate * x[0]`` defined in a module file (as a user edits it)."""
    import importlib
    import linecache
    import sys

    (folder / "user_drift.py").write_text(
        f"def drift(x, t, p, out):\n    out[0] = -{rate} * x[0]\n"
    )
    linecache.checkcache()
    sys.path.insert(0, str(folder))
    try:
        sys.modules.pop("user_drift", None)
        importlib.invalidate_caches()
        return importlib.import_module("user_drift").drift
    finally:
        sys.path.remove(str(folder))
        sys.modules.pop("user_drift", None)


def test_checkpoint_is_not_reused_after_the_drift_is_edited(tmp_path):
    from simulate import System

    kwargs = {"t_span": 1.0, "dt": 0.01, "eps": 0.01, "n_paths": 50, "seed": 1, "save": "final"}
    folder = tmp_path / "ckpt"
    old = System(drift=_module_drift(tmp_path, "1.0"), D=np.eye(1), name="user")
    ensemble(old, [1.0], checkpoint=folder, **kwargs)
    # the same module, function name and qualified name, another constant
    new = System(drift=_module_drift(tmp_path, "5.0"), D=np.eye(1), name="user")
    with pytest.raises(ValueError, match="holds another run"):
        ensemble(new, [1.0], checkpoint=folder, **kwargs)

    def closure_drift(rate):
        def drift(x, t, p, out):
            out[0] = -rate * x[0]

        return drift

    folder = tmp_path / "ckpt_closure"
    ensemble(System(drift=closure_drift(1.0), D=np.eye(1)), [1.0], checkpoint=folder, **kwargs)
    with pytest.raises(ValueError, match="holds another run"):
        ensemble(System(drift=closure_drift(5.0), D=np.eye(1)), [1.0], checkpoint=folder, **kwargs)
