"""Stopping sets and reactive transitions in the batched engine: the per-path engine's
semantics (first entry with the bridge test, stop_set, censoring, NON_FINITE), bit for
bit where the batched drift does the per-path drift's operations, bit-identical for any
parallel layout, and an OU first-passage mean in d = 8 against its closed form."""

import math

import numpy as np
import pytest
from scipy import integrate

from simulate import (
    Ball,
    HalfSpace,
    Interval,
    MemoryBudgetError,
    Shell,
    Status,
    System,
    ensemble,
    ensemble_batched,
    transitions,
    zoo,
)

FIELDS = ("paths", "final", "path_status", "stop_set", "stop_time")


def _assert_same(a, b, fields=FIELDS):
    for name in fields:
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name), err_msg=name)


def _ring_and_sets():
    ring = zoo.oscillator_ring(n=4, mu=1.0, coupling=0.1)
    sync = ring.point("sync")
    # two sets the paths reach from sync at eps = 0.3 within t = 3: a ball off the
    # circle of equilibria and the half-space Re z_0 <= 0.3
    far = sync.copy()
    far[2:4] = [0.3, -0.6]
    stop = {"ball": Ball(far, 0.6), "left": HalfSpace(-np.eye(8)[0], -0.3)}
    return ring, sync, stop


def test_stopping_sets_equal_the_per_path_engine_bit_for_bit():
    ring, sync, stop = _ring_and_sets()
    x0 = np.tile(sync, (120, 1))
    x0[::10, 0] = 0.2  # every tenth path starts inside `left`: stopped at t0
    kw = {"t_span": 3.0, "dt": 0.01, "n_paths": 120, "seed": 4, "save": 7, "stop": stop}
    a = ensemble(ring, x0, 0.3, **kw)
    b = ensemble_batched(ring, x0, 0.3, block_paths=8, **kw)
    _assert_same(a, b)
    assert b.set_names == ("ball", "left") and b.bridge
    # every fate is exercised: censored, each set, and the starts inside a set
    assert set(np.unique(b.stop_set)) == {-1, 0, 1}
    assert np.all(b.path_status[b.stop_set >= 0] == Status.STOPPED)
    assert np.all(np.isnan(b.stop_time[b.path_status == Status.RUNNING]))
    assert np.all(b.stop_time[::10] == 0.0) and np.all(b.stop_set[::10] == 1)
    assert 0 < b.meta["row_use"] <= 1
    off = ensemble_batched(ring, x0, 0.3, block_paths=8, bridge=False, **kw)
    _assert_same(ensemble(ring, x0, 0.3, bridge=False, **kw), off)
    assert not np.array_equal(off.stop_time, b.stop_time)  # the bridge test does act


def _ramp(x, t, p, out):
    out[0] = -x[0] + 0.5 * t
    out[1] = -x[1]


def _ramp_block(X, t, p, out):
    out[:, 0] = -X[:, 0] + 0.5 * t
    out[:, 1] = -X[:, 1]


def _schedule(t, p):
    return 1.0 + 0.5 * t


def test_non_autonomous_stops_run_in_generations_and_equal_the_per_path_engine():
    # f and D(t) read t: a block's rows must share it, so freed rows wait for the
    # next generation; the per-path engine's paths still come out bit for bit
    system = System(
        drift=_ramp, batched_drift=_ramp_block, schedule=_schedule, D=np.eye(2), name="ramp"
    )
    assert not system.autonomous
    kw = {"t_span": 2.0, "dt": 0.01, "n_paths": 40, "seed": 2, "save": 5}
    stop = HalfSpace([1.0, 0.0], 0.6)
    a = ensemble(system, [0.0, 0.0], 0.2, stop=stop, **kw)
    b = ensemble_batched(system, [0.0, 0.0], 0.2, stop=stop, block_paths=8, **kw)
    _assert_same(a, b)
    assert 5 < b.n_stopped < 40


def _cubic(x, t, p, out):
    out[0] = x[0] * x[0] * x[0]


def _cubic_block(X, t, p, out):
    out[:] = X * X * X  # the per-path drift's operations, in its order


def test_non_finite_paths_are_reported_with_stopping_sets():
    system = System(drift=_cubic, batched_drift=_cubic_block, D=np.eye(1), name="cubic")
    x0 = np.array([[0.0], [5.0], [-0.5]])
    kw = {"t_span": 1.0, "dt": 0.01, "n_paths": 3, "save": "all", "stop": Ball([-1.0], 0.2)}
    a = ensemble(system, x0, 0.05, **kw)
    b = ensemble_batched(system, x0, 0.05, block_paths=8, **kw)
    _assert_same(a, b)
    assert b.path_status[1] == Status.NON_FINITE and b.stop_set[1] == -1
    assert b.status == Status.NON_FINITE and not b.success


def test_both_engines_warn_by_name_at_the_caller_when_every_path_is_non_finite():
    from simulate import NonFiniteWarning

    system = System(drift=_cubic, batched_drift=_cubic_block, D=np.eye(1), name="cubic")
    for run in (ensemble, ensemble_batched):
        with pytest.warns(NonFiniteWarning, match="all 4 paths became non-finite") as rec:
            run(system, [5.0], 0.05, t_span=1.0, dt=0.01, n_paths=4)
        assert [w.filename for w in rec] == [__file__], run.__name__


def _random_rate_network(d, seed=0):
    rng = np.random.default_rng(seed)
    return zoo.rate_network(rng.normal(size=(d, d)) * 1.5 / np.sqrt(d), rng.normal(size=d))


def _rate_and_sets(d, radius):
    net = _random_rate_network(d)
    x_star = np.zeros(d)
    for _ in range(1000):  # the attractor the noise-free flow from 0 reaches
        x_star = x_star + 0.05 * net.f(x_star)
    return net, x_star, {"out": Shell(x_star, radius, 1e3)}


def test_rate_network_first_exits_agree_with_the_per_path_engine_to_round_off():
    # BLAS sums W phi in another order than the per-path loop: the paths differ in the
    # last bits, which moves exit times by round-off, not the fates
    net, x_star, stop = _rate_and_sets(8, 1.5)
    kw = {"t_span": 4.0, "dt": 0.01, "n_paths": 200, "seed": 6, "stop": stop}
    a = ensemble(net, x_star, 0.1, **kw)
    b = ensemble_batched(net, x_star, 0.1, block_paths=32, **kw)
    np.testing.assert_array_equal(a.path_status, b.path_status)
    np.testing.assert_array_equal(a.stop_set, b.stop_set)
    np.testing.assert_allclose(a.stop_time, b.stop_time, rtol=1e-9)
    np.testing.assert_allclose(a.final, b.final, rtol=1e-8, atol=1e-10)
    assert 20 < b.n_stopped < 180 and np.any(b.path_status == Status.RUNNING)


def _stopped_run(**kwargs):
    net, x_star, stop = _rate_and_sets(64, 2.5)
    kw = {"t_span": 3.0, "dt": 0.01, "n_paths": 300, "seed": 9, "save": 10, "stop": stop}
    return ensemble_batched(net, x_star, 0.05, block_paths=16, **kw, **kwargs)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"n_threads": 2},
        {"n_threads": 2, "chunk_size": 100},
        {"n_jobs": 2, "n_threads": 1, "chunk_size": 128},
    ],
)
def test_stopped_runs_bit_identical_whatever_the_parallelism(kwargs):
    ref = _stopped_run(n_threads=1)
    assert 30 < ref.n_stopped < 270  # rows are refilled mid-run
    _assert_same(ref, _stopped_run(**kwargs))


def _decay(x, t, p, out):
    for j in range(x.shape[0]):
        out[j] = -x[j]


def _decay_by_row(X, t, p, out):
    # -X with last bits that depend on the row, as a BLAS whose edge tiles sum in another
    # order would give (this machine's OpenBLAS does not): a path that ran in another
    # row under another chunking would then show
    out[:] = -X * (1.0 + 2.0**-50 * np.arange(X.shape[0]))[:, None]


def test_a_path_runs_in_the_same_row_whatever_the_chunking():
    system = System(drift=_decay, batched_drift=_decay_by_row, D=np.eye(3), name="decay")
    origin = np.zeros(3)
    kw = {"dt": 0.01, "n_paths": 100, "seed": 2, "block_paths": 8}
    runs = [
        ensemble_batched(
            system, origin, 0.2, t_span=20.0, stop=Shell(origin, 1.0, 1e3), **kw, **layout
        )  # fmt: skip
        for layout in ({"n_threads": 1}, {"n_threads": 2, "chunk_size": 64})
    ]
    _assert_same(*runs)
    assert runs[0].n_stopped == 100
    A, B = Ball(origin, 0.3), Shell(origin, 1.0, 1e3)
    runs = [
        transitions(system, A, B, 0.2, x0=origin, t_span=20.0, **kw, **layout)
        for layout in ({"n_threads": 1, "chunk_size": 128}, {"n_threads": 2, "chunk_size": 64})
    ]
    assert runs[0].successes == 100
    for name in ("x", "t_exit", "t_entry"):
        np.testing.assert_array_equal(getattr(runs[0], name), getattr(runs[1], name))


def ou_mean_exit_time(d: int, eps: float, radius: float, k: float = 1.0) -> float:
    """Mean first exit time from the ball |x| < radius of dX = -k X dt + sqrt(2 eps) dW
    in R^d started at 0: u(0) for eps (u'' + (d - 1) u' / r) - k r u' = -1, u(R) = 0,
    u'(0) = 0, i.e. T = int_0^R dr (1 / eps) int_0^r (s / r)^(d-1) e^{k (r^2 - s^2) /
    (2 eps)} ds."""

    def slope(r):
        inner = integrate.quad(
            lambda s: (s / r) ** (d - 1) * math.exp(k * (r * r - s * s) / (2 * eps)), 0, r
        )
        return inner[0] / eps

    return integrate.quad(slope, 0, radius)[0]


def test_ou_first_exit_time_in_d8_against_its_closed_form():
    # x' = -x (W = 0, b = 0) in d = 8. Euler-Maruyama's chain x_{n+1} = (1 - dt) x_n +
    # sqrt(2 eps dt) Z is exactly the OU of rate k' = -log(1 - dt) / dt and noise
    # eps' = 2 eps dt k' / (1 - (1 - dt)^2) sampled on the grid, so the grid introduces
    # no bias beyond the bridge test's (a Brownian bridge within each step)
    d, eps, radius, dt = 8, 0.1, 1.2, 0.01
    k = -math.log(1 - dt) / dt
    expected = ou_mean_exit_time(d, 2 * eps * dt * k / (1 - (1 - dt) ** 2), radius, k)
    net = zoo.rate_network(np.zeros((d, d)))
    res = ensemble_batched(
        net, np.zeros(d), eps, t_span=100.0, dt=dt, n_paths=4000, seed=3, block_paths=256,
        stop=Shell(np.zeros(d), radius, 1e3),
    )  # fmt: skip
    assert res.n_stopped == 4000
    mean = res.stop_time.mean()
    se = res.stop_time.std(ddof=1) / math.sqrt(res.n_paths)
    assert abs(mean - expected) < 3.5 * se, (mean, se, expected)


def test_transitions_equal_the_per_path_engine_bit_for_bit():
    ring, sync, _ = _ring_and_sets()
    A, B = Ball(sync, 0.4), HalfSpace(-np.eye(8)[0], 0.2)  # B: Re z_0 <= -0.2
    kw = {"x0": "sync", "t_span": 20.0, "dt": 0.01, "n_paths": 40, "seed": 3, "save": 3}
    a = transitions(ring, A, B, 0.3, engine="per-path", **kw)
    b = transitions(ring, A, B, 0.3, block_paths=8, **kw)  # auto: batched
    assert b.meta["engine"] == "batched" and a.meta["engine"] == "per-path"
    assert b.successes == 40
    for name in ("x", "t", "offsets", "t_exit", "t_entry", "source"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name), err_msg=name)
    assert a.path_steps == b.path_steps


def test_both_engines_refuse_reactive_segments_over_the_memory_budget():
    # the segments' stores (about 1.1 MB here) are checked before they are allocated, by
    # the per-path replay and by the batched one alike
    ring, sync, _ = _ring_and_sets()
    A, B = Ball(sync, 0.4), HalfSpace(-np.eye(8)[0], 0.2)
    kw = {"x0": "sync", "t_span": 20.0, "dt": 0.01, "n_paths": 40, "seed": 3}
    for engine in ("per-path", "batched"):
        with pytest.raises(MemoryBudgetError, match="the reactive segments needs"):
            transitions(ring, A, B, 0.3, engine=engine, memory_budget=1e6, **kw)


def test_transitions_report_non_finite_paths():
    # x' = x^3: the path from 5 blows up; the one from A's edge falls into B = {x <= -1}
    system = System(drift=_cubic, batched_drift=_cubic_block, D=np.eye(1), name="cubic")
    x0 = np.array([[-0.29], [5.0]])
    A, B = Ball([0.0], 0.3), Interval(-np.inf, -1.0)
    kw = {"x0": x0, "t_span": 5.0, "dt": 0.01, "n_paths": 2, "seed": 1}
    a = transitions(system, A, B, 0.01, engine="per-path", **kw)
    b = transitions(system, A, B, 0.01, block_paths=8, **kw)
    assert b.meta["engine"] == "batched"
    assert (b.n_nonfinite, b.successes, b.status) == (1, 1, Status.NON_FINITE)
    for name in ("x", "t", "offsets", "t_exit", "t_entry", "source"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name), err_msg=name)


def _rate_transitions(**kwargs):
    net, x_star, _ = _rate_and_sets(64, 2.5)
    A, B = Ball(x_star, 2.0), Shell(x_star, 2.5, 1e3)
    kw = {"x0": x_star, "t_span": 10.0, "dt": 0.01, "n_paths": 100, "seed": 1, "save": 4}
    return transitions(net, A, B, 0.05, block_paths=8, **kw, **kwargs)


@pytest.mark.parametrize(
    "kwargs", [{"n_threads": 2}, {"n_jobs": 2, "n_threads": 1, "chunk_size": 64}]
)
def test_batched_transitions_bit_identical_whatever_the_parallelism(kwargs):
    ref = _rate_transitions(n_threads=1, chunk_size=128)  # one chunk of two groups
    assert 50 < ref.successes < 100 and ref.meta["engine"] == "batched"
    got = _rate_transitions(**kwargs)
    for name in ("x", "t", "offsets", "t_exit", "t_entry", "source"):
        np.testing.assert_array_equal(getattr(ref, name), getattr(got, name), err_msg=name)


def test_batched_transitions_refuse_what_they_cannot_do():
    ramp = System(drift=_ramp, batched_drift=_ramp_block, D=np.eye(2), name="ramp")
    A, B = Ball([0.0, 0.0], 0.1), HalfSpace([1.0, 0.0], 1.0)
    with pytest.raises(ValueError, match="not autonomous"):
        transitions(ramp, A, B, 0.1, x0=[0.0, 0.0], engine="batched", t_span=1.0)
    with pytest.raises(ValueError, match="no `batched_drift`"):
        transitions(zoo.double_well(), "A", "B", 0.2, x0=[-0.9], engine="batched")
    with pytest.raises(ValueError, match="`engine`"):
        transitions(zoo.double_well(), "A", "B", 0.2, x0=[-0.9], engine="gpu")
    with pytest.raises(ValueError, match="`block_paths`"):
        transitions(zoo.double_well(), "A", "B", 0.2, x0=[-0.9], block_paths=8)
