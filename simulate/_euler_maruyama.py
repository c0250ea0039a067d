"""The Euler–Maruyama ensemble engine.

    X_{n+1} = X_n + f(X_n, t_n) dt + sqrt(2 eps d(t_n) dt) L Z_n,     L L^T = D,

with Z_n the path's own counter-based normals (:mod:`simulate._random`). One numba
kernel call per chunk of paths, parallel with numba threads over groups of
``PATHS_PER_GROUP`` paths that one thread steps in lockstep (each path writes only its
own rows); chunks are spread over processes with joblib, whose backend the user picks
(``joblib.parallel_config(backend="dask")`` runs the same call on a Dask cluster). The
result is bit-identical whatever the number of threads, workers or chunks.
"""

from __future__ import annotations

import functools
import math
import os
import warnings
from collections.abc import Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field

import joblib
import numba as nb
import numpy as np
import pandas as pd
from numba import prange, types
from tqdm.auto import tqdm

from ._checkpoint import ChunkStore, fingerprint
from ._config import JIT, RawDriftType, ScheduleType
from ._random import (
    STREAM_SIZE,
    WORDS_PER_REFILL,
    fill_normals,
    init_stream,
)
from ._sets import (
    StopSet,
    check_disjoint,
    encode_sets,
    first_set_containing,
    resolve_set,
)
from ._stepping import contact
from ._system import System, as_points


class NonFiniteWarning(RuntimeWarning):
    """Every path of an ensemble became non-finite (a drift that blows up, a dt too
    large for the drift's stiffness): the result holds no usable path."""


RUNNING, STOPPED, NONFINITE = 0, 1, 2
STATUS_NAMES = {RUNNING: "ran to the end", STOPPED: "stopped in a set", NONFINITE: "non-finite"}


class MemoryBudgetError(ValueError):
    """A request whose arrays would not fit in the stated memory budget."""


_f8v = types.float64[::1]
_f8m = types.float64[:, ::1]
_KERNEL_SIGNATURE = types.void(
    RawDriftType,  # drift, on raw pointers
    ScheduleType,  # schedule d(t)
    types.boolean,  # has_schedule
    _f8v,  # params
    _f8m,  # x0 (1 or n rows)
    _f8m,  # chol
    types.float64,  # eps
    types.float64,  # t0
    types.float64,  # dt
    types.int64,  # n_steps
    types.int64,  # save_every (0: none)
    types.uint64,  # seed
    types.int64,  # first_path
    types.int64[::1],  # set kinds
    types.int64[::1],  # set owners
    _f8m,  # set data
    types.boolean,  # bridge
    types.float64[:, :, ::1],  # saved
    _f8m,  # final
    types.int8[::1],  # status
    types.int64[::1],  # stop_set
    _f8v,  # stop_time
)


#: Paths one thread steps in lockstep. A single path's step is a chain of dependent
#: operations (x -> f(x) -> x_new) that leaves most of a core idle; interleaving
#: independent paths fills it (Maier–Stein: 18 -> 10 ns of CPU per path-step).
PATHS_PER_GROUP = 8


@functools.cache
def _kernel(d: int):
    """The engine kernel for systems of dimension ``d``.

    ``d`` is a compile-time constant of the kernel, so LLVM unrolls the loops over
    components (with d known only at run time, these short loops cost 3x the step). Numba
    caches one kernel per d: closure variables are part of its cache key.
    """
    group = PATHS_PER_GROUP

    @nb.njit(_KERNEL_SIGNATURE, parallel=True, **JIT)
    def kernel(
        drift,
        schedule,
        has_schedule,
        params,
        x0,
        chol,
        eps,
        t0,
        dt,
        n_steps,
        save_every,
        seed,
        first_path,
        set_kinds,
        set_owners,
        set_data,
        bridge,
        saved,
        final,
        status,
        stop_set,
        stop_time,
    ):
        n_paths = final.shape[0]
        n_prims = set_kinds.shape[0]
        n_params = params.shape[0]
        amp_constant = math.sqrt(2.0 * eps * dt)
        for k in prange(-(-n_paths // group)):
            # prange may hand out unsigned indices; keep integer arithmetic exact
            first = np.int64(k) * group
            size = min(group, n_paths - first)
            state = np.empty((group, STREAM_SIZE), dtype=np.uint64)
            lanes = np.empty(2 * WORDS_PER_REFILL, dtype=np.uint64)
            z = np.empty((group, WORDS_PER_REFILL))
            x = np.empty((group, d))
            x_new = np.empty((group, d))
            fx = np.empty((group, d))
            normal = np.empty(d)
            code = np.full(group, RUNNING, dtype=np.int8)
            which = np.full(group, -1, dtype=np.int64)
            when = np.full(group, np.nan)
            running = 0
            for g in range(size):
                i = first + g
                init_stream(state[g], seed, np.uint64(first_path + i))
                for j in range(d):
                    x[g, j] = x0[i if x0.shape[0] > 1 else 0, j]
                if save_every > 0:
                    saved[i, 0, :] = x[g]
                hit = first_set_containing(set_kinds, set_owners, set_data, x[g]) if n_prims else -1
                if hit >= 0:
                    code[g] = STOPPED
                    which[g] = hit
                    when[g] = t0
                else:
                    running += 1
            pos = WORDS_PER_REFILL  # all paths of the group draw in step, so they share it
            n = 0
            while n < n_steps and running > 0:
                t = t0 + n * dt
                scale = 1.0
                amp = amp_constant
                if has_schedule:
                    scale = schedule(t, params)
                    amp = math.sqrt(2.0 * eps * scale * dt)
                if pos + d > WORDS_PER_REFILL:
                    for g in range(size):
                        fill_normals(state[g], lanes, z[g])
                    pos = 0
                # Stopped paths are stepped too, from their frozen state, and the result
                # discarded: a branch on each path's status here costs more than the step.
                for g in range(size):
                    drift(x[g].ctypes, t, params.ctypes, n_params, fx[g].ctypes)
                n += 1
                for g in range(size):
                    total = 0.0  # non-finite iff some component is (or |x| ~ 1e308)
                    for j in range(d):
                        noise = 0.0
                        for m in range(j + 1):
                            noise += chol[j, m] * z[g, pos + m]
                        x_new[g, j] = x[g, j] + fx[g, j] * dt + amp * noise
                        total += x_new[g, j]
                    if code[g] != RUNNING:
                        continue
                    if not math.isfinite(total):
                        code[g] = NONFINITE
                        when[g] = t0 + n * dt
                    elif n_prims:
                        # Entered a set at the grid time, or crossed in between (bridge test);
                        # each set is a run of primitives with the same owner.
                        lo = 0
                        while lo < n_prims:
                            hi = lo + 1
                            while hi < n_prims and set_owners[hi] == set_owners[lo]:
                                hi += 1
                            frac = contact(
                                set_kinds[lo:hi],
                                set_data[lo:hi],
                                x[g],
                                x_new[g],
                                bridge,
                                eps * scale * dt,
                                chol,
                                state[g],
                                normal,
                            )
                            if frac >= 0.0:
                                code[g] = STOPPED
                                which[g] = set_owners[lo]
                                when[g] = t + frac * dt
                                break
                            lo = hi
                    for j in range(d):
                        x[g, j] = x_new[g, j]
                    if save_every > 0 and n % save_every == 0:
                        saved[first + g, n // save_every, :] = x[g]
                    if code[g] != RUNNING:
                        running -= 1
                pos += d
            for g in range(size):
                i = first + g
                final[i, :] = x[g]
                status[i] = code[g]
                stop_set[i] = which[g]
                stop_time[i] = when[g]

    return kernel


@dataclass(frozen=True)
class EnsembleResult:
    """An ensemble of Euler–Maruyama paths.

    Attributes
    ----------
    t
        Saved times (n_saved,); empty when only final states were kept.
    paths
        Saved states (n_paths, n_saved, d); NaN after a path stopped.
    final
        State of each path at its end: the final time, the first grid time inside (or,
        with the bridge test, just after crossing into) a stopping set, or the first
        non-finite state.
    status
        0 ran to the end, 1 stopped in a set, 2 turned non-finite.
    stop_set, stop_time
        Index into ``set_names`` of the set that stopped the path (-1 if none) and the
        hitting time, interpolated within the step.
    """

    system: str
    eps: float
    dt: float
    t_span: tuple[float, float]
    seed: int
    t: np.ndarray
    paths: np.ndarray
    final: np.ndarray
    status: np.ndarray
    stop_set: np.ndarray
    stop_time: np.ndarray
    set_names: tuple[str, ...] = ()
    bridge: bool = False
    meta: dict = field(default_factory=dict)

    @property
    def n_paths(self) -> int:
        return self.final.shape[0]

    @property
    def n_nonfinite(self) -> int:
        return int(np.count_nonzero(self.status == NONFINITE))

    @property
    def n_stopped(self) -> int:
        return int(np.count_nonzero(self.status == STOPPED))

    def stopped_in(self, name: str) -> np.ndarray:
        """Boolean mask of the paths stopped by the set ``name``."""
        if name not in self.set_names:
            raise ValueError(f"no stopping set {name!r}; sets are {self.set_names}")
        return self.stop_set == self.set_names.index(name)

    def to_frame(self, kind: str = "auto") -> pd.DataFrame:
        """Tidy frame: ``kind="paths"`` one row per path and saved time (columns path, t,
        x0..x{d-1}); ``kind="final"`` one row per path (final state, status, stop set and
        time). ``"auto"`` gives paths when they were saved."""
        d = self.final.shape[1]
        if kind == "auto":
            kind = "paths" if self.t.size else "final"
        if kind == "paths":
            if not self.t.size:
                raise ValueError("no paths were saved: run with save='all' or save=k")
            n, m = self.paths.shape[:2]
            frame = pd.DataFrame(
                {"path": np.repeat(np.arange(n), m), "t": np.tile(self.t, n)}
                | {f"x{j}": self.paths[:, :, j].ravel() for j in range(d)}
            )
            return frame.dropna(subset=[f"x{j}" for j in range(d)]).reset_index(drop=True)
        if kind != "final":
            raise ValueError(f"`kind` must be 'auto', 'paths' or 'final', got {kind!r}")
        names = np.array([*self.set_names, ""], dtype=object)
        return pd.DataFrame(
            {"path": np.arange(self.n_paths)}
            | {f"x{j}": self.final[:, j] for j in range(d)}
            | {
                "status": pd.Categorical.from_codes(
                    self.status.astype(int), list(STATUS_NAMES.values())
                ),
                "stop_set": names[self.stop_set],
                "stop_time": self.stop_time,
            }
        )

    def summary(self) -> str:
        lines = [
            f"{self.n_paths} paths of {self.system!r}, eps = {self.eps:g}, dt = {self.dt:g}, "
            f"t in [{self.t_span[0]:g}, {self.t_span[1]:g}], seed {self.seed}",
            f"  ran to the end: {np.count_nonzero(self.status == RUNNING)}, "
            f"stopped: {self.n_stopped}, non-finite: {self.n_nonfinite}",
        ]
        for k, name in enumerate(self.set_names):
            lines.append(f"  stopped in {name!r}: {np.count_nonzero(self.stop_set == k)}")
        return "\n".join(lines)


def _resolve_stop(system: System, stop) -> tuple[list[StopSet], tuple[str, ...]]:
    if stop is None:
        return [], ()
    if isinstance(stop, (str, StopSet)):
        stop = [stop]
    items = list(stop.items()) if isinstance(stop, Mapping) else [(None, s) for s in stop]
    sets, names = [], []
    for k, (name, s) in enumerate(items):
        if isinstance(s, str):
            name = name or s
        sets.append(resolve_set(system, s, "stop"))
        names.append(name or f"set{k}")
    check_disjoint(sets, names)
    return sets, tuple(names)


def resolve_time_grid(system: System, t_span, dt: float) -> tuple[float, float, int, float]:
    """(t0, t1, n_steps, dt) with n_steps = ceil((t1 - t0) / dt) and dt adjusted to fit."""
    if t_span is None:
        if system.t_span is None:
            raise ValueError(f"`t_span` is required: {system.name!r} has no default window")
        t_span = system.t_span
    if np.ndim(t_span) == 0:
        t_span = (0.0, float(t_span))
    t0, t1 = (float(v) for v in t_span)
    if not (np.isfinite(t0) and np.isfinite(t1) and t1 > t0):
        raise ValueError(f"`t_span` must be finite with t1 > t0, got {t_span}")
    if not (np.isfinite(dt) and dt > 0):
        raise ValueError(f"`dt` must be positive and finite, got {dt}")
    if dt > (t1 - t0) * (1 + 1e-9):
        raise ValueError(
            f"`dt` = {dt:g} is larger than the time span t1 - t0 = {t1 - t0:g}: the run would "
            "be a single step; give a smaller `dt` or a longer `t_span`"
        )
    n_steps = max(1, math.ceil((t1 - t0) / dt - 1e-9))
    return t0, t1, n_steps, (t1 - t0) / n_steps


def check_eps(eps: float) -> float:
    if not (np.isfinite(eps) and eps > 0):
        raise ValueError(f"`eps` must be positive and finite, got {eps}")
    return float(eps)


def check_seed(seed: int) -> int:
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or not 0 <= seed < 2**64:
        raise ValueError(f"`seed` must be an integer in [0, 2**64), got {seed!r}")
    return int(seed)


@contextmanager
def numba_threads(n: int | None):
    """Run the block with ``n`` numba threads (all when None), restoring the count."""
    old = nb.get_num_threads()
    nb.set_num_threads(max(1, min(n or nb.config.NUMBA_NUM_THREADS, nb.config.NUMBA_NUM_THREADS)))
    try:
        yield
    finally:
        nb.set_num_threads(old)


def _run_chunk(
    system,
    x0,
    chol,
    eps,
    t0,
    dt,
    n_steps,
    save_every,
    n_saved,
    seed,
    first,
    count,
    sets,
    bridge,
    n_threads,
):
    d = system.dim
    saved = np.full((count, n_saved, d), np.nan)
    final = np.empty((count, d))
    status = np.empty(count, dtype=np.int8)
    stop_set = np.empty(count, dtype=np.int64)
    stop_time = np.empty(count)
    with numba_threads(n_threads):
        _kernel(d)(
            system.raw_drift,
            system.schedule_function,
            system.schedule is not None,
            system.params,
            x0,
            chol,
            eps,
            t0,
            dt,
            n_steps,
            save_every,
            np.uint64(seed),
            first,
            *sets,
            bridge,
            saved,
            final,
            status,
            stop_set,
            stop_time,
        )
    return saved, final, status, stop_set, stop_time


def ensemble(
    system: System,
    x0: Sequence[float] | np.ndarray | str,
    t_span: tuple[float, float] | float | None = None,
    dt: float = 1e-3,
    eps: float = 1.0,
    n_paths: int = 1000,
    seed: int = 0,
    save: str | int = "final",
    stop=None,
    bridge: bool = False,
    n_jobs: int = 1,
    n_threads: int | None = None,
    chunk_size: int | None = None,
    memory_budget: float = 2 * 1024**3,
    progress: bool | None = None,
    checkpoint: str | os.PathLike | None = None,
) -> EnsembleResult:
    """Simulate ``n_paths`` Euler–Maruyama paths of dX = f dt + sqrt(2 eps D(t)) dW.

    Parameters
    ----------
    system
        The system; its drift, D, schedule d(t) and params are used.
    x0
        Start: one point (d,), one point per path (n_paths, d), or a state's name.
    t_span
        (t0, t1), or T for (0, T); default ``system.t_span``. The step is
        ``(t1 - t0) / ceil((t1 - t0) / dt)``, i.e. ``dt`` adjusted down to fit.
    eps
        Noise level, > 0.
    seed
        Path i draws from the Philox stream keyed by (seed, i): results are
        bit-identical for any ``n_jobs``, ``n_threads`` and ``chunk_size``.
    save
        ``"final"`` (final state and stop data only), ``"all"`` (every step) or an
        integer k (every k-th step, from t0).
    stop
        Stopping sets: a :class:`StopSet`, a state name, a list, or a dict name -> set.
        A path stops at the first grid time inside one of them.
    bridge
        Also stop a path when the Brownian bridge between two grid points crosses a
        set's boundary (probability exp(-2 a b / (2 eps d(t) nu^T D nu dt)), a and b the
        distances to the tangent plane, nu its normal): removes the O(sqrt(dt)) bias of
        exit times monitored only at grid times.
    n_jobs
        joblib workers (processes with the default loky backend; the backend is the
        user's via ``joblib.parallel_config``). 1 runs in this process.
    n_threads
        numba threads per process (default: all cores divided among the workers).
    chunk_size
        Paths per kernel call (default: n_paths split in about 4 chunks per worker).
    memory_budget
        Bytes the result may take; a larger request is refused before any work.
    progress
        tqdm progress bar over chunks (default: shown when the run lasts > 2 s).
    checkpoint
        A folder where each finished chunk is saved as it completes; calling again
        with the same arguments loads those chunks and computes only the missing ones
        (bit-identical to an uninterrupted run). A folder of another run is refused.
    """
    if not isinstance(system, System):
        raise ValueError(f"`system` must be a System, got {type(system).__name__}")
    eps = check_eps(eps)
    seed = check_seed(seed)
    if isinstance(n_paths, bool) or not isinstance(n_paths, (int, np.integer)) or n_paths < 1:
        raise ValueError(f"`n_paths` must be a positive integer, got {n_paths!r}")
    n_paths = int(n_paths)
    d = system.dim
    x0 = system.point(x0) if isinstance(x0, str) else as_points(x0, d, "x0")
    x0 = np.ascontiguousarray(np.atleast_2d(x0))
    if x0.shape[0] not in (1, n_paths):
        raise ValueError(f"`x0` has {x0.shape[0]} rows; give 1 or n_paths = {n_paths}")
    t0, t1, n_steps, dt = resolve_time_grid(system, t_span, dt)
    if save == "final":
        save_every = 0
    elif save == "all":
        save_every = 1
    elif isinstance(save, (int, np.integer)) and not isinstance(save, bool) and save >= 1:
        save_every = int(save)
    else:
        raise ValueError(f"`save` must be 'final', 'all' or a positive integer, got {save!r}")
    n_saved = n_steps // save_every + 1 if save_every else 0
    need = n_paths * (n_saved * d * 8 + d * 8 + 1 + 8 + 8)
    if need > memory_budget:
        raise MemoryBudgetError(
            f"this ensemble needs {need / 1024**3:.2f} GiB, over `memory_budget` = "
            f"{memory_budget / 1024**3:.2f} GiB: save fewer steps (save='final' or a "
            f"larger k), use fewer paths, or raise the budget"
        )
    sets, set_names = _resolve_stop(system, stop)
    encoded = encode_sets(sets, d) if sets else encode_sets([], d)
    if not isinstance(n_jobs, (int, np.integer)) or n_jobs == 0:
        raise ValueError(f"`n_jobs` must be a non-zero integer, got {n_jobs!r}")
    n_workers = joblib.cpu_count() if n_jobs < 0 else int(n_jobs)
    if n_threads is None and n_workers > 1:
        n_threads = max(1, (os.cpu_count() or 1) // n_workers)
    if chunk_size is None:
        # several chunks per worker balance the load; in-process, big chunks keep threads busy
        chunk_size = max(256, -(-n_paths // (4 * n_workers))) if n_workers > 1 else 1 << 16
    if not isinstance(chunk_size, (int, np.integer)) or chunk_size < 1:
        raise ValueError(f"`chunk_size` must be a positive integer, got {chunk_size!r}")
    starts = list(range(0, n_paths, int(chunk_size)))
    chol = np.ascontiguousarray(system.cholesky)

    def task(first: int):
        count = min(int(chunk_size), n_paths - first)
        xs = x0 if x0.shape[0] == 1 else x0[first : first + count]
        return _run_chunk(
            system,
            xs,
            chol,
            eps,
            t0,
            dt,
            n_steps,
            save_every,
            n_saved,
            seed,
            first,
            count,
            encoded,
            bool(bridge),
            n_threads,
        )

    work = n_paths * n_steps
    show = progress if progress is not None else (len(starts) > 1 and work > 5e8)
    bar = tqdm(
        total=n_paths, desc=f"{system.name} ensemble", unit="path", disable=not show, delay=2.0
    )
    store = None
    if checkpoint is not None:
        config = {
            "system": system.name,
            "code": system.code_key,  # drift, Jacobian and schedule: code and constants
            "params": system.params,
            "D": system.D,
            "x0": x0,
            "t0": t0,
            "t1": t1,
            "n_steps": n_steps,
            "eps": eps,
            "seed": seed,
            "save_every": save_every,
            "sets": encoded[2],
            "set_kinds": encoded[0],
            "set_owners": encoded[1],
            "bridge": bool(bridge),
            "n_paths": n_paths,
            "chunk_size": int(chunk_size),
        }
        description = {k: v for k, v in config.items() if not isinstance(v, np.ndarray)}
        store = ChunkStore(checkpoint, fingerprint(**config), description)
    todo = [first for first in starts if store is None or not store.has(first)]
    if n_workers == 1:
        computed = ((first, task(first)) for first in todo)
    else:
        computed = zip(
            todo,
            joblib.Parallel(n_jobs=n_workers, return_as="generator")(
                joblib.delayed(task)(first) for first in todo
            ),
            strict=True,
        )
    saved = np.empty((n_paths, n_saved, d))
    final = np.empty((n_paths, d))
    status = np.empty(n_paths, dtype=np.int8)
    stop_set = np.empty(n_paths, dtype=np.int64)
    stop_time = np.empty(n_paths)

    def place(first: int, piece: tuple) -> None:
        sl = slice(first, first + piece[1].shape[0])
        saved[sl], final[sl], status[sl], stop_set[sl], stop_time[sl] = piece
        bar.update(piece[1].shape[0])

    for first in sorted(set(starts) - set(todo)):
        place(first, store.load(first))
    for first, piece in computed:
        if store is not None:
            store.save(first, piece)
        place(first, piece)
    bar.close()
    if np.all(status == NONFINITE):
        warnings.warn(
            f"{system.name}: all {n_paths} paths became non-finite (eps = {eps:g}, dt = "
            f"{dt:g}): the drift blows up along them or dt is too large for it",
            NonFiniteWarning,
            stacklevel=2,
        )
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
        status=status,
        stop_set=stop_set,
        stop_time=stop_time,
        set_names=set_names,
        bridge=bool(bridge),
    )
