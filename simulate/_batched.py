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

Paths are stepped in blocks of ``block_paths`` rows, always of that shape (the last
block padded with frozen rows), and chunks are whole blocks: each path sits at the same
row of a block of the same shape whatever the chunking, so a BLAS product sums its terms
in the same order, and results are bit-identical for any ``n_jobs``, ``n_threads`` and
``chunk_size``. The step and the noise run in one numba kernel whose signature does not
depend on d: it is compiled once, not once per dimension. Threads take whole blocks.
Why this design, and its throughput: ``docs/networks.md``.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

import numba as nb
import numpy as np
from numba import types
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
from ._ensemble import EnsembleResult
from ._numba_types import JIT
from ._random import STREAM_SIZE, WORDS_PER_REFILL, fill_normals, init_stream
from ._status import NON_FINITE, RUNNING, STOPPED
from ._system import System

#: Elements (paths x dimensions) of a block by default: big enough that numpy's and
#: BLAS's per-call overhead is small, small enough that a block's arrays stay in cache.
BLOCK_ELEMENTS = 1 << 14

_f8m = types.float64[:, ::1]


@nb.njit(types.void(types.uint64[:, ::1], types.uint64, types.int64, types.int64), **JIT)
def _init_streams(states, seed, first_path, rows):
    for g in range(rows):
        init_stream(states[g], seed, np.uint64(first_path + g))


@nb.njit(
    types.void(
        _f8m,  # x (block, d), advanced in place
        _f8m,  # f(x) (block, d)
        types.float64,  # dt
        types.float64,  # amp = sqrt(2 eps d(t) dt)
        _f8m,  # chol
        types.boolean,  # chol is diagonal
        types.uint64[:, ::1],  # stream states
        _f8m,  # normals buffer (block, n_refills * WORDS_PER_REFILL)
        types.int64,  # refills this step (0: use the buffer from pos)
        types.int64,  # pos
        types.int8[::1],  # code
        types.float64[::1],  # when
        types.float64,  # time of the new state
        types.float64[:, :, ::1],  # saved (rows, n_saved, d)
        types.int64,  # saved index of the new state (-1: not saved)
    ),
    **JIT,
)
def _advance(x, fx, dt, amp, chol, diagonal, states, z, refills, pos, code, when, t_new,
             saved, slot):  # fmt: skip
    d = x.shape[1]
    for g in range(x.shape[0]):
        if code[g] != RUNNING:
            continue
        if refills:
            lanes = np.empty(2 * WORDS_PER_REFILL, dtype=np.uint64)
            for r in range(refills):
                fill_normals(states[g], lanes, z[g, r * WORDS_PER_REFILL :])
        total = 0.0  # non-finite iff some component is (or |x| ~ 1e308)
        for j in range(d):
            # the per-path engine's sum over m <= j, in its order; with a diagonal L
            # its other terms are exact zeros, so the one product gives the same bits
            if diagonal:
                noise = chol[j, j] * z[g, pos + j]
            else:
                noise = 0.0
                for m in range(j + 1):
                    noise += chol[j, m] * z[g, pos + m]
            x[g, j] = x[g, j] + fx[g, j] * dt + amp * noise
            total += x[g, j]
        if not math.isfinite(total):
            code[g] = NON_FINITE
            when[g] = t_new
        if slot >= 0:
            saved[g, slot, :] = x[g]


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
    block_paths: int | None = None,
    n_jobs: int = 1,
    n_threads: int | None = None,
    chunk_size: int | None = None,
    memory_budget: float = DEFAULT_MEMORY_BUDGET,
    progress: bool | None = None,
) -> EnsembleResult:
    """Euler–Maruyama paths of dX = f dt + sqrt(2 eps D(t)) dW, the drift evaluated for
    a block of paths at once by ``system.batched_drift``.

    Same calling convention and result as :func:`~simulate.ensemble` (``docs/sampling.md``),
    without stopping sets: paths run to the end of ``t_span`` or until their state turns
    non-finite (then frozen, status ``NON_FINITE``). With a diagonal D and a batched
    drift that does the per-path drift's operations in its order (as the zoo's
    ``oscillator_ring``), the paths equal :func:`~simulate.ensemble`'s bit for bit;
    otherwise they agree to round-off (a BLAS product sums in another order).

    Parameters
    ----------
    system
        A system with ``batched_drift``.
    x0, eps, t_span, dt, n_paths, seed, save, n_jobs, memory_budget, progress
        As for :func:`~simulate.ensemble`.
    block_paths
        Paths stepped together (default :func:`default_block_paths` of d). The result
        is bit-identical for any ``n_jobs``, ``n_threads`` and ``chunk_size`` at one
        ``block_paths``.
    n_threads
        Threads per process, each stepping whole blocks (default: all cores divided
        among the workers); with one thread, BLAS may use several.
    chunk_size
        Paths per task, rounded up to whole blocks (default: n_paths split in about 4
        chunks per worker; in-process, one chunk).
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
    block = (
        default_block_paths(d) if block_paths is None else check_count(block_paths, "block_paths")
    )
    n_workers, n_threads = worker_layout(n_jobs, n_threads)
    if chunk_size is None:
        chunk_size = -(-n_paths // (4 * n_workers)) if n_workers > 1 else n_paths
    chunk_size = -(-check_count(chunk_size, "chunk_size") // block) * block
    starts = chunk_starts(n_paths, chunk_size)

    def task(first: int):
        count = min(chunk_size, n_paths - first)
        xs = x0 if x0.shape[0] == 1 else x0[first : first + count]
        return _run_chunk(
            system, xs, eps, t0, dt, n_steps, save_every, n_saved, seed, first, count, block,
            n_threads,
        )  # fmt: skip

    saved = np.empty((n_paths, n_saved, d))
    final = np.empty((n_paths, d))
    status = np.empty(n_paths, dtype=np.int8)
    when = np.empty(n_paths)
    bar = progress_bar(n_paths, f"{system.name} ensemble (batched)", "path", len(starts), progress)
    for first, (s, f, c, w) in dispatch(task, starts, n_workers):
        sl = slice(first, first + f.shape[0])
        saved[sl], final[sl], status[sl], when[sl] = s, f, c, w
        bar.update(f.shape[0])
    bar.close()
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
        stop_set=np.full(n_paths, -1, dtype=np.int64),
        stop_time=when,
        set_names=(),
        bridge=False,
        wall_time=time.perf_counter() - start,
        meta={"engine": "batched", "block_paths": block},
    )


def _run_chunk(system, x0, eps, t0, dt, n_steps, save_every, n_saved, seed, first, count,
               block, n_threads):  # fmt: skip
    d = system.dim
    saved = np.full((count, n_saved, d), np.nan)
    final = np.empty((count, d))
    status = np.empty(count, dtype=np.int8)
    when = np.full(count, np.nan)

    def run(b0: int) -> None:
        rows = min(block, count - b0)
        xs = x0 if x0.shape[0] == 1 else x0[b0 : b0 + rows]
        sl = slice(b0, b0 + rows)
        _run_block(system, xs, eps, t0, dt, n_steps, save_every, seed, first + b0, rows, block,
                   saved[sl], final[sl], status[sl], when[sl])  # fmt: skip

    starts = range(0, count, block)
    n_threads = min(n_threads or os.cpu_count() or 1, len(starts))
    # Threads step whole blocks (the kernel and BLAS release the GIL); within a step all
    # is serial: a parallel region per step waits for every thread, and on a busy
    # machine that wait costs more than the step. One BLAS thread per block thread.
    with threadpool_limits(1 if n_threads > 1 else None, user_api="blas"):
        if n_threads == 1:
            for b0 in starts:
                run(b0)
        else:
            with ThreadPoolExecutor(n_threads) as pool:
                list(pool.map(run, starts))
    return saved, final, status, when


def _run_block(system, x0, eps, t0, dt, n_steps, save_every, seed, first, rows, block,
               saved, final, status, when):  # fmt: skip
    """Step the paths ``first .. first + rows`` as one (block, d) array (rows beyond
    ``rows`` are frozen padding), writing their results into the given views."""
    d = system.dim
    width = WORDS_PER_REFILL * max(1, -(-d // WORDS_PER_REFILL))
    per_step = 0 if d <= WORDS_PER_REFILL else width // WORDS_PER_REFILL
    chol = np.ascontiguousarray(system.cholesky)
    diagonal = not np.any(np.tril(chol, -1))
    x = np.empty((block, d))
    x[:rows] = x0
    x[rows:] = x[0]  # padding: frozen copies of a finite row
    fx = np.empty((block, d))
    states = np.zeros((block, STREAM_SIZE), dtype=np.uint64)
    _init_streams(states, np.uint64(seed), first, rows)
    z = np.empty((block, width))
    code = np.full(block, STOPPED, dtype=np.int8)
    code[:rows] = RUNNING
    w = np.full(block, np.nan)
    if save_every:
        saved[:, 0] = x[:rows]
    pos = WORDS_PER_REFILL
    for n in range(n_steps):
        t = t0 + n * dt
        scale = 1.0 if system.schedule is None else system.diffusion_scale(t)
        amp = math.sqrt(2.0 * eps * scale * dt)
        if per_step:
            refills, pos = per_step, 0
        elif pos + d > WORDS_PER_REFILL:
            refills, pos = 1, 0
        else:
            refills = 0
        with np.errstate(all="ignore"):  # non-finite rows are flagged, not raised
            system.batched_drift(x, t, system.params, fx)
        slot = (n + 1) // save_every if save_every and (n + 1) % save_every == 0 else -1
        _advance(x, fx, dt, amp, chol, diagonal, states, z, refills, pos, code, w,
                 t0 + (n + 1) * dt, saved, slot)  # fmt: skip
        pos += d
        if not np.any(code[:rows] == RUNNING):
            break
    final[:] = x[:rows]
    status[:] = code[:rows]
    when[:] = w[:rows]
