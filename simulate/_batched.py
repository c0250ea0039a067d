"""The Euler–Maruyama engine for network-sized systems: the drift of a whole block of
paths at once.

    X_{n+1} = X_n + F(X_n, t_n) dt + sqrt(2 eps d(t_n) dt) L Z_n,     L L^T = D,

with the rows of X the paths and ``F`` the system's ``batched_drift`` on an
(n_block, d) block, so that a linear layer W phi(x) is one BLAS matrix product across
the paths. Path i draws its normals Z from its own Philox stream (seed, i)
(:mod:`simulate._random`), in the layout of :func:`simulate.ensemble`: for
d <= ``WORDS_PER_REFILL`` each step takes the next d normals of a refill of
``WORDS_PER_REFILL`` and skips the rest of the refill when fewer than d are left; for
larger d each step takes ceil(d / ``WORDS_PER_REFILL``) whole refills and uses their
first d normals. The noise of path i thus depends on nothing but (seed, i).

Paths are stepped in blocks of ``block_paths`` rows, always of that shape, and chunks are
whole blocks. With stopping sets (:func:`ensemble_batched` with ``stop``, and
:func:`reactive_batched` for :func:`~simulate.transitions`) a block owns a fixed *group*
of ``ROW_PATHS`` * ``block_paths`` paths and a row whose path ended takes the group's
next one (autonomous systems; otherwise a new generation starts when every row is
free), and chunks are whole groups. Which row a path runs in, and so how a BLAS product
sums its terms, depends only on the group's own paths: results are bit-identical for
any ``n_jobs``, ``n_threads`` and ``chunk_size``. The step, the noise and the set tests
run in numba kernels whose signatures do not depend on d: compiled once, not once per
dimension. Threads take whole blocks (groups). Why this design, and its throughput:
``docs/networks.md``.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

import numba as nb
import numpy as np
from threadpoolctl import threadpool_limits

from ._driver import (
    DEFAULT_MEMORY_BUDGET,
    check_count,
    check_system,
    chunk_starts,
    dispatch,
    fixed_horizon,
    progress_bar,
    worker_layout,
)
from ._ensemble import EnsembleResult, _fill_lane, warn_all_nonfinite
from ._ensemble import _resolve_stop as resolve_stop
from ._numba_types import JIT
from ._random import (
    NEGLIGIBLE_EXPONENT,
    STREAM_SIZE,
    WORDS_PER_REFILL,
    fill_normals,
    init_stream,
)
from ._sets import encode_sets, signed_distance
from ._status import IN_B, NON_FINITE, RUNNING, STOPPED, TIMED_OUT
from ._stepping import contact, contact_cached, restore
from ._system import System
from ._transitions import join_chunks, pass1_arrays, segment_buffers, set_distance

#: Elements (paths x dimensions) of a block by default: big enough that numpy's and
#: BLAS's per-call overhead is small, small enough that a block's arrays stay in cache.
BLOCK_ELEMENTS = 1 << 14

#: With stopping sets, the paths one row of a block works through in turn: a block of
#: B rows owns a *group* of ``ROW_PATHS`` * B paths, and a row whose path stopped takes
#: the group's next path (for autonomous systems; else a new generation of B paths
#: starts when every row is free). The block's cost is then the longest row's total,
#: not ``ROW_PATHS`` times the slowest path of B (docs/networks.md).
ROW_PATHS = 8


@nb.njit(**JIT)
def _step_rows(x, x_old, fx, dt, amp, chol, diagonal, per_step, states, pre, lanes, z, pos, path,
               ok):  # fmt: skip
    """The Euler–Maruyama step of every busy row (``path`` >= 0): x_old[g] = x[g], then
    x[g] += f dt + amp L z with row g's next d normals, in the per-path engine's layout
    and sum order; ``ok[g]``: whether the new state is finite; ``pre``: each stream
    before its latest refill (for replays).

    One plain loop, apart from the set tests: written with helper functions, or sharing
    a function with the tests, the same loop ran 2-5x slower at d = 8."""
    d = x.shape[1]
    for g in range(x.shape[0]):
        if path[g] < 0:
            continue
        p = pos[g]
        if per_step:  # d > WORDS_PER_REFILL: whole refills every step, their first d
            for m in range(STREAM_SIZE):
                pre[g, m] = states[g, m]
            for r in range(per_step):
                fill_normals(states[g], lanes, z[g, r * WORDS_PER_REFILL :])
            p = 0
        elif p + d > WORDS_PER_REFILL:  # the rest of the refill is skipped
            for m in range(STREAM_SIZE):
                pre[g, m] = states[g, m]
            fill_normals(states[g], lanes, z[g])
            p = 0
        total = 0.0  # non-finite iff some component is (or |x| ~ 1e308)
        for j in range(d):
            x_old[g, j] = x[g, j]
            # the per-path engine's sum over m <= j, in its order; with a diagonal L its
            # other terms are exact zeros, so the one product gives the same bits
            if diagonal:
                noise = chol[j, j] * z[g, p + j]
            else:
                noise = 0.0
                for m in range(j + 1):
                    noise += chol[j, m] * z[g, p + m]
            x[g, j] = x[g, j] + fx[g, j] * dt + amp * noise
            total += x[g, j]
        ok[g] = math.isfinite(total)
        pos[g] = p + d


@nb.njit(**JIT)
def _fill_rows(following, last, x0, t0, seed, first_path, save_every, set_kinds, set_owners,
               set_data, states, x, dist, normal, path, step, pos, room, saved, final, status,
               stop_set, stop_time):  # fmt: skip
    """Give every idle row the group's next path (the per-path engine's lane start:
    a path that begins inside a set ends at t0 there); returns the next path to start."""
    for g in range(x.shape[0]):
        if path[g] < 0 and following < last:
            following = _fill_lane(g, following, last, x0, t0, seed, first_path, save_every,
                                   set_kinds, set_owners, set_data, states, x, dist, normal,
                                   path, step, pos, room, saved, final, status, stop_set,
                                   stop_time)  # fmt: skip
    return following


@nb.njit(**JIT)
def _advance(x, fx, t0, dt, amp, noise_var, far, chol, diagonal, per_step, states, pre, lanes,
             z, pos, room, path, step, refill, following, last, x0, seed, first_path, n_steps,
             save_every, set_kinds, set_owners, set_data, bridge, dist, normal, saved, final,
             status, stop_set, stop_time, x_old, ok):  # fmt: skip
    """One Euler–Maruyama step of every busy row (drift ``fx`` given), with the
    per-path engine's tests in its order: non-finite first, then the first primitive
    the step touches (grid point inside or Brownian-bridge crossing, ``contact_cached``).
    A finished path writes its results and frees its row, which takes the group's next
    path at once when ``refill`` (autonomous systems), else when every row is free.
    Returns (next path to start, busy rows)."""
    _step_rows(x, x_old, fx, dt, amp, chol, diagonal, per_step, states, pre, lanes, z, pos, path,
               ok)  # fmt: skip
    for g in range(x.shape[0]):
        i = path[g]
        if i < 0:
            continue
        n = step[g] + 1
        step[g] = n
        code = RUNNING
        which = -1
        when = np.nan
        if not ok[g]:
            code = NON_FINITE
            when = t0 + n * dt
        elif set_kinds.shape[0]:
            frac, prim = contact_cached(set_kinds, set_data, dist[g], x[g], bridge, noise_var,
                                        far, chol, states[g], normal)  # fmt: skip
            if frac >= 0.0:
                code = STOPPED
                which = set_owners[prim]
                when = t0 + (n - 1) * dt + frac * dt
        if save_every > 0 and n % save_every == 0:
            saved[i, n // save_every, :] = x[g]
        if code != RUNNING or n == n_steps:
            final[i, :] = x[g]
            status[i] = code
            stop_set[i] = which
            stop_time[i] = when
            path[g] = -1
            if refill and following < last:
                following = _fill_lane(g, following, last, x0, t0, seed, first_path, save_every,
                                       set_kinds, set_owners, set_data, states, x, dist, normal,
                                       path, step, pos, room, saved, final, status, stop_set,
                                       stop_time)  # fmt: skip
    busy = 0
    for g in range(x.shape[0]):
        busy += path[g] >= 0
    if busy == 0 and following < last:  # a new generation
        following = _fill_rows(following, last, x0, t0, seed, first_path, save_every,
                               set_kinds, set_owners, set_data, states, x, dist, normal, path,
                               step, pos, room, saved, final, status, stop_set,
                               stop_time)  # fmt: skip
        for g in range(x.shape[0]):
            busy += path[g] >= 0
    return following, busy


def default_block_paths(d: int) -> int:
    """Rows of a block for dimension d: ``BLOCK_ELEMENTS / d``, a multiple of 8 in
    [64, 2048]. Results are bit-identical for one ``block_paths`` whatever the chunking;
    another block shape may change the last bits of BLAS products."""
    return int(min(2048, max(64, (BLOCK_ELEMENTS // d) // 8 * 8)))


def ensemble_batched(
    system: System,
    x0: Sequence[float] | np.ndarray | str,
    eps: float,
    *,
    t_span: tuple[float, float] | float | None = None,
    dt: float = 1e-3,
    n_paths: int = 1000,
    seed: int = 0,
    save: str | int = "final",
    stop=None,
    bridge: bool = True,
    block_paths: int | None = None,
    n_jobs: int = 1,
    n_threads: int | None = None,
    chunk_size: int | None = None,
    memory_budget: float = DEFAULT_MEMORY_BUDGET,
    progress: bool | None = None,
) -> EnsembleResult:
    """Euler–Maruyama paths of dX = f dt + sqrt(2 eps D(t)) dW, the drift evaluated for
    a block of paths at once by ``system.batched_drift``.

    Same calling convention, stopping sets and result as :func:`~simulate.ensemble`
    (``docs/sampling.md``): a path stops at its first entry into a set of ``stop`` (a
    grid point inside or, with ``bridge``, a Brownian-bridge crossing; the time
    interpolated in the step, ``stop_set`` the set's index, status ``STOPPED``), turns
    ``NON_FINITE`` (then frozen), or runs to the end of ``t_span`` (``RUNNING``: censored,
    ``stop_time`` NaN). With a diagonal D and a batched drift that does the per-path
    drift's operations in its order (as the zoo's ``oscillator_ring``), the paths equal
    :func:`~simulate.ensemble`'s bit for bit; otherwise they agree to round-off (a BLAS
    product sums in another order).

    Parameters
    ----------
    system
        A system with ``batched_drift``.
    x0, eps, t_span, dt, n_paths, seed, save, stop, bridge, n_jobs, memory_budget, progress
        As for :func:`~simulate.ensemble`.
    block_paths
        Rows of a block (default :func:`default_block_paths` of d). With ``stop``, a
        block works through ``ROW_PATHS`` * ``block_paths`` paths, a free row taking the
        next one. The result is bit-identical for any ``n_jobs``, ``n_threads`` and
        ``chunk_size`` at one ``block_paths``.
    n_threads
        Threads per process, each stepping whole blocks (default: all cores divided
        among the workers); with one thread, BLAS may use several.
    chunk_size
        Paths per task, rounded up to whole blocks (with ``stop``: whole groups of
        ``ROW_PATHS`` blocks; default: n_paths split in about 4 chunks per worker;
        in-process, one chunk).
    """
    start = time.perf_counter()
    check_system(system)
    if system.batched_drift is None:
        raise ValueError(
            f"`system` {system.name!r} has no `batched_drift`; give one to System, or use "
            "simulate.ensemble"
        )
    fh = fixed_horizon(
        system,
        x0,
        eps,
        seed=seed,
        n_paths=n_paths,
        t_span=t_span,
        dt=dt,
        save=save,
        memory_budget=memory_budget,
    )
    eps, seed, n_paths, x0 = fh.eps, fh.seed, fh.n_paths, fh.x0
    t0, t1, n_steps, dt = fh.t0, fh.t1, fh.n_steps, fh.dt
    save_every, n_saved, d = fh.save_every, fh.n_saved, system.dim
    sets, set_names = resolve_stop(system, stop)
    encoded = encode_sets(sets, d)
    block = block_rows(block_paths, d)
    # Without sets every path runs n_steps: rows free up together and a group of one
    # block is the same layout as a group of many.
    group = block * (ROW_PATHS if sets else 1)
    n_workers, n_threads = worker_layout(n_jobs, n_threads)
    if chunk_size is None:
        chunk_size = -(-n_paths // (4 * n_workers)) if n_workers > 1 else n_paths
    chunk_size = -(-check_count(chunk_size, "chunk_size") // group) * group
    starts = chunk_starts(n_paths, chunk_size)

    def task(first: int):
        count = min(chunk_size, n_paths - first)
        xs = x0 if x0.shape[0] == 1 else x0[first : first + count]
        return _run_chunk(
            system, xs, eps, t0, dt, n_steps, save_every, n_saved, seed, first, count, block,
            group, encoded, bool(bridge), n_threads,
        )  # fmt: skip

    saved = np.empty((n_paths, n_saved, d))
    final = np.empty((n_paths, d))
    status = np.empty(n_paths, dtype=np.int8)
    stop_set = np.empty(n_paths, dtype=np.int64)
    when = np.empty(n_paths)
    busy_steps = row_steps = 0
    bar = progress_bar(n_paths, f"{system.name} ensemble (batched)", "path", len(starts), progress)
    for first, (s, f, c, k, w, use) in dispatch(task, starts, n_workers):
        sl = slice(first, first + f.shape[0])
        saved[sl], final[sl], status[sl], stop_set[sl], when[sl] = s, f, c, k, w
        busy_steps, row_steps = busy_steps + use[0], row_steps + use[1]
        bar.update(f.shape[0])
    bar.close()
    warn_all_nonfinite(system, status, eps, dt)
    t = t0 + dt * save_every * np.arange(n_saved) if save_every else np.zeros(0)
    return EnsembleResult(
        system=system.name,
        eps=eps,
        dt=dt,
        t_span=(t0, t1),
        seed=seed,
        t=t,
        paths=saved,
        final=final,
        path_status=status,
        stop_set=stop_set,
        stop_time=when,
        set_names=set_names,
        bridge=bool(bridge),
        wall_time=time.perf_counter() - start,
        meta={
            "engine": "batched",
            "block_paths": block,
            "group_paths": group,
            # the fraction of the drift's row evaluations that advanced a path
            "row_use": float(busy_steps / row_steps) if row_steps else math.nan,
        },
    )


def block_rows(block_paths: int | None, d: int) -> int:
    """The rows of a block: ``block_paths``, checked, or :func:`default_block_paths`."""
    if block_paths is None:
        return default_block_paths(d)
    return check_count(block_paths, "block_paths")


def threads_over(run, starts, n_threads: int | None) -> None:
    """``run(start)`` for each block start, threads taking whole blocks (the kernels and
    BLAS release the GIL). Within a step all is serial: a parallel region per step waits
    for every thread, and on a busy machine that wait costs more than the step. One BLAS
    thread per block thread."""
    n_threads = min(n_threads or os.cpu_count() or 1, len(starts))
    with threadpool_limits(1 if n_threads > 1 else None, user_api="blas"):
        if n_threads == 1:
            for b0 in starts:
                run(b0)
        else:
            with ThreadPoolExecutor(n_threads) as pool:
                list(pool.map(run, starts))


def _run_chunk(system, x0, eps, t0, dt, n_steps, save_every, n_saved, seed, first, count,
               block, group, sets, bridge, n_threads):  # fmt: skip
    d = system.dim
    saved = np.full((count, n_saved, d), np.nan)
    final = np.empty((count, d))
    status = np.empty(count, dtype=np.int8)
    stop_set = np.empty(count, dtype=np.int64)
    when = np.full(count, np.nan)
    use = []

    def run(g0: int) -> None:
        rows = min(group, count - g0)
        xs = x0 if x0.shape[0] == 1 else x0[g0 : g0 + rows]
        sl = slice(g0, g0 + rows)
        use.append(
            _run_group(
                system,
                xs,
                eps,
                t0,
                dt,
                n_steps,
                save_every,
                seed,
                first + g0,
                rows,
                block,
                sets,
                bridge,
                saved[sl],
                final[sl],
                status[sl],
                stop_set[sl],
                when[sl],
            )  # fmt: skip
        )

    threads_over(run, range(0, count, group), n_threads)
    return saved, final, status, stop_set, when, np.sum(use, axis=0)


class Block:
    """The arrays of one block of ``rows`` paths of dimension d: states, drift, random
    streams (``pre``: each stream before its latest refill), normal buffers and the
    per-row path, step count and buffer position (-1: an idle row)."""

    def __init__(self, system: System, rows: int):
        d = system.dim
        self.d = d
        width = WORDS_PER_REFILL * max(1, -(-d // WORDS_PER_REFILL))
        self.per_step = 0 if d <= WORDS_PER_REFILL else width // WORDS_PER_REFILL
        self.chol = np.ascontiguousarray(system.cholesky)
        self.diagonal = not np.any(np.tril(self.chol, -1))
        self.top = float(np.linalg.eigvalsh(system.D).max())  # the largest nu^T D nu
        self.x = np.zeros((rows, d))
        self.fx = np.empty((rows, d))
        self.states = np.zeros((rows, STREAM_SIZE), dtype=np.uint64)
        self.pre = np.zeros((rows, STREAM_SIZE), dtype=np.uint64)
        self.lanes = np.empty(2 * WORDS_PER_REFILL, dtype=np.uint64)
        self.z = np.empty((rows, width))
        self.pos = np.zeros(rows, dtype=np.int64)
        self.room = np.empty(rows)  # written by the per-path engine's lane start, unused here
        self.path = np.full(rows, -1, dtype=np.int64)
        self.step = np.zeros(rows, dtype=np.int64)
        self.normal = np.empty(d)
        self._scale = (math.nan, math.nan, math.nan, math.inf)

    def noise(self, system: System, eps: float, t: float, dt: float):
        """(amp, noise_var, far) at time t: sqrt(2 eps d(t) dt) and eps d(t) dt as the
        per-path engine forms them, and a bound ``far`` such that a step with a b >= far
        (a, b its end points' distances to a boundary) cannot draw a bridge crossing.

        The per-path engine's bound (:func:`~simulate._stepping.bridge_far`) bounds the
        bridge's nu^T D nu by tr D; this one by the largest eigenvalue of D, d times
        tighter for D = I, with the same factor 2 for round-off: a b >= far then gives
        the exponent 2 a b / (2 noise_var nu^T D nu) >= 2 ``NEGLIGIBLE_EXPONENT``, so
        the test draws nothing either way and the results are the same. At d = 64 the
        trace bound let most steps near a set run the O(d^2) bridge test."""
        scale = 1.0 if system.schedule is None else float(system.diffusion_scale(t))
        if scale != self._scale[0]:
            noise_var = eps * dt if system.schedule is None else eps * scale * dt
            far = 2.0 * NEGLIGIBLE_EXPONENT * noise_var * self.top if noise_var > 0 else math.inf
            self._scale = (scale, math.sqrt(2.0 * eps * scale * dt), noise_var, far)
        return self._scale[1:]

    def drift(self, system: System, t0: float, dt: float) -> float:
        """The batched drift of every row at the time of the first busy row, which it
        returns (all busy rows share it unless the system is autonomous, where t does
        not matter)."""
        t = t0 + self.step[int(np.argmax(self.path >= 0))] * dt
        with np.errstate(all="ignore"):  # non-finite rows are flagged, not raised
            system.batched_drift(self.x, t, system.params, self.fx)
        return t


def _run_group(system, x0, eps, t0, dt, n_steps, save_every, seed, first, count, block, sets,
               bridge, saved, final, status, stop_set, when):  # fmt: skip
    """Step the paths ``first .. first + count`` through one (block, d) array, writing
    their results into the given views; returns (busy row-steps, row-steps)."""
    kinds, owners, data = sets
    b = Block(system, block)
    dist = np.empty((block, max(kinds.shape[0], 1)))
    x_old = np.empty_like(b.x)
    ok = np.empty(block, dtype=np.bool_)
    refill = bool(system.autonomous)
    seed = np.uint64(seed)
    args = (x0, t0, seed, first, save_every, kinds, owners, data, b.states, b.x, dist,
            b.normal, b.path, b.step, b.pos, b.room, saved, final, status, stop_set,
            when)  # fmt: skip
    following = _fill_rows(0, count, *args)
    busy = int(np.count_nonzero(b.path >= 0))
    used = steps = 0
    while busy:
        t = b.drift(system, t0, dt)
        amp, noise_var, far = b.noise(system, eps, t, dt)
        used, steps = used + busy, steps + block
        following, busy = _advance(
            b.x, b.fx, t0, dt, amp, noise_var, far, b.chol, b.diagonal, b.per_step, b.states,
            b.pre, b.lanes, b.z, b.pos, b.room, b.path, b.step, refill, following, count, x0, seed,
            first, n_steps, save_every, kinds, owners, data, bridge, dist, b.normal, saved,
            final, status, stop_set, when, x_old, ok,
        )  # fmt: skip
    return used, steps


# --------------------------------------------------------------------------------------
# reactive trajectories A -> B (simulate.transitions with engine="batched")


@nb.njit(**JIT)
def _touches(kinds, data, x_old, x_new, bridge, noise_var, far, chol, state, normal):
    """:func:`~simulate._stepping.contact`, skipped (-1.0, nothing drawn, as it would
    return) when both points are outside every primitive with a b >= ``far``
    (:meth:`Block.noise`): the distances cost O(d), the bridge test O(d^2)."""
    for k in range(kinds.shape[0]):
        a = signed_distance(kinds[k], data[k], x_old, normal)
        b = signed_distance(kinds[k], data[k], x_new, normal)
        if not (a > 0.0 and b > 0.0 and (not bridge or a * b >= far)):
            return contact(kinds, data, x_old, x_new, bridge, noise_var, chol, state, normal)
    return -1.0


@nb.njit(**JIT)
def _start_path(g, i, x0, seed, first_path, states, pre, x, path, step, pos, seg_open, row):
    """Start path i (of the chunk) in row g, as the per-path reactive pass starts it."""
    init_stream(states[g], seed, np.uint64(first_path + i))
    for m in range(STREAM_SIZE):
        pre[g, m] = states[g, m]
    for j in range(x.shape[1]):
        x[g, j] = x0[i if x0.shape[0] > 1 else 0, j]
    path[g] = i
    step[g] = 0
    pos[g] = WORDS_PER_REFILL  # the first step fills the normal buffer
    seg_open[g] = False
    row[i] = g


@nb.njit(**JIT)
def _reactive_advance(x, x_old, fx, t0, dt, amp, noise_var, far, chol, diagonal, per_step, states,
                      pre, lanes, z, pos, path, step, seg_open, following, last, x0, seed,
                      first_path, max_steps, a_kinds, a_data, b_kinds, b_data, bridge, normal,
                      status, n_steps, exit_step, entry_step, t_exit, t_entry, x_prev, x_start,
                      x_end, snap_state, snap_pre, snap_pos, row, ok):  # fmt: skip
    """One step of every busy row with the per-path reactive pass's tests in its order
    (:func:`simulate._transitions._reactive_pass`: non-finite, then B, then A, the exit
    from A recorded with a snapshot of the stream); a finished row takes the group's
    next path. Returns (next path to start, busy rows)."""
    _step_rows(x, x_old, fx, dt, amp, chol, diagonal, per_step, states, pre, lanes, z, pos, path,
               ok)  # fmt: skip
    for g in range(x.shape[0]):
        i = path[g]
        if i < 0:
            continue
        n = step[g] + 1
        step[g] = n
        t = t0 + (n - 1) * dt
        code = TIMED_OUT
        done = False
        if not ok[g]:
            code = NON_FINITE
            done = True
        else:
            fb = _touches(b_kinds, b_data, x_old[g], x[g], bridge, noise_var, far, chol,
                          states[g], normal)  # fmt: skip
            if fb >= 0.0:
                if seg_open[g]:
                    code = IN_B
                    done = True
                    entry_step[i] = n
                    t_entry[i] = t + fb * dt
                    x_end[i, :] = x[g]
            else:
                fa = _touches(a_kinds, a_data, x_old[g], x[g], bridge, noise_var, far, chol,
                              states[g], normal)  # fmt: skip
                if fa >= 0.0:
                    b = set_distance(a_kinds, a_data, x[g], normal)
                    if b <= 0.0:
                        seg_open[g] = False  # (still) inside A
                    else:  # the step leaves A, or its bridge touched A: a (new) exit
                        seg_open[g] = True
                        if fa == 0.0:  # the old point inside A
                            a = -set_distance(a_kinds, a_data, x_old[g], normal)
                            t_exit[i] = t + dt * a / (a + b) if a + b > 0.0 else t
                        else:
                            t_exit[i] = t + 0.5 * dt
                        exit_step[i] = n
                        x_prev[i, :] = x_old[g]
                        x_start[i, :] = x[g]
                        snap_state[i, :] = states[g]
                        snap_pre[i, :] = pre[g]
                        snap_pos[i] = pos[g]
        if done or n == max_steps:
            status[i] = code
            n_steps[i] = n
            path[g] = -1
            if following < last:
                _start_path(g, following, x0, seed, first_path, states, pre, x, path, step,
                            pos, seg_open, row)  # fmt: skip
                following += 1
    busy = 0
    for g in range(x.shape[0]):
        busy += path[g] >= 0
    return following, busy


def reactive_batched(system, x0, eps, t0, dt, max_steps, seed, n, a, b, bridge, *, n_workers,
                     n_threads, chunk_size, block_paths, progress) -> tuple[dict, int]:  # fmt: skip
    """The first pass of :func:`~simulate.transitions` in the batched engine: each path
    runs to its first reactive entry into B (or its time-out), in blocks whose rows
    take the group's next path when theirs ends (``ROW_PATHS`` * block paths a group,
    chunks whole groups). Returns the per-path arrays of the per-path pass, plus
    ``row`` (the path's row, where its replay must run), and the block's rows."""
    if not system.autonomous:
        raise ValueError(
            f"`engine='batched'`: {system.name!r} is not autonomous; a block's rows run at "
            "different times, so the batched transitions need f and D independent of t "
            "(use engine='per-path')"
        )
    if system.batched_drift is None:
        raise ValueError(f"`engine='batched'`: {system.name!r} has no `batched_drift`")
    block = block_rows(block_paths, system.dim)
    group = block * ROW_PATHS
    if chunk_size is None:  # in-process, one chunk: its threads take whole groups
        chunk_size = -(-n // (2 * n_workers)) if n_workers > 1 else n
    chunk_size = -(-check_count(chunk_size, "chunk_size") // group) * group
    starts = chunk_starts(n, chunk_size)

    def task(first):
        count = min(chunk_size, n - first)
        xs = x0 if x0.shape[0] == 1 else x0[first : first + count]
        return _reactive_chunk(system, xs, eps, t0, dt, max_steps, seed, first, count, a, b,
                               bridge, block, group, n_threads)  # fmt: skip

    bar = progress_bar(n, f"{system.name} transitions (batched)", "path", len(starts), progress)
    return join_chunks(task, starts, n_workers, bar), block


def _reactive_chunk(system, x0, eps, t0, dt, max_steps, seed, first, count, a, b, bridge, block,
                    group, n_threads):  # fmt: skip
    # the per-path pass's arrays, and the row each path ran in (its replay's row)
    out = pass1_arrays(count, system.dim) | {"row": np.zeros(count, dtype=np.int64)}

    def run(g0: int) -> None:
        rows = min(group, count - g0)
        xs = x0 if x0.shape[0] == 1 else x0[g0 : g0 + rows]
        view = {key: value[g0 : g0 + rows] for key, value in out.items()}
        bl = Block(system, block)
        amp, noise_var, far = bl.noise(system, eps, t0, dt)
        x_old = np.empty_like(bl.x)
        seg_open = np.zeros(block, dtype=np.bool_)
        ok = np.empty(block, dtype=np.bool_)
        seed_ = np.uint64(seed)
        following = 0
        for g in range(min(block, rows)):
            _start_path(g, following, xs, seed_, first + g0, bl.states, bl.pre, bl.x, bl.path,
                        bl.step, bl.pos, seg_open, view["row"])  # fmt: skip
            following += 1
        busy = following
        while busy:
            bl.drift(system, t0, dt)
            following, busy = _reactive_advance(
                bl.x, x_old, bl.fx, t0, dt, amp, noise_var, far, bl.chol, bl.diagonal, bl.per_step,
                bl.states, bl.pre, bl.lanes, bl.z, bl.pos, bl.path, bl.step, seg_open,
                following, rows, xs, seed_, first + g0, max_steps, a[0], a[2], b[0], b[2],
                bridge, bl.normal, *view.values(), ok,
            )  # fmt: skip

    threads_over(run, range(0, count, group), n_threads)
    return out


@nb.njit(**JIT)
def _load_segment(g, s, t0, dt, per_step, states, pre, lanes, z, pos, x, at, exit_step,
                  x_prev, x_start, snap_state, snap_pre, snap_pos, offsets, out_x, out_t,
                  k_out):  # fmt: skip
    """Put segment s in row g from its snapshot and store its first two points."""
    if per_step:  # every step refills: the stream state is all there is
        for m in range(STREAM_SIZE):
            states[g, m] = snap_state[s, m]
    else:
        restore(states[g], pre[g], snap_state[s], snap_pre[s], lanes, z[g])
    pos[g] = snap_pos[s]
    first = exit_step[s]
    at[g] = first
    k = offsets[s]
    out_t[k] = t0 + (first - 1) * dt
    out_x[k, :] = x_prev[s]
    out_t[k + 1] = t0 + first * dt
    out_x[k + 1, :] = x_start[s]
    x[g, :] = x_start[s]
    k_out[g] = k + 2


@nb.njit(**JIT)
def _replay_advance(x, x_old, fx, t0, dt, amp, noise_var, far, chol, diagonal, per_step, states,
                    pre, lanes, z, pos, path, at, queue, cursor, stop, a_kinds, a_data, b_kinds,
                    b_data, bridge, normal, exit_step, entry_step, x_prev, x_start, snap_state,
                    snap_pre, snap_pos, save_every, offsets, out_x, out_t, k_out, x_end,
                    ok):  # fmt: skip
    """One step of every row replaying a segment, with the first pass's random draws
    (B's test, then A's when B was missed); a row whose segment reached its entry step
    loads its next one (``path``: the row's segment, -1 when its queue is done). Returns
    the busy rows."""
    _step_rows(x, x_old, fx, dt, amp, chol, diagonal, per_step, states, pre, lanes, z, pos, path,
               ok)  # fmt: skip
    busy = 0
    for g in range(x.shape[0]):
        s = path[g]
        if s < 0:
            continue
        fb = _touches(b_kinds, b_data, x_old[g], x[g], bridge, noise_var, far, chol, states[g],
                      normal)  # fmt: skip
        if fb < 0.0:
            _touches(a_kinds, a_data, x_old[g], x[g], bridge, noise_var, far, chol, states[g],
                     normal)  # fmt: skip
        n = at[g] + 1
        at[g] = n
        last = entry_step[s]
        if (n - exit_step[s]) % save_every == 0 or n == last:
            out_t[k_out[g]] = t0 + n * dt
            out_x[k_out[g], :] = x[g]
            k_out[g] += 1
        if n == last:
            x_end[s, :] = x[g]
            cursor[g] += 1
            path[g] = -1
            if cursor[g] < stop[g]:
                path[g] = queue[cursor[g]]
                _load_segment(g, path[g], t0, dt, per_step, states, pre, lanes, z, pos, x, at,
                              exit_step, x_prev, x_start, snap_state, snap_pre, snap_pos, offsets,
                              out_x, out_t, k_out)  # fmt: skip
        busy += path[g] >= 0
    return busy


def replay_batched(system, eps, t0, dt, a, b, bridge, rows: dict, save_every: int,
                   budget: float, block: int):  # fmt: skip
    """Replay the reactive segments of :func:`reactive_batched` bit for bit: each in
    its first-pass row of a block of the same shape (so a BLAS product sums its terms as
    it did), the segments of one row one after another. Returns flat (x, t, offsets)
    and the replayed end points, as :func:`simulate._transitions._replay`."""
    d = system.dim
    out_x, out_t, offsets, x_end = segment_buffers(d, rows, save_every, budget)
    if not len(x_end):
        return out_x, out_t, offsets, x_end
    seg = {k: np.ascontiguousarray(rows[k]) for k in ("exit_step", "entry_step", "x_prev",
                                                      "x_start", "snap_state", "snap_pre",
                                                      "snap_pos")}  # fmt: skip
    queue = np.argsort(rows["row"], kind="stable")  # the segments of row 0, of row 1, ...
    bounds = np.searchsorted(rows["row"][queue], np.arange(block + 1))
    cursor, stop = bounds[:-1].copy(), bounds[1:].copy()
    bl = Block(system, block)
    amp, noise_var, far = bl.noise(system, eps, t0, dt)
    x_old = np.empty_like(bl.x)
    at = np.zeros(block, dtype=np.int64)
    k_out = np.zeros(block, dtype=np.int64)
    seg_args = (seg["exit_step"], seg["x_prev"], seg["x_start"], seg["snap_state"],
                seg["snap_pre"], seg["snap_pos"], offsets, out_x, out_t, k_out)  # fmt: skip
    ok = np.empty(block, dtype=np.bool_)
    for g in np.flatnonzero(cursor < stop):
        bl.path[g] = queue[cursor[g]]
        _load_segment(g, bl.path[g], t0, dt, bl.per_step, bl.states, bl.pre, bl.lanes,
                      bl.z, bl.pos, bl.x, at, *seg_args)  # fmt: skip
    busy = 1
    while busy:
        bl.drift(system, t0, dt)  # autonomous: t does not matter
        busy = _replay_advance(
            bl.x, x_old, bl.fx, t0, dt, amp, noise_var, far, bl.chol, bl.diagonal, bl.per_step,
            bl.states, bl.pre, bl.lanes, bl.z, bl.pos, bl.path, at, queue, cursor, stop, a[0], a[2],
            b[0], b[2], bridge, bl.normal, seg["exit_step"], seg["entry_step"], seg["x_prev"],
            seg["x_start"], seg["snap_state"], seg["snap_pre"], seg["snap_pos"], save_every,
            offsets, out_x, out_t, k_out, x_end, ok,
        )  # fmt: skip
    return out_x, out_t, offsets, x_end
