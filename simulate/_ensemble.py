"""The Euler–Maruyama ensemble engine.

    X_{n+1} = X_n + f(X_n, t_n) dt + sqrt(2 eps d(t_n) dt) L Z_n,     L L^T = D,

with Z_n the path's own counter-based normals (:mod:`simulate._random`). One numba
kernel call per chunk of paths, parallel with numba threads over blocks of paths, each
stepped by one thread in ``PATHS_PER_GROUP`` interleaved lanes; a lane whose path stops
takes the block's next path (each path writes only its own rows). Chunks are spread over
processes with joblib, whose backend the user picks (``joblib.parallel_config(backend=
"dask")`` runs the same call on a Dask cluster). The result is bit-identical whatever
the number of threads, workers or chunks.
"""

from __future__ import annotations

import functools
import math
import os
import time
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import FunctionType

import numba as nb
import numpy as np
import pandas as pd
from numba import prange, types

from ._checkpoint import ChunkStore, fingerprint
from ._driver import (
    DEFAULT_MEMORY_BUDGET,
    chunk_starts,
    dispatch,
    fixed_horizon,
    kernel_prefix,
    numba_threads,
    progress_bar,
    worker_layout,
)
from ._numba_types import JIT, KERNEL_PREFIX
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
from ._status import NON_FINITE, RUNNING, STOPPED, Status, counts
from ._stepping import bridge_far, clearance, contact_cached, set_extent, signed_distances
from ._system import System


class NonFiniteWarning(RuntimeWarning):
    """Every path of an ensemble became non-finite (a drift that blows up, a dt too
    large for the drift's stiffness): the result holds no usable path."""


def warn_all_nonfinite(system, status: np.ndarray, eps: float, dt: float) -> None:
    """A :class:`NonFiniteWarning`, at the caller of the ensemble function, when every
    path's ``status`` is ``NON_FINITE``."""
    if np.all(status == NON_FINITE):
        warnings.warn(
            f"{system.name}: all {status.size} paths became non-finite (eps = {eps:g}, dt = "
            f"{dt:g}): the drift blows up along them or dt is too large for it",
            NonFiniteWarning,
            stacklevel=3,
        )


_f8v = types.float64[::1]
_f8m = types.float64[:, ::1]
_KERNEL_SIGNATURE = types.void(
    *KERNEL_PREFIX,  # drift, schedule, has_schedule, params, chol, eps, t0, dt
    _f8m,  # x0 (1 or n rows)
    types.int64,  # n_steps
    types.int64,  # save_every (0: none)
    types.uint64,  # seed
    types.int64,  # first_path
    types.int64[::1],  # set kinds
    types.int64[::1],  # set owners
    _f8m,  # set data
    types.boolean,  # bridge
    types.int64,  # paths per block (a multiple of PATHS_PER_GROUP)
    types.float64[:, :, ::1],  # saved
    _f8m,  # final
    types.int8[::1],  # status
    types.int64[::1],  # stop_set
    _f8v,  # stop_time
)


_LOCKSTEP_SIGNATURE = types.void(
    *KERNEL_PREFIX,  # drift, schedule, has_schedule, params, chol, eps, t0, dt
    _f8m,  # x0 (1 or n rows)
    types.int64,  # n_steps
    types.int64,  # save_every (0: none)
    types.uint64,  # seed
    types.int64,  # first_path
    types.float64[:, :, ::1],  # saved
    _f8m,  # final
    types.int8[::1],  # status
    types.int64[::1],  # stop_set
    _f8v,  # stop_time
)


#: Lanes one thread steps in lockstep. A single path's step is a chain of dependent
#: operations (x -> f(x) -> x_new) that leaves most of a core idle; interleaving
#: independent paths fills it (Maier–Stein: 18 -> 10 ns of CPU per path-step).
PATHS_PER_GROUP = 8

#: With stopping sets, the most paths one group of lanes works through (one ``prange``
#: iteration): when a lane's path stops, the lane takes the block's next path, so the
#: lanes wait for a slow path only at the end of a block. With exponential first-passage
#: times, the lanes idle there for about (8 H_8 - 8) = 14 mean times (H_8 = 2.7, the
#: mean of the longest of the last 8 paths): 5 % of a block of 256 paths, 1.3 % of 1024.
PATHS_PER_BLOCK = 128 * PATHS_PER_GROUP


@functools.cache
def _lockstep_kernel(d: int):
    """The engine kernel for runs without stopping sets, dimension ``d``: groups of
    ``PATHS_PER_GROUP`` paths in lockstep, sharing the normal-buffer position and time.
    (The lane kernel, :func:`_kernel`, gives the same results, but its per-lane step
    count, buffer position and time cost it 1.15-1.25x this kernel's step, measured in
    d = 2 and 1 on one thread, so runs without sets keep this one.)

    ``d`` is a compile-time constant of the kernel, so LLVM unrolls the loops over
    components (with d known only at run time, these short loops cost 3x the step). Numba
    caches one kernel per d: closure variables are part of its cache key.
    """
    group = PATHS_PER_GROUP

    @nb.njit(_LOCKSTEP_SIGNATURE, parallel=True, **JIT)
    def kernel(
        drift,
        schedule,
        has_schedule,
        params,
        chol,
        eps,
        t0,
        dt,
        x0,
        n_steps,
        save_every,
        seed,
        first_path,
        saved,
        final,
        status,
        stop_set,
        stop_time,
    ):
        n_paths = final.shape[0]
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
            code = np.full(group, RUNNING, dtype=np.int8)
            when = np.full(group, np.nan)
            running = 0
            for g in range(size):
                i = first + g
                init_stream(state[g], seed, np.uint64(first_path + i))
                for j in range(d):
                    x[g, j] = x0[i if x0.shape[0] > 1 else 0, j]
                if save_every > 0:
                    saved[i, 0, :] = x[g]
                running += 1
            pos = WORDS_PER_REFILL  # all paths of the group draw in step, so they share it
            n = 0
            while n < n_steps and running > 0:
                t = t0 + n * dt
                amp = amp_constant
                if has_schedule:
                    amp = math.sqrt(2.0 * eps * schedule(t, params) * dt)
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
                        code[g] = NON_FINITE
                        when[g] = t0 + n * dt
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
                stop_set[i] = -1  # no sets: nothing stops a path
                stop_time[i] = when[g]

    return kernel


@nb.njit(**JIT)
def _schedule_lanes(schedule, params, eps, t0, dt, chol, step, amp, noise_var, far):
    """Each lane's noise amplitude sqrt(2 eps d(t) dt), eps d(t) dt and bridge bound at its
    own time t = t0 + step dt. Not inlined: in the kernel's step loop this code slowed
    every step 3x even for systems without a schedule."""
    for g in range(step.shape[0]):
        scale = schedule(t0 + step[g] * dt, params)
        amp[g] = math.sqrt(2.0 * eps * scale * dt)
        noise_var[g] = eps * scale * dt
        far[g] = bridge_far(chol, noise_var[g])


@nb.njit(**JIT)
def _exact_set_test(g, stale, x, x_new, set_kinds, set_data, extent, bridge, noise_var, far,
                    has_schedule, chol, state, dist, room, normal):  # fmt: skip
    """The exact set test (:func:`~simulate._stepping.contact_cached`) of lane g's step
    x[g] -> x_new[g], on the old point's distances ``dist[g]`` (recomputed first if
    ``stale``: the same bits the skipped steps would have cached); then the lane's new
    ``room``. Returns (fraction of the step, primitive) as contact_cached. Out of the
    kernel's step loop: inlined there, its code slowed every step by a third."""
    if stale:
        signed_distances(set_kinds, set_data, x[g], normal, dist[g])
    frac, prim = contact_cached(set_kinds, set_data, dist[g], x_new[g], bridge, noise_var, far,
                                chol, state[g], normal)  # fmt: skip
    if frac < 0.0 and not has_schedule:  # with a schedule, far changes: no skipping
        room[g] = clearance(dist[g], far, bridge, x_new[g], extent)
    return frac, prim


@nb.njit(**JIT)
def _fill_lane(g, following, last, x0, t0, seed, first_path, save_every, set_kinds, set_owners,
               set_data, state, x, dist, normal, path, step, pos, room, saved, final, status,
               stop_set, stop_time):  # fmt: skip
    """Start the block's next paths in the idle lane ``g`` until one does not begin inside
    a set (those end at t0 here) or the block has none left; returns the next path to
    start. Out of the kernel's step loop: inlined there, it slowed every step 3x."""
    d = x.shape[1]
    while path[g] < 0 and following < last:
        i = following
        following += 1
        init_stream(state[g], seed, np.uint64(first_path + i))
        for j in range(d):
            x[g, j] = x0[i if x0.shape[0] > 1 else 0, j]
        if save_every > 0:
            for j in range(d):
                saved[i, 0, j] = x[g, j]
        hit = -1
        if set_kinds.shape[0]:
            hit = first_set_containing(set_kinds, set_owners, set_data, x[g])
        if hit >= 0:
            for j in range(d):
                final[i, j] = x[g, j]
            status[i] = STOPPED
            stop_set[i] = hit
            stop_time[i] = t0
            continue
        signed_distances(set_kinds, set_data, x[g], normal, dist[g])
        path[g] = i
        step[g] = 0
        pos[g] = WORDS_PER_REFILL  # the first step fills the normal buffer
        room[g] = -math.inf  # the first step takes the exact set test
    return following


@functools.cache
def _kernel(d: int):
    """The engine kernel for systems of dimension ``d``.

    ``d`` is a compile-time constant of the kernel, so LLVM unrolls the loops over
    components (with d known only at run time, these short loops cost 3x the step). Numba
    caches one kernel per d: closure variables are part of its cache key. The kernel sees
    the per-d ``run_block`` as a global, not a closure variable: a dispatcher pickles
    differently in every process, so in the key it would make every process compile
    the kernel again (3 s) and add a cache file; d, in the closure, determines it.

    Each lane holds one path at a time, with its own step count, random stream and
    normal-buffer position; a finished path's lane takes the block's next path. A path's
    numbers depend on nothing but (seed, path), so its results do not depend on the lane
    or on the other paths. The set test is skipped while a path is far from every set
    (:func:`~simulate._stepping.clearance`), which leaves the results unchanged bit for bit.
    """
    group = PATHS_PER_GROUP

    @nb.njit(_nrt=False, **JIT)
    def run_block(drift, schedule, has_schedule, params, chol, eps, t0, dt, x0, n_steps,
                  save_every, seed, first_path, set_kinds, set_owners, set_data, extent, bridge,
                  first, last, scratch, saved, final, status, stop_set, stop_time):  # fmt: skip
        """Step the paths ``first .. last - 1`` through the lanes until all have ended.
        Compiled without reference counting (``_nrt=False``): each row view and
        ``.ctypes`` of the step otherwise costs an atomic increment and decrement (in
        d = 2, 2.6x the step); nothing here allocates."""
        x, x_new, fx, z, state, dist, path, step, pos, amp, noise_var, far = scratch[:12]
        room, lanes, normal = scratch[12:]
        n_prims = set_kinds.shape[0]
        n_params = params.shape[0]
        following = first  # the block's next path to start
        busy = 0
        # All lanes, also those a short block leaves idle: a constant bound, so LLVM can
        # unroll the loops over lanes (4 % of the step)
        for g in range(group):
            following = _fill_lane(g, following, last, x0, t0, seed, first_path, save_every,
                                   set_kinds, set_owners, set_data, state, x, dist, normal,
                                   path, step, pos, room, saved, final, status, stop_set,
                                   stop_time)  # fmt: skip
            if path[g] >= 0:
                busy += 1
        while busy > 0:
            for g in range(group):
                if path[g] >= 0 and pos[g] + d > WORDS_PER_REFILL:
                    fill_normals(state[g], lanes, z[g])
                    pos[g] = 0
            if has_schedule:
                _schedule_lanes(schedule, params, eps, t0, dt, chol, step, amp, noise_var, far)
            # Idle lanes are stepped too, from their last state, and the result discarded
            for g in range(group):
                drift(x[g].ctypes, t0 + step[g] * dt, params.ctypes, n_params, fx[g].ctypes)
            for g in range(group):
                i = path[g]
                if i < 0:
                    continue
                p = pos[g]
                total = 0.0  # non-finite iff some component is (or |x| ~ 1e308)
                for j in range(d):
                    noise = 0.0
                    for m in range(j + 1):
                        noise += chol[j, m] * z[g, p + m]
                    x_new[g, j] = x[g, j] + fx[g, j] * dt + amp[g] * noise
                    total += x_new[g, j]
                pos[g] = p + d
                t = t0 + step[g] * dt
                n = step[g] + 1
                step[g] = n
                code = RUNNING
                which = -1
                when = np.nan
                if not math.isfinite(total):
                    code = NON_FINITE
                    when = t0 + n * dt
                elif n_prims:
                    # Entered a set at the grid time, or crossed in between (bridge test).
                    # Skipped while the path has moved less than room[g] since the last
                    # exact test (see clearance); was > 0: the steps since were skipped,
                    # and the old point's cached distances are stale.
                    moved = 0.0
                    for j in range(d):
                        moved += abs(x_new[g, j] - x[g, j])
                    was = room[g]
                    room[g] = was - moved
                    if not room[g] > 0.0:
                        frac, prim = _exact_set_test(g, was > 0.0, x, x_new, set_kinds,
                                                     set_data, extent, bridge, noise_var[g],
                                                     far[g], has_schedule, chol, state, dist,
                                                     room, normal)  # fmt: skip
                        if frac >= 0.0:
                            code = STOPPED
                            which = set_owners[prim]
                            when = t + frac * dt
                for j in range(d):
                    x[g, j] = x_new[g, j]
                if save_every > 0 and n % save_every == 0:
                    for j in range(d):
                        saved[i, n // save_every, j] = x[g, j]
                if code != RUNNING or n == n_steps:
                    for j in range(d):
                        final[i, j] = x[g, j]
                    status[i] = code
                    stop_set[i] = which
                    stop_time[i] = when
                    path[g] = -1
                    busy -= 1
                    if following < last:
                        following = _fill_lane(g, following, last, x0, t0, seed, first_path,
                                               save_every, set_kinds, set_owners, set_data,
                                               state, x, dist, normal, path, step, pos,
                                               room, saved, final, status, stop_set,
                                               stop_time)  # fmt: skip
                        if path[g] >= 0:
                            busy += 1

    def kernel(
        drift,
        schedule,
        has_schedule,
        params,
        chol,
        eps,
        t0,
        dt,
        x0,
        n_steps,
        save_every,
        seed,
        first_path,
        set_kinds,
        set_owners,
        set_data,
        bridge,
        block,
        saved,
        final,
        status,
        stop_set,
        stop_time,
    ):
        n_paths = final.shape[0]
        n_prims = max(set_kinds.shape[0], 1)
        amp_constant = math.sqrt(2.0 * eps * dt)
        far_constant = bridge_far(chol, eps * dt)
        extent = set_extent(set_data)  # for clearance's round-off margin
        for k in prange(-(-n_paths // block)):
            # prange may hand out unsigned indices; keep integer arithmetic exact
            first = np.int64(k) * block
            scratch = (
                np.zeros((group, d)),  # x
                np.empty((group, d)),  # x_new
                np.empty((group, d)),  # f(x)
                np.empty((group, WORDS_PER_REFILL)),  # normals
                np.empty((group, STREAM_SIZE), dtype=np.uint64),  # random streams
                np.empty((group, n_prims)),  # signed distance of x to each primitive
                np.full(group, -1, dtype=np.int64),  # the lane's path, -1: idle
                np.zeros(group, dtype=np.int64),  # the path's step count
                np.zeros(group, dtype=np.int64),  # position in the normals
                np.full(group, amp_constant),  # sqrt(2 eps d(t) dt)
                np.full(group, eps * dt),  # eps d(t) dt
                np.full(group, far_constant),  # bridge_far(chol, eps d(t) dt)
                np.empty(group),  # room: the lane may move this far before a set test
                np.empty(2 * WORDS_PER_REFILL, dtype=np.uint64),  # fill_normals scratch
                np.empty(d),  # a normal
            )
            lane_block(drift, schedule, has_schedule, params, chol, eps, t0, dt, x0, n_steps,  # noqa: F821
                       save_every, seed, first_path, set_kinds, set_owners, set_data, extent,
                       bridge, first, min(first + block, n_paths), scratch, saved, final,
                       status, stop_set, stop_time)  # fmt: skip

    kernel = FunctionType(
        kernel.__code__, {**globals(), "lane_block": run_block}, kernel.__name__, None,
        kernel.__closure__,
    )  # fmt: skip
    return nb.njit(_KERNEL_SIGNATURE, parallel=True, **JIT)(kernel)


@dataclass(frozen=True, repr=False)
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
    path_status
        Per path, a :class:`~simulate.Status` value: ``RUNNING`` (ran to the end),
        ``STOPPED`` (stopped in a set) or ``NON_FINITE``.
    stop_set, stop_time
        Index into ``set_names`` of the set that stopped the path (-1 if none) and the
        hitting time, interpolated within the step.
    status, success, message
        Overall: ``OK`` unless some path turned non-finite (``NON_FINITE``, not a
        success); the message counts the paths by fate.
    """

    system: str
    eps: float
    dt: float
    t_span: tuple[float, float]
    seed: int
    t: np.ndarray
    paths: np.ndarray
    final: np.ndarray
    path_status: np.ndarray
    stop_set: np.ndarray
    stop_time: np.ndarray
    set_names: tuple[str, ...] = ()
    bridge: bool = True
    wall_time: float = float("nan")
    meta: dict = field(default_factory=dict)

    @property
    def n_paths(self) -> int:
        return self.final.shape[0]

    @property
    def n_nonfinite(self) -> int:
        return int(np.count_nonzero(self.path_status == NON_FINITE))

    @property
    def n_stopped(self) -> int:
        return int(np.count_nonzero(self.path_status == STOPPED))

    @property
    def status(self) -> Status:
        return Status.NON_FINITE if self.n_nonfinite else Status.OK

    @property
    def success(self) -> bool:
        return self.status == Status.OK

    @property
    def message(self) -> str:
        return f"{self.status.message}: {counts(self.path_status)}"

    def stopped_in(self, name: str) -> np.ndarray:
        """Boolean mask of the paths stopped by the set ``name``."""
        if name not in self.set_names:
            raise ValueError(f"no stopping set {name!r}; sets are {self.set_names}")
        return self.stop_set == self.set_names.index(name)

    def to_frame(self, kind: str = "summary") -> pd.DataFrame:
        """Tidy frame. ``"summary"`` (default, as for every sampler's result): one row of
        headline numbers and the status; ``"final"``: one row per path (final state,
        status, stop set and time); ``"paths"``: one row per path and saved time
        (columns path, t, x0..x{d-1})."""
        d = self.final.shape[1]
        if kind == "summary":
            return pd.DataFrame(
                {
                    "system": [self.system],
                    "eps": [self.eps],
                    "dt": [self.dt],
                    "t0": [self.t_span[0]],
                    "t1": [self.t_span[1]],
                    "seed": [self.seed],
                    "bridge": [self.bridge],
                    "n_paths": [self.n_paths],
                    "n_stopped": [self.n_stopped],
                    "n_nonfinite": [self.n_nonfinite],
                    "wall_time": [self.wall_time],
                    "status": [self.status.name],
                    "success": [self.success],
                    "message": [self.message],
                }
            )
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
            raise ValueError(f"`kind` must be 'summary', 'paths' or 'final', got {kind!r}")
        names = np.array([*self.set_names, ""], dtype=object)
        fates = [Status(v).message for v in (RUNNING, STOPPED, NON_FINITE)]
        return pd.DataFrame(
            {"path": np.arange(self.n_paths)}
            | {f"x{j}": self.final[:, j] for j in range(d)}
            | {
                "status": pd.Categorical.from_codes(self.path_status.astype(int), fates),
                "stop_set": names[self.stop_set],
                "stop_time": self.stop_time,
            }
        )

    def summary(self) -> str:
        lines = [
            f"{self.n_paths} paths of {self.system!r}, eps = {self.eps:g}, dt = {self.dt:g}, "
            f"t in [{self.t_span[0]:g}, {self.t_span[1]:g}], seed {self.seed}",
            f"  ran to the end: {np.count_nonzero(self.path_status == RUNNING)}, "
            f"stopped: {self.n_stopped}, non-finite: {self.n_nonfinite}",
        ]
        for k, name in enumerate(self.set_names):
            lines.append(f"  stopped in {name!r}: {np.count_nonzero(self.stop_set == k)}")
        return "\n".join(lines)

    def __repr__(self) -> str:
        saved = f"{self.t.size} saved times" if self.t.size else "final states only"
        return (
            f"EnsembleResult({self.system!r}, {self.n_paths} paths, d = {self.final.shape[1]}, "
            f"{saved}, eps = {self.eps:g}, dt = {self.dt:g},\n"
            f"  t in [{self.t_span[0]:g}, {self.t_span[1]:g}], stopped {self.n_stopped}, "
            f"non-finite {self.n_nonfinite}, status {self.status.name})"
        )


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


def _block_size(n_paths: int, n_threads: int) -> int:
    """Paths per block of lanes (runs with stopping sets): up to PATHS_PER_BLOCK, at least
    4 blocks per thread so that every thread gets work."""
    per_block = -(-n_paths // (4 * n_threads))
    return min(PATHS_PER_BLOCK, -(-per_block // PATHS_PER_GROUP) * PATHS_PER_GROUP)


def _run_chunk(system, x0, eps, t0, dt, n_steps, save_every, n_saved, seed, first, count,
               sets, bridge, n_threads):  # fmt: skip
    d = system.dim
    saved = np.full((count, n_saved, d), np.nan)
    final = np.empty((count, d))
    status = np.empty(count, dtype=np.int8)
    stop_set = np.empty(count, dtype=np.int64)
    stop_time = np.empty(count)
    with numba_threads(n_threads):
        if sets[0].shape[0] == 0:
            _lockstep_kernel(d)(
                *kernel_prefix(system, eps, t0, dt), x0, n_steps, save_every, np.uint64(seed),
                first, saved, final, status, stop_set, stop_time,
            )  # fmt: skip
        else:
            _kernel(d)(
                *kernel_prefix(system, eps, t0, dt), x0, n_steps, save_every, np.uint64(seed),
                first, *sets, bridge, _block_size(count, nb.get_num_threads()), saved, final,
                status, stop_set, stop_time,
            )  # fmt: skip
    return saved, final, status, stop_set, stop_time


def ensemble(
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
    n_jobs: int = 1,
    n_threads: int | None = None,
    chunk_size: int | None = None,
    memory_budget: float = DEFAULT_MEMORY_BUDGET,
    progress: bool | None = None,
    checkpoint: str | os.PathLike | None = None,
) -> EnsembleResult:
    """Simulate ``n_paths`` Euler–Maruyama paths of dX = f dt + sqrt(2 eps D(t)) dW.

    The calling convention (shared by every sampler) is in ``docs/sampling.md``.

    Parameters
    ----------
    system
        The system; its drift, D, schedule d(t) and params are used.
    x0
        Start: one point (d,), one point per path (n_paths, d), or a state's name.
    eps
        Noise level, > 0.
    t_span
        (t0, t1), or T for (0, T); default ``system.t_span``. The step is
        ``(t1 - t0) / ceil((t1 - t0) / dt)``, i.e. ``dt`` adjusted down to fit.
    dt
        Time step (before the adjustment).
    n_paths
        Number of paths.
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
        exit times monitored only at grid times. Default True, as for every sampler.
    n_jobs
        joblib workers, a positive integer (processes with the default loky backend;
        the backend is the user's via ``joblib.parallel_config``). 1 runs in this
        process.
    n_threads
        numba threads per process (default: all cores divided among the workers).
    chunk_size
        Paths per kernel call (default: n_paths split in about 4 chunks per worker).
    memory_budget
        Bytes the result may take; a larger request is refused before any work.
    progress
        tqdm progress bar over chunks (default: shown for several chunks when the run
        lasts more than 2 s).
    checkpoint
        A folder where each finished chunk is saved as it completes; calling again
        with the same arguments loads those chunks and computes only the missing ones
        (bit-identical to an uninterrupted run). A folder of another run is refused.
    """
    start = time.perf_counter()
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
    sets, set_names = _resolve_stop(system, stop)
    encoded = encode_sets(sets, d) if sets else encode_sets([], d)
    n_workers, n_threads = worker_layout(n_jobs, n_threads)
    if chunk_size is None:
        # several chunks per worker balance the load; in-process, big chunks keep threads busy
        chunk_size = max(256, -(-n_paths // (4 * n_workers))) if n_workers > 1 else 1 << 16
    starts = chunk_starts(n_paths, chunk_size)
    chunk_size = int(chunk_size)

    def task(first: int):
        count = min(chunk_size, n_paths - first)
        xs = x0 if x0.shape[0] == 1 else x0[first : first + count]
        return _run_chunk(
            system, xs, eps, t0, dt, n_steps, save_every, n_saved, seed, first, count, encoded,
            bool(bridge), n_threads,
        )  # fmt: skip

    bar = progress_bar(n_paths, f"{system.name} ensemble", "path", len(starts), progress)
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
            "chunk_size": chunk_size,
        }
        description = {k: v for k, v in config.items() if not isinstance(v, np.ndarray)}
        store = ChunkStore(checkpoint, fingerprint(**config), description)
    todo = [first for first in starts if store is None or not store.has(first)]
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
    for first, piece in dispatch(task, todo, n_workers):
        if store is not None:
            store.save(first, piece)
        place(first, piece)
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
        stop_time=stop_time,
        set_names=set_names,
        bridge=bool(bridge),
        wall_time=time.perf_counter() - start,
    )
