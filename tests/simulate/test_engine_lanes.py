"""The engine's lanes (refilled as paths stop, cached set distances) against a plain
one-path-at-a-time reference built from the samplers' shared step and contact test:
every output must agree bit for bit."""

import numba as nb
import numpy as np
import pytest

from simulate import Ball, Box, HalfSpace, Interval, Shell, System, ensemble, zoo
from simulate._driver import kernel_prefix
from simulate._random import STREAM_SIZE, WORDS_PER_REFILL, init_stream
from simulate._sets import encode_sets, first_set_containing
from simulate._status import NON_FINITE, RUNNING, STOPPED
from simulate._stepping import contact, em_step


@nb.njit(cache=True, error_model="numpy")  # as the engine: 1/0 is inf
def _reference_kernel(drift, schedule, has_schedule, params, chol, eps, t0, dt, x0, n_steps,
                      save_every, seed, kinds, owners, data, bridge, saved, final, status,
                      stop_set, stop_time):  # fmt: skip
    """Each path alone, step by step: em_step, then contact for each set in turn (the
    old point's distances recomputed every step, no shortcut)."""
    d = x0.shape[1]
    n_prims = kinds.shape[0]
    state = np.empty(STREAM_SIZE, dtype=np.uint64)
    pre = np.empty(STREAM_SIZE, dtype=np.uint64)
    lanes = np.empty(2 * WORDS_PER_REFILL, dtype=np.uint64)
    z = np.empty(WORDS_PER_REFILL)
    fx = np.empty(d)
    x_new = np.empty(d)
    normal = np.empty(d)
    for i in range(final.shape[0]):
        init_stream(state, seed, np.uint64(i))
        x = x0[i if x0.shape[0] > 1 else 0].copy()
        if save_every > 0:
            saved[i, 0] = x
        code, which, when = RUNNING, -1, np.nan
        hit = first_set_containing(kinds, owners, data, x) if n_prims else -1
        if hit >= 0:
            code, which, when = STOPPED, hit, t0
        pos = WORDS_PER_REFILL
        n = 0
        while code == RUNNING and n < n_steps:
            t = t0 + n * dt
            pos, scale = em_step(drift, schedule, has_schedule, params, chol, eps, dt, x, t,
                                 fx, x_new, state, pre, lanes, z, pos)  # fmt: skip
            n += 1
            if not np.isfinite(x_new.sum()):
                code, when = NON_FINITE, t0 + n * dt
            lo = 0
            while code == RUNNING and lo < n_prims:
                hi = lo + 1
                while hi < n_prims and owners[hi] == owners[lo]:
                    hi += 1
                frac = contact(kinds[lo:hi], data[lo:hi], x, x_new, bridge, eps * scale * dt,
                               chol, state, normal)  # fmt: skip
                if frac >= 0.0:
                    code, which, when = STOPPED, owners[lo], t + frac * dt
                lo = hi
            x[:] = x_new
            if save_every > 0 and n % save_every == 0:
                saved[i, n // save_every] = x
        final[i] = x
        status[i] = code
        stop_set[i] = which
        stop_time[i] = when


def _reference(system, x0, eps, t_span, dt, n_paths, seed, stop, save_every=0, bridge=True):
    d = system.dim
    x0 = np.ascontiguousarray(np.atleast_2d(np.asarray(x0, dtype=float)))
    n_steps = int(round((t_span[1] - t_span[0]) / dt))
    dt = (t_span[1] - t_span[0]) / n_steps  # as the engine adjusts it
    n_saved = n_steps // save_every + 1 if save_every else 0
    saved = np.full((n_paths, n_saved, d), np.nan)
    final = np.empty((n_paths, d))
    status = np.empty(n_paths, dtype=np.int8)
    stop_set = np.empty(n_paths, dtype=np.int64)
    stop_time = np.empty(n_paths)
    _reference_kernel(*kernel_prefix(system, eps, t_span[0], dt), x0, n_steps, save_every,
                      np.uint64(seed), *encode_sets(list(stop.values()), d), bridge, saved,
                      final, status, stop_set, stop_time)  # fmt: skip
    return saved, final, status, stop_set, stop_time


def _cubic(x, t, p, out):
    out[0] = x[0] ** 3


CASES = {
    # Double well from -1 to the well beyond the saddle: paths stop at scattered times.
    "double_well": (zoo.double_well(), [-1.0], 0.15, (0.0, 20.0), 1e-2, 203,
                    {"B": Interval(1.0, np.inf), "far": Interval(-np.inf, -2.0)}, 0, True),
    # Maier–Stein with a ball and a union of three kinds of primitive, saved paths, some
    # starts inside a set (stopped at t0) and some on the way.
    "maier_stein": (zoo.maier_stein(),
                    np.array([[-1.0, 0.0], [0.0, 0.0], [-1.0, 0.4], [0.95, 0.0]] * 40),
                    0.2, (0.0, 4.0), 1e-2, 160,
                    {"ball": Ball([0.0, 0.0], 0.2),
                     "u": Ball([1.0, 0.0], 0.3) | HalfSpace([0.0, 1.0], 0.8)
                     | Box([-2.0, -2.0], [-1.5, -0.9])}, 3, True),
    # A diffusion schedule d(t) and a shell, no bridge.
    "schedule": (zoo.reverse_diffusion_ring(), [0.0, 10.0], 1.0, (0.0, 31.0), 2e-2, 61,
                 {"near": Ball([0.0, 5.0], 1.5), "shell": Shell([0.0, 0.0], 0.0, 2.0)}, 0,
                 False),
    # Paths that blow up (stopped as non-finite) beside paths that reach a set.
    "non_finite": (System(drift=_cubic, D=np.eye(1), name="cubic"),
                   np.array([[0.0], [3.0], [-0.1], [2.5], [0.5], [-4.0], [0.2]] * 3), 1e-3,
                   (0.0, 2.0), 0.1, 21, {"low": Interval(-np.inf, -50.0)}, 0, True),
}  # fmt: skip


@pytest.mark.parametrize("name", CASES)
def test_engine_matches_the_one_path_reference_bit_for_bit(name):
    system, x0, eps, span, dt, n_paths, stop, save_every, bridge = CASES[name]
    ref = _reference(system, x0, eps, span, dt, n_paths, 17, stop, save_every, bridge)
    # one thread: blocks of several groups, so lanes are refilled
    res = ensemble(system, x0, eps, t_span=span, dt=dt, n_paths=n_paths, seed=17, stop=stop,
                   save=save_every or "final", bridge=bridge, n_threads=1)  # fmt: skip
    assert 0 < res.n_stopped + res.n_nonfinite < n_paths  # paths end at different steps
    got = (res.paths, res.final, res.path_status, res.stop_set, res.stop_time)
    for what, r, g in zip(
        ("paths", "final", "status", "stop_set", "stop_time"), ref, got, strict=True
    ):
        np.testing.assert_array_equal(g, r, err_msg=what)


def test_clearance_bounds_every_point_within_reach():
    """clearance(x) = r: every point within L1 distance r of x is outside every primitive
    by at least sqrt(far), so the engine may skip the set test there; and r is not
    vacuous (within its round-off margin of the least distance less sqrt(far))."""
    from simulate._sets import signed_distance
    from simulate._stepping import clearance

    rng = np.random.default_rng(3)
    sets = [Ball([0.5, -0.2], 0.7), Shell([0.0, 0.0], 1.0, 1.5), HalfSpace([1.0, 2.0], 1.0),
            Box([-3.0, -np.inf], [-2.0, 0.5])]  # fmt: skip
    kinds, _, data = encode_sets(sets, 2)
    extent = np.max(np.abs(data[np.isfinite(data)]))
    normal = np.empty(2)
    far = 0.04  # sqrt(far) = 0.2
    checked = 0
    for _ in range(400):
        x = rng.uniform(-4.0, 4.0, 2)
        prims = zip(kinds, data, strict=True)
        dist = np.array([signed_distance(k, row, x, normal) for k, row in prims])
        room = clearance(dist, far, True, x, extent)
        margin = 1e-6 * (1.0 + extent + np.abs(x).sum())
        assert room == pytest.approx(dist.min() - 0.2 - margin, abs=1e-9)
        assert clearance(dist, far, False, x, extent) == pytest.approx(dist.min() - margin)
        if room <= 0.0:
            continue
        checked += 1
        step = rng.standard_normal((50, 2))
        step *= room * rng.uniform(0.0, 1.0, (50, 1)) / np.abs(step).sum(axis=1, keepdims=True)
        for y in x + step:
            for k, row in zip(kinds, data, strict=True):
                assert signed_distance(k, row, y, normal) >= 0.2
    assert checked > 50


def test_lane_kernel_loads_from_numba_cache_in_a_new_process():
    """A second process finds the per-d lane kernel in numba's disk cache (no compile):
    a cache key that changed per process once made every process compile it again."""
    import subprocess
    import sys

    probe = (
        "from simulate._ensemble import _kernel\n"
        "s = _kernel(3).stats\n"
        "print(sum(s.cache_hits.values()), sum(s.cache_misses.values()))\n"
    )
    runs = [
        subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
        for _ in range(2)
    ]
    hits, misses = map(int, runs[1].stdout.split())
    assert (hits, misses) == (1, 0), runs[1].stdout
