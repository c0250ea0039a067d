"""Adaptive multilevel splitting (AMS) for P(reach B before A), with unbiased ties.

Cérou & Guyader (2007), in the generalised form of Bréhier, Gazeau, Goudenège, Lelièvre
& Rousset (2016, Ann. Appl. Probab. 26, 3559), which stays unbiased for discrete-time
dynamics where levels tie. One run with ``n`` replicas and reaction coordinate xi:

1. ``n`` Euler–Maruyama paths from x0 run until they enter A or B (or reach the end of
   ``t_span``);
   the level of a path is the largest xi along it, +inf once it has entered B.
2. Iteration j: Z_j = the k-th smallest level. If Z_j = +inf (fewer than k replicas
   outside B), stop. Otherwise kill *every* replica of level <= Z_j (ties included), K_j
   of them; if K_j = n, stop with estimate 0. Each killed replica is replaced by a copy
   of a survivor drawn uniformly, up to the first time its xi exceeds Z_j, continued with
   fresh noise until A or B.
3. The estimate is p_hat = (n_B / n) prod_j (1 - K_j / n), n_B the replicas in B at the
   end; E[p_hat] = P(reach B before A) for the discretised dynamics, exactly.

Independent runs (joblib over chunks of runs, numba threads over the runs of a chunk)
give the mean estimate and its standard error s / sqrt(n_runs).

Random streams (documented, injective): the m-th replica simulated in run r (m = 0..n-1
for the initial ones, then n, n+1, ... for each continuation) draws its Brownian
increments from the Philox stream with index ``r * 2**32 + m`` under the seed; the
survivor choices of run r come from the auxiliary words of stream ``r * 2**32 +
2**32 - 1``. Everything depends on (seed, r) only: bit-identical for any ``n_jobs``,
``n_threads`` or ``chunk_size``.

The final ensemble is the replicas in B at the end, each a path from x0 to its first
point in B, with weight prod_j (1 - K_j / n) / (n n_runs) (the weights sum to p_hat): a
:class:`~simulate.TransitionResult` like those of :func:`~simulate.transitions`.
"""

from __future__ import annotations

import math
import time
import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numba as nb
import numpy as np
import pandas as pd
from numba import prange, types
from numba.core.errors import NumbaExperimentalFeatureWarning

from ._driver import (
    DEFAULT_FIRST_PASSAGE_SPAN,
    DEFAULT_MEMORY_BUDGET,
    check_count,
    check_eps,
    check_memory,
    check_seed,
    check_system,
    dispatch,
    first_passage_span,
    kernel_prefix,
    numba_threads,
    progress_bar,
    worker_layout,
)
from ._numba_types import JIT, KERNEL_PREFIX
from ._random import STREAM_SIZE, WORDS_PER_REFILL, aux_uniform, init_stream
from ._reaction_coordinates import (
    ReactionCoordinate,
    ReactionCoordinateType,
    distance_to,
)
from ._reaction_coordinates import reaction_coordinate as as_reaction_coordinate
from ._sets import SHELL, StopSet, encode_sets, resolve_set
from ._status import EXTINCT, IN_A, IN_B, MAX_ITER, NON_FINITE, OK, TIMED_OUT, Status
from ._stepping import (
    bridge_far,
    clearance,
    contact_cached,
    em_step_amp,
    set_extent,
    signed_distances,
)
from ._system import System
from ._transitions import TransitionResult, check_disjoint


class AMSRunWarning(UserWarning):
    """Some AMS runs gave no estimate (stopped at ``max_iter``) and were left out of the
    probability and its standard error, or some replicas turned non-finite."""


# per-run statistics
(S_LOGW, S_NB, S_ITER, S_STEPS, S_STATUS, S_NONFINITE, S_TIMEOUT, S_CREATED, S_NEED, S_KILLED) = (
    range(10)
)
N_STATS = 10
_SELECTION_STREAM = np.uint64(2**32 - 1)


#: Runs per numba thread in one kernel call (by default, as memory allows).
_RUNS_PER_THREAD = 4

#: :func:`_advance` returned: replica j's store is full (no step taken).
_FULL = -1


_f8v = types.float64[::1]
_f8m = types.float64[:, ::1]
_i8v = types.int64[::1]
_AMS_SIGNATURE = types.void(
    *KERNEL_PREFIX,  # drift, schedule, has_schedule, params, chol, eps, t0, dt
    _f8v,  # x0
    types.int64,  # max_steps
    types.uint64,  # seed
    _i8v,  # run indices
    _i8v,  # A kinds
    _f8m,  # A data
    _i8v,  # B kinds
    _f8m,  # B data
    types.boolean,  # bridge
    ReactionCoordinateType,
    _f8v,  # xi params
    types.boolean,  # xi is minus the distance to B (read off B's distances)
    types.int64,  # n replicas
    types.int64,  # k
    types.int64,  # max_iter
    types.float64[:, :, ::1],  # out x (runs, capacity, d)
    types.int64[:, ::1],  # out lengths (runs, n)
    _f8m,  # out entry times (runs, n)
    _f8m,  # stats (runs, N_STATS)
    types.int64,  # threads
)


@nb.njit(_nrt=False, **JIT)
def _advance(
    drift, schedule, has_schedule, params, chol, eps, t0, dt, max_steps, a_kinds, a_data,
    b_kinds, b_data, bridge, xi, xi_params, xi_from_b, X, Z, j, m, lev, pos, walk, x, x_new, fx,
    normal, dist_a, dist_b,
):  # fmt: skip
    """Step replica j on from its point m (held in ``x``) until A, B, the end of t_span, a
    non-finite state or the end of its store (``_FULL``, before stepping on).

    ``dist_a``, ``dist_b`` (scratch) hold the signed distances of ``x`` to the primitives
    of A and B, computed on entry and kept up to date (:func:`contact_cached`). With
    ``xi_from_b`` the reaction coordinate is minus the distance to B, read off ``dist_b``
    (the same floating-point operations as
    :func:`~simulate._reaction_coordinates.distance_to`'s, so the same bits) instead of
    being evaluated again. A's test is skipped while the replica is far from A
    (:func:`~simulate._stepping.clearance`, as in the engine), which leaves the results
    unchanged bit for bit; B's is not, as its distance gives the level.

    Returns (fate, m, level, buffer position, steps, time of entry into B or NaN).
    Compiled without reference counting (``_nrt=False``): array views and ``.ctypes``
    in the inlined step and set test otherwise cost an atomic increment and decrement
    each, eight times the arithmetic of a step; nothing here allocates.
    """
    d = x.shape[0]
    state, pre, lanes, z = walk
    signed_distances(a_kinds, a_data, x, normal, dist_a)
    signed_distances(b_kinds, b_data, x, normal, dist_b)
    extent = max(set_extent(a_data), set_extent(b_data))
    room = -math.inf  # the first step takes A's exact test
    room_b = -math.inf  # and B's, with the reaction coordinate
    steps = 0
    noise_var = eps * dt
    far = bridge_far(chol, noise_var)
    stop = min(max_steps, X.shape[1] - 1)  # the time-out, or the last point the store holds
    # em_step's amplitude sqrt(2 eps d(t) dt), computed once without a schedule (d = 1:
    # the same bits, as 2 eps 1 = 2 eps exactly)
    amp = math.sqrt(2.0 * eps * dt)
    while m < stop:
        t = t0 + m * dt
        if has_schedule:
            scale = schedule(t, params)
            amp = math.sqrt(2.0 * eps * scale * dt)
            noise_var = eps * scale * dt
            far = bridge_far(chol, noise_var)
        pos = em_step_amp(
            drift, params, chol, dt, amp, x, t, fx, x_new, state, pre, lanes, z, pos
        )  # fmt: skip
        steps += 1
        total = 0.0
        for i in range(d):
            total += x_new[i]
        if not math.isfinite(total):
            return NON_FINITE, m, lev, pos, steps, math.nan
        m += 1
        for i in range(d):
            X[j, m, i] = x_new[i]
        moved = 0.0  # L1, since the last step
        for i in range(d):
            moved += abs(x_new[i] - x[i])
        # B's exact test and the level, skipped (with xi minus the distance to B) while
        # the replica has moved less than ``room_b`` since the last: the test could
        # neither touch B nor draw (clearance), and xi stays at or below the level
        # (it is 1-Lipschitz), so the level stored is the same
        was = room_b
        room_b = was - moved
        if not room_b > 0.0:
            if was > 0.0:  # steps were skipped: x's cached distances are stale
                signed_distances(b_kinds, b_data, x, normal, dist_b)
            fb, _ = contact_cached(
                b_kinds, b_data, dist_b, x_new, bridge, noise_var, far, chol, state, normal
            )  # fmt: skip
            if fb >= 0.0:
                Z[j, m] = math.inf
                return IN_B, m, math.inf, pos, steps, t + fb * dt
            if xi_from_b:
                best = math.inf
                for k in range(dist_b.shape[0]):
                    best = min(best, dist_b[k])
                zi = -best
                if not has_schedule:  # with a schedule, far changes: no skipping
                    # xi(y) <= -best + |y - x_new| + round-off <= lev while the
                    # replica has moved less than best + lev (less the margin)
                    room_b = min(
                        clearance(dist_b, far, bridge, x_new, extent),
                        clearance(dist_b, far, False, x_new, extent) + lev,
                    )  # fmt: skip
            else:
                zi = xi(x_new, xi_params)
                if not math.isfinite(zi):  # max() would skip a NaN: the level would lie
                    Z[j, m] = lev
                    return NON_FINITE, m, lev, pos, steps, math.nan
            lev = max(lev, zi)
        Z[j, m] = lev
        # A's exact test, skipped in the same way (clearance)
        was = room
        room = was - moved
        if not room > 0.0:
            if was > 0.0:  # steps were skipped: x's cached distances are stale
                signed_distances(a_kinds, a_data, x, normal, dist_a)
            fa, _ = contact_cached(
                a_kinds, a_data, dist_a, x_new, bridge, noise_var, far, chol, state, normal
            )  # fmt: skip
            if fa >= 0.0:
                return IN_A, m, lev, pos, steps, math.nan
            if not has_schedule:  # with a schedule, far changes: no skipping
                room = clearance(dist_a, far, bridge, x_new, extent)
        for i in range(d):
            x[i] = x_new[i]
    return (TIMED_OUT if m >= max_steps else _FULL), m, lev, pos, steps, math.nan


@nb.njit(**JIT)
def _extend(
    drift, schedule, has_schedule, params, chol, eps, t0, dt, max_steps, seed, stream,
    a_kinds, a_data, b_kinds, b_data, bridge, xi, xi_params, xi_from_b, X, Z, L, level, fate,
    t_entry, j, walk, x, x_new, fx, normal, dist_a, dist_b,
):  # fmt: skip
    """Continue replica j from its last stored point until A, B, the end of t_span or a
    non-finite state, on the random stream ``stream`` (``walk``, ``x``... are scratch);
    returns the (possibly enlarged) stores X, Z and the steps taken."""
    d = chol.shape[0]
    init_stream(walk[0], seed, stream)
    m = L[j] - 1  # index of the current point
    for i in range(d):
        x[i] = X[j, m, i]
    lev = Z[j, m]  # the level so far
    pos = WORDS_PER_REFILL
    steps = 0
    while True:
        end, m, lev, pos, s, entry = _advance(
            drift, schedule, has_schedule, params, chol, eps, t0, dt, max_steps, a_kinds,
            a_data, b_kinds, b_data, bridge, xi, xi_params, xi_from_b, X, Z, j, m, lev, pos,
            walk, x, x_new, fx, normal, dist_a, dist_b,
        )  # fmt: skip
        steps += s
        if end != _FULL:
            break
        # grow every replica's store
        cap = 2 * X.shape[1]
        X2 = np.empty((X.shape[0], cap, d))
        Z2 = np.empty((X.shape[0], cap))
        for r in range(X.shape[0]):
            used = m + 1 if r == j else L[r]
            X2[r, :used] = X[r, :used]
            Z2[r, :used] = Z[r, :used]
        X = X2
        Z = Z2
    if end == IN_B:
        t_entry[j] = entry
    L[j] = m + 1
    level[j] = lev
    fate[j] = end
    return X, Z, steps


@nb.njit(**JIT)
def _kth_smallest(level, k):
    """The k-th smallest level, NaN counted as the largest (as np.partition orders them).
    For k = 1 a plain minimum: np.partition copies the array (an allocation) and takes
    0.7 us for 100 replicas, 2 % of an iteration in the benchmark's case."""
    if k > 1:
        return np.partition(level, k - 1)[k - 1]  # a selection, O(n)
    least = math.nan
    for v in level:
        if v < least or least != least:  # least NaN: none seen yet, or only NaN
            least = v
    return least


@nb.njit(**JIT)
def _one_run(
    drift, schedule, has_schedule, params, chol, eps, t0, dt, x0, max_steps, seed, run,
    a_kinds, a_data, b_kinds, b_data, bridge, xi, xi_params, xi_from_b, n, k, max_iter,
    X, Z, out_x, out_len, out_entry, stats,
):  # fmt: skip
    """One AMS run (the module docstring), in the replica stores ``X``, ``Z`` ((n, capacity,
    d) and (n, capacity), whatever they held before): each replica's points and the
    running maximum of xi along it (its level so far, +inf from its entry into B; sorted,
    so the branching point is found by bisection). Returns the stores, enlarged if
    replicas outgrew them."""
    d = chol.shape[0]
    L = np.ones(n, dtype=np.int64)
    level = np.empty(n)
    fate = np.empty(n, dtype=np.int64)
    t_entry = np.full(n, np.nan)
    base = np.uint64(run) << np.uint64(32)
    sel = np.empty(STREAM_SIZE, dtype=np.uint64)
    init_stream(sel, seed, base | _SELECTION_STREAM)
    walk = (
        np.empty(STREAM_SIZE, dtype=np.uint64),  # stream state
        np.empty(STREAM_SIZE, dtype=np.uint64),  # its state before the latest refill
        np.empty(2 * WORDS_PER_REFILL, dtype=np.uint64),
        np.empty(WORDS_PER_REFILL),
    )
    x = np.empty(d)
    x_new = np.empty(d)
    fx = np.empty(d)
    normal = np.empty(d)
    dist_a = np.empty(a_kinds.shape[0])
    dist_b = np.empty(b_kinds.shape[0])
    z0 = xi(x0, xi_params)
    steps = 0
    created = 0
    n_nf = 0  # replicas simulated that ended non-finite (state or reaction coordinate)
    for j in range(n):
        for i in range(d):
            X[j, 0, i] = x0[i]
        Z[j, 0] = z0
        L[j] = 1
        X, Z, s = _extend(
            drift, schedule, has_schedule, params, chol, eps, t0, dt, max_steps, seed,
            base | np.uint64(created), a_kinds, a_data, b_kinds, b_data, bridge, xi, xi_params,
            xi_from_b, X, Z, L, level, fate, t_entry, j, walk, x, x_new, fx, normal, dist_a,
            dist_b,
        )  # fmt: skip
        created += 1
        steps += s
        n_nf += fate[j] == NON_FINITE
    logw = 0.0
    iterations = 0
    killed_total = 0
    status = OK
    survivors = np.empty(n, dtype=np.int64)
    killed = np.empty(n, dtype=np.int64)
    while True:
        zk = _kth_smallest(level, k)
        if zk == math.inf:
            break
        n_surv = 0
        n_kill = 0
        for j in range(n):
            if level[j] <= zk:
                killed[n_kill] = j
                n_kill += 1
            else:
                survivors[n_surv] = j
                n_surv += 1
        if n_surv == 0:
            status = EXTINCT
            logw = -math.inf
            break
        if iterations >= max_iter:
            status = MAX_ITER
            break
        logw += math.log1p(-n_kill / n)
        killed_total += n_kill
        iterations += 1
        for q in range(n_kill):
            j = killed[q]
            s = survivors[min(n_surv - 1, int(aux_uniform(sel) * n_surv))]
            # the branching point: the survivor's first point above zk (its running
            # maximum is sorted, so a bisection finds it)
            i = np.searchsorted(Z[s, : L[s]], zk, side="right")
            # the prefix, as one flat loop over contiguous memory
            xj = X[j].reshape(-1)
            xs = X[s].reshape(-1)
            for r in range((i + 1) * d):
                xj[r] = xs[r]
            for r in range(i + 1):
                Z[j, r] = Z[s, r]
            L[j] = i + 1
            if i == L[s] - 1:  # the branching point is the survivor's end: copy its fate
                level[j] = level[s]
                fate[j] = fate[s]
                t_entry[j] = t_entry[s]
                continue
            X, Z, st = _extend(
                drift, schedule, has_schedule, params, chol, eps, t0, dt, max_steps, seed,
                base | np.uint64(created), a_kinds, a_data, b_kinds, b_data, bridge, xi,
                xi_params, xi_from_b, X, Z, L, level, fate, t_entry, j, walk, x, x_new, fx,
                normal, dist_a, dist_b,
            )  # fmt: skip
            created += 1
            steps += st
            n_nf += fate[j] == NON_FINITE
    n_b = 0
    need = 0
    n_to = 0
    for j in range(n):
        if fate[j] == IN_B:
            n_b += 1
            need += L[j]
        n_to += fate[j] == TIMED_OUT
    stats[S_LOGW] = logw
    stats[S_NB] = n_b
    stats[S_ITER] = iterations
    stats[S_STEPS] = steps
    stats[S_STATUS] = status
    stats[S_CREATED] = created
    stats[S_NEED] = need
    stats[S_KILLED] = killed_total
    stats[S_NONFINITE] = n_nf
    stats[S_TIMEOUT] = n_to
    if need <= out_x.shape[0]:
        w = 0
        for j in range(n):
            out_len[j] = 0
            out_entry[j] = t_entry[j]
            if fate[j] == IN_B:
                out_len[j] = L[j]
                for r in range(L[j]):
                    for c in range(d):
                        out_x[w, c] = X[j, r, c]
                    w += 1
    return X, Z


def _ams_kernel(
    drift, schedule, has_schedule, params, chol, eps, t0, dt, x0, max_steps, seed, runs,
    a_kinds, a_data, b_kinds, b_data, bridge, xi, xi_params, xi_from_b, n, k, max_iter,
    out_x, out_len, out_entry, stats, threads,
):  # fmt: skip
    # Each thread runs a contiguous block of the runs in one pair of replica stores: fresh
    # stores for every run cost page faults and zeroing, and copies, as they grow.
    # ``threads`` comes from the caller: numba.get_num_threads() in compiled code is a
    # dynamic global, which would keep the kernel out of numba's on-disk cache.
    d = chol.shape[0]
    m = runs.shape[0]
    threads = min(threads, m)
    for w in prange(threads):
        w = np.int64(w)  # prange may hand out unsigned indices
        X = np.empty((n, 1024, d))
        Z = np.empty((n, 1024))
        for r in range(w * m // threads, (w + 1) * m // threads):
            X, Z = _one_run(
                drift, schedule, has_schedule, params, chol, eps, t0, dt, x0, max_steps, seed,
                runs[r], a_kinds, a_data, b_kinds, b_data, bridge, xi, xi_params, xi_from_b, n,
                k, max_iter, X, Z, out_x[r], out_len[r], out_entry[r], stats[r],
            )  # fmt: skip


# Compiling this kernel (on a cache miss) made numba print "First-class function type
# feature is experimental": _one_run calls _extend with 33 arguments, which CPython
# passes as one tuple (as it does any call of more than 30), and numba gives that notice
# whenever it types a tuple whose first item is a function value, here the drift. The
# notice is about the feature itself, which every engine kernel uses for the drift passed
# as a value (their calls take at most 30 arguments, so no such tuple is typed); it says
# nothing about the system or the result, so a user can only be puzzled by it. Ignored
# here alone: that message, that category, while this one kernel compiles at import (its
# signature is fixed, so it never compiles later); every other warning still shows.
with warnings.catch_warnings():
    warnings.filterwarnings(
        "ignore",
        message="First-class function type feature is experimental",
        category=NumbaExperimentalFeatureWarning,
    )
    _ams_kernel = nb.njit(_AMS_SIGNATURE, parallel=True, **JIT)(_ams_kernel)


@nb.njit(**JIT)
def _grid_times(lengths, t0, dt, t):
    """Write into ``t`` the times t0 + i dt of the points i = 0, 1, ... of segments of the
    given lengths, in one pass (numpy's arange-repeat-subtract takes several over arrays
    the size of the ensemble). ``t`` comes from numpy, which asks the kernel for huge
    pages for large arrays: allocated here (malloc), it took twice the time, in page
    faults."""
    w = 0
    for n in lengths:
        for i in range(n):
            t[w] = t0 + i * dt
            w += 1
    return t


@dataclass(frozen=True, repr=False)
class AMSResult:
    """Adaptive multilevel splitting estimate of P(reach B before A) from x0.

    Attributes
    ----------
    probability, probability_se
        Mean of the valid runs' estimates and its standard error s / sqrt(n_valid) (NaN
        for fewer than two valid runs). A run is valid unless it stopped at
        ``max_iter``; see :func:`ams` for what the estimate means when runs are dropped.
    run_estimates, iterations, killed, n_in_B, path_steps_per_run, run_status
        Per run: estimate (NaN for a run stopped at ``max_iter``), iterations, replicas
        killed, replicas in B at the end, Euler–Maruyama steps taken, and the fate, a
        :class:`~simulate.Status`: ``OK``, ``EXTINCT`` (every replica killed: a valid
        estimate 0) or ``MAX_ITER`` (no estimate).
    ensemble
        The final replicas in B of the valid runs, weighted: a :class:`TransitionResult`.
    max_iter
        The iteration limit the runs had.
    status, success, message
        Overall: ``MAX_ITER`` when some run is not valid, else ``NON_FINITE`` when some
        replica's state or reaction coordinate turned non-finite (it then counts as not
        reaching B), else ``OK`` (a success); the message counts the runs by fate and says
        what the estimate used.
    """

    system: str
    eps: float
    dt: float
    seed: int
    n_replicas: int
    k: int
    reaction_coordinate: str
    probability: float
    probability_se: float
    run_estimates: np.ndarray
    iterations: np.ndarray
    killed: np.ndarray
    n_in_B: np.ndarray
    path_steps_per_run: np.ndarray
    run_status: np.ndarray
    ensemble: TransitionResult
    wall_time: float
    max_iter: int

    @property
    def n_runs(self) -> int:
        return int(self.run_estimates.size)

    @property
    def valid(self) -> np.ndarray:
        """Mask of the runs that gave an estimate (all but those stopped at max_iter)."""
        return self.run_status != MAX_ITER

    @property
    def n_valid(self) -> int:
        return int(np.count_nonzero(self.valid))

    @property
    def path_steps(self) -> int:
        return int(self.path_steps_per_run.sum())

    @property
    def relative_error(self) -> float:
        return self.probability_se / self.probability if self.probability > 0 else math.inf

    @property
    def status(self) -> Status:
        if self.n_valid < self.n_runs:
            return Status.MAX_ITER
        return Status.NON_FINITE if self.ensemble.n_nonfinite else Status.OK

    @property
    def success(self) -> bool:
        return self.status == Status.OK

    @property
    def message(self) -> str:
        fates = ", ".join(
            f"{np.count_nonzero(self.run_status == v)} {Status(v).name.lower()}"
            for v in (OK, EXTINCT, MAX_ITER)
        )
        text = f"{self.n_runs} runs: {fates}"
        if self.n_valid < self.n_runs:
            text += (
                f"; {self.n_runs - self.n_valid} runs stopped at max_iter = {self.max_iter} "
                "gave no estimate and were left out: the probability is the mean of the "
                f"other {self.n_valid}"
            )
        if self.ensemble.n_nonfinite:
            text += (
                f"; {self.ensemble.n_nonfinite} replicas turned non-finite (the state or the"
                " reaction coordinate) and counted as not reaching B: the estimate is biased"
                " low (a smaller dt, or a coordinate defined everywhere)"
            )
        return text

    def to_frame(self, kind: str = "summary") -> pd.DataFrame:
        """``"summary"`` (default, as for every sampler's result): one row of headline
        numbers and the status; ``"runs"``: one row per run; ``"segments"`` or
        ``"points"``: the final ensemble's frames."""
        if kind == "runs":
            return pd.DataFrame(
                {
                    "run": np.arange(self.n_runs),
                    "estimate": self.run_estimates,
                    "iterations": self.iterations,
                    "killed": self.killed,
                    "n_in_B": self.n_in_B,
                    "path_steps": self.path_steps_per_run,
                    "status": [Status(v).name for v in self.run_status],
                }
            )
        if kind == "summary":
            return pd.DataFrame(
                {
                    "system": [self.system],
                    "eps": [self.eps],
                    "dt": [self.dt],
                    "n_replicas": [self.n_replicas],
                    "k": [self.k],
                    "n_runs": [self.n_runs],
                    "n_valid": [self.n_valid],
                    "probability": [self.probability],
                    "probability_se": [self.probability_se],
                    "mean_iterations": [self.iterations.mean()],
                    "path_steps": [self.path_steps],
                    "wall_time": [self.wall_time],
                    "status": [self.status.name],
                    "success": [self.success],
                    "message": [self.message],
                }
            )
        if kind in ("segments", "points"):
            return self.ensemble.to_frame(kind)
        raise ValueError(f"`kind` must be 'summary', 'runs', 'segments' or 'points', got {kind!r}")

    def __repr__(self) -> str:
        return (
            f"AMSResult({self.system!r}, {self.n_runs} runs x {self.n_replicas} replicas, "
            f"k = {self.k}, eps = {self.eps:g}, dt = {self.dt:g},\n"
            f"  probability = {self.probability:.4g} ± {self.probability_se:.2g}, "
            f"{self.ensemble.n_segments} weighted segments in B,\n"
            f"  status {self.status.name}: {self.message})"
        )


def _is_minus_distance_to(xi: ReactionCoordinate, B: StopSet) -> bool:
    """Whether ``xi`` is :func:`distance_to` (B), which the kernel then reads off B's
    signed distances. Not with shells: there the set test floors the radius at 1e-300,
    which changes the bits at the shell's centre."""
    ref = distance_to(B)
    kinds = encode_sets([B], B.dim)[0]
    return (
        xi.function is ref.function
        and np.array_equal(xi.params, ref.params)
        and not np.any(kinds == SHELL)
    )


@nb.njit(**JIT)
def _empty_points(m, capacity, d):
    """np.empty((m, capacity, d)) from numba's allocator: numpy asks the kernel for huge
    pages for large arrays, and the kernel threads' first writes into them then spent up
    to 50-90 ms of system time in a call that took 100 (the same call without them: 8-28
    ms), by the look of it compacting memory for huge pages."""
    return np.empty((m, capacity, d))


def _run_chunk(system, x0, eps, t0, dt, max_steps, seed, runs, a, b, bridge, xi, xi_from_b, n,
               k, max_iter, capacity, n_threads):  # fmt: skip
    d = system.dim
    m = runs.size
    out_x = _empty_points(m, capacity, d)
    out_len = np.zeros((m, n), dtype=np.int64)
    out_entry = np.full((m, n), np.nan)
    stats = np.zeros((m, N_STATS))
    with numba_threads(n_threads):
        _ams_kernel(
            *kernel_prefix(system, eps, t0, dt), x0, max_steps, np.uint64(seed), runs, a[0], a[2],
            b[0], b[2], bridge, xi.function, xi.params, xi_from_b, n, k, max_iter, out_x, out_len,
            out_entry, stats, nb.get_num_threads(),
        )  # fmt: skip
    pieces = []
    for r in range(m):
        need = int(stats[r, S_NEED])
        if need > capacity:  # rerun alone with room for its ensemble (same bits)
            pieces.extend(
                _run_chunk(
                    system,
                    x0,
                    eps,
                    t0,
                    dt,
                    max_steps,
                    seed,
                    runs[r : r + 1],
                    a,
                    b,
                    bridge,
                    xi,
                    xi_from_b,
                    n,
                    k,
                    max_iter,
                    need,
                    n_threads,
                )  # fmt: skip
            )
        else:
            pieces.append(
                # a view: the ensemble is copied once, when the runs' pieces are joined
                (out_x[r, :need], out_len[r], out_entry[r], stats[r])
            )
    return pieces


def ams(
    system: System,
    A: StopSet | str,
    B: StopSet | str,
    eps: float,
    *,
    x0: Sequence[float] | np.ndarray | str,
    reaction_coordinate: ReactionCoordinate | str | None = None,
    n_replicas: int = 100,
    n_runs: int = 10,
    k: int = 1,
    t_span: tuple[float, float] | float = DEFAULT_FIRST_PASSAGE_SPAN,
    dt: float = 1e-3,
    seed: int = 0,
    bridge: bool = True,
    max_iter: int | None = None,
    n_jobs: int = 1,
    n_threads: int | None = None,
    chunk_size: int | None = None,
    memory_budget: float = DEFAULT_MEMORY_BUDGET,
    progress: bool | None = None,
) -> AMSResult:
    """Estimate P(reach B before A | X_0 = x0) by adaptive multilevel splitting.

    The calling convention (shared by every sampler) is in ``docs/sampling.md``.

    Parameters
    ----------
    system
        The system.
    A, B
        Disjoint sets (:class:`StopSet` or names of the system's sets); x0 in neither.
    eps
        Noise level (> 0).
    x0
        Start of every replica (a point or a state name).
    reaction_coordinate
        A :class:`ReactionCoordinate` (see :func:`distance_to`, :func:`path_progress`,
        :func:`reaction_coordinate`), a numba function ``xi(x, params)`` or None /
        ``"distance"`` for minus the distance to B. Replicas in B get level +inf.
    n_replicas, n_runs
        Replicas per run, and independent runs (the standard error comes from their
        spread): the sample size is n_replicas x n_runs.
    k
        Each iteration kills the replicas at or below the k-th smallest level
        (1 <= k < n_replicas).
    t_span
        (t0, t_end), or t_end for (0, t_end): replicas still undecided at ``t_end``
        stop and count as not in B (``dt`` is kept as given, as in
        :func:`~simulate.transitions`).
    dt, bridge
        Time step; Brownian-bridge detection of A and B between grid points (default
        True).
    seed
        Master seed; streams are derived from (seed, run, replica counter) as described
        in the module docstring.
    max_iter
        Iterations allowed per run (default 1000 n_replicas). A run stopped there gives
        no estimate (its status is ``MAX_ITER``): it is left out of the probability and
        its standard error, and an :class:`AMSRunWarning` says how many were dropped.
        What the estimate then means: each iteration kills at least k replicas, so a
        run's estimate after j iterations is at most w_j = (1 - k / n)^j. The mean of
        the valid runs estimates E[p_hat | J <= max_iter] (J the iterations a run needs),
        whose bias lies between -q w / (1 - q) and p q / (1 - q), q the probability
        that a run is dropped and w = (1 - k / n)^max_iter: upward, by at most the factor
        1 / (1 - q), when w <= p (see ``docs/sampling.md``). With the default, w <=
        exp(-1000 k) is below the smallest double, so a run stopped there could only
        have estimated a probability that cannot be represented: the limit does not bind
        for any probability the estimator can report.
    n_jobs, n_threads, chunk_size
        joblib workers over chunks of runs (a positive integer), numba threads per
        worker over the runs of a chunk, runs per chunk (default: the runs of a worker, at
        most four per thread, more than one per thread only as far as half of
        ``memory_budget`` holds their ensemble buffers).
    memory_budget
        Bytes the replica stores and the final ensemble may take (estimated up front
        from 1024 points per replica; stores grow when paths are longer).
    progress
        tqdm progress bar over chunks of runs (default: shown for several chunks when
        the run lasts more than 2 s).

    Examples
    --------
    >>> from simulate import zoo
    >>> res = ams(zoo.double_well(), "A", "B", 0.1, x0=[-0.8], n_replicas=50, n_runs=4,
    ...           dt=1e-2, seed=3)
    >>> 0.0 < res.probability < 0.05
    True
    """
    start = time.perf_counter()
    check_system(system)
    eps = check_eps(eps)
    seed = check_seed(seed)
    n = check_count(n_replicas, "n_replicas")
    n_runs = check_count(n_runs, "n_runs")
    if n_runs >= 2**31:
        raise ValueError(f"`n_runs` must be < 2**31, got {n_runs}")
    if n < 2:
        raise ValueError(f"`n_replicas` must be at least 2, got {n}")
    k = check_count(k, "k")
    if k >= n:
        raise ValueError(f"`k` must be in [1, n_replicas), got k = {k}, n_replicas = {n}")
    A = resolve_set(system, A, "A")
    B = resolve_set(system, B, "B")
    d = system.dim
    x0 = np.ascontiguousarray(system.point(x0), dtype=float)
    check_disjoint(A, B, x0)
    if A.contains(x0) or B.contains(x0):
        raise ValueError(f"`x0` = {x0.tolist()} must lie outside `A` and `B`")
    if reaction_coordinate is None or reaction_coordinate == "distance":
        xi = distance_to(B)
    elif isinstance(reaction_coordinate, ReactionCoordinate):
        xi = reaction_coordinate
    elif isinstance(reaction_coordinate, str):
        raise ValueError(f"`reaction_coordinate`: unknown name {reaction_coordinate!r}")
    else:
        xi = as_reaction_coordinate(reaction_coordinate)
    if xi.name in ("minus_distance_to_B", "path_progress") and int(xi.params[1]) != d:
        raise ValueError(f"`reaction_coordinate` is for R^{int(xi.params[1])}, not R^{d}")
    z0 = xi(x0)
    if not np.isfinite(z0):
        raise ValueError(f"`reaction_coordinate` is not finite at x0: {z0}")
    t0, t_end, max_steps = first_passage_span(t_span, dt)
    dt = float(dt)
    max_iter = 1000 * n if max_iter is None else check_count(max_iter, "max_iter")
    n_workers, n_threads = worker_layout(n_jobs, n_threads)
    threads = n_threads or nb.config.NUMBA_NUM_THREADS
    capacity = 8 * 1024 * n  # points of the final ensemble per run, before a rerun
    if chunk_size is None:
        # Several runs per thread and kernel call: the threads of a call wait for its
        # slowest run, and the wait shrinks relative to the work as runs are added; more
        # than one per thread only as half the memory budget holds their ensemble buffers.
        room = max(threads, int(memory_budget // 2 // (capacity * (d + 1) * 8)))
        chunk_size = max(1, min(-(-n_runs // n_workers), _RUNS_PER_THREAD * threads, room))
    chunk_size = check_count(chunk_size, "chunk_size")
    check_memory(
        threads * n * 1024 * (d + 1) * 8 + chunk_size * capacity * (d + 1) * 8,
        memory_budget,
        "AMS (at least)",
        "use fewer replicas or a smaller chunk_size",
    )
    a_enc = encode_sets([A], d)
    b_enc = encode_sets([B], d)
    xi_from_b = _is_minus_distance_to(xi, B)
    chunks = [
        np.arange(s, min(s + chunk_size, n_runs), dtype=np.int64)
        for s in range(0, n_runs, chunk_size)
    ]

    def task(runs):
        return _run_chunk(
            system, x0, eps, t0, dt, max_steps, seed, runs, a_enc, b_enc, bool(bridge), xi,
            xi_from_b, n, k, max_iter, capacity, n_threads,
        )  # fmt: skip

    bar = progress_bar(n_runs, f"{system.name} AMS", "run", len(chunks), progress)
    pieces = []
    for _, res in dispatch(task, chunks, n_workers):
        pieces.extend(res)
        bar.update(len(res))
    bar.close()
    stats = np.array([p[3] for p in pieces])
    run_status = stats[:, S_STATUS].astype(np.int64)
    valid = run_status != MAX_ITER
    n_valid = int(np.count_nonzero(valid))
    estimates = np.exp(stats[:, S_LOGW]) * stats[:, S_NB] / n
    estimates[run_status == EXTINCT] = 0.0  # a valid zero
    estimates[~valid] = np.nan  # not an estimate
    prob = float(estimates[valid].mean()) if n_valid else math.nan
    se = float(estimates[valid].std(ddof=1) / math.sqrt(n_valid)) if n_valid > 1 else math.nan
    # the final ensemble of the valid runs, in the form of `transitions`
    xs, lens, entries, weights, sources = [], [], [], [], []
    for r, (px, plen, pentry, st) in enumerate(pieces):
        inb = np.flatnonzero(plen > 0) if valid[r] else np.zeros(0, dtype=np.int64)
        xs.append(px if valid[r] else px[:0])
        lens.append(plen[inb])
        entries.append(pentry[inb])
        w = math.exp(st[S_LOGW]) / (n * n_valid) if run_status[r] == OK else 0.0
        weights.append(np.full(inb.size, w))
        sources.append(np.full(inb.size, r, dtype=np.int64))
    lengths = np.concatenate(lens)
    offsets = np.zeros(lengths.size + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    steps = stats[:, S_STEPS].astype(np.int64)
    ensemble = TransitionResult(
        method="ams",
        system=system.name,
        eps=eps,
        dt=dt,
        seed=seed,
        x=np.concatenate(xs).reshape(-1, d),
        t=_grid_times(lengths, t0, dt, np.empty(offsets[-1])),
        offsets=offsets,
        t_exit=np.full(lengths.size, t0),
        t_entry=np.concatenate(entries),
        weights=np.concatenate(weights),
        source=np.concatenate(sources),
        attempts=int(stats[:, S_CREATED].sum()),
        successes=int(lengths.size),
        path_steps=int(steps.sum()),
        sim_time=float(steps.sum() * dt),
        wall_time=time.perf_counter() - start,
        n_nonfinite=int(stats[:, S_NONFINITE].sum()),
        n_timeout=int(stats[:, S_TIMEOUT].sum()),
        bridge=bool(bridge),
        meta={"t_span": (t0, t_end), "x0": x0, "reaction_coordinate": xi.name},
    )
    result = AMSResult(
        system=system.name,
        eps=eps,
        dt=dt,
        seed=seed,
        n_replicas=n,
        k=k,
        reaction_coordinate=xi.name,
        probability=prob,
        probability_se=se,
        run_estimates=estimates,
        iterations=stats[:, S_ITER].astype(np.int64),
        killed=stats[:, S_KILLED].astype(np.int64),
        n_in_B=stats[:, S_NB].astype(np.int64),
        path_steps_per_run=steps,
        run_status=run_status,
        ensemble=ensemble,
        wall_time=time.perf_counter() - start,
        max_iter=max_iter,
    )
    if not result.success:
        warnings.warn(f"ams on {system.name!r}: {result.message}", AMSRunWarning, stacklevel=2)
    return result
