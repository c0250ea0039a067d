"""Reactive trajectories: the pieces of paths from their last exit from A to their first
entry into B.

Each of ``n`` independent paths (path i draws from the Philox stream keyed by
(seed, i), as in :func:`~simulate.ensemble`) runs from ``x0`` until its first *reactive*
entry into B, i.e. one preceded by a visit to A (entries into B before any visit to A do
not count), or until the end of ``t_span``. Memory stays bounded by the reactive parts,
in two passes:

1. the paths run storing nothing but, at every exit from A, a snapshot of the stream
   (two 7-word states and a buffer position) and the two points of the exit step;
2. the reactive segments alone are *replayed* from their snapshots, bit for bit, into
   one flat array sized exactly (checked against ``memory_budget`` first).

A visit to A is a grid point inside A or, with ``bridge=True`` (default), a Brownian
bridge crossing into A between two grid points (the engine's test); entries into B
likewise. Times are interpolated within the step: the exit from A at
``t_n + dt |a| / (|a| + b)`` (a <= 0 < b the signed distances of the two grid points to
A's boundary; the middle of the step after a bridge crossing), the entry into B as in the
engine. A segment stores the last point before the exit, the points outside A and the
first point inside (or just after crossing into) B; its duration is t_entry - t_exit.
"""

from __future__ import annotations

import functools
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import numba as nb
import numpy as np
import pandas as pd
from numba import prange, types

from ._driver import (
    DEFAULT_FIRST_PASSAGE_SPAN,
    DEFAULT_MEMORY_BUDGET,
    check_count,
    check_eps,
    check_memory,
    check_seed,
    check_system,
    chunk_starts,
    dispatch,
    first_passage_span,
    kernel_prefix,
    numba_threads,
    progress_bar,
    save_stride,
    worker_layout,
)
from ._numba_types import JIT, KERNEL_PREFIX
from ._random import STREAM_SIZE, WORDS_PER_REFILL, init_stream
from ._sets import StopSet, encode_sets, resolve_set, signed_distance
from ._sets import check_disjoint as disjoint
from ._status import IN_B, NON_FINITE, TIMED_OUT, Status
from ._stepping import contact, em_step, restore
from ._system import System, as_points

# --------------------------------------------------------------------------------------
# results


@dataclass(frozen=True, repr=False)
class TransitionResult:
    """A (weighted) ensemble of reactive trajectories, from :func:`transitions` or
    :func:`~simulate.ams`.

    Segment ``s`` is ``x[offsets[s]:offsets[s+1]]`` at times ``t[offsets[s]:offsets[s+1]]``
    (grid times), running from the last point before its exit from A to its first point
    in B; its exit and entry times are interpolated within the step.

    Attributes
    ----------
    x, t, offsets
        The segments, flat: points (N, d), times (N,), boundaries (n_segments + 1,).
    t_exit, t_entry, duration
        Per segment; duration = t_entry - t_exit.
    weights
        Per segment, for averages ``sum(w phi) / sum(w)``: all ones for
        :func:`transitions`; for :func:`~simulate.ams`, the splitting weights, which also
        sum to the probability estimate.
    source
        Per segment, the index of the path (transitions) or run (ams) it came from.
    attempts, successes
        Paths (or replicas ever simulated) and reactive segments among them.
    path_steps, sim_time, wall_time
        Euler–Maruyama steps taken in all, the simulated time they cover, seconds spent.
    n_nonfinite, n_timeout
        Paths (AMS: replicas) stopped for a non-finite state, and paths that were still
        undecided at the end of ``t_span``.
    status, success, message
        Overall: ``NON_FINITE`` if some path turned non-finite, else ``TIMED_OUT`` if
        some path timed out (the segments then under-represent slow transitions), else
        ``OK``; only ``OK`` is a success. For :func:`~simulate.ams` the ensemble's own
        flags; the estimate's are on the :class:`~simulate.AMSResult`.
    """

    method: str
    system: str
    eps: float
    dt: float
    seed: int
    x: np.ndarray
    t: np.ndarray
    offsets: np.ndarray
    t_exit: np.ndarray
    t_entry: np.ndarray
    weights: np.ndarray
    source: np.ndarray
    attempts: int
    successes: int
    path_steps: int
    sim_time: float
    wall_time: float
    n_nonfinite: int = 0
    n_timeout: int = 0
    bridge: bool = True
    meta: dict = field(default_factory=dict)

    @property
    def n_segments(self) -> int:
        return int(self.offsets.size - 1)

    @property
    def duration(self) -> np.ndarray:
        return self.t_entry - self.t_exit

    @property
    def status(self) -> Status:
        if self.n_nonfinite:
            return Status.NON_FINITE
        return Status.TIMED_OUT if self.n_timeout else Status.OK

    @property
    def success(self) -> bool:
        return self.status == Status.OK

    @property
    def message(self) -> str:
        return (
            f"{self.status.message}: {self.successes} reactive segments from "
            f"{self.attempts} {'replicas' if self.method == 'ams' else 'paths'}, "
            f"{self.n_timeout} timed out, {self.n_nonfinite} non-finite"
        )

    def segment(self, s: int) -> tuple[np.ndarray, np.ndarray]:
        """(times, points) of segment ``s``."""
        if not 0 <= s < self.n_segments:
            raise ValueError(f"`s` must be in [0, {self.n_segments}), got {s}")
        sl = slice(self.offsets[s], self.offsets[s + 1])
        return self.t[sl], self.x[sl]

    def mean_duration(self) -> tuple[float, float]:
        """Weighted mean reactive duration and its standard error.

        Equal weights: the sample mean and s / sqrt(n). Unequal weights (AMS): the ratio
        estimator with the standard error from the spread across ``source`` groups
        (independent runs), sqrt(sum_g W_g^2 (m_g - m)^2 / (G (G - 1) Wbar^2)).
        """
        d = self.duration
        w = self.weights
        if d.size == 0:
            return math.nan, math.nan
        m = float(np.sum(w * d) / np.sum(w))
        if np.all(w == w[0]):
            se = float(np.std(d, ddof=1) / math.sqrt(d.size)) if d.size > 1 else math.nan
            return m, se
        groups = np.unique(self.source)
        W = np.array([w[self.source == g].sum() for g in groups])
        S = np.array([(w * d)[self.source == g].sum() for g in groups])
        G = groups.size
        if G < 2:
            return m, math.nan
        resid = S - m * W
        se = math.sqrt(np.sum(resid**2) / (G * (G - 1))) / W.mean()
        return m, float(se)

    def to_frame(self, kind: str = "summary") -> pd.DataFrame:
        """``"summary"`` (default, as for every sampler's result): one row of counters,
        the mean duration and the status; ``"segments"``: one row per segment (source,
        exit and entry times, duration, weight); ``"points"``: one row per stored point
        (segment, t, x0..x{d-1}, weight)."""
        if kind == "segments":
            return pd.DataFrame(
                {
                    "segment": np.arange(self.n_segments),
                    "source": self.source,
                    "t_exit": self.t_exit,
                    "t_entry": self.t_entry,
                    "duration": self.duration,
                    "weight": self.weights,
                    "n_points": np.diff(self.offsets),
                }
            )
        if kind == "points":
            seg = np.repeat(np.arange(self.n_segments), np.diff(self.offsets))
            return pd.DataFrame(
                {"segment": seg, "t": self.t}
                | {f"x{j}": self.x[:, j] for j in range(self.x.shape[1])}
                | {"weight": self.weights[seg]}
            )
        if kind == "summary":
            m, se = self.mean_duration()
            return pd.DataFrame(
                {
                    "method": [self.method],
                    "system": [self.system],
                    "eps": [self.eps],
                    "dt": [self.dt],
                    "attempts": [self.attempts],
                    "successes": [self.successes],
                    "mean_duration": [m],
                    "mean_duration_se": [se],
                    "path_steps": [self.path_steps],
                    "sim_time": [self.sim_time],
                    "wall_time": [self.wall_time],
                    "n_nonfinite": [self.n_nonfinite],
                    "n_timeout": [self.n_timeout],
                    "status": [self.status.name],
                    "success": [self.success],
                    "message": [self.message],
                }
            )
        raise ValueError(f"`kind` must be 'summary', 'segments' or 'points', got {kind!r}")

    def __repr__(self) -> str:
        m, se = self.mean_duration()
        return (
            f"TransitionResult({self.method!r}, {self.system!r}, {self.n_segments} segments "
            f"from {self.attempts} attempts, {self.x.shape[0]} points, eps = {self.eps:g}, "
            f"dt = {self.dt:g},\n  mean duration = {m:.4g} ± {se:.2g}, "
            f"status {self.status.name})"
        )


# --------------------------------------------------------------------------------------
# kernels


@nb.njit(inline="always", **JIT)
def set_distance(kinds, data, x, normal):
    """Signed distance to a union of primitives: the smallest of theirs."""
    best = math.inf
    for k in range(kinds.shape[0]):
        best = min(best, signed_distance(kinds[k], data[k], x, normal))
    return best


_f8v = types.float64[::1]
_f8m = types.float64[:, ::1]
_i8v = types.int64[::1]
_u8m = types.uint64[:, ::1]

_PASS1_SIGNATURE = types.void(
    *KERNEL_PREFIX,  # drift, schedule, has_schedule, params, chol, eps, t0, dt
    _f8m,  # x0 (1 or n rows)
    types.int64,  # max_steps
    types.uint64,  # seed
    types.int64,  # first_path
    _i8v,  # A kinds
    _f8m,  # A data
    _i8v,  # B kinds
    _f8m,  # B data
    types.boolean,  # bridge
    _i8v,  # status
    _i8v,  # n_steps
    _i8v,  # exit_step
    _i8v,  # entry_step
    _f8v,  # t_exit
    _f8v,  # t_entry
    _f8m,  # x_prev (point before the exit)
    _f8m,  # x_start (first point after the exit)
    _f8m,  # x_end (first point in B)
    _u8m,  # snapshot: state after the exit step
    _u8m,  # snapshot: state before the latest refill
    _i8v,  # snapshot: buffer position
)


@nb.njit(_PASS1_SIGNATURE, parallel=True, **JIT)
def _reactive_pass(
    drift,
    schedule,
    has_schedule,
    params,
    chol,
    eps,
    t0,
    dt,
    x0,
    max_steps,
    seed,
    first_path,
    a_kinds,
    a_data,
    b_kinds,
    b_data,
    bridge,
    status,
    n_steps,
    exit_step,
    entry_step,
    t_exit,
    t_entry,
    x_prev,
    x_start,
    x_end,
    snap_state,
    snap_pre,
    snap_pos,
):
    n_paths = status.shape[0]
    d = chol.shape[0]
    for i in prange(n_paths):
        i = np.int64(i)  # prange may hand out unsigned indices
        state = np.empty(STREAM_SIZE, dtype=np.uint64)
        pre = np.empty(STREAM_SIZE, dtype=np.uint64)
        lanes = np.empty(2 * WORDS_PER_REFILL, dtype=np.uint64)
        z = np.empty(WORDS_PER_REFILL)
        init_stream(state, seed, np.uint64(first_path + i))
        for j in range(STREAM_SIZE):
            pre[j] = state[j]
        x = x0[i if x0.shape[0] > 1 else 0].copy()
        x_new = np.empty(d)
        fx = np.empty(d)
        normal = np.empty(d)
        pos = WORDS_PER_REFILL
        seg_open = False  # an exit from A with no visit to A since
        code = TIMED_OUT
        n = 0
        while n < max_steps:
            t = t0 + n * dt
            pos, scale = em_step(
                drift, schedule, has_schedule, params, chol, eps, dt, x, t, fx, x_new, state,
                pre, lanes, z, pos,
            )  # fmt: skip
            n += 1
            total = 0.0
            for j in range(d):
                total += x_new[j]
            if not math.isfinite(total):
                code = NON_FINITE
                break
            noise_var = eps * scale * dt
            fb = contact(b_kinds, b_data, x, x_new, bridge, noise_var, chol, state, normal)
            if fb >= 0.0:
                if seg_open:
                    code = IN_B
                    entry_step[i] = n
                    t_entry[i] = t + fb * dt
                    for j in range(d):
                        x_end[i, j] = x_new[j]
                    break
            else:
                fa = contact(a_kinds, a_data, x, x_new, bridge, noise_var, chol, state, normal)
                if fa >= 0.0:
                    b = set_distance(a_kinds, a_data, x_new, normal)
                    if b <= 0.0:
                        seg_open = False  # (still) inside A
                    else:  # the step leaves A, or its bridge touched A: a (new) exit
                        seg_open = True
                        if fa == 0.0:  # x inside A
                            a = -set_distance(a_kinds, a_data, x, normal)
                            t_exit[i] = t + dt * a / (a + b) if a + b > 0.0 else t
                        else:
                            t_exit[i] = t + 0.5 * dt
                        exit_step[i] = n
                        for j in range(d):
                            x_prev[i, j] = x[j]
                            x_start[i, j] = x_new[j]
                        for j in range(STREAM_SIZE):
                            snap_state[i, j] = state[j]
                            snap_pre[i, j] = pre[j]
                        snap_pos[i] = pos
            for j in range(d):
                x[j] = x_new[j]
        status[i] = code
        n_steps[i] = n


_REPLAY_SIGNATURE = types.void(
    *KERNEL_PREFIX,  # drift, schedule, has_schedule, params, chol, eps, t0, dt
    _i8v,  # A kinds
    _f8m,  # A data
    _i8v,  # B kinds
    _f8m,  # B data
    types.boolean,  # bridge
    _i8v,  # exit_step (per segment)
    _i8v,  # entry_step
    _f8m,  # x_prev
    _f8m,  # x_start
    _u8m,  # snap_state
    _u8m,  # snap_pre
    _i8v,  # snap_pos
    types.int64,  # save_every
    _i8v,  # offsets
    _f8m,  # out x
    _f8v,  # out t
    _f8m,  # replayed end point
)


@nb.njit(_REPLAY_SIGNATURE, parallel=True, **JIT)
def _replay_segments(
    drift,
    schedule,
    has_schedule,
    params,
    chol,
    eps,
    t0,
    dt,
    a_kinds,
    a_data,
    b_kinds,
    b_data,
    bridge,
    exit_step,
    entry_step,
    x_prev,
    x_start,
    snap_state,
    snap_pre,
    snap_pos,
    save_every,
    offsets,
    out_x,
    out_t,
    x_end,
):
    n_seg = exit_step.shape[0]
    d = chol.shape[0]
    for s in prange(n_seg):
        s = np.int64(s)
        state = np.empty(STREAM_SIZE, dtype=np.uint64)
        pre = np.empty(STREAM_SIZE, dtype=np.uint64)
        lanes = np.empty(2 * WORDS_PER_REFILL, dtype=np.uint64)
        z = np.empty(WORDS_PER_REFILL)
        restore(state, pre, snap_state[s], snap_pre[s], lanes, z)
        pos = snap_pos[s]
        x = x_start[s].copy()
        x_new = np.empty(d)
        fx = np.empty(d)
        normal = np.empty(d)
        k = offsets[s]
        first = exit_step[s]
        last = entry_step[s]
        out_t[k] = t0 + (first - 1) * dt
        for j in range(d):
            out_x[k, j] = x_prev[s, j]
        k += 1
        out_t[k] = t0 + first * dt
        for j in range(d):
            out_x[k, j] = x[j]
        k += 1
        for n in range(first, last):
            t = t0 + n * dt
            pos, scale = em_step(
                drift, schedule, has_schedule, params, chol, eps, dt, x, t, fx, x_new, state,
                pre, lanes, z, pos,
            )  # fmt: skip
            noise_var = eps * scale * dt
            # The same random draws as the first pass: B's test, then A's when B was missed.
            fb = contact(b_kinds, b_data, x, x_new, bridge, noise_var, chol, state, normal)
            if fb < 0.0:
                contact(a_kinds, a_data, x, x_new, bridge, noise_var, chol, state, normal)
            for j in range(d):
                x[j] = x_new[j]
            m = n + 1 - first
            if m % save_every == 0 or n + 1 == last:
                out_t[k] = t0 + (n + 1) * dt
                for j in range(d):
                    out_x[k, j] = x[j]
                k += 1
        for j in range(d):
            x_end[s, j] = x[j]


def segment_sizes(exit_step: np.ndarray, entry_step: np.ndarray, save_every: int) -> np.ndarray:
    """Points stored per segment: the point before the exit, the exit point, every
    ``save_every``-th point after it and the entry point."""
    m = entry_step - exit_step
    return 2 + m // save_every + (m % save_every != 0)


def join_chunks(task, starts, n_workers: int, bar) -> dict:
    """The pass-1 arrays of every chunk (``task(first)`` returns a dict of arrays, one
    row per path), joined key by key in chunk order; paths counted on ``bar``."""
    parts = []
    for _, piece in dispatch(task, starts, n_workers):
        parts.append(piece)
        bar.update(piece["status"].size)
    bar.close()
    return {key: np.concatenate([p[key] for p in parts]) for key in parts[0]}


def segment_buffers(d: int, rows: dict, save_every: int, budget: float):
    """The flat stores of the reactive segments described by ``rows`` (pass-1 arrays):
    points (n, d), times (n,), offsets (segments + 1,) and end points (segments, d),
    after checking their size against ``budget`` (bytes)."""
    sizes = segment_sizes(rows["exit_step"], rows["entry_step"], save_every)
    offsets = np.zeros(sizes.size + 1, dtype=np.int64)
    np.cumsum(sizes, out=offsets[1:])
    check_memory(
        int(offsets[-1]) * (d + 1) * 8,
        budget,
        "the reactive segments",
        "store fewer points (save='final' or a larger k) or ask for fewer paths",
    )
    points = int(offsets[-1])
    return np.empty((points, d)), np.empty(points), offsets, np.empty((sizes.size, d))


# --------------------------------------------------------------------------------------
# input checks shared with ams


def check_disjoint(A: StopSet, B: StopSet, x0: np.ndarray) -> None:
    """Refuse A and B that overlap (see :func:`simulate._sets.check_disjoint`), or an x0
    that lies in both."""
    disjoint([A, B], ["A", "B"], what="A, B")
    for point in np.atleast_2d(x0):
        if A.contains(point) and B.contains(point):
            raise ValueError(f"`x0` {point.tolist()} lies in both A and B, which overlap")


# --------------------------------------------------------------------------------------
# driver


def pass1_arrays(count: int, d: int) -> dict:
    """The first pass's per-path results, in the order its kernels take them (the
    batched engine's, :func:`simulate._batched.reactive_batched`, too)."""
    return {
        "status": np.empty(count, dtype=np.int64),
        "n_steps": np.empty(count, dtype=np.int64),
        "exit_step": np.zeros(count, dtype=np.int64),
        "entry_step": np.zeros(count, dtype=np.int64),
        "t_exit": np.full(count, np.nan),
        "t_entry": np.full(count, np.nan),
        "x_prev": np.zeros((count, d)),
        "x_start": np.zeros((count, d)),
        "x_end": np.zeros((count, d)),
        "snap_state": np.zeros((count, STREAM_SIZE), dtype=np.uint64),
        "snap_pre": np.zeros((count, STREAM_SIZE), dtype=np.uint64),
        "snap_pos": np.zeros(count, dtype=np.int64),
    }


def _pass1_chunk(system, x0, eps, t0, dt, max_steps, seed, first, count, a, b, bridge, nt):
    out = pass1_arrays(count, system.dim)
    with numba_threads(nt):
        _reactive_pass(
            *kernel_prefix(system, eps, t0, dt),
            x0,
            max_steps,
            np.uint64(seed),
            first,
            a[0],
            a[2],
            b[0],
            b[2],
            bridge,
            *out.values(),
        )
    return out


def _replay(system, eps, t0, dt, a, b, bridge, rows: dict, save_every: int, budget: float):
    """Replay the reactive segments described by ``rows`` (pass-1 arrays, one row per
    segment) into flat (x, t, offsets); also returns the replayed end points."""
    out_x, out_t, offsets, x_end = segment_buffers(system.dim, rows, save_every, budget)
    if len(x_end):
        _replay_segments(
            *kernel_prefix(system, eps, t0, dt),
            a[0],
            a[2],
            b[0],
            b[2],
            bridge,
            np.ascontiguousarray(rows["exit_step"]),
            np.ascontiguousarray(rows["entry_step"]),
            np.ascontiguousarray(rows["x_prev"]),
            np.ascontiguousarray(rows["x_start"]),
            np.ascontiguousarray(rows["snap_state"]),
            np.ascontiguousarray(rows["snap_pre"]),
            np.ascontiguousarray(rows["snap_pos"]),
            save_every,
            offsets,
            out_x,
            out_t,
            x_end,
        )
    return out_x, out_t, offsets, x_end


def transitions(
    system: System,
    A: StopSet | str,
    B: StopSet | str,
    eps: float,
    *,
    x0: Sequence[float] | np.ndarray | str,
    t_span: tuple[float, float] | float = DEFAULT_FIRST_PASSAGE_SPAN,
    n_paths: int = 1000,
    dt: float = 1e-3,
    seed: int = 0,
    bridge: bool = True,
    save: str | int = "all",
    n_jobs: int = 1,
    n_threads: int | None = None,
    chunk_size: int | None = None,
    memory_budget: float = DEFAULT_MEMORY_BUDGET,
    progress: bool | None = None,
    engine: str = "auto",
    block_paths: int | None = None,
) -> TransitionResult:
    """Reactive trajectories A -> B of dX = f dt + sqrt(2 eps D(t)) dW, one per path.

    The calling convention (shared by every sampler) is in ``docs/sampling.md``.

    Parameters
    ----------
    system
        The system.
    A, B
        Disjoint sets (:class:`StopSet` or names of the system's sets).
    eps
        Noise level (> 0).
    x0
        Start of every path (one point, or a state's name), or one per path
        (n_paths, d); not in B. Starting in (or at the boundary of) A avoids waiting for
        a first visit to A.
    t_span
        (t0, t_end), or t_end for (0, t_end): a path with no reactive transition by
        ``t_end`` stops (``n_timeout``). Unlike :func:`~simulate.ensemble`, ``dt`` is
        kept as given (the span is a time-out, not a horizon to fit): paths stop after
        ``ceil((t_end - t0) / dt)`` steps.
    n_paths
        Number of independent paths; each yields at most one reactive segment (its
        first), so ``successes <= n_paths``.
    dt
        Time step.
    seed
        Path i draws from the stream (seed, i): bit-identical for any ``n_jobs``,
        ``n_threads``, ``chunk_size``; its steps are those of :func:`~simulate.ensemble`
        path i under the same seed.
    bridge
        Count Brownian-bridge crossings between grid points as visits to A and entries
        into B (default True; removes the O(sqrt(dt)) bias of grid monitoring).
    save
        ``"all"`` (every point of each segment), an integer k (every k-th point) or
        ``"final"`` (none in between): the point before the exit, the exit point and the
        entry point are always kept.
    n_jobs, n_threads, chunk_size
        joblib workers (a positive integer), numba threads per worker, paths per
        kernel call (default: two chunks per worker).
    memory_budget
        Bytes the stored segments may take; a larger request is refused, naming the size.
    progress
        tqdm progress bar over chunks (default: shown for several chunks when the run
        lasts more than 2 s).
    engine
        ``"per-path"`` (numba kernels, one path at a time), ``"batched"`` (the system's
        ``batched_drift`` on blocks of paths, as :func:`~simulate.ensemble_batched`;
        autonomous systems only; chunks are whole groups of ``8 * block_paths`` paths)
        or ``"auto"`` (default): batched for an autonomous system with a
        ``batched_drift``. The two agree path by path to round-off (bit for bit when the
        batched drift does the per-path drift's operations in its order).
    block_paths
        Rows of a block of the batched engine (default
        :func:`simulate._batched.default_block_paths` of d).

    Examples
    --------
    >>> from simulate import zoo
    >>> dw = zoo.double_well()
    >>> res = transitions(dw, "A", "B", 0.2, x0=[-0.9], n_paths=20, dt=1e-2, seed=1)
    >>> res.successes
    20
    """
    start = time.perf_counter()
    check_system(system)
    eps = check_eps(eps)
    seed = check_seed(seed)
    n = check_count(n_paths, "n_paths")
    # "final": a stride longer than any segment keeps only its first two and last points
    save_every = save_stride(save) or np.iinfo(np.int64).max
    A = resolve_set(system, A, "A")
    B = resolve_set(system, B, "B")
    d = system.dim
    x0 = system.point(x0) if isinstance(x0, str) else as_points(x0, d, "x0")
    x0 = np.ascontiguousarray(np.atleast_2d(x0))
    if x0.shape[0] not in (1, n):
        raise ValueError(f"`x0` has {x0.shape[0]} rows; give 1 or n_paths = {n}")
    check_disjoint(A, B, x0)
    if np.any(B.contains(x0)):
        raise ValueError(f"`x0` must lie outside `B`, got {x0.tolist()}")
    t0, t_end, max_steps = first_passage_span(t_span, dt)
    dt = float(dt)
    n_workers, n_threads = worker_layout(n_jobs, n_threads)
    if engine not in ("auto", "per-path", "batched"):
        raise ValueError(f"`engine` must be 'auto', 'per-path' or 'batched', got {engine!r}")
    if engine == "auto":
        batched = system.batched_drift is not None and system.autonomous
        engine = "batched" if batched else "per-path"
    if engine == "per-path" and block_paths is not None:
        raise ValueError("`block_paths` is for engine='batched'")
    a_enc = encode_sets([A], d)
    b_enc = encode_sets([B], d)
    if engine == "batched":
        from ._batched import reactive_batched, replay_batched  # it imports this module

        rows, block = reactive_batched(
            system, x0, eps, t0, dt, max_steps, seed, n, a_enc, b_enc, bool(bridge),
            n_workers=n_workers, n_threads=n_threads, chunk_size=chunk_size,
            block_paths=block_paths, progress=progress,
        )  # fmt: skip
        replay = functools.partial(replay_batched, block=block)
    else:
        rows, replay = _per_path_pass(
            system, x0, eps, t0, dt, max_steps, seed, n, a_enc, b_enc, bool(bridge), n_workers,
            n_threads, chunk_size, progress,
        )  # fmt: skip
    ok = np.flatnonzero(rows["status"] == IN_B)
    sel = {key: value[ok] for key, value in rows.items()}
    with numba_threads(n_threads if n_workers == 1 else None):
        out_x, out_t, offsets, x_end = replay(
            system, eps, t0, dt, a_enc, b_enc, bool(bridge), sel, save_every, memory_budget
        )
    if not np.array_equal(x_end, sel["x_end"]):  # cannot happen unless the kernels diverge
        raise RuntimeError("replayed reactive segments differ from the first pass")
    steps = int(rows["n_steps"].sum())
    return TransitionResult(
        method="transitions",
        system=system.name,
        eps=eps,
        dt=dt,
        seed=seed,
        x=out_x,
        t=out_t,
        offsets=offsets,
        t_exit=sel["t_exit"],
        t_entry=sel["t_entry"],
        weights=np.ones(ok.size),
        source=ok.astype(np.int64),
        attempts=n,
        successes=int(ok.size),
        path_steps=steps,
        sim_time=steps * dt,
        wall_time=time.perf_counter() - start,
        n_nonfinite=int(np.count_nonzero(rows["status"] == NON_FINITE)),
        n_timeout=int(np.count_nonzero(rows["status"] == TIMED_OUT)),
        bridge=bool(bridge),
        meta={"t_span": (t0, t_end), "save": save, "engine": engine},
    )


def _per_path_pass(system, x0, eps, t0, dt, max_steps, seed, n, a_enc, b_enc, bridge, n_workers,
                   n_threads, chunk_size, progress):  # fmt: skip
    """The first pass in the per-path kernels; returns its arrays and the replay."""
    if chunk_size is None:
        chunk_size = max(1, -(-n // (2 * n_workers)))
    starts = chunk_starts(n, chunk_size)
    chunk_size = int(chunk_size)

    def task(first):
        count = min(chunk_size, n - first)
        xs = x0 if x0.shape[0] == 1 else x0[first : first + count]
        return _pass1_chunk(
            system, xs, eps, t0, dt, max_steps, seed, first, count, a_enc, b_enc, bridge,
            n_threads,
        )  # fmt: skip

    bar = progress_bar(n, f"{system.name} transitions", "path", len(starts), progress)
    return join_chunks(task, starts, n_workers, bar), _replay
