"""Adaptive multilevel splitting (simulate.ams)."""

import hashlib
import math
import warnings

import numba as nb
import numpy as np
import pytest

from simulate import (
    AMSRunWarning,
    Ball,
    Box,
    HalfSpace,
    Interval,
    ReactionCoordinate,
    Status,
    ams,
    distance_to,
    ensemble,
    path_progress,
    reaction_coordinate,
    zoo,
)

from .exact_conditioned import committor

X0 = [-0.8]


def _agrees_with_committor(eps, n_runs, seed, dt=1e-3, sigmas=3.0):
    res = ams(zoo.double_well(), "A", "B", eps, n_replicas=100, n_runs=n_runs, x0=X0, dt=dt,
              seed=seed)  # fmt: skip
    exact = committor(X0[0], eps)
    assert res.success and np.all(res.run_status == Status.OK)
    assert abs(res.probability - exact) < sigmas * res.probability_se, (
        eps, res.probability, res.probability_se, exact,
    )  # fmt: skip
    return res


@pytest.mark.parametrize("eps", [0.1, 0.05])
def test_ams_matches_the_committor(eps):
    res = _agrees_with_committor(eps, n_runs=12, seed=101)
    ens = res.ensemble
    assert ens.weights.sum() == pytest.approx(res.probability)
    # the final ensemble has the form of `transitions`: paths from x0 into B
    B = zoo.double_well().states["B"]
    for s in range(0, ens.n_segments, 97):
        t, x = ens.segment(s)
        assert x[0, 0] == X0[0] and not np.any(B.contains(x[:-1]))
        assert B.contains(x[-1]) or x[-1, 0] > 0.85  # inside, or just after a bridge crossing
    assert ens.to_frame("segments")["weight"].sum() == pytest.approx(res.probability)


@pytest.mark.slow
@pytest.mark.parametrize("eps", [0.1, 0.05, 0.025, 0.0125, 0.01])
def test_ams_matches_the_committor_all_eps(eps):
    _agrees_with_committor(eps, n_runs=40, seed=202)


def test_ams_agrees_with_brute_force_at_eps_0_1():
    dw = zoo.double_well()
    brute = ensemble(dw, X0, 0.1, t_span=30, dt=1e-3, n_paths=50_000, stop=["A", "B"],
                     bridge=True, seed=303)  # fmt: skip
    assert np.all(brute.path_status == Status.STOPPED)
    p = brute.stopped_in("B").mean()
    se = math.sqrt(p * (1 - p) / brute.n_paths)
    res = ams(dw, "A", "B", 0.1, n_replicas=100, n_runs=10, x0=X0, dt=1e-3, seed=304)
    assert abs(res.probability - p) < 3 * math.hypot(se, res.probability_se)


@nb.njit
def _staircase(x, params):
    # heavy ties: a reaction coordinate constant on steps of width params[0]
    return math.floor(x[0] / params[0]) * params[0]


def test_ties_keep_ams_unbiased():
    # Levels tie in whole blocks; the Bréhier et al. rule (kill every replica at or below
    # the k-th level) must still agree with brute force on the same discrete dynamics.
    dw = zoo.double_well()
    brute = ensemble(dw, X0, 0.1, t_span=30, dt=1e-2, n_paths=200_000, stop=["A", "B"],
                     bridge=True, seed=5)  # fmt: skip
    p = brute.stopped_in("B").mean()
    se = math.sqrt(p * (1 - p) / brute.n_paths)
    xi = reaction_coordinate(_staircase, [0.2])
    res = ams(
        dw,
        "A",
        "B",
        0.1,
        reaction_coordinate=xi,
        n_replicas=50,
        k=5,
        n_runs=100,
        x0=X0,
        dt=1e-2,
        seed=6,
    )
    assert np.any(res.killed > res.iterations * 5)  # ties happened
    assert abs(res.probability - p) < 4 * math.hypot(se, res.probability_se)


@nb.njit
def _undefined_past(x, params):
    # a user's coordinate that is not defined beyond x = params[0]
    return x[0] if x[0] < params[0] else math.nan


def test_a_reaction_coordinate_turning_non_finite_is_reported():
    # max() would skip a NaN level: the replica would carry on as if the coordinate were
    # defined, silently. It must end non-finite, and the result must say so.
    dw = zoo.double_well()
    kw = dict(n_replicas=20, n_runs=4, x0=X0, dt=1e-2, seed=3)
    with pytest.warns(AMSRunWarning, match=r"replicas turned non-finite"):
        res = ams(
            dw,
            "A",
            "B",
            0.1,
            reaction_coordinate=reaction_coordinate(_undefined_past, [-0.5]),
            **kw,
        )
    assert res.status == Status.NON_FINITE and not res.success
    assert res.ensemble.n_nonfinite > 0 and res.probability == 0.0
    with warnings.catch_warnings():
        warnings.simplefilter("error", AMSRunWarning)  # defined everywhere it is visited
        ok = ams(
            dw, "A", "B", 0.1, reaction_coordinate=reaction_coordinate(_undefined_past, [9.0]), **kw
        )
    assert ok.success and ok.ensemble.n_nonfinite == 0 and ok.probability > 0


def test_path_progress_coordinate():
    line = np.column_stack([np.linspace(-1, 1, 21), np.zeros(21)])
    xi = path_progress(line)
    assert xi(np.array([-1.0, 0.3])) == pytest.approx(0.0)
    assert xi(np.array([0.05, -0.2])) == pytest.approx(0.525)
    assert xi(np.array([2.0, 0.0])) == pytest.approx(1.0)
    ms = zoo.maier_stein()
    res = ams(
        ms,
        "A",
        "B",
        0.1,
        reaction_coordinate=xi,
        n_replicas=20,
        n_runs=4,
        x0=[-0.85, 0.0],
        dt=1e-2,
        seed=1,
    )
    assert 0 < res.probability < 1 and np.all(res.run_status == Status.OK)
    d = distance_to(ms.states["B"])
    assert d(np.array([1.0, 0.0])) == pytest.approx(0.1)
    assert d(np.array([0.0, 0.0])) == pytest.approx(-0.9)


def test_ams_reproducible_whatever_the_parallelism():
    dw = zoo.double_well()
    kw = dict(n_replicas=20, n_runs=6, x0=X0, dt=1e-2, seed=77)
    ref = ams(dw, "A", "B", 0.1, n_jobs=1, n_threads=1, chunk_size=6, **kw)
    for extra in (dict(n_jobs=2), dict(n_threads=2, chunk_size=4)):
        other = ams(dw, "A", "B", 0.1, **kw, **extra)
        np.testing.assert_array_equal(ref.run_estimates, other.run_estimates)
        np.testing.assert_array_equal(ref.ensemble.x, other.ensemble.x)
        np.testing.assert_array_equal(ref.ensemble.weights, other.ensemble.weights)
        np.testing.assert_array_equal(ref.path_steps_per_run, other.path_steps_per_run)


def test_runs_whose_ensemble_outgrows_the_buffer_are_rerun_with_the_same_bits(monkeypatch):
    # The kernel's ensemble buffer holds 8 * 1024 * n points per run; a run that needs more
    # is rerun alone with room for its ensemble. With a buffer of 40 points every run with
    # paths in B is rerun, and gives the bits of the runs that fitted.
    import simulate._ams as mod

    dw = zoo.double_well()
    kw = dict(n_replicas=10, n_runs=4, x0=X0, dt=1e-2, seed=5, n_threads=2, chunk_size=4)
    ref = ams(dw, "A", "B", 0.1, **kw)
    run_chunk = mod._run_chunk
    reruns = []

    def small_buffer(*args):
        capacity = args[-2]
        if capacity == 8 * 1024 * kw["n_replicas"]:
            return run_chunk(*args[:-2], 40, args[-1])
        reruns.append(capacity)
        return run_chunk(*args)

    monkeypatch.setattr(mod, "_run_chunk", small_buffer)
    got = ams(dw, "A", "B", 0.1, **kw)
    assert len(reruns) == np.count_nonzero(ref.n_in_B) > 1 and min(reruns) > 40
    assert _digest(got) == _digest(ref)


def test_extinction_gives_zero():
    # B out of reach within t_span: every replica ends at the same level, all are killed.
    dw = zoo.double_well()
    with warnings.catch_warnings():
        warnings.simplefilter("error", AMSRunWarning)
        res = ams(dw, "A", Interval(0.99, np.inf), 0.01, n_replicas=5, n_runs=2, x0=[0.5],
                  dt=1e-2, t_span=0.02, seed=1)  # fmt: skip
    assert res.probability == 0.0 and np.all(res.run_status == Status.EXTINCT)
    # an extinct run is a valid estimate 0: counted, no warning, a success
    assert res.success and res.n_valid == 2 and res.probability_se == 0.0


def test_ams_rejects_bad_input():
    dw = zoo.double_well()
    with pytest.raises(ValueError, match="x0"):
        ams(dw, "A", "B", 0.1, x0=[-1.0])
    with pytest.raises(ValueError, match="overlap"):
        ams(dw, Interval(-np.inf, 0.2), Interval(0.1, np.inf), 0.1, x0=[0.15])
    with pytest.raises(ValueError, match="`k`"):
        ams(dw, "A", "B", 0.1, n_replicas=10, k=10, x0=X0)
    with pytest.raises(ValueError, match="eps"):
        ams(dw, "A", "B", 0.0, x0=X0)
    with pytest.raises(ValueError, match="reaction_coordinate"):
        ams(
            dw, "A", "B", 0.1, reaction_coordinate=distance_to(zoo.maier_stein().states["B"]), x0=X0
        )
    with pytest.raises(ValueError, match="n_replicas"):
        ams(dw, "A", "B", 0.1, n_replicas=0, x0=X0)


def test_runs_stopped_at_max_iter_are_flagged_warned_about_and_left_out():
    # Each run depends only on (seed, run): with a lower max_iter, the runs that needed
    # more iterations are truncated and the others are the same bits.
    dw = zoo.double_well()
    kw = dict(x0=X0, n_replicas=10, n_runs=8, dt=1e-2, seed=21)
    with warnings.catch_warnings():
        warnings.simplefilter("error", AMSRunWarning)  # no warning when nothing is dropped
        full = ams(dw, "A", "B", 0.1, **kw)
    assert full.success and full.n_valid == 8
    limit = int(np.median(full.iterations))
    kept = full.iterations <= limit
    assert 0 < kept.sum() < 8
    with pytest.warns(AMSRunWarning, match=rf"{8 - kept.sum()} runs stopped at max_iter"):
        cut = ams(dw, "A", "B", 0.1, max_iter=limit, **kw)
    assert cut.status == Status.MAX_ITER and not cut.success
    np.testing.assert_array_equal(cut.run_status == Status.MAX_ITER, ~kept)
    assert np.all(np.isnan(cut.run_estimates[~kept]))
    np.testing.assert_array_equal(cut.run_estimates[kept], full.run_estimates[kept])
    valid = full.run_estimates[kept]
    assert cut.probability == pytest.approx(valid.mean(), rel=1e-14)
    assert cut.probability_se == pytest.approx(valid.std(ddof=1) / np.sqrt(valid.size), rel=1e-12)
    # the weighted ensemble holds only the valid runs' replicas and sums to the estimate
    assert set(np.unique(cut.ensemble.source)) <= set(np.flatnonzero(kept))
    assert cut.ensemble.weights.sum() == pytest.approx(cut.probability)
    assert "left out" in cut.message and cut.to_frame().loc[0, "n_valid"] == kept.sum()


def test_no_valid_run_gives_no_estimate():
    dw = zoo.double_well()
    with pytest.warns(AMSRunWarning, match="3 runs stopped at max_iter = 1"):
        res = ams(dw, "A", "B", 0.1, x0=X0, n_replicas=10, n_runs=3, dt=1e-2, max_iter=1, seed=2)
    assert np.isnan(res.probability) and np.isnan(res.probability_se) and not res.success
    assert res.ensemble.n_segments == 0


def test_ams_bits_are_pinned():
    # Recorded with the implementation of commit 68433fb (before the NRT-free stepping
    # kernel): the documented random-stream layout, the draw order (main, bridge and
    # selection streams) and the stepping fix these numbers bit for bit, so a speed-up must
    # reproduce them. dt = 1e-3 makes paths outgrow the initial 1024-point stores (the
    # resume after growth) and sit near A's boundary (bridge draws); the second case uses
    # a 2-D system and the path_progress coordinate.
    res = ams(zoo.double_well(), "A", "B", 0.05, x0=X0, n_replicas=20, n_runs=2, dt=1e-3,
              seed=12)  # fmt: skip
    assert [v.hex() for v in res.run_estimates] == [
        "0x1.1d9d2c40a77cfp-10",
        "0x1.c2ab3c1b39df3p-10",
    ]
    assert res.path_steps_per_run.tolist() == [195866, 199749]
    assert res.iterations.tolist() == [133, 122] and res.ensemble.attempts == 297
    assert res.ensemble.x.shape == (160507, 1)
    assert float(res.ensemble.x.sum()).hex() == "0x1.2fac15f1f03d9p+13"
    assert float(res.ensemble.t_entry.sum()).hex() == "0x1.40e8d6f3b37e8p+7"
    line = np.column_stack([np.linspace(-1, 1, 21), np.zeros(21)])
    res = ams(zoo.maier_stein(), "A", "B", 0.1, reaction_coordinate=path_progress(line),
              n_replicas=20, n_runs=2, x0=[-0.85, 0.0], dt=1e-2, seed=13)  # fmt: skip
    assert [v.hex() for v in res.run_estimates] == ["0x1.21d0276a01abap-7", "0x1.16fb4cb6030b1p-6"]
    assert res.path_steps_per_run.tolist() == [14767, 13036]
    assert res.iterations.tolist() == [79, 75] and res.ensemble.attempts == 208
    assert res.ensemble.x.shape == (13693, 2)
    assert float(res.ensemble.x.sum()).hex() == "0x1.aee1a0a9d8d90p+10"
    assert float(res.ensemble.t_entry.sum()).hex() == "0x1.10d2ce003a26ap+7"


def _digest(res):
    """sha256 (first 16 hex digits) of everything a run returns, bit for bit."""
    h = hashlib.sha256()
    e = res.ensemble
    for a in (res.run_estimates, res.path_steps_per_run, res.iterations, res.killed, res.n_in_B,
              res.run_status, e.x, e.t, e.offsets, e.t_entry, e.weights, e.source):  # fmt: skip
        h.update(np.ascontiguousarray(a).tobytes())
    h.update(str((e.attempts, e.n_nonfinite, e.n_timeout)).encode())
    return h.hexdigest()[:16]


_LINE = np.column_stack([np.linspace(-1, 1, 21), np.zeros(21)])
_PINNED = {
    # the benchmark's cases (double well, 100 replicas, dt = 1e-3: long replicas, bridge
    # draws near A, the distance coordinate)
    "dw_0.05": (
        lambda: ams(
            zoo.double_well(), "A", "B", 0.05, x0=X0, n_replicas=100, n_runs=2, dt=1e-3, seed=2
        ),  # fmt: skip
        "7fc454b8399b1876",
    ),
    "dw_0.02": (
        lambda: ams(
            zoo.double_well(), "A", "B", 0.02, x0=X0, n_replicas=100, n_runs=1, dt=1e-3, seed=3
        ),  # fmt: skip
        "374908676cd82d3e",
    ),
    # ties (k = 5) with a user coordinate; replicas timing out; balls in 2-D; no bridge
    "ties": (
        lambda: ams(
            zoo.double_well(),
            "A",
            "B",
            0.1,
            n_replicas=50,
            k=5,
            n_runs=3,
            x0=X0,
            reaction_coordinate=reaction_coordinate(_staircase, [0.2]),
            dt=1e-2,
            seed=6,
        ),
        "d468743193350832",
    ),  # fmt: skip
    "timeout": (
        lambda: ams(
            zoo.double_well(),
            "A",
            "B",
            0.1,
            x0=X0,
            n_replicas=20,
            k=3,
            n_runs=2,
            dt=1e-2,
            t_span=0.5,
            seed=9,
        ),  # fmt: skip
        "9a4c6e70b937ed97",
    ),
    "balls_2d": (
        lambda: ams(
            zoo.maier_stein(),
            Ball([-1.0, 0.0], 0.02),
            Ball([1.0, 0.0], 0.1),
            0.1,
            x0=[-0.97, 0.0],
            n_replicas=30,
            n_runs=2,
            dt=1e-3,
            seed=7,
        ),  # fmt: skip
        "787bad9b2a083acc",
    ),
    "no_bridge": (
        lambda: ams(
            zoo.maier_stein(),
            "A",
            "B",
            0.1,
            reaction_coordinate=path_progress(_LINE),
            n_replicas=20,
            n_runs=2,
            x0=[-0.85, 0.0],
            dt=1e-2,
            seed=13,
            bridge=False,
        ),
        "c93367561525545c",
    ),  # fmt: skip
    # Recorded on main at bdbc2e3, before the skipped set tests: a diffusion schedule
    # (exact set tests every step, the amplitude per step), and a correlated D with A a
    # union of a box and a ball and B a half-space (skipped tests, bridge draws)
    "schedule_2d": (
        lambda: ams(
            zoo.reverse_diffusion_ring(),
            Ball([0.0, 10.0], 1.0),
            Ball([0.0, 5.0], 1.0),
            0.01,
            x0=[0.0, 8.5],
            n_replicas=20,
            n_runs=2,
            t_span=5.0,
            dt=1e-2,
            seed=4,
        ),
        "d3ce1bf6699861f5",
    ),  # fmt: skip
    "box_union_2d": (
        lambda: ams(
            zoo.ornstein_uhlenbeck(D=[[1.0, 0.3], [0.3, 0.8]], dim=2),
            Box([-np.inf, -np.inf], [-0.3, np.inf]) | Ball([0.0, -0.5], 0.2),
            HalfSpace([1.0, 0.5], 1.2),
            0.1,
            x0=[0.0, 0.1],
            n_replicas=30,
            n_runs=2,
            dt=1e-3,
            seed=5,
        ),
        "bade487857123548",
    ),  # fmt: skip
}


def test_kth_smallest_level_is_np_partitions():
    from simulate._ams import _kth_smallest

    rng = np.random.default_rng(0)
    values = [0.0, -0.0, 1.0, -1.0, np.inf, -np.inf, np.nan, 0.5]
    for trial in range(300):
        n = int(rng.integers(2, 12))
        level = rng.choice(values, size=n) if trial % 2 else rng.normal(size=n)
        for k in range(1, n):
            want = np.partition(level, k - 1)[k - 1]
            got = _kth_smallest(level, k)
            assert got == want or (np.isnan(got) and np.isnan(want)), (level, k)


@pytest.mark.parametrize("bridge", [False, True])
def test_reading_xi_off_the_cached_distances_changes_no_bit(bridge):
    # With the default coordinate (minus the distance to B) the kernel reads xi off B's
    # cached signed distances and skips B's test while a replica is below its level; the
    # same coordinate with a padded parameter vector is not recognised, so there every
    # step takes B's exact test. The two must agree bit for bit. Without the bridge test
    # replicas step into B from just below a level that came close to B, right after
    # skipped steps: the entry time's crossing fraction then uses the old point's
    # distance, wrong (stale) unless recomputed after the skipped steps.
    dw = zoo.double_well()
    ref = distance_to(dw.states["B"])
    padded = ReactionCoordinate(ref.function, np.append(ref.params, 0.0), "padded")
    kw = {"x0": X0, "n_replicas": 20, "n_runs": 2, "dt": 1e-2, "seed": 1, "bridge": bridge}
    res = ams(dw, "A", "B", 0.1, **kw)
    assert res.ensemble.n_segments > 0
    assert _digest(res) == _digest(ams(dw, "A", "B", 0.1, reaction_coordinate=padded, **kw))


@pytest.mark.parametrize("case", sorted(_PINNED))
def test_ams_bits_match_the_recorded_digests(case):
    # Digests recorded on main at 347c9e8, before the speed work of issue 12: every array
    # a run returns (estimates, counts, the weighted ensemble's points, times, weights),
    # bit for bit. A faster kernel must reproduce them.
    run, digest = _PINNED[case]
    assert _digest(run()) == digest


@pytest.mark.slow
def test_compiling_the_kernel_prints_no_first_class_notice(tmp_path):
    # numba's "First-class function type feature is experimental" came on every cache miss
    # of the AMS kernel, with nothing a user could act on; it is ignored while that kernel
    # compiles. An empty cache directory forces the compilation (about a minute), in a
    # fresh process: this one's kernels are compiled already.
    import os
    import subprocess
    import sys

    probe = (
        "import warnings\n"
        "with warnings.catch_warnings(record=True) as rec:\n"
        "    warnings.simplefilter('always')\n"
        "    import simulate\n"
        "print([f'{w.category.__name__}: {w.message}' for w in rec])\n"
    )
    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path)}
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, env=env
    )
    assert "First-class function type" not in out.stdout, out.stdout
    assert any(tmp_path.rglob("*_ams_kernel*.nbi")), "the kernel was not compiled afresh"
