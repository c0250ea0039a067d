"""Adaptive multilevel splitting (AMS) for P(reach B before A), with unbiased ties.

Cérou & Guyader (2007), in the generalised form of Bréhier, Gazeau, Goudenège, Lelièvre
& Rousset (2016, Ann. Appl. Probab. 26, 3559), which stays unbiased for discrete-time
dynamics where levels tie. One run with ``n`` replicas and reaction coordinate xi:

1. ``n`` Euler–Maruyama paths from x0 run until they enter A or B (or reach ``t_max``);
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
from dataclasses import dataclass

import joblib
import numba as nb
import numpy as np
import pandas as pd
from numba import prange, types
from tqdm.auto import tqdm

from ._config import JIT, RawDriftType, ScheduleType
from ._euler_maruyama import MemoryBudgetError, check_eps, check_seed, numba_threads
from ._random import STREAM_SIZE, WORDS_PER_REFILL, aux_uniform, init_stream
from ._reaction_coordinates import (
    ReactionCoordinate,
    ReactionCoordinateType,
    distance_to,
)
from ._reaction_coordinates import reaction_coordinate as as_reaction_coordinate
from ._sets import StopSet, encode_sets, resolve_set
from ._stepping import contact, em_step
from ._system import System
from ._transitions import (
    TransitionResult,
    check_count,
    check_disjoint,
    worker_layout,
)

IN_A, IN_B, TIMED_OUT, NON_FINITE = 0, 1, 2, 3
# run status
OK, EXTINCT, MAX_ITER = 0, 1, 2
# per-run statistics
(S_LOGW, S_NB, S_ITER, S_STEPS, S_STATUS, S_NONFINITE, S_TIMEOUT, S_CREATED, S_NEED, S_KILLED) = (
    range(10)
)
N_STATS = 10
_SELECTION_STREAM = np.uint64(2**32 - 1)


@nb.njit(**JIT)
def _extend(
    drift, schedule, has_schedule, params, chol, eps, t0, dt, max_steps, seed, stream,
    a_kinds, a_data, b_kinds, b_data, bridge, xi, xi_params, X, Z, L, level, fate, t_entry, j,
):  # fmt: skip
    """Continue replica j from its last stored point until A, B, t_max or a non-finite
    state; returns the (possibly enlarged) stores X, Z and the steps taken."""
    d = chol.shape[0]
    state = np.empty(STREAM_SIZE, dtype=np.uint64)
    pre = np.empty(STREAM_SIZE, dtype=np.uint64)
    lanes = np.empty(2 * WORDS_PER_REFILL, dtype=np.uint64)
    z = np.empty(WORDS_PER_REFILL)
    init_stream(state, seed, stream)
    x = X[j, L[j] - 1].copy()
    x_new = np.empty(d)
    fx = np.empty(d)
    normal = np.empty(d)
    lev = Z[j, L[j] - 1]
    for i in range(L[j] - 1):
        lev = max(lev, Z[j, i])
    m = L[j] - 1  # index of the current point
    pos = WORDS_PER_REFILL
    steps = 0
    end = TIMED_OUT
    while m < max_steps:
        t = t0 + m * dt
        pos, scale = em_step(
            drift, schedule, has_schedule, params, chol, eps, dt, x, t, fx, x_new, state, pre,
            lanes, z, pos,
        )  # fmt: skip
        steps += 1
        total = 0.0
        for i in range(d):
            total += x_new[i]
        if not math.isfinite(total):
            end = NON_FINITE
            break
        if m + 1 >= X.shape[1]:  # grow every replica's store
            cap = 2 * X.shape[1]
            X2 = np.empty((X.shape[0], cap, d))
            Z2 = np.empty((X.shape[0], cap))
            for r in range(X.shape[0]):
                used = m + 1 if r == j else L[r]
                X2[r, :used] = X[r, :used]
                Z2[r, :used] = Z[r, :used]
            X = X2
            Z = Z2
        m += 1
        for i in range(d):
            X[j, m, i] = x_new[i]
        noise_var = eps * scale * dt
        fb = contact(b_kinds, b_data, x, x_new, bridge, noise_var, chol, state, normal)
        if fb >= 0.0:
            Z[j, m] = math.inf
            lev = math.inf
            t_entry[j] = t + fb * dt
            end = IN_B
            break
        zi = xi(x_new, xi_params)
        Z[j, m] = zi
        lev = max(lev, zi)
        if contact(a_kinds, a_data, x, x_new, bridge, noise_var, chol, state, normal) >= 0.0:
            end = IN_A
            break
        for i in range(d):
            x[i] = x_new[i]
    L[j] = m + 1
    level[j] = lev
    fate[j] = end
    return X, Z, steps


@nb.njit(**JIT)
def _one_run(
    drift, schedule, has_schedule, params, x0, chol, eps, t0, dt, max_steps, seed, run,
    a_kinds, a_data, b_kinds, b_data, bridge, xi, xi_params, n, k, max_iter,
    out_x, out_t, out_len, out_entry, stats,
):  # fmt: skip
    d = chol.shape[0]
    X = np.empty((n, 1024, d))
    Z = np.empty((n, 1024))
    L = np.ones(n, dtype=np.int64)
    level = np.empty(n)
    fate = np.empty(n, dtype=np.int64)
    t_entry = np.full(n, np.nan)
    base = np.uint64(run) << np.uint64(32)
    sel = np.empty(STREAM_SIZE, dtype=np.uint64)
    init_stream(sel, seed, base | _SELECTION_STREAM)
    z0 = xi(x0, xi_params)
    steps = 0
    created = 0
    for j in range(n):
        for i in range(d):
            X[j, 0, i] = x0[i]
        Z[j, 0] = z0
        L[j] = 1
        X, Z, s = _extend(
            drift, schedule, has_schedule, params, chol, eps, t0, dt, max_steps, seed,
            base | np.uint64(created), a_kinds, a_data, b_kinds, b_data, bridge, xi, xi_params,
            X, Z, L, level, fate, t_entry, j,
        )  # fmt: skip
        created += 1
        steps += s
    logw = 0.0
    iterations = 0
    killed_total = 0
    status = OK
    survivors = np.empty(n, dtype=np.int64)
    killed = np.empty(n, dtype=np.int64)
    while True:
        zk = np.sort(level)[k - 1]
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
            i = 0
            while Z[s, i] <= zk:
                i += 1
            for r in range(i + 1):
                for c in range(d):
                    X[j, r, c] = X[s, r, c]
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
                xi_params, X, Z, L, level, fate, t_entry, j,
            )  # fmt: skip
            created += 1
            steps += st
    n_b = 0
    need = 0
    for j in range(n):
        if fate[j] == IN_B:
            n_b += 1
            need += L[j]
    stats[S_LOGW] = logw
    stats[S_NB] = n_b
    stats[S_ITER] = iterations
    stats[S_STEPS] = steps
    stats[S_STATUS] = status
    stats[S_CREATED] = created
    stats[S_NEED] = need
    stats[S_KILLED] = killed_total
    n_nf = 0
    n_to = 0
    for j in range(n):
        n_nf += fate[j] == NON_FINITE
        n_to += fate[j] == TIMED_OUT
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
                    out_t[w] = t0 + r * dt
                    w += 1


_f8v = types.float64[::1]
_f8m = types.float64[:, ::1]
_i8v = types.int64[::1]
_AMS_SIGNATURE = types.void(
    RawDriftType,
    ScheduleType,
    types.boolean,  # has_schedule
    _f8v,  # params
    _f8v,  # x0
    _f8m,  # chol
    types.float64,  # eps
    types.float64,  # t0
    types.float64,  # dt
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
    types.int64,  # n replicas
    types.int64,  # k
    types.int64,  # max_iter
    types.float64[:, :, ::1],  # out x (runs, capacity, d)
    _f8m,  # out t (runs, capacity)
    types.int64[:, ::1],  # out lengths (runs, n)
    _f8m,  # out entry times (runs, n)
    _f8m,  # stats (runs, N_STATS)
)


@nb.njit(_AMS_SIGNATURE, parallel=True, **JIT)
def _ams_kernel(
    drift, schedule, has_schedule, params, x0, chol, eps, t0, dt, max_steps, seed, runs,
    a_kinds, a_data, b_kinds, b_data, bridge, xi, xi_params, n, k, max_iter,
    out_x, out_t, out_len, out_entry, stats,
):  # fmt: skip
    for r in prange(runs.shape[0]):
        r = np.int64(r)
        _one_run(
            drift, schedule, has_schedule, params, x0, chol, eps, t0, dt, max_steps, seed,
            runs[r], a_kinds, a_data, b_kinds, b_data, bridge, xi, xi_params, n, k, max_iter,
            out_x[r], out_t[r], out_len[r], out_entry[r], stats[r],
        )  # fmt: skip


@dataclass(frozen=True)
class AMSResult:
    """Adaptive multilevel splitting estimate of P(reach B before A) from x0.

    Attributes
    ----------
    probability, standard_error
        Mean of the per-run estimates and s / sqrt(n_runs) (NaN for one run).
    run_estimates, iterations, killed, n_in_B, path_steps, status
        Per run: estimate, iterations, replicas killed, replicas in B at the end,
        Euler–Maruyama steps taken, 0 ok / 1 extinct (estimate 0) / 2 ``max_iter`` hit.
    ensemble
        The final replicas in B of all runs, weighted: a :class:`TransitionResult`.
    """

    system: str
    eps: float
    dt: float
    seed: int
    n_replicas: int
    k: int
    reaction_coordinate: str
    probability: float
    standard_error: float
    run_estimates: np.ndarray
    iterations: np.ndarray
    killed: np.ndarray
    n_in_B: np.ndarray
    path_steps_per_run: np.ndarray
    status: np.ndarray
    ensemble: TransitionResult
    wall_time: float

    @property
    def n_runs(self) -> int:
        return int(self.run_estimates.size)

    @property
    def path_steps(self) -> int:
        return int(self.path_steps_per_run.sum())

    @property
    def relative_error(self) -> float:
        return self.standard_error / self.probability if self.probability > 0 else math.inf

    def to_frame(self, kind: str = "runs") -> pd.DataFrame:
        """``"runs"``: one row per run; ``"summary"``: one row; ``"segments"`` or
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
                    "status": self.status,
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
                    "probability": [self.probability],
                    "standard_error": [self.standard_error],
                    "mean_iterations": [self.iterations.mean()],
                    "path_steps": [self.path_steps],
                    "wall_time": [self.wall_time],
                }
            )
        return self.ensemble.to_frame(kind)


def _run_chunk(system, x0, chol, eps, t0, dt, max_steps, seed, runs, a, b, bridge, xi, n, k,
               max_iter, capacity, n_threads):  # fmt: skip
    d = system.dim
    m = runs.size
    out_x = np.empty((m, capacity, d))
    out_t = np.empty((m, capacity))
    out_len = np.zeros((m, n), dtype=np.int64)
    out_entry = np.full((m, n), np.nan)
    stats = np.zeros((m, N_STATS))
    with numba_threads(n_threads):
        _ams_kernel(
            system.raw_drift, system.schedule_function, system.schedule is not None, system.params,
            x0, chol, eps, t0, dt, max_steps, np.uint64(seed), runs, a[0], a[2], b[0], b[2],
            bridge, xi.function, xi.params, n, k, max_iter, out_x, out_t, out_len, out_entry,
            stats,
        )  # fmt: skip
    pieces = []
    for r in range(m):
        need = int(stats[r, S_NEED])
        if need > capacity:  # rerun alone with room for its ensemble (same bits)
            pieces.append(
                _run_chunk(
                    system,
                    x0,
                    chol,
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
                    n,
                    k,
                    max_iter,
                    need,
                    n_threads,
                )[0]  # fmt: skip
            )
        else:
            pieces.append(
                (
                    out_x[r, :need].copy(),
                    out_t[r, :need].copy(),
                    out_len[r],
                    out_entry[r],
                    stats[r],
                )  # fmt: skip
            )
    return pieces


def ams(
    system: System,
    eps: float,
    A: StopSet | str,
    B: StopSet | str,
    reaction_coordinate: ReactionCoordinate | str | None = None,
    n_replicas: int = 100,
    k: int = 1,
    n_runs: int = 10,
    x0=None,
    dt: float = 1e-3,
    t_max: float = 1e3,
    seed: int = 0,
    bridge: bool = True,
    max_iter: int | None = None,
    t0: float = 0.0,
    n_jobs: int = 1,
    n_threads: int | None = None,
    chunk_size: int | None = None,
    memory_budget: float = 2 * 1024**3,
    progress: bool | None = None,
) -> AMSResult:
    """Estimate P(reach B before A | X_0 = x0) by adaptive multilevel splitting.

    Parameters
    ----------
    system, eps
        The system and its noise level (> 0).
    A, B
        Disjoint sets (:class:`StopSet` or names of the system's sets); x0 in neither.
    reaction_coordinate
        A :class:`ReactionCoordinate` (see :func:`distance_to`, :func:`path_progress`,
        :func:`reaction_coordinate`), a numba function ``xi(x, params)`` or None /
        ``"distance"`` for minus the distance to B. Replicas in B get level +inf.
    n_replicas, k
        Replicas per run and the quantile: each iteration kills the replicas at or below
        the k-th smallest level (1 <= k < n_replicas).
    n_runs
        Independent runs; the standard error comes from their spread.
    x0
        Start of every replica (a point or a state name).
    dt, t_max, bridge
        Time step; replicas still undecided at ``t0 + t_max`` stop (they count as not in
        B); Brownian-bridge detection of A and B between grid points (default True).
    seed
        Master seed; streams are derived from (seed, run, replica counter) as described
        in the module docstring.
    max_iter
        Iterations allowed per run (default 1000 n_replicas).
    n_jobs, n_threads, chunk_size
        joblib workers over chunks of runs, numba threads per worker over the runs of a
        chunk, runs per chunk (default: the threads per worker).
    memory_budget
        Bytes the replica stores and the final ensemble may take (estimated up front
        from 1024 points per replica; stores grow when paths are longer).

    Examples
    --------
    >>> from simulate import zoo
    >>> res = ams(zoo.double_well(), 0.1, "A", "B", n_replicas=50, n_runs=4, x0=[-0.8],
    ...           dt=1e-2, seed=3)
    >>> 0.0 < res.probability < 0.05
    True
    """
    start = time.perf_counter()
    if not isinstance(system, System):
        raise ValueError(f"`system` must be a System, got {type(system).__name__}")
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
    if x0 is None:
        raise ValueError("`x0` is required: a point (d,) or a state name")
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
    if not (np.isfinite(dt) and dt > 0):
        raise ValueError(f"`dt` must be positive and finite, got {dt}")
    if not (np.isfinite(t_max) and t_max > 0):
        raise ValueError(f"`t_max` must be positive and finite, got {t_max}")
    max_steps = max(1, math.ceil(t_max / dt - 1e-9))
    max_iter = 1000 * n if max_iter is None else check_count(max_iter, "max_iter")
    n_workers, n_threads = worker_layout(n_jobs, n_threads)
    threads = n_threads or nb.config.NUMBA_NUM_THREADS
    if chunk_size is None:
        chunk_size = max(1, min(threads, -(-n_runs // n_workers)))
    chunk_size = check_count(chunk_size, "chunk_size")
    capacity = 8 * 1024 * n  # points of the final ensemble per run, before a rerun
    need = threads * n * 1024 * (d + 1) * 8 + chunk_size * capacity * (d + 1) * 8
    if need > memory_budget:
        raise MemoryBudgetError(
            f"AMS needs at least {need / 1024**3:.2f} GiB, over `memory_budget` = "
            f"{memory_budget / 1024**3:.2f} GiB: use fewer replicas or a smaller chunk_size"
        )
    a_enc = encode_sets([A], d)
    b_enc = encode_sets([B], d)
    chol = np.ascontiguousarray(system.cholesky)
    chunks = [
        np.arange(s, min(s + chunk_size, n_runs), dtype=np.int64)
        for s in range(0, n_runs, chunk_size)
    ]

    def task(runs):
        return _run_chunk(
            system, x0, chol, eps, t0, float(dt), max_steps, seed, runs, a_enc, b_enc,
            bool(bridge), xi, n, k, max_iter, capacity, n_threads,
        )  # fmt: skip

    show = progress if progress is not None else len(chunks) > 2
    bar = tqdm(total=n_runs, desc=f"{system.name} AMS", unit="run", disable=not show, delay=2)
    if n_workers == 1:
        results = (task(runs) for runs in chunks)
    else:
        results = joblib.Parallel(n_jobs=n_workers, return_as="generator")(
            joblib.delayed(task)(runs) for runs in chunks
        )
    pieces = []
    for res in results:
        pieces.extend(res)
        bar.update(len(res))
    bar.close()
    stats = np.array([p[4] for p in pieces])
    estimates = np.exp(stats[:, S_LOGW]) * stats[:, S_NB] / n
    estimates[stats[:, S_STATUS] == EXTINCT] = 0.0
    prob = float(estimates.mean())
    se = float(estimates.std(ddof=1) / math.sqrt(n_runs)) if n_runs > 1 else math.nan
    # the final ensemble, in the form of `transitions`
    xs, ts, lens, entries, weights, sources = [], [], [], [], [], []
    for r, (px, pt, plen, pentry, st) in enumerate(pieces):
        inb = np.flatnonzero(plen > 0)
        xs.append(px)
        ts.append(pt)
        lens.append(plen[inb])
        entries.append(pentry[inb])
        w = math.exp(st[S_LOGW]) / (n * n_runs) if st[S_STATUS] != EXTINCT else 0.0
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
        dt=float(dt),
        seed=seed,
        x=np.concatenate(xs).reshape(-1, d),
        t=np.concatenate(ts),
        offsets=offsets,
        t_exit=np.full(lengths.size, float(t0)),
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
        meta={"t0": t0, "t_max": t_max, "x0": x0, "reaction_coordinate": xi.name},
    )
    return AMSResult(
        system=system.name,
        eps=eps,
        dt=float(dt),
        seed=seed,
        n_replicas=n,
        k=k,
        reaction_coordinate=xi.name,
        probability=prob,
        standard_error=se,
        run_estimates=estimates,
        iterations=stats[:, S_ITER].astype(np.int64),
        killed=stats[:, S_KILLED].astype(np.int64),
        n_in_B=stats[:, S_NB].astype(np.int64),
        path_steps_per_run=steps,
        status=stats[:, S_STATUS].astype(np.int64),
        ensemble=ensemble,
        wall_time=time.perf_counter() - start,
    )
